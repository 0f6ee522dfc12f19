package ffs

import (
	"fmt"
	"strings"
	"syscall"

	"github.com/rumpfs/rumpfs/fs/ffs/layout"
	"github.com/rumpfs/rumpfs/vfs"
)

// BSD file flags that forbid changes (sys/stat.h).
const (
	ufImmutable = 0x00000002
	ufAppend    = 0x00000004
	sfImmutable = 0x00020000
	sfAppend    = 0x00040000
	immutable   = ufImmutable | sfImmutable
	appendOnly  = ufAppend | sfAppend
	linkMax     = 32767 // LINK_MAX of FFS (int16 di_nlink)
)

// viaCache says whether a node's data is metadata (directories,
// symlinks), kept in the block cache, or file data, which goes straight
// to the device.
func (n *node) viaCache() bool { return !n.isReg() }

func (n *node) writeDev(b []byte, pos int64) error {
	m := n.m
	var err error
	if n.viaCache() {
		_, err = m.cache.WriteAt(b, pos)
	} else {
		_, err = m.d.WriteAt(b, pos)
		m.cache.InvalidateRange(pos, int64(len(b)))
	}
	if err != nil {
		return m.ioErr(fmt.Sprintf("inode %d: writing", n.ino), err)
	}
	return nil
}

func (n *node) readDev(b []byte, pos int64) error {
	var err error
	if n.viaCache() {
		_, err = n.m.cache.ReadAt(b, pos)
	} else {
		_, err = n.m.d.ReadAt(b, pos)
	}
	if err != nil {
		return n.m.ioErr(fmt.Sprintf("inode %d: reading", n.ino), err)
	}
	return nil
}

func (n *node) cg() int64 { return n.m.g.inoToCg(n.ino) }

// setPtr sets the pointer to logical block lbn's data, or to the
// indirect block at level lvl of its path (lvl < 0: the data block).
func (m *mount) writePtr(blk, i, v int64) error {
	g := m.g
	var b [8]byte
	ps := g.ptrSize()
	if ps == 8 {
		g.bo.PutUint64(b[:], uint64(v))
	} else {
		g.bo.PutUint32(b[:], uint32(v))
	}
	if _, err := m.cache.WriteAt(b[:ps], blk<<g.fshift+i*ps); err != nil {
		return m.ioErr("writing indirect block", err)
	}
	return nil
}

// realloc moves or grows the fragment run of direct block lbn from
// oldSize to newSize bytes (ffs_realloccg): in place when the next
// fragments are free, else to a new run (a full block when newSize is
// one) with the old contents copied and the old run freed. The new part
// is zeroed.
func (n *node) realloc(lbn, oldSize, newSize int64) error {
	m := n.m
	g := m.g
	old := n.db[lbn]
	oc, nc := oldSize>>g.fshift, newSize>>g.fshift
	// The reserve is judged before growing in place too, as NetBSD's
	// ffs_realloccg tests freespace(fs, fs_minfree) before ffs_fragextend.
	if !m.reserveOK(n.allocUID(), nc-oc) {
		return syscall.ENOSPC
	}
	if m.extendInPlace(old, oc, nc) {
		n.blocks += (nc - oc) * (g.fsize / layout.DEV_BSIZE)
		return n.writeDev(make([]byte, newSize-oldSize), (old+oc)<<g.fshift)
	}
	var nb int64
	var err error
	if nc == g.frag {
		nb, err = m.allocBlock(0, g.dtog(old), n.allocUID())
	} else {
		nb, err = m.allocFrags(nc, g.dtog(old), n.allocUID())
	}
	if err != nil {
		return err
	}
	buf := make([]byte, newSize)
	if err := n.readDev(buf[:oldSize], old<<g.fshift); err != nil {
		m.freeFragsAt(nb, nc)
		return err
	}
	if err := n.writeDev(buf, nb<<g.fshift); err != nil {
		m.freeFragsAt(nb, nc)
		return err
	}
	n.db[lbn] = nb
	n.blocks += (nc - oc) * (g.fsize / layout.DEV_BSIZE)
	return m.freeFragsAt(old, oc)
}

