package msdosfs

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rumpfs/rumpfs/dev"
	"github.com/rumpfs/rumpfs/internal/fixture"
	"github.com/rumpfs/rumpfs/vfs"
)

// mkfs builds a FAT image of sizeKiB in dir with mkfs.fat and extra args.
func mkfs(t testing.TB, sizeKiB int, args ...string) string {
	t.Helper()
	fixture.Require(t, "mkfs.fat")
	img := filepath.Join(t.TempDir(), "fat.img")
	a := append([]string{"-C"}, args...)
	a = append(a, img, fmt.Sprint(sizeKiB))
	out, err := exec.Command("mkfs.fat", a...).CombinedOutput()
	if err != nil {
		t.Fatalf("mkfs.fat %v: %v\n%s", a, err, out)
	}
	return img
}

// mcopyIn copies the contents of src into the image's root with mcopy -s.
func mcopyIn(t testing.TB, img, src string) {
	t.Helper()
	fixture.Require(t, "mcopy")
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) == 0 {
		return
	}
	args := []string{"-s", "-p", "-m", "-Q", "-i", img}
	for _, e := range ents {
		args = append(args, filepath.Join(src, e.Name()))
	}
	args = append(args, "::/")
	cmd := exec.Command("mcopy", args...)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1", "MTOOLS_NO_VFAT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mcopy: %v\n%s", err, out)
	}
}

// fsck runs fsck.fat -n and fails on any complaint.
func fsck(t testing.TB, img string) { fsckCheck(t, img, false) }

// fsckCheck runs fsck.fat -n; dirtyOK accepts the dirty flag of a volume
// that is still mounted.
func fsckCheck(t testing.TB, img string, dirtyOK bool) {
	t.Helper()
	fixture.Require(t, "fsck.fat")
	out, err := exec.Command("fsck.fat", "-n", img).CombinedOutput()
	bad := err != nil || bytes.Contains(out, []byte("would")) || bytes.Contains(bytes.ToLower(out), []byte("free cluster summary"))
	if dirtyOK && bad {
		bad = false
		for _, l := range strings.Split(string(out), "\n") {
			switch {
			case l == "", strings.HasPrefix(l, "fsck.fat "), strings.Contains(l, "Dirty bit is set"),
				strings.Contains(l, "removing dirty bit"), strings.Contains(l, "Leaving filesystem unchanged"),
				strings.HasPrefix(l, img+":"):
			default:
				bad = true
			}
		}
	}
	if bad {
		t.Fatalf("fsck.fat -n %s: %v\n%s", img, err, out)
	}
}

