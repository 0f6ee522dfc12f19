package ukfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/rumpfs/rumpfs/internal/memfs"
)

func memFS(t *testing.T, opts ...Option) (*FS, *memfs.FS) {
	t.Helper()
	m := memfs.New()
	f, err := FromMount("mem.img", m, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Unmount() })
	return f, m
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// populate writes a small tree with every kind of file io/fs can see.
func populate(t *testing.T, f *FS) {
	check(t, f.MkdirAll("/a/b/c", 0755))
	check(t, f.WriteFile("/a/hello.txt", []byte("hello, world\n"), 0644))
	check(t, f.WriteFile("/a/b/c/deep", []byte("deep"), 0600))
	check(t, f.WriteFile("/empty", nil, 0644))
	check(t, f.Symlink("hello.txt", "/a/link"))
	check(t, f.Link("/a/hello.txt", "/hard"))
	check(t, f.Mkdir("/emptydir", 0700))
	check(t, f.Mknod("/fifo", syscall.S_IFIFO|0644, 0))
}

func TestFSMemfs(t *testing.T) {
	f, _ := memFS(t)
	populate(t, f)
	if err := fstest.TestFS(f, "a/hello.txt", "a/b/c/deep", "empty", "a/link", "hard", "emptydir"); err != nil {
		t.Fatal(err)
	}
}

func TestErrors(t *testing.T) {
	f, _ := memFS(t)
	_, err := f.Stat("/etc/passwd")
	if err == nil || err.Error() != "stat mem.img: /etc/passwd: no such file or directory" {
		t.Fatalf("error: %v", err)
	}
	if Message(err) != "mem.img: /etc/passwd: no such file or directory" {
		t.Fatalf("message: %q", Message(err))
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Err != syscall.ENOENT || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error chain: %#v", err)
	}
	if _, err := f.Open("/abs"); !errors.Is(err, fs.ErrInvalid) {
		t.Fatalf("io/fs Open of a rooted name: %v", err)
	}
	if _, err := f.Open("missing"); err == nil || err.Error() != "open missing: no such file or directory" {
		t.Fatalf("io/fs error: %v", err)
	}
	err = f.Rename("/x", "/y")
	if Message(err) != "mem.img: /x -> /y: no such file or directory" {
		t.Fatalf("rename: %q", Message(err))
	}
}

func TestWritePaths(t *testing.T) {
	f, _ := memFS(t)
	w, err := f.Create("/f")
	check(t, err)
	_, err = w.WriteString("0123456789")
	check(t, err)
	_, err = w.WriteAt([]byte("AB"), 2)
	check(t, err)
	if _, err := w.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(w)
	if string(b) != "01AB456789" {
		t.Fatalf("content %q", b)
	}
	check(t, w.Truncate(4))
	check(t, w.Sync())
	check(t, w.Close())
	if err := w.Close(); !errors.Is(err, fs.ErrClosed) {
		t.Fatalf("double close: %v", err)
	}
	if b, _ := f.ReadFile("f"); string(b) != "01AB" {
		t.Fatalf("after truncate %q", b)
	}
	fi, _ := f.Stat("/f")
	if fi.Mode() != 0644 || fi.Size() != 4 {
		t.Fatalf("create mode %v size %d", fi.Mode(), fi.Size())
	}
	if _, err := f.OpenFile("/f", os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0644); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("O_EXCL: %v", err)
	}
	check(t, f.Rename("/f", "/g"))
	if _, err := f.Stat("/f"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("rename left old name")
	}
	when := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	check(t, f.Chtimes("/g", when, when))
	check(t, f.Chown("/g", 5, 6))
	check(t, f.Chmod("/g", 0600|fs.ModeSetuid))
	fi, _ = f.Stat("/g")
	st := fi.Sys().(*Stat)
	if !fi.ModTime().Equal(when) || !st.Atime.Equal(when) || st.Uid != 5 || st.Gid != 6 || fi.Mode() != 0600|fs.ModeSetuid {
		t.Fatalf("attrs: %v %+v", fi, st)
	}
	check(t, f.MkdirAll("/x/y/z", 0755))
	check(t, f.WriteFile("/x/y/z/file", []byte("1"), 0644))
	check(t, f.Chdir("/x/y"))
	if b, err := f.ReadFileAt("z/file"); err != nil || string(b) != "1" {
		t.Fatalf("relative: %q %v", b, err)
	}
	check(t, f.Chdir("/"))
	if err := f.Remove("/x"); !errors.Is(err, syscall.ENOTEMPTY) {
		t.Fatalf("remove non-empty: %v", err)
	}
	check(t, f.RemoveAll("/x"))
	check(t, f.RemoveAll("/x"))
	if _, err := f.Stat("/x"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("RemoveAll left /x")
	}
	check(t, f.Setxattr("/g", "user.k", []byte("v"), 0))
	if v, err := f.Getxattr("/g", "user.k"); string(v) != "v" || err != nil {
		t.Fatalf("xattr %q %v", v, err)
	}
	if names, _ := f.Listxattr("/g"); len(names) != 1 {
		t.Fatalf("listxattr %v", names)
	}
	check(t, f.Sync())
	if st, err := f.Statfs(); err != nil || st.Bsize == 0 {
		t.Fatalf("statfs %+v %v", st, err)
	}
}

func TestNonRoot(t *testing.T) {
	m := memfs.New()
	root, err := FromMount("mem.img", m)
	check(t, err)
	check(t, root.Mkdir("/home", 0755))
	check(t, root.Mkdir("/home/u", 0755))
	check(t, root.Chown("/home/u", 1000, 1000))
	check(t, root.WriteFile("/secret", []byte("s"), 0600))
	k := root.MountPoint().Kernel()
	u, err := FromMount("mem.img", m, Kernel(k), Cred(1000, 1000), Umask(027))
	check(t, err)
	defer root.Unmount()
	if _, err := u.ReadFile("secret"); !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("read 0600 of root: %v", err)
	}
	if err := u.WriteFile("/x", nil, 0644); !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("create in /: %v", err)
	}
	check(t, u.WriteFile("/home/u/mine", []byte("m"), 0666))
	fi, _ := u.Stat("/home/u/mine")
	if fi.Mode() != 0640 || fi.Sys().(*Stat).Uid != 1000 {
		t.Fatalf("umask/owner: %v", fi)
	}
	if err := u.Chown("/home/u/mine", 0, -1); !errors.Is(err, syscall.EPERM) {
		t.Fatalf("give away: %v", err)
	}
}

func TestReadOnly(t *testing.T) {
	f, m := memFS(t)
	populate(t, f)
	m.SetReadOnly(true)
	for name, err := range map[string]error{
		"create": func() error { _, err := f.Create("/new"); return err }(),
		"mkdir":  f.Mkdir("/d", 0755),
		"remove": f.Remove("/a/hello.txt"),
		"rename": f.Rename("/empty", "/e2"),
		"chmod":  f.Chmod("/empty", 0600),
		"write":  f.WriteFile("/empty", []byte("x"), 0644),
	} {
		if !errors.Is(err, syscall.EROFS) {
			t.Errorf("%s: got %v, want EROFS", name, err)
		}
	}
	if err := fstest.TestFS(f, "a/hello.txt"); err != nil {
		t.Fatal(err)
	}
}
