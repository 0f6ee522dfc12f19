package ninep

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hugelgupf/p9/linux"
	"github.com/hugelgupf/p9/p9"

	_ "github.com/rumpfs/rumpfs/fs/ext2fs"
	_ "github.com/rumpfs/rumpfs/fs/ffs"
	"github.com/rumpfs/rumpfs/internal/fixture"
	"github.com/rumpfs/rumpfs/internal/memfs"
	"github.com/rumpfs/rumpfs/kern"
	"github.com/rumpfs/rumpfs/vfs"
)

// isErr reports whether a p9 client error is the errno e (the client
// gives linux.Errno values).
func isErr(err error, e syscall.Errno) bool {
	return err != nil && linux.ExtractErrno(err) == linux.Errno(e)
}

// export serves m on a unix socket in a temp dir until the test ends and
// returns the socket path.
func serveTest(t *testing.T, m vfs.Mount, opts Options) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "9p.sock")
	l, err := Listen("unix://" + sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeListener(ctx, l, m, opts) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Serve did not return after its context ended")
		}
	})
	return sock
}

// dial connects a p9 client and attaches to the export's root.
func dial(t *testing.T, sock string) (*p9.Client, p9.File, net.Conn) {
	t.Helper()
	nc, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	c, err := p9.NewClient(nc, p9.WithMessageSize(64<<10))
	if err != nil {
		nc.Close()
		t.Fatal(err)
	}
	root, err := c.Attach("")
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	return c, root, nc
}

// walkTo walks from dir along a slash path.
func walkTo(dir p9.File, p string) (p9.File, error) {
	var names []string
	if p != "" && p != "." {
		names = strings.Split(p, "/")
	}
	_, f, err := dir.Walk(names)
	return f, err
}

func writeFile(t testing.TB, root p9.File, p string, data []byte, mode p9.FileMode) {
	t.Helper()
	dir, err := walkTo(root, filepath.Dir(p))
	if err != nil {
		t.Fatalf("walk %s: %v", filepath.Dir(p), err)
	}
	defer dir.Close()
	f, _, _, err := dir.Create(filepath.Base(p), p9.WriteOnly, mode, p9.NoUID, p9.NoGID)
	if err != nil {
		t.Fatalf("create %s: %v", p, err)
	}
	defer f.Close()
	for off := 0; off < len(data); {
		n, err := f.WriteAt(data[off:], int64(off))
		if err != nil {
			t.Fatalf("write %s: %v", p, err)
		}
		off += n
	}
	if err := f.FSync(); err != nil {
		t.Fatalf("fsync %s: %v", p, err)
	}
}

func readFile(t testing.TB, root p9.File, p string) []byte {
	t.Helper()
	f, err := walkTo(root, p)
	if err != nil {
		t.Fatalf("walk %s: %v", p, err)
	}
	defer f.Close()
	if _, _, err := f.Open(p9.ReadOnly); err != nil {
		t.Fatalf("open %s: %v", p, err)
	}
	var out []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := f.ReadAt(buf, int64(len(out)))
		out = append(out, buf[:n]...)
		if err == io.EOF || (err == nil && n == 0) {
			return out
		}
		if err != nil {
			t.Fatalf("read %s: %v", p, err)
		}
	}
}

func mkdir(t testing.TB, root p9.File, p string) {
	t.Helper()
	dir, err := walkTo(root, filepath.Dir(p))
	if err != nil {
		t.Fatalf("walk %s: %v", filepath.Dir(p), err)
	}
	defer dir.Close()
	if _, err := dir.Mkdir(filepath.Base(p), 0755, p9.NoUID, p9.NoGID); err != nil {
		t.Fatalf("mkdir %s: %v", p, err)
	}
}

func list(t testing.TB, root p9.File, p string) []string {
	t.Helper()
	d, err := walkTo(root, p)
	if err != nil {
		t.Fatalf("walk %s: %v", p, err)
	}
	defer d.Close()
	if _, _, err := d.Open(p9.ReadOnly); err != nil {
		t.Fatalf("open %s: %v", p, err)
	}
	var names []string
	var off uint64
	for {
		ents, err := d.Readdir(off, 4096)
		if err != nil {
			t.Fatalf("readdir %s: %v", p, err)
		}
		if len(ents) == 0 {
			break
		}
		for _, e := range ents {
			if e.Name != "." && e.Name != ".." {
				names = append(names, e.Name)
			}
			off = e.Offset
		}
	}
	sort.Strings(names)
	return names
}

