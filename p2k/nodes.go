package p2k

import (
	"sync"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/rumpfs/rumpfs/vfs"
)

// node is one inode the kernel knows, under a FUSE node id. It holds
// exactly one vfs reference on vn, given back when the kernel has
// forgotten every lookup of it and no open handle uses it (the kernel
// keeps an inode alive while a file is open, but RELEASE may arrive after
// FORGET, so open handles count too). This is NetBSD p2k's rule: the
// kernel, not the file system, decides when a vnode may go.
type node struct {
	id  uint64 // FUSE node id, never reused
	ino uint64 // the file system's inode number
	gen uint64
	vn  vfs.Vnode

	lookups uint64 // the kernel's lookup count (FUSE nlookup)
	opens   int    // open file and directory handles
}

// nodeTable maps FUSE node ids and inode numbers to nodes.
type nodeTable struct {
	mu     sync.Mutex
	byID   map[uint64]*node
	byIno  map[uint64]*node
	nextID uint64
}

func newNodeTable(root vfs.Vnode, a *vfs.Attr) *nodeTable {
	t := &nodeTable{
		byID:   map[uint64]*node{},
		byIno:  map[uint64]*node{},
		nextID: fuse.FUSE_ROOT_ID + 1,
	}
	n := &node{id: fuse.FUSE_ROOT_ID, ino: a.Ino, gen: a.Gen, vn: root, lookups: 1}
	t.byID[n.id] = n
	t.byIno[n.ino] = n
	return t
}

// get returns the node with FUSE id, or nil.
func (t *nodeTable) get(id uint64) *node {
	t.mu.Lock()
	n := t.byID[id]
	t.mu.Unlock()
	return n
}

// add records a lookup of vn (which carries one reference the table now
// owns) with attributes a, and returns the node the kernel is to be told
// about. When the inode is known already, the existing node gets the
// lookup and the new reference is given back: the kernel must see one node
// id per inode, and the node keeps one reference.
func (t *nodeTable) add(vn vfs.Vnode, a *vfs.Attr) *node {
	t.mu.Lock()
	if n, ok := t.byIno[a.Ino]; ok && n.gen == a.Gen {
		n.lookups++
		t.mu.Unlock()
		vn.Rele()
		return n
	}
	// A new inode, or an inode number reused with a new generation while
	// the kernel still holds the old one (the old node stays reachable by
	// its id until forgotten).
	n := &node{id: t.nextID, ino: a.Ino, gen: a.Gen, vn: vn, lookups: 1}
	t.nextID++
	t.byID[n.id] = n
	t.byIno[n.ino] = n
	t.mu.Unlock()
	return n
}

// addLookup counts one more kernel lookup of a node the caller holds (the
// answer to LINK names the existing node).
func (t *nodeTable) addLookup(n *node) {
	t.mu.Lock()
	n.lookups++
	t.mu.Unlock()
}

// forget drops count kernel lookups of node id. It returns the vnode
// whose reference the caller must give back, if the node went.
func (t *nodeTable) forget(id, count uint64) vfs.Vnode {
	if id == fuse.FUSE_ROOT_ID {
		return nil // the root lives until unmount
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.byID[id]
	if n == nil {
		return nil
	}
	if count > n.lookups {
		count = n.lookups
	}
	n.lookups -= count
	return t.dropLocked(n)
}

// open counts an open handle on n.
func (t *nodeTable) open(n *node) {
	t.mu.Lock()
	n.opens++
	t.mu.Unlock()
}

// close drops an open handle on n, returning the vnode to give back if
// the node went.
func (t *nodeTable) close(n *node) vfs.Vnode {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n.opens > 0 {
		n.opens--
	}
	return t.dropLocked(n)
}

// dropLocked removes n when nothing uses it any more and returns the vnode
// whose reference the caller must give back (outside the table lock: Rele
// may do I/O, as VOP_INACTIVE freeing an unlinked file does).
func (t *nodeTable) dropLocked(n *node) vfs.Vnode {
	if n.lookups > 0 || n.opens > 0 || n.id == fuse.FUSE_ROOT_ID {
		return nil
	}
	if t.byID[n.id] != n {
		return nil // dropped already
	}
	delete(t.byID, n.id)
	if t.byIno[n.ino] == n {
		delete(t.byIno, n.ino)
	}
	return n.vn
}

// releaseAll gives back every reference, the root's included, at unmount.
func (t *nodeTable) releaseAll() {
	t.mu.Lock()
	var vns []vfs.Vnode
	for id, n := range t.byID {
		vns = append(vns, n.vn)
		delete(t.byID, id)
	}
	clear(t.byIno)
	t.mu.Unlock()
	for _, vn := range vns {
		vn.Rele()
	}
}

// count reports how many nodes (and so vnode references) the table holds.
func (t *nodeTable) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.byID)
}