// balloc makes sure logical block lbn has at least size bytes (a
// fragment-rounded size for a file's last direct block, else a full
// block) allocated, as ffs_balloc does. It returns the block's address
// and whether it is new (unwritten).
//
// cover is the file size the current allocation corresponds to (n.size,
// or the size being grown to once growTail has run).
func (n *node) balloc(lbn, size, cover int64) (int64, bool, error) {
	m := n.m
	g := m.g
	if lbn < layout.UFS_NDADDR {
		cur := n.db[lbn]
		if cur != 0 {
			have := g.blksize(cover, lbn)
			if have >= size {
				return cur, false, nil
			}
			if err := n.realloc(lbn, have, size); err != nil {
				return 0, false, err
			}
			return n.db[lbn], false, nil
		}
		var pref int64
		if lbn > 0 && n.db[lbn-1] != 0 {
			pref = n.db[lbn-1] + g.frag
		}
		var b int64
		var err error
		if size >= g.bsize {
			b, err = m.allocBlock(pref, n.cg(), n.allocUID())
			size = g.bsize
		} else {
			b, err = m.allocFrags(size>>g.fshift, n.cg(), n.allocUID())
		}
		if err != nil {
			return 0, false, err
		}
		n.db[lbn] = b
		n.blocks += size / layout.DEV_BSIZE
		return b, true, nil
	}
	level, idx, err := g.indirPath(lbn)
	if err != nil {
		return 0, false, err
	}
	// Indirect blocks go in a new group every fs_maxbpg blocks, as
	// ffs_blkpref spreads large files.
	sect := (lbn - layout.UFS_NDADDR) / g.maxbpg
	hint := (n.cg() + 1 + sect) % g.ncg
	top := n.ib[level]
	if top == 0 {
		b, err := m.allocBlock(0, hint, n.allocUID())
		if err != nil {
			return 0, false, err
		}
		if _, err := m.cache.WriteAt(make([]byte, g.bsize), b<<g.fshift); err != nil {
			m.freeFragsAt(b, g.frag)
			return 0, false, m.ioErr("zeroing indirect block", err)
		}
		n.ib[level] = b
		n.blocks += g.bsize / layout.DEV_BSIZE
		top = b
	}
	blk := top
	for i := 0; i <= level; i++ {
		p, err := m.readPtr(blk, idx[i])
		if err != nil {
			return 0, false, m.ioErr("reading indirect block", err)
		}
		if p != 0 {
			blk = p
			continue
		}
		var pref int64
		if i == level {
			// Data: right after the previous block when there is one.
			if idx[i] > 0 {
				if q, err := m.readPtr(blk, idx[i]-1); err == nil && q != 0 && (lbn-layout.UFS_NDADDR)%g.maxbpg != 0 {
					pref = q + g.frag
				}
			}
		}
		nb, err := m.allocBlock(pref, hint, n.allocUID())
		if err != nil {
			return 0, false, err
		}
		if i < level {
			if _, err := m.cache.WriteAt(make([]byte, g.bsize), nb<<g.fshift); err != nil {
				m.freeFragsAt(nb, g.frag)
				return 0, false, m.ioErr("zeroing indirect block", err)
			}
		}
		if err := m.writePtr(blk, idx[i], nb); err != nil {
			m.freeFragsAt(nb, g.frag)
			return 0, false, err
		}
		n.blocks += g.bsize / layout.DEV_BSIZE
		blk = nb
		if i == level {
			return nb, true, nil
		}
	}
	return blk, false, nil
}

// growTail prepares a size change to newSize (> size): the file's old
// last block, if a fragment run among the direct blocks, becomes a full
// block when it is no longer last, or a longer run when it stays last.
func (n *node) growTail(newSize int64) error {
	g := n.m.g
	if n.size == 0 {
		return nil
	}
	last := (n.size - 1) >> g.bshift
	if last >= layout.UFS_NDADDR || n.db[last] == 0 {
		return nil
	}
	have := g.blksize(n.size, last)
	want := g.blksize(newSize, last)
	if want > have {
		return n.realloc(last, have, want)
	}
	return nil
}

// extend grows a directory or symlink to newSize with allocated, zeroed
// blocks.
func (n *node) extend(newSize int64) error {
	g := n.m.g
	if err := n.growTail(newSize); err != nil {
		return err
	}
	first := int64(0)
	if n.size > 0 {
		first = (n.size - 1) >> g.bshift
	}
	for lbn := first; lbn <= (newSize-1)>>g.bshift; lbn++ {
		b, isNew, err := n.balloc(lbn, g.blksize(newSize, lbn), newSize)
		if err != nil {
			oldSize := n.size
			n.size = newSize
			if serr := n.shrink(oldSize); serr != nil {
				n.m.warnf("ffs: %s: inode %d: undoing a failed extension: %v", n.m.name, n.ino, serr)
			}
			n.size = oldSize
			return err
		}
		if isNew {
			if err := n.writeDev(make([]byte, g.blksize(newSize, lbn)), b<<g.fshift); err != nil {
				return err
			}
		}
	}
	n.size = newSize
	return nil
}

