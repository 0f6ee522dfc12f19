package cd9660

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/rumpfs/rumpfs/dev"
	"github.com/rumpfs/rumpfs/vfs"
)

// memDev is a test Device over a byte slice.
type memDev struct {
	b    []byte
	name string
}

func (d *memDev) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > int64(len(d.b)) {
		return 0, io.EOF
	}
	n := copy(p, d.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
func (d *memDev) WriteAt(p []byte, off int64) (int, error) { return 0, dev.ErrReadOnly }
func (d *memDev) Size() int64                              { return int64(len(d.b)) }
func (d *memDev) SectorSize() int                          { return 512 }
func (d *memDev) ReadOnly() bool                           { return true }
func (d *memDev) Sync() error                              { return nil }
func (d *memDev) Close() error                             { return nil }
func (d *memDev) Name() string                             { return d.name }

// fileDev is a test Device over an image file.
type fileDev struct {
	f    *os.File
	size int64
}

func (d *fileDev) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > d.size {
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
func (d *fileDev) WriteAt(p []byte, off int64) (int, error) { return 0, dev.ErrReadOnly }
func (d *fileDev) Size() int64                              { return d.size }
func (d *fileDev) SectorSize() int                          { return 512 }
func (d *fileDev) ReadOnly() bool                           { return true }
func (d *fileDev) Sync() error                              { return nil }
func (d *fileDev) Close() error                             { return d.f.Close() }
func (d *fileDev) Name() string                             { return d.f.Name() }

func openDev(t testing.TB, path string) *fileDev {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	t.Cleanup(func() { f.Close() })
	return &fileDev{f: f, size: st.Size()}
}

// needTool skips (or fails under CI=true) without an oracle tool.
func needTool(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed", name)
		}
		t.Skipf("%s not installed", name)
	}
}

// mkiso runs tool with args, writing out, and returns out.
func mkiso(t testing.TB, tool string, args ...string) {
	t.Helper()
	needTool(t, tool)
	cmd := exec.Command(tool, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", tool, args, err, out)
	}
}

func mountImage(t testing.TB, d dev.Device, opts string) *mnt {
	t.Helper()
	m, err := FS{}.Mount(d, &vfs.MountArgs{ReadOnly: true, Options: vfs.ParseOptions(nil, opts),
		Logf: func(f string, a ...any) { t.Logf(f, a...) }})
	if err != nil {
		t.Fatalf("mount: %v", err)
	}
	t.Cleanup(func() { m.Unmount() })
	return m.(*mnt)
}

func mountFile(t testing.TB, path, opts string) *mnt {
	return mountImage(t, openDev(t, path), opts)
}

// lookupPath walks p (slash-separated, relative to the root) without
// following symlinks.
func lookupPath(t testing.TB, m vfs.Mount, p string) (vfs.Vnode, error) {
	t.Helper()
	vn, err := m.Root()
	if err != nil {
		return nil, err
	}
	for _, c := range strings.Split(p, "/") {
		if c == "" {
			continue
		}
		next, err := vn.Lookup(c)
		vn.Rele()
		if err != nil {
			return nil, err
		}
		vn = next
	}
	return vn, nil
}

func readAll(vn vfs.Vnode) ([]byte, error) {
	a, _ := vn.Getattr()
	buf := make([]byte, a.Size)
	off := 0
	for off < len(buf) {
		n, err := vn.Read(buf[off:], int64(off))
		if err != nil {
			return buf[:off], err
		}
		if n == 0 {
			break
		}
		off += n
	}
	return buf[:off], nil
}

func listDir(t testing.TB, vn vfs.Vnode) []vfs.Dirent {
	t.Helper()
	var ents []vfs.Dirent
	if err := vn.Readdir(0, func(d vfs.Dirent) bool { ents = append(ents, d); return true }); err != nil {
		t.Fatalf("readdir: %v", err)
	}
	return ents
}

