package ext2fs

// Writing extent trees (ext4's EXT4_EXTENTS_FL files); the read side is
// mapExtent in inode.go.
//
// The tree follows Linux's fs/ext4/extents.c in its on-disk results:
//   - the root lives in i_block (4 entries), other nodes fill a block
//     ((bsize-12)/12 entries, then a struct ext4_extent_tail holding the
//     crc32c of the node when metadata_csum is on);
//   - every index entry's ei_block equals the first logical block of its
//     child (ext4_ext_correct_indexes; e2fsck's "index start" check);
//   - a write to an unmapped block extends the neighbouring extent when it
//     is physically contiguous (ext4_ext_try_to_merge, at most 32768
//     blocks, 32767 for an unwritten extent), else inserts a new entry; a
//     full node splits (entries after the insertion point move to a new
//     sibling, so appends leave full nodes behind, as ext4_ext_split), a
//     full root grows the tree by one level (ext4_ext_grow_indepth);
//   - writing into an unwritten (fallocated) extent splits it around the
//     written block, which becomes initialized
//     (ext4_ext_convert_to_initialized);
//   - truncation frees blocks and nodes from the end
//     (ext4_ext_remove_space) and then pulls the children of the root back
//     into i_block while they fit (ext4_ext_try_to_merge_up), so that
//     e2fsck finds no tree that "could be shorter".
//
// Every node read from disk is checked (magic, entries <= max <= what the
// node holds, depth <= 5 and exactly one less than the parent's, the
// checksum) and every extent (length > 0, blocks inside the file system)
// before its numbers are used; a bad one gives EIO.
//
// All changes to nodes happen in cache buffers of the current write
// operation (or in ip.di.Block for the root, stored by the caller with the
// inode), so the image only ever sees whole operations.

import (
	"syscall"
)

const (
	extRootMax      = (NBlocks*4 - ExtentHeaderSize) / ExtentEntrySize // 4
	extMaxLblk      = 1<<32 - 1                                        // EXT_MAX_BLOCKS: first logical block never mapped
	extUninitMaxLen = ExtentInitMaxLen - 1
)

// extNode is one node on the path from the root to a leaf.
type extNode struct {
	b    *buf   // the node's block; nil for the root, kept in i_block
	data []byte // header and entries (a copy of i_block for the root)
	pos  int    // entry followed (index node) or found (leaf, -1: none)
}

func (n *extNode) entries() int       { return int(le.Uint16(n.data[2:])) }
func (n *extNode) setEntries(k int)   { le.PutUint16(n.data[2:], uint16(k)) }
func (n *extNode) max() int           { return int(le.Uint16(n.data[4:])) }
func (n *extNode) depth() int         { return int(le.Uint16(n.data[6:])) }
func (n *extNode) key(i int) uint32   { return le.Uint32(n.ent(i)) }
func (n *extNode) child(i int) uint64 { e := DecodeExtentIdx(n.ent(i)); return e.Leaf() }

func (n *extNode) ent(i int) []byte {
	off := ExtentHeaderSize + i*ExtentEntrySize
	return n.data[off : off+ExtentEntrySize]
}

// insertEnt puts ent at position at (the node has room).
func (n *extNode) insertEnt(at int, ent []byte) {
	k := n.entries()
	off := ExtentHeaderSize + at*ExtentEntrySize
	end := ExtentHeaderSize + k*ExtentEntrySize
	copy(n.data[off+ExtentEntrySize:end+ExtentEntrySize], n.data[off:end])
	copy(n.data[off:off+ExtentEntrySize], ent)
	n.setEntries(k + 1)
}

// removeEnt deletes the entry at position at.
func (n *extNode) removeEnt(at int) {
	k := n.entries()
	off := ExtentHeaderSize + at*ExtentEntrySize
	end := ExtentHeaderSize + k*ExtentEntrySize
	copy(n.data[off:end-ExtentEntrySize], n.data[off+ExtentEntrySize:end])
	clear(n.data[end-ExtentEntrySize : end])
	n.setEntries(k - 1)
}

func putExtentHeader(b []byte, entries, max, depth int) {
	le.PutUint16(b[0:], ExtentMagic)
	le.PutUint16(b[2:], uint16(entries))
	le.PutUint16(b[4:], uint16(max))
	le.PutUint16(b[6:], uint16(depth))
	le.PutUint32(b[8:], 0) // eh_generation, unused by Linux
}

