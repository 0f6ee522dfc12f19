package ext2fs

// On-disk structures of ext2, ext3 and ext4, one Go type per structure, as
// the Linux kernel's fs/ext4/ext4.h and e2fsprogs' lib/ext2fs/ext2_fs.h lay
// them out (NetBSD's sys/ufs/ext2fs/ext2fs.h and ext2fs_dinode.h agree on
// the ext2 subset). Everything is little-endian except the JBD2 journal
// superblock, which is big-endian. Fixed-layout structures are decoded with
// encoding/binary; the small variable-length records (directory entries,
// extent entries, xattr entries) have hand-written decoders next to their
// types. Sizes are pinned by layout_test.go.

import (
	"encoding/binary"
)

var le = binary.LittleEndian

// Superblock constants.
const (
	SuperblockOffset = 1024
	SuperblockSize   = 1024
	Magic            = 0xEF53

	// s_state bits.
	StateValid  = 0x0001 // unmounted cleanly
	StateErrors = 0x0002 // errors detected
	StateOrphan = 0x0004 // orphans being recovered

	// s_rev_level.
	RevGood    = 0
	RevDynamic = 1

	// Revision-0 fixed values.
	Rev0InodeSize = 128
	Rev0FirstIno  = 11

	RootIno    = 2
	JournalIno = 8

	// s_flags.
	FlagSignedHash   = 0x1
	FlagUnsignedHash = 0x2
)

// Feature bits (names as e2fsprogs' lib/e2p/feature.c prints them).
const (
	CompatDirPrealloc  = 0x0001
	CompatImagicInodes = 0x0002
	CompatHasJournal   = 0x0004
	CompatExtAttr      = 0x0008
	CompatResizeInode  = 0x0010
	CompatDirIndex     = 0x0020
	CompatLazyBG       = 0x0040
	CompatExcludeBmap  = 0x0100
	CompatSparseSuper2 = 0x0200
	CompatFastCommit   = 0x0400
	CompatStableInodes = 0x0800
	CompatOrphanFile   = 0x1000

	RoCompatSparseSuper   = 0x0001
	RoCompatLargeFile     = 0x0002
	RoCompatBtreeDir      = 0x0004
	RoCompatHugeFile      = 0x0008
	RoCompatGdtCsum       = 0x0010
	RoCompatDirNlink      = 0x0020
	RoCompatExtraIsize    = 0x0040
	RoCompatHasSnapshot   = 0x0080
	RoCompatQuota         = 0x0100
	RoCompatBigalloc      = 0x0200
	RoCompatMetadataCsum  = 0x0400
	RoCompatReplica       = 0x0800
	RoCompatReadonly      = 0x1000
	RoCompatProject       = 0x2000
	RoCompatSharedBlocks  = 0x4000
	RoCompatVerity        = 0x8000
	RoCompatOrphanPresent = 0x10000

	IncompatCompression = 0x0001
	IncompatFiletype    = 0x0002
	IncompatRecover     = 0x0004
	IncompatJournalDev  = 0x0008
	IncompatMetaBG      = 0x0010
	IncompatExtents     = 0x0040
	Incompat64bit       = 0x0080
	IncompatMMP         = 0x0100
	IncompatFlexBG      = 0x0200
	IncompatEAInode     = 0x0400
	IncompatDirdata     = 0x1000
	IncompatCsumSeed    = 0x2000
	IncompatLargedir    = 0x4000
	IncompatInlineData  = 0x8000
	IncompatEncrypt     = 0x10000
	IncompatCasefold    = 0x20000
)

