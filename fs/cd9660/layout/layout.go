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
func decode(b []byte, v any) error {
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
