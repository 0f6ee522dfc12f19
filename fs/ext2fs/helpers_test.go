package ext2fs

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rumpfs/rumpfs/dev"
	"github.com/rumpfs/rumpfs/vfs"
)

// fileDev is a test-only dev.Device over an image file (dev has no
// opener yet).
type fileDev struct {
	f    *os.File
	size int64
	ro   bool
}

var _ dev.Device = (*fileDev)(nil)

func openDev(t testing.TB, path string, ro bool) *fileDev {
	t.Helper()
	flag := os.O_RDWR
	if ro {
		flag = os.O_RDONLY
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	d := &fileDev{f: f, size: st.Size(), ro: ro}
	t.Cleanup(func() { f.Close() })
	return d
}

func (d *fileDev) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > d.size {
		return 0, io.EOF
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
func (d *fileDev) Sync() error     { return d.f.Sync() }
func (d *fileDev) Close() error    { return d.f.Close() }
func (d *fileDev) Name() string    { return d.f.Name() }

// memDev is a Device over a byte slice, for the fuzzer.
type memDev struct {
	b  []byte
	ro bool
}

func (d *memDev) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(d.b)) {
		return 0, io.EOF
	}
	return copy(p, d.b[off:]), nil
}
func (d *memDev) WriteAt(p []byte, off int64) (int, error) {
	if d.ro {
		return 0, dev.ErrReadOnly
	}
	if off < 0 || off+int64(len(p)) > int64(len(d.b)) {
		return 0, dev.ErrOutOfRange
	}
	return copy(d.b[off:], p), nil
}
func (d *memDev) Size() int64     { return int64(len(d.b)) }
func (d *memDev) SectorSize() int { return 512 }
func (d *memDev) ReadOnly() bool  { return d.ro }
func (d *memDev) Sync() error     { return nil }
func (d *memDev) Close() error    { return nil }
func (d *memDev) Name() string    { return "mem" }

// needTool skips (or fails under CI=true) when an oracle is missing.
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

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// mkfs builds an image of sizeMB from tree with the given mkfs program
// and extra options.
func mkfs(t testing.TB, prog string, sizeMB int, tree string, opts ...string) string {
	t.Helper()
	needTool(t, prog)
	img := filepath.Join(t.TempDir(), "fs.img")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(int64(sizeMB) << 20)
	f.Close()
	args := append([]string{"-q", "-F"}, opts...)
	if tree != "" {
		args = append(args, "-d", tree)
	}
	args = append(args, img)
	cmd := exec.Command(prog, args...)
	cmd.Env = append(os.Environ(), "E2FSPROGS_FAKE_TIME=", "MKE2FS_CONFIG=/etc/mke2fs.conf")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", prog, args, err, out)
	}
	return img
}

