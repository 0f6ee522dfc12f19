package ffs

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

	"github.com/rumpfs/rumpfs/dev"
	"github.com/rumpfs/rumpfs/internal/treetest"
	"github.com/rumpfs/rumpfs/vfs"
)

// fileDev is a test Device over an image file.
type fileDev struct {
	f    *os.File
	size int64
	ro   bool
}

func openDev(t testing.TB, p string, ro bool) *fileDev {
	t.Helper()
	flag := os.O_RDWR
	if ro {
		flag = os.O_RDONLY
	}
	f, err := os.OpenFile(p, flag, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	t.Cleanup(func() { f.Close() })
	return &fileDev{f: f, size: st.Size(), ro: ro}
}

func (d *fileDev) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= d.size {
		return 0, io.EOF
	}
	if int64(len(p)) > d.size-off {
		n, err := d.f.ReadAt(p[:d.size-off], off)
		if err == nil {
			err = io.EOF
		}
		return n, err
	}
	return d.f.ReadAt(p, off)
}

func (d *fileDev) WriteAt(p []byte, off int64) (int, error) {
	if d.ro {
		return 0, dev.ErrReadOnly
	}
	if off < 0 || off+int64(len(p)) > d.size {
		return 0, dev.ErrOutOfRange
	}
	return d.f.WriteAt(p, off)
}

func (d *fileDev) Size() int64     { return d.size }
func (d *fileDev) SectorSize() int { return 512 }
func (d *fileDev) ReadOnly() bool  { return d.ro }
func (d *fileDev) Sync() error     { return nil }
func (d *fileDev) Close() error    { return d.f.Close() }
func (d *fileDev) Name() string    { return d.f.Name() }

func needTool(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not installed", n)
			}
			t.Skipf("%s not installed", n)
		}
	}
}

// variant is one makefs configuration.
type variant struct {
	version      int
	endian       string
	bsize, fsize int
}

func (v variant) String() string {
	return fmt.Sprintf("ufs%d-%s-%d-%d", v.version, v.endian, v.bsize, v.fsize)
}

// makefs builds an FFS image of the host directory src.
func makefs(t testing.TB, v variant, src string, size string, extra ...string) string {
	t.Helper()
	needTool(t, "makefs")
	img := filepath.Join(t.TempDir(), v.String()+".img")
	o := fmt.Sprintf("version=%d", v.version)
	if v.bsize > 0 {
		o += fmt.Sprintf(",bsize=%d,fsize=%d", v.bsize, v.fsize)
	}
	args := []string{"-t", "ffs", "-B", v.endian, "-o", o}
	if size != "" {
		args = append(args, "-s", size)
	}
	args = append(args, extra...)
	args = append(args, img, src)
	out, err := exec.Command("makefs", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("makefs %v: %v\n%s", args, err, out)
	}
	return img
}

func mountImg(t testing.TB, img string, ro bool, opts string) *mount {
	t.Helper()
	d := openDev(t, img, ro)
	fs, ok := vfs.LookupFS("ffs")
	if !ok {
		t.Fatal("ffs not registered")
	}
	if !fs.Probe(d) {
		t.Fatalf("%s: probe failed", img)
	}
	m, err := fs.Mount(d, &vfs.MountArgs{ReadOnly: ro, Options: vfs.ParseOptions(nil, opts), Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	return m.(*mount)
}

// checkClean runs the checker and fails on any finding.
func checkClean(t testing.TB, img string) {
	t.Helper()
	d := openDev(t, img, true)
	r, err := Check(d, CheckOptions{})
	if err != nil {
		t.Fatalf("check %s: %v", img, err)
	}
	if !r.Clean() {
		t.Fatalf("check %s: %d problems:\n%s", img, len(r.Problems), strings.Join(r.Problems[:min(len(r.Problems), 30)], "\n"))
	}
}

// vnView is a treetest.View over a mount, through the vnode interface.
type vnView struct {
	t testing.TB
	m vfs.Mount
}

func (v vnView) lookup(name string) (vfs.Vnode, error) {
	root, err := v.m.Root()
	if err != nil {
		return nil, err
	}
	defer root.Rele()
	if name == "." || name == "" {
		root2, _ := v.m.Root()
		return root2, nil
	}
	nd, err := vfs.Namei(root, root, name, 0, vfs.RootCred)
	if err != nil {
		return nil, err
	}
	vn := nd.Vn
	nd.Vn = nil
	nd.Release()
	return vn, nil
}

func (v vnView) Lstat(name string) (treetest.Stat, error) {
	vn, err := v.lookup(name)
	if err != nil {
		return treetest.Stat{}, err
	}
	defer vn.Rele()
	a, err := vn.Getattr()
	if err != nil {
		return treetest.Stat{}, err
	}
	return treetest.Stat{Mode: a.Mode, Ino: a.Ino, Nlink: uint64(a.Nlink), Uid: a.Uid, Gid: a.Gid,
		Size: int64(a.Size), Mtime: a.Mtime, Rdev: a.Rdev}, nil
}

func (v vnView) ReadDir(name string) ([]treetest.DirEntry, error) {
	vn, err := v.lookup(name)
	if err != nil {
		return nil, err
	}
	defer vn.Rele()
	var out []treetest.DirEntry
	err = vn.Readdir(0, func(d vfs.Dirent) bool {
		if d.Name != "." && d.Name != ".." {
			out = append(out, treetest.DirEntry{Name: d.Name, Ino: d.Ino})
		}
		return true
	})
	return out, err
}

func (v vnView) Readlink(name string) (string, error) {
	vn, err := v.lookup(name)
	if err != nil {
		return "", err
	}
	defer vn.Rele()
	return vn.Readlink()
}

type vnFile struct {
	vn  vfs.Vnode
	off int64
}

func (f *vnFile) Read(p []byte) (int, error) {
	n, err := f.vn.Read(p, f.off)
	f.off += int64(n)
	if n == 0 && err == nil && len(p) > 0 {
		return 0, io.EOF
	}
	return n, err
}
func (f *vnFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.vn.Read(p, off)
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, err
}
func (f *vnFile) Close() error { f.vn.Rele(); return nil }

func (v vnView) Open(name string) (io.ReadCloser, error) {
	vn, err := v.lookup(name)
	if err != nil {
		return nil, err
	}
	return &vnFile{vn: vn}, nil
}

// walkPath resolves p from the root without following a final symlink.
func walkPath(t testing.TB, m vfs.Mount, p string) (vfs.Vnode, error) {
	t.Helper()
	return vnView{t, m}.lookup(p)
}

func mustWalk(t testing.TB, m vfs.Mount, p string) *node {
	t.Helper()
	vn, err := walkPath(t, m, p)
	if err != nil {
		t.Fatalf("lookup %s: %v", p, err)
	}
	return vn.(*node)
}

func readAll(t testing.TB, vn vfs.Vnode) []byte {
	t.Helper()
	a, err := vn.Getattr()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, a.Size)
	n, err := vn.Read(b, 0)
	if err != nil || n != len(b) {
		t.Fatalf("read: %d of %d: %v", n, len(b), err)
	}
	return b
}

// listDir returns the names in a directory (without . and ..), sorted.
func listDir(t testing.TB, vn vfs.Vnode) []string {
	t.Helper()
	var names []string
	if err := vn.Readdir(0, func(d vfs.Dirent) bool {
		if d.Name != "." && d.Name != ".." {
			names = append(names, d.Name)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	return names
}

var _ = bytes.Equal
var _ = path.Join
var _ = syscall.ENOENT
