// Package layout holds the on-disk structures of the Berkeley Fast File
// System (FFS, UFS1 and UFS2) as NetBSD defines them in sys/ufs/ffs/fs.h,
// sys/ufs/ufs/dinode.h and sys/ufs/ufs/dir.h: the superblock (struct fs),
// the cylinder-group header (struct cg), the summary records (struct csum,
// struct csum_total), both inode formats (ufs1_dinode, 128 bytes;
// ufs2_dinode, 256 bytes) and directory entries (struct direct, in the
// 4.4BSD form with d_type and the older form with a 16-bit d_namlen).
//
// FFS is written in the byte order of the machine that made it; NetBSD's
// FFS_EI code reads either order, telling them apart by the magic number.
// Every structure here is decoded and encoded with an explicit
// binary.ByteOrder for that reason. The Go structs mirror the C ones field
// for field (the C structs have no padding), and their sizes are pinned by
// tests.
package layout

import (
	"encoding/binary"
	"errors"
)

// Magic numbers (fs.h).
const (
	FS_UFS1_MAGIC = 0x011954
	FS_UFS2_MAGIC = 0x19540119
	// FS_UFS2EA_MAGIC marks FreeBSD's UFS2 with extended-attribute
	// check-hashes; NetBSD reads it as UFS2.
	FS_UFS2EA_MAGIC = 0x19012038
	CG_MAGIC        = 0x090255
)

// Superblock locations tried in order (NetBSD's SBLOCKSEARCH).
const (
	SBLOCK_UFS2   = 65536
	SBLOCK_UFS1   = 8192
	SBLOCK_FLOPPY = 0
	SBLOCK_PIGGY  = 262144
	SBLOCKSIZE    = 8192
)

// SBLOCKSEARCH is the order in which NetBSD looks for a superblock.
var SBLOCKSEARCH = []int64{SBLOCK_UFS2, SBLOCK_UFS1, SBLOCK_FLOPPY, SBLOCK_PIGGY}

// Limits (fs.h, dinode.h, dir.h).
const (
	MINBSIZE    = 4096
	MAXBSIZE    = 65536
	MAXFRAG     = 8
	UFS_NDADDR  = 12 // direct addresses in an inode
	UFS_NIADDR  = 3  // indirect addresses in an inode
	UFS_ROOTINO = 2
	DIRBLKSIZ   = 512
	MAXNAMLEN   = 255
	FSMAXSNAP   = 20
	MAXMNTLEN   = 468
	MAXVOLLEN   = 32
	DEV_BSIZE   = 512

	// Longest symlink target kept in the inode's block-pointer area.
	UFS1_MAXSYMLINKLEN = (UFS_NDADDR + UFS_NIADDR) * 4
	UFS2_MAXSYMLINKLEN = (UFS_NDADDR + UFS_NIADDR) * 8
)

// Inode formats (fs_old_inodefmt).
const (
	FS_42INODEFMT = -1
	FS_44INODEFMT = 2
)

// Clean flags (fs_clean).
const (
	FS_ISCLEAN  = 0x01
	FS_WASCLEAN = 0x02
)

// File-system flags (fs_flags; fs_old_flags for the low byte of old
// UFS1 superblocks). NetBSD and FreeBSD share the low bits.
const (
	FS_UNCLEAN       = 0x001
	FS_DOSOFTDEP     = 0x002
	FS_NEEDSFSCK     = 0x004
	FS_SUJ           = 0x008
	FS_ACLS          = 0x010
	FS_MULTILABEL    = 0x020
	FS_GJOURNAL      = 0x040
	FS_FLAGS_UPDATED = 0x080
	FS_DOWAPBL       = 0x100 // NetBSD; FreeBSD's FS_NFS4ACLS has this value
	FS_DOQUOTA2      = 0x200
	FS_TRIM          = 0x400
	FS_NFS4ACLS      = 0x800
)

// Errors of the decoders.
var (
	ErrShort    = errors.New("ffs: structure truncated")
	ErrBadMagic = errors.New("ffs: bad magic number")
)

// Csum is struct csum: the per-cylinder-group summary, kept in each cg
// and in the summary area at fs_csaddr.
type Csum struct {
	Ndir   int32 // number of directories
	Nbfree int32 // number of free blocks
	Nifree int32 // number of free inodes
	Nffree int32 // number of free frags
}

// CsumSize is sizeof(struct csum).
const CsumSize = 16

// CsumTotal is struct csum_total, the file-system-wide summary.
type CsumTotal struct {
	Ndir        int64
	Nbfree      int64
	Nifree      int64
	Nffree      int64
	Numclusters int64
	Spare       [3]int64
}

// decode and encode wrap encoding/binary for fixed-size structs.
func decode(b []byte, bo binary.ByteOrder, v any, size int) error {
	if len(b) < size {
		return ErrShort
	}
	_, err := binary.Decode(b[:size], bo, v)
	return err
}

func encode(b []byte, bo binary.ByteOrder, v any, size int) error {
	if len(b) < size {
		return ErrShort
	}
	_, err := binary.Encode(b[:size], bo, v)
	return err
}

// DecodeCsum decodes one struct csum.
func DecodeCsum(b []byte, bo binary.ByteOrder) (Csum, error) {
	var c Csum
	err := decode(b, bo, &c, CsumSize)
	return c, err
}

// Encode writes c into b.
func (c *Csum) Encode(b []byte, bo binary.ByteOrder) error { return encode(b, bo, c, CsumSize) }
