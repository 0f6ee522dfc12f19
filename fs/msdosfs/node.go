package msdosfs

// In-memory nodes (NetBSD's denodes), their cache, attributes and reads.

import (
	"container/list"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rumpfs/rumpfs/vfs"
)

const (
	rootIno     = 1
	maxIdle     = 4096
	maxFileSize = 1<<32 - 1 // FAT's 32-bit size field
	// NetBSD's SF_ARCHIVED and FreeBSD's UF_SYSTEM/UF_HIDDEN, for the
	// DOS attributes shown in Attr.Flags.
	flagArchived = 0x00010000
	flagSystem   = 0x00000080
	flagHidden   = 0x00008000
)

type node struct {
	m      *mount
	ino    uint64
	gen    uint64 // generation of ino when this node took it (m.gens)
	isDir  bool
	isRoot bool
	parent *node // directories: the parent, on which this node holds a reference
	entOff int64 // device offset of the short directory entry (not the root)

	// Guarded by m.mu (shared for reads, exclusive for changes).
	de       dirent
	unlinked bool
	// accessed: read since the last sync; the access date is written
	// then (NetBSD's DE_ACCESS), as reads only share the lock.
	accessed atomic.Bool

	// Guarded by m.nmu.
	refs int
	elem *list.Element
	idle bool

	// Lazily built caches, guarded by mu (readers build them under m.mu
	// shared); dropped under m.mu exclusive when the node changes.
	mu       sync.Mutex
	ext      []extent
	extStart []int64 // cluster index in the file where ext[i] begins
	extOK    bool
	dl       *dirList
}

func (n *node) start() uint32 {
	if n.isRoot && n.m.fatType != 32 {
		return 0
	}
	return n.de.cluster(n.m.fatType == 32)
}

// inoOfEntry is NetBSD's fileid: directories are numbered by their "."
// entry (their first cluster), files by the position of their entry.
func (m *mount) inoOfEntry(off int64, de *dirent) uint64 {
	if de.Attr&attrDirectory != 0 {
		c := de.cluster(m.fatType == 32)
		if c == 0 || (m.fatType == 32 && c == m.rootClus) || !m.validClus(c) {
			if c == 0 || (m.fatType == 32 && c == m.rootClus) {
				return rootIno
			}
			return uint64(off / direntSize)
		}
		return uint64(m.clusOff(c) / direntSize)
	}
	return uint64(off / direntSize)
}

// getNode returns the cached node for ino with a new reference, or makes
// one with mk and caches it.
func (m *mount) getNode(ino uint64, mk func() *node) *node {
	m.nmu.Lock()
	defer m.nmu.Unlock()
	if ino == rootIno {
		m.root.refs++
		return m.root
	}
	if n, ok := m.nodes[ino]; ok {
		m.takeLocked(n)
		return n
	}
	n := mk()
	n.ino = ino
	n.gen = m.gens[ino]
	n.refs = 1
	if n.parent != nil {
		m.takeLocked(n.parent)
	}
	m.nodes[ino] = n
	return n
}

func (m *mount) takeLocked(n *node) {
	if n.idle {
		m.idle.Remove(n.elem)
		n.idle = false
	}
	n.refs++
}

// release drops a reference. locked says the caller holds m.mu
// exclusively (needed to free an unlinked node's clusters).
func (m *mount) release(n *node, locked bool) {
	var evicted []*node
	m.nmu.Lock()
	if n.refs <= 0 {
		m.nmu.Unlock()
		return
	}
	n.refs--
	if n.refs > 0 || n.isRoot {
		m.nmu.Unlock()
		return
	}
	if n.unlinked {
		delete(m.orphanSet(), n)
		m.nmu.Unlock()
		if !locked {
			m.mu.Lock()
		}
		m.freeOrphanLocked(n)
		if !locked {
			m.mu.Unlock()
		}
		m.nmu.Lock()
		if n.parent != nil {
			evicted = append(evicted, n.parent)
			n.parent = nil
		}
		m.nmu.Unlock()
		for _, p := range evicted {
			m.release(p, locked)
		}
		return
	}
	n.idle = true
	n.elem = m.idle.PushBack(n)
	for m.idle.Len() > maxIdle {
		old := m.idle.Remove(m.idle.Front()).(*node)
		old.idle = false
		if m.nodes[old.ino] == old {
			delete(m.nodes, old.ino)
		}
		if old.parent != nil {
			evicted = append(evicted, old.parent)
			old.parent = nil
		}
	}
	m.nmu.Unlock()
	for _, p := range evicted {
		m.release(p, locked)
	}
}

// retireIno records that the file that had inode number ino no longer has
// it (removed or moved): the next one to take it gets a new generation.
// Called with m.nmu held.
func (m *mount) retireIno(ino uint64) {
	if m.gens == nil {
		m.gens = map[uint64]uint64{}
	}
	m.gens[ino]++
}

// Orphans: nodes unlinked while referenced; their clusters are freed at
// the last release or at unmount.
func (m *mount) orphanSet() map[*node]bool {
	if m.orph == nil {
		m.orph = map[*node]bool{}
	}
	return m.orph
}

func (m *mount) orphans() []*node {
	var l []*node
	for n := range m.orph {
		l = append(l, n)
	}
	return l
}