// pattern is file content that differs by name and offset.
func pattern(name string, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + len(name)*13 + int(name[len(name)-1]))
	}
	return b
}

// smallTree is the tree each client copies in: a few directories, files of
// awkward sizes (empty, one byte, across blocks), a symlink and a hard link.
func copyTree(t testing.TB, root p9.File, top string) {
	mkdir(t, root, top)
	mkdir(t, root, top+"/d")
	mkdir(t, root, top+"/d/e")
	for i, n := range []int{0, 1, 1000, 4097, 70000} {
		writeFile(t, root, fmt.Sprintf("%s/d/f%d", top, i), pattern(fmt.Sprint(top, i), n), 0644)
	}
	writeFile(t, root, top+"/d/e/deep", []byte("deep "+top), 0600)
	d, err := walkTo(root, top)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Symlink("d/e/deep", "sym", p9.NoUID, p9.NoGID); err != nil {
		t.Fatalf("symlink: %v", err)
	}
	target, err := walkTo(root, top+"/d/f1")
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if err := d.Link(target, "hard"); err != nil {
		t.Fatalf("link: %v", err)
	}
}

func checkTree(t testing.TB, root p9.File, top string) {
	t.Helper()
	if got, want := list(t, root, top), []string{"d", "hard", "sym"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: %v, want %v", top, got, want)
	}
	if got, want := list(t, root, top+"/d"), []string{"e", "f0", "f1", "f2", "f3", "f4"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s/d: %v, want %v", top, got, want)
	}
	for i, n := range []int{0, 1, 1000, 4097, 70000} {
		p := fmt.Sprintf("%s/d/f%d", top, i)
		if got := readFile(t, root, p); !bytes.Equal(got, pattern(fmt.Sprint(top, i), n)) {
			t.Errorf("%s: %d bytes differ from the %d written", p, len(got), n)
		}
	}
	if got := string(readFile(t, root, top+"/d/e/deep")); got != "deep "+top {
		t.Errorf("deep: %q", got)
	}
	s, err := walkTo(root, top+"/sym")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if l, err := s.Readlink(); err != nil || l != "d/e/deep" {
		t.Errorf("readlink: %q %v", l, err)
	}
	h, err := walkTo(root, top+"/hard")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	_, _, a, err := h.GetAttr(p9.AttrMaskAll)
	if err != nil || a.NLink != 2 || a.Size != 1 {
		t.Errorf("hard link: nlink %d size %d err %v", a.NLink, a.Size, err)
	}
}

func TestMemfsOps(t *testing.T) {
	m := memfs.New()
	sock := serveTest(t, m, Options{})
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0600 {
		t.Errorf("socket mode %v, want 0600", fi.Mode().Perm())
	}
	c, root, _ := dial(t, sock)
	defer c.Close()
	defer root.Close()
	copyTree(t, root, "top")
	checkTree(t, root, "top")

	// rename, unlink, rmdir, setattr, statfs, xattr
	top, _ := walkTo(root, "top")
	defer top.Close()
	d, _ := walkTo(root, "top/d")
	defer d.Close()
	if err := d.RenameAt("f2", top, "moved"); err != nil {
		t.Fatalf("renameat: %v", err)
	}
	if got := readFile(t, root, "top/moved"); !bytes.Equal(got, pattern("top2", 1000)) {
		t.Errorf("renamed file content differs")
	}
	if err := top.UnlinkAt("moved", 0); err != nil {
		t.Errorf("unlinkat: %v", err)
	}
	if err := d.UnlinkAt("e", atRemoveDir); !isErr(err, syscall.ENOTEMPTY) && !isErr(err, syscall.EEXIST) {
		t.Errorf("rmdir of a full directory: %v, want ENOTEMPTY or EEXIST (POSIX allows both)", err)
	}
	f, _ := walkTo(root, "top/d/f4")
	defer f.Close()
	if err := f.SetAttr(p9.SetAttrMask{Size: true, Permissions: true}, p9.SetAttr{Size: 10, Permissions: 0640}); err != nil {
		t.Fatalf("setattr: %v", err)
	}
	_, _, a, err := f.GetAttr(p9.AttrMaskAll)
	if err != nil || a.Size != 10 || a.Mode.Permissions() != 0640 {
		t.Errorf("after setattr: size %d mode %o err %v", a.Size, a.Mode, err)
	}
	mt := time.Date(2020, 1, 2, 3, 4, 5, 6, time.UTC)
	if err := f.SetAttr(p9.SetAttrMask{MTime: true, MTimeNotSystemTime: true}, p9.SetAttr{MTimeSeconds: uint64(mt.Unix()), MTimeNanoSeconds: 6}); err != nil {
		t.Fatalf("utimes: %v", err)
	}
	_, _, a, _ = f.GetAttr(p9.AttrMaskAll)
	if a.MTimeSeconds != uint64(mt.Unix()) || a.MTimeNanoSeconds != 6 {
		t.Errorf("mtime %d.%d", a.MTimeSeconds, a.MTimeNanoSeconds)
	}
	if st, err := root.StatFS(); err != nil || st.Blocks == 0 {
		t.Errorf("statfs: %+v %v", st, err)
	}
	// p9's client has no xattr messages (it answers ENOSYS itself), so
	// xattrs are checked on the server's File directly.
	cn := &conn{ex: newExport(m, Options{}), peerUID: 0, peerGID: 0}
	rf, err := cn.Attach()
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	_, sf, err := rf.Walk([]string{"top", "d", "f4"})
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	if err := sf.SetXattr("user.k", []byte("v"), 0); err != nil {
		t.Errorf("setxattr: %v", err)
	} else if v, err := sf.GetXattr("user.k"); err != nil || string(v) != "v" {
		t.Errorf("getxattr: %q %v", v, err)
	}
	if names, err := sf.ListXattrs(); err != nil || fmt.Sprint(names) != "[user.k]" {
		t.Errorf("listxattr: %v %v", names, err)
	}
}