// putExtent encodes struct ext4_extent.
func putExtent(b []byte, lblk, n uint32, uninit bool, phys uint64) {
	l := n
	if uninit {
		l += ExtentInitMaxLen
	}
	le.PutUint32(b[0:], lblk)
	le.PutUint16(b[4:], uint16(l))
	le.PutUint16(b[6:], uint16(phys>>32))
	le.PutUint32(b[8:], uint32(phys))
}

// putExtentIdx encodes struct ext4_extent_idx.
func putExtentIdx(b []byte, lblk uint32, child uint64) {
	le.PutUint32(b[0:], lblk)
	le.PutUint32(b[4:], uint32(child))
	le.PutUint16(b[8:], uint16(child>>32))
	le.PutUint16(b[10:], 0)
}

// extBlockMax is eh_max of a node in a block (ext4_ext_space_block).
func (fs *fsys) extBlockMax() int { return (fs.bsize - ExtentHeaderSize) / ExtentEntrySize }

// initExtentRoot gives a new inode an empty tree (ext4_ext_tree_init).
func (ip *inode) initExtentRoot() {
	ip.di.Flags |= FlagExtents
	var b [NBlocks * 4]byte
	putExtentHeader(b[:], 0, extRootMax, 0)
	for i := range ip.di.Block {
		ip.di.Block[i] = le.Uint32(b[i*4:])
	}
}

// maxSize is the largest size the inode's mapping allows: Linux's
// ext4_max_size for extent files (2^32-1 blocks, and what i_blocks counts
// without huge_file), ext4_max_bitmap_size otherwise.
func (ip *inode) maxSize() uint64 {
	fs := ip.fs
	if !ip.extentsOn() {
		return fs.maxFileSize()
	}
	shift := uint(10 + fs.sb.LogBlockSize)
	res := uint64(extMaxLblk) << shift
	if fs.sb.FeatureRoCompat&RoCompatHugeFile == 0 {
		res = min(res, (uint64(1<<32-1)>>(shift-9))<<shift)
	}
	return res
}

// extDirty records a change to node n: the root goes back into i_block
// (the caller stores the inode), a block gets its checksum and is marked
// dirty.
func (ip *inode) extDirty(n *extNode) {
	if n.b == nil {
		for i := range ip.di.Block {
			ip.di.Block[i] = le.Uint32(n.data[i*4:])
		}
		return
	}
	if ip.fs.metaCsum {
		end := ExtentHeaderSize + n.max()*ExtentEntrySize
		le.PutUint32(n.data[end:], crc32c(ip.csumSeed(), n.data[:end]))
	}
	ip.fs.cache.markDirty(n.b)
}

// extRoot returns the root node, checked.
func (ip *inode) extRoot() (extNode, error) {
	n := extNode{data: ip.rootExtentBytes(), pos: -1}
	if _, err := ip.extentNode(n.data, -1); err != nil {
		return n, errIO
	}
	return n, nil
}

// extLoad reads and checks the node in block blk, which must be at depth
// want.
func (ip *inode) extLoad(blk uint64, want int) (extNode, error) {
	fs := ip.fs
	if !fs.validBlock(blk) {
		return extNode{}, errIO
	}
	b, err := fs.cache.get(blk)
	if err != nil {
		return extNode{}, errIO
	}
	h, err := ip.extentNode(b.data, want)
	if err != nil || h.Max == 0 || int(h.Max) > fs.extBlockMax() {
		return extNode{}, errIO
	}
	if fs.metaCsum {
		end := ExtentHeaderSize + int(h.Max)*ExtentEntrySize
		if crc32c(ip.csumSeed(), b.data[:end]) != le.Uint32(b.data[end:]) {
			return extNode{}, errIO
		}
	}
	return extNode{b: b, data: b.data, pos: -1}, nil
}

// extCheck checks a leaf entry and returns its length and state.
func (ip *inode) extCheck(e Extent) (uint32, bool, error) {
	n, uninit := e.Length()
	fs := ip.fs
	if n == 0 || uint64(e.Block)+uint64(n) > extMaxLblk ||
		e.Start() < uint64(fs.sb.FirstDataBlock) || e.Start()+uint64(n) > fs.sb.BlocksCount() {
		return 0, false, errIO
	}
	return n, uninit, nil
}

