package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rumpfs/rumpfs/fs/ffs/layout"
	"github.com/rumpfs/rumpfs/internal/fixture"
)

func TestMain(m *testing.M) { os.Exit(fixture.Main(m)) }

// makeImage builds a small UFS2 image with makefs.
func makeImage(t *testing.T) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "tree")
	if err := os.MkdirAll(filepath.Join(src, "dir"), 0755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "hello.txt"), []byte("hello, world\n"), 0644); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(t.TempDir(), "ffs.img")
	fixture.MakeFFS(t, img, src, "version=2", "le", "8m")
	return img
}

// setFlags ORs bits into the superblock's fs_flags (UFS2).
func setFlags(t *testing.T, img string, bits uint32) {
	t.Helper()
	g, err := fixture.ReadFFSGeom(img)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, layout.SuperblockSize)
	if _, err := f.ReadAt(buf, g.SBLoc); err != nil {
		t.Fatal(err)
	}
	sb, err := layout.DecodeSuperblock(buf, g.BO)
	if err != nil {
		t.Fatal(err)
	}
	sb.Flags |= bits
	if err := sb.Encode(buf, g.BO); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(buf, g.SBLoc); err != nil {
		t.Fatal(err)
	}
}

// TestHelp lists mount_ffs's options.
func TestHelp(t *testing.T) {
	out, err := exec.Command(fixture.Bin(t, "rump_ffs"), "-h").CombinedOutput()
	if err != nil {
		t.Fatalf("-h: %v\n%s", err, out)
	}
	for _, o := range []string{"noatime", "nodevmtime", "force", "async", "sync"} {
		if !strings.Contains(string(out), o) {
			t.Errorf("-h does not mention %s:\n%s", o, out)
		}
	}
}

// TestOptions: an unknown option is refused by name; -o ro gives a
// read-only mount (EROFS); a rw mount writes and ends with exit 0.
func TestOptions(t *testing.T) {
	img := makeImage(t)
	r := fixture.Start(t, "rump_ffs", []string{"-o", "bogus", img}, nil)
	if r.Exit == 0 || !strings.Contains(r.Stderr, "unknown mount option bogus") {
		t.Errorf("-o bogus: exit %d, %q", r.Exit, r.Stderr)
	}

	m := fixture.Mount(t, "rump_ffs", img, "-o", "ro,noatime")
	if b, err := os.ReadFile(m.Path("hello.txt")); err != nil || string(b) != "hello, world\n" {
		t.Errorf("read: %q, %v", b, err)
	}
	if err := os.WriteFile(m.Path("new"), []byte("x"), 0644); !errors.Is(err, syscall.EROFS) {
		t.Errorf("write on -o ro: %v, want EROFS", err)
	}
	if opts := fixture.MountOptions(m.Dir); !strings.Contains(","+opts+",", ",ro,") {
		t.Errorf("mount options %q lack ro", opts)
	}
	m.Unmount(t)

	m = fixture.Mount(t, "rump_ffs", img, "-o", "rw,sync,async,nodevmtime")
	if err := os.WriteFile(m.Path("dir/new"), []byte("written\n"), 0644); err != nil {
		t.Fatal(err)
	}
	if code := m.Unmount(t); code != 0 {
		t.Fatalf("exit %d after unmount", code)
	}
	m = fixture.Mount(t, "rump_ffs", img, "-o", "ro")
	if b, err := os.ReadFile(m.Path("dir/new")); err != nil || string(b) != "written\n" {
		t.Errorf("after remount: %q, %v", b, err)
	}
}

// TestForce: an image with an unreplayed soft-updates journal (FreeBSD's
// SU+J) mounts only read-only with -o force; the daemon consumes force
// and must pass it on to the file system.
func TestForce(t *testing.T) {
	img := makeImage(t)
	setFlags(t, img, layout.FS_SUJ)
	for _, o := range []string{"ro", "rw", "rw,force"} {
		r := fixture.Start(t, "rump_ffs", []string{"-o", o, img}, nil)
		if r.Exit == 0 {
			t.Errorf("-o %s: SU+J image mounted", o)
		} else if !strings.Contains(r.Stderr, "SU+J") || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
			t.Errorf("-o %s: message %q, want one line naming SU+J", o, r.Stderr)
		}
	}
	m := fixture.Mount(t, "rump_ffs", img, "-o", "ro,force")
	if b, err := os.ReadFile(m.Path("hello.txt")); err != nil || string(b) != "hello, world\n" {
		t.Errorf("read with -o ro,force: %q, %v", b, err)
	}
	if !strings.Contains(m.Stderr(), "stale") {
		t.Logf("no staleness warning in the daemon's log: %q", m.Stderr())
	}
}

// istatAtime is a UFS1 inode's access time as sleuthkit's istat reads it.
func istatAtime(t *testing.T, img string, ino uint64) time.Time {
	t.Helper()
	fixture.Require(t, "istat")
	out, err := exec.Command("istat", "-z", "UTC", "-f", "ufs1", img, strconv.FormatUint(ino, 10)).CombinedOutput()
	if err != nil {
		t.Fatalf("istat: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "Accessed:\t"); ok {
			v, _, _ = strings.Cut(v, " (")
			tm, err := time.Parse("2006-01-02 15:04:05", v)
			if err != nil {
				t.Fatalf("istat: %q: %v", line, err)
			}
			return tm
		}
	}
	t.Fatalf("istat: no Accessed line:\n%s", out)
	return time.Time{}
}

// TestAtime: through the daemon, reading a file sets its access time on
// disk by unmount (NetBSD's ffs_read), but not with -o noatime, which
// the daemon must pass on to the file system; the image stays clean for
// `ukfs fsck -n`.
func TestAtime(t *testing.T) {
	src := filepath.Join(t.TempDir(), "tree")
	if err := os.MkdirAll(src, 0755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(src, "hello.txt")
	if err := os.WriteFile(p, []byte("hello, world\n"), 0644); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(t.TempDir(), "ffs.img")
	fixture.MakeFFS(t, img, src, "version=1", "be", "8m")
	var st syscall.Stat_t
	m := fixture.Mount(t, "rump_ffs", img, "-o", "rw,noatime")
	if err := syscall.Stat(m.Path("hello.txt"), &st); err != nil {
		t.Fatal(err)
	}
	ino := st.Ino
	if b, err := os.ReadFile(m.Path("hello.txt")); err != nil || string(b) != "hello, world\n" {
		t.Fatalf("read: %q, %v", b, err)
	}
	m.Unmount(t)
	if got := istatAtime(t, img, ino); !got.Equal(old) {
		t.Errorf("-o noatime: atime %v after a read, want %v", got, old)
	}

	before := time.Now().Add(-time.Second).Truncate(time.Second)
	m = fixture.Mount(t, "rump_ffs", img, "-o", "rw")
	if b, err := os.ReadFile(m.Path("hello.txt")); err != nil || string(b) != "hello, world\n" {
		t.Fatalf("read: %q, %v", b, err)
	}
	if code := m.Unmount(t); code != 0 {
		t.Fatalf("exit %d after unmount", code)
	}
	if got := istatAtime(t, img, ino); got.Before(before) || got.After(time.Now().Add(time.Second)) {
		t.Errorf("-o rw: atime %v after a read, want about %v", got, time.Now().UTC())
	}
	out, err := exec.Command(fixture.Bin(t, "ukfs"), "fsck", "-n", img).CombinedOutput()
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), ": clean") {
		t.Errorf("ukfs fsck -n: %v\n%s", err, out)
	}
}
