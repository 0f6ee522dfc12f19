package ext2fs

// In-memory inodes (the vnodes of this file system), their attributes and
// the mapping of file blocks to disk blocks, by indirect blocks (ext2/3)
// or extent trees (ext4).

import (
	"syscall"
	"time"

	"github.com/rumpfs/rumpfs/vfs"
)

type inode struct {
	fs    *fsys
	ino   uint32
	di    Inode
	raw   []byte // the on-disk inode, all s_inode_size bytes
	blk   uint64 // inode-table block holding it
	off   int    // byte offset inside that block
	freed bool   // released on disk (unlinked and inactive)
}

var (
	_ vfs.Vnode       = (*inode)(nil)
	_ vfs.Writer      = (*inode)(nil)
	_ vfs.Setattrer   = (*inode)(nil)
	_ vfs.Creator     = (*inode)(nil)
	_ vfs.Mknoder     = (*inode)(nil)
	_ vfs.Mkdirer     = (*inode)(nil)
	_ vfs.Symlinker   = (*inode)(nil)
	_ vfs.Linker      = (*inode)(nil)
	_ vfs.Remover     = (*inode)(nil)
	_ vfs.Renamer     = (*inode)(nil)
	_ vfs.Fsyncer     = (*inode)(nil)
	_ vfs.Xattrer     = (*inode)(nil)
	_ vfs.XattrSetter = (*inode)(nil)
)

// Mode type bits as stored in i_mode (same as S_IFMT).
const (
	imFmt  = 0xF000
	imFifo = 0x1000
	imChr  = 0x2000
	imDir  = 0x4000
	imBlk  = 0x6000
	imReg  = 0x8000
	imLnk  = 0xA000
	imSock = 0xC000
)

func (ip *inode) typ() uint16     { return ip.di.Mode & imFmt }
func (ip *inode) isDir() bool     { return ip.typ() == imDir }
func (ip *inode) isReg() bool     { return ip.typ() == imReg }
func (ip *inode) isLink() bool    { return ip.typ() == imLnk }
func (ip *inode) Rele()           { ip.fs.vc.Rele(uint64(ip.ino)) }
func (ip *inode) extentsOn() bool { return ip.di.Flags&FlagExtents != 0 }

// inodeLoc finds inode ino in its group's inode table.
func (fs *fsys) inodeLoc(ino uint32) (blk uint64, off int, err error) {
	if ino < 1 || ino > fs.sb.InodesCount {
		return 0, 0, errIO
	}
	g := (ino - 1) / fs.ipg
	idx := uint64((ino - 1) % fs.ipg)
	byteOff := idx * uint64(fs.isize)
	return fs.gds[g].InodeTable() + byteOff/uint64(fs.bsize), int(byteOff % uint64(fs.bsize)), nil
}

// loadInode is the VCache loader.
func (fs *fsys) loadInode(ino64 uint64) (*inode, error) {
	if ino64 > uint64(fs.sb.InodesCount) || ino64 == 0 {
		return nil, errIO
	}
	ino := uint32(ino64)
	blk, off, err := fs.inodeLoc(ino)
	if err != nil {
		return nil, err
	}
	b, err := fs.cache.get(blk)
	if err != nil {
		return nil, errIO
	}
	ip := &inode{fs: fs, ino: ino, raw: append([]byte(nil), b.data[off:off+fs.isize]...), blk: blk, off: off}
	if err := ip.decode(); err != nil {
		return nil, err
	}
	if ip.di.LinksCount == 0 && ip.di.Mode == 0 {
		// A name pointing at a free inode.
		return nil, errIO
	}
	return ip, nil
}

// extraLen is how many bytes of the inode past 128 hold fields.
func (ip *inode) extraLen() int {
	if ip.fs.isize <= InodeBaseSize {
		return 0
	}
	return int(le.Uint16(ip.raw[InodeExtraIsizeOffset:]))
}

func (ip *inode) decode() error {
	fs := ip.fs
	extra := ip.extraLen()
	if InodeBaseSize+extra > fs.isize || extra&3 != 0 {
		return errIO
	}
	if fs.metaCsum && !ip.csumOK() {
		return errIO
	}
	var full [InodeFullSize]byte
	copy(full[:], ip.raw[:min(InodeBaseSize+extra, InodeFullSize)])
	decodeInode(full[:], &ip.di)
	return nil
}

