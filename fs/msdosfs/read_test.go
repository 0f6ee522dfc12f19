package msdosfs

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rumpfs/rumpfs/dev"
	"github.com/rumpfs/rumpfs/internal/fixture"
	"github.com/rumpfs/rumpfs/vfs"
)

// mdirPaths lists the image with mdir -/ -b: every path, directories with
// a trailing slash.
func mdirPaths(t testing.TB, img string) []string {
	t.Helper()
	fixture.Require(t, "mdir")
	cmd := exec.Command("mdir", "-/", "-b", "-i", img, "::/")
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mdir: %v", err)
	}
	var l []string
	for _, s := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		s = strings.TrimPrefix(strings.TrimSpace(s), "::/")
		if s != "" {
			l = append(l, s)
		}
	}
	sort.Strings(l)
	return l
}

func treePaths(tr map[string]entry) []string {
	var l []string
	for p, e := range tr {
		if e.dir {
			p += "/"
		}
		l = append(l, p)
	}
	sort.Strings(l)
	return l
}

func TestReadFixtures(t *testing.T) {
	nfiles := 5000
	if testing.Short() {
		nfiles = 1000
	}
	for i, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			img := mkfs(t, f.kib, append([]string{"-n", "RUMPVOL"}, f.args...)...)
			src := t.TempDir()
			n := 100
			if i == 2 {
				n = nfiles // the big directory on FAT32 only: it is slow to build
			}
			sampleTree(t, src, n)
			mcopyIn(t, img, src)
			d, err := dev.Open(img, true)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			fs, err := vfs.Probe(d)
			if err != nil || fs.Name() != "msdos" {
				t.Fatalf("probe: %v %v", fs, err)
			}
			mnt, err := fs.Mount(d, &vfs.MountArgs{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			tm := &tmount{m: mnt.(*mount), d: d, img: img}
			got := tm.readTree(t)
			compareTrees(t, got, hostTree(t, src), true)
			if g, w := treePaths(got), mdirPaths(t, img); strings.Join(g, "\n") != strings.Join(w, "\n") {
				t.Errorf("tree differs from mdir -/:\n got %d paths\nwant %d paths", len(g), len(w))
			}
			info := mnt.Info()
			if info.Label != "RUMPVOL" || info.Type != "msdos" || !info.Clean || info.UUID == "" {
				t.Errorf("info: %+v", info)
			}
			if info.Features[0] != "FAT"+strings.TrimPrefix(f.args[1], "") {
				t.Errorf("features %v, want FAT%s", info.Features, f.args[1])
			}
			// Case-insensitive lookup, long and short forms.
			for _, p := range []string{"readme.txt", "LOWER.TXT", "A MUCH LONGER NAME THAN 8.3 ALLOWS.MARKDOWN", "AMUCHL~1.MAR", "x/CASE/FILE"} {
				n, err := tm.walk(t, p)
				if err != nil {
					t.Errorf("lookup %s: %v", p, err)
					continue
				}
				n.Rele()
			}
			// Attributes: masks, sizes, ino stability, times.
			root := tm.mustWalk(t, "")
			ra, _ := root.Getattr()
			if ra.Ino != 1 || ra.Mode != vfs.S_IFDIR|0755 {
				t.Errorf("root attr %+v", ra)
			}
			x := tm.mustWalk(t, "x")
			xa, _ := x.Getattr()
			if xa.Size != 0 || xa.Mode != vfs.S_IFDIR|0755 {
				t.Errorf("dir attr %+v", xa)
			}
			dd, _ := x.Lookup("..")
			if da, _ := dd.Getattr(); da.Ino != 1 {
				t.Errorf(".. of /x has ino %d", da.Ino)
			}
			dd.Rele()
			c, _ := x.Lookup("Case")
			cc, _ := c.(*node).Lookup(".")
			ca, _ := c.Getattr()
			cca, _ := cc.Getattr()
			var dotIno uint64
			c.(*node).Readdir(0, func(d vfs.Dirent) bool {
				if d.Name == "." {
					dotIno = d.Ino
				}
				return true
			})
			if ca.Ino != cca.Ino || ca.Ino != dotIno {
				t.Errorf("dir ino: entry %d, '.' %d, readdir '.' %d", ca.Ino, cca.Ino, dotIno)
			}
			cc.Rele()
			c.Rele()
			x.Rele()
			root.Rele()
			tm.m.Unmount()
		})
	}
}