// A client never leaves the export: ".." at the root is refused by the
// protocol layer or gives the root back, never something above it.
func TestDotDotAtRoot(t *testing.T) {
	m := memfs.New()
	sock := serveTest(t, m, Options{})
	c, root, _ := dial(t, sock)
	defer c.Close()
	defer root.Close()
	mkdir(t, root, "sub")
	rq, _, _, _ := root.GetAttr(p9.AttrMaskAll)
	for _, names := range [][]string{{".."}, {"..", ".."}, {"sub", "..", ".."}} {
		_, f, err := root.Walk(names)
		if err != nil {
			continue // p9 refuses ".." outright (EINVAL): the client resolves it
		}
		q, _, _, _ := f.GetAttr(p9.AttrMaskAll)
		f.Close()
		if q.Path != rq.Path {
			t.Errorf("walk %v reached inode %d, not the root %d", names, q.Path, rq.Path)
		}
	}
	// The server-side mapping is what guards if a library passes "..".
	cn := &conn{ex: newExport(m, Options{}), peerUID: 0, peerGID: 0}
	rf, err := cn.Attach()
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	_, up, err := rf.Walk([]string{"..", ".."})
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	q, _, _, _ := up.GetAttr(p9.AttrMaskAll)
	if q.Path != rq.Path {
		t.Errorf("server walk of ../.. from the root reached %d, not %d", q.Path, rq.Path)
	}
	// Symlinks are not followed by the server: walking onto one gives
	// the link, and walking through it fails (p9 stops at a symlink with
	// EINVAL; our Walk answers ENOTDIR).
	if _, err := root.Symlink("/etc", "esc", p9.NoUID, p9.NoGID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := root.Walk([]string{"esc", "passwd"}); !isErr(err, syscall.ENOTDIR) && !isErr(err, syscall.EINVAL) {
		t.Errorf("walk through a symlink: %v, want ENOTDIR or EINVAL", err)
	}
	_, esc, err := root.Walk([]string{"esc"})
	if err != nil {
		t.Fatal(err)
	}
	defer esc.Close()
	if l, err := esc.Readlink(); err != nil || l != "/etc" {
		t.Errorf("readlink esc: %q %v", l, err)
	}
}

func TestReadOnlyAndSquash(t *testing.T) {
	m := memfs.New()
	sock := serveTest(t, m, Options{ReadOnly: true})
	c, root, _ := dial(t, sock)
	defer c.Close()
	defer root.Close()
	if _, err := root.Mkdir("x", 0755, p9.NoUID, p9.NoGID); !isErr(err, syscall.EROFS) {
		t.Errorf("mkdir on a read-only export: %v, want EROFS", err)
	}

	// All squashed: the anonymous user cannot write the root-owned root.
	m2 := memfs.New()
	sock2 := serveTest(t, m2, Options{Squash: SquashAll})
	c2, root2, _ := dial(t, sock2)
	defer c2.Close()
	defer root2.Close()
	if _, err := root2.Mkdir("x", 0755, p9.NoUID, p9.NoGID); !isErr(err, syscall.EACCES) {
		t.Errorf("mkdir as a squashed user in a 0755 root dir: %v, want EACCES", err)
	}
}

func TestParseAddr(t *testing.T) {
	for in, want := range map[string]string{
		"unix:///tmp/s":     "unix /tmp/s",
		"tcp://0.0.0.0:564": "tcp 0.0.0.0:564",
		"tcp://:564":        "tcp 127.0.0.1:564",
		"5640":              "tcp 127.0.0.1:5640",
		"tcp://[::1]:564":   "tcp [::1]:564",
	} {
		n, a, err := ParseAddr(in)
		if err != nil || n+" "+a != want {
			t.Errorf("ParseAddr(%q) = %s %s %v, want %s", in, n, a, err, want)
		}
	}
	for _, bad := range []string{"", "unix://", "tcp://host", "http://x"} {
		if _, _, err := ParseAddr(bad); err == nil {
			t.Errorf("ParseAddr(%q) accepted", bad)
		}
	}
}

// ext2Export makes an empty ext2 image, mounts it through kern and
// exports it; the returned func unexports, unmounts and runs e2fsck -fn.
func ext2Export(t *testing.T) (string, func()) {
	fixture.Require(t, "mkfs.ext2", "e2fsck")
	img := filepath.Join(t.TempDir(), "ext2.img")
	fixture.MkfsExt(t, img, "ext2", 16, "")
	mp, err := kern.New().Mount(img, "ext2fs", vfs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "9p.sock")
	stop := exportMount(t, mp, sock, Options{})
	finished := false
	finish := func() {
		if !finished {
			finished = true
			stop()
			fixture.E2fsck(t, img)
		}
	}
	t.Cleanup(finish)
	return sock, finish
}

// exportMount serves mp on the unix socket sock with opts; the returned
// func (also run at cleanup, at most once) stops serving, checks that
// Serve ended without error and unmounts mp.
func exportMount(t *testing.T, mp *kern.MountPoint, sock string, opts Options) func() {
	t.Helper()
	l, err := Listen("unix://" + sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeListener(ctx, l, mp, opts) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if err := mp.Unmount(); err != nil {
			t.Errorf("unmount: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// A client whose connection is cut in the middle of writing loses only
// its own data: the server keeps serving others, every fid of the dead
// connection is clunked, and the image is consistent.
func TestExt2ConnectionCutMidWrite(t *testing.T) {
	sock, finish := ext2Export(t)
	other, oroot, _ := dial(t, sock)
	defer other.Close()
	defer oroot.Close()

	nc, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	c, err := p9.NewClient(nc, p9.WithMessageSize(64<<10))
	if err != nil {
		t.Fatal(err)
	}
	root, err := c.Attach("")
	if err != nil {
		t.Fatal(err)
	}
	// A client-side Create turns the fid it is called on into the new
	// file, so each create works on a clone of the root.
	_, r1, _ := root.Walk(nil)
	_, r2, _ := root.Walk(nil)
	f, _, _, err := r1.Create("big", p9.WriteOnly, 0644, p9.NoUID, p9.NoGID)
	if err != nil {
		t.Fatal(err)
	}
	// An unlinked-but-open file too: the cut must free it.
	g, _, _, err := r2.Create("gone", p9.WriteOnly, 0644, p9.NoUID, p9.NoGID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.WriteAt(pattern("gone", 50000), 0); err != nil {
		t.Fatal(err)
	}
	if err := root.UnlinkAt("gone", 0); err != nil {
		t.Fatal(err)
	}
	werr := make(chan error, 1)
	go func() {
		buf := pattern("big", 32<<10)
		// Rewrite the first 4 MiB over and over: the image must not fill.
		for off := int64(0); ; off = (off + int64(len(buf))) % (4 << 20) {
			if _, err := f.WriteAt(buf, off); err != nil {
				werr <- err
				return
			}
		}
	}()
	time.Sleep(100 * time.Millisecond)
	nc.Close() // cut, no clunks
	select {
	case <-werr:
	case <-time.After(10 * time.Second):
		t.Fatal("writer did not notice the cut")
	}
	c.Close()

	copyTree(t, oroot, "survivor")
	checkTree(t, oroot, "survivor")
	if got := list(t, oroot, "."); fmt.Sprint(got) != "[big lost+found survivor]" {
		t.Errorf("root after the cut: %v", got)
	}
	oroot.Close()
	other.Close()
	finish()
}

// The Linux kernel's 9p client (mount -t 9p) would be the independent
// reader. This is the one skip allowed even under CI=true: no package can
// provide a kernel module, and this machine's kernel has no 9p support.
func TestKernelMount9p(t *testing.T) {
	has9p := func() bool {
		b, _ := os.ReadFile("/proc/filesystems")
		return strings.Contains(string(b), "\t9p\n")
	}
	if !has9p() && os.Geteuid() == 0 {
		exec.Command("modprobe", "9p").Run() // a module, where the kernel has one
	}
	if !has9p() {
		t.Skip("kernel has no 9p file system (no 9p in /proc/filesystems and no 9p/9pnet module to load): mount -t 9p cannot run here")
	}
	// Not run on the machine this was written on (no 9p there): the
	// kernel's unix transport takes the socket path as the source.
	fixture.RequireRoot(t)
	sock, finish := ext2Export(t)
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "9p", "-o", "trans=unix,version=9p2000.L,access=user", sock, mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount -t 9p: %v\n%s", err, out)
	}
	unmounted := false
	t.Cleanup(func() {
		if !unmounted {
			exec.Command("umount", "-l", mnt).Run()
		}
	})
	data := pattern("kernel", 100000)
	if err := os.MkdirAll(filepath.Join(mnt, "k/d"), 0755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mnt, "k/d/f"), data, 0644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("d/f", filepath.Join(mnt, "k/l")); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(mnt, "k/l")); err != nil || !bytes.Equal(got, data) {
		t.Errorf("read back through the kernel: %d bytes, %v", len(got), err)
	}
	if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
		t.Errorf("umount: %v %s", err, out)
	} else {
		unmounted = true
	}
	finish()
}

// On TCP root is squashed by default: a client naming no user (or root)
// works as the anonymous user 65534; a uid map and no_root_squash apply.
func TestTCPSquash(t *testing.T) {
	m := memfs.New()
	root, _ := m.Root()
	vfs.VOP_SETATTR(m, root, &vfs.SetAttr{Valid: vfs.SetMode, Mode: 0777})
	serve := func(opts Options) string {
		l, err := Listen("tcp://127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- ServeListener(ctx, l, m, opts) }()
		t.Cleanup(func() { cancel(); <-done })
		return l.Addr().String()
	}
	owner := func(addr, name string) uint32 {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c, err := p9.NewClient(nc)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		r, err := c.Attach("")
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if _, err := r.Mkdir(name, 0755, p9.NoUID, p9.NoGID); err != nil {
			t.Fatalf("mkdir %s: %v", name, err)
		}
		_, d, err := r.Walk([]string{name})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		_, _, a, _ := d.GetAttr(p9.AttrMaskAll)
		return uint32(a.UID)
	}
	if u := owner(serve(Options{}), "a"); u != 65534 {
		t.Errorf("TCP default: made by uid %d, want 65534", u)
	}
	anon := uint32(4242)
	if u := owner(serve(Options{AnonUID: &anon}), "b"); u != 4242 {
		t.Errorf("anonuid 4242: made by uid %d", u)
	}
	// p9's client attaches as "nobody in particular" (NoUID); a uid map
	// entry for it names who that is, and SquashNone keeps it.
	if u := owner(serve(Options{Squash: SquashNone, UIDMap: map[uint32]uint32{uint32(p9.NoUID): 1000}}), "c"); u != 1000 {
		t.Errorf("mapped: made by uid %d, want 1000", u)
	}
	if _, _, err := ParseAddr("5640"); err != nil {
		t.Error(err)
	}
}

// A directory read in small pieces resumes from the file system's own
// cookies and lists every name exactly once.
func TestReaddirPaging(t *testing.T) {
	m := memfs.New()
	sock := serveTest(t, m, Options{})
	c, root, _ := dial(t, sock)
	defer c.Close()
	defer root.Close()
	mkdir(t, root, "many")
	want := []string{}
	for i := 0; i < 500; i++ {
		n := fmt.Sprintf("entry-with-a-longish-name-%04d", i)
		writeFile(t, root, "many/"+n, nil, 0644)
		want = append(want, n)
	}
	d, _ := walkTo(root, "many")
	defer d.Close()
	d.Open(p9.ReadOnly)
	seen := map[string]int{}
	var off uint64
	for {
		ents, err := d.Readdir(off, 200) // a handful of entries per call
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) == 0 {
			break
		}
		for _, e := range ents {
			seen[e.Name]++
			off = e.Offset
		}
	}
	for _, n := range want {
		if seen[n] != 1 {
			t.Errorf("%s listed %d times", n, seen[n])
		}
	}
}
