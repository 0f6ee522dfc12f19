package ext2fs

// The ext4 metadata that writes must keep right, beyond ext2/ext3's:
//
//   - metadata_csum (and metadata_csum_seed): crc32c checksums of the
//     superblock (encodeSuper), group descriptors (groupCsum), inodes
//     (inode.store), and here of the block and inode bitmaps (kept in the
//     descriptors), directory leaf blocks (the 12-byte ext4_dir_entry_tail
//     at the block's end) and hash-tree nodes (the dx_tail after the
//     entries), as Linux's fs/ext4/bitmap.c, namei.c and xattr.c compute
//     them. Checksums are recomputed whenever a block is changed in the
//     cache, so that the cached copy is always one the read side accepts.
//   - uninit_bg / group descriptor checksums: groups that mkfs left with
//     BLOCK_UNINIT or INODE_UNINIT get their bitmap built when first
//     allocated from, as ext4_init_block_bitmap and ext4_new_inode do, and
//     bg_itable_unused is lowered as inodes at the high end are used.
//   - 64bit descriptors (GroupDesc's hi halves, encoded by putGroup) and
//     flex_bg (bitmaps and tables located through the descriptors only).

import (
	"syscall"
)

// groupCsumOn says whether descriptors carry checksums, and with them the
// uninit flags and bg_itable_unused (ext4_has_group_desc_csum).
func (fs *fsys) groupCsumOn() bool { return fs.metaCsum || fs.gdtCsum }

func (fs *fsys) clustersPerGroup() uint32 {
	if c := fs.sb.ClustersPerGroup; c != 0 && c <= fs.bpg {
		return c
	}
	return fs.bpg
}

// setBlockBitmapCsum stores the crc32c of group g's block bitmap (the
// bytes for clusters_per_group bits) in the descriptor: the low half
// always, the high half with descriptors of 64 bytes or more
// (ext4_block_bitmap_csum_set). The caller calls putGroup.
func (fs *fsys) setBlockBitmapCsum(g uint32, data []byte) {
	if !fs.metaCsum {
		return
	}
	c := crc32c(fs.csumSeed, data[:fs.clustersPerGroup()/8])
	gd := &fs.gds[g]
	gd.BlockBitmapCsumLo = uint16(c)
	if fs.descSize >= GroupDescSize64 {
		gd.BlockBitmapCsumHi = uint16(c >> 16)
	}
}

// setInodeBitmapCsum is the same for the inode bitmap (inodes_per_group
// bits; ext4_inode_bitmap_csum_set).
func (fs *fsys) setInodeBitmapCsum(g uint32, data []byte) {
	if !fs.metaCsum {
		return
	}
	c := crc32c(fs.csumSeed, data[:fs.ipg/8])
	gd := &fs.gds[g]
	gd.InodeBitmapCsumLo = uint16(c)
	if fs.descSize >= GroupDescSize64 {
		gd.InodeBitmapCsumHi = uint16(c >> 16)
	}
}

func setBit(bm []byte, i int) { bm[i/8] |= 1 << (i % 8) }

// setBitsFrom sets bits [from, len(bm)*8): the padding past the group's
// last block or inode reads as in use (ext4_mark_bitmap_end).
func setBitsFrom(bm []byte, from int) {
	for i := from; i < len(bm)*8; i++ {
		setBit(bm, i)
	}
}

// superAndGdt gives how many blocks at the start of group g hold a
// superblock backup and descriptor-table blocks (with the reserved GDT
// blocks), as e2fsprogs' ext2fs_super_and_bgd_loc2 counts them; meta_bg
// descriptor blocks sit at the first, second and last group of their
// meta-group.
func (fs *fsys) superAndGdt(g uint32) uint64 {
	n := uint64(0)
	has := fs.hasSuper(g)
	if has {
		n++
	}
	per := fs.descPerBlock()
	if fs.sb.FeatureIncompat&IncompatMetaBG == 0 || g/per < fs.sb.FirstMetaBG {
		if has {
			old := uint64(fs.gdtBlocks()) + uint64(fs.sb.ReservedGdtBlocks)
			if fs.sb.FeatureIncompat&IncompatMetaBG != 0 {
				old = uint64(fs.sb.FirstMetaBG)
			}
			n += old
		}
	} else if r := g % per; r == 0 || r == 1 || r == per-1 {
		n++
	}
	return n
}