// Superblock is struct ext4_super_block (1024 bytes at byte 1024).
type Superblock struct {
	InodesCount       uint32
	BlocksCountLo     uint32
	RBlocksCountLo    uint32
	FreeBlocksCountLo uint32
	FreeInodesCount   uint32
	FirstDataBlock    uint32
	LogBlockSize      uint32
	LogClusterSize    uint32
	BlocksPerGroup    uint32
	ClustersPerGroup  uint32
	InodesPerGroup    uint32
	Mtime             uint32
	Wtime             uint32
	MntCount          uint16
	MaxMntCount       int16
	Magic             uint16
	State             uint16
	Errors            uint16
	MinorRevLevel     uint16
	Lastcheck         uint32
	Checkinterval     uint32
	CreatorOS         uint32
	RevLevel          uint32
	DefResuid         uint16
	DefResgid         uint16
	// Revision 1 (EXT2_DYNAMIC_REV) fields.
	FirstIno          uint32
	InodeSize         uint16
	BlockGroupNr      uint16
	FeatureCompat     uint32
	FeatureIncompat   uint32
	FeatureRoCompat   uint32
	UUID              [16]byte
	VolumeName        [16]byte
	LastMounted       [64]byte
	AlgorithmBitmap   uint32
	PreallocBlocks    uint8
	PreallocDirBlocks uint8
	ReservedGdtBlocks uint16
	JournalUUID       [16]byte
	JournalInum       uint32
	JournalDev        uint32
	LastOrphan        uint32
	HashSeed          [4]uint32
	DefHashVersion    uint8
	JnlBackupType     uint8
	DescSize          uint16
	DefaultMountOpts  uint32
	FirstMetaBG       uint32
	MkfsTime          uint32
	JnlBlocks         [17]uint32
	// 64bit support.
	BlocksCountHi     uint32
	RBlocksCountHi    uint32
	FreeBlocksCountHi uint32
	MinExtraIsize     uint16
	WantExtraIsize    uint16
	Flags             uint32
	RaidStride        uint16
	MMPInterval       uint16
	MMPBlock          uint64
	RaidStripeWidth   uint32
	LogGroupsPerFlex  uint8
	ChecksumType      uint8
	EncryptionLevel   uint8
	ReservedPad       uint8
	KbytesWritten     uint64
	SnapshotInum      uint32
	SnapshotID        uint32
	SnapshotRBlocks   uint64
	SnapshotList      uint32
	ErrorCount        uint32
	FirstErrorTime    uint32
	FirstErrorIno     uint32
	FirstErrorBlock   uint64
	FirstErrorFunc    [32]byte
	FirstErrorLine    uint32
	LastErrorTime     uint32
	LastErrorIno      uint32
	LastErrorLine     uint32
	LastErrorBlock    uint64
	LastErrorFunc     [32]byte
	MountOpts         [64]byte
	UsrQuotaInum      uint32
	GrpQuotaInum      uint32
	OverheadClusters  uint32
	BackupBGs         [2]uint32
	EncryptAlgos      [4]uint8
	EncryptPwSalt     [16]byte
	LpfIno            uint32
	PrjQuotaInum      uint32
	ChecksumSeed      uint32
	WtimeHi           uint8
	MtimeHi           uint8
	MkfsTimeHi        uint8
	LastcheckHi       uint8
	FirstErrorTimeHi  uint8
	LastErrorTimeHi   uint8
	FirstErrorErrcode uint8
	LastErrorErrcode  uint8
	Encoding          uint16
	EncodingFlags     uint16
	OrphanFileInum    uint32
	Reserved          [94]uint32
	Checksum          uint32
}

// SuperblockChecksumOffset is where s_checksum sits; the crc32c covers the
// bytes before it.
const SuperblockChecksumOffset = 1020

// BlocksCount returns the 64-bit block count (the high half only with the
// 64bit feature).
func (s *Superblock) BlocksCount() uint64 {
	n := uint64(s.BlocksCountLo)
	if s.FeatureIncompat&Incompat64bit != 0 {
		n |= uint64(s.BlocksCountHi) << 32
	}
	return n
}

