package kern

import (
	"bytes"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/rumpfs/rumpfs/internal/memfs"
	"github.com/rumpfs/rumpfs/vfs"
)

func newProc(t *testing.T, cred *vfs.Cred) (*Proc, *memfs.FS, *MountPoint) {
	t.Helper()
	m := memfs.New()
	k := New()
	mp := k.MountVFS("mem", m)
	p, err := mp.NewProc(cred)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mp.Unmount() })
	return p, m, mp
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
	if _, ok := err.(syscall.Errno); !ok {
		t.Fatalf("%s: error %T is not a syscall.Errno", what, err)
	}
}

func TestOpenCreateReadWrite(t *testing.T) {
	p, _, _ := newProc(t, nil)
	fd, err := p.Open("/f", syscall.O_CREAT|syscall.O_RDWR|syscall.O_EXCL, 0666)
	wantErr(t, "create", err, nil)
	if n, err := p.Write(fd, []byte("hello world")); n != 11 || err != nil {
		t.Fatalf("write: %d %v", n, err)
	}
	if off, _ := p.Lseek(fd, 6, SeekSet); off != 6 {
		t.Fatal(off)
	}
	b := make([]byte, 10)
	n, err := p.Read(fd, b)
	if string(b[:n]) != "world" || err != nil {
		t.Fatalf("read %q %v", b[:n], err)
	}
	if n, err := p.Read(fd, b); n != 0 || err != nil {
		t.Fatalf("read at EOF: %d %v", n, err)
	}
	p.Close(fd)
	wantErr(t, "close twice", p.Close(fd), syscall.EBADF)

	a, err := p.Stat("/f")
	if err != nil || a.Mode != vfs.S_IFREG|0644 || a.Size != 11 {
		t.Fatalf("stat: %+v %v (umask 022 must apply)", a, err)
	}
	_, err = p.Open("/f", syscall.O_CREAT|syscall.O_EXCL|syscall.O_WRONLY, 0666)
	wantErr(t, "O_EXCL on existing", err, syscall.EEXIST)

	fd, _ = p.Open("f", syscall.O_WRONLY|syscall.O_APPEND, 0)
	p.Write(fd, []byte("!"))
	p.Pwrite(fd, []byte("?"), 0) // appends too, as Linux
	p.Close(fd)
	fd, _ = p.Open("f", syscall.O_RDONLY, 0)
	n, _ = p.Pread(fd, b[:], 9)
	if string(b[:n]) != "ld!?" {
		t.Fatalf("append: %q", b[:n])
	}
	_, err = p.Write(fd, []byte("x"))
	wantErr(t, "write on O_RDONLY", err, syscall.EBADF)
	p.Close(fd)

	fd, _ = p.Open("f", syscall.O_RDWR|syscall.O_TRUNC, 0)
	if a, _ := p.Fstat(fd); a.Size != 0 {
		t.Fatalf("O_TRUNC left size %d", a.Size)
	}
	p.Close(fd)
}

