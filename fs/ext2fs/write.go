package ext2fs

// Changing operations for ext2/ext3/ext4 (indirect-block files here,
// extent-mapped ones in extent.go; mounts with features this code cannot
// write are refused read-write at mount time). Every
// operation holds the mount's write lock and ends with endOp; file data
// goes straight to the device, metadata through the block cache, with
// ext4's checksums kept right as blocks change (ext4.go).
//
// Hash-indexed directories: a one-block directory becomes indexed when
// its block fills (make_indexed_dir); a new name goes into the leaf block
// the index points to; a full leaf is split and the tree grows to two
// levels (three with large_dir) as Linux's ext4_dx_add_entry does
// (dxwrite.go), which keeps the index valid. Only when the tree is at its
// largest or unusable is the directory's EXT2_INDEX_FL cleared, and it is
// used as a plain linear directory from then on (the index blocks read as
// empty records), which Linux and e2fsck accept; `e2fsck -fD` rebuilds
// the index. With metadata_csum that fallback is impossible (index
// blocks would fail their checksums as leaves): ENOSPC, as Linux's
// "Directory index full!".

import (
	"syscall"

	"github.com/rumpfs/rumpfs/vfs"
)

// begin takes the write lock for a change; on success the caller must
// call fs.mu.Unlock.
func (fs *fsys) begin() error {
	if fs.ro {
		return syscall.EROFS
	}
	fs.mu.Lock()
	if fs.dead {
		fs.mu.Unlock()
		return syscall.EIO
	}
	fs.cache.beginOp()
	return nil
}

// finish ends a change: unlock, then give back the references taken
// during it (Rele may free an inode, which takes the lock again).
func (fs *fsys) finish(rel []*inode) {
	fs.mu.Unlock()
	for _, ip := range rel {
		ip.Rele()
	}
}

func (fs *fsys) linkMax() uint16 {
	if fs.sb.FeatureRoCompat&RoCompatDirNlink != 0 {
		return 65000
	}
	return 32000
}

// maxFileSize is the largest size a file with indirect blocks may reach
// (Linux's ext4_max_bitmap_size: the mapping's reach, and i_blocks' range
// without huge_file).
func (fs *fsys) maxFileSize() uint64 {
	if fs.sb.RevLevel == RevGood {
		return 1<<31 - 1
	}
	p := fs.ptrsPerBlock()
	res := fs.maxIndBlocks()
	if fs.sb.FeatureRoCompat&RoCompatHugeFile == 0 {
		upper := uint64(1<<32-1) / uint64(fs.bsize/512)
		meta := 1 + (1 + p) + (1 + p + p*p)
		if upper-meta < res {
			res = upper - meta
		}
	}
	return res * uint64(fs.bsize)
}

// goal is where to look for a new block of ip: its group's start.
func (ip *inode) goal() uint64 {
	g := (ip.ino - 1) / ip.fs.ipg
	return ip.fs.groupFirstBlock(g)
}

// hasBlocks says whether i_block holds block pointers.
func (ip *inode) hasBlocks() bool {
	switch ip.typ() {
	case imReg, imDir:
		return !ip.isInline()
	case imLnk:
		if ip.isInline() {
			return false
		}
		return !ip.fastSymlink() || ip.blocks512() > ip.xattrBlocks512()
	}
	return false
}

func (ip *inode) xattrBlocks512() uint64 {
	if ip.di.FileACL() != 0 {
		return uint64(ip.fs.bsize / 512)
	}
	return 0
}

// bmapAlloc maps lblk, allocating the data block and any missing indirect
// blocks. fresh reports a newly allocated data block (its bytes are
// undefined until written).
func (ip *inode) bmapAlloc(lblk uint64, goal uint64) (phys uint64, fresh bool, err error) {
	fs := ip.fs
	if ip.extentsOn() {
		return ip.extBmapAlloc(lblk, goal)
	}
	slot, idx, ok := fs.indPath(lblk)
	if !ok {
		return 0, false, syscall.EFBIG
	}
	if goal == 0 {
		goal = ip.goal()
	}
	if len(idx) == 0 {
		if p := ip.di.Block[slot]; p != 0 {
			return uint64(p), false, nil
		}
		nb, err := fs.allocBlock32(goal)
		if err != nil {
			return 0, false, err
		}
		ip.di.Block[slot] = uint32(nb)
		ip.addBlocks(1)
		return nb, true, nil
	}
	blk := uint64(ip.di.Block[slot])
	if blk == 0 {
		nb, err := fs.allocBlock32(goal)
		if err != nil {
			return 0, false, err
		}
		fs.cache.markDirty(fs.cache.getZero(nb))
		ip.di.Block[slot] = uint32(nb)
		ip.addBlocks(1)
		blk = nb
	}
	for lvl, i := range idx {
		if !fs.validBlock(blk) {
			return 0, false, syscall.EIO
		}
		b, err := fs.cache.get(blk)
		if err != nil {
			return 0, false, syscall.EIO
		}
		next := uint64(le.Uint32(b.data[i*4:]))
		if next != 0 {
			blk = next
			continue
		}
		nb, err := fs.allocBlock32(max(goal, blk+1))
		if err != nil {
			return 0, false, err
		}
		last := lvl == len(idx)-1
		if !last {
			fs.cache.markDirty(fs.cache.getZero(nb))
		}
		le.PutUint32(b.data[i*4:], uint32(nb))
		fs.cache.markDirty(b)
		ip.addBlocks(1)
		if last {
			return nb, true, nil
		}
		blk = nb
	}
	if !fs.validBlock(blk) {
		return 0, false, syscall.EIO
	}
	return blk, false, nil
}