// initBlockBitmap builds the block bitmap of a BLOCK_UNINIT group in the
// cache: its superblock and descriptor copies, every bitmap and inode
// table (of any group, flex_bg puts them anywhere) inside the group, and
// the padding bits; then clears the flag (ext4_init_block_bitmap).
func (fs *fsys) initBlockBitmap(g uint32) (*buf, error) {
	gd := &fs.gds[g]
	if !fs.validBlock(gd.BlockBitmap()) {
		return nil, syscall.EIO
	}
	b := fs.cache.getZero(gd.BlockBitmap())
	first := fs.groupFirstBlock(g)
	n := uint64(fs.blocksInGroup(g))
	for i := uint64(0); i < fs.superAndGdt(g) && i < n; i++ {
		setBit(b.data, int(i))
	}
	itBlocks := (uint64(fs.ipg)*uint64(fs.isize) + uint64(fs.bsize) - 1) / uint64(fs.bsize)
	mark := func(start, count uint64) {
		for x := max(start, first); x < min(start+count, first+n); x++ {
			setBit(b.data, int(x-first))
		}
	}
	for h := range fs.gds {
		o := &fs.gds[h]
		mark(o.BlockBitmap(), 1)
		mark(o.InodeBitmap(), 1)
		mark(o.InodeTable(), itBlocks)
	}
	setBitsFrom(b.data, int(n))
	fs.cache.markDirty(b)
	gd.Flags &^= BGBlockUninit
	fs.setBlockBitmapCsum(g, b.data)
	fs.putGroup(g)
	return b, nil
}

// blockBitmap returns group g's block bitmap, built first if the group is
// still BLOCK_UNINIT.
func (fs *fsys) blockBitmap(g uint32) (*buf, error) {
	gd := &fs.gds[g]
	if fs.groupCsumOn() && gd.Flags&BGBlockUninit != 0 {
		return fs.initBlockBitmap(g)
	}
	b, err := fs.cache.get(gd.BlockBitmap())
	if err != nil {
		return nil, syscall.EIO
	}
	if fs.metaCsum && !b.checked {
		c := crc32c(fs.csumSeed, b.data[:fs.clustersPerGroup()/8])
		if !fs.bitmapCsumOK(c, gd.BlockBitmapCsumLo, gd.BlockBitmapCsumHi) {
			fs.warnf("group %d: block bitmap checksum mismatch", g)
			return nil, syscall.EIO
		}
		b.checked = true
	}
	return b, nil
}

// bitmapCsumOK compares a bitmap's crc32c with the descriptor's halves
// (only the low one with 32-byte descriptors), as
// ext4_block_bitmap_csum_verify does.
func (fs *fsys) bitmapCsumOK(c uint32, lo, hi uint16) bool {
	if fs.descSize >= GroupDescSize64 {
		return c == uint32(lo)|uint32(hi)<<16
	}
	return uint16(c) == lo
}

