package kern

import (
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/rumpfs/rumpfs/internal/memfs"
	"github.com/rumpfs/rumpfs/vfs"
)

// countFS wraps memfs so that every vnode handed out is counted and every
// Rele given back; a leak or a double Rele in kern shows as a non-zero
// balance.
type countFS struct {
	*memfs.FS
	refs atomic.Int64
}

type cvn struct {
	vfs.Vnode
	fs *countFS
}

func (c *countFS) wrap(vn vfs.Vnode, err error) (vfs.Vnode, error) {
	if err != nil {
		return nil, err
	}
	c.refs.Add(1)
	return &cvn{vn, c}, nil
}

func unwrap(vn vfs.Vnode) vfs.Vnode {
	if c, ok := vn.(*cvn); ok {
		return c.Vnode
	}
	return vn
}

func (c *countFS) Root() (vfs.Vnode, error) { return c.wrap(c.FS.Root()) }
func (v *cvn) Rele()                        { v.fs.refs.Add(-1); v.Vnode.Rele() }
func (v *cvn) Lookup(n string) (vfs.Vnode, error) {
	return v.fs.wrap(v.Vnode.Lookup(n))
}
func (v *cvn) Write(p []byte, off int64) (int, error) { return v.Vnode.(vfs.Writer).Write(p, off) }
func (v *cvn) Setattr(sa *vfs.SetAttr) error          { return v.Vnode.(vfs.Setattrer).Setattr(sa) }
func (v *cvn) Create(c *vfs.Cred, n string, m uint32) (vfs.Vnode, error) {
	return v.fs.wrap(v.Vnode.(vfs.Creator).Create(c, n, m))
}
func (v *cvn) Mkdir(c *vfs.Cred, n string, m uint32) (vfs.Vnode, error) {
	return v.fs.wrap(v.Vnode.(vfs.Mkdirer).Mkdir(c, n, m))
}
func (v *cvn) Mknod(c *vfs.Cred, n string, m uint32, r uint64) (vfs.Vnode, error) {
	return v.fs.wrap(v.Vnode.(vfs.Mknoder).Mknod(c, n, m, r))
}
func (v *cvn) Symlink(c *vfs.Cred, n, t string) (vfs.Vnode, error) {
	return v.fs.wrap(v.Vnode.(vfs.Symlinker).Symlink(c, n, t))
}
func (v *cvn) Link(n string, t vfs.Vnode) error { return v.Vnode.(vfs.Linker).Link(n, unwrap(t)) }
func (v *cvn) Remove(n string) error            { return v.Vnode.(vfs.Remover).Remove(n) }
func (v *cvn) Rmdir(n string) error             { return v.Vnode.(vfs.Remover).Rmdir(n) }
func (v *cvn) Rename(o string, d vfs.Vnode, n string) error {
	return v.Vnode.(vfs.Renamer).Rename(o, unwrap(d), n)
}

func TestReferencesBalance(t *testing.T) {
	c := &countFS{FS: memfs.New()}
	mp := New().MountVFS("count", c)
	p, err := mp.NewProc(nil)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := mp.NewProc(&vfs.Cred{Uid: 7, Gid: 7})
	// Every call, successful or not, on a small tree.
	p.Mkdir("/d", 0755)
	p.Mkdir("/d/e", 0755)
	fd, _ := p.Open("/d/f", syscall.O_CREAT|syscall.O_RDWR, 0644)
	p.Write(fd, []byte("x"))
	p.Open("/d/f", syscall.O_CREAT|syscall.O_EXCL, 0644)
	p.Open("/d", syscall.O_WRONLY, 0)
	p.Symlink("f", "/d/l")
	p.Symlink("nowhere", "/dl")
	fd2, _ := p.Open("/dl", syscall.O_CREAT|syscall.O_WRONLY, 0644)
	p.Close(fd2)
	p.Open("/d/l", syscall.O_RDONLY|syscall.O_NOFOLLOW, 0)
	p.Stat("/d/l")
	p.Lstat("/d/l")
	p.Stat("/missing/x")
	p.Readlink("/d/l")
	p.Link("/d/f", "/d/g")
	p.Link("/d", "/d2")
	p.Rename("/d/g", "/d/e/g")
	p.Rename("/d", "/d/e/x")
	p.Rename("/d/e", "/d/e2")
	p.Rename("/d/f", "/d/e2")
	p.Rmdir("/d")
	p.Rmdir("/d/.")
	p.Unlink("/d/e2/g")
	p.Unlink("/d")
	p.Chmod("/d/f", 0600)
	p.Chown("/d/f", 1, 1)
	p.Utimes("/d/f", UtimeNow, UtimeNow)
	p.Truncate("/d/f", 0)
	p.Mknod("/d/p", vfs.S_IFIFO|0644, 0)
	p.Setxattr("/d/f", "user.a", []byte("1"), 0)
	p.Getxattr("/d/f", "user.a")
	p.Listxattr("/d/f")
	p.Access("/d/f", vfs.AccessRead)
	p.Statvfs("/")
	p.Chdir("/d")
	p.Chdir("/d/f")
	p.Stat("f")
	u.Unlink("/d/f")
	u.Open("/d/f", syscall.O_WRONLY, 0)
	dfd, _ := p.Open("/d", syscall.O_RDONLY, 0)
	p.Getdents(dfd, 0)
	p.Fchdir(dfd)
	p.Ftruncate(fd, 0)
	p.Fsync(fd)
	p.Close(dfd)
	p.Close(fd)
	if c.refs.Load() != 4 { // root and cwd of two processes
		t.Fatalf("live processes hold %d references, want 4", c.refs.Load())
	}
	u.Exit()
	p.Exit()
	if n := c.refs.Load(); n != 0 {
		t.Fatalf("vnode references out of balance by %d", n)
	}
}
