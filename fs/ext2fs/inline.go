package ext2fs

// inline_data: small files and directories kept in the inode itself, in
// the 60 bytes of i_block and on in the value of the in-inode attribute
// "system.data" (Linux's fs/ext4/inline.c). Reads serve them from there;
// the first change converts the file to an ordinary block-mapped one, as
// Linux does when inline data no longer fits (ext4_convert_inline_data),
// so the writing code never deals with inline layouts.
//
// An inline directory holds the parent's inode number in its first four
// bytes, then records; "." and ".." are implicit. It is shown to the
// directory code as one synthesized block laid out as the converted block
// will be: ".", "..", the records of i_block and those of system.data, the
// last record stretched to the block's end (and the checksum tail with
// metadata_csum). Readdir cookies and entry locations are therefore the
// same before and after conversion.

import (
	"syscall"
)

// inlineMinSize is EXT4_MIN_INLINE_DATA_SIZE, the bytes of i_block.
const inlineMinSize = NBlocks * 4

func (ip *inode) isInline() bool {
	return ip.di.Flags&FlagInlineData != 0 && ip.fs.sb.FeatureIncompat&IncompatInlineData != 0
}

func isSystemData(x xattr) bool { return x.index == XattrIndexSystem && x.name == "data" }

// inlineBytes returns the inline contents: i_block, then system.data.
func (ip *inode) inlineBytes() ([]byte, error) {
	out := append([]byte(nil), ip.rootExtentBytes()...)
	ibody, _, err := ip.readXattrs()
	if err != nil {
		return nil, err
	}
	for _, x := range ibody {
		if isSystemData(x) {
			out = append(out, x.value...)
		}
	}
	return out, nil
}

// readInline reads a regular file's or symlink's inline bytes at off.
func (ip *inode) readInline(p []byte, off int64) (int, error) {
	data, err := ip.inlineBytes()
	if err != nil {
		return 0, err
	}
	size := int64(ip.size())
	if size > int64(len(data)) {
		return 0, errIO
	}
	if off >= size {
		return 0, nil
	}
	return copy(p, data[off:size]), nil
}

// inlineDirBlock synthesizes the block an inline directory reads as.
func (ip *inode) inlineDirBlock() ([]byte, error) {
	fs := ip.fs
	data, err := ip.inlineBytes()
	if err != nil {
		return nil, err
	}
	const recStart = 24 // after "." and ".."
	body := data[4:]
	space := fs.dirSpace()
	if recStart+len(body)+DirRecLen(1) > space {
		return nil, errIO
	}
	blk := make([]byte, fs.bsize)
	if fs.dirCsum() {
		putDirTail(blk)
	}
	parent := le.Uint32(data)
	fs.putRec(blk, 0, 12, ip.ino, fs.ft(imDir), []byte("."))
	fs.putRec(blk, 12, 12, parent, fs.ft(imDir), []byte(".."))
	copy(blk[recStart:], body)
	// Walk the records (they tile i_block's part and system.data's part
	// exactly) and stretch the last one to the end of the usable space.
	last := -1
	for off := recStart; off < recStart+len(body); {
		rl := RecLenFromDisk(le.Uint16(blk[off+4:]), fs.bsize)
		if rl < DirRecLen(0) || rl%4 != 0 || off+rl > recStart+len(body) {
			return nil, errIO
		}
		last = off
		off += rl
	}
	if last < 0 {
		fs.putRec(blk, recStart, space-recStart, 0, 0, nil)
	} else {
		le.PutUint16(blk[last+4:], RecLenToDisk(space-last, fs.bsize))
	}
	if fs.dirCsum() {
		ip.sealDirBlock(blk)
	}
	return blk, nil
}

// uninline moves an inline file's or directory's contents to a block of
// its own and clears EXT4_INLINE_DATA_FL (caller holds the write lock).
// Inline contents never exceed a block (the inode is at most a block),
// and the block is allocated before anything changes, so that ENOSPC
// leaves the file as it was.
func (ip *inode) uninline() error {
	fs := ip.fs
	if !ip.isInline() {
		return nil
	}
	var blk []byte
	var err error
	if ip.isDir() {
		blk, err = ip.inlineDirBlock()
	} else {
		var data []byte
		data, err = ip.inlineBytes()
		if err == nil {
			size := ip.size()
			if size > uint64(len(data)) || size > uint64(fs.bsize) {
				return errIO
			}
			if size > 0 {
				blk = make([]byte, fs.bsize)
				copy(blk, data[:size])
			}
		}
	}
	if err != nil {
		return err
	}
	list, err := ip.allXattrs()
	if err != nil {
		return err
	}
	kept := list[:0]
	for _, x := range list {
		if !isSystemData(x) {
			kept = append(kept, x)
		}
	}
	var phys uint64
	if blk != nil {
		if phys, err = fs.allocBlock32(ip.goal()); err != nil {
			return err
		}
	}
	ip.di.Flags &^= FlagInlineData
	ip.di.Block = [NBlocks]uint32{}
	if err := ip.writeXattrs(kept); err != nil {
		return err
	}
	if blk == nil {
		return ip.store()
	}
	ip.di.Block[0] = uint32(phys)
	ip.addBlocks(1)
	if ip.isDir() {
		b := fs.cache.getZero(phys)
		copy(b.data, blk)
		ip.dirDirty(b)
		ip.setSize(uint64(fs.bsize))
	} else if _, err := fs.d.WriteAt(blk, int64(phys)*int64(fs.bsize)); err != nil {
		return syscall.EIO
	}
	return ip.store()
}

// uninlineOrFail converts before a change; a failure is EIO or ENOSPC.
func (ip *inode) uninlineOrFail() error {
	if !ip.isInline() {
		return nil
	}
	if err := ip.uninline(); err != nil {
		if err == syscall.ENOSPC {
			return err
		}
		return syscall.EIO
	}
	return nil
}