// TestDirtyAndOptions: a volume left dirty warns at mount; options map to
// attributes; unknown options are refused by name.
func TestDirtyAndOptions(t *testing.T) {
	img := mkfs(t, 40000, "-F", "16")
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "f.txt"), []byte("x"))
	mcopyIn(t, img, src)
	tm := mountImg(t, img, false, "uid=1234,gid=55,mask=640,dirmask=750,gmtoff=3600")
	f := tm.mustWalk(t, "f.txt")
	a, _ := f.Getattr()
	if a.Uid != 1234 || a.Gid != 55 || a.Mode != vfs.S_IFREG|0640 {
		t.Errorf("attr %+v", a)
	}
	// chmod: only the owner write bit counts.
	if err := f.Setattr(&vfs.SetAttr{Valid: vfs.SetMode, Mode: 0444}); err != nil {
		t.Fatal(err)
	}
	a, _ = f.Getattr()
	if a.Mode != vfs.S_IFREG|0440 {
		t.Errorf("after chmod 444: %o", a.Mode)
	}
	if err := f.Setattr(&vfs.SetAttr{Valid: vfs.SetUid, Uid: 1}); errno(err) == 0 {
		t.Errorf("chown succeeded")
	}
	if err := f.Setattr(&vfs.SetAttr{Valid: vfs.SetUid, Uid: 1234}); err != nil {
		t.Errorf("chown to the mount's uid: %v", err)
	}
	mt := time.Date(2020, 5, 6, 7, 8, 10, 0, time.UTC)
	if err := f.Setattr(&vfs.SetAttr{Valid: vfs.SetMtime, Mtime: mt}); err != nil {
		t.Fatal(err)
	}
	a, _ = f.Getattr()
	if !a.Mtime.Equal(mt) {
		t.Errorf("mtime %v want %v", a.Mtime, mt)
	}
	f.Rele()
	// Simulate a crash: flush but do not unmount.
	tm.m.Sync()
	tm.d.Close()
	tm2 := mountImg(t, img, true, "")
	if len(tm2.warn) == 0 || !strings.Contains(tm2.warn[0], "not properly unmounted") {
		t.Errorf("no dirty warning: %v", tm2.warn)
	}
	if tm2.m.Info().Clean {
		t.Errorf("dirty volume reported clean")
	}
	tm2.unmount(t)
	// The read-only attribute shows as r-x.
	tm3 := mountImg(t, img, false, "")
	f = tm3.mustWalk(t, "f.txt")
	if a, _ := f.Getattr(); a.Mode != vfs.S_IFREG|0555&0755 {
		t.Errorf("read-only file mode %o", a.Mode)
	}
	f.Rele()
	tm3.unmount(t)
	fsck(t, img)
	tm4 := mountImg(t, img, true, "")
	if len(tm4.warn) != 0 || !tm4.m.Info().Clean {
		t.Errorf("clean volume: warnings %v", tm4.warn)
	}
	tm4.unmount(t)

	d := openDev(t, img, true)
	if _, err := (fsType{}).Mount(d, &vfs.MountArgs{Options: vfs.ParseOptions(nil, "bogus,uid=1")}); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("unknown option: %v", err)
	}
	if _, err := (fsType{}).Mount(d, &vfs.MountArgs{Options: vfs.ParseOptions(nil, "mask=999")}); err == nil {
		t.Errorf("bad mask accepted")
	}
	for _, o := range []string{"shortnames", "longnames", "nowin95", "utf8", "noatime,sync,async,nodev,nosuid,noexec,ro"} {
		m, err := (fsType{}).Mount(d, &vfs.MountArgs{ReadOnly: true, Options: vfs.ParseOptions(nil, o)})
		if err != nil {
			t.Errorf("option %s: %v", o, err)
			continue
		}
		m.Unmount()
	}
}

// TestShortNames: -o shortnames shows 8.3 names in lower case.
func TestShortNames(t *testing.T) {
	img := mkfs(t, 2000, "-F", "12")
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "Long File Name.text"), []byte("x"))
	mcopyIn(t, img, src)
	tm := mountImg(t, img, true, "shortnames")
	root := tm.mustWalk(t, "")
	if got := fmt.Sprint(names(t, root)); got != "[longfi~1.tex]" {
		t.Errorf("short names: %s", got)
	}
	root.Rele()
	tm.unmount(t)
}
