package ext2fs

// Directories: linear blocks of ext2_dir_entry_2 records, optionally
// indexed by a hash tree (dir_index; Documentation/filesystems/ext4 in
// Linux, "Hash Tree Directories"). Lookups in an indexed directory go
// through the tree; a tree that does not hold together falls back to a
// linear scan, as Linux does when dx_probe fails.

import (
	"bytes"
	"syscall"

	"github.com/rumpfs/rumpfs/vfs"
)

// dirRec is one parsed record of a directory block.
type dirRec struct {
	off    int // byte offset inside the block
	recLen int
	ino    uint32
	ftype  uint8
	name   []byte // aliases the block
}

// parseDirBlock walks the records of one directory block, checking each
// as Linux's ext4_check_dir_entry does; fn returns false to stop.
func (fs *fsys) parseDirBlock(data []byte, fn func(r dirRec) bool) error {
	bs := len(data)
	for off := 0; off < bs; {
		if off+DirEntryHeaderSize > bs {
			return errIO
		}
		e := DecodeDirEntry(data[off:])
		rl := RecLenFromDisk(e.RecLen, bs)
		nl := int(e.NameLen)
		if rl < DirRecLen(1) && !(rl == DirTailSize && e.Inode == 0) || rl%4 != 0 || off+rl > bs ||
			DirEntryHeaderSize+nl > rl {
			return errIO
		}
		if e.Inode > fs.sb.InodesCount {
			return errIO
		}
		ft := e.FileType
		if !fs.filetype {
			if ft != 0 {
				return errIO // high byte of a 16-bit name_len
			}
		}
		r := dirRec{off: off, recLen: rl, ino: e.Inode, ftype: ft,
			name: data[off+DirEntryHeaderSize : off+DirEntryHeaderSize+nl]}
		if !fn(r) {
			return nil
		}
		off += rl
	}
	return nil
}

// dirBlock reads logical block lblk of directory ip through the cache,
// checking its checksum when the file system has them.
func (ip *inode) dirBlock(lblk uint64) (*buf, error) {
	if ip.isInline() {
		// Synthesized, outside the cache; changes convert the directory
		// first (inline.go).
		if lblk != 0 {
			return nil, errIO
		}
		data, err := ip.inlineDirBlock()
		if err != nil {
			return nil, err
		}
		return &buf{data: data}, nil
	}
	phys, _, err := ip.mapBlock(lblk)
	if err != nil {
		return nil, err
	}
	if phys == 0 {
		return nil, errIO // directories have no holes
	}
	b, err := ip.fs.cache.get(phys)
	if err != nil {
		return nil, errIO
	}
	if ip.fs.metaCsum && !ip.dirBlockCsumOK(lblk, b.data) {
		return nil, errIO
	}
	return b, nil
}

// dirTail reports whether the block ends in the checksum record.
func dirTail(data []byte) bool {
	t := data[len(data)-DirTailSize:]
	return le.Uint32(t) == 0 && le.Uint16(t[4:]) == DirTailSize && t[6] == 0 && t[7] == FtDirCsum
}

func (ip *inode) dirBlockCsumOK(lblk uint64, data []byte) bool {
	bs := len(data)
	if dirTail(data) {
		return crc32c(ip.csumSeed(), data[:bs-DirTailSize]) == le.Uint32(data[bs-4:])
	}
	if ip.isIndexed() {
		// Interior hash-tree blocks carry a dx_tail, checked by the tree
		// code: the root, and nodes that look like one empty record.
		if lblk == 0 {
			return true
		}
		e := DecodeDirEntry(data)
		if e.Inode == 0 && RecLenFromDisk(e.RecLen, bs) == bs {
			return true
		}
	}
	return false
}

func (ip *inode) isIndexed() bool {
	return ip.di.Flags&FlagIndex != 0 && ip.fs.sb.FeatureCompat&CompatDirIndex != 0 && !ip.isInline()
}

func (ip *inode) dirBlocks() uint64 {
	if ip.isInline() {
		return 1
	}
	return (ip.size() + uint64(ip.fs.bsize) - 1) / uint64(ip.fs.bsize)
}

// entryLoc says where a directory entry is.
type entryLoc struct {
	lblk    uint64
	off     int
	prevOff int // offset of the previous record in the block, -1 if first
	ino     uint32
	ftype   uint8
}

// lookupName finds name in directory ip (caller holds mu).
func (ip *inode) lookupName(name []byte) (entryLoc, error) {
	if ip.isIndexed() {
		loc, err, usable := ip.dxLookup(name)
		if usable {
			return loc, err
		}
	}
	return ip.linearLookup(name, 0, ip.dirBlocks())
}

func (ip *inode) linearLookup(name []byte, from, to uint64) (entryLoc, error) {
	for lblk := from; lblk < to; lblk++ {
		b, err := ip.dirBlock(lblk)
		if err != nil {
			return entryLoc{}, err
		}
		loc, found, err := ip.searchBlock(b.data, lblk, name)
		if err != nil || found {
			return loc, err
		}
	}
	return entryLoc{}, syscall.ENOENT
}