// inodeBitmap returns group g's inode bitmap; an INODE_UNINIT group's is
// zeroed (with its padding set) and the flag cleared, as ext4_new_inode
// does on first use.
func (fs *fsys) inodeBitmap(g uint32) (*buf, error) {
	gd := &fs.gds[g]
	if !fs.groupCsumOn() || gd.Flags&BGInodeUninit == 0 {
		b, err := fs.cache.get(gd.InodeBitmap())
		if err != nil {
			return nil, syscall.EIO
		}
		if fs.metaCsum && !b.checked {
			c := crc32c(fs.csumSeed, b.data[:fs.ipg/8])
			if !fs.bitmapCsumOK(c, gd.InodeBitmapCsumLo, gd.InodeBitmapCsumHi) {
				fs.warnf("group %d: inode bitmap checksum mismatch", g)
				return nil, syscall.EIO
			}
			b.checked = true
		}
		return b, nil
	}
	if !fs.validBlock(gd.InodeBitmap()) {
		return nil, syscall.EIO
	}
	b := fs.cache.getZero(gd.InodeBitmap())
	setBitsFrom(b.data, int(fs.ipg))
	fs.cache.markDirty(b)
	gd.Flags &^= BGInodeUninit
	fs.setInodeBitmapCsum(g, b.data)
	fs.putGroup(g)
	return b, nil
}

// inodeUsed lowers bg_itable_unused when inode index idx (0-based in its
// group) lies in the part of the table marked unused (ext4_new_inode).
func (fs *fsys) inodeUsed(g uint32, idx uint32) {
	if !fs.groupCsumOn() {
		return
	}
	gd := &fs.gds[g]
	unused := uint32(gd.ItableUnusedLo) | uint32(gd.ItableUnusedHi)<<16
	if unused > fs.ipg {
		unused = fs.ipg
	}
	if idx+1 > fs.ipg-unused {
		u := fs.ipg - (idx + 1)
		gd.ItableUnusedLo = uint16(u)
		if fs.descSize >= GroupDescSize64 {
			gd.ItableUnusedHi = uint16(u >> 16)
		}
	}
}

// ---- directory block checksums ----

// dirCsum says whether directory blocks carry checksums.
func (fs *fsys) dirCsum() bool { return fs.metaCsum }

// dirSpace is how much of a leaf block records may use: all of it, or
// all but the checksum tail.
func (fs *fsys) dirSpace() int {
	if fs.dirCsum() {
		return fs.bsize - DirTailSize
	}
	return fs.bsize
}

// putDirTail writes the fake record that holds a leaf block's checksum
// (struct ext4_dir_entry_tail: inode 0, rec_len 12, name_len 0, file
// type 0xDE, then the crc32c).
func putDirTail(data []byte) {
	t := data[len(data)-DirTailSize:]
	clear(t)
	le.PutUint16(t[4:], DirTailSize)
	t[7] = FtDirCsum
}

// dxLimit is the number of dx_entry slots an index block has with its
// count/limit at off: one fewer with metadata_csum, for the dx_tail.
func (fs *fsys) dxLimit(off int) int {
	if fs.dirCsum() {
		return (fs.bsize - off - DxTailSize) / DxEntrySize
	}
	return (fs.bsize - off) / DxEntrySize
}

// dirDirty marks a changed block of directory dp dirty, recomputing its
// checksum first: a leaf's in its tail, an index node's in its dx_tail.
func (dp *inode) dirDirty(b *buf) {
	fs := dp.fs
	if fs.dirCsum() {
		dp.sealDirBlock(b.data)
	}
	fs.cache.markDirty(b)
}

func (dp *inode) sealDirBlock(data []byte) {
	bs := len(data)
	if dirTail(data) {
		le.PutUint32(data[bs-4:], crc32c(dp.csumSeed(), data[:bs-DirTailSize]))
		return
	}
	off := -1
	e := DecodeDirEntry(data)
	if e.Inode == 0 && RecLenFromDisk(e.RecLen, bs) == bs {
		off = DxNodeHeaderSize
	} else if dp.isIndexed() && RecLenFromDisk(e.RecLen, bs) == 12 &&
		RecLenFromDisk(le.Uint16(data[12+4:]), bs) == bs-12 {
		off = DxRootInfoOffset + int(data[DxRootInfoOffset+5])
	}
	if off < 0 || off+DxCountLimitSize > bs {
		return // not a block this code writes; nothing to seal
	}
	limit := int(le.Uint16(data[off:]))
	count := int(le.Uint16(data[off+2:]))
	if count > limit || off+limit*DxEntrySize+DxTailSize > bs {
		return
	}
	tail := data[off+limit*DxEntrySize:]
	c := crc32c(dp.csumSeed(), data[:off+count*DxEntrySize])
	c = crc32c(c, tail[:4])
	c = crc32c(c, []byte{0, 0, 0, 0})
	le.PutUint32(tail[4:], c)
}

