package ext2fs

// Keeping a hash-indexed (dir_index) directory's tree valid when a name is
// added to a full leaf. The steps follow Linux's ext4_dx_add_entry /
// do_split / dx_insert_block (and NetBSD's ext2fs_htree_add_entry):
//
//   - the leaf is split: its live records are sorted by hash, the upper
//     half by size moves to a new directory block appended to the
//     directory, and (hash of the first moved record, new block) is
//     inserted into the index node after the entry for the old leaf. The
//     split point is moved to a hash boundary when one exists so equal
//     hashes stay in one leaf; when every record has one hash the new
//     entry's hash gets the continuation bit (hash|1), which lookups
//     follow (ext4_htree_next_block, dxNext in dir.go);
//   - when that index node is full: a one-level tree (indirect_levels 0)
//     grows to two levels, the root's entries moving to a new dx_node
//     block that becomes the root's only child; in a two-level tree the
//     full dx_node is split in two and the new half entered in the root;
//   - when the root of a two-level tree is full too (the most a tree
//     without large_dir may have, as Linux's "Directory index full!"),
//     the caller drops the index and goes linear (see write.go).
//
// Each call makes one structural change; addEntry then probes again. With
// metadata_csum, index nodes have one slot fewer for the dx_tail
// (fs.dxLimit), leaves keep their checksum tail, and every changed block
// is resealed (dirDirty, ext4.go).

import (
	"sort"
)

// dxRec is one live record of a leaf being split.
type dxRec struct {
	hash, minor uint32
	ino         uint32
	ft          uint8
	name        []byte
}

// dxNodeOff is where the dx_countlimit of index block lblk starts.
func dxNodeOff(lblk uint64) int {
	if lblk == 0 {
		return DxRootInfoOffset + DxRootInfoSize
	}
	return DxNodeHeaderSize
}

// dxMakeRoom makes one structural change so that frames' leaf (for hash)
// can take another name: split the leaf if its index node has a free
// slot; else split the full index node below the deepest one with a free
// slot; else, every level being full, add a level (up to two index
// levels, three with large_dir, as Linux's ext4_dx_add_entry). It reports
// false when the tree cannot grow (the caller then drops the index) and
// an error for I/O failures.
func (dp *inode) dxMakeRoom(frames []dxFrame, version uint8) (bool, error) {
	if len(frames) == 0 {
		return false, nil
	}
	bufs := make([]*buf, len(frames))
	counts := make([]int, len(frames))
	free := -1
	for i := len(frames) - 1; i >= 0; i-- {
		b, err := dp.dirBlock(frames[i].lblk)
		if err != nil {
			return false, err
		}
		off := dxNodeOff(frames[i].lblk)
		bufs[i], counts[i] = b, int(le.Uint16(b.data[off+2:]))
		if counts[i] < int(le.Uint16(b.data[off:])) {
			free = i
			break
		}
	}
	last := len(frames) - 1
	switch {
	case free == last:
		return dp.dxSplitLeaf(frames[last], bufs[last], dxNodeOff(frames[last].lblk), version)
	case free >= 0:
		return dp.dxSplitNode(frames[free], bufs[free], bufs[free+1], counts[free+1])
	case len(frames) < dp.dxMaxLevels():
		return dp.dxGrow(bufs[0])
	}
	return false, nil
}

// dxMaxLevels is how many index levels a tree may have: two, or three
// with large_dir.
func (dp *inode) dxMaxLevels() int {
	if dp.fs.sb.FeatureIncompat&IncompatLargedir != 0 {
		return DxMaxLevels
	}
	return 2
}

// dxNewBlock appends a zeroed block to the directory.
func (dp *inode) dxNewBlock() (uint64, *buf, error) {
	fs := dp.fs
	nblk := dp.dirBlocks()
	if nblk >= fs.maxIndBlocks() || nblk >= 1<<28 {
		return 0, nil, errNoRoom
	}
	goal := uint64(0)
	if last, _, err := dp.mapBlock(nblk - 1); err == nil && last != 0 {
		goal = last + 1
	}
	phys, _, err := dp.bmapAlloc(nblk, goal)
	if err != nil {
		return 0, nil, err
	}
	b := fs.cache.getZero(phys)
	dp.setSize(dp.size() + uint64(fs.bsize))
	return nblk, b, nil
}

// errNoRoom marks "the directory cannot take another block": the tree is
// then dropped rather than the name refused, as before.
var errNoRoom = errorString("directory at its block limit")

type errorString string

func (e errorString) Error() string { return string(e) }

// dxInsertEntry puts (hash, blk) at position pos of the index entries at
// off in data (count < limit checked by the caller).
func dxInsertEntry(data []byte, off, pos int, hash uint32, blk uint64) {
	count := int(le.Uint16(data[off+2:]))
	at := off + pos*DxEntrySize
	copy(data[at+DxEntrySize:off+(count+1)*DxEntrySize], data[at:off+count*DxEntrySize])
	le.PutUint32(data[at:], hash)
	le.PutUint32(data[at+4:], uint32(blk))
	le.PutUint16(data[off+2:], uint16(count+1))
}