func TestOpenErrors(t *testing.T) {
	p, _, _ := newProc(t, nil)
	wantErr(t, "mkdir", p.Mkdir("/d", 0755), nil)
	wantErr(t, "symlink", p.Symlink("d", "/l"), nil)
	wantErr(t, "dangling", p.Symlink("nowhere", "/dl"), nil)
	_, err := p.Open("/d", syscall.O_WRONLY, 0)
	wantErr(t, "dir for write", err, syscall.EISDIR)
	_, err = p.Open("/d", syscall.O_RDONLY|syscall.O_TRUNC, 0)
	wantErr(t, "dir O_TRUNC", err, syscall.EISDIR)
	_, err = p.Open("/l", syscall.O_RDONLY|syscall.O_NOFOLLOW, 0)
	wantErr(t, "O_NOFOLLOW", err, syscall.ELOOP)
	fd, err := p.Open("/l", syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	wantErr(t, "dir through symlink", err, nil)
	p.Close(fd)
	p.Creat("/file", 0644)
	_, err = p.Open("/file", syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	wantErr(t, "O_DIRECTORY", err, syscall.ENOTDIR)
	_, err = p.Open("/file/x", syscall.O_RDONLY, 0)
	wantErr(t, "file as dir", err, syscall.ENOTDIR)
	_, err = p.Open("/missing", syscall.O_RDONLY, 0)
	wantErr(t, "missing", err, syscall.ENOENT)
	_, err = p.Open("/new/", syscall.O_CREAT|syscall.O_WRONLY, 0644)
	wantErr(t, "create with slash", err, syscall.EISDIR)
	// O_CREAT through a dangling symlink creates the target.
	fd, err = p.Open("/dl", syscall.O_CREAT|syscall.O_WRONLY, 0644)
	wantErr(t, "create via dangling link", err, nil)
	p.Close(fd)
	if _, err := p.Stat("/nowhere"); err != nil {
		t.Fatal("target not created:", err)
	}
	_, err = p.Open("/dl", syscall.O_CREAT|syscall.O_EXCL|syscall.O_WRONLY, 0644)
	wantErr(t, "O_EXCL on symlink", err, syscall.EEXIST)
	_, err = p.Read(99, nil)
	wantErr(t, "bad fd", err, syscall.EBADF)
	fd, _ = p.Open("/d", syscall.O_RDONLY, 0)
	_, err = p.Read(fd, make([]byte, 4))
	wantErr(t, "read dir", err, syscall.EISDIR)
	p.Close(fd)
}

func TestNamespace(t *testing.T) {
	p, _, _ := newProc(t, nil)
	must := func(what string, err error) { t.Helper(); wantErr(t, what, err, nil) }
	must("mkdir a", p.Mkdir("/a", 0755))
	must("mkdir a/b", p.Mkdir("/a/b", 0755))
	wantErr(t, "mkdir exists", p.Mkdir("/a", 0755), syscall.EEXIST)
	wantErr(t, "mkdir .", p.Mkdir("/a/.", 0755), syscall.EEXIST)
	wantErr(t, "rmdir .", p.Rmdir("/a/."), syscall.EINVAL)
	wantErr(t, "rmdir ..", p.Rmdir("/a/b/.."), syscall.ENOTEMPTY)
	wantErr(t, "rmdir /", p.Rmdir("/"), syscall.EBUSY)
	wantErr(t, "rmdir nonempty", p.Rmdir("/a"), syscall.ENOTEMPTY)
	wantErr(t, "unlink dir", p.Unlink("/a"), syscall.EISDIR)
	wantErr(t, "dir into itself", p.Rename("/a", "/a/b/c"), syscall.EINVAL)
	wantErr(t, "rename .", p.Rename("/a/.", "/x"), syscall.EBUSY)
	fd, _ := p.Creat("/a/f", 0644)
	p.Write(fd, []byte("data"))
	p.Close(fd)
	wantErr(t, "rmdir file", p.Rmdir("/a/f"), syscall.ENOTDIR)
	wantErr(t, "file over dir", p.Rename("/a/f", "/a/b"), syscall.EISDIR)
	wantErr(t, "dir over file", p.Rename("/a/b", "/a/f"), syscall.ENOTDIR)
	must("mkdir c", p.Mkdir("/c", 0755))
	must("mkdir c/x", p.Mkdir("/c/x", 0755))
	wantErr(t, "dir over nonempty", p.Rename("/a/b", "/c"), syscall.ENOTEMPTY)
	must("rename dir", p.Rename("/a/b", "/c/x"))
	must("rename file", p.Rename("/a/f", "/g"))
	must("link", p.Link("/g", "/a/h"))
	wantErr(t, "link exists", p.Link("/g", "/a/h"), syscall.EEXIST)
	wantErr(t, "link dir", p.Link("/a", "/a2"), syscall.EPERM)
	if a, _ := p.Stat("/a/h"); a.Nlink != 2 || a.Size != 4 {
		t.Fatalf("link: %+v", a)
	}
	must("rename same file", p.Rename("/g", "/a/h"))
	must("unlink", p.Unlink("/g"))
	wantErr(t, "unlink again", p.Unlink("/g"), syscall.ENOENT)
	must("symlink", p.Symlink("a/h", "/s"))
	if s, err := p.Readlink("/s"); s != "a/h" || err != nil {
		t.Fatalf("readlink %q %v", s, err)
	}
	wantErr(t, "readlink file", func() error { _, err := p.Readlink("/a/h"); return err }(), syscall.EINVAL)
	if a, _ := p.Lstat("/s"); a.Type() != vfs.S_IFLNK {
		t.Fatalf("lstat: %o", a.Mode)
	}
	if a, _ := p.Stat("/s"); a.Type() != vfs.S_IFREG {
		t.Fatalf("stat: %o", a.Mode)
	}
	must("chdir", p.Chdir("/a"))
	if a, err := p.Stat("h"); err != nil || a.Size != 4 {
		t.Fatalf("relative stat: %v", err)
	}
	wantErr(t, "chdir file", p.Chdir("h"), syscall.ENOTDIR)
	must("truncate", p.Truncate("h", 2))
	if a, _ := p.Stat("h"); a.Size != 2 {
		t.Fatal(a.Size)
	}
	must("mknod fifo", p.Mknod("/fifo", vfs.S_IFIFO|0644, 0))
	fd, err := p.Open("/fifo", syscall.O_RDWR, 0)
	wantErr(t, "open fifo", err, nil)
	_, err = p.Write(fd, []byte("x"))
	wantErr(t, "write fifo", err, syscall.ENXIO)
	p.Close(fd)

	// Getdents with cookies, in chunks.
	for _, n := range []string{"1", "2", "3", "4", "5"} {
		fd, _ := p.Creat("/c/"+n, 0644)
		p.Close(fd)
	}
	fd, _ = p.Open("/c", syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	var names []string
	for {
		ents, err := p.Getdents(fd, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) == 0 {
			break
		}
		for _, e := range ents {
			names = append(names, e.Name)
		}
	}
	p.Close(fd)
	if got := len(names); got != 8 { // . .. x 1..5
		t.Fatalf("getdents: %v", names)
	}
}

func TestPermissions(t *testing.T) {
	p, _, mp := newProc(t, nil)
	p.Mkdir("/pub", 0777)
	p.Chmod("/pub", 0777|vfs.S_ISVTX)
	p.Mkdir("/priv", 0700)
	fd, _ := p.Creat("/ro", 0444)
	p.Close(fd)
	fd, _ = p.Creat("/pub/rootfile", 0666)
	p.Chmod("/pub/rootfile", 0666)
	p.Close(fd)

	u, err := mp.NewProc(&vfs.Cred{Uid: 1000, Gid: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Exit()
	u.Umask(077)
	_, err = u.Open("/ro", syscall.O_WRONLY, 0)
	wantErr(t, "write 0444", err, syscall.EACCES)
	_, err = u.Open("/ro", syscall.O_RDONLY|syscall.O_TRUNC, 0)
	wantErr(t, "O_TRUNC needs write", err, syscall.EACCES)
	_, err = u.Stat("/priv/x")
	wantErr(t, "search 0700", err, syscall.EACCES)
	wantErr(t, "mkdir in /", u.Mkdir("/mine", 0777), syscall.EACCES)
	wantErr(t, "chmod not owner", u.Chmod("/ro", 0777), syscall.EPERM)
	wantErr(t, "chown", u.Chown("/ro", 1000, -1), syscall.EPERM)
	wantErr(t, "sticky", u.Unlink("/pub/rootfile"), syscall.EPERM)
	wantErr(t, "sticky rename", u.Rename("/pub/rootfile", "/pub/x"), syscall.EPERM)
	fd, err = u.Open("/pub/mine", syscall.O_CREAT|syscall.O_WRONLY, 0666)
	wantErr(t, "create in sticky", err, nil)
	u.Close(fd)
	a, _ := u.Stat("/pub/mine")
	if a.Mode != vfs.S_IFREG|0600 || a.Uid != 1000 || a.Gid != 1000 {
		t.Fatalf("new file: mode %o uid %d gid %d", a.Mode, a.Uid, a.Gid)
	}
	wantErr(t, "chmod own", u.Chmod("/pub/mine", 0640), nil)
	wantErr(t, "chown to other", u.Chown("/pub/mine", 0, -1), syscall.EPERM)
	wantErr(t, "utimes now", u.Utimes("/pub/rootfile", UtimeNow, UtimeNow), nil)
	when := time.Unix(1e9, 0)
	wantErr(t, "utimes explicit", u.Utimes("/pub/rootfile", Timespec{Time: when}, Timespec{Time: when}), syscall.EPERM)
	wantErr(t, "utimes own", u.Utimes("/pub/mine", UtimeOmit, Timespec{Time: when}), nil)
	if a, _ := u.Stat("/pub/mine"); !a.Mtime.Equal(when) {
		t.Fatalf("mtime %v", a.Mtime)
	}
	wantErr(t, "access W", u.Access("/ro", vfs.AccessWrite), syscall.EACCES)
	wantErr(t, "access R", u.Access("/ro", vfs.AccessRead), nil)
	wantErr(t, "unlink own", u.Unlink("/pub/mine"), nil)
	wantErr(t, "setxattr user", u.Setxattr("/ro", "user.x", []byte("1"), 0), syscall.EACCES)
	wantErr(t, "setxattr trusted", p.Setxattr("/ro", "trusted.x", []byte("1"), 0), nil)
	if names, _ := u.Listxattr("/ro"); len(names) != 0 {
		t.Fatalf("non-root sees %v", names)
	}
}

func TestReadOnlyMount(t *testing.T) {
	p, m, mp := newProc(t, nil)
	fd, _ := p.Creat("/f", 0644)
	p.Write(fd, []byte("x"))
	p.Close(fd)
	p.Mkdir("/d", 0755)
	m.SetReadOnly(true)
	if !mp.ReadOnly() {
		t.Fatal("mount not read-only")
	}
	erofs := syscall.EROFS
	_, err := p.Open("/f", syscall.O_WRONLY, 0)
	wantErr(t, "open write", err, erofs)
	_, err = p.Open("/g", syscall.O_CREAT|syscall.O_WRONLY, 0644)
	wantErr(t, "create", err, erofs)
	fd, err = p.Open("/f", syscall.O_CREAT|syscall.O_RDONLY, 0644)
	wantErr(t, "O_CREAT on existing, read-only", err, nil)
	p.Close(fd)
	wantErr(t, "mkdir", p.Mkdir("/e", 0755), erofs)
	wantErr(t, "mkdir existing", p.Mkdir("/d", 0755), syscall.EEXIST)
	wantErr(t, "rmdir", p.Rmdir("/d"), erofs)
	wantErr(t, "unlink", p.Unlink("/f"), erofs)
	wantErr(t, "unlink missing", p.Unlink("/nope"), syscall.ENOENT)
	wantErr(t, "rename", p.Rename("/f", "/g"), erofs)
	wantErr(t, "link", p.Link("/f", "/g"), erofs)
	wantErr(t, "symlink", p.Symlink("f", "/g"), erofs)
	wantErr(t, "chmod", p.Chmod("/f", 0600), erofs)
	wantErr(t, "chown", p.Chown("/f", 1, 1), erofs)
	wantErr(t, "utimes", p.Utimes("/f", UtimeNow, UtimeNow), erofs)
	wantErr(t, "truncate", p.Truncate("/f", 0), erofs)
	wantErr(t, "mknod", p.Mknod("/n", vfs.S_IFIFO|0644, 0), erofs)
	wantErr(t, "setxattr", p.Setxattr("/f", "user.a", nil, 0), erofs)
	wantErr(t, "removexattr", p.Removexattr("/f", "user.a"), erofs)
	wantErr(t, "access W", p.Access("/f", vfs.AccessWrite), erofs)
	fd, _ = p.Open("/f", syscall.O_RDONLY, 0)
	b := make([]byte, 4)
	if n, _ := p.Read(fd, b); !bytes.Equal(b[:n], []byte("x")) {
		t.Fatal("read on read-only mount")
	}
	p.Close(fd)
}

func TestUnmountClosesProcs(t *testing.T) {
	p, _, mp := newProc(t, nil)
	fd, _ := p.Creat("/f", 0644)
	if err := mp.Unmount(); err != nil {
		t.Fatal(err)
	}
	_, err := p.Write(fd, []byte("x"))
	wantErr(t, "write after unmount", err, syscall.EBADF)
	_, err = p.Stat("/")
	wantErr(t, "stat after unmount", err, syscall.EIO)
	if len(mp.Kernel().Mounts()) != 0 {
		t.Fatal("mount still listed")
	}
}
