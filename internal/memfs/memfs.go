// Package memfs is a small in-memory file system implementing every vfs
// interface, in the manner of NetBSD's tmpfs. It exists to test the layers
// above vfs (kern, p2k, ukfs) on write paths before a disk format supports
// them, and as the reference a disk file system's behaviour can be compared
// with. It is not registered and has no device.
package memfs

import (
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/rumpfs/rumpfs/vfs"
)

// FS is a mounted memfs.
type FS struct {
	mu      sync.RWMutex
	nextIno uint64
	root    *node
	ro      bool
	now     func() time.Time
}

type node struct {
	fs     *FS
	attr   vfs.Attr
	data   []byte
	target string
	// Directory entries, and the cookie order they were made in.
	ents   map[string]*node
	order  []dent
	parent *node
	xattr  map[string][]byte
}

type dent struct {
	name   string
	cookie uint64
}

var _ vfs.Mount = (*FS)(nil)

// New makes an empty file system whose root is owned by root with mode 0755.
func New() *FS {
	fs := &FS{nextIno: 2, now: time.Now}
	fs.root = fs.newNode(vfs.S_IFDIR|0755, vfs.RootCred)
	fs.root.parent = fs.root
	fs.root.attr.Nlink = 2
	return fs
}

// SetReadOnly makes the mount refuse changes with EROFS.
func (fs *FS) SetReadOnly(ro bool) { fs.ro = ro }

func (fs *FS) newNode(mode uint32, cred *vfs.Cred) *node {
	t := fs.now()
	n := &node{fs: fs, attr: vfs.Attr{
		Ino: fs.nextIno, Gen: 1, Mode: mode, Nlink: 1, Uid: cred.Uid, Gid: cred.Gid,
		Blksize: 4096, Atime: t, Mtime: t, Ctime: t, Btime: t,
	}}
	fs.nextIno++
	if mode&vfs.S_IFMT == vfs.S_IFDIR {
		n.ents = map[string]*node{}
	}
	return n
}

func (fs *FS) Root() (vfs.Vnode, error) { return fs.root, nil }
func (fs *FS) Sync() error              { return nil }
func (fs *FS) Unmount() error           { return nil }
func (fs *FS) ReadOnly() bool           { return fs.ro }
func (fs *FS) Info() vfs.Info           { return vfs.Info{Type: "memfs", Clean: true} }
func (fs *FS) Statfs() (vfs.StatFS, error) {
	return vfs.StatFS{Bsize: 4096, Frsize: 4096, Blocks: 1 << 20, Bfree: 1 << 19, Bavail: 1 << 19, Files: 1 << 20, Ffree: 1 << 19, Namemax: vfs.NameMax}, nil
}

func (n *node) Rele() {}

func (n *node) Getattr() (vfs.Attr, error) {
	n.fs.mu.RLock()
	defer n.fs.mu.RUnlock()
	a := n.attr
	a.Size = uint64(len(n.data))
	if a.Type() == vfs.S_IFLNK {
		a.Size = uint64(len(n.target))
	}
	a.Blocks = (a.Size + 511) / 512
	return a, nil
}

func (n *node) Lookup(name string) (vfs.Vnode, error) {
	n.fs.mu.RLock()
	defer n.fs.mu.RUnlock()
	if n.ents == nil {
		return nil, syscall.ENOTDIR
	}
	switch name {
	case ".":
		return n, nil
	case "..":
		return n.parent, nil
	}
	c, ok := n.ents[name]
	if !ok {
		return nil, syscall.ENOENT
	}
	return c, nil
}

func (n *node) Readdir(cookie uint64, fn func(vfs.Dirent) bool) error {
	n.fs.mu.RLock()
	if n.ents == nil {
		n.fs.mu.RUnlock()
		return syscall.ENOTDIR
	}
	ents := []vfs.Dirent{
		{Name: ".", Ino: n.attr.Ino, Type: vfs.DT_DIR, Next: 1},
		{Name: "..", Ino: n.parent.attr.Ino, Type: vfs.DT_DIR, Next: 2},
	}
	for _, d := range n.order {
		if c, ok := n.ents[d.name]; ok {
			ents = append(ents, vfs.Dirent{Name: d.name, Ino: c.attr.Ino, Type: vfs.DTType(c.attr.Mode), Next: d.cookie + 1})
		}
	}
	n.fs.mu.RUnlock()
	for i, e := range ents {
		prev := uint64(0)
		if i > 0 {
			prev = ents[i-1].Next
		}
		if prev < cookie {
			continue
		}
		if !fn(e) {
			break
		}
	}
	return nil
}

