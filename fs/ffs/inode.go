package ffs

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rumpfs/rumpfs/fs/ffs/layout"
	"github.com/rumpfs/rumpfs/vfs"
)

type timespec struct {
	sec  int64
	nsec int32
}

func (t timespec) time() time.Time { return time.Unix(t.sec, int64(t.nsec)) }

func tsOf(t time.Time) timespec { return timespec{t.Unix(), int32(t.Nanosecond())} }

// node is an in-memory inode (NetBSD's struct inode) and the vnode the
// layers above see. Its fields are guarded by the mount's mu.
type node struct {
	m   *mount
	ino uint64

	mode                       uint16
	nlink                      int32
	uid, gid                   uint32
	size                       int64
	blocks                     int64 // DEV_BSIZE units
	atime, mtime, ctime, btime timespec
	flags                      uint32
	gen                        int32
	db                         [layout.UFS_NDADDR]int64
	ib                         [layout.UFS_NIADDR]int64
	extsize                    uint32
	extb                       [2]int64

	// The on-disk inode as read, so that fields this code does not use
	// are written back unchanged.
	d1 *layout.Dinode1
	d2 *layout.Dinode2

	freed bool // inode released on disk (unlinked and inactive)

	// accessed is the time (Unix nanoseconds) of a read not yet put into
	// atime, 0 if none: NetBSD's IN_ACCESS. Reads set it holding only
	// mu.RLock, hence atomic; store, under mu.Lock, moves it into atime,
	// so the update reaches the disk lazily with the inode's next write,
	// at the latest when the node goes inactive or the mount syncs.
	accessed atomic.Int64

	// dh is a directory's hash (dirhash.go): built on first lookup of a
	// big enough directory, kept exact by the entry code, dropped when
	// it cannot be or memory is short. dhBuild serialises building it.
	// nohash marks a node outside the vnode cache (isAncestor's walk),
	// which no reclaim would rid of a hash.
	// dhNoBuild is 1 + the size at which a build last failed for
	// good (too big, a name twice), 0 if none.
	dh        atomic.Pointer[dirhash]
	dhBuild   sync.Mutex
	dhNoBuild atomic.Int64
	nohash    bool
}

func (n *node) isDir() bool { return n.mode&layout.IFMT == layout.IFDIR }
func (n *node) isReg() bool { return n.mode&layout.IFMT == layout.IFREG }
func (n *node) isLnk() bool { return n.mode&layout.IFMT == layout.IFLNK }

// loadNode reads inode ino (VCache's Load). It takes no lock: inodes
// are written to the cache in one piece under the writer lock, and a node
// being loaded is not yet known to anyone who could change it.
func (m *mount) loadNode(ino uint64) (*node, error) {
	g := m.g
	if ino < layout.UFS_ROOTINO || ino >= g.maxino() {
		m.warnf("ffs: %s: inode number %d out of range", m.name, ino)
		return nil, syscall.EIO
	}
	buf := make([]byte, g.isize)
	if _, err := m.cache.ReadAt(buf, g.inoOffset(ino)); err != nil {
		return nil, m.ioErr(fmt.Sprintf("reading inode %d", ino), err)
	}
	n := &node{m: m, ino: ino}
	n.decode(buf)
	if n.mode == 0 {
		m.warnf("ffs: %s: directory entry names unallocated inode %d", m.name, ino)
		return nil, syscall.EIO
	}
	if n.size < 0 || n.size > g.maxfilesize {
		m.warnf("ffs: %s: inode %d: size %d out of range", m.name, ino, n.size)
		return nil, syscall.EIO
	}
	return n, nil
}

func (n *node) decode(buf []byte) {
	g := n.m.g
	if g.ufs2 {
		d, _ := layout.DecodeDinode2(buf, g.bo)
		n.d2 = d
		n.mode, n.nlink, n.uid, n.gid = d.Mode, int32(d.Nlink), d.Uid, d.Gid
		n.size, n.blocks = int64(d.Size), int64(d.Blocks)
		n.atime = timespec{d.Atime, d.Atimensec}
		n.mtime = timespec{d.Mtime, d.Mtimensec}
		n.ctime = timespec{d.Ctime, d.Ctimensec}
		n.btime = timespec{d.Birthtime, d.Birthnsec}
		n.flags, n.gen = d.Flags, d.Gen
		n.db, n.ib = d.Db, d.Ib
		n.extsize, n.extb = d.Extsize, d.Extb
		return
	}
	d, _ := layout.DecodeDinode1(buf, g.bo)
	n.d1 = d
	n.mode, n.nlink, n.uid, n.gid = d.Mode, int32(d.Nlink), d.Uid, d.Gid
	if g.oldInode {
		n.uid, n.gid = uint32(d.OldIDs[0]), uint32(d.OldIDs[1])
	}
	n.size, n.blocks = int64(d.Size), int64(d.Blocks)
	n.atime = timespec{int64(d.Atime), d.Atimensec}
	n.mtime = timespec{int64(d.Mtime), d.Mtimensec}
	n.ctime = timespec{int64(d.Ctime), d.Ctimensec}
	n.flags, n.gen = d.Flags, d.Gen
	for i := range n.db {
		n.db[i] = int64(d.Db[i])
	}
	for i := range n.ib {
		n.ib[i] = int64(d.Ib[i])
	}
}