// writeAt writes p at off, allocating as it goes and sending physically
// contiguous pieces to the device in one write. It returns how much was
// written; the size covers what was written even on error.
func (n *node) writeAt(p []byte, off int64) (int, error) {
	m := n.m
	g := m.g
	end := off + int64(len(p))
	if end > g.maxfilesize || end < off {
		return 0, syscall.EFBIG
	}
	newSize := max(n.size, end)
	if newSize > n.size {
		if err := n.growTail(newSize); err != nil {
			return 0, err
		}
	}
	// The pending device write is either a piece of p itself (pendP >= 0:
	// p[pendP:pendP+pendLen], no copy; the usual case, since only a new
	// block that the write covers partly needs zeros around the data) or
	// bytes gathered in own (pendP < 0).
	var (
		own       []byte
		pendP     int64 = -1
		pendLen   int64
		pendStart int64 = -1
		done      int64
	)
	flush := func() error {
		if pendLen == 0 {
			return nil
		}
		var err error
		if pendP >= 0 {
			err = n.writeDev(p[pendP:pendP+pendLen], pendStart)
		} else {
			err = n.writeDev(own, pendStart)
		}
		own, pendP, pendLen, pendStart = own[:0], -1, 0, -1
		return err
	}
	var werr error
	pos := off
	for pos < end {
		lbn := pos >> g.bshift
		boff := pos & (g.bsize - 1)
		k := min(end-pos, g.bsize-boff)
		need := g.blksize(newSize, lbn)
		b, isNew, err := n.balloc(lbn, need, newSize)
		if err != nil {
			werr = err
			break
		}
		var seg []byte // a padded new block, or nil: p[pos-off:][:k]
		segPos := b<<g.fshift + boff
		segLen := k
		if isNew {
			// A new block is written whole: zeros around the data.
			alloc := need
			if lbn >= layout.UFS_NDADDR {
				alloc = g.bsize
			}
			if boff != 0 || k != alloc {
				seg = make([]byte, alloc)
				copy(seg[boff:], p[pos-off:pos-off+k])
			}
			segPos, segLen = b<<g.fshift, alloc
		}
		contig := pendStart >= 0 && pendStart+pendLen == segPos && pendLen < 8<<20
		switch {
		case contig && seg == nil && pendP >= 0:
			pendLen += segLen // p[pos-off] follows the pending piece of p
		case contig:
			if pendP >= 0 {
				own = append(own[:0], p[pendP:pendP+pendLen]...)
				pendP = -1
			}
			if seg == nil {
				seg = p[pos-off : pos-off+k]
			}
			own = append(own, seg...)
			pendLen += segLen
		default:
			if err := flush(); err != nil {
				werr = err
				break
			}
			pendStart, pendLen = segPos, segLen
			if seg == nil {
				pendP = pos - off
			} else {
				own = append(own[:0], seg...)
			}
		}
		if werr != nil {
			break
		}
		pos += k
		done = pos - off
	}
	if err := flush(); err != nil && werr == nil {
		werr = err
		done = 0
	}
	if werr != nil {
		// Give back what was allocated past what was written (a tail
		// fragment grown for bytes never written, indirect blocks): the
		// allocation followed newSize, so shrink from there.
		keep := max(n.size, off+done)
		n.size = newSize
		if err := n.shrink(keep); err != nil {
			m.warnf("ffs: %s: inode %d: undoing a failed write: %v", m.name, n.ino, err)
		}
		n.size = keep
		return int(done), werr
	}
	n.size = newSize
	return int(done), nil
}