// writeData writes p at off, allocating blocks; it returns how much was
// written (a short count with the error that stopped it).
func (ip *inode) writeData(p []byte, off int64) (int, error) {
	fs := ip.fs
	bs := int64(fs.bsize)
	done := 0
	var runStart int64 = -1 // device offset of the pending run
	var runBuf []byte
	flushRun := func() error {
		if len(runBuf) > 0 {
			if _, err := fs.d.WriteAt(runBuf, runStart); err != nil {
				return syscall.EIO
			}
		}
		runBuf, runStart = nil, -1
		return nil
	}
	var goal uint64
	for done < len(p) {
		pos := off + int64(done)
		lblk := uint64(pos / bs)
		inblk := pos % bs
		n := int(bs - inblk)
		if n > len(p)-done {
			n = len(p) - done
		}
		phys, fresh, err := ip.bmapAlloc(lblk, goal)
		if err != nil {
			if ferr := flushRun(); ferr != nil {
				return done, ferr
			}
			return done, err
		}
		goal = phys + 1
		piece := p[done : done+n]
		devOff := int64(phys)*bs + inblk
		if fresh && n < int(bs) {
			// A new block only partly written: the rest must read as
			// zeros, so write it whole.
			if err := flushRun(); err != nil {
				return done, err
			}
			blk := make([]byte, bs)
			copy(blk[inblk:], piece)
			if _, err := fs.d.WriteAt(blk, int64(phys)*bs); err != nil {
				return done, syscall.EIO
			}
		} else if runStart >= 0 && runStart+int64(len(runBuf)) == devOff && len(runBuf) < 8<<20 {
			runBuf = p[done-len(runBuf) : done+n]
		} else {
			if err := flushRun(); err != nil {
				return done, err
			}
			runStart, runBuf = devOff, piece
		}
		done += n
		if end := uint64(pos) + uint64(n); end > ip.size() {
			ip.setSize(end)
		}
	}
	return done, flushRun()
}

// immutable, appendOnly and frozen read EXT2_IMMUTABLE_FL and
// EXT2_APPEND_FL, which NetBSD's ext2fs_vnops and Linux enforce as the
// BSD SF_IMMUTABLE and SF_APPEND: an immutable file is not changed,
// renamed, linked or removed, nor is an entry added to or removed from an
// immutable directory; an append-only file only grows at its end, and an
// append-only directory only gains names.
func (ip *inode) immutable() bool  { return ip.di.Flags&FlagImmutable != 0 }
func (ip *inode) appendOnly() bool { return ip.di.Flags&FlagAppend != 0 }
func (ip *inode) frozen() bool     { return ip.immutable() || ip.appendOnly() }

func (ip *inode) Write(p []byte, off int64) (int, error) {
	fs := ip.fs
	if err := fs.begin(); err != nil {
		return 0, err
	}
	defer fs.mu.Unlock()
	if ip.isDir() {
		return 0, syscall.EISDIR
	}
	if !ip.isReg() {
		return 0, syscall.EINVAL
	}
	if off < 0 {
		return 0, syscall.EINVAL
	}
	if ip.immutable() || (ip.appendOnly() && uint64(off) < ip.size()) {
		return 0, syscall.EPERM
	}
	if len(p) == 0 {
		return 0, nil
	}
	limit := ip.maxSize()
	if uint64(off) >= limit {
		return 0, syscall.EFBIG
	}
	if uint64(off)+uint64(len(p)) > limit {
		p = p[:limit-uint64(off)]
	}
	if err := ip.uninlineOrFail(); err != nil {
		return 0, err
	}
	n, err := ip.writeData(p, off)
	if n > 0 {
		if ip.size() > 1<<31-1 && fs.sb.FeatureRoCompat&RoCompatLargeFile == 0 {
			fs.sb.FeatureRoCompat |= RoCompatLargeFile
			fs.sbDirty = true
		}
		t := fs.now()
		ip.setMtime(t)
		ip.setCtime(t)
	}
	if serr := ip.store(); serr != nil && err == nil {
		err = serr
	}
	if eerr := fs.endOp(); eerr != nil && err == nil {
		err = syscall.EIO
	}
	if n > 0 {
		return n, nil
	}
	return n, err
}