func (n *node) encode() []byte {
	g := n.m.g
	buf := make([]byte, g.isize)
	if g.ufs2 {
		d := n.d2
		if d == nil {
			d = new(layout.Dinode2)
			n.d2 = d
		}
		d.Mode, d.Nlink, d.Uid, d.Gid = n.mode, int16(n.nlink), n.uid, n.gid
		d.Size, d.Blocks = uint64(n.size), uint64(n.blocks)
		d.Atime, d.Atimensec = n.atime.sec, n.atime.nsec
		d.Mtime, d.Mtimensec = n.mtime.sec, n.mtime.nsec
		d.Ctime, d.Ctimensec = n.ctime.sec, n.ctime.nsec
		d.Birthtime, d.Birthnsec = n.btime.sec, n.btime.nsec
		d.Flags, d.Gen = n.flags, n.gen
		d.Db, d.Ib = n.db, n.ib
		d.Extsize, d.Extb = n.extsize, n.extb
		d.Encode(buf, g.bo)
		return buf
	}
	d := n.d1
	if d == nil {
		d = new(layout.Dinode1)
		n.d1 = d
	}
	d.Mode, d.Nlink, d.Uid, d.Gid = n.mode, int16(n.nlink), n.uid, n.gid
	if g.oldInode {
		d.OldIDs = [2]uint16{uint16(n.uid), uint16(n.gid)}
	}
	d.Size, d.Blocks = uint64(n.size), uint32(n.blocks)
	d.Atime, d.Atimensec = int32(n.atime.sec), n.atime.nsec
	d.Mtime, d.Mtimensec = int32(n.mtime.sec), n.mtime.nsec
	d.Ctime, d.Ctimensec = int32(n.ctime.sec), n.ctime.nsec
	d.Flags, d.Gen = n.flags, n.gen
	for i := range n.db {
		d.Db[i] = int32(n.db[i])
	}
	for i := range n.ib {
		d.Ib[i] = int32(n.ib[i])
	}
	d.Encode(buf, g.bo)
	return buf
}

// store writes the inode to the cache (ffs_update). mu held for writing.
func (n *node) store() error {
	if t := n.accessed.Swap(0); t != 0 {
		n.atime = tsOf(time.Unix(0, t))
	}
	_, err := n.m.cache.WriteAt(n.encode(), n.m.g.inoOffset(n.ino))
	if err != nil {
		return n.m.ioErr(fmt.Sprintf("writing inode %d", n.ino), err)
	}
	return nil
}

// rdev is the device number of a device node in the Linux encoding.
// FFS keeps NetBSD's 32-bit dev_t in the first block pointer: major in
// bits 8-19, minor in bits 0-7 and 20-31.
func (n *node) rdev() uint64 {
	x := uint32(n.db[0])
	major := (x >> 8) & 0xfff
	minor := (x & 0xff) | ((x >> 12) & 0xfff00)
	return unix.Mkdev(major, minor)
}

// netbsdDev encodes a Linux device number as NetBSD's dev_t.
func netbsdDev(rdev uint64) int64 {
	major, minor := unix.Major(rdev), unix.Minor(rdev)
	return int64(((major & 0xfff) << 8) | (minor & 0xff) | ((minor & 0xfff00) << 12))
}

func (n *node) attr() vfs.Attr {
	a := vfs.Attr{
		Ino:     n.ino,
		Gen:     uint64(uint32(n.gen)),
		Mode:    uint32(n.mode),
		Nlink:   uint32(max(n.nlink, 0)),
		Uid:     n.uid,
		Gid:     n.gid,
		Size:    uint64(n.size),
		Blocks:  uint64(n.blocks),
		Blksize: uint32(n.m.g.bsize),
		Atime:   n.atimeNow(),
		Mtime:   n.mtime.time(),
		Ctime:   n.ctime.time(),
		Flags:   n.flags,
	}
	if n.m.g.ufs2 {
		a.Btime = n.btime.time()
	}
	switch n.mode & layout.IFMT {
	case layout.IFCHR, layout.IFBLK:
		a.Rdev = n.rdev()
		a.Size = 0
	}
	return a
}

