package p2k

import (
	"sync/atomic"

	"github.com/rumpfs/rumpfs/internal/memfs"
	"github.com/rumpfs/rumpfs/vfs"
)

// countFS wraps memfs so that every vnode reference handed out is a
// distinct object, counted: refs must equal the bridge's node count while
// serving and fall to zero at unmount, and no reference may be given back
// twice.
type countFS struct {
	*memfs.FS
	refs  atomic.Int64
	bad   atomic.Int64 // Rele on a reference already given back
	syncs atomic.Int64
}

func (c *countFS) Sync() error {
	c.syncs.Add(1)
	return c.FS.Sync()
}

func newCountFS() *countFS { return &countFS{FS: memfs.New()} }

type cvn struct {
	vfs.Vnode
	fs   *countFS
	gone atomic.Bool
}

func (c *countFS) wrap(vn vfs.Vnode, err error) (vfs.Vnode, error) {
	if err != nil || vn == nil {
		return vn, err
	}
	c.refs.Add(1)
	return &cvn{Vnode: vn, fs: c}, nil
}

func unwrap(vn vfs.Vnode) vfs.Vnode {
	if c, ok := vn.(*cvn); ok {
		return c.Vnode
	}
	return vn
}

func (c *countFS) Root() (vfs.Vnode, error) { return c.wrap(c.FS.Root()) }

func (v *cvn) Rele() {
	if v.gone.Swap(true) {
		v.fs.bad.Add(1)
		return
	}
	v.fs.refs.Add(-1)
	v.Vnode.Rele()
}

func (v *cvn) Lookup(name string) (vfs.Vnode, error) { return v.fs.wrap(v.Vnode.Lookup(name)) }

func (v *cvn) Write(p []byte, off int64) (int, error) { return v.Vnode.(vfs.Writer).Write(p, off) }
func (v *cvn) Setattr(sa *vfs.SetAttr) error          { return v.Vnode.(vfs.Setattrer).Setattr(sa) }
func (v *cvn) Create(cred *vfs.Cred, name string, mode uint32) (vfs.Vnode, error) {
	return v.fs.wrap(v.Vnode.(vfs.Creator).Create(cred, name, mode))
}
func (v *cvn) Mknod(cred *vfs.Cred, name string, mode uint32, rdev uint64) (vfs.Vnode, error) {
	return v.fs.wrap(v.Vnode.(vfs.Mknoder).Mknod(cred, name, mode, rdev))
}
func (v *cvn) Mkdir(cred *vfs.Cred, name string, mode uint32) (vfs.Vnode, error) {
	return v.fs.wrap(v.Vnode.(vfs.Mkdirer).Mkdir(cred, name, mode))
}
func (v *cvn) Symlink(cred *vfs.Cred, name, target string) (vfs.Vnode, error) {
	return v.fs.wrap(v.Vnode.(vfs.Symlinker).Symlink(cred, name, target))
}
func (v *cvn) Link(name string, target vfs.Vnode) error {
	return v.Vnode.(vfs.Linker).Link(name, unwrap(target))
}
func (v *cvn) Remove(name string) error { return v.Vnode.(vfs.Remover).Remove(name) }
func (v *cvn) Rmdir(name string) error  { return v.Vnode.(vfs.Remover).Rmdir(name) }
func (v *cvn) Rename(oldName string, newDir vfs.Vnode, newName string) error {
	return v.Vnode.(vfs.Renamer).Rename(oldName, unwrap(newDir), newName)
}
func (v *cvn) Getxattr(name string) ([]byte, error) { return v.Vnode.(vfs.Xattrer).Getxattr(name) }
func (v *cvn) Listxattr() ([]string, error)         { return v.Vnode.(vfs.Xattrer).Listxattr() }
func (v *cvn) Setxattr(name string, value []byte, flags int) error {
	return v.Vnode.(vfs.XattrSetter).Setxattr(name, value, flags)
}
func (v *cvn) Removexattr(name string) error { return v.Vnode.(vfs.XattrSetter).Removexattr(name) }