// truncTree frees what pointer ptr (a tree of the given level: 0 is a data
// block) maps at logical blocks >= from, its region starting at base. It
// returns the pointer's new value (0 if the whole tree went).
func (ip *inode) truncTree(ptr uint32, level int, base, from uint64, budget *int) (uint32, error) {
	fs := ip.fs
	if ptr == 0 {
		return 0, nil
	}
	*budget--
	if *budget < 0 {
		return ptr, syscall.EIO
	}
	p := fs.ptrsPerBlock()
	span := uint64(1)
	for i := 0; i < level; i++ {
		span *= p
	}
	if base+span <= from {
		return ptr, nil
	}
	blk := uint64(ptr)
	if !fs.validBlock(blk) {
		return ptr, syscall.EIO
	}
	if level > 0 {
		b, err := fs.cache.get(blk)
		if err != nil {
			return ptr, syscall.EIO
		}
		child := span / p
		for i := uint64(0); i < p; i++ {
			cb := base + i*child
			if cb+child <= from {
				continue
			}
			old := le.Uint32(b.data[i*4:])
			nv, err := ip.truncTree(old, level-1, cb, from, budget)
			if nv != old {
				le.PutUint32(b.data[i*4:], nv)
				fs.cache.markDirty(b)
			}
			if err != nil {
				return ptr, err
			}
		}
		if base < from {
			return ptr, nil // the block still maps kept blocks
		}
	}
	if err := fs.freeBlock(blk); err != nil {
		return ptr, err
	}
	ip.addBlocks(-1)
	return 0, nil
}

// truncate sets the size, freeing blocks past it.
func (ip *inode) truncate(size uint64) error {
	fs := ip.fs
	bs := uint64(fs.bsize)
	old := ip.size()
	if ip.hasBlocks() {
		if size <= old && ip.extentsOn() {
			// Also at equal size: unlink (truncate(0)) must free blocks
			// preallocated past EOF (fallocate KEEP_SIZE) too.
			if err := ip.extTruncate((size + bs - 1) / bs); err != nil {
				return err
			}
		} else if size < old {
			from := (size + bs - 1) / bs
			p := fs.ptrsPerBlock()
			budget := int(fs.sb.BlocksCount()) + 16
			for i := from; i < NDirBlocks; i++ {
				nv, err := ip.truncTree(ip.di.Block[i], 0, i, from, &budget)
				ip.di.Block[i] = nv
				if err != nil {
					return err
				}
			}
			bases := []uint64{NDirBlocks, NDirBlocks + p, NDirBlocks + p + p*p}
			for k, slot := range []int{IndBlock, DIndBlock, TIndBlock} {
				nv, err := ip.truncTree(ip.di.Block[slot], k+1, bases[k], from, &budget)
				ip.di.Block[slot] = nv
				if err != nil {
					return err
				}
			}
		}
		// Zero the tail of the block that now holds EOF, so that a later
		// extension reads zeros there.
		edge := min(size, old)
		if edge%bs != 0 {
			phys, _, err := ip.mapBlock(edge / bs)
			if err != nil {
				return err
			}
			if phys != 0 {
				z := make([]byte, bs-edge%bs)
				if _, err := fs.d.WriteAt(z, int64(phys*bs+edge%bs)); err != nil {
					return syscall.EIO
				}
			}
		}
	}
	ip.setSize(size)
	return nil
}

func (ip *inode) Setattr(sa *vfs.SetAttr) error {
	fs := ip.fs
	if err := fs.begin(); err != nil {
		return err
	}
	defer fs.mu.Unlock()
	// An immutable inode takes only a change of its flags (by root, which
	// kern checks); an append-only one may not be truncated.
	if ip.immutable() && sa.Valid&^vfs.SetFlags != 0 || ip.appendOnly() && sa.Valid&vfs.SetSize != 0 {
		return syscall.EPERM
	}
	now := fs.now()
	if sa.Valid&vfs.SetSize != 0 {
		switch {
		case ip.isDir():
			return syscall.EISDIR
		case !ip.isReg():
			return syscall.EINVAL
		}
		if sa.Size > ip.maxSize() {
			return syscall.EFBIG
		}
		if err := ip.uninlineOrFail(); err != nil {
			return err
		}
		if sa.Size != ip.size() {
			if err := ip.truncate(sa.Size); err != nil {
				_ = ip.store()
				return err
			}
			if ip.size() > 1<<31-1 && fs.sb.FeatureRoCompat&RoCompatLargeFile == 0 {
				fs.sb.FeatureRoCompat |= RoCompatLargeFile
				fs.sbDirty = true
			}
		}
		ip.setMtime(now)
	}
	if sa.Valid&vfs.SetMode != 0 {
		ip.di.Mode = ip.di.Mode&imFmt | uint16(sa.Mode&07777)
	}
	if sa.Valid&vfs.SetUid != 0 {
		ip.di.SetUid(sa.Uid)
	}
	if sa.Valid&vfs.SetGid != 0 {
		ip.di.SetGid(sa.Gid)
	}
	if sa.Valid&vfs.SetAtime != 0 {
		ip.setAtime(sa.Atime)
	}
	if sa.Valid&vfs.SetMtime != 0 {
		ip.setMtime(sa.Mtime)
	}
	if sa.Valid&vfs.SetFlags != 0 {
		f := ip.di.Flags &^ (FlagImmutable | FlagAppend | FlagNodump)
		if sa.Flags&sfImmutable != 0 {
			f |= FlagImmutable
		}
		if sa.Flags&sfAppend != 0 {
			f |= FlagAppend
		}
		if sa.Flags&ufNodump != 0 {
			f |= FlagNodump
		}
		ip.di.Flags = f
	}
	ip.setCtime(now)
	if err := ip.store(); err != nil {
		return err
	}
	return fs.endOp()
}