// RBlocksCount returns the reserved block count.
func (s *Superblock) RBlocksCount() uint64 {
	n := uint64(s.RBlocksCountLo)
	if s.FeatureIncompat&Incompat64bit != 0 {
		n |= uint64(s.RBlocksCountHi) << 32
	}
	return n
}

// FreeBlocksCount returns the free block count.
func (s *Superblock) FreeBlocksCount() uint64 {
	n := uint64(s.FreeBlocksCountLo)
	if s.FeatureIncompat&Incompat64bit != 0 {
		n |= uint64(s.FreeBlocksCountHi) << 32
	}
	return n
}

// SetFreeBlocksCount stores the free block count.
func (s *Superblock) SetFreeBlocksCount(n uint64) {
	s.FreeBlocksCountLo = uint32(n)
	if s.FeatureIncompat&Incompat64bit != 0 {
		s.FreeBlocksCountHi = uint32(n >> 32)
	}
}

// Group descriptor constants.
const (
	GroupDescSize32 = 32
	GroupDescSize64 = 64

	// bg_flags.
	BGInodeUninit = 0x1
	BGBlockUninit = 0x2
	BGInodeZeroed = 0x4

	// Offset of bg_checksum inside a descriptor.
	GroupDescChecksumOffset = 0x1E
)

// GroupDesc is struct ext4_group_desc; a 32-byte descriptor fills only the
// first half (the *Hi fields stay zero).
type GroupDesc struct {
	BlockBitmapLo     uint32
	InodeBitmapLo     uint32
	InodeTableLo      uint32
	FreeBlocksCountLo uint16
	FreeInodesCountLo uint16
	UsedDirsCountLo   uint16
	Flags             uint16
	ExcludeBitmapLo   uint32
	BlockBitmapCsumLo uint16
	InodeBitmapCsumLo uint16
	ItableUnusedLo    uint16
	Checksum          uint16
	// 64-byte descriptor half.
	BlockBitmapHi     uint32
	InodeBitmapHi     uint32
	InodeTableHi      uint32
	FreeBlocksCountHi uint16
	FreeInodesCountHi uint16
	UsedDirsCountHi   uint16
	ItableUnusedHi    uint16
	ExcludeBitmapHi   uint32
	BlockBitmapCsumHi uint16
	InodeBitmapCsumHi uint16
	Reserved          uint32
}

func (g *GroupDesc) BlockBitmap() uint64 {
	return uint64(g.BlockBitmapLo) | uint64(g.BlockBitmapHi)<<32
}
func (g *GroupDesc) InodeBitmap() uint64 {
	return uint64(g.InodeBitmapLo) | uint64(g.InodeBitmapHi)<<32
}
func (g *GroupDesc) InodeTable() uint64 {
	return uint64(g.InodeTableLo) | uint64(g.InodeTableHi)<<32
}
func (g *GroupDesc) FreeBlocks() uint32 {
	return uint32(g.FreeBlocksCountLo) | uint32(g.FreeBlocksCountHi)<<16
}
func (g *GroupDesc) FreeInodes() uint32 {
	return uint32(g.FreeInodesCountLo) | uint32(g.FreeInodesCountHi)<<16
}
func (g *GroupDesc) UsedDirs() uint32 {
	return uint32(g.UsedDirsCountLo) | uint32(g.UsedDirsCountHi)<<16
}
func (g *GroupDesc) SetFreeBlocks(n uint32) {
	g.FreeBlocksCountLo, g.FreeBlocksCountHi = uint16(n), uint16(n>>16)
}
func (g *GroupDesc) SetFreeInodes(n uint32) {
	g.FreeInodesCountLo, g.FreeInodesCountHi = uint16(n), uint16(n>>16)
}
func (g *GroupDesc) SetUsedDirs(n uint32) {
	g.UsedDirsCountLo, g.UsedDirsCountHi = uint16(n), uint16(n>>16)
}