// extFind walks from the root to the leaf that holds (or would hold)
// logical block lblk. In each index node pos is the last entry starting
// at or before lblk (the first if none does); in the leaf, the last extent
// starting at or before lblk, or -1.
func (ip *inode) extFind(lblk uint32) ([]extNode, error) {
	root, err := ip.extRoot()
	if err != nil {
		return nil, err
	}
	path := []extNode{root}
	for {
		n := &path[len(path)-1]
		k := n.entries()
		pos := -1
		for i := 0; i < k && n.key(i) <= lblk; i++ {
			pos = i
		}
		d := n.depth()
		if d == 0 {
			n.pos = pos
			return path, nil
		}
		if k == 0 {
			return nil, errIO // an index node without entries
		}
		n.pos = max(pos, 0)
		c, err := ip.extLoad(n.child(n.pos), d-1)
		if err != nil {
			return nil, err
		}
		path = append(path, c)
	}
}

// extGoal is where a new block for lblk should go: right after (or
// before) the physical blocks of the nearest extent, as Linux's
// ext4_ext_find_goal, so that extents grow contiguously.
func (ip *inode) extGoal(path []extNode, lblk uint32) uint64 {
	leaf := &path[len(path)-1]
	p := leaf.pos
	if p < 0 && leaf.entries() > 0 {
		p = 0
	}
	if p >= 0 {
		e := DecodeExtent(leaf.ent(p))
		if lblk >= e.Block {
			return e.Start() + uint64(lblk-e.Block)
		}
		if d := uint64(e.Block - lblk); e.Start() > d {
			return e.Start() - d
		}
	}
	if leaf.b != nil {
		return leaf.b.blk + 1
	}
	return ip.goal()
}

// extReserve fails with ENOSPC unless the free blocks cover the worst case
// of an insertion into a tree of the given path length (a split at every
// level, a new root level, the data block), times k insertions, so that a
// change is never left half done for want of a block.
func (ip *inode) extReserve(path []extNode, k int) error {
	if ip.fs.sb.FreeBlocksCount() < uint64(k*(len(path)+2)) {
		return syscall.ENOSPC
	}
	return nil
}

// extBmapAlloc is bmapAlloc for extent-mapped inodes: it maps lblk,
// allocating the block (and tree nodes) if it is unmapped, and converting
// it if it lies in an unwritten extent. fresh reports a block whose bytes
// are undefined until written.
func (ip *inode) extBmapAlloc(lblk uint64, goal uint64) (phys uint64, fresh bool, err error) {
	fs := ip.fs
	if !fs.extents {
		return 0, false, errIO // an extent-mapped inode on a file system without extents is corrupt
	}
	if lblk >= extMaxLblk {
		return 0, false, syscall.EFBIG
	}
	path, err := ip.extFind(uint32(lblk))
	if err != nil {
		return 0, false, err
	}
	leaf := &path[len(path)-1]
	if leaf.pos >= 0 {
		e := DecodeExtent(leaf.ent(leaf.pos))
		n, uninit, err := ip.extCheck(e)
		if err != nil {
			return 0, false, err
		}
		if lblk < uint64(e.Block)+uint64(n) {
			phys := e.Start() + (lblk - uint64(e.Block))
			if !uninit {
				return phys, false, nil
			}
			if err := ip.extConvert(path, uint32(lblk)); err != nil {
				return 0, false, err
			}
			return phys, true, nil
		}
	}
	if err := ip.extReserve(path, 1); err != nil {
		return 0, false, err
	}
	if goal == 0 {
		goal = ip.extGoal(path, uint32(lblk))
	}
	phys, err = fs.allocBlock(goal)
	if err != nil {
		return 0, false, err
	}
	if err := ip.extInsert(path, uint32(lblk), phys, 1, false); err != nil {
		_ = fs.freeBlock(phys)
		return 0, false, err
	}
	ip.addBlocks(1)
	return phys, true, nil
}