// inodeCsum is the crc32c of an inode: seed, inode number, generation,
// then the inode with its checksum fields counted as zero.
func (ip *inode) inodeCsum() uint32 {
	fs := ip.fs
	c := crc32cU32(fs.csumSeed, ip.ino)
	c = crc32cU32(c, le.Uint32(ip.raw[100:]))
	var zero [2]byte
	c = crc32c(c, ip.raw[:InodeChecksumLoOffset])
	c = crc32c(c, zero[:])
	c = crc32c(c, ip.raw[InodeChecksumLoOffset+2:InodeBaseSize])
	if fs.isize > InodeBaseSize {
		hasHi := ip.extraLen() >= InodeChecksumHiOffset+2-InodeBaseSize
		if hasHi {
			c = crc32c(c, ip.raw[InodeBaseSize:InodeChecksumHiOffset])
			c = crc32c(c, zero[:])
			c = crc32c(c, ip.raw[InodeChecksumHiOffset+2:])
		} else {
			c = crc32c(c, ip.raw[InodeBaseSize:])
		}
	}
	return c
}

func (ip *inode) csumOK() bool {
	c := ip.inodeCsum()
	lo := uint32(le.Uint16(ip.raw[InodeChecksumLoOffset:]))
	if ip.fs.isize > InodeBaseSize && ip.extraLen() >= InodeChecksumHiOffset+2-InodeBaseSize {
		return c == lo|uint32(le.Uint16(ip.raw[InodeChecksumHiOffset:]))<<16
	}
	return c&0xFFFF == lo
}

// csumSeed is the per-inode seed of block checksums (extent, directory,
// htree blocks).
func (ip *inode) csumSeed() uint32 {
	c := crc32cU32(ip.fs.csumSeed, ip.ino)
	return crc32cU32(c, ip.di.Generation)
}

// store writes the in-memory inode into its inode-table block in the cache
// (caller holds the write lock).
func (ip *inode) store() error {
	fs := ip.fs
	var full [InodeFullSize]byte
	encodeStruct(full[:], &ip.di)
	n := InodeBaseSize + ip.extraLen()
	if n > InodeFullSize {
		n = InodeFullSize
	}
	copy(ip.raw[:n], full[:n])
	if fs.metaCsum {
		c := ip.inodeCsum()
		le.PutUint16(ip.raw[InodeChecksumLoOffset:], uint16(c))
		if fs.isize > InodeBaseSize && ip.extraLen() >= InodeChecksumHiOffset+2-InodeBaseSize {
			le.PutUint16(ip.raw[InodeChecksumHiOffset:], uint16(c>>16))
		}
	}
	b, err := fs.cache.get(ip.blk)
	if err != nil {
		return syscall.EIO
	}
	copy(b.data[ip.off:ip.off+fs.isize], ip.raw)
	fs.cache.markDirty(b)
	return nil
}

func (ip *inode) size() uint64 {
	s := uint64(ip.di.SizeLo)
	if ip.isReg() || (ip.isDir() && ip.fs.sb.FeatureIncompat&IncompatLargedir != 0) {
		s |= uint64(ip.di.SizeHigh) << 32
	}
	return s
}

func (ip *inode) setSize(s uint64) {
	ip.di.SizeLo = uint32(s)
	if ip.isReg() || ip.isDir() {
		ip.di.SizeHigh = uint32(s >> 32)
	}
}

// blocks512 is i_blocks in 512-byte units.
func (ip *inode) blocks512() uint64 {
	n := uint64(ip.di.BlocksLo)
	if ip.fs.sb.FeatureRoCompat&RoCompatHugeFile != 0 {
		n |= uint64(ip.di.BlocksHi) << 32
		if ip.di.Flags&FlagHugeFile != 0 {
			n *= uint64(ip.fs.bsize / 512)
		}
	}
	return n
}