func (ip *inode) searchBlock(data []byte, lblk uint64, name []byte) (entryLoc, bool, error) {
	var loc entryLoc
	found := false
	prev := -1
	err := ip.fs.parseDirBlock(data, func(r dirRec) bool {
		if r.ino != 0 && bytes.Equal(r.name, name) {
			loc = entryLoc{lblk: lblk, off: r.off, prevOff: prev, ino: r.ino, ftype: r.ftype}
			found = true
			return false
		}
		prev = r.off
		return true
	})
	return loc, found, err
}

// dxFrame is one level of a descent through the hash tree.
type dxFrame struct {
	lblk    uint64
	entries []byte // the dx_entry array, count entries
	count   int
	at      int
}

func (ip *inode) dxHashVersion(info DxRootInfo) uint8 {
	v := info.HashVersion
	if v <= DxHashTea && ip.fs.sb.Flags&FlagUnsignedHash != 0 {
		v += 3
	}
	return v
}

// dxNode checks a dx_countlimit at off in block data and returns the
// entries. The limit must be what the block size gives (less the tail
// with metadata_csum), and the checksum must match.
func (ip *inode) dxNode(data []byte, off int) ([]byte, int, error) {
	bs := len(data)
	if off+DxCountLimitSize > bs {
		return nil, 0, errIO
	}
	limit := int(le.Uint16(data[off:]))
	count := int(le.Uint16(data[off+2:]))
	want := (bs - off) / DxEntrySize
	if ip.fs.metaCsum {
		want = (bs - off - DxTailSize) / DxEntrySize
	}
	if limit != want || count == 0 || count > limit {
		return nil, 0, errIO
	}
	if ip.fs.metaCsum {
		tail := data[off+limit*DxEntrySize:]
		c := crc32c(ip.csumSeed(), data[:off+count*DxEntrySize])
		c = crc32c(c, tail[:4])
		c = crc32c(c, []byte{0, 0, 0, 0}) // dt_checksum counted as zero
		if c != le.Uint32(tail[4:]) {
			return nil, 0, errIO
		}
	}
	return data[off : off+count*DxEntrySize], count, nil
}

// dxProbe descends the tree toward hash. usable is false when the tree is
// malformed (the caller then scans linearly).
func (ip *inode) dxProbe(hash uint32) (frames []dxFrame, usable bool) {
	bs := ip.fs.bsize
	b, err := ip.dirBlock(0)
	if err != nil {
		return nil, false
	}
	data := b.data
	dot := DecodeDirEntry(data)
	dotdot := DecodeDirEntry(data[12:])
	if RecLenFromDisk(dot.RecLen, bs) != 12 || RecLenFromDisk(dotdot.RecLen, bs) != bs-12 {
		return nil, false
	}
	info := DecodeDxRootInfo(data[DxRootInfoOffset:])
	maxLevels := 2
	if ip.fs.sb.FeatureIncompat&IncompatLargedir != 0 {
		maxLevels = DxMaxLevels
	}
	if info.ReservedZero != 0 || info.InfoLength != DxRootInfoSize || int(info.IndirectLevels) >= maxLevels {
		return nil, false
	}
	ents, count, err := ip.dxNode(data, DxRootInfoOffset+int(info.InfoLength))
	if err != nil {
		return nil, false
	}
	nblocks := ip.dirBlocks()
	lblk := uint64(0)
	for level := 0; ; level++ {
		// Entry 0 has an implicit hash of 0; the rest are sorted.
		at := 0
		for i := 1; i < count; i++ {
			if le.Uint32(ents[i*DxEntrySize:]) > hash {
				break
			}
			at = i
		}
		frames = append(frames, dxFrame{lblk: lblk, entries: ents, count: count, at: at})
		child := uint64(le.Uint32(ents[at*DxEntrySize+4:]) & 0x0fffffff)
		if child == 0 || child >= nblocks {
			return nil, false
		}
		if level == int(info.IndirectLevels) {
			return frames, true
		}
		cb, err := ip.dirBlock(child)
		if err != nil {
			return nil, false
		}
		fake := DecodeDirEntry(cb.data)
		if fake.Inode != 0 || RecLenFromDisk(fake.RecLen, bs) != bs {
			return nil, false
		}
		ents, count, err = ip.dxNode(cb.data, DxNodeHeaderSize)
		if err != nil {
			return nil, false
		}
		lblk = child
	}
}

// dxLeaf is the leaf block a frame path points at.
func dxLeaf(frames []dxFrame) uint64 {
	f := frames[len(frames)-1]
	return uint64(le.Uint32(f.entries[f.at*DxEntrySize+4:]) & 0x0fffffff)
}