// atimeNow is the access time including a read not yet stored.
func (n *node) atimeNow() time.Time {
	if t := n.accessed.Load(); t != 0 {
		return time.Unix(0, t)
	}
	return n.atime.time()
}

// markAccess records a read of n for its atime, as ffs_read and
// ufs_readlink set IN_ACCESS: not on a read-only or noatime mount (NetBSD
// checks MNT_NOATIME; ufs_itimes skips read-only mounts). mu held for
// reading or writing.
func (n *node) markAccess() {
	m := n.m
	if m.ro || m.opts.noatime || n.freed {
		return
	}
	n.accessed.Store(m.now().UnixNano())
}

func (n *node) Getattr() (vfs.Attr, error) {
	n.m.mu.RLock()
	defer n.m.mu.RUnlock()
	return n.attr(), nil
}

func (n *node) Rele() { n.m.vc.Rele(n.ino) }

// inactive is VOP_INACTIVE: an unlinked inode whose last reference is
// gone is truncated and freed.
func (m *mount) inactive(ino uint64, n *node) bool {
	if m.ro {
		return true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if n.nlink > 0 && !n.freed && !m.dead && n.accessed.Load() != 0 {
		// No one can read n again before the next Get: write the
		// access time now (ffs_inactive's UFS_UPDATE of IN_ACCESS).
		if err := n.store(); err != nil {
			m.warnf("ffs: %s: inode %d: writing access time: %v", m.name, ino, err)
		}
	}
	if n.nlink > 0 || n.freed || m.dead {
		return n.nlink > 0
	}
	if err := n.truncate(0); err != nil {
		m.warnf("ffs: %s: freeing inode %d: %v", m.name, ino, err)
		return false
	}
	n.freeExt()
	m.freeInode(n)
	n.freed = true
	return false
}

// ptrSize is the size of a block pointer in an indirect block.
func (g *geom) ptrSize() int64 {
	if g.ufs2 {
		return 8
	}
	return 4
}

// readPtr reads pointer i of the indirect block at frag address blk.
func (m *mount) readPtr(blk, i int64) (int64, error) {
	g := m.g
	if !g.inRange(blk, g.frag) {
		return 0, fmt.Errorf("indirect block %d out of range", blk)
	}
	var b [8]byte
	ps := g.ptrSize()
	if _, err := m.cache.ReadAt(b[:ps], blk<<g.fshift+i*ps); err != nil {
		return 0, err
	}
	if g.ufs2 {
		return int64(g.bo.Uint64(b[:])), nil
	}
	return int64(int32(g.bo.Uint32(b[:]))), nil
}

// indirPath splits a logical block number past the direct blocks into
// the indirect level (0, 1, 2) and the index at each level, as
// ufs_getlbns does.
func (g *geom) indirPath(lbn int64) (level int, idx [3]int64, err error) {
	lbn -= layout.UFS_NDADDR
	span := int64(1)
	for level = 0; level < layout.UFS_NIADDR; level++ {
		span *= g.nindir
		if lbn < span {
			break
		}
		lbn -= span
	}
	if level == layout.UFS_NIADDR {
		return 0, idx, syscall.EFBIG
	}
	// idx[0] is the index in the top block, down to idx[level].
	for i := level; i >= 0; i-- {
		idx[i] = lbn % g.nindir
		lbn /= g.nindir
	}
	return level, idx, nil
}

// bmap returns the fragment address of logical block lbn, 0 for a hole.
func (n *node) bmap(lbn int64) (int64, error) {
	if lbn < 0 {
		return 0, syscall.EINVAL
	}
	if lbn < layout.UFS_NDADDR {
		return n.db[lbn], nil
	}
	g := n.m.g
	level, idx, err := g.indirPath(lbn)
	if err != nil {
		return 0, err
	}
	blk := n.ib[level]
	for i := 0; i <= level; i++ {
		if blk == 0 {
			return 0, nil
		}
		blk, err = n.m.readPtr(blk, idx[i])
		if err != nil {
			return 0, n.m.ioErr(fmt.Sprintf("inode %d: block %d", n.ino, lbn), err)
		}
	}
	return blk, nil
}

// readData reads file bytes [off, off+len(p)) (within the size) into p,
// in runs of physically contiguous blocks. viaCache selects the metadata
// cache (directories, symlinks) over the device.
func (n *node) readData(p []byte, off int64, viaCache bool) error {
	g := n.m.g
	for len(p) > 0 {
		lbn := off >> g.bshift
		boff := off & (g.bsize - 1)
		phys, err := n.bmap(lbn)
		if err != nil {
			return err
		}
		want := min(int64(len(p)), g.bsize-boff)
		if phys == 0 {
			clear(p[:want])
			p, off = p[want:], off+want
			continue
		}
		// Extend the run over following blocks that lie right after.
		run := want
		for run < int64(len(p)) && run < 4<<20 {
			next, err := n.bmap(lbn + (boff+run)>>g.bshift)
			if err != nil || next != phys+((boff+run)>>g.bshift)*g.frag {
				break
			}
			run += min(int64(len(p))-run, g.bsize)
		}
		nfr := (boff + run + g.fsize - 1) >> g.fshift
		if !g.inRange(phys, nfr) {
			n.m.warnf("ffs: %s: inode %d: block %d address %d out of range", n.m.name, n.ino, lbn, phys)
			return syscall.EIO
		}
		pos := phys<<g.fshift + boff
		if viaCache {
			_, err = n.m.cache.ReadAt(p[:run], pos)
		} else {
			_, err = n.m.d.ReadAt(p[:run], pos)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return n.m.ioErr(fmt.Sprintf("inode %d: reading", n.ino), err)
		}
		p, off = p[run:], off+run
	}
	return nil
}

func (n *node) Read(p []byte, off int64) (int, error) {
	n.m.mu.RLock()
	defer n.m.mu.RUnlock()
	switch {
	case n.isDir():
		return 0, syscall.EISDIR
	case !n.isReg():
		return 0, syscall.EINVAL
	}
	if off < 0 {
		return 0, syscall.EINVAL
	}
	if len(p) == 0 {
		return 0, nil
	}
	// ffs_read marks the access even at end of file.
	n.markAccess()
	if off >= n.size {
		return 0, nil
	}
	if int64(len(p)) > n.size-off {
		p = p[:n.size-off]
	}
	if err := n.readData(p, off, false); err != nil {
		return 0, err
	}
	return len(p), nil
}

// shortLink reports whether a symlink's target is kept in the inode
// (ufs_readlink: shorter than fs_maxsymlinklen, or no blocks on file
// systems without in-inode links).
func (n *node) shortLink() bool {
	g := n.m.g
	return n.size < int64(g.maxsymlinklen) || (g.maxsymlinklen == 0 && n.blocks == 0)
}

// ptrBytes is the inode's block-pointer area as bytes (where short
// symlinks live), in the image's byte order.
func (n *node) ptrBytes() []byte {
	g := n.m.g
	ps := int(g.ptrSize())
	b := make([]byte, (layout.UFS_NDADDR+layout.UFS_NIADDR)*ps)
	put := func(i int, v int64) {
		if ps == 8 {
			g.bo.PutUint64(b[i*8:], uint64(v))
		} else {
			g.bo.PutUint32(b[i*4:], uint32(v))
		}
	}
	for i, v := range n.db {
		put(i, v)
	}
	for i, v := range n.ib {
		put(layout.UFS_NDADDR+i, v)
	}
	return b
}

func (n *node) setPtrBytes(b []byte) {
	g := n.m.g
	ps := int(g.ptrSize())
	full := make([]byte, (layout.UFS_NDADDR+layout.UFS_NIADDR)*ps)
	copy(full, b)
	get := func(i int) int64 {
		if ps == 8 {
			return int64(g.bo.Uint64(full[i*8:]))
		}
		return int64(int32(g.bo.Uint32(full[i*4:])))
	}
	for i := range n.db {
		n.db[i] = get(i)
	}
	for i := range n.ib {
		n.ib[i] = get(layout.UFS_NDADDR + i)
	}
}

func (n *node) readlinkLocked() (string, error) {
	if !n.isLnk() {
		return "", syscall.EINVAL
	}
	if n.size > vfs.PathMax || n.size < 0 {
		n.m.warnf("ffs: %s: symlink inode %d has size %d", n.m.name, n.ino, n.size)
		return "", syscall.EIO
	}
	if n.shortLink() {
		b := n.ptrBytes()
		if n.size > int64(len(b)) {
			return "", syscall.EIO
		}
		return string(b[:n.size]), nil
	}
	b := make([]byte, n.size)
	if err := n.readData(b, 0, true); err != nil {
		return "", err
	}
	return string(b), nil
}

func (n *node) Readlink() (string, error) {
	n.m.mu.RLock()
	defer n.m.mu.RUnlock()
	s, err := n.readlinkLocked()
	if err == nil {
		n.markAccess()
	}
	return s, err
}
