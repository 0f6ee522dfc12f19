package layout

import "encoding/binary"

// Direct is one directory entry (struct direct, dir.h). Directories are
// made of DIRBLKSIZ-byte chunks; entries never cross a chunk, and the
// reclens of a chunk's entries add up to DIRBLKSIZ. A free slot has Ino
// 0 (only as the first entry of a chunk); free space after an entry is
// part of its reclen.
//
// The 4.4BSD format has an 8-bit d_type and an 8-bit d_namlen; the old
// format (file systems with fs_maxsymlinklen <= 0, NetBSD's
// FS_OLDDIRFMT) has a 16-bit d_namlen in the same two bytes and no type.
type Direct struct {
	Ino    uint32
	Reclen uint16
	Type   uint8 // DT_*; 0 (DT_UNKNOWN) in the old format
	Namlen uint16
	Name   []byte
}

// DirectHeaderSize is the fixed part of an entry.
const DirectHeaderSize = 8

// DirSize is DIRSIZ: the space an entry with a name of n bytes needs
// (header, name, NUL, rounded up to 4).
func DirSize(n int) int { return DirectHeaderSize + (n+1+3)&^3 }

// DecodeDirectHeader decodes the fixed part of the entry at b[0:].
// oldFmt selects the pre-4.4BSD layout.
func DecodeDirectHeader(b []byte, bo binary.ByteOrder, oldFmt bool) (Direct, bool) {
	if len(b) < DirectHeaderSize {
		return Direct{}, false
	}
	d := Direct{Ino: bo.Uint32(b[0:]), Reclen: bo.Uint16(b[4:])}
	if oldFmt {
		d.Namlen = bo.Uint16(b[6:])
	} else {
		d.Type = b[6]
		d.Namlen = uint16(b[7])
	}
	return d, true
}

// Encode writes the header and the name (NUL padded to DirSize) into b,
// which must hold DirSize(len(d.Name)) bytes; the rest of the reclen is
// left alone.
func (d *Direct) Encode(b []byte, bo binary.ByteOrder, oldFmt bool) bool {
	n := DirSize(len(d.Name))
	if len(b) < n {
		return false
	}
	bo.PutUint32(b[0:], d.Ino)
	bo.PutUint16(b[4:], d.Reclen)
	if oldFmt {
		bo.PutUint16(b[6:], uint16(len(d.Name)))
	} else {
		b[6] = d.Type
		b[7] = uint8(len(d.Name))
	}
	copy(b[8:], d.Name)
	clear(b[8+len(d.Name) : n])
	return true
}