func (n *node) Read(p []byte, off int64) (int, error) {
	n.fs.mu.RLock()
	defer n.fs.mu.RUnlock()
	if n.ents != nil {
		return 0, syscall.EISDIR
	}
	if off < 0 {
		return 0, syscall.EINVAL
	}
	if off >= int64(len(n.data)) {
		return 0, nil
	}
	return copy(p, n.data[off:]), nil
}

func (n *node) Readlink() (string, error) {
	if n.attr.Type() != vfs.S_IFLNK {
		return "", syscall.EINVAL
	}
	return n.target, nil
}

func (n *node) wlock() error {
	if n.fs.ro {
		return syscall.EROFS
	}
	n.fs.mu.Lock()
	return nil
}

func (n *node) Write(p []byte, off int64) (int, error) {
	if err := n.wlock(); err != nil {
		return 0, err
	}
	defer n.fs.mu.Unlock()
	if n.ents != nil {
		return 0, syscall.EISDIR
	}
	if end := off + int64(len(p)); end > int64(len(n.data)) {
		n.data = append(n.data, make([]byte, end-int64(len(n.data)))...)
	}
	copy(n.data[off:], p)
	n.attr.Mtime = n.fs.now()
	n.attr.Ctime = n.attr.Mtime
	return len(p), nil
}

func (n *node) Setattr(sa *vfs.SetAttr) error {
	if err := n.wlock(); err != nil {
		return err
	}
	defer n.fs.mu.Unlock()
	if sa.Valid&vfs.SetMode != 0 {
		n.attr.Mode = n.attr.Mode&vfs.S_IFMT | sa.Mode&07777
	}
	if sa.Valid&vfs.SetUid != 0 {
		n.attr.Uid = sa.Uid
	}
	if sa.Valid&vfs.SetGid != 0 {
		n.attr.Gid = sa.Gid
	}
	if sa.Valid&vfs.SetSize != 0 {
		if n.ents != nil {
			return syscall.EISDIR
		}
		if sa.Size < uint64(len(n.data)) {
			n.data = n.data[:sa.Size]
		} else {
			n.data = append(n.data, make([]byte, sa.Size-uint64(len(n.data)))...)
		}
		n.attr.Mtime = n.fs.now()
	}
	if sa.Valid&vfs.SetAtime != 0 {
		n.attr.Atime = sa.Atime
	}
	if sa.Valid&vfs.SetMtime != 0 {
		n.attr.Mtime = sa.Mtime
	}
	if sa.Valid&vfs.SetFlags != 0 {
		n.attr.Flags = sa.Flags
	}
	n.attr.Ctime = n.fs.now()
	return nil
}

func (n *node) add(name string, c *node) {
	n.ents[name] = c
	var ck uint64 = 2
	if len(n.order) > 0 {
		ck = n.order[len(n.order)-1].cookie + 1
	}
	n.order = append(n.order, dent{name, ck})
	n.attr.Mtime = n.fs.now()
	n.attr.Ctime = n.attr.Mtime
}

func (n *node) drop(name string) {
	delete(n.ents, name)
	for i, d := range n.order {
		if d.name == name {
			n.order = append(n.order[:i], n.order[i+1:]...)
			break
		}
	}
	n.attr.Mtime = n.fs.now()
	n.attr.Ctime = n.attr.Mtime
}

func (n *node) mk(cred *vfs.Cred, name string, mode uint32) (*node, error) {
	if err := n.wlock(); err != nil {
		return nil, err
	}
	defer n.fs.mu.Unlock()
	if n.ents == nil {
		return nil, syscall.ENOTDIR
	}
	if len(name) > vfs.NameMax {
		return nil, syscall.ENAMETOOLONG
	}
	if _, ok := n.ents[name]; ok || name == "." || name == ".." {
		return nil, syscall.EEXIST
	}
	c := n.fs.newNode(mode, cred)
	if mode&vfs.S_IFMT == vfs.S_IFDIR {
		c.parent = n
		c.attr.Nlink = 2
		n.attr.Nlink++
	}
	n.add(name, c)
	return c, nil
}

func (n *node) Create(cred *vfs.Cred, name string, mode uint32) (vfs.Vnode, error) {
	return n.mk(cred, name, vfs.S_IFREG|mode&07777)
}

func (n *node) Mkdir(cred *vfs.Cred, name string, mode uint32) (vfs.Vnode, error) {
	return n.mk(cred, name, vfs.S_IFDIR|mode&07777)
}