// addBlocks changes i_blocks by nblk file-system blocks. With huge_file
// the count has 48 bits; past that it is kept in file-system blocks with
// EXT4_HUGE_FILE_FL set, and the flag is cleared again when the count
// fits (Linux's ext4_inode_blocks_set).
func (ip *inode) addBlocks(nblk int64) {
	n := int64(ip.blocks512()) + nblk*int64(ip.fs.bsize/512)
	if n < 0 {
		n = 0
	}
	if ip.fs.sb.FeatureRoCompat&RoCompatHugeFile == 0 {
		ip.di.BlocksLo = uint32(n)
		return
	}
	if uint64(n) < 1<<48 {
		ip.di.Flags &^= FlagHugeFile
	} else {
		ip.di.Flags |= FlagHugeFile
		n /= int64(ip.fs.bsize / 512)
	}
	ip.di.BlocksLo = uint32(n)
	ip.di.BlocksHi = uint16(n >> 32)
}

// Times: 32-bit signed seconds, extended by two epoch bits and
// nanoseconds in the extra fields when the inode has them.
func decodeTime(sec, extra uint32) time.Time {
	s := int64(int32(sec)) + int64(extra&3)<<32
	return time.Unix(s, int64(extra>>2)).UTC()
}

func (ip *inode) hasExtra(fieldEnd int) bool {
	return ip.fs.isize > InodeBaseSize && InodeBaseSize+ip.extraLen() >= fieldEnd
}

func encodeTime(t time.Time, withExtra bool) (uint32, uint32) {
	s := t.Unix()
	if !withExtra {
		if s > 1<<31-1 {
			s = 1<<31 - 1
		} else if s < -1<<31 {
			s = -1 << 31
		}
		return uint32(int32(s)), 0
	}
	// 34 bits of seconds from 1901.
	if s < -1<<31 {
		s = -1 << 31
	} else if s > 1<<34-1-1<<31 {
		s = 1<<34 - 1 - 1<<31
	}
	epoch := uint32((s-int64(int32(s)))>>32) & 3
	return uint32(s), epoch | uint32(t.Nanosecond())<<2
}

func (ip *inode) setAtime(t time.Time) {
	ip.di.Atime, ip.di.AtimeExtra = encodeTime(t, ip.hasExtra(144))
}
func (ip *inode) setMtime(t time.Time) {
	ip.di.Mtime, ip.di.MtimeExtra = encodeTime(t, ip.hasExtra(140))
}
func (ip *inode) setCtime(t time.Time) {
	ip.di.Ctime, ip.di.CtimeExtra = encodeTime(t, ip.hasExtra(136))
}
func (ip *inode) setCrtime(t time.Time) {
	if ip.hasExtra(152) {
		ip.di.Crtime, ip.di.CrtimeExtra = encodeTime(t, true)
	}
}

// rdev decodes a device number from i_block: the old 16-bit encoding in
// slot 0, or the new 32-bit one in slot 1 (Linux's ext4_inode_set_dev).
func (ip *inode) rdev() uint64 {
	var major, minor uint32
	if b0 := ip.di.Block[0]; b0 != 0 {
		major, minor = b0>>8&0xff, b0&0xff
	} else {
		d := ip.di.Block[1]
		major = (d & 0xfff00) >> 8
		minor = d&0xff | (d>>12)&0xfff00
	}
	return mkdev(major, minor)
}

func (ip *inode) setRdev(rdev uint64) {
	major, minor := devMajor(rdev), devMinor(rdev)
	ip.di.Block = [NBlocks]uint32{}
	if major < 256 && minor < 256 {
		ip.di.Block[0] = major<<8 | minor
	} else {
		ip.di.Block[1] = minor&0xff | major<<8 | (minor&^0xff)<<12
	}
}

// Linux (glibc) dev_t encoding, as vfs.Attr.Rdev uses.
func mkdev(major, minor uint32) uint64 {
	M, m := uint64(major), uint64(minor)
	return (M&0x00000fff)<<8 | (M&0xfffff000)<<32 | m&0x000000ff | (m&0xffffff00)<<12
}
func devMajor(d uint64) uint32 { return uint32((d>>8)&0x00000fff | (d>>32)&0xfffff000) }
func devMinor(d uint64) uint32 { return uint32(d&0x000000ff | (d>>12)&0xffffff00) }

// BSD file flags that ext2 keeps (NetBSD's ext2fs maps the same three).
const (
	ufNodump    = 0x00000001
	sfImmutable = 0x00020000
	sfAppend    = 0x00040000
)