// Inode constants.
const (
	InodeBaseSize  = 128 // the "good old" inode; rev 0 inodes are this size
	InodeExtraSize = 32  // i_extra_isize of today's kernels (sizeof ext4_inode - 128)
	InodeFullSize  = InodeBaseSize + InodeExtraSize
	NBlocks        = 15 // i_block slots
	NDirBlocks     = 12
	IndBlock       = 12
	DIndBlock      = 13
	TIndBlock      = 14

	// Offsets of the inode checksum halves.
	InodeChecksumLoOffset = 0x7C
	InodeChecksumHiOffset = 0x82
	// Offset of i_extra_isize (and end of the fields i_extra_isize covers).
	InodeExtraIsizeOffset = 0x80

	// i_flags.
	FlagSecrm      = 0x00000001
	FlagUnrm       = 0x00000002
	FlagCompr      = 0x00000004
	FlagSync       = 0x00000008
	FlagImmutable  = 0x00000010
	FlagAppend     = 0x00000020
	FlagNodump     = 0x00000040
	FlagNoatime    = 0x00000080
	FlagIndex      = 0x00001000
	FlagHugeFile   = 0x00040000
	FlagExtents    = 0x00080000
	FlagEAInode    = 0x00200000
	FlagInlineData = 0x10000000
)

// Inode is struct ext4_inode: the 128-byte base and the 32 bytes of extra
// fields that i_extra_isize may cover. Fields past 128+i_extra_isize are
// not on disk and decode as zero.
type Inode struct {
	Mode        uint16
	UidLo       uint16
	SizeLo      uint32
	Atime       uint32
	Ctime       uint32
	Mtime       uint32
	Dtime       uint32
	GidLo       uint16
	LinksCount  uint16
	BlocksLo    uint32
	Flags       uint32
	Version     uint32 // osd1
	Block       [NBlocks]uint32
	Generation  uint32
	FileACLLo   uint32
	SizeHigh    uint32
	Faddr       uint32
	BlocksHi    uint16 // osd2 (Linux layout)
	FileACLHi   uint16
	UidHi       uint16
	GidHi       uint16
	ChecksumLo  uint16
	Reserved    uint16
	ExtraIsize  uint16
	ChecksumHi  uint16
	CtimeExtra  uint32
	MtimeExtra  uint32
	AtimeExtra  uint32
	Crtime      uint32
	CrtimeExtra uint32
	VersionHi   uint32
	Projid      uint32
}

// decodeInode fills i from b, an on-disk inode at least InodeFullSize
// bytes long, as decodeStruct would: by hand, because binary.Decode's
// reflection over the 45 fields was most of the cost of loading an
// inode (one per file of a ukfs get -R of small files).
func decodeInode(b []byte, i *Inode) {
	_ = b[InodeFullSize-1]
	u16 := func(o int) uint16 { return le.Uint16(b[o:]) }
	u32 := func(o int) uint32 { return le.Uint32(b[o:]) }
	i.Mode, i.UidLo, i.SizeLo = u16(0), u16(2), u32(4)
	i.Atime, i.Ctime, i.Mtime, i.Dtime = u32(8), u32(12), u32(16), u32(20)
	i.GidLo, i.LinksCount, i.BlocksLo, i.Flags, i.Version = u16(24), u16(26), u32(28), u32(32), u32(36)
	for k := range i.Block {
		i.Block[k] = u32(40 + 4*k)
	}
	i.Generation, i.FileACLLo, i.SizeHigh, i.Faddr = u32(100), u32(104), u32(108), u32(112)
	i.BlocksHi, i.FileACLHi, i.UidHi, i.GidHi = u16(116), u16(118), u16(120), u16(122)
	i.ChecksumLo, i.Reserved, i.ExtraIsize, i.ChecksumHi = u16(124), u16(126), u16(128), u16(130)
	i.CtimeExtra, i.MtimeExtra, i.AtimeExtra = u32(132), u32(136), u32(140)
	i.Crtime, i.CrtimeExtra, i.VersionHi, i.Projid = u32(144), u32(148), u32(152), u32(156)
}