func mountImg(t testing.TB, img string, ro bool, opts string) vfs.Mount {
	t.Helper()
	m, err := mountImgErr(t, img, ro, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mountImgErr(t testing.TB, img string, ro bool, opts string) (vfs.Mount, error) {
	d := openDev(t, img, ro)
	fs, ok := vfs.LookupFS("ext2fs")
	if !ok {
		t.Fatal("ext2fs not registered")
	}
	if !fs.Probe(d) {
		t.Fatal("probe failed")
	}
	return fs.Mount(d, &vfs.MountArgs{ReadOnly: ro, Options: vfs.ParseOptions(nil, opts), Logf: t.Logf})
}

// e2fsck runs e2fsck -fn and fails the test on any finding.
func e2fsck(t testing.TB, img string) {
	t.Helper()
	needTool(t, "e2fsck")
	out, err := exec.Command("e2fsck", "-fn", img).CombinedOutput()
	if err != nil {
		t.Fatalf("e2fsck -fn: %v\n%s", err, out)
	}
}

// walk resolves a slash path from the root.
func walk(t testing.TB, m vfs.Mount, p string) (vfs.Vnode, error) {
	t.Helper()
	root, err := m.Root()
	if err != nil {
		t.Fatal(err)
	}
	defer root.Rele()
	nd, err := vfs.Namei(root, root, p, 0, vfs.RootCred)
	if err != nil {
		return nil, err
	}
	vn := nd.Vn
	nd.Vn = nil
	nd.Release()
	return vn, nil
}

func readAll(t testing.TB, vn vfs.Vnode) []byte {
	t.Helper()
	a, err := vn.Getattr()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, a.Size)
	chunk := make([]byte, min(a.Size+1, 1<<20))
	for off := int64(0); ; {
		n, err := vn.Read(chunk, off)
		if err != nil {
			t.Fatalf("read at %d: %v", off, err)
		}
		if n == 0 {
			break
		}
		buf = append(buf, chunk[:n]...)
		off += int64(n)
	}
	return buf
}

func listDir(t testing.TB, vn vfs.Vnode) map[string]vfs.Dirent {
	t.Helper()
	out := map[string]vfs.Dirent{}
	err := vn.Readdir(0, func(d vfs.Dirent) bool {
		if _, dup := out[d.Name]; dup {
			t.Errorf("duplicate entry %q", d.Name)
		}
		out[d.Name] = d
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// cmpOpts says what the comparison can expect of an image.
type cmpOpts struct {
	nsec     bool // nanosecond times stored
	xattrs   bool
	noMtime  bool                 // the source tree's times are not the image's
	expMtime map[string]time.Time // overrides from fixture edits
}

// compareTree checks the mounted tree against the source directory.
func compareTree(t *testing.T, m vfs.Mount, src string, o cmpOpts) {
	t.Helper()
	inodes := map[uint64]uint64{} // source ino -> image ino
	var rec func(rel string)
	rec = func(rel string) {
		full := filepath.Join(src, rel)
		var st unix.Stat_t
		if err := unix.Lstat(full, &st); err != nil {
			t.Fatal(err)
		}
		p := "/" + filepath.ToSlash(rel)
		if rel == "." || rel == "" {
			p = "/"
		}
		vn, err := walk(t, m, p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return
		}
		defer vn.Rele()
		a, err := vn.Getattr()
		if err != nil {
			t.Errorf("%s: getattr: %v", p, err)
			return
		}
		if a.Mode != st.Mode {
			t.Errorf("%s: mode %o, want %o", p, a.Mode, st.Mode)
		}
		if p != "/" && (a.Uid != st.Uid || a.Gid != st.Gid) {
			t.Errorf("%s: owner %d:%d, want %d:%d", p, a.Uid, a.Gid, st.Uid, st.Gid)
		}
		want := time.Unix(st.Mtim.Sec, st.Mtim.Nsec)
		exact := o.nsec
		if w, ok := o.expMtime[p]; ok {
			want, exact = w, true
		}
		if p != "/" && !o.noMtime {
			got := a.Mtime
			if !exact {
				want = want.Truncate(time.Second)
				got = got.Truncate(time.Second)
			}
			if d := got.Sub(want); d != 0 && (exact || d < -time.Second || d > time.Second) {
				t.Errorf("%s: mtime %v, want %v", p, got, want)
			}
		}
		if st.Nlink > 1 && a.Mode&vfs.S_IFMT != vfs.S_IFDIR {
			if prev, ok := inodes[st.Ino]; ok && prev != a.Ino {
				t.Errorf("%s: hard link to inode %d, want %d", p, a.Ino, prev)
			}
			inodes[st.Ino] = a.Ino
			if a.Nlink != uint32(st.Nlink) {
				t.Errorf("%s: nlink %d want %d", p, a.Nlink, st.Nlink)
			}
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			if a.Size != uint64(st.Size) {
				t.Errorf("%s: size %d, want %d", p, a.Size, st.Size)
			}
			if st.Size < 64<<20 {
				want, _ := os.ReadFile(full)
				if got := readAll(t, vn); !bytes.Equal(got, want) {
					t.Errorf("%s: contents differ (%d vs %d bytes)", p, len(got), len(want))
				}
			} else {
				// Big sparse file: compare a few windows.
				f, _ := os.Open(full)
				for _, off := range []int64{0, st.Size / 2, st.Size - 4096} {
					w := make([]byte, 4096)
					g := make([]byte, 4096)
					f.ReadAt(w, off)
					vn.Read(g, off)
					if !bytes.Equal(w, g) {
						t.Errorf("%s: contents differ at %d", p, off)
					}
				}
				f.Close()
			}
		case unix.S_IFLNK:
			want, _ := os.Readlink(full)
			got, err := vn.Readlink()
			if err != nil || got != want {
				t.Errorf("%s: readlink %q %v, want %q", p, got, err, want)
			}
		case unix.S_IFCHR, unix.S_IFBLK:
			if a.Rdev != st.Rdev {
				t.Errorf("%s: rdev %#x, want %#x", p, a.Rdev, st.Rdev)
			}
		case unix.S_IFDIR:
			ents, _ := os.ReadDir(full)
			got := listDir(t, vn)
			delete(got, "lost+found")
			if len(got) != len(ents)+2 {
				t.Errorf("%s: %d entries, want %d", p, len(got), len(ents)+2)
			}
			for _, e := range ents {
				d, ok := got[e.Name()]
				if !ok {
					t.Errorf("%s: missing %q", p, e.Name())
					continue
				}
				if d.Type != vfs.DT_UNKNOWN && uint32(d.Type) != uint32(vfs.DTType(uint32(e.Type()&os.ModeType))) {
					// DT from os.FileMode is awkward; check via mode below.
				}
				rec(filepath.Join(rel, e.Name()))
			}
		}
		if o.xattrs && st.Mode&unix.S_IFMT != unix.S_IFLNK {
			compareXattrs(t, p, full, vn)
		}
	}
	rec("")
}

func compareXattrs(t *testing.T, p, full string, vn vfs.Vnode) {
	sz, err := unix.Llistxattr(full, nil)
	if err != nil || sz == 0 {
		return
	}
	buf := make([]byte, sz)
	sz, _ = unix.Llistxattr(full, buf)
	var want []string
	for _, n := range strings.Split(string(buf[:sz]), "\x00") {
		if n != "" && (strings.HasPrefix(n, "user.") || strings.HasPrefix(n, "trusted.")) {
			want = append(want, n)
		}
	}
	sort.Strings(want)
	got, err := vfs.VOP_LISTXATTR(vn)
	if err != nil {
		t.Errorf("%s: listxattr: %v", p, err)
	}
	var gotF []string
	for _, n := range got {
		if strings.HasPrefix(n, "user.") || strings.HasPrefix(n, "trusted.") {
			gotF = append(gotF, n)
		}
	}
	if fmt.Sprint(gotF) != fmt.Sprint(want) {
		t.Errorf("%s: xattrs %v, want %v", p, gotF, want)
	}
	for _, n := range want {
		v := make([]byte, 70000)
		k, _ := unix.Lgetxattr(full, n, v)
		g, err := vfs.VOP_GETXATTR(vn, n)
		if err != nil || !bytes.Equal(g, v[:k]) {
			t.Errorf("%s: xattr %s = %q %v, want %q", p, n, g, err, v[:k])
		}
	}
}

// buildTree writes the source tree every fixture is made from. nBig is
// the size of the big directory.
func buildTree(t testing.TB, nBig int, withSpecial bool) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "tree")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "dir/sub/deeper"), 0755))
	must(os.WriteFile(filepath.Join(root, "empty"), nil, 0644))
	must(os.WriteFile(filepath.Join(root, "small.txt"), []byte("hello, ext2\n"), 0644))
	pat := func(n int, seed byte) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*7+int(seed)) ^ byte(i>>10)
		}
		return b
	}
	must(os.WriteFile(filepath.Join(root, "dir/onepage"), pat(4096, 1), 0600))
	must(os.WriteFile(filepath.Join(root, "dir/medium"), pat(100000, 2), 0640))
	must(os.WriteFile(filepath.Join(root, "dir/sub/big"), pat(3<<20+123, 3), 0644))
	// Sparse files: a hole in the middle, and data far out (triple
	// indirect with 1 KiB blocks; past 4 GiB).
	f, err := os.Create(filepath.Join(root, "sparse"))
	must(err)
	f.WriteAt([]byte("start"), 0)
	f.WriteAt(pat(5000, 9), 70<<20)
	f.WriteAt([]byte("end"), 90<<20)
	f.Close()
	f, err = os.Create(filepath.Join(root, "huge-sparse"))
	must(err)
	f.WriteAt([]byte("beyond 4GiB"), 5<<30)
	f.Close()
	// Names.
	must(os.WriteFile(filepath.Join(root, "dir/ünïcødé-名前-🙂"), []byte("utf8"), 0644))
	long := strings.Repeat("L", 255)
	must(os.WriteFile(filepath.Join(root, "dir", long), []byte("long name"), 0644))
	// Symlinks, fast and slow.
	must(os.Symlink("small.txt", filepath.Join(root, "fastlink")))
	must(os.Symlink(strings.Repeat("x/", 70)+"target", filepath.Join(root, "slowlink")))
	must(os.Symlink("dir/sub", filepath.Join(root, "dirlink")))
	// Hard links.
	must(os.Link(filepath.Join(root, "small.txt"), filepath.Join(root, "dir/hardlink")))
	must(os.Link(filepath.Join(root, "small.txt"), filepath.Join(root, "dir/sub/hardlink2")))
	// Modes and owners.
	must(os.WriteFile(filepath.Join(root, "setuid"), []byte("#!/bin/sh\n"), 0755))
	must(os.Chmod(filepath.Join(root, "setuid"), 04755|os.ModeSetuid))
	must(unix.Chmod(filepath.Join(root, "setuid"), 04755))
	must(os.Mkdir(filepath.Join(root, "sticky"), 0777))
	must(unix.Chmod(filepath.Join(root, "sticky"), 01777))
	must(os.Lchown(filepath.Join(root, "dir/medium"), 1234, 5678))
	must(os.Lchown(filepath.Join(root, "fastlink"), 42, 43))
	// Times before 1970 (after 2038 is set on the image, see fixture).
	old := time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)
	must(os.Chtimes(filepath.Join(root, "empty"), old, old))
	// Xattrs: small ones stay in a 256-byte inode, a big one goes to a block.
	must(unix.Setxattr(filepath.Join(root, "small.txt"), "user.color", []byte("blue"), 0))
	must(unix.Setxattr(filepath.Join(root, "small.txt"), "trusted.t", []byte("tv"), 0))
	must(unix.Setxattr(filepath.Join(root, "dir/onepage"), "user.big", bytes.Repeat([]byte("X"), 700), 0))
	must(unix.Setxattr(filepath.Join(root, "dir/onepage"), "user.empty", nil, 0))
	if withSpecial {
		must(unix.Mknod(filepath.Join(root, "null"), unix.S_IFCHR|0666, int(unix.Mkdev(1, 3))))
		must(unix.Mknod(filepath.Join(root, "bigdev"), unix.S_IFBLK|0600, int(unix.Mkdev(300, 70000))))
		must(unix.Mkfifo(filepath.Join(root, "fifo"), 0644))
		must(unix.Mknod(filepath.Join(root, "sock"), unix.S_IFSOCK|0755, 0))
	}
	// The big directory.
	must(os.Mkdir(filepath.Join(root, "many"), 0755))
	for i := 0; i < nBig; i++ {
		must(os.WriteFile(filepath.Join(root, "many", fmt.Sprintf("entry-%06d-%s", i, strings.Repeat("n", i%40))), nil, 0644))
	}
	return root
}

var _ = syscall.EIO

func itoa(n uint64) string { return fmt.Sprint(n) }

func timeUnix(s, ns int64) time.Time { return time.Unix(s, ns) }

func unquote(s string) (string, error) { return strconv.Unquote(s) }