func (ip *inode) attr() vfs.Attr {
	di := &ip.di
	a := vfs.Attr{
		Ino:     uint64(ip.ino),
		Gen:     uint64(di.Generation),
		Mode:    uint32(di.Mode),
		Nlink:   uint32(di.LinksCount),
		Uid:     di.Uid(),
		Gid:     di.Gid(),
		Size:    ip.size(),
		Blocks:  ip.blocks512(),
		Blksize: uint32(ip.fs.bsize),
		Atime:   decodeTime(di.Atime, di.AtimeExtra),
		Mtime:   decodeTime(di.Mtime, di.MtimeExtra),
		Ctime:   decodeTime(di.Ctime, di.CtimeExtra),
	}
	if ip.hasExtra(152) && (di.Crtime != 0 || di.CrtimeExtra != 0) {
		a.Btime = decodeTime(di.Crtime, di.CrtimeExtra)
	}
	switch ip.typ() {
	case imChr, imBlk:
		a.Rdev = ip.rdev()
	}
	if di.Flags&FlagImmutable != 0 {
		a.Flags |= sfImmutable
	}
	if di.Flags&FlagAppend != 0 {
		a.Flags |= sfAppend
	}
	if di.Flags&FlagNodump != 0 {
		a.Flags |= ufNodump
	}
	return a
}

func (ip *inode) Getattr() (vfs.Attr, error) {
	ip.fs.mu.RLock()
	defer ip.fs.mu.RUnlock()
	return ip.attr(), nil
}

// maxRun bounds the blocks mapBlock reports at once, so that callers' reads
// stay a reasonable size.
const maxRun = 1 << 16

// mapBlock maps logical block lblk: the physical block (0 for a hole or an
// uninitialized extent, which read as zeros) and how many logical blocks
// from lblk on map the same way, contiguously (at least 1).
func (ip *inode) mapBlock(lblk uint64) (phys uint64, n uint64, err error) {
	if ip.isInline() {
		return 0, 1, nil // no blocks: the data is in the inode (inline.go)
	}
	if ip.extentsOn() {
		return ip.mapExtent(lblk)
	}
	return ip.mapIndirect(lblk)
}

// ptrsPerBlock is the number of block pointers in an indirect block.
func (fs *fsys) ptrsPerBlock() uint64 { return uint64(fs.bsize / 4) }

// indPath splits lblk into the i_block slot and the indices inside each
// level of indirect blocks. ok is false past the triple-indirect range.
func (fs *fsys) indPath(lblk uint64) (slot int, idx []uint64, ok bool) {
	p := fs.ptrsPerBlock()
	if lblk < NDirBlocks {
		return int(lblk), nil, true
	}
	lblk -= NDirBlocks
	if lblk < p {
		return IndBlock, []uint64{lblk}, true
	}
	lblk -= p
	if lblk < p*p {
		return DIndBlock, []uint64{lblk / p, lblk % p}, true
	}
	lblk -= p * p
	if lblk < p*p*p {
		return TIndBlock, []uint64{lblk / (p * p), (lblk / p) % p, lblk % p}, true
	}
	return 0, nil, false
}

// maxIndBlocks is the number of logical blocks indirect mapping reaches.
func (fs *fsys) maxIndBlocks() uint64 {
	p := fs.ptrsPerBlock()
	return NDirBlocks + p + p*p + p*p*p
}

func (fs *fsys) validBlock(b uint64) bool {
	return b >= uint64(fs.sb.FirstDataBlock) && b < fs.sb.BlocksCount()
}