// compareTree walks the source tree and the mounted one and checks names,
// types, sizes, contents and (with rr) modes, owners, times and symlinks.
func compareTree(t *testing.T, m vfs.Mount, src string, rr, hardlinks bool) {
	t.Helper()
	inodes := map[uint64]uint64{} // source ino -> image ino (hard links)
	var walk func(rel string, vn vfs.Vnode)
	walk = func(rel string, vn vfs.Vnode) {
		full := filepath.Join(src, rel)
		des, err := os.ReadDir(full)
		if err != nil {
			t.Fatal(err)
		}
		ents := listDir(t, vn)
		if len(ents) < 2 || ents[0].Name != "." || ents[1].Name != ".." {
			t.Fatalf("%s: listing does not start with . and ..", rel)
		}
		var got, want []string
		for _, e := range ents[2:] {
			got = append(got, e.Name)
		}
		for _, de := range des {
			want = append(want, de.Name())
		}
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, "/") != strings.Join(want, "/") {
			t.Fatalf("%s: names differ:\n got %q\nwant %q", rel, got, want)
		}
		byName := map[string]vfs.Dirent{}
		for _, e := range ents {
			byName[e.Name] = e
		}
		da, _ := vn.Getattr()
		if byName["."].Ino != da.Ino {
			t.Errorf("%s: . ino %d, getattr %d", rel, byName["."].Ino, da.Ino)
		}
		for _, de := range des {
			name := de.Name()
			p := filepath.Join(rel, name)
			fi, err := os.Lstat(filepath.Join(src, p))
			if err != nil {
				t.Fatal(err)
			}
			c, err := vn.Lookup(name)
			if err != nil {
				t.Fatalf("%s: lookup: %v", p, err)
			}
			a, _ := c.Getattr()
			if byName[name].Ino != a.Ino {
				t.Errorf("%s: dirent ino %d, getattr ino %d", p, byName[name].Ino, a.Ino)
			}
			if want := vfs.DTType(a.Mode); byName[name].Type != want {
				t.Errorf("%s: dirent type %d, want %d", p, byName[name].Type, want)
			}
			st := fi.Sys().(*syscall.Stat_t)
			switch {
			case fi.IsDir():
				if !a.IsDir() {
					t.Errorf("%s: not a directory: %o", p, a.Mode)
				}
			case fi.Mode()&os.ModeSymlink != 0:
				if !rr {
					break
				}
				target, _ := os.Readlink(filepath.Join(src, p))
				got, err := c.Readlink()
				if err != nil || got != target {
					t.Errorf("%s: readlink %q %v, want %q", p, got, err, target)
				}
				if a.Size != uint64(len(target)) {
					t.Errorf("%s: symlink size %d", p, a.Size)
				}
			default:
				if a.Size != uint64(fi.Size()) {
					t.Errorf("%s: size %d, want %d", p, a.Size, fi.Size())
				}
				if fi.Mode().IsRegular() && fi.Size() < 64<<20 {
					data, err := readAll(c)
					want, _ := os.ReadFile(filepath.Join(src, p))
					if err != nil || string(data) != string(want) {
						t.Errorf("%s: content differs (%v)", p, err)
					}
				}
				if hardlinks && st.Nlink > 1 {
					if prev, ok := inodes[st.Ino]; ok && prev != a.Ino {
						t.Errorf("%s: hard link ino %d, other link %d", p, a.Ino, prev)
					}
					inodes[st.Ino] = a.Ino
				}
			}
			if rr {
				if a.Mode != st.Mode {
					t.Errorf("%s: mode %o, want %o", p, a.Mode, st.Mode)
				}
				if (a.Mode&vfs.S_IFMT == vfs.S_IFCHR || a.Mode&vfs.S_IFMT == vfs.S_IFBLK) && a.Rdev != st.Rdev {
					t.Errorf("%s: rdev %#x, want %#x", p, a.Rdev, st.Rdev)
				}
				if a.Uid != st.Uid || a.Gid != st.Gid {
					t.Errorf("%s: owner %d:%d, want %d:%d", p, a.Uid, a.Gid, st.Uid, st.Gid)
				}
				if !fi.IsDir() && a.Mtime.Unix() != fi.ModTime().Unix() {
					t.Errorf("%s: mtime %v, want %v", p, a.Mtime, fi.ModTime())
				}
			} else {
				if a.Mode&07777 != 0555 {
					t.Errorf("%s: mode %o without Rock Ridge", p, a.Mode)
				}
			}
			if fi.IsDir() {
				walk(p, c)
			}
			c.Rele()
		}
	}
	root, err := m.Root()
	if err != nil {
		t.Fatal(err)
	}
	defer root.Rele()
	walk("", root)
}

func writeFile(t testing.TB, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7+int(seed)) ^ byte(i>>9)
	}
	return b
}

var _ = fmt.Sprintf