// newDirBlock lays out an empty leaf: one unused record over the usable
// space, and the tail when checksums are on.
func (fs *fsys) newDirBlock(data []byte) {
	clear(data)
	fs.putRec(data, 0, fs.dirSpace(), 0, 0, nil)
	if fs.dirCsum() {
		putDirTail(data)
	}
}

// ---- xattr block checksum ----

// sealXattrBlock sets h_checksum of an xattr block at blk.
func (ip *inode) sealXattrBlock(blk uint64, data []byte) {
	if ip.fs.metaCsum {
		le.PutUint32(data[XattrChecksumOffset:], ip.xattrBlockCsum(blk, data))
	}
}

// newExtraIsize is the i_extra_isize of a new inode: the fields today's
// kernels know (32 bytes), or more when the superblock wants more
// (s_want_extra_isize, s_min_extra_isize with extra_isize), within the
// inode (Linux's ext4 s_want_extra_isize set-up in __ext4_fill_super).
func (fs *fsys) newExtraIsize() int {
	extra := InodeExtraSize
	if fs.sb.FeatureRoCompat&RoCompatExtraIsize != 0 {
		extra = max(extra, int(fs.sb.WantExtraIsize), int(fs.sb.MinExtraIsize))
	}
	if room := fs.isize - InodeBaseSize; extra > room {
		extra = room
	}
	return extra &^ 3
}

// ---- orphans ----
//
// A file whose last name goes while it is still open is an orphan until
// its last reference is dropped (release). Linux records orphans on disk
// so that after a crash they are freed by the next mount or e2fsck: in
// the orphan file (compat orphan_file, with ro_compat orphan_present set
// while entries may exist; Documentation/filesystems/ext4/orphan.rst), or
// else in the list that starts at s_last_orphan and goes on through
// i_dtime. Linux keeps them only with a journal (ext4_orphan_add), and so
// does this code.

const (
	orphanBlockMagic = 0x0b10ca04
	orphanTailSize   = 8 // ob_magic, ob_checksum
)

// orphanRec says where an orphan is recorded.
type orphanRec struct {
	inFile bool
	lblk   uint64 // block of the orphan file holding it
}

func (fs *fsys) orphansOn() bool { return fs.sb.FeatureCompat&CompatHasJournal != 0 }

// orphanFileBlock returns block lblk of the orphan file and its physical
// number, checking its tail (magic, and checksum with metadata_csum).
func (fs *fsys) orphanFileBlock(of *inode, lblk uint64) (*buf, uint64, error) {
	phys, _, err := of.mapBlock(lblk)
	if err != nil || phys == 0 {
		return nil, 0, syscall.EIO
	}
	b, err := fs.cache.get(phys)
	if err != nil {
		return nil, 0, syscall.EIO
	}
	if le.Uint32(b.data[fs.bsize-orphanTailSize:]) != orphanBlockMagic {
		return nil, 0, syscall.EIO
	}
	if fs.metaCsum && le.Uint32(b.data[fs.bsize-4:]) != fs.orphanBlockCsum(of, phys, b.data) {
		return nil, 0, syscall.EIO
	}
	return b, phys, nil
}