func (ip *inode) mapIndirect(lblk uint64) (uint64, uint64, error) {
	fs := ip.fs
	slot, idx, ok := fs.indPath(lblk)
	if !ok {
		return 0, 1, nil
	}
	var ptrs []byte // the pointer array of the last level
	var at int
	if len(idx) == 0 {
		var arr [NDirBlocks * 4]byte
		for i := 0; i < NDirBlocks; i++ {
			le.PutUint32(arr[i*4:], ip.di.Block[i])
		}
		ptrs, at = arr[:], slot
	} else {
		blk := uint64(ip.di.Block[slot])
		for lvl, i := range idx {
			if blk == 0 {
				// A missing indirect block: a hole to the end of what it
				// would have mapped.
				pos, span := uint64(0), uint64(1)
				for _, j := range idx[lvl:] {
					pos = pos*fs.ptrsPerBlock() + j
					span *= fs.ptrsPerBlock()
				}
				return 0, min(span-pos, maxRun), nil
			}
			if !fs.validBlock(blk) {
				return 0, 0, errIO
			}
			b, err := fs.cache.get(blk)
			if err != nil {
				return 0, 0, errIO
			}
			if lvl == len(idx)-1 {
				ptrs, at = b.data, int(i)
				break
			}
			blk = uint64(le.Uint32(b.data[i*4:]))
		}
	}
	phys := uint64(le.Uint32(ptrs[at*4:]))
	if phys != 0 && !fs.validBlock(phys) {
		return 0, 0, errIO
	}
	n := uint64(1)
	for j := at + 1; j < len(ptrs)/4 && n < maxRun; j++ {
		q := uint64(le.Uint32(ptrs[j*4:]))
		if phys == 0 && q != 0 || phys != 0 && q != phys+n {
			break
		}
		n++
	}
	return phys, n, nil
}

// extentNode checks an extent node (header and entries inside buf) and
// returns its header.
func (ip *inode) extentNode(b []byte, wantDepth int) (ExtentHeader, error) {
	if len(b) < ExtentHeaderSize {
		return ExtentHeader{}, errIO
	}
	h := DecodeExtentHeader(b)
	if h.Magic != ExtentMagic || h.Entries > h.Max || int(h.Max) > (len(b)-ExtentHeaderSize)/ExtentEntrySize ||
		h.Depth > ExtentMaxDepth || (wantDepth >= 0 && int(h.Depth) != wantDepth) {
		return h, errIO
	}
	return h, nil
}

func (ip *inode) rootExtentBytes() []byte {
	var b [NBlocks * 4]byte
	for i, v := range ip.di.Block {
		le.PutUint32(b[i*4:], v)
	}
	return b[:]
}

func (ip *inode) mapExtent(lblk uint64) (uint64, uint64, error) {
	fs := ip.fs
	node := ip.rootExtentBytes()
	if lblk >= 1<<32 {
		return 0, 1, nil
	}
	want := -1
	// bound is where the subtree being searched ends (the next index
	// entry's start above it): a hole after a leaf's last extent stops
	// there, not at the end of the file.
	bound := uint64(1 << 32)
	for level := 0; ; level++ {
		h, err := ip.extentNode(node, want)
		if err != nil || level > ExtentMaxDepth {
			return 0, 0, errIO
		}
		ents := node[ExtentHeaderSize:]
		if h.Depth == 0 {
			// Leaf: the last extent starting at or before lblk.
			next := bound
			for i := 0; i < int(h.Entries); i++ {
				e := DecodeExtent(ents[i*ExtentEntrySize:])
				n, uninit := e.Length()
				start := uint64(e.Block)
				if lblk < start {
					next = start
					break
				}
				if lblk < start+uint64(n) {
					off := lblk - start
					run := uint64(n) - off
					if uninit {
						return 0, run, nil
					}
					p := e.Start() + off
					if e.Start() < uint64(fs.sb.FirstDataBlock) || e.Start()+uint64(n) > fs.sb.BlocksCount() {
						return 0, 0, errIO
					}
					return p, min(run, maxRun), nil
				}
			}
			return 0, min(next-lblk, maxRun), nil
		}
		// Interior: the last index starting at or before lblk.
		pick := -1
		next := bound
		for i := 0; i < int(h.Entries); i++ {
			e := DecodeExtentIdx(ents[i*ExtentEntrySize:])
			if uint64(e.Block) > lblk {
				next = uint64(e.Block)
				break
			}
			pick = i
		}
		if pick < 0 {
			return 0, min(next-lblk, maxRun), nil
		}
		if pick+1 < int(h.Entries) {
			bound = min(bound, uint64(DecodeExtentIdx(ents[(pick+1)*ExtentEntrySize:]).Block))
		}
		e := DecodeExtentIdx(ents[pick*ExtentEntrySize:])
		child := e.Leaf()
		if !fs.validBlock(child) {
			return 0, 0, errIO
		}
		b, err := fs.cache.get(child)
		if err != nil {
			return 0, 0, errIO
		}
		if fs.metaCsum {
			ch := DecodeExtentHeader(b.data)
			end := ExtentHeaderSize + int(ch.Max)*ExtentEntrySize
			if ch.Magic != ExtentMagic || end+ExtentTailSize > len(b.data) ||
				crc32c(ip.csumSeed(), b.data[:end]) != le.Uint32(b.data[end:]) {
				return 0, 0, errIO
			}
		}
		node = b.data
		want = int(h.Depth) - 1
	}
}