// dxGrow turns a one-level tree with a full root into a two-level one:
// the root's entries move to a new dx_node (which has a few more slots),
// and the root keeps one entry pointing to it (Linux ext4_dx_add_entry,
// "add_level").
func (dp *inode) dxGrow(rb *buf) (bool, error) {
	fs := dp.fs
	nblk, b, err := dp.dxNewBlock()
	if err != nil {
		if err == errNoRoom {
			return false, nil
		}
		return false, err
	}
	bs := fs.bsize
	roff := dxNodeOff(0)
	count := int(le.Uint16(rb.data[roff+2:]))
	// Fake empty record covering the block, then the countlimit.
	fs.putRec(b.data, 0, bs, 0, 0, nil)
	copy(b.data[DxNodeHeaderSize:], rb.data[roff:roff+count*DxEntrySize])
	le.PutUint16(b.data[DxNodeHeaderSize:], uint16(fs.dxLimit(DxNodeHeaderSize)))
	le.PutUint16(b.data[DxNodeHeaderSize+2:], uint16(count))
	dp.dirDirty(b)
	le.PutUint16(rb.data[roff+2:], 1)
	le.PutUint32(rb.data[roff+4:], uint32(nblk))
	rb.data[DxRootInfoOffset+6]++ // indirect_levels
	dp.dirDirty(rb)
	return true, nil
}

// dxSplitNode moves the upper half of a full dx_node to a new node and
// enters it in the parent index block (pb, with a free slot) after the
// old node's entry.
func (dp *inode) dxSplitNode(parent dxFrame, pb, nb *buf, count int) (bool, error) {
	fs := dp.fs
	nblk, b, err := dp.dxNewBlock()
	if err != nil {
		if err == errNoRoom {
			return false, nil
		}
		return false, err
	}
	bs := fs.bsize
	half := count / 2
	moved := count - half
	off := DxNodeHeaderSize
	fs.putRec(b.data, 0, bs, 0, 0, nil)
	// Entry 0 of the new node: its hash slot is the countlimit; the hash
	// it starts at is the one entered in the root.
	hash := le.Uint32(nb.data[off+half*DxEntrySize:])
	copy(b.data[off:], nb.data[off+half*DxEntrySize:off+count*DxEntrySize])
	le.PutUint16(b.data[off:], uint16(fs.dxLimit(DxNodeHeaderSize)))
	le.PutUint16(b.data[off+2:], uint16(moved))
	dp.dirDirty(b)
	le.PutUint16(nb.data[off+2:], uint16(half))
	dp.dirDirty(nb)
	dxInsertEntry(pb.data, dxNodeOff(parent.lblk), parent.at+1, hash, nblk)
	dp.dirDirty(pb)
	return true, nil
}

// dxSplitLeaf splits the leaf that frame f points at (its node block nb
// has a free slot, entries at off).
func (dp *inode) dxSplitLeaf(f dxFrame, nb *buf, off int, version uint8) (bool, error) {
	fs := dp.fs
	leaf := dxLeaf([]dxFrame{f})
	lb, err := dp.dirBlock(leaf)
	if err != nil {
		return false, err
	}
	var recs []dxRec
	err = fs.parseDirBlock(lb.data, func(r dirRec) bool {
		if r.ino != 0 {
			h, m := dirHash(r.name, version, fs.sb.HashSeed)
			recs = append(recs, dxRec{h, m, r.ino, r.ftype, append([]byte(nil), r.name...)})
		}
		return true
	})
	if err != nil {
		return false, err
	}
	if len(recs) < 2 {
		return false, nil
	}
	sort.SliceStable(recs, func(i, j int) bool {
		if recs[i].hash != recs[j].hash {
			return recs[i].hash < recs[j].hash
		}
		return recs[i].minor < recs[j].minor
	})
	// Split where half the bytes are below, then move to the nearest hash
	// boundary so equal hashes stay together.
	total := 0
	for _, r := range recs {
		total += DirRecLen(len(r.name))
	}
	split, acc := 1, 0
	for i, r := range recs {
		acc += DirRecLen(len(r.name))
		if acc*2 >= total {
			split = i + 1
			break
		}
	}
	if split >= len(recs) {
		split = len(recs) - 1
	}
	boundary := func(i int) bool { return recs[i].hash != recs[i-1].hash }
	if !boundary(split) {
		best := -1
		for d := 1; d < len(recs); d++ {
			if i := split - d; i >= 1 && boundary(i) {
				best = i
				break
			}
			if i := split + d; i < len(recs) && boundary(i) {
				best = i
				break
			}
		}
		if best > 0 {
			split = best
		}
	}
	hash2 := recs[split].hash
	if !boundary(split) {
		hash2 |= 1 // continuation: the same hash goes on in the new leaf
	}
	nblk, b, err := dp.dxNewBlock()
	if err != nil {
		if err == errNoRoom {
			return false, nil
		}
		return false, err
	}
	dp.writeLeaf(lb.data, recs[:split])
	dp.dirDirty(lb)
	dp.writeLeaf(b.data, recs[split:])
	dp.dirDirty(b)
	dxInsertEntry(nb.data, off, f.at+1, hash2, nblk)
	dp.dirDirty(nb)
	return true, nil
}

