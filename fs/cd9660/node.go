package cd9660

import (
	"container/list"
	"sort"
	"sync"
	"syscall"

	"github.com/rumpfs/rumpfs/vfs"
)

// node is a vnode: a file, directory, symlink or special file.
type node struct {
	m      *mnt
	key    uint64 // cache key: directory data start or record offset
	attr   vfs.Attr
	parent uint64 // directories: the parent's key
	ext    []extent
	target string
	err    error // given by Read and Readlink (corrupt entry)

	mu  sync.Mutex
	idx *dirIndex
	// Guarded by m.idxMu.
	idxElem  *list.Element
	idxCount int
}

var _ vfs.Vnode = (*node)(nil)

func (n *node) isDir() bool { return n.attr.Mode&vfs.S_IFMT == vfs.S_IFDIR }

func fileNode(m *mnt, e *entry) *node {
	return &node{m: m, key: e.key, attr: e.attr, ext: e.ext, target: e.target, err: e.err}
}

// Getattr returns the attributes.
func (n *node) Getattr() (vfs.Attr, error) { return n.attr, nil }

// Rele gives back a reference.
func (n *node) Rele() { n.m.cache.rele(n.key) }

// Lookup finds name in the directory.
func (n *node) Lookup(name string) (vfs.Vnode, error) {
	if !n.isDir() {
		return nil, syscall.ENOTDIR
	}
	m := n.m
	switch name {
	case ".":
		m.cache.ref(n.key)
		return n, nil
	case "..":
		if n.key == m.rootKey || n.parent == n.key {
			m.cache.ref(n.key)
			return n, nil
		}
		p, err := m.cache.get(n.parent, func() (*node, error) { return m.loadDir(n.parent, m.rootKey) })
		if err != nil {
			return nil, err
		}
		return p, nil
	}
	x := n.index()
	fold := m.ftype != ftRRIP || m.opts.rrcaseins
	i := x.find(name, fold)
	if i < 0 {
		if x.err != nil {
			return nil, syscall.EIO
		}
		return nil, syscall.ENOENT
	}
	e := &x.ents[i]
	if e.err != nil {
		return nil, e.err
	}
	if e.dir {
		// A directory that is its own parent, its grandparent or the
		// root would make an endless tree.
		if e.key == n.key || e.key == n.parent || e.key == m.rootKey {
			m.warnf("cd9660: directory %q at byte %d loops back to an ancestor", e.name, e.recOff)
			return nil, syscall.EIO
		}
		c, err := m.cache.get(e.key, func() (*node, error) { return m.loadDir(e.key, n.key) })
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	c, err := m.cache.get(e.key, func() (*node, error) { return fileNode(m, e), nil })
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Cookies: 1 resumes after ".", 2 after "..", and 3+o after the entry
// whose records end at byte o of the directory, so that a listing resumes
// at a directory-record offset as in NetBSD.
const cookieBase = 3

// Readdir lists the directory from cookie on.
func (n *node) Readdir(cookie uint64, fn func(vfs.Dirent) bool) error {
	if !n.isDir() {
		return syscall.ENOTDIR
	}
	if cookie == 0 {
		if !fn(vfs.Dirent{Name: ".", Ino: n.attr.Ino, Type: vfs.DT_DIR, Next: 1}) {
			return nil
		}
		cookie = 1
	}
	if cookie == 1 {
		if !fn(vfs.Dirent{Name: "..", Ino: n.parent, Type: vfs.DT_DIR, Next: 2}) {
			return nil
		}
		cookie = 2
	}
	x := n.index()
	from := uint32(0)
	if cookie > cookieBase {
		if cookie-cookieBase > 1<<32-1 {
			return nil
		}
		from = uint32(cookie - cookieBase)
	}
	i := sort.Search(len(x.ents), func(i int) bool { return x.ents[i].start >= from })
	for ; i < len(x.ents); i++ {
		e := &x.ents[i]
		if !fn(vfs.Dirent{Name: e.name, Ino: e.ino, Type: e.dtype, Next: uint64(e.end) + cookieBase}) {
			return nil
		}
	}
	if x.err != nil {
		return syscall.EIO
	}
	return nil
}

// Read reads file data straight from the device, one ReadAt per extent
// piece; it keeps no state, so concurrent calls are safe.
func (n *node) Read(p []byte, off int64) (int, error) {
	switch n.attr.Mode & vfs.S_IFMT {
	case vfs.S_IFDIR:
		return 0, syscall.EISDIR
	case vfs.S_IFREG:
	default:
		return 0, syscall.EINVAL
	}
	if n.err != nil {
		return 0, n.err
	}
	if off < 0 {
		return 0, syscall.EINVAL
	}
	size := int64(n.attr.Size)
	if off >= size {
		return 0, nil
	}
	if int64(len(p)) > size-off {
		p = p[:size-off]
	}
	done := 0
	pos := int64(0) // file offset of the current extent
	for _, ex := range n.ext {
		if done == len(p) {
			break
		}
		cur := off + int64(done)
		if cur >= pos+ex.size {
			pos += ex.size
			continue
		}
		within := cur - pos
		k := min(int64(len(p)-done), ex.size-within)
		if err := n.m.readFull(p[done:done+int(k)], ex.start+within); err != nil {
			n.m.warnf("cd9660: file data at byte %d is outside the image", ex.start)
			if done > 0 {
				return done, nil
			}
			return 0, syscall.EIO
		}
		done += int(k)
		pos += ex.size
	}
	return done, nil
}

// Readlink returns a Rock Ridge symlink's target.
func (n *node) Readlink() (string, error) {
	if n.attr.Mode&vfs.S_IFMT != vfs.S_IFLNK {
		return "", syscall.EINVAL
	}
	if n.err != nil {
		return "", n.err
	}
	return n.target, nil
}