// shrink frees the blocks past newSize (ffs_truncate), shortening the
// last direct block to the fragments newSize needs, and zeroes the tail
// of the new last block. It does not change n.size until done.
func (n *node) shrink(newSize int64) error {
	m := n.m
	g := m.g
	oldSize := n.size
	keep := int64(-1) // last logical block kept
	if newSize > 0 {
		keep = (newSize - 1) >> g.bshift
	}
	// What the block tree covers: the old size, or more when trimming
	// after a failed write left blocks past it.
	var firstErr error
	note := func(err error) {
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	lastOld := (oldSize - 1) >> g.bshift
	for lbn := int64(layout.UFS_NDADDR - 1); lbn > keep && lbn >= 0; lbn-- {
		b := n.db[lbn]
		if b == 0 {
			continue
		}
		n.db[lbn] = 0
		if lbn > lastOld || oldSize == 0 {
			// Nothing should be allocated past the size; leave it
			// (fsck will say) rather than free what may not be ours.
			m.warnf("ffs: %s: inode %d: block %d past the size", m.name, n.ino, lbn)
			continue
		}
		cnt := g.blksize(oldSize, lbn) >> g.fshift
		note(m.freeFragsAt(b, cnt))
		n.blocks -= cnt * (g.fsize / layout.DEV_BSIZE)
	}
	span := int64(1)
	base := int64(layout.UFS_NDADDR)
	for level := 0; level < layout.UFS_NIADDR; level++ {
		span *= g.nindir
		if n.ib[level] != 0 {
			all, err := n.truncInd(n.ib[level], level, base, keep)
			note(err)
			if all {
				n.ib[level] = 0
			}
		}
		base += span
	}
	// The new last block, if direct, keeps only the fragments it needs.
	if keep >= 0 && keep < layout.UFS_NDADDR && n.db[keep] != 0 {
		have := g.blksize(max(oldSize, newSize), keep)
		want := g.blksize(newSize, keep)
		if want < have {
			note(m.freeFragsAt(n.db[keep]+want>>g.fshift, (have-want)>>g.fshift))
			n.blocks -= (have - want) / layout.DEV_BSIZE
		}
		// Zero past the new end, so that growing again reads zeros.
		if z := newSize & (g.bsize - 1); z != 0 && newSize < oldSize {
			if tail := g.fragroundup(z) - z; tail > 0 {
				note(n.writeDev(make([]byte, tail), n.db[keep]<<g.fshift+z))
			}
		}
	} else if keep >= layout.UFS_NDADDR && newSize < oldSize {
		if z := newSize & (g.bsize - 1); z != 0 {
			if b, err := n.bmap(keep); err == nil && b != 0 {
				note(n.writeDev(make([]byte, g.bsize-z), b<<g.fshift+z))
			}
		}
	}
	return firstErr
}

// truncInd frees the part of the indirect tree at blk (level 0 points at
// data) that maps logical blocks past keep; base is the first logical
// block it maps. It reports whether blk itself was freed.
func (n *node) truncInd(blk int64, level int, base, keep int64) (bool, error) {
	m := n.m
	g := m.g
	if !g.inRange(blk, g.frag) {
		m.warnf("ffs: %s: inode %d: indirect block %d out of range; dropped", m.name, n.ino, blk)
		return true, syscall.EIO
	}
	span := int64(1)
	for i := 0; i < level; i++ {
		span *= g.nindir
	}
	buf := make([]byte, g.bsize)
	if _, err := m.cache.ReadAt(buf, blk<<g.fshift); err != nil {
		return false, m.ioErr("reading indirect block", err)
	}
	ps := g.ptrSize()
	get := func(i int64) int64 {
		if ps == 8 {
			return int64(g.bo.Uint64(buf[i*8:]))
		}
		return int64(int32(g.bo.Uint32(buf[i*4:])))
	}
	var firstErr error
	changed := false
	allFree := true
	for i := int64(0); i < g.nindir; i++ {
		p := get(i)
		if p == 0 {
			continue
		}
		cb := base + i*span
		if cb+span-1 <= keep {
			allFree = false
			continue
		}
		if level == 0 {
			if g.inRange(p, g.frag) {
				if err := m.freeFragsAt(p, g.frag); err != nil && firstErr == nil {
					firstErr = err
				}
				n.blocks -= g.bsize / layout.DEV_BSIZE
			}
			changed = true
			if ps == 8 {
				g.bo.PutUint64(buf[i*8:], 0)
			} else {
				g.bo.PutUint32(buf[i*4:], 0)
			}
			continue
		}
		all, err := n.truncInd(p, level-1, cb, keep)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		if all {
			changed = true
			if ps == 8 {
				g.bo.PutUint64(buf[i*8:], 0)
			} else {
				g.bo.PutUint32(buf[i*4:], 0)
			}
		} else {
			allFree = false
		}
	}
	if allFree {
		if err := m.freeFragsAt(blk, g.frag); err != nil && firstErr == nil {
			firstErr = err
		}
		n.blocks -= g.bsize / layout.DEV_BSIZE
		return true, firstErr
	}
	if changed {
		if _, err := m.cache.WriteAt(buf, blk<<g.fshift); err != nil && firstErr == nil {
			firstErr = m.ioErr("writing indirect block", err)
		}
	}
	return false, firstErr
}

// truncate sets the size of a file, directory or long symlink, freeing
// or growing as needed. mu held for writing.
func (n *node) truncate(newSize int64) error {
	g := n.m.g
	switch n.mode & layout.IFMT {
	case layout.IFCHR, layout.IFBLK, layout.IFIFO, layout.IFSOCK:
		n.db = [layout.UFS_NDADDR]int64{}
		n.ib = [layout.UFS_NIADDR]int64{}
		n.size = 0
		return n.store()
	case layout.IFLNK:
		if n.shortLink() {
			n.db = [layout.UFS_NDADDR]int64{}
			n.ib = [layout.UFS_NIADDR]int64{}
			n.size = 0
			return n.store()
		}
	}
	if newSize > g.maxfilesize || newSize < 0 {
		return syscall.EFBIG
	}
	if n.isDir() {
		// Only a dead directory is truncated (rmdir, rename over it,
		// inactive): its entries go with its blocks.
		n.dropDirhash()
	}
	if newSize > n.size {
		if err := n.growTail(newSize); err != nil {
			return err
		}
		n.size = newSize
		return n.store()
	}
	err := n.shrink(newSize)
	n.size = newSize
	if serr := n.store(); err == nil {
		err = serr
	}
	return err
}

func (n *node) now() timespec { return tsOf(n.m.now()) }

// begin takes the writer lock for a change, refusing on a read-only or
// unmounted file system.
func (m *mount) begin() error {
	if m.ro {
		return syscall.EROFS
	}
	m.mu.Lock()
	if m.dead {
		m.mu.Unlock()
		return syscall.EIO
	}
	return nil
}

// end releases the writer lock, syncing first on a sync mount.
func (m *mount) end() {
	if m.opts.sync {
		if err := m.syncLocked(); err != nil {
			m.warnf("ffs: %s: sync: %v", m.name, err)
		}
	}
	m.mu.Unlock()
}

// allocUID is whose minfree reserve an allocation for n is judged by:
// the writer's uid during WriteCred, else the file's owner (a Write
// without credentials, and metadata such as directory blocks).
func (n *node) allocUID() uint32 {
	if n.m.hasWriter {
		return n.m.writer
	}
	return n.uid
}

// WriteCred is Write on behalf of cred, the credentials the file was
// opened with: as in NetBSD (ffs_alloc's kauth_authorize_system test on
// the write's cred), a non-root writer gets ENOSPC once only the minfree
// reserve is left, whoever owns the file.
func (n *node) WriteCred(cred *vfs.Cred, p []byte, off int64) (int, error) {
	return n.write(cred, p, off)
}

func (n *node) Write(p []byte, off int64) (int, error) {
	return n.write(nil, p, off)
}

func (n *node) write(cred *vfs.Cred, p []byte, off int64) (int, error) {
	m := n.m
	if err := m.begin(); err != nil {
		return 0, err
	}
	defer m.end()
	if cred != nil {
		m.writer, m.hasWriter = cred.Uid, true
		defer func() { m.hasWriter = false }()
	}
	switch {
	case n.isDir():
		return 0, syscall.EISDIR
	case !n.isReg():
		return 0, syscall.EINVAL
	case n.freed:
		return 0, syscall.ESTALE
	}
	if off < 0 {
		return 0, syscall.EINVAL
	}
	if n.flags&immutable != 0 || (n.flags&appendOnly != 0 && off < n.size) {
		return 0, syscall.EPERM
	}
	if len(p) == 0 {
		return 0, nil
	}
	k, err := n.writeAt(p, off)
	if k > 0 {
		n.mtime = n.now()
		n.ctime = n.mtime
	}
	if serr := n.store(); err == nil {
		err = serr
	}
	return k, err
}

// SetattrCred is Setattr on behalf of cred: a truncate that extends the
// file may grow its last fragment, and that allocation is judged by
// cred against the minfree reserve, as a write's is.
func (n *node) SetattrCred(cred *vfs.Cred, sa *vfs.SetAttr) error {
	return n.setattr(cred, sa)
}

func (n *node) Setattr(sa *vfs.SetAttr) error {
	return n.setattr(nil, sa)
}

func (n *node) setattr(cred *vfs.Cred, sa *vfs.SetAttr) error {
	m := n.m
	if err := m.begin(); err != nil {
		return err
	}
	defer m.end()
	if cred != nil {
		m.writer, m.hasWriter = cred.Uid, true
		defer func() { m.hasWriter = false }()
	}
	if n.freed {
		return syscall.ESTALE
	}
	if n.flags&immutable != 0 && sa.Valid&^vfs.SetFlags != 0 {
		return syscall.EPERM
	}
	if sa.Valid&vfs.SetSize != 0 {
		switch {
		case n.isDir():
			return syscall.EISDIR
		case !n.isReg():
			return syscall.EINVAL
		}
		if n.flags&appendOnly != 0 {
			return syscall.EPERM
		}
		if int64(sa.Size) < 0 || int64(sa.Size) > m.g.maxfilesize {
			return syscall.EFBIG
		}
		if int64(sa.Size) != n.size {
			if err := n.truncate(int64(sa.Size)); err != nil {
				return err
			}
			n.mtime = n.now()
		}
	}
	if sa.Valid&vfs.SetMode != 0 {
		n.mode = n.mode&layout.IFMT | uint16(sa.Mode&07777)
	}
	if sa.Valid&vfs.SetUid != 0 {
		n.uid = sa.Uid
	}
	if sa.Valid&vfs.SetGid != 0 {
		n.gid = sa.Gid
	}
	if sa.Valid&vfs.SetAtime != 0 {
		n.accessed.Store(0) // an explicit time replaces a pending read's
		n.atime = tsOf(sa.Atime)
	}
	if sa.Valid&vfs.SetMtime != 0 {
		n.mtime = tsOf(sa.Mtime)
	}
	if sa.Valid&vfs.SetFlags != 0 {
		n.flags = sa.Flags
	}
	n.ctime = n.now()
	return n.store()
}

func (n *node) Fsync(dataOnly bool) error {
	m := n.m
	if m.ro {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead {
		return syscall.EIO
	}
	return m.syncLocked()
}

// checkName validates a new entry name.
func checkName(name string) error {
	switch {
	case name == "" || strings.ContainsAny(name, "/\x00"):
		return syscall.EINVAL
	case name == "." || name == "..":
		return syscall.EEXIST
	case len(name) > layout.MAXNAMLEN:
		return syscall.ENAMETOOLONG
	}
	return nil
}

// prepCreate checks that a new name can go into directory n.
func (n *node) prepCreate(name string) error {
	if !n.isDir() {
		return syscall.ENOTDIR
	}
	if n.nlink <= 0 || n.freed {
		return syscall.ENOENT
	}
	if err := checkName(name); err != nil {
		return err
	}
	if n.flags&immutable != 0 {
		return syscall.EPERM
	}
	if _, err := n.lookupIno(name); err == nil {
		return syscall.EEXIST
	} else if err != syscall.ENOENT {
		return err
	}
	return nil
}

// newNode allocates and initialises an inode (ffs_valloc + ufs_makeinode).
func (n *node) newNode(cred *vfs.Cred, mode uint16) (*node, error) {
	m := n.m
	isDir := mode&layout.IFMT == layout.IFDIR
	ino, err := m.allocInode(n, isDir)
	if err != nil {
		return nil, err
	}
	now := n.now()
	c := &node{m: m, ino: ino, mode: mode, nlink: 1, uid: cred.Uid, gid: n.gid,
		atime: now, mtime: now, ctime: now, btime: now}
	// Keep the old generation number and step it, so that NFS-style
	// handles of a freed inode go stale.
	buf := make([]byte, m.g.isize)
	if _, err := m.cache.ReadAt(buf, m.g.inoOffset(ino)); err == nil {
		var old node
		old.m = m
		old.decode(buf)
		c.gen = old.gen + 1
	}
	if c.gen == 0 {
		m.gen++
		c.gen = int32(m.gen)
	}
	if isDir {
		c.nlink = 2
	}
	return c, nil
}

// abandon frees a node that never got a name.
func (m *mount) abandon(c *node) {
	c.nlink = 0
	if err := c.truncate(0); err != nil {
		m.warnf("ffs: %s: undoing inode %d: %v", m.name, c.ino, err)
	}
	m.freeInode(c)
	c.freed = true
}

// finishCreate enters c under name in n and caches it.
func (n *node) finishCreate(c *node, name string) (vfs.Vnode, error) {
	m := n.m
	if err := c.store(); err != nil {
		m.abandon(c)
		return nil, err
	}
	if err := n.enter(name, uint32(c.ino), dtype(c.mode)); err != nil {
		m.abandon(c)
		return nil, err
	}
	n.mtime = n.now()
	n.ctime = n.mtime
	if err := n.store(); err != nil {
		return nil, err
	}
	return m.vc.Insert(c.ino, c), nil
}

func (n *node) Create(cred *vfs.Cred, name string, mode uint32) (vfs.Vnode, error) {
	m := n.m
	if err := m.begin(); err != nil {
		return nil, err
	}
	defer m.end()
	if err := n.prepCreate(name); err != nil {
		return nil, err
	}
	c, err := n.newNode(cred, layout.IFREG|uint16(mode&07777))
	if err != nil {
		return nil, err
	}
	return n.finishCreate(c, name)
}

func (n *node) Mknod(cred *vfs.Cred, name string, mode uint32, rdev uint64) (vfs.Vnode, error) {
	m := n.m
	switch mode & vfs.S_IFMT {
	case vfs.S_IFCHR, vfs.S_IFBLK, vfs.S_IFIFO, vfs.S_IFSOCK:
	case vfs.S_IFREG:
		return n.Create(cred, name, mode&07777)
	default:
		return nil, syscall.EINVAL
	}
	if err := m.begin(); err != nil {
		return nil, err
	}
	defer m.end()
	if err := n.prepCreate(name); err != nil {
		return nil, err
	}
	c, err := n.newNode(cred, uint16(mode&(vfs.S_IFMT|07777)))
	if err != nil {
		return nil, err
	}
	if t := mode & vfs.S_IFMT; t == vfs.S_IFCHR || t == vfs.S_IFBLK {
		c.db[0] = netbsdDev(rdev)
	}
	return n.finishCreate(c, name)
}

func (n *node) Symlink(cred *vfs.Cred, name, target string) (vfs.Vnode, error) {
	m := n.m
	if len(target) == 0 {
		return nil, syscall.ENOENT
	}
	if len(target) >= vfs.PathMax {
		return nil, syscall.ENAMETOOLONG
	}
	if err := m.begin(); err != nil {
		return nil, err
	}
	defer m.end()
	if err := n.prepCreate(name); err != nil {
		return nil, err
	}
	c, err := n.newNode(cred, layout.IFLNK|0777)
	if err != nil {
		return nil, err
	}
	if len(target) < m.g.maxsymlinklen {
		// Short link: the text lives in the block pointers.
		c.setPtrBytes([]byte(target))
		c.size = int64(len(target))
	} else {
		if _, err := c.writeAt([]byte(target), 0); err != nil {
			c.size = int64(len(target))
			m.abandon(c)
			return nil, err
		}
	}
	return n.finishCreate(c, name)
}

func (n *node) Mkdir(cred *vfs.Cred, name string, mode uint32) (vfs.Vnode, error) {
	m := n.m
	g := m.g
	if err := m.begin(); err != nil {
		return nil, err
	}
	defer m.end()
	if err := n.prepCreate(name); err != nil {
		return nil, err
	}
	if n.nlink >= linkMax {
		return nil, syscall.EMLINK
	}
	c, err := n.newNode(cred, layout.IFDIR|uint16(mode&07777))
	if err != nil {
		return nil, err
	}
	// BSD: a new directory inherits its parent's set-group-id bit.
	if n.mode&vfs.S_ISGID != 0 {
		c.mode |= vfs.S_ISGID
	}
	// The first chunk: "." and "..", the latter owning the rest.
	if err := c.extend(layout.DIRBLKSIZ); err != nil {
		m.abandon(c)
		return nil, err
	}
	chunk := make([]byte, layout.DIRBLKSIZ)
	dot := layout.Direct{Ino: uint32(c.ino), Reclen: 12, Type: vfs.DT_DIR, Name: []byte(".")}
	dot.Encode(chunk, g.bo, g.oldDir)
	dd := layout.Direct{Ino: uint32(n.ino), Reclen: layout.DIRBLKSIZ - 12, Type: vfs.DT_DIR, Name: []byte("..")}
	dd.Encode(chunk[12:], g.bo, g.oldDir)
	if err := c.writeDirBytes(chunk, 0); err != nil {
		m.abandon(c)
		return nil, err
	}
	n.nlink++
	vn, err := n.finishCreate(c, name)
	if err != nil {
		n.nlink--
		n.store()
		return nil, err
	}
	return vn, nil
}

func (n *node) Link(name string, target vfs.Vnode) error {
	m := n.m
	t, ok := target.(*node)
	if !ok || t.m != m {
		return syscall.EXDEV
	}
	if err := m.begin(); err != nil {
		return err
	}
	defer m.end()
	if t.isDir() {
		return syscall.EPERM
	}
	if t.nlink <= 0 || t.freed {
		return syscall.ENOENT
	}
	if t.nlink >= linkMax {
		return syscall.EMLINK
	}
	if t.flags&(immutable|appendOnly) != 0 {
		return syscall.EPERM
	}
	if err := n.prepCreate(name); err != nil {
		return err
	}
	t.nlink++
	t.ctime = n.now()
	if err := t.store(); err != nil {
		t.nlink--
		return err
	}
	if err := n.enter(name, uint32(t.ino), dtype(t.mode)); err != nil {
		t.nlink--
		t.store()
		return err
	}
	n.mtime = n.now()
	n.ctime = n.mtime
	return n.store()
}

// getChild loads the node a name of directory n refers to. mu held.
func (n *node) getChild(name string) (*node, error) {
	ino, err := n.lookupIno(name)
	if err != nil {
		return nil, err
	}
	return n.m.vc.Get(uint64(ino))
}

func (n *node) Remove(name string) error {
	m := n.m
	if name == "." || name == ".." {
		return syscall.EINVAL
	}
	if err := m.begin(); err != nil {
		return err
	}
	var victim *node
	defer func() {
		m.end()
		if victim != nil {
			victim.Rele()
		}
	}()
	if !n.isDir() {
		return syscall.ENOTDIR
	}
	c, err := n.getChild(name)
	if err != nil {
		return err
	}
	victim = c
	if c.isDir() {
		return syscall.EISDIR
	}
	if c.flags&(immutable|appendOnly) != 0 || n.flags&(immutable|appendOnly) != 0 {
		return syscall.EPERM
	}
	if err := n.unenter(name); err != nil {
		return err
	}
	c.nlink--
	c.ctime = n.now()
	n.mtime = c.ctime
	n.ctime = c.ctime
	if err := c.store(); err != nil {
		return err
	}
	return n.store()
}

func (n *node) Rmdir(name string) error {
	m := n.m
	switch name {
	case ".":
		return syscall.EINVAL
	case "..":
		return syscall.ENOTEMPTY
	}
	if err := m.begin(); err != nil {
		return err
	}
	var victim *node
	defer func() {
		m.end()
		if victim != nil {
			victim.Rele()
		}
	}()
	if !n.isDir() {
		return syscall.ENOTDIR
	}
	c, err := n.getChild(name)
	if err != nil {
		return err
	}
	victim = c
	if !c.isDir() {
		return syscall.ENOTDIR
	}
	if c.ino == layout.UFS_ROOTINO {
		return syscall.EBUSY
	}
	if c.flags&(immutable|appendOnly) != 0 || n.flags&(immutable|appendOnly) != 0 {
		return syscall.EPERM
	}
	empty, err := c.isEmpty()
	if err != nil {
		return err
	}
	if !empty {
		return syscall.ENOTEMPTY
	}
	if err := n.unenter(name); err != nil {
		return err
	}
	// ufs_rmdir: the parent loses the child's "..", the child its name
	// and its "."; its blocks go now, the inode when the last reference
	// does.
	n.nlink--
	c.nlink = 0
	now := n.now()
	n.mtime, n.ctime, c.ctime = now, now, now
	if err := c.truncate(0); err != nil {
		return err
	}
	return n.store()
}

// isAncestor reports whether directory a is d or one of d's ancestors,
// walking ".." entries up to the root (ufs_checkpath).
func (m *mount) isAncestor(a, d *node) (bool, error) {
	cur := d.ino
	for i := 0; i < 1<<16; i++ {
		if cur == a.ino {
			return true, nil
		}
		if cur == layout.UFS_ROOTINO {
			return false, nil
		}
		var c *node
		if cached, ok := m.vc.Lookup(cur); ok {
			c = cached
		} else {
			var err error
			c, err = m.loadNode(cur)
			if err != nil {
				return false, err
			}
			c.nohash = true
		}
		if !c.isDir() {
			return false, syscall.EIO
		}
		up, err := c.lookupIno("..")
		if err != nil {
			return false, err
		}
		cur = uint64(up)
	}
	return false, syscall.ELOOP
}

func (n *node) Rename(oldName string, newDir vfs.Vnode, newName string) error {
	m := n.m
	td, ok := newDir.(*node)
	if !ok || td.m != m {
		return syscall.EXDEV
	}
	if oldName == "." || oldName == ".." || newName == "." || newName == ".." {
		return syscall.EINVAL
	}
	if err := checkName(newName); err != nil {
		return err
	}
	if err := m.begin(); err != nil {
		return err
	}
	var rele []*node
	defer func() {
		m.end()
		for _, r := range rele {
			r.Rele()
		}
	}()
	if !n.isDir() || !td.isDir() {
		return syscall.ENOTDIR
	}
	if td.nlink <= 0 {
		return syscall.ENOENT
	}
	src, err := n.getChild(oldName)
	if err != nil {
		return err
	}
	rele = append(rele, src)
	if src.flags&(immutable|appendOnly) != 0 || n.flags&appendOnly != 0 {
		return syscall.EPERM
	}
	var tgt *node
	if t, err := td.getChild(newName); err == nil {
		tgt = t
		rele = append(rele, tgt)
	} else if err != syscall.ENOENT {
		return err
	}
	if tgt == src {
		return nil // two names of one file: nothing to do (POSIX)
	}
	moveDir := src.isDir() && td != n
	if src.isDir() {
		if anc, err := m.isAncestor(src, td); err != nil {
			return err
		} else if anc {
			return syscall.EINVAL
		}
	}
	if tgt != nil {
		if tgt.flags&(immutable|appendOnly) != 0 {
			return syscall.EPERM
		}
		switch {
		case src.isDir() && !tgt.isDir():
			return syscall.ENOTDIR
		case !src.isDir() && tgt.isDir():
			return syscall.EISDIR
		case tgt.isDir():
			empty, err := tgt.isEmpty()
			if err != nil {
				return err
			}
			if !empty {
				return syscall.ENOTEMPTY
			}
		}
	} else if moveDir && td.nlink >= linkMax {
		return syscall.EMLINK
	}
	now := n.now()
	// The new name first (the only step that can run out of space), so
	// that a failure leaves everything as it was.
	if tgt != nil {
		if err := td.rewrite(newName, uint32(src.ino), dtype(src.mode)); err != nil {
			return err
		}
		if tgt.isDir() {
			// The replaced directory loses its name and "."; its ".."
			// no longer counts for td.
			tgt.nlink = 0
			td.nlink--
			if err := tgt.truncate(0); err != nil {
				return err
			}
		} else {
			tgt.nlink--
		}
		tgt.ctime = now
		if err := tgt.store(); err != nil {
			return err
		}
	} else if err := td.enter(newName, uint32(src.ino), dtype(src.mode)); err != nil {
		return err
	}
	if err := n.unenter(oldName); err != nil {
		return err
	}
	if moveDir {
		if err := src.rewrite("..", uint32(td.ino), vfs.DT_DIR); err != nil {
			return err
		}
		n.nlink--
		td.nlink++
	}
	src.ctime = now
	n.mtime, n.ctime = now, now
	td.mtime, td.ctime = now, now
	if err := src.store(); err != nil {
		return err
	}
	if err := n.store(); err != nil {
		return err
	}
	return td.store()
}
