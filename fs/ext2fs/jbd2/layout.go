// Package jbd2 reads and replays the JBD2 journal of ext3/ext4 (also used
// by ext2fs for the old ext3 "JBD" format, which is JBD2 without
// features): the recovery the Linux kernel (fs/jbd2/recovery.c) and
// e2fsprogs (e2fsck/recovery.c, the same file) run at mount time.
//
// The journal is read through a BlockMapper (journal block → file-system
// block, the journal inode's block map) and a BlockReader; replayed blocks
// go to a BlockWriter, which may be the device itself (read-write mount)
// or an in-memory overlay (read-only mount). Every number read from the
// journal is checked before it is used.
//
// All journal structures are big-endian (include/linux/jbd2.h).
package jbd2

import "encoding/binary"

var be = binary.BigEndian

// Magic is JBD2_MAGIC_NUMBER, the first word of every journal metadata
// block (and of data blocks, which are then stored escaped).
const Magic = 0xC03B3998

// Block types (journal_header_t.h_blocktype).
const (
	TypeDescriptor   = 1
	TypeCommit       = 2
	TypeSuperblockV1 = 3
	TypeSuperblockV2 = 4
	TypeRevoke       = 5
	TypeFastCommit   = 6
)

// Feature bits of the journal superblock (v2 only).
const (
	CompatChecksum = 0x1 // crc32 of each transaction in its commit block ("v1")

	IncompatRevoke      = 0x01
	Incompat64bit       = 0x02
	IncompatAsyncCommit = 0x04
	IncompatCsumV2      = 0x08
	IncompatCsumV3      = 0x10
	IncompatFastCommit  = 0x20

	// What Recover understands. Fast commits need ext4's own replay of
	// logical changes (fs/ext4/fast_commit.c), so they are refused.
	incompatKnown = IncompatRevoke | Incompat64bit | IncompatAsyncCommit | IncompatCsumV2 | IncompatCsumV3
)

// Checksum types (s_checksum_type, h_chksum_type).
const (
	ChecksumCRC32  = 1
	ChecksumMD5    = 2
	ChecksumSHA1   = 3
	ChecksumCRC32C = 4

	crc32ChksumSize = 4
)

// Descriptor tag flags (t_flags).
const (
	FlagEscape   = 1 // the data block began with Magic, which was zeroed
	FlagSameUUID = 2 // no 16-byte UUID follows this tag
	FlagDeleted  = 4 // unused
	FlagLastTag  = 8 // last tag of this descriptor block
)

// Sizes.
const (
	HeaderSize       = 12   // journal_header_t
	SuperblockSize   = 1024 // journal_superblock_t
	superblockCsumAt = 0xFC // s_checksum
	RevokeHeaderSize = 16   // jbd2_journal_revoke_header_t
	TailSize         = 4    // jbd2_journal_block_tail
	CommitHeaderSize = 0x3C // struct commit_header
	tagUUIDSize      = 16
)

// Header is journal_header_t, at the start of every journal metadata block.
type Header struct {
	Magic     uint32
	BlockType uint32
	Sequence  uint32
}

// DecodeHeader reads b[0:12].
func DecodeHeader(b []byte) Header {
	return Header{be.Uint32(b), be.Uint32(b[4:]), be.Uint32(b[8:])}
}

// Superblock is journal_superblock_t (the fields recovery uses).
type Superblock struct {
	Header
	BlockSize      uint32 // 0x0C
	MaxLen         uint32 // 0x10 blocks in the journal
	First          uint32 // 0x14 first block of the log
	Sequence       uint32 // 0x18 first transaction expected in the log
	Start          uint32 // 0x1C first block of the log; 0: the journal is empty
	Errno          int32  // 0x20
	FeatureCompat  uint32 // 0x24 (v2)
	FeatureIncomp  uint32 // 0x28
	FeatureRoComp  uint32 // 0x2C
	UUID           [16]byte
	NrUsers        uint32 // 0x40
	ChecksumType   uint8  // 0x50
	NumFCBlocks    uint32 // 0x54
	Checksum       uint32 // 0xFC
	MaxTransaction uint32 // 0x48
}