func (ip *inode) Fsync(dataOnly bool) error {
	fs := ip.fs
	if fs.ro {
		return nil
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.dead {
		return syscall.EIO
	}
	if err := fs.flush(true); err != nil {
		return syscall.EIO
	}
	return nil
}

// inactive is VCache's hook: an inode whose last name and last reference
// are gone is freed on disk.
func (fs *fsys) inactive(_ uint64, ip *inode) bool {
	if ip.di.LinksCount != 0 || ip.freed {
		return !ip.freed
	}
	if fs.ro {
		return false
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.dead {
		return false
	}
	fs.cache.beginOp()
	if err := ip.release(); err != nil {
		fs.warnf("freeing inode %d: %v", ip.ino, err)
	}
	_ = fs.endOp()
	return false
}

// release frees an unlinked inode's blocks, xattr block and the inode.
func (ip *inode) release() error {
	fs := ip.fs
	if ip.freed {
		return nil
	}
	errs := fs.orphanDel(ip)
	if ip.hasBlocks() {
		if err := ip.truncate(0); err != nil && errs == nil {
			errs = err
		}
	}
	if ip.di.FileACL() != 0 {
		if err := ip.writeXattrs(nil); err != nil && errs == nil {
			errs = err
		}
	}
	dir := ip.isDir()
	ip.setSize(0)
	ip.di.LinksCount = 0
	ip.di.Dtime = uint32(fs.now().Unix())
	if err := ip.store(); err != nil && errs == nil {
		errs = err
	}
	if err := fs.freeInode(ip.ino, dir); err != nil && errs == nil {
		errs = err
	}
	ip.freed = true
	return errs
}

// ---- directory entries ----

func ftypeOf(mode uint16) uint8 {
	switch mode & imFmt {
	case imReg:
		return FtRegFile
	case imDir:
		return FtDir
	case imChr:
		return FtChrdev
	case imBlk:
		return FtBlkdev
	case imFifo:
		return FtFifo
	case imSock:
		return FtSock
	case imLnk:
		return FtSymlink
	}
	return FtUnknown
}

func (fs *fsys) ft(mode uint16) uint8 {
	if !fs.filetype {
		return 0
	}
	return ftypeOf(mode)
}

func checkName(name string) error {
	if len(name) > DirNameMax {
		return syscall.ENAMETOOLONG
	}
	if name == "" || name == "." || name == ".." {
		return syscall.EEXIST
	}
	for i := 0; i < len(name); i++ {
		if name[i] == '/' || name[i] == 0 {
			return syscall.EINVAL
		}
	}
	return nil
}

// putRec writes a record header and name at off in data.
func (fs *fsys) putRec(data []byte, off, recLen int, ino uint32, ft uint8, name []byte) {
	e := DirEntry{Inode: ino, RecLen: RecLenToDisk(recLen, len(data)), NameLen: uint8(len(name)), FileType: ft}
	e.Encode(data[off:])
	copy(data[off+DirEntryHeaderSize:], name)
}

// insertInBlock puts the entry in block data if a record has room.
func (fs *fsys) insertInBlock(data []byte, name []byte, ino uint32, ft uint8) (bool, error) {
	need := DirRecLen(len(name))
	done := false
	err := fs.parseDirBlock(data, func(r dirRec) bool {
		if r.ino == 0 && r.recLen >= need && !(r.recLen == DirTailSize && r.ftype == FtDirCsum) {
			fs.putRec(data, r.off, r.recLen, ino, ft, name)
			done = true
			return false
		}
		used := DirRecLen(len(r.name))
		if r.ino != 0 && r.recLen-used >= need {
			fs.putRec(data, r.off, used, r.ino, r.ftype, r.name)
			fs.putRec(data, r.off+used, r.recLen-used, ino, ft, name)
			done = true
			return false
		}
		return true
	})
	return done, err
}

// addEntry adds name -> ino to directory dp (the name must be absent).
func (dp *inode) addEntry(name string, ino uint32, mode uint16) error {
	fs := dp.fs
	nm := []byte(name)
	ft := fs.ft(mode)
	if err := dp.uninlineOrFail(); err != nil {
		return err
	}
	if dp.isIndexed() {
		ok, err := dp.dxAddEntry(nm, ino, ft)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if fs.dirCsum() {
			// The index blocks would fail their checksums as linear
			// blocks; Linux answers "Directory index full!" with ENOSPC.
			return syscall.ENOSPC
		}
		// The tree cannot grow (or is unusable): continue as a linear
		// directory, see the file comment.
		dp.di.Flags &^= FlagIndex
	}
	nblk := dp.dirBlocks()
	for lblk := uint64(0); lblk < nblk; lblk++ {
		b, err := dp.dirBlock(lblk)
		if err != nil {
			return err
		}
		done, err := fs.insertInBlock(b.data, nm, ino, ft)
		if err != nil {
			return err
		}
		if done {
			dp.dirDirty(b)
			return nil
		}
	}
	if nblk == 1 && !dp.isIndexed() {
		// A full one-block directory becomes indexed, as on Linux.
		made, err := dp.dxMakeIndexed()
		if err != nil {
			return err
		}
		if made {
			ok, err := dp.dxAddEntry(nm, ino, ft)
			if err != nil || ok {
				return err
			}
			return syscall.ENOSPC
		}
	}
	// Grow by one block.
	if nblk >= fs.maxIndBlocks() {
		return syscall.EFBIG
	}
	goal := uint64(0)
	if nblk > 0 {
		if last, _, err := dp.mapBlock(nblk - 1); err == nil && last != 0 {
			goal = last + 1
		}
	}
	phys, _, err := dp.bmapAlloc(nblk, goal)
	if err != nil {
		return err
	}
	b := fs.cache.getZero(phys)
	fs.newDirBlock(b.data)
	fs.putRec(b.data, 0, fs.dirSpace(), ino, ft, nm)
	dp.dirDirty(b)
	dp.setSize(dp.size() + uint64(fs.bsize))
	return nil
}

// removeEntry deletes the record at loc: merged into the previous record,
// or marked unused when it is first in its block.
func (dp *inode) removeEntry(loc entryLoc) error {
	if err := dp.uninlineOrFail(); err != nil {
		return err
	}
	b, err := dp.dirBlock(loc.lblk)
	if err != nil {
		return err
	}
	data := b.data
	cur := DecodeDirEntry(data[loc.off:])
	if loc.prevOff < 0 {
		cur.Inode = 0
		cur.Encode(data[loc.off:])
	} else {
		prev := DecodeDirEntry(data[loc.prevOff:])
		n := RecLenFromDisk(prev.RecLen, len(data)) + RecLenFromDisk(cur.RecLen, len(data))
		prev.RecLen = RecLenToDisk(n, len(data))
		prev.Encode(data[loc.prevOff:])
	}
	dp.dirDirty(b)
	return nil
}

// setEntry points the record at loc to another inode.
func (dp *inode) setEntry(loc entryLoc, ino uint32, mode uint16) error {
	fs := dp.fs
	if err := dp.uninlineOrFail(); err != nil {
		return err
	}
	b, err := dp.dirBlock(loc.lblk)
	if err != nil {
		return err
	}
	e := DecodeDirEntry(b.data[loc.off:])
	e.Inode = ino
	e.FileType = fs.ft(mode)
	e.Encode(b.data[loc.off:])
	dp.dirDirty(b)
	return nil
}

// dirEmpty reports whether a directory holds only "." and "..".
func (dp *inode) dirEmpty() (bool, error) {
	empty := true
	for lblk := uint64(0); lblk < dp.dirBlocks() && empty; lblk++ {
		b, err := dp.dirBlock(lblk)
		if err != nil {
			return false, err
		}
		err = dp.fs.parseDirBlock(b.data, func(r dirRec) bool {
			if r.ino != 0 && string(r.name) != "." && string(r.name) != ".." {
				empty = false
				return false
			}
			return true
		})
		if err != nil {
			return false, err
		}
	}
	return empty, nil
}

func (dp *inode) touchDir() {
	t := dp.fs.now()
	dp.setMtime(t)
	dp.setCtime(t)
}

// ---- creating ----

// newInode allocates and initialises an inode (not yet linked).
func (dp *inode) newInode(cred *vfs.Cred, mode uint16) (*inode, error) {
	fs := dp.fs
	dir := mode&imFmt == imDir
	ino, err := fs.allocInode(dp.ino, dir)
	if err != nil {
		return nil, err
	}
	blk, off, err := fs.inodeLoc(ino)
	if err != nil {
		return nil, err
	}
	ip := &inode{fs: fs, ino: ino, raw: make([]byte, fs.isize), blk: blk, off: off}
	if fs.isize > InodeBaseSize {
		le.PutUint16(ip.raw[InodeExtraIsizeOffset:], uint16(fs.newExtraIsize()))
	}
	ip.di.ExtraIsize = uint16(ip.extraLen())
	gid := cred.Gid
	if dp.di.Mode&vfs.S_ISGID != 0 {
		// Linux's default (sysvgroups): a setgid directory hands down its
		// group, and its setgid bit to subdirectories.
		gid = dp.di.Gid()
		if dir {
			mode |= vfs.S_ISGID
		}
	}
	ip.di.Mode = mode
	if fs.extents && (dir || mode&imFmt == imReg || mode&imFmt == imLnk) {
		// As Linux's __ext4_new_inode: new files, directories and
		// symlinks are extent-mapped (Symlink undoes it for a fast one).
		ip.initExtentRoot()
	}
	ip.di.SetUid(cred.Uid)
	ip.di.SetGid(gid)
	ip.di.LinksCount = 1
	fs.gen++
	ip.di.Generation = fs.gen
	t := fs.now()
	ip.setAtime(t)
	ip.setMtime(t)
	ip.setCtime(t)
	ip.setCrtime(t)
	return ip, nil
}

// create makes a new inode named name in dp; fill sets it up (blocks,
// contents) before it is linked.
func (dp *inode) create(cred *vfs.Cred, name string, mode uint16, fill func(ip *inode) error) (vfs.Vnode, error) {
	fs := dp.fs
	if err := fs.begin(); err != nil {
		return nil, err
	}
	defer fs.mu.Unlock()
	if !dp.isDir() {
		return nil, syscall.ENOTDIR
	}
	if dp.di.LinksCount == 0 {
		return nil, syscall.ENOENT
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	if dp.immutable() {
		return nil, syscall.EPERM
	}
	if _, err := dp.lookupName([]byte(name)); err == nil {
		return nil, syscall.EEXIST
	} else if err != syscall.ENOENT {
		return nil, err
	}
	dir := mode&imFmt == imDir
	if dir && dp.di.LinksCount >= fs.linkMax() && fs.sb.FeatureRoCompat&RoCompatDirNlink == 0 {
		return nil, syscall.EMLINK
	}
	ip, err := dp.newInode(cred, mode)
	if err != nil {
		return nil, err
	}
	undo := func() {
		ip.truncate(0)
		ip.di.LinksCount = 0
		ip.di.Dtime = uint32(fs.now().Unix())
		_ = ip.store()
		_ = fs.freeInode(ip.ino, dir)
	}
	if fill != nil {
		if err := fill(ip); err != nil {
			undo()
			return nil, err
		}
	}
	if err := ip.store(); err != nil {
		undo()
		return nil, err
	}
	if err := dp.addEntry(name, ip.ino, mode); err != nil {
		undo()
		_ = dp.store()
		return nil, err
	}
	if dir {
		dp.incLink()
	}
	dp.touchDir()
	if err := dp.store(); err != nil {
		return nil, err
	}
	vn := fs.vc.Insert(uint64(ip.ino), ip)
	return vn, fs.endOp()
}

func (dp *inode) incLink() {
	if dp.di.LinksCount >= dp.fs.linkMax() || dp.di.LinksCount == 1 && dp.isDir() && dp.fs.sb.FeatureRoCompat&RoCompatDirNlink != 0 {
		// dir_nlink: past the limit a directory's count sticks at 1.
		dp.di.LinksCount = 1
		return
	}
	dp.di.LinksCount++
}

func (dp *inode) decLink() {
	if dp.isDir() && dp.di.LinksCount == 1 {
		return // counts stuck at 1 by dir_nlink
	}
	if dp.di.LinksCount > 0 {
		dp.di.LinksCount--
	}
}

func (dp *inode) Create(cred *vfs.Cred, name string, mode uint32) (vfs.Vnode, error) {
	return dp.create(cred, name, imReg|uint16(mode&07777), nil)
}

func (dp *inode) Mknod(cred *vfs.Cred, name string, mode uint32, rdev uint64) (vfs.Vnode, error) {
	t := uint16(mode & vfs.S_IFMT)
	switch t {
	case imChr, imBlk, imFifo, imSock:
	case imReg:
		return dp.Create(cred, name, mode)
	default:
		return nil, syscall.EINVAL
	}
	return dp.create(cred, name, t|uint16(mode&07777), func(ip *inode) error {
		if t == imChr || t == imBlk {
			ip.setRdev(rdev)
		}
		return nil
	})
}

func (dp *inode) Mkdir(cred *vfs.Cred, name string, mode uint32) (vfs.Vnode, error) {
	fs := dp.fs
	return dp.create(cred, name, imDir|uint16(mode&07777), func(ip *inode) error {
		ip.di.LinksCount = 2
		phys, _, err := ip.bmapAlloc(0, 0)
		if err != nil {
			return err
		}
		b := fs.cache.getZero(phys)
		fs.newDirBlock(b.data)
		fs.putRec(b.data, 0, 12, ip.ino, fs.ft(imDir), []byte("."))
		fs.putRec(b.data, 12, fs.dirSpace()-12, dp.ino, fs.ft(imDir), []byte(".."))
		ip.dirDirty(b)
		ip.setSize(uint64(fs.bsize))
		return nil
	})
}

func (dp *inode) Symlink(cred *vfs.Cred, name, target string) (vfs.Vnode, error) {
	fs := dp.fs
	if len(target) >= fs.bsize || len(target) >= vfs.PathMax {
		return nil, syscall.ENAMETOOLONG
	}
	if target == "" {
		return nil, syscall.ENOENT
	}
	return dp.create(cred, name, imLnk|0777, func(ip *inode) error {
		if len(target) < NBlocks*4 {
			// A fast symlink keeps its target in i_block, never extents
			// (ext4_symlink clears EXT4_INODE_EXTENTS).
			ip.di.Flags &^= FlagExtents
			var b [NBlocks * 4]byte
			copy(b[:], target)
			for i := range ip.di.Block {
				ip.di.Block[i] = le.Uint32(b[i*4:])
			}
			ip.setSize(uint64(len(target)))
			return nil
		}
		phys, _, err := ip.bmapAlloc(0, 0)
		if err != nil {
			return err
		}
		blk := make([]byte, fs.bsize)
		copy(blk, target)
		if _, err := fs.d.WriteAt(blk, int64(phys)*int64(fs.bsize)); err != nil {
			return syscall.EIO
		}
		ip.setSize(uint64(len(target)))
		return nil
	})
}

func (dp *inode) Link(name string, target vfs.Vnode) error {
	fs := dp.fs
	t, ok := target.(*inode)
	if !ok || t.fs != fs {
		return syscall.EXDEV
	}
	if err := fs.begin(); err != nil {
		return err
	}
	defer fs.mu.Unlock()
	if !dp.isDir() {
		return syscall.ENOTDIR
	}
	if t.isDir() {
		return syscall.EPERM
	}
	if t.di.LinksCount == 0 {
		return syscall.ENOENT
	}
	if t.di.LinksCount >= fs.linkMax() {
		return syscall.EMLINK
	}
	if t.frozen() || dp.immutable() {
		return syscall.EPERM
	}
	if err := checkName(name); err != nil {
		return err
	}
	if _, err := dp.lookupName([]byte(name)); err == nil {
		return syscall.EEXIST
	} else if err != syscall.ENOENT {
		return err
	}
	if err := dp.addEntry(name, t.ino, t.di.Mode); err != nil {
		_ = dp.store()
		return err
	}
	t.di.LinksCount++
	t.setCtime(fs.now())
	dp.touchDir()
	if err := t.store(); err != nil {
		return err
	}
	if err := dp.store(); err != nil {
		return err
	}
	return fs.endOp()
}

func (dp *inode) Remove(name string) error {
	return dp.unlink(name, false)
}

func (dp *inode) Rmdir(name string) error {
	return dp.unlink(name, true)
}

func (dp *inode) unlink(name string, rmdir bool) error {
	fs := dp.fs
	if err := fs.begin(); err != nil {
		return err
	}
	var rel []*inode
	defer func() { fs.finish(rel) }()
	if !dp.isDir() {
		return syscall.ENOTDIR
	}
	if rmdir && name == "." {
		return syscall.EINVAL
	}
	if rmdir && name == ".." {
		return syscall.ENOTEMPTY
	}
	if len(name) > DirNameMax {
		return syscall.ENAMETOOLONG
	}
	loc, err := dp.lookupName([]byte(name))
	if err != nil {
		return err
	}
	c, err := fs.vc.Get(uint64(loc.ino))
	if err != nil {
		return err
	}
	rel = append(rel, c)
	if rmdir {
		if !c.isDir() {
			return syscall.ENOTDIR
		}
		if c == dp {
			return syscall.EINVAL
		}
		empty, err := c.dirEmpty()
		if err != nil {
			return err
		}
		if !empty {
			return syscall.ENOTEMPTY
		}
	} else if c.isDir() {
		return syscall.EISDIR
	}
	if c.frozen() || dp.frozen() {
		return syscall.EPERM
	}
	if err := dp.removeEntry(loc); err != nil {
		return err
	}
	now := fs.now()
	if rmdir {
		c.di.LinksCount = 0
		dp.decLink()
	} else {
		c.decLink()
	}
	c.setCtime(now)
	dp.touchDir()
	if c.di.LinksCount == 0 {
		if err := fs.orphanAdd(c); err != nil {
			return err
		}
	}
	if err := c.store(); err != nil {
		return err
	}
	if err := dp.store(); err != nil {
		return err
	}
	return fs.endOp()
}

// isAncestor reports whether directory anc is dir or one of its ancestors,
// walking ".." entries (bounded, so a directory loop gives EIO).
func (fs *fsys) isAncestor(anc uint32, dir *inode) (bool, error) {
	cur := dir
	var held []*inode
	defer func() {
		// References are dropped by the caller's finish; collect here.
		fs.pending = append(fs.pending, held...)
	}()
	for steps := 0; steps < 1<<16; steps++ {
		if cur.ino == anc {
			return true, nil
		}
		if cur.ino == RootIno {
			return false, nil
		}
		loc, err := cur.lookupName([]byte(".."))
		if err != nil {
			return false, err
		}
		if loc.ino == cur.ino {
			return false, syscall.EIO
		}
		next, err := fs.vc.Get(uint64(loc.ino))
		if err != nil {
			return false, err
		}
		held = append(held, next)
		if !next.isDir() {
			return false, syscall.EIO
		}
		cur = next
	}
	return false, syscall.EIO
}

func (dp *inode) Rename(oldName string, newDir vfs.Vnode, newName string) error {
	fs := dp.fs
	nd, ok := newDir.(*inode)
	if !ok || nd.fs != fs {
		return syscall.EXDEV
	}
	if err := fs.begin(); err != nil {
		return err
	}
	fs.pending = nil
	var rel []*inode
	defer func() { fs.finish(append(rel, fs.pending...)); fs.pending = nil }()
	if !dp.isDir() || !nd.isDir() {
		return syscall.ENOTDIR
	}
	if oldName == "." || oldName == ".." || newName == "." || newName == ".." {
		return syscall.EINVAL
	}
	if len(oldName) > DirNameMax || len(newName) > DirNameMax {
		return syscall.ENAMETOOLONG
	}
	if err := checkName(newName); err != nil {
		return err
	}
	sloc, err := dp.lookupName([]byte(oldName))
	if err != nil {
		return err
	}
	src, err := fs.vc.Get(uint64(sloc.ino))
	if err != nil {
		return err
	}
	rel = append(rel, src)
	if src.frozen() || dp.frozen() || nd.immutable() {
		return syscall.EPERM
	}
	var tgt *inode
	tloc, err := nd.lookupName([]byte(newName))
	switch err {
	case nil:
		if tloc.ino == src.ino {
			return nil // same file: nothing to do (POSIX)
		}
		tgt, err = fs.vc.Get(uint64(tloc.ino))
		if err != nil {
			return err
		}
		rel = append(rel, tgt)
	case syscall.ENOENT:
	default:
		return err
	}
	if src.isDir() && dp != nd {
		under, err := fs.isAncestor(src.ino, nd)
		if err != nil {
			return err
		}
		if under {
			return syscall.EINVAL
		}
	}
	if tgt != nil {
		if tgt.frozen() || nd.appendOnly() {
			return syscall.EPERM
		}
		switch {
		case src.isDir() && !tgt.isDir():
			return syscall.ENOTDIR
		case !src.isDir() && tgt.isDir():
			return syscall.EISDIR
		}
		if tgt.isDir() {
			empty, err := tgt.dirEmpty()
			if err != nil {
				return err
			}
			if !empty {
				return syscall.ENOTEMPTY
			}
		}
	} else if src.isDir() && dp != nd && nd.di.LinksCount >= fs.linkMax() && fs.sb.FeatureRoCompat&RoCompatDirNlink == 0 {
		return syscall.EMLINK
	}
	now := fs.now()
	// Make the new name first, so that a failure (ENOSPC) leaves the old
	// one in place.
	if tgt != nil {
		if err := nd.setEntry(tloc, src.ino, src.di.Mode); err != nil {
			return err
		}
		if tgt.isDir() {
			tgt.di.LinksCount = 0
			nd.decLink()
		} else {
			tgt.decLink()
		}
		tgt.setCtime(now)
		if tgt.di.LinksCount == 0 {
			if err := fs.orphanAdd(tgt); err != nil {
				return err
			}
		}
		if err := tgt.store(); err != nil {
			return err
		}
	} else {
		if err := nd.addEntry(newName, src.ino, src.di.Mode); err != nil {
			_ = nd.store()
			return err
		}
		if src.isDir() && dp != nd {
			nd.incLink()
		}
	}
	// Remove the old name (looked up again: adding may have moved it
	// when both are in one directory? records never move, but the
	// previous-record offset may have changed).
	sloc, err = dp.lookupName([]byte(oldName))
	if err != nil {
		return syscall.EIO
	}
	if err := dp.removeEntry(sloc); err != nil {
		return err
	}
	if src.isDir() && dp != nd {
		ploc, err := src.lookupName([]byte(".."))
		if err != nil {
			return err
		}
		if err := src.setEntry(ploc, nd.ino, imDir); err != nil {
			return err
		}
		dp.decLink()
		if tgt != nil {
			nd.incLink()
		}
	}
	src.setCtime(now)
	dp.touchDir()
	nd.touchDir()
	for _, ip := range []*inode{src, dp, nd} {
		if err := ip.store(); err != nil {
			return err
		}
	}
	return fs.endOp()
}