// orphanBlockCsum: crc32c over the orphan file's inode number and
// generation, the block's physical number, and the entries (not the tail).
func (fs *fsys) orphanBlockCsum(of *inode, phys uint64, data []byte) uint32 {
	c := crc32cU32(fs.csumSeed, of.ino)
	c = crc32cU32(c, of.di.Generation)
	var b [8]byte
	le.PutUint64(b[:], phys)
	c = crc32c(c, b[:])
	return crc32c(c, data[:fs.bsize-orphanTailSize])
}

// orphanFile returns the orphan file's inode, or nil when the file
// system has none. The mount keeps the one reference it takes, so that
// release (which runs from the vnode cache's inactive hook) never has to
// load it.
func (fs *fsys) orphanFile() *inode {
	if fs.ofile != nil {
		return fs.ofile
	}
	n := fs.sb.OrphanFileInum
	if fs.sb.FeatureCompat&CompatOrphanFile == 0 || n == 0 || n > fs.sb.InodesCount {
		return nil
	}
	of, err := fs.vc.Get(uint64(n))
	if err != nil {
		return nil
	}
	fs.ofile = of
	return of
}

// orphanAdd records ip, whose last name is gone, as an orphan: in a free
// slot of the orphan file, or at the head of the s_last_orphan list.
func (fs *fsys) orphanAdd(ip *inode) error {
	if !fs.orphansOn() || ip.ino == 0 {
		return nil
	}
	if fs.orphans == nil {
		fs.orphans = map[uint32]orphanRec{}
	}
	if _, ok := fs.orphans[ip.ino]; ok {
		return nil
	}
	if of := fs.orphanFile(); of != nil {
		per := (fs.bsize - orphanTailSize) / 4
		for lblk := uint64(0); lblk < of.dirBlocks(); lblk++ {
			b, phys, err := fs.orphanFileBlock(of, lblk)
			if err != nil {
				break // a damaged orphan file: use the list
			}
			for i := 0; i < per; i++ {
				if le.Uint32(b.data[i*4:]) == 0 {
					le.PutUint32(b.data[i*4:], ip.ino)
					fs.sealOrphanBlock(of, phys, b)
					fs.orphans[ip.ino] = orphanRec{inFile: true, lblk: lblk}
					if fs.sb.FeatureRoCompat&RoCompatOrphanPresent == 0 {
						fs.sb.FeatureRoCompat |= RoCompatOrphanPresent
						fs.sbDirty = true
					}
					return nil
				}
			}
		}
	}
	ip.di.Dtime = fs.sb.LastOrphan
	fs.sb.LastOrphan = ip.ino
	fs.sbDirty = true
	fs.orphans[ip.ino] = orphanRec{}
	fs.olist = append([]*inode{ip}, fs.olist...)
	return ip.store()
}

func (fs *fsys) sealOrphanBlock(of *inode, phys uint64, b *buf) {
	if fs.metaCsum {
		le.PutUint32(b.data[fs.bsize-4:], fs.orphanBlockCsum(of, phys, b.data))
	}
	fs.cache.markDirty(b)
}

// orphanDel removes ip's orphan record, if it has one.
func (fs *fsys) orphanDel(ip *inode) error {
	rec, ok := fs.orphans[ip.ino]
	if !ok {
		return nil
	}
	delete(fs.orphans, ip.ino)
	if rec.inFile {
		of := fs.orphanFile()
		if of == nil {
			return syscall.EIO
		}
		b, phys, err := fs.orphanFileBlock(of, rec.lblk)
		if err != nil {
			return err
		}
		for i := 0; i < (fs.bsize-orphanTailSize)/4; i++ {
			if le.Uint32(b.data[i*4:]) == ip.ino {
				le.PutUint32(b.data[i*4:], 0)
			}
		}
		fs.sealOrphanBlock(of, phys, b)
		return nil
	}
	next := ip.di.Dtime
	ip.di.Dtime = 0
	for i, o := range fs.olist {
		if o != ip {
			continue
		}
		if i == 0 {
			fs.sb.LastOrphan = next
			fs.sbDirty = true
		} else {
			prev := fs.olist[i-1]
			prev.di.Dtime = next
			if err := prev.store(); err != nil {
				return err
			}
		}
		fs.olist = append(fs.olist[:i], fs.olist[i+1:]...)
		break
	}
	return nil
}