// DecodeSuperblock reads b[0:1024]. A v1 superblock has no features: the
// fields are zeroed as the kernel ignores them (j_format_version 1).
func DecodeSuperblock(b []byte) Superblock {
	s := Superblock{
		Header:    DecodeHeader(b),
		BlockSize: be.Uint32(b[0x0C:]), MaxLen: be.Uint32(b[0x10:]), First: be.Uint32(b[0x14:]),
		Sequence: be.Uint32(b[0x18:]), Start: be.Uint32(b[0x1C:]), Errno: int32(be.Uint32(b[0x20:])),
	}
	if s.BlockType == TypeSuperblockV2 {
		s.FeatureCompat = be.Uint32(b[0x24:])
		s.FeatureIncomp = be.Uint32(b[0x28:])
		s.FeatureRoComp = be.Uint32(b[0x2C:])
		copy(s.UUID[:], b[0x30:0x40])
		s.NrUsers = be.Uint32(b[0x40:])
		s.MaxTransaction = be.Uint32(b[0x48:])
		s.ChecksumType = b[0x50]
		s.NumFCBlocks = be.Uint32(b[0x54:])
		s.Checksum = be.Uint32(b[superblockCsumAt:])
	}
	return s
}

// Tag is one descriptor-block tag: where the next log block goes.
type Tag struct {
	Block    uint64
	Flags    uint16
	Checksum uint32 // 16 bits for csum v2, 32 for v3
}

// tagBytes is journal_tag_bytes(): the size of a tag without its UUID.
// tag3 (csum v3) is 16 bytes; the old tag is 12 with 64-bit block
// numbers, 8 without, plus 2 for csum v2 (the kernel's arithmetic).
func tagBytes(incompat uint32) int {
	if incompat&IncompatCsumV3 != 0 {
		return 16
	}
	sz := 12
	if incompat&IncompatCsumV2 != 0 {
		sz += 2
	}
	if incompat&Incompat64bit != 0 {
		return sz
	}
	return sz - 4
}

// decodeTag reads a tag of either layout. The flags are the low 16 bits at
// byte 6 in both (tag: be16 at 6; tag3: be32 at 4), as the kernel reads
// them; the high block number is at byte 8 in both.
func decodeTag(b []byte, incompat uint32) Tag {
	t := Tag{Block: uint64(be.Uint32(b)), Flags: be.Uint16(b[6:])}
	if incompat&Incompat64bit != 0 {
		t.Block |= uint64(be.Uint32(b[8:])) << 32
	}
	switch {
	case incompat&IncompatCsumV3 != 0:
		t.Checksum = be.Uint32(b[12:])
	case incompat&IncompatCsumV2 != 0:
		t.Checksum = uint32(be.Uint16(b[4:]))
	}
	return t
}

// encodeTag is decodeTag's inverse (tests and the fuzz seed corpus).
func encodeTag(b []byte, t Tag, incompat uint32) {
	be.PutUint32(b, uint32(t.Block))
	if incompat&IncompatCsumV3 != 0 {
		be.PutUint32(b[4:], uint32(t.Flags))
		be.PutUint32(b[12:], t.Checksum)
	} else {
		be.PutUint16(b[6:], t.Flags)
		if incompat&IncompatCsumV2 != 0 {
			be.PutUint16(b[4:], uint16(t.Checksum))
		}
	}
	if incompat&Incompat64bit != 0 {
		be.PutUint32(b[8:], uint32(t.Block>>32))
	}
}

// CommitHeader is struct commit_header (the fields recovery uses).
type CommitHeader struct {
	Header
	ChksumType uint8  // 0x0C
	ChksumSize uint8  // 0x0D
	Chksum0    uint32 // 0x10 h_chksum[0]
	CommitSec  uint64 // 0x30
	CommitNsec uint32 // 0x38
}

// DecodeCommit reads b[0:0x3C].
func DecodeCommit(b []byte) CommitHeader {
	return CommitHeader{Header: DecodeHeader(b), ChksumType: b[0x0C], ChksumSize: b[0x0D],
		Chksum0: be.Uint32(b[0x10:]), CommitSec: be.Uint64(b[0x30:]), CommitNsec: be.Uint32(b[0x38:])}
}
