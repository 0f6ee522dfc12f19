package ext2fs

// Block and inode allocation through the group bitmaps, keeping the group
// descriptors' and the superblock's free counts right. The policies are
// NetBSD's ext2fs_alloc.c in spirit: file blocks near the previous block
// of the file (else in the inode's group), file inodes in the parent's
// group, directory inodes spread to a group with more than the average
// free inodes and the most free blocks (an Orlov-like choice).

import (
	"math/bits"
	"syscall"
)

func (fs *fsys) groupOfBlock(b uint64) uint32 {
	return uint32((b - uint64(fs.sb.FirstDataBlock)) / uint64(fs.bpg))
}

func (fs *fsys) blocksInGroup(g uint32) uint32 {
	first := fs.groupFirstBlock(g)
	n := fs.sb.BlocksCount() - first
	if n > uint64(fs.bpg) {
		n = uint64(fs.bpg)
	}
	return uint32(n)
}

// findZero returns the first clear bit in bm in [from, to), or -1.
func findZero(bm []byte, from, to int) int {
	for i := from; i < to; {
		if i%64 == 0 && i+64 <= to {
			w := le.Uint64(bm[i/8:])
			if w == ^uint64(0) {
				i += 64
				continue
			}
			return i + bits.TrailingZeros64(^w)
		}
		if bm[i/8]&(1<<(i%8)) == 0 {
			return i
		}
		i++
	}
	return -1
}

// allocBlock takes a free block, as close after goal as possible.
func (fs *fsys) allocBlock(goal uint64) (uint64, error) {
	if fs.sb.FreeBlocksCount() == 0 {
		return 0, syscall.ENOSPC
	}
	if !fs.validBlock(goal) {
		goal = uint64(fs.sb.FirstDataBlock)
	}
	g0 := fs.groupOfBlock(goal)
	for k := uint32(0); k <= fs.ngroups; k++ {
		g := (g0 + k) % fs.ngroups
		gd := &fs.gds[g]
		if gd.FreeBlocks() == 0 {
			continue
		}
		b, err := fs.blockBitmap(g)
		if err != nil {
			return 0, err
		}
		n := int(fs.blocksInGroup(g))
		start := 0
		if k == 0 {
			start = int(goal - fs.groupFirstBlock(g))
		}
		bit := findZero(b.data, start, n)
		if bit < 0 && start > 0 {
			bit = findZero(b.data, 0, start)
		}
		if bit < 0 {
			continue
		}
		blk := fs.groupFirstBlock(g) + uint64(bit)
		b.data[bit/8] |= 1 << (bit % 8)
		fs.cache.markDirty(b)
		gd.SetFreeBlocks(gd.FreeBlocks() - 1)
		fs.setBlockBitmapCsum(g, b.data)
		fs.putGroup(g)
		fs.sb.SetFreeBlocksCount(fs.sb.FreeBlocksCount() - 1)
		fs.cache.forget(blk)
		return blk, nil
	}
	return 0, syscall.ENOSPC
}

// freeBlock gives block blk back. A block that is already free means the
// metadata is corrupt: EIO, nothing changed.
func (fs *fsys) freeBlock(blk uint64) error {
	if !fs.validBlock(blk) {
		return syscall.EIO
	}
	g := fs.groupOfBlock(blk)
	gd := &fs.gds[g]
	b, err := fs.blockBitmap(g)
	if err != nil {
		return err
	}
	bit := int(blk - fs.groupFirstBlock(g))
	if b.data[bit/8]&(1<<(bit%8)) == 0 {
		fs.warnf("freeing free block %d", blk)
		return syscall.EIO
	}
	b.data[bit/8] &^= 1 << (bit % 8)
	fs.cache.markDirty(b)
	gd.SetFreeBlocks(gd.FreeBlocks() + 1)
	fs.setBlockBitmapCsum(g, b.data)
	fs.putGroup(g)
	fs.sb.SetFreeBlocksCount(fs.sb.FreeBlocksCount() + 1)
	fs.cache.forget(blk)
	return nil
}

// allocInode takes a free inode for a child of directory parent.
func (fs *fsys) allocInode(parent uint32, dir bool) (uint32, error) {
	if fs.sb.FreeInodesCount == 0 {
		return 0, syscall.ENOSPC
	}
	pg := (parent - 1) / fs.ipg
	start := pg
	if dir {
		avg := fs.sb.FreeInodesCount / fs.ngroups
		best, bestFree := int64(-1), uint32(0)
		for k := uint32(0); k < fs.ngroups; k++ {
			g := (pg + k) % fs.ngroups
			gd := &fs.gds[g]
			if gd.FreeInodes() == 0 || gd.FreeInodes() < avg {
				continue
			}
			if best < 0 || gd.FreeBlocks() > bestFree {
				best, bestFree = int64(g), gd.FreeBlocks()
			}
		}
		if best >= 0 {
			start = uint32(best)
		}
	}
	for k := uint32(0); k < fs.ngroups; k++ {
		g := (start + k) % fs.ngroups
		gd := &fs.gds[g]
		if gd.FreeInodes() == 0 {
			continue
		}
		b, err := fs.inodeBitmap(g)
		if err != nil {
			return 0, err
		}
		from := 0
		if g == 0 {
			from = int(fs.firstIno) - 1
		}
		bit := findZero(b.data, from, int(fs.ipg))
		if bit < 0 {
			continue
		}
		b.data[bit/8] |= 1 << (bit % 8)
		fs.cache.markDirty(b)
		gd.SetFreeInodes(gd.FreeInodes() - 1)
		if dir {
			gd.SetUsedDirs(gd.UsedDirs() + 1)
		}
		fs.inodeUsed(g, uint32(bit))
		fs.setInodeBitmapCsum(g, b.data)
		if fs.groupCsumOn() && gd.Flags&BGBlockUninit != 0 {
			// ext4_new_inode builds the group's block bitmap too, so
			// that the group is fully initialised once it holds inodes.
			if _, err := fs.initBlockBitmap(g); err != nil {
				return 0, err
			}
		}
		fs.putGroup(g)
		fs.sb.FreeInodesCount--
		return g*fs.ipg + uint32(bit) + 1, nil
	}
	return 0, syscall.ENOSPC
}

func (fs *fsys) freeInode(ino uint32, dir bool) error {
	if ino < 1 || ino > fs.sb.InodesCount {
		return syscall.EIO
	}
	g := (ino - 1) / fs.ipg
	bit := int((ino - 1) % fs.ipg)
	gd := &fs.gds[g]
	if fs.groupCsumOn() && gd.Flags&BGInodeUninit != 0 {
		fs.warnf("freeing inode %d of an uninitialised group", ino)
		return syscall.EIO
	}
	b, err := fs.inodeBitmap(g)
	if err != nil {
		return err
	}
	if b.data[bit/8]&(1<<(bit%8)) == 0 {
		fs.warnf("freeing free inode %d", ino)
		return syscall.EIO
	}
	b.data[bit/8] &^= 1 << (bit % 8)
	fs.cache.markDirty(b)
	gd.SetFreeInodes(gd.FreeInodes() + 1)
	if dir && gd.UsedDirs() > 0 {
		gd.SetUsedDirs(gd.UsedDirs() - 1)
	}
	fs.setInodeBitmapCsum(g, b.data)
	fs.putGroup(g)
	fs.sb.FreeInodesCount++
	return nil
}