// extInsert maps the unmapped range [lblk, lblk+n) to phys: by growing
// the leaf's extent on either side when contiguous, else by a new entry
// after leaf.pos.
func (ip *inode) extInsert(path []extNode, lblk uint32, phys uint64, n uint32, uninit bool) error {
	leaf := &path[len(path)-1]
	lim := uint32(ExtentInitMaxLen)
	if uninit {
		lim = extUninitMaxLen
	}
	mergeable := func(i int) (Extent, uint32, bool) {
		if i < 0 || i >= leaf.entries() {
			return Extent{}, 0, false
		}
		e := DecodeExtent(leaf.ent(i))
		en, eu, err := ip.extCheck(e)
		return e, en, err == nil && eu == uninit
	}
	p := leaf.pos
	if e, en, ok := mergeable(p); ok && uint64(e.Block)+uint64(en) == uint64(lblk) &&
		e.Start()+uint64(en) == phys && en+n <= lim {
		total := en + n
		if r, rn, ok := mergeable(p + 1); ok && uint64(r.Block) == uint64(lblk)+uint64(n) &&
			r.Start() == phys+uint64(n) && total+rn <= lim {
			total += rn
			leaf.removeEnt(p + 1)
		}
		putExtent(leaf.ent(p), e.Block, total, uninit, e.Start())
		ip.extDirty(leaf)
		return nil
	}
	if r, rn, ok := mergeable(p + 1); ok && uint64(r.Block) == uint64(lblk)+uint64(n) &&
		r.Start() == phys+uint64(n) && rn+n <= lim {
		putExtent(leaf.ent(p+1), lblk, rn+n, uninit, phys)
		ip.extDirty(leaf)
		if p+1 == 0 {
			ip.extFixKeys(path, len(path)-1)
		}
		return nil
	}
	var ent [ExtentEntrySize]byte
	putExtent(ent[:], lblk, n, uninit, phys)
	return ip.extInsertAt(path, len(path)-1, p+1, ent[:])
}

// extFixKeys makes the index entries above path[lvl] start where their
// child now starts, as far up as the change reaches (a first entry).
func (ip *inode) extFixKeys(path []extNode, lvl int) {
	for l := lvl; l > 0; l-- {
		c, par := &path[l], &path[l-1]
		if c.entries() == 0 {
			return
		}
		k := c.key(0)
		if par.key(par.pos) != k {
			le.PutUint32(par.ent(par.pos), k)
			ip.extDirty(par)
		}
		if par.pos != 0 {
			return
		}
	}
}

// extNewNode allocates a block for a tree node at the given depth.
func (ip *inode) extNewNode(goal uint64, depth int) (extNode, error) {
	fs := ip.fs
	blk, err := fs.allocBlock(goal)
	if err != nil {
		return extNode{}, err
	}
	b := fs.cache.getZero(blk)
	putExtentHeader(b.data, 0, fs.extBlockMax(), depth)
	ip.addBlocks(1)
	return extNode{b: b, data: b.data, pos: -1}, nil
}

// extInsertAt inserts entry ent at position at of node path[lvl],
// splitting full nodes and growing the root as needed. path is not valid
// afterwards.
func (ip *inode) extInsertAt(path []extNode, lvl, at int, ent []byte) error {
	n := &path[lvl]
	k := n.entries()
	if k < n.max() {
		n.insertEnt(at, ent)
		ip.extDirty(n)
		if at == 0 {
			ip.extFixKeys(path, lvl)
		}
		return nil
	}
	goal := ip.goal()
	if n.b != nil {
		goal = n.b.blk + 1
	} else if len(path) > 1 {
		goal = path[1].b.blk
	}
	if lvl == 0 {
		// A full root: its entries move to a new block, which becomes the
		// root's only child (ext4_ext_grow_indepth).
		d := n.depth()
		if d+1 > ExtentMaxDepth {
			return syscall.EFBIG
		}
		c, err := ip.extNewNode(goal, d)
		if err != nil {
			return err
		}
		copy(c.data[ExtentHeaderSize:], n.data[ExtentHeaderSize:ExtentHeaderSize+k*ExtentEntrySize])
		c.setEntries(k)
		c.pos = n.pos
		clear(n.data)
		putExtentHeader(n.data, 1, extRootMax, d+1)
		putExtentIdx(n.ent(0), c.key(0), c.b.blk)
		n.pos = 0
		ip.extDirty(&c)
		ip.extDirty(n)
		np := make([]extNode, 0, len(path)+1)
		np = append(np, *n, c)
		np = append(np, path[1:]...)
		return ip.extInsertAt(np, 1, at, ent)
	}
	// A full node: first try to pass an entry to a sibling with room,
	// which keeps the nodes full where a split would leave two
	// half-empty ones (what e2fsck calls a tree that "could be
	// narrower").
	if ok, err := ip.extRotate(path, lvl, at, ent); ok || err != nil {
		return err
	}
	// A full node: the entries from at on move to a new sibling (ent
	// alone when appending), then the sibling goes into the parent.
	s, err := ip.extNewNode(goal, n.depth())
	if err != nil {
		return err
	}
	if at == k {
		s.insertEnt(0, ent)
	} else {
		from := ExtentHeaderSize + at*ExtentEntrySize
		end := ExtentHeaderSize + k*ExtentEntrySize
		copy(s.data[ExtentHeaderSize:], n.data[from:end])
		s.setEntries(k - at)
		clear(n.data[from:end])
		n.setEntries(at)
		n.insertEnt(at, ent)
		if at == 0 {
			ip.extFixKeys(path, lvl)
		}
	}
	ip.extDirty(n)
	ip.extDirty(&s)
	var idx [ExtentEntrySize]byte
	putExtentIdx(idx[:], s.key(0), s.b.blk)
	return ip.extInsertAt(path, lvl-1, path[lvl-1].pos+1, idx[:])
}

