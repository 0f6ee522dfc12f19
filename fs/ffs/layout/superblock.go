package layout

import "encoding/binary"

// Superblock is struct fs of NetBSD's fs.h, byte for byte. Fields named
// Old* are UFS1's 32-bit originals; UFS1 keeps its size, summary address,
// totals and time there, UFS2 in the 64-bit fields further down.
type Superblock struct {
	FirstField    int32
	Unused1       int32
	Sblkno        int32 // offset of superblock copy in a cg (frags)
	Cblkno        int32 // offset of cg block in a cg
	Iblkno        int32 // offset of inode blocks in a cg
	Dblkno        int32 // offset of first data block after the cg
	OldCgoffset   int32 // UFS1: cylinder-group offset in cylinder
	OldCgmask     int32 // UFS1: used to calculate the cg offset
	OldTime       int32
	OldSize       int32
	OldDsize      int32
	Ncg           uint32 // number of cylinder groups
	Bsize         int32
	Fsize         int32
	Frag          int32 // fragments per block
	Minfree       int32 // percentage of blocks reserved
	OldRotdelay   int32
	OldRps        int32
	Bmask         int32
	Fmask         int32
	Bshift        int32
	Fshift        int32
	Maxcontig     int32
	Maxbpg        int32 // max blocks per file in a cg
	Fragshift     int32
	Fsbtodb       int32
	Sbsize        int32
	Spare1        [2]int32
	Nindir        int32 // block pointers per indirect block
	Inopb         uint32
	OldNspf       int32
	Optim         int32
	OldNpsect     int32
	OldInterleave int32
	OldTrackskew  int32
	ID            [2]int32
	OldCsaddr     int32
	Cssize        int32
	Cgsize        int32
	Spare2        int32
	OldNsect      int32
	OldSpc        int32
	OldNcyl       int32
	OldCpg        int32
	Ipg           uint32 // inodes per group
	Fpg           int32  // fragments per group
	OldCstotal    Csum
	Fmod          int8
	Clean         uint8
	Ronly         int8
	OldFlags      uint8
	Fsmnt         [MAXMNTLEN]byte
	Volname       [MAXVOLLEN]byte
	Swuid         uint64
	Pad           int32
	Cgrotor       int32
	Ocsp          [128]byte // in-core pointers in the C struct; zeros on disk
	OldCpc        int32
	Maxbsize      int32
	// WAPBL (NetBSD's journal) location.
	JournalVersion  uint8
	JournalLocation uint8
	JournalReserved [2]uint8
	JournalFlags    uint32
	Journallocs     [4]uint64
	QuotaMagic      uint32
	QuotaFlags      uint8
	QuotaReserved   [3]uint8
	Quotafile       [2]uint64
	Sparecon64      [9]int64
	Sblockloc       int64 // byte offset of the standard superblock
	Cstotal         CsumTotal
	Time            int64
	Size            int64 // frags in the file system
	Dsize           int64 // data frags
	Csaddr          int64 // frag address of the cg summary area
	Pendingblocks   int64
	Pendinginodes   uint32
	Snapinum        [FSMAXSNAP]uint32
	Avgfilesize     uint32
	Avgfpdir        uint32
	SaveCgsize      int32
	Sparecon32      [26]int32
	Flags           uint32
	Contigsumsize   int32
	Maxsymlinklen   int32
	OldInodefmt     int32
	Maxfilesize     uint64
	Qbmask          int64
	Qfmask          int64
	State           int32
	OldPostblformat int32
	OldNrpos        int32
	Spare5          [2]int32
	Magic           int32
}

// SuperblockSize is sizeof(struct fs).
const SuperblockSize = 1376

// Offsets of fields looked at before a full decode and pinned by tests.
const (
	SuperblockMagicOffset     = 1372
	SuperblockSblocklocOffset = 1000
)

// WAPBL journal locations (fs_journal_location).
const (
	UFS_WAPBL_JOURNALLOC_NONE          = 0
	UFS_WAPBL_JOURNALLOC_END_PARTITION = 1
	UFS_WAPBL_JOURNALLOC_IN_FILESYSTEM = 2
)

// DetectOrder reads the magic number of a superblock candidate in b and
// returns the byte order that makes it a UFS1 or UFS2 magic, with the
// magic in host terms. ok is false for anything else.
func DetectOrder(b []byte) (bo binary.ByteOrder, magic uint32, ok bool) {
	if len(b) < SuperblockSize {
		return nil, 0, false
	}
	for _, o := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		m := o.Uint32(b[SuperblockMagicOffset:])
		switch m {
		case FS_UFS1_MAGIC, FS_UFS2_MAGIC, FS_UFS2EA_MAGIC:
			return o, m, true
		}
	}
	return nil, 0, false
}

// DecodeSuperblock decodes struct fs from b in byte order bo.
func DecodeSuperblock(b []byte, bo binary.ByteOrder) (*Superblock, error) {
	sb := new(Superblock)
	if err := decode(b, bo, sb, SuperblockSize); err != nil {
		return nil, err
	}
	return sb, nil
}

// Encode writes sb into the first SuperblockSize bytes of b, leaving the
// rest (UFS1's rotational tables live past struct fs) untouched.
func (sb *Superblock) Encode(b []byte, bo binary.ByteOrder) error {
	return encode(b, bo, sb, SuperblockSize)
}

// IsUFS2 reports whether the magic is a UFS2 one.
func (sb *Superblock) IsUFS2() bool {
	return uint32(sb.Magic) == FS_UFS2_MAGIC || uint32(sb.Magic) == FS_UFS2EA_MAGIC
}

// VolumeName is fs_volname up to its first NUL.
func (sb *Superblock) VolumeName() string { return cstring(sb.Volname[:]) }

// LastMount is fs_fsmnt up to its first NUL.
func (sb *Superblock) LastMount() string { return cstring(sb.Fsmnt[:]) }

func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