func (i *Inode) Uid() uint32 { return uint32(i.UidLo) | uint32(i.UidHi)<<16 }
func (i *Inode) Gid() uint32 { return uint32(i.GidLo) | uint32(i.GidHi)<<16 }
func (i *Inode) SetUid(u uint32) {
	i.UidLo, i.UidHi = uint16(u), uint16(u>>16)
}
func (i *Inode) SetGid(g uint32) {
	i.GidLo, i.GidHi = uint16(g), uint16(g>>16)
}
func (i *Inode) FileACL() uint64 {
	return uint64(i.FileACLLo) | uint64(i.FileACLHi)<<32
}
func (i *Inode) SetFileACL(b uint64) {
	i.FileACLLo, i.FileACLHi = uint32(b), uint16(b>>32)
}

// Directory entries.
const (
	DirEntryHeaderSize = 8
	DirNameMax         = 255

	// file_type values of ext2_dir_entry_2.
	FtUnknown = 0
	FtRegFile = 1
	FtDir     = 2
	FtChrdev  = 3
	FtBlkdev  = 4
	FtFifo    = 5
	FtSock    = 6
	FtSymlink = 7
	// FtDirCsum marks the fake entry holding a leaf block's checksum.
	FtDirCsum = 0xDE

	DirTailSize = 12
)

// DirEntry is the fixed head of struct ext2_dir_entry_2 (with the filetype
// feature) or struct ext2_dir_entry (without: name_len is 16 bits, the
// upper byte always zero in practice). The name follows the head.
type DirEntry struct {
	Inode    uint32
	RecLen   uint16
	NameLen  uint8
	FileType uint8 // high byte of a v1 name_len; ignored without filetype
}

// DecodeDirEntry reads the head at b[0:8].
func DecodeDirEntry(b []byte) DirEntry {
	return DirEntry{Inode: le.Uint32(b), RecLen: le.Uint16(b[4:]), NameLen: b[6], FileType: b[7]}
}

// Encode writes the head at b[0:8].
func (d *DirEntry) Encode(b []byte) {
	le.PutUint32(b, d.Inode)
	le.PutUint16(b[4:], d.RecLen)
	b[6], b[7] = d.NameLen, d.FileType
}

// DirRecLen is the space a name of n bytes needs (EXT2_DIR_REC_LEN).
func DirRecLen(n int) int { return (DirEntryHeaderSize + n + 3) &^ 3 }

// RecLenFromDisk decodes rec_len; blocks of 64 KiB encode a whole-block
// record as 0 or 65535 (ext4_rec_len_from_disk).
func RecLenFromDisk(v uint16, bsize int) int {
	if bsize < 65536 {
		return int(v)
	}
	if v == 65535 || v == 0 {
		return bsize
	}
	return int(v&65532) | int(v&3)<<16
}

// RecLenToDisk encodes rec_len (ext4_rec_len_to_disk).
func RecLenToDisk(n, bsize int) uint16 {
	if n < 65536 {
		return uint16(n)
	}
	if n == bsize {
		if bsize == 65536 {
			return 65535
		}
		return 0
	}
	return uint16(n&65532 | (n>>16)&3)
}

// Hash tree (dir_index) structures.
const (
	DxHashLegacy           = 0
	DxHashHalfMD4          = 1
	DxHashTea              = 2
	DxHashLegacyUnsigned   = 3
	DxHashHalfMD4Unsigned  = 4
	DxHashTeaUnsigned      = 5
	DxHashSiphash          = 6
	DxRootInfoOffset       = 24 // after the fake "." and ".." entries
	DxRootInfoSize         = 8
	DxNodeHeaderSize       = 8 // fake dirent of an interior node
	DxCountLimitSize       = 8 // limit, count, block of entry 0
	DxEntrySize            = 8
	DxTailSize             = 8
	DxMaxLevels            = 3 // with largedir; 2 without
	DxHtreeEOF32           = 0x7fffffff
	DxRootInfoLengthNeeded = 8
)