func openDev(t testing.TB, img string, ro bool) dev.Device {
	t.Helper()
	d, err := dev.Open(img, ro)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

type tmount struct {
	m    *mount
	d    dev.Device
	img  string
	warn []string
}

func mountImg(t testing.TB, img string, ro bool, opts string) *tmount {
	t.Helper()
	d := openDev(t, img, ro)
	tm := &tmount{d: d, img: img}
	args := &vfs.MountArgs{ReadOnly: ro, Options: vfs.ParseOptions(nil, opts),
		Logf: func(f string, a ...any) { tm.warn = append(tm.warn, fmt.Sprintf(f, a...)) }}
	mnt, err := fsType{}.Mount(d, args)
	if err != nil {
		t.Fatal(err)
	}
	tm.m = mnt.(*mount)
	return tm
}

func (tm *tmount) unmount(t testing.TB) {
	t.Helper()
	if err := tm.m.Unmount(); err != nil {
		t.Fatal(err)
	}
	tm.d.Close()
}

// walk resolves a slash path from the root.
func (tm *tmount) walk(t testing.TB, p string) (*node, error) {
	t.Helper()
	r, _ := tm.m.Root()
	cur := r.(*node)
	for _, c := range strings.Split(strings.Trim(p, "/"), "/") {
		if c == "" {
			continue
		}
		nx, err := cur.Lookup(c)
		cur.Rele()
		if err != nil {
			return nil, err
		}
		cur = nx.(*node)
	}
	return cur, nil
}

func (tm *tmount) mustWalk(t testing.TB, p string) *node {
	t.Helper()
	n, err := tm.walk(t, p)
	if err != nil {
		t.Fatalf("walk %s: %v", p, err)
	}
	return n
}

func readAll(t testing.TB, n *node) []byte {
	t.Helper()
	a, _ := n.Getattr()
	buf := make([]byte, a.Size+10)
	k, err := n.Read(buf, 0)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return buf[:k]
}

func names(t testing.TB, n *node) []string {
	t.Helper()
	var l []string
	if err := n.Readdir(0, func(d vfs.Dirent) bool {
		if d.Name != "." && d.Name != ".." {
			l = append(l, d.Name)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	sort.Strings(l)
	return l
}

// snapshot is a tree read back: path → content ("" and isDir for dirs).
type entry struct {
	dir   bool
	data  string
	mtime time.Time
}

// readTree reads the whole mounted tree through the vfs interfaces.
func (tm *tmount) readTree(t testing.TB) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	var rec func(n *node, p string)
	rec = func(n *node, p string) {
		var ents []vfs.Dirent
		if err := n.Readdir(0, func(d vfs.Dirent) bool { ents = append(ents, d); return true }); err != nil {
			t.Fatalf("readdir %s: %v", p, err)
		}
		for _, d := range ents {
			if d.Name == "." || d.Name == ".." {
				continue
			}
			c, err := n.Lookup(d.Name)
			if err != nil {
				t.Fatalf("lookup %s/%s: %v", p, d.Name, err)
			}
			cn := c.(*node)
			a, _ := cn.Getattr()
			if a.Ino != d.Ino {
				t.Errorf("%s/%s: readdir ino %d, getattr ino %d", p, d.Name, d.Ino, a.Ino)
			}
			cp := path.Join(p, d.Name)
			if a.IsDir() {
				out[cp] = entry{dir: true}
				rec(cn, cp)
			} else {
				out[cp] = entry{data: string(readAll(t, cn)), mtime: a.Mtime}
			}
			cn.Rele()
		}
	}
	r, _ := tm.m.Root()
	rec(r.(*node), "")
	r.Rele()
	return out
}

// hostTree reads a host directory the same way.
func hostTree(t testing.TB, root string) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		if fi.IsDir() {
			out[filepath.ToSlash(rel)] = entry{dir: true}
		} else {
			b, _ := os.ReadFile(p)
			out[filepath.ToSlash(rel)] = entry{data: string(b), mtime: fi.ModTime()}
		}
		return nil
	})
	return out
}

// compareTrees checks names, kinds, contents and (if mtimes) mtimes to 2 s.
func compareTrees(t testing.TB, got, want map[string]entry, mtimes bool) {
	t.Helper()
	for p, w := range want {
		g, ok := got[p]
		if !ok {
			t.Errorf("missing %s", p)
			continue
		}
		if g.dir != w.dir {
			t.Errorf("%s: dir %v, want %v", p, g.dir, w.dir)
			continue
		}
		if g.data != w.data {
			t.Errorf("%s: content differs (%d bytes, want %d)", p, len(g.data), len(w.data))
		}
		if mtimes && !w.dir {
			if d := g.mtime.Sub(w.mtime); d < -2*time.Second || d > 2*time.Second {
				t.Errorf("%s: mtime %v, want %v", p, g.mtime, w.mtime)
			}
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("unexpected %s", p)
		}
	}
}

// mcopyOut extracts the whole image with mcopy -s into a new directory.
func mcopyOut(t testing.TB, img string) string {
	t.Helper()
	fixture.Require(t, "mcopy")
	out := t.TempDir()
	cmd := exec.Command("mcopy", "-s", "-n", "-i", img, "::/", out)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		// An empty volume makes mcopy complain; that is not an error here.
		if !strings.Contains(string(b), "No match") {
			t.Fatalf("mcopy out: %v\n%s", err, b)
		}
	}
	return out
}

func writeFile(t testing.TB, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0644); err != nil {
		t.Fatal(err)
	}
}

func errno(err error) syscall.Errno {
	e, _ := err.(syscall.Errno)
	return e
}

var _ = io.EOF