func (m *mount) freeOrphan(n *node) { m.freeOrphanLocked(n) }

func (m *mount) freeOrphanLocked(n *node) {
	if !n.unlinked || m.ro {
		return
	}
	if ext, err := n.extents(); err == nil && len(ext) > 0 {
		_ = m.freeExtents(ext)
	}
	n.de.setCluster(0, m.fatType == 32)
	n.unlinked = false // freed; nothing left to do
	n.dropCaches()
}

func (n *node) Rele() { n.m.release(n, false) }

// extents returns the node's cluster chain, cached.
func (n *node) extents() ([]extent, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.extOK {
		return n.ext, nil
	}
	ext, err := n.m.chain(n.start())
	if err != nil {
		return nil, err
	}
	n.ext = ext
	n.extStart = make([]int64, len(ext))
	var s int64
	for i, e := range ext {
		n.extStart[i] = s
		s += int64(e.count)
	}
	n.extOK = true
	return ext, nil
}

// dropCaches forgets the chain and listing after a change (m.mu held
// exclusively).
func (n *node) dropCaches() {
	n.mu.Lock()
	n.extOK = false
	n.ext = nil
	n.extStart = nil
	n.mu.Unlock()
}

// mapRun maps byte offset pos of the node's data to a device offset and the
// number of contiguous bytes there.
func (n *node) mapRun(pos int64) (int64, int64, error) {
	ext, err := n.extents()
	if err != nil {
		return 0, 0, err
	}
	cs := n.m.clusterSize
	ci := pos / cs
	n.mu.Lock()
	starts := n.extStart
	n.mu.Unlock()
	i := sort.Search(len(starts), func(i int) bool { return starts[i] > ci }) - 1
	if i < 0 || i >= len(ext) || ci >= starts[i]+int64(ext[i].count) {
		return 0, 0, syscall.EIO // chain shorter than the file
	}
	e := ext[i]
	within := ci - starts[i]
	devOff := n.m.clusOff(e.clus) + within*cs + pos%cs
	runLen := (int64(e.count)-within)*cs - pos%cs
	return devOff, runLen, nil
}

func (m *mount) dosTime(date, tim uint16, tenth uint8) time.Time {
	t := dosToTime(date, tim, tenth, m.opts.loc)
	if t.IsZero() {
		return time.Unix(0, 0)
	}
	return t
}

func (n *node) Getattr() (vfs.Attr, error) {
	m := n.m
	m.mu.RLock()
	defer m.mu.RUnlock()
	return n.attrLocked(), nil
}

func (n *node) attrLocked() vfs.Attr {
	m := n.m
	de := &n.de
	a := vfs.Attr{Ino: n.ino, Gen: n.gen, Nlink: 1, Uid: m.opts.uid, Gid: m.opts.gid, Blksize: uint32(m.clusterSize)}
	if n.unlinked {
		a.Nlink = 0 // removed while open
	}
	perm := uint32(0777)
	if de.Attr&attrReadOnly != 0 {
		perm = 0555
	}
	if n.isDir {
		a.Mode = vfs.S_IFDIR | perm&m.opts.dirmask
	} else {
		a.Mode = vfs.S_IFREG | perm&m.opts.mask
		a.Size = uint64(de.FileSize)
		cs := uint64(m.clusterSize)
		a.Blocks = (a.Size + cs - 1) / cs * cs / 512
	}
	if n.isRoot {
		t := time.Unix(0, 0)
		a.Mtime, a.Atime, a.Ctime = t, t, t
		return a
	}
	a.Mtime = m.dosTime(de.WrtDate, de.WrtTime, 0)
	a.Ctime = a.Mtime
	if m.opts.shortNames {
		a.Atime = a.Mtime
	} else {
		a.Atime = m.dosTime(de.AccDate, 0, 0)
		if de.CrtDate != 0 {
			a.Btime = m.dosTime(de.CrtDate, de.CrtTime, de.CrtTenth)
		}
	}
	if de.Attr&attrArchive == 0 {
		a.Flags |= flagArchived
	}
	if de.Attr&attrHidden != 0 {
		a.Flags |= flagHidden
	}
	if de.Attr&attrSystem != 0 {
		a.Flags |= flagSystem
	}
	return a
}

func (n *node) Readlink() (string, error) { return "", syscall.EINVAL }

// Read reads file data in runs of contiguous clusters, each one ReadAt on
// the device.
func (n *node) Read(p []byte, off int64) (int, error) {
	m := n.m
	m.mu.RLock()
	defer m.mu.RUnlock()
	if n.isDir {
		return 0, syscall.EISDIR
	}
	if off < 0 {
		return 0, syscall.EINVAL
	}
	size := int64(n.de.FileSize)
	if off >= size {
		return 0, nil
	}
	if int64(len(p)) > size-off {
		p = p[:size-off]
	}
	if m.atime {
		n.accessed.Store(true)
	}
	done := 0
	for done < len(p) {
		devOff, run, err := n.mapRun(off + int64(done))
		if err != nil {
			return done, err
		}
		chunk := p[done:]
		if int64(len(chunk)) > run {
			chunk = chunk[:run]
		}
		k, err := m.d.ReadAt(chunk, devOff)
		done += k
		if err != nil && !(err == io.EOF && k == len(chunk)) {
			return done, syscall.EIO
		}
	}
	return done, nil
}