// extRotate inserts ent at position at of the full node path[lvl] by
// moving its last entry (ent itself when at is the end) to the front of
// the next sibling, or its first entry to the end of the previous one, if
// that sibling has room. It reports whether it did.
func (ip *inode) extRotate(path []extNode, lvl, at int, ent []byte) (bool, error) {
	n, par := &path[lvl], &path[lvl-1]
	k := n.entries()
	var moved [ExtentEntrySize]byte
	if q := par.pos + 1; q < par.entries() {
		r, err := ip.extLoad(par.child(q), n.depth())
		if err != nil {
			return false, err
		}
		if r.entries() < r.max() {
			if at == k {
				r.insertEnt(0, ent)
			} else {
				copy(moved[:], n.ent(k-1))
				n.removeEnt(k - 1)
				n.insertEnt(at, ent)
				r.insertEnt(0, moved[:])
				ip.extDirty(n)
			}
			le.PutUint32(par.ent(q), r.key(0))
			ip.extDirty(&r)
			ip.extDirty(par)
			if at == 0 {
				ip.extFixKeys(path, lvl)
			}
			return true, nil
		}
	}
	if q := par.pos - 1; q >= 0 && at > 0 {
		l, err := ip.extLoad(par.child(q), n.depth())
		if err != nil {
			return false, err
		}
		if l.entries() < l.max() {
			copy(moved[:], n.ent(0))
			n.removeEnt(0)
			n.insertEnt(at-1, ent)
			l.insertEnt(l.entries(), moved[:])
			ip.extDirty(n)
			ip.extDirty(&l)
			ip.extFixKeys(path, lvl)
			return true, nil
		}
	}
	return false, nil
}

// extConvert makes block lblk of the unwritten extent at the leaf's pos
// initialized: the extent is cut around it and the block goes in as an
// initialized extent of its own, merged with an initialized neighbour
// when contiguous (so writing through a fallocated range keeps a few
// extents, not one per block).
func (ip *inode) extConvert(path []extNode, lblk uint32) error {
	if err := ip.extReserve(path, 2); err != nil {
		return err
	}
	leaf := &path[len(path)-1]
	p := leaf.pos
	e := DecodeExtent(leaf.ent(p))
	n, _, err := ip.extCheck(e)
	if err != nil {
		return err
	}
	off := lblk - e.Block
	phys := e.Start() + uint64(off)
	switch {
	case n == 1:
		leaf.removeEnt(p)
		ip.extDirty(leaf)
		// The leaf may be empty now; the block goes back into it at once
		// below (the index keys still lead there), so no key changes.
	case off == 0:
		putExtent(leaf.ent(p), lblk+1, n-1, true, phys+1)
		ip.extDirty(leaf)
		if p == 0 {
			ip.extFixKeys(path, len(path)-1)
		}
	default:
		putExtent(leaf.ent(p), e.Block, off, true, e.Start())
		ip.extDirty(leaf)
		if off+1 < n {
			// The unwritten tail after the block, as its own extent.
			path, err = ip.extFind(lblk + 1)
			if err != nil {
				return err
			}
			if err := ip.extInsert(path, lblk+1, phys+1, n-off-1, true); err != nil {
				return err
			}
		}
	}
	path, err = ip.extFind(lblk)
	if err != nil {
		return err
	}
	return ip.extInsert(path, lblk, phys, 1, false)
}