// writeLeaf lays recs out compactly in data, the last record taking the
// rest of the block (up to the checksum tail, which it keeps).
func (dp *inode) writeLeaf(data []byte, recs []dxRec) {
	dp.fs.newDirBlock(data)
	space := dp.fs.dirSpace()
	pos := 0
	for i, r := range recs {
		rl := DirRecLen(len(r.name))
		if i == len(recs)-1 {
			rl = space - pos
		}
		dp.fs.putRec(data, pos, rl, r.ino, r.ft, r.name)
		pos += rl
	}
}

// dxAddEntry inserts name into the leaf the tree points to, splitting and
// growing the tree as needed. ok is false when the tree is unusable or
// cannot grow; the caller then goes linear.
func (dp *inode) dxAddEntry(nm []byte, ino uint32, ft uint8) (bool, error) {
	fs := dp.fs
	b, err := dp.dirBlock(0)
	if err != nil {
		return false, nil
	}
	version := dp.dxHashVersion(DecodeDxRootInfo(b.data[DxRootInfoOffset:]))
	if version > DxHashTeaUnsigned {
		return false, nil
	}
	hash, _ := dirHash(nm, version, fs.sb.HashSeed)
	// A split may leave the wanted half still too full for a long name,
	// so a few rounds are allowed; each makes one change.
	for round := 0; round < 6; round++ {
		frames, usable := dp.dxProbe(hash)
		if !usable {
			if fs.dirCsum() {
				return false, errIO // see addEntry: no linear fallback
			}
			return false, nil
		}
		lb, err := dp.dirBlock(dxLeaf(frames))
		if err != nil {
			return false, nil
		}
		done, err := fs.insertInBlock(lb.data, nm, ino, ft)
		if err != nil {
			return false, err
		}
		if done {
			dp.dirDirty(lb)
			return true, nil
		}
		grown, err := dp.dxMakeRoom(frames, version)
		if err != nil || !grown {
			return false, err
		}
	}
	return false, nil
}

// dxMakeIndexed turns a one-block linear directory whose block is full
// into a hash-indexed one, as Linux's make_indexed_dir does when such a
// directory needs a second block: the names move to a new leaf block 1,
// and block 0 becomes the dx root ("." and "..", dx_root_info with the
// superblock's default hash, one entry pointing at block 1). Adding then
// goes through the tree, which splits the leaf as it fills. It reports
// false when the directory does not qualify (no dir_index, not exactly
// one block, a hash this code does not compute).
func (dp *inode) dxMakeIndexed() (bool, error) {
	fs := dp.fs
	if fs.sb.FeatureCompat&CompatDirIndex == 0 || dp.isIndexed() || dp.isInline() ||
		dp.dirBlocks() != 1 || fs.sb.DefHashVersion > DxHashTea {
		return false, nil
	}
	rb, err := dp.dirBlock(0)
	if err != nil {
		return false, err
	}
	var dot, dotdot uint32
	var recs []dxRec
	n := 0
	err = fs.parseDirBlock(rb.data, func(r dirRec) bool {
		switch {
		case n == 0 && string(r.name) == ".":
			dot = r.ino
		case n == 1 && string(r.name) == "..":
			dotdot = r.ino
		case r.ino != 0:
			recs = append(recs, dxRec{ino: r.ino, ft: r.ftype, name: append([]byte(nil), r.name...)})
		}
		n++
		return true
	})
	if err != nil {
		return false, err
	}
	if dot != dp.ino || dotdot == 0 || len(recs) == 0 {
		return false, nil // not the usual first block: leave it linear
	}
	nblk, lb, err := dp.dxNewBlock()
	if err != nil {
		if err == errNoRoom {
			return false, nil
		}
		return false, err
	}
	dp.writeLeaf(lb.data, recs)
	dp.dirDirty(lb)
	bs := fs.bsize
	clear(rb.data)
	fs.putRec(rb.data, 0, 12, dp.ino, fs.ft(imDir), []byte("."))
	fs.putRec(rb.data, 12, bs-12, dotdot, fs.ft(imDir), []byte(".."))
	info := rb.data[DxRootInfoOffset:]
	info[4] = fs.sb.DefHashVersion
	info[5] = DxRootInfoSize
	off := dxNodeOff(0)
	le.PutUint16(rb.data[off:], uint16(fs.dxLimit(off)))
	le.PutUint16(rb.data[off+2:], 1)
	le.PutUint32(rb.data[off+4:], uint32(nblk))
	dp.di.Flags |= FlagIndex
	dp.dirDirty(rb)
	return true, nil
}