// readData reads file bytes at off, in runs of contiguous blocks.
func (ip *inode) readData(p []byte, off int64) (int, error) {
	fs := ip.fs
	size := int64(ip.size())
	if off < 0 {
		return 0, syscall.EINVAL
	}
	if off >= size {
		return 0, nil
	}
	if int64(len(p)) > size-off {
		p = p[:size-off]
	}
	if ip.isInline() {
		return ip.readInline(p, off)
	}
	bs := int64(fs.bsize)
	done := 0
	for done < len(p) {
		pos := off + int64(done)
		lblk := uint64(pos / bs)
		phys, n, err := ip.mapBlock(lblk)
		if err != nil {
			return done, err
		}
		if n == 0 {
			n = 1
		}
		inblk := pos % bs
		runBytes := int64(n)*bs - inblk
		want := int64(len(p) - done)
		if runBytes > want {
			runBytes = want
		}
		chunk := p[done : done+int(runBytes)]
		if phys == 0 {
			clear(chunk)
		} else if _, err := fs.d.ReadAt(chunk, int64(phys)*bs+inblk); err != nil {
			return done, syscall.EIO
		}
		done += len(chunk)
	}
	return done, nil
}

func (ip *inode) Read(p []byte, off int64) (int, error) {
	fs := ip.fs
	fs.mu.RLock()
	if fs.dead {
		fs.mu.RUnlock()
		return 0, syscall.EIO
	}
	if ip.isDir() {
		fs.mu.RUnlock()
		return 0, syscall.EISDIR
	}
	if !ip.isReg() {
		fs.mu.RUnlock()
		return 0, syscall.EINVAL
	}
	n, err := ip.readData(p, off)
	need := n > 0 && ip.needAtime()
	fs.mu.RUnlock()
	if need {
		ip.touchAtime()
	}
	return n, err
}

// needAtime decides whether a read updates the access time. Besides
// noatime, the update follows Linux's relatime rule (atime older than
// mtime or ctime, or more than a day old) so that reads do not take the
// writer lock on every call.
func (ip *inode) needAtime() bool {
	fs := ip.fs
	if fs.ro || fs.noatime || ip.di.Flags&FlagNoatime != 0 {
		return false
	}
	a := decodeTime(ip.di.Atime, ip.di.AtimeExtra)
	m := decodeTime(ip.di.Mtime, ip.di.MtimeExtra)
	c := decodeTime(ip.di.Ctime, ip.di.CtimeExtra)
	return !a.After(m) || !a.After(c) || fs.now().Sub(a) > 24*time.Hour
}

func (ip *inode) touchAtime() {
	fs := ip.fs
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.dead || ip.freed {
		return
	}
	fs.cache.beginOp()
	ip.setAtime(fs.now())
	_ = ip.store()
	_ = fs.endOp()
}

func (ip *inode) Readlink() (string, error) {
	fs := ip.fs
	fs.mu.RLock()
	defer fs.mu.RUnlock()
	if !ip.isLink() {
		return "", syscall.EINVAL
	}
	return ip.readlink()
}

func (ip *inode) fastSymlink() bool {
	return ip.size() < NBlocks*4 && !ip.extentsOn() && ip.di.Flags&FlagInlineData == 0
}

func (ip *inode) readlink() (string, error) {
	size := ip.size()
	if ip.fastSymlink() {
		return string(ip.rootExtentBytes()[:size]), nil
	}
	if size >= uint64(ip.fs.bsize) || size > vfs.PathMax*4 {
		return "", syscall.EIO
	}
	buf := make([]byte, size)
	n, err := ip.readData(buf, 0)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}