// DxRootInfo is struct dx_root_info, at byte 24 of a hashed directory's
// first block.
type DxRootInfo struct {
	ReservedZero   uint32
	HashVersion    uint8
	InfoLength     uint8
	IndirectLevels uint8
	UnusedFlags    uint8
}

// DecodeDxRootInfo reads b[0:8].
func DecodeDxRootInfo(b []byte) DxRootInfo {
	return DxRootInfo{le.Uint32(b), b[4], b[5], b[6], b[7]}
}

// DxCountLimit is struct dx_countlimit, overlaying the hash of entry 0.
type DxCountLimit struct {
	Limit uint16
	Count uint16
}

// DxEntry is struct dx_entry.
type DxEntry struct {
	Hash  uint32
	Block uint32
}

// DecodeDxEntry reads b[0:8].
func DecodeDxEntry(b []byte) DxEntry { return DxEntry{le.Uint32(b), le.Uint32(b[4:])} }

// Extent tree structures.
const (
	ExtentMagic      = 0xF30A
	ExtentHeaderSize = 12
	ExtentEntrySize  = 12
	ExtentInitMaxLen = 32768
	ExtentMaxDepth   = 5
	ExtentTailSize   = 4
)

// ExtentHeader is struct ext4_extent_header.
type ExtentHeader struct {
	Magic      uint16
	Entries    uint16
	Max        uint16
	Depth      uint16
	Generation uint32
}

// DecodeExtentHeader reads b[0:12].
func DecodeExtentHeader(b []byte) ExtentHeader {
	return ExtentHeader{le.Uint16(b), le.Uint16(b[2:]), le.Uint16(b[4:]), le.Uint16(b[6:]), le.Uint32(b[8:])}
}

// ExtentIdx is struct ext4_extent_idx (interior node entry).
type ExtentIdx struct {
	Block  uint32
	LeafLo uint32
	LeafHi uint16
	Unused uint16
}

// DecodeExtentIdx reads b[0:12].
func DecodeExtentIdx(b []byte) ExtentIdx {
	return ExtentIdx{le.Uint32(b), le.Uint32(b[4:]), le.Uint16(b[8:]), le.Uint16(b[10:])}
}

// Leaf returns the child node's block.
func (e *ExtentIdx) Leaf() uint64 { return uint64(e.LeafLo) | uint64(e.LeafHi)<<32 }

// Extent is struct ext4_extent (leaf entry).
type Extent struct {
	Block   uint32
	Len     uint16
	StartHi uint16
	StartLo uint32
}

// DecodeExtent reads b[0:12].
func DecodeExtent(b []byte) Extent {
	return Extent{le.Uint32(b), le.Uint16(b[4:]), le.Uint16(b[6:]), le.Uint32(b[8:])}
}

// Start returns the first physical block.
func (e *Extent) Start() uint64 { return uint64(e.StartLo) | uint64(e.StartHi)<<32 }

// Length returns the number of blocks and whether the extent is
// uninitialized (allocated but reading as zeros).
func (e *Extent) Length() (n uint32, uninit bool) {
	if e.Len > ExtentInitMaxLen {
		return uint32(e.Len) - ExtentInitMaxLen, true
	}
	return uint32(e.Len), false
}

// Extended attributes.
const (
	XattrMagic        = 0xEA020000
	XattrHeaderSize   = 32
	XattrEntryHeadLen = 16
	XattrIbodyHdrSize = 4 // just the magic before in-inode entries

	XattrIndexUser            = 1
	XattrIndexPosixACLAccess  = 2
	XattrIndexPosixACLDefault = 3
	XattrIndexTrusted         = 4
	XattrIndexLustre          = 5
	XattrIndexSecurity        = 6
	XattrIndexSystem          = 7
	XattrIndexRichACL         = 8
	XattrIndexEncryption      = 9
	XattrIndexHurd            = 10

	XattrChecksumOffset = 0x10
)