func (n *node) Mknod(cred *vfs.Cred, name string, mode uint32, rdev uint64) (vfs.Vnode, error) {
	c, err := n.mk(cred, name, mode)
	if err == nil {
		c.attr.Rdev = rdev
	}
	return c, err
}

func (n *node) Symlink(cred *vfs.Cred, name, target string) (vfs.Vnode, error) {
	c, err := n.mk(cred, name, vfs.S_IFLNK|0777)
	if err == nil {
		c.target = target
	}
	return c, err
}

func (n *node) Link(name string, target vfs.Vnode) error {
	t, ok := target.(*node)
	if !ok || t.fs != n.fs {
		return syscall.EXDEV
	}
	if err := n.wlock(); err != nil {
		return err
	}
	defer n.fs.mu.Unlock()
	if t.ents != nil {
		return syscall.EPERM
	}
	if _, ok := n.ents[name]; ok {
		return syscall.EEXIST
	}
	t.attr.Nlink++
	t.attr.Ctime = n.fs.now()
	n.add(name, t)
	return nil
}

func (n *node) Remove(name string) error {
	if err := n.wlock(); err != nil {
		return err
	}
	defer n.fs.mu.Unlock()
	c, ok := n.ents[name]
	if !ok {
		return syscall.ENOENT
	}
	if c.ents != nil {
		return syscall.EISDIR
	}
	c.attr.Nlink--
	c.attr.Ctime = n.fs.now()
	n.drop(name)
	return nil
}

func (n *node) Rmdir(name string) error {
	if err := n.wlock(); err != nil {
		return err
	}
	defer n.fs.mu.Unlock()
	if name == "." {
		return syscall.EINVAL
	}
	c, ok := n.ents[name]
	if !ok {
		return syscall.ENOENT
	}
	if c.ents == nil {
		return syscall.ENOTDIR
	}
	if len(c.ents) > 0 {
		return syscall.ENOTEMPTY
	}
	c.attr.Nlink = 0
	n.attr.Nlink--
	n.drop(name)
	return nil
}

func (n *node) Rename(oldName string, newDir vfs.Vnode, newName string) error {
	nd, ok := newDir.(*node)
	if !ok || nd.fs != n.fs {
		return syscall.EXDEV
	}
	if err := n.wlock(); err != nil {
		return err
	}
	defer n.fs.mu.Unlock()
	c, ok := n.ents[oldName]
	if !ok {
		return syscall.ENOENT
	}
	if c.ents != nil {
		for p := nd; ; p = p.parent {
			if p == c {
				return syscall.EINVAL
			}
			if p == p.parent {
				break
			}
		}
	}
	if old, ok := nd.ents[newName]; ok {
		if old == c {
			return nil
		}
		switch {
		case c.ents != nil && old.ents == nil:
			return syscall.ENOTDIR
		case c.ents == nil && old.ents != nil:
			return syscall.EISDIR
		case old.ents != nil && len(old.ents) > 0:
			return syscall.ENOTEMPTY
		}
		if old.ents != nil {
			nd.attr.Nlink--
			old.attr.Nlink = 0
		} else {
			old.attr.Nlink--
		}
		nd.drop(newName)
	}
	n.drop(oldName)
	nd.add(newName, c)
	if c.ents != nil && nd != n {
		c.parent = nd
		n.attr.Nlink--
		nd.attr.Nlink++
	}
	c.attr.Ctime = n.fs.now()
	return nil
}

func (n *node) Getxattr(name string) ([]byte, error) {
	n.fs.mu.RLock()
	defer n.fs.mu.RUnlock()
	v, ok := n.xattr[name]
	if !ok {
		return nil, syscall.ENODATA
	}
	return append([]byte(nil), v...), nil
}

func (n *node) Listxattr() ([]string, error) {
	n.fs.mu.RLock()
	defer n.fs.mu.RUnlock()
	var names []string
	for k := range n.xattr {
		names = append(names, k)
	}
	sort.Strings(names)
	return names, nil
}

func (n *node) Setxattr(name string, value []byte, flags int) error {
	if err := n.wlock(); err != nil {
		return err
	}
	defer n.fs.mu.Unlock()
	if n.xattr == nil {
		n.xattr = map[string][]byte{}
	}
	n.xattr[name] = append([]byte(nil), value...)
	return nil
}

func (n *node) Removexattr(name string) error {
	if err := n.wlock(); err != nil {
		return err
	}
	defer n.fs.mu.Unlock()
	if _, ok := n.xattr[name]; !ok {
		return syscall.ENODATA
	}
	delete(n.xattr, name)
	return nil
}