func (ip *inode) dxLookup(name []byte) (loc entryLoc, err error, usable bool) {
	b, err := ip.dirBlock(0)
	if err != nil {
		return entryLoc{}, nil, false
	}
	version := ip.dxHashVersion(DecodeDxRootInfo(b.data[DxRootInfoOffset:]))
	if version > DxHashTeaUnsigned {
		return entryLoc{}, nil, false
	}
	hash, _ := dirHash(name, version, ip.fs.sb.HashSeed)
	frames, ok := ip.dxProbe(hash)
	if !ok {
		return entryLoc{}, nil, false
	}
	for steps := 0; steps < 1<<20; steps++ {
		leaf := dxLeaf(frames)
		lb, err := ip.dirBlock(leaf)
		if err != nil {
			return entryLoc{}, err, true
		}
		loc, found, err := ip.searchBlock(lb.data, leaf, name)
		if err != nil || found {
			return loc, err, true
		}
		// Names with the same hash may continue in the next leaf, whose
		// starting hash then has its low bit set (ext4_htree_next_block).
		more, ok := ip.dxNext(frames, hash)
		if !ok {
			return entryLoc{}, nil, false
		}
		if !more {
			return entryLoc{}, syscall.ENOENT, true
		}
	}
	return entryLoc{}, errIO, true
}

// dxNext advances frames to the next leaf if it may hold more names of
// this hash.
func (ip *inode) dxNext(frames []dxFrame, hash uint32) (more, ok bool) {
	i := len(frames) - 1
	for ; i >= 0; i-- {
		if frames[i].at+1 < frames[i].count {
			break
		}
	}
	if i < 0 {
		return false, true
	}
	frames[i].at++
	h := le.Uint32(frames[i].entries[frames[i].at*DxEntrySize:])
	if h&1 == 0 || h&^1 != hash {
		return false, true
	}
	// Descend along the leftmost entries below level i.
	for j := i + 1; j < len(frames); j++ {
		child := uint64(le.Uint32(frames[j-1].entries[frames[j-1].at*DxEntrySize+4:]) & 0x0fffffff)
		if child >= ip.dirBlocks() {
			return false, false
		}
		cb, err := ip.dirBlock(child)
		if err != nil {
			return false, false
		}
		ents, count, err := ip.dxNode(cb.data, DxNodeHeaderSize)
		if err != nil {
			return false, false
		}
		frames[j] = dxFrame{lblk: child, entries: ents, count: count, at: 0}
	}
	return true, true
}

func (ip *inode) Lookup(name string) (vfs.Vnode, error) {
	fs := ip.fs
	fs.mu.RLock()
	defer fs.mu.RUnlock()
	if fs.dead {
		return nil, syscall.EIO
	}
	if !ip.isDir() {
		return nil, syscall.ENOTDIR
	}
	if len(name) > DirNameMax {
		return nil, syscall.ENAMETOOLONG
	}
	if name == "." {
		fs.vc.Ref(uint64(ip.ino))
		return ip, nil
	}
	loc, err := ip.lookupName([]byte(name))
	if err != nil {
		return nil, err
	}
	if loc.ino == 0 {
		return nil, errIO
	}
	if loc.ino == ip.ino {
		fs.vc.Ref(uint64(ip.ino))
		return ip, nil
	}
	c, err := fs.vc.Get(uint64(loc.ino))
	if err != nil {
		return nil, err
	}
	return c, nil
}

var ftToDT = [8]uint8{vfs.DT_UNKNOWN, vfs.DT_REG, vfs.DT_DIR, vfs.DT_CHR, vfs.DT_BLK, vfs.DT_FIFO, vfs.DT_SOCK, vfs.DT_LNK}

func dtOf(ft uint8) uint8 {
	if int(ft) < len(ftToDT) {
		return ftToDT[ft]
	}
	return vfs.DT_UNKNOWN
}

// Readdir lists entries in on-disk order; a cookie is the byte offset of
// an entry in the directory, which stays valid across changes because
// records never move (a removed record is merged into its predecessor).
// The callback runs without the mount lock held.
func (ip *inode) Readdir(cookie uint64, fn func(vfs.Dirent) bool) error {
	fs := ip.fs
	bs := uint64(fs.bsize)
	for lblk := cookie / bs; ; lblk++ {
		fs.mu.RLock()
		if fs.dead {
			fs.mu.RUnlock()
			return syscall.EIO
		}
		if !ip.isDir() {
			fs.mu.RUnlock()
			return syscall.ENOTDIR
		}
		if lblk >= ip.dirBlocks() {
			fs.mu.RUnlock()
			return nil
		}
		var ents []vfs.Dirent
		b, err := ip.dirBlock(lblk)
		if err == nil {
			err = fs.parseDirBlock(b.data, func(r dirRec) bool {
				pos := lblk*bs + uint64(r.off)
				if r.ino == 0 || pos < cookie {
					return true
				}
				ents = append(ents, vfs.Dirent{Name: string(r.name), Ino: uint64(r.ino),
					Type: dtOf(r.ftype), Next: pos + uint64(r.recLen)})
				return true
			})
		}
		fs.mu.RUnlock()
		if err != nil {
			return err
		}
		for _, e := range ents {
			if !fn(e) {
				return nil
			}
		}
	}
}