// XattrHeader is struct ext4_xattr_header, at the start of an xattr block.
type XattrHeader struct {
	Magic    uint32
	Refcount uint32
	Blocks   uint32
	Hash     uint32
	Checksum uint32
	Reserved [3]uint32
}

// XattrEntry is the fixed head of struct ext4_xattr_entry; the name
// follows, and the record is padded to 4 bytes.
type XattrEntry struct {
	NameLen   uint8
	NameIndex uint8
	ValueOffs uint16
	ValueInum uint32
	ValueSize uint32
	Hash      uint32
}

// DecodeXattrEntry reads b[0:16].
func DecodeXattrEntry(b []byte) XattrEntry {
	return XattrEntry{b[0], b[1], le.Uint16(b[2:]), le.Uint32(b[4:]), le.Uint32(b[8:]), le.Uint32(b[12:])}
}

// Encode writes the head at b[0:16].
func (e *XattrEntry) Encode(b []byte) {
	b[0], b[1] = e.NameLen, e.NameIndex
	le.PutUint16(b[2:], e.ValueOffs)
	le.PutUint32(b[4:], e.ValueInum)
	le.PutUint32(b[8:], e.ValueSize)
	le.PutUint32(b[12:], e.Hash)
}

// XattrEntryLen is the padded record length for a name of n bytes.
func XattrEntryLen(n int) int { return (XattrEntryHeadLen + n + 3) &^ 3 }

// XattrValueLen is the padded space a value of n bytes takes.
func XattrValueLen(n int) int { return (n + 3) &^ 3 }

// POSIX ACLs as ext4 stores them (fs/ext4/acl.h) and as the Linux xattr
// interface shows them (include/uapi/linux/posix_acl_xattr.h).
const (
	ExtACLVersion    = 1
	XattrACLVersion  = 2
	ACLUserObj       = 0x01
	ACLUser          = 0x02
	ACLGroupObj      = 0x04
	ACLGroup         = 0x08
	ACLMask          = 0x10
	ACLOther         = 0x20
	ACLUndefinedID   = 0xFFFFFFFF
	ExtACLEntryShort = 4
	ExtACLEntryLong  = 8
)

// JBD2 journal superblock (big-endian), read only to see whether the
// journal is clean.
const (
	JournalMagic        = 0xC03B3998
	JournalSuperblockV1 = 3
	JournalSuperblockV2 = 4
)

// JournalSuperblock is the head of journal_superblock_t.
type JournalSuperblock struct {
	Magic     uint32
	BlockType uint32
	Sequence  uint32
	Blocksize uint32
	Maxlen    uint32
	First     uint32
	SSequence uint32
	Start     uint32 // 0: the journal is empty (clean)
	Errno     int32
}

// DecodeJournalSuperblock reads b[0:36].
func DecodeJournalSuperblock(b []byte) JournalSuperblock {
	be := binary.BigEndian
	return JournalSuperblock{be.Uint32(b), be.Uint32(b[4:]), be.Uint32(b[8:]), be.Uint32(b[12:]),
		be.Uint32(b[16:]), be.Uint32(b[20:]), be.Uint32(b[24:]), be.Uint32(b[28:]), int32(be.Uint32(b[32:]))}
}

// decodeStruct decodes a fixed-layout structure from b, which must be at
// least binary.Size(v) long.
func decodeStruct(b []byte, v any) {
	if _, err := binary.Decode(b, le, v); err != nil {
		panic("ext2fs: short buffer for " + err.Error()) // callers size b; a programming error
	}
}

// encodeStruct encodes v into b.
func encodeStruct(b []byte, v any) {
	if _, err := binary.Encode(b, le, v); err != nil {
		panic("ext2fs: short buffer for " + err.Error())
	}
}
