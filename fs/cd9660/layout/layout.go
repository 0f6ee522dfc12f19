// Package layout holds the on-disk structures of ISO 9660 (ECMA-119), its
// Joliet supplementary volume descriptors and the System Use Sharing
// Protocol (SUSP, IEEE P1281) / Rock Ridge Interchange Protocol (RRIP, IEEE
// P1282) entries, one Go type per structure, decoded with encoding/binary.
//
// Multi-byte numbers in ISO 9660 are mostly recorded "both-endian"
// (ECMA-119 7.2.3 and 7.3.3): the little-endian value followed by the same
// value big-endian. The Both16/Both32 types keep both halves; LE() is the
// value used (as NetBSD's isonum_723/isonum_733 read the little-endian
// half), Consistent() checks the halves agree.
//
// Nothing here trusts the data: decoders only need the byte slice to be at
// least the structure's fixed size, and callers check every length and
// offset before use.
package layout

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// Sizes of the fixed parts, pinned by tests.
const (
	SectorSize          = 2048 // logical sector of a CD (ECMA-119 6.1.2)
	VolumeDescriptorLBA = 16   // first volume descriptor sector (ECMA-119 6.2.1)

	VolumeDescriptorSize = 2048
	DirectoryRecordSize  = 33 // fixed part, before the file identifier
	RootRecordSize       = 34 // the root record embedded in a volume descriptor
	DirTimeSize          = 7
	DecTimeSize          = 17
	ExtAttrSize          = 250 // fixed part of an extended attribute record
)

// Volume descriptor types (ECMA-119 8.1.1).
const (
	VDBootRecord    = 0
	VDPrimary       = 1
	VDSupplementary = 2
	VDPartition     = 3
	VDTerminator    = 255
)

// StandardID is the identifier every volume descriptor carries.
var StandardID = [5]byte{'C', 'D', '0', '0', '1'}

// ErrShort is returned when a buffer is smaller than the structure.
var ErrShort = errors.New("buffer too short for structure")

// Both16 is a 16-bit number recorded both-endian (ECMA-119 7.2.3).
type Both16 [4]byte

// LE returns the little-endian half.
func (b Both16) LE() uint16 { return binary.LittleEndian.Uint16(b[0:2]) }

// BE returns the big-endian half.
func (b Both16) BE() uint16 { return binary.BigEndian.Uint16(b[2:4]) }

// Consistent reports whether both halves agree.
func (b Both16) Consistent() bool { return b.LE() == b.BE() }

// Both32 is a 32-bit number recorded both-endian (ECMA-119 7.3.3).
type Both32 [8]byte

// LE returns the little-endian half.
func (b Both32) LE() uint32 { return binary.LittleEndian.Uint32(b[0:4]) }

// BE returns the big-endian half.
func (b Both32) BE() uint32 { return binary.BigEndian.Uint32(b[4:8]) }

// Consistent reports whether both halves agree.
func (b Both32) Consistent() bool { return b.LE() == b.BE() }

// decode fills v (a pointer to a fixed-size struct) from the start of b.
//
// The records decoded once per directory entry (the record header and
// the Rock Ridge entries every file has) are copied field by field:
// binary.Decode walks the struct by reflection, which was a third of the
// CPU time of extracting a tree of 10,000 small files (ukfs get -R).
// Their fields are all bytes, so the copy is the same as binary.Decode's.
func decode(b []byte, v any) error {
	switch v := v.(type) {
	case *DirectoryRecordHeader:
		if len(b) < DirectoryRecordSize {
			return ErrShort
		}
		v.Length, v.ExtAttrLength = b[0], b[1]
		copy(v.Extent[:], b[2:10])
		copy(v.DataLength[:], b[10:18])
		copy(v.Recorded[:], b[18:25])
		v.Flags, v.FileUnitSize, v.InterleaveGap = b[25], b[26], b[27]
		copy(v.VolumeSeq[:], b[28:32])
		v.NameLen = b[32]
		return nil
	case *SUSPHeader:
		if len(b) < 4 {
			return ErrShort
		}
		decodeSUSP(b, v)
		return nil
	case *PX:
		if len(b) < PXSize110 {
			return ErrShort
		}
		decodeSUSP(b, &v.SUSPHeader)
		copy(v.Mode[:], b[4:12])
		copy(v.Nlink[:], b[12:20])
		copy(v.Uid[:], b[20:28])
		copy(v.Gid[:], b[28:36])
		return nil
	case *PXSerial:
		if len(b) < 8 {
			return ErrShort
		}
		copy(v.Ino[:], b[:8])
		return nil
	}
	if len(b) < binary.Size(v) {
		return ErrShort
	}
	_, err := binary.Decode(b, binary.LittleEndian, v)
	return err
}

// TrimID returns an a-/d-character identifier field without its padding
// (spaces, and NULs some authoring tools use).
func TrimID(b []byte) string {
	return string(bytes.TrimRight(b, " \x00"))
}

// decodeSUSP fills h from the first 4 bytes of b.
func decodeSUSP(b []byte, h *SUSPHeader) {
	h.Sig = [2]byte{b[0], b[1]}
	h.Length, h.Version = b[2], b[3]
}