// extTruncate frees every block mapped at or past logical block from, and
// the tree nodes left empty; then makes the tree as shallow as it can be.
func (ip *inode) extTruncate(from uint64) error {
	if from >= extMaxLblk {
		return nil
	}
	root, err := ip.extRoot()
	if err != nil {
		return err
	}
	err = ip.extTruncNode(&root, uint32(from))
	if root.entries() == 0 && root.depth() != 0 {
		// Everything went: back to an empty leaf root (Linux does the
		// same in ext4_ext_remove_space).
		putExtentHeader(root.data, 0, extRootMax, 0)
	}
	ip.extDirty(&root)
	if err != nil {
		return err
	}
	return ip.extShrink()
}

// extTruncNode removes what node n maps at or past from, children first.
func (ip *inode) extTruncNode(n *extNode, from uint32) error {
	fs := ip.fs
	changed := false
	defer func() {
		if changed {
			ip.extDirty(n)
		}
	}()
	if n.depth() == 0 {
		for k := n.entries(); k > 0; k-- {
			e := DecodeExtent(n.ent(k - 1))
			en, uninit, err := ip.extCheck(e)
			if err != nil {
				return err
			}
			if uint64(e.Block)+uint64(en) <= uint64(from) {
				return nil
			}
			keep := uint32(0)
			if e.Block < from {
				keep = from - e.Block
			}
			// Free from the end, shortening the extent as we go, so that
			// an error leaves a consistent extent.
			for i := en; i > keep; i-- {
				if err := fs.freeBlock(e.Start() + uint64(i-1)); err != nil {
					if i < en {
						putExtent(n.ent(k-1), e.Block, i, uninit, e.Start())
						changed = true
					}
					return err
				}
				ip.addBlocks(-1)
			}
			changed = true
			if keep > 0 {
				putExtent(n.ent(k-1), e.Block, keep, uninit, e.Start())
				return nil
			}
			n.removeEnt(k - 1)
		}
		return nil
	}
	next := uint64(extMaxLblk) + 1 // where the child after i starts
	for i := n.entries() - 1; i >= 0; i-- {
		if next <= uint64(from) {
			return nil // child i and those before it end before from
		}
		next = uint64(n.key(i))
		c, err := ip.extLoad(n.child(i), n.depth()-1)
		if err != nil {
			return err
		}
		if err := ip.extTruncNode(&c, from); err != nil {
			return err
		}
		if c.entries() > 0 {
			return nil // it keeps blocks before from; so do the others
		}
		if err := fs.freeBlock(c.b.blk); err != nil {
			return err
		}
		ip.addBlocks(-1)
		n.removeEnt(i)
		changed = true
	}
	return nil
}

// extShrink pulls the root's children back into i_block while all their
// entries fit there (Linux's ext4_ext_try_to_merge_up does it for a single
// child; e2fsck calls any tree with fewer entries on a level than a level
// above could hold one that "could be shorter").
func (ip *inode) extShrink() error {
	fs := ip.fs
	for {
		root, err := ip.extRoot()
		if err != nil {
			return err
		}
		d, k := root.depth(), root.entries()
		if d == 0 || k == 0 || k > extRootMax {
			return nil
		}
		kids := make([]extNode, 0, k)
		total := 0
		for i := 0; i < k; i++ {
			c, err := ip.extLoad(root.child(i), d-1)
			if err != nil {
				return err
			}
			kids = append(kids, c)
			total += c.entries()
		}
		if total > extRootMax {
			return nil
		}
		var nr [NBlocks * 4]byte
		putExtentHeader(nr[:], total, extRootMax, d-1)
		at := ExtentHeaderSize
		for _, c := range kids {
			at += copy(nr[at:], c.data[ExtentHeaderSize:ExtentHeaderSize+c.entries()*ExtentEntrySize])
		}
		root.data = nr[:]
		ip.extDirty(&root)
		for _, c := range kids {
			if err := fs.freeBlock(c.b.blk); err != nil {
				return err
			}
			ip.addBlocks(-1)
		}
	}
}