// orphansDone clears orphan_present once no orphan is recorded in the
// orphan file (at unmount, as Linux's ext4_put_super does).
func (fs *fsys) orphansDone() {
	for _, r := range fs.orphans {
		if r.inFile {
			return
		}
	}
	if fs.sb.FeatureRoCompat&RoCompatOrphanPresent != 0 {
		fs.sb.FeatureRoCompat &^= RoCompatOrphanPresent
		fs.sbDirty = true
	}
}

// allocBlock32 allocates a block an indirect-mapped file can point to:
// block pointers are 32 bits, so on a 64bit file system past 2^32 blocks
// a block beyond that range is given back and the file cannot grow there
// (Linux keeps such files below 2^32 the same way, ext4_ind_map_blocks).
func (fs *fsys) allocBlock32(goal uint64) (uint64, error) {
	if goal >= 1<<32 {
		goal = 0
	}
	b, err := fs.allocBlock(goal)
	if err != nil {
		return 0, err
	}
	if b >= 1<<32 {
		if ferr := fs.freeBlock(b); ferr != nil {
			return 0, ferr
		}
		return 0, syscall.ENOSPC
	}
	return b, nil
}

// cleanupOrphans frees the orphans a crash left recorded (a forced
// read-write mount of a file system not cleanly unmounted), as Linux's
// ext4_orphan_cleanup does at mount: inodes without links are released,
// records of inodes that still have links are dropped. It runs before
// the mount is in use, without the lock (Rele's inactive hook takes it).
func (fs *fsys) cleanupOrphans() {
	var held []*inode
	seen := map[uint32]bool{}
	fs.cache.beginOp()
	for ino := fs.sb.LastOrphan; ino != 0; {
		if ino > fs.sb.InodesCount || seen[ino] || len(seen) > int(fs.sb.InodesCount) {
			fs.warnf("orphan list is damaged at inode %d; the rest is left to e2fsck", ino)
			break
		}
		seen[ino] = true
		ip, err := fs.vc.Get(uint64(ino))
		if err != nil {
			fs.warnf("orphan inode %d: %v", ino, err)
			break
		}
		held = append(held, ip)
		ino = ip.di.Dtime
	}
	if fs.sb.LastOrphan != 0 {
		fs.sb.LastOrphan = 0
		fs.sbDirty = true
	}
	if of := fs.orphanFile(); of != nil {
		per := (fs.bsize - orphanTailSize) / 4
		for lblk := uint64(0); lblk < of.dirBlocks(); lblk++ {
			b, phys, err := fs.orphanFileBlock(of, lblk)
			if err != nil {
				fs.warnf("orphan file block %d: %v", lblk, err)
				continue
			}
			changed := false
			for i := 0; i < per; i++ {
				ino := le.Uint32(b.data[i*4:])
				if ino == 0 {
					continue
				}
				le.PutUint32(b.data[i*4:], 0)
				changed = true
				if ino > fs.sb.InodesCount || seen[ino] {
					continue
				}
				seen[ino] = true
				if ip, err := fs.vc.Get(uint64(ino)); err == nil {
					held = append(held, ip)
				}
			}
			if changed {
				fs.sealOrphanBlock(of, phys, b)
			}
		}
	}
	for _, ip := range held {
		if ip.di.LinksCount != 0 {
			ip.di.Dtime = 0
			_ = ip.store()
		}
	}
	if err := fs.flush(false); err != nil {
		fs.warnf("orphan cleanup: %v", err)
	}
	if len(held) > 0 {
		fs.warnf("freeing %d orphan inodes left by a crash", len(held))
	}
	for _, ip := range held {
		ip.Rele() // the last reference: inactive releases unlinked ones
	}
}
