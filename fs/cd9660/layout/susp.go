package layout

// SUSP (IEEE P1281) and RRIP (IEEE P1282, versions 1.10 and 1.12) entries.
// Every entry starts with a 4-byte header: a two-letter signature, the
// entry's length (header included) and a version.

// SUSPHeaderSize is the size of an entry header.
const SUSPHeaderSize = 4

// SUSPHeader starts every System Use entry.
type SUSPHeader struct {
	Sig     [2]byte
	Length  uint8
	Version uint8
}

// Signature returns the two-letter signature as a string.
func (h SUSPHeader) Signature() string { return string(h.Sig[:]) }

// Entry is one System Use entry: the header and the whole entry's bytes
// (header included; len(Data) == Length).
type Entry struct {
	SUSPHeader
	Data []byte
}

// Body returns the bytes after the header.
func (e *Entry) Body() []byte { return e.Data[SUSPHeaderSize:] }

// NextEntry decodes the entry at the start of area. ok is false when no
// well-formed entry is there: fewer than 4 bytes left, a length under 4 or
// past the area (SUSP 5.1 and NetBSD's "plausibility check"), or padding
// (a NUL signature, which some writers leave at the end of an area).
func NextEntry(area []byte) (e Entry, ok bool) {
	if len(area) < SUSPHeaderSize {
		return e, false
	}
	if decode(area, &e.SUSPHeader) != nil {
		return e, false
	}
	n := int(e.Length)
	if n < SUSPHeaderSize || n > len(area) || e.Sig[0] == 0 {
		return e, false
	}
	e.Data = area[:n]
	return e, true
}

// SP ("SUSP indicator", SUSP 5.3) marks a SUSP area; only in the first
// entry of the root's "." record.
type SP struct {
	SUSPHeader
	Check [2]byte // 0xBE 0xEF
	Skip  uint8   // bytes to skip at the start of every other System Use area
}

// SPSize is the length of an SP entry.
const SPSize = 7

// SPCheck are SP's check bytes.
var SPCheck = [2]byte{0xBE, 0xEF}

// DecodeSP decodes an SP entry.
func DecodeSP(b []byte) (SP, bool) {
	var s SP
	if decode(b, &s) != nil || string(s.Sig[:]) != "SP" || s.Length < SPSize || s.Check != SPCheck {
		return s, false
	}
	return s, true
}

// CE points at a continuation area (SUSP 5.1).
type CE struct {
	SUSPHeader
	Block  Both32 // logical block of the continuation area
	Offset Both32 // byte offset in that block
	Size   Both32 // length of the continuation area
}

// CESize is the length of a CE entry.
const CESize = 28

// DecodeCE decodes a CE entry.
func DecodeCE(b []byte) (CE, bool) {
	var c CE
	ok := decode(b, &c) == nil && c.SUSPHeader.Length >= CESize
	return c, ok
}

// ERHeader is the fixed part of an extension reference (SUSP 5.5),
// followed by the identifier, descriptor and source texts.
type ERHeader struct {
	SUSPHeader
	IDLen      uint8
	DescLen    uint8
	SrcLen     uint8
	ExtVersion uint8
}

// ERHeaderSize is the fixed part of an ER entry.
const ERHeaderSize = 8

// ER is a decoded extension reference.
type ER struct {
	ERHeader
	ID, Desc, Src string
}

// DecodeER decodes an ER entry; the texts must fit in the entry.
func DecodeER(b []byte) (ER, bool) {
	var e ER
	if decode(b, &e.ERHeader) != nil {
		return e, false
	}
	n := int(e.Length)
	if n > len(b) {
		return e, false
	}
	end := ERHeaderSize + int(e.IDLen) + int(e.DescLen) + int(e.SrcLen)
	if end > n {
		return e, false
	}
	p := ERHeaderSize
	e.ID = string(b[p : p+int(e.IDLen)])
	p += int(e.IDLen)
	e.Desc = string(b[p : p+int(e.DescLen)])
	p += int(e.DescLen)
	e.Src = string(b[p : p+int(e.SrcLen)])
	return e, true
}

// PX holds POSIX file attributes (RRIP 4.1.1). RRIP 1.10 has the first
// four fields (36 bytes); RRIP 1.12 adds the file serial number (44 bytes).
type PX struct {
	SUSPHeader
	Mode  Both32
	Nlink Both32
	Uid   Both32
	Gid   Both32
}

// PX sizes.
const (
	PXSize110 = 36
	PXSize112 = 44
)

// PXSerial is the RRIP 1.12 tail of PX.
type PXSerial struct {
	Ino Both32
}

// DecodePX decodes a PX entry; hasSerial tells whether it is the 1.12 form.
func DecodePX(b []byte) (p PX, serial uint32, hasSerial, ok bool) {
	if decode(b, &p) != nil || p.Length < PXSize110 {
		return p, 0, false, false
	}
	if p.Length >= PXSize112 && len(b) >= PXSize112 {
		var s PXSerial
		if decode(b[PXSize110:], &s) == nil {
			return p, s.Ino.LE(), true, true
		}
	}
	return p, 0, false, true
}

// PN is a device number (RRIP 4.1.2).
type PN struct {
	SUSPHeader
	High Both32
	Low  Both32
}

// PNSize is the length of a PN entry.
const PNSize = 20

// DecodePN decodes a PN entry.
func DecodePN(b []byte) (PN, bool) {
	var p PN
	ok := decode(b, &p) == nil && p.Length >= PNSize
	return p, ok
}

// SL component flags (RRIP 4.1.3.1), also used by NM (4.1.4).
const (
	CompContinue = 0x01
	CompCurrent  = 0x02
	CompParent   = 0x04
	CompRoot     = 0x08
	CompVolRoot  = 0x10 // obsolete in 1.12
	CompHost     = 0x20 // obsolete in 1.12
)

// SLHeaderSize is the fixed part of an SL entry: header and flags; the
// component records follow.
const SLHeaderSize = 5

// SLComponent is one component record of an SL entry: flags, length and
// content.
type SLComponent struct {
	Flags   uint8
	Content []byte
}

// DecodeSL decodes an SL entry: its flags (bit 0: the link continues in the
// next SL entry) and its component records. ok is false if a component
// runs past the entry.
func DecodeSL(b []byte) (flags uint8, comps []SLComponent, ok bool) {
	var h SUSPHeader
	if decode(b, &h) != nil || int(h.Length) < SLHeaderSize || int(h.Length) > len(b) {
		return 0, nil, false
	}
	flags = b[4]
	area := b[SLHeaderSize:h.Length]
	for len(area) > 0 {
		if len(area) < 2 {
			return 0, nil, false
		}
		n := int(area[1])
		if 2+n > len(area) {
			return 0, nil, false
		}
		comps = append(comps, SLComponent{Flags: area[0], Content: area[2 : 2+n]})
		area = area[2+n:]
	}
	return flags, comps, true
}

// NMHeaderSize is the fixed part of an NM entry; the name part follows.
const NMHeaderSize = 5

// DecodeNM decodes an NM (alternate name) entry: flags and name part.
func DecodeNM(b []byte) (flags uint8, name []byte, ok bool) {
	var h SUSPHeader
	if decode(b, &h) != nil || int(h.Length) < NMHeaderSize || int(h.Length) > len(b) {
		return 0, nil, false
	}
	return b[4], b[NMHeaderSize:h.Length], true
}

// CL (child link) and PL (parent link) point at a relocated directory and
// at the real parent of a relocated directory (RRIP 4.1.5.1 and 4.1.5.2).
type CL struct {
	SUSPHeader
	Location Both32
}

// CLSize is the length of a CL or PL entry.
const CLSize = 12

// DecodeCL decodes a CL or PL entry.
func DecodeCL(b []byte) (CL, bool) {
	var c CL
	ok := decode(b, &c) == nil && c.Length >= CLSize
	return c, ok
}

// TF flags (RRIP 4.1.6): which stamps follow, in this order, and whether
// they are 17-byte (LONG_FORM) or 7-byte stamps.
const (
	TFCreation   = 0x01
	TFModify     = 0x02
	TFAccess     = 0x04
	TFAttributes = 0x08
	TFBackup     = 0x10
	TFExpiration = 0x20
	TFEffective  = 0x40
	TFLongForm   = 0x80
)

// TFHeaderSize is the fixed part of a TF entry.
const TFHeaderSize = 5

// DecodeTF decodes a TF entry into its flags and the stamps present, in
// flag order (creation first). A stamp is DirTimeSize or DecTimeSize bytes.
func DecodeTF(b []byte) (flags uint8, stamps [7][]byte, ok bool) {
	var h SUSPHeader
	if decode(b, &h) != nil || int(h.Length) < TFHeaderSize || int(h.Length) > len(b) {
		return 0, stamps, false
	}
	flags = b[4]
	size := DirTimeSize
	if flags&TFLongForm != 0 {
		size = DecTimeSize
	}
	area := b[TFHeaderSize:h.Length]
	for i := 0; i < 7; i++ {
		if flags&(1<<i) == 0 {
			continue
		}
		if len(area) < size {
			return flags, stamps, false
		}
		stamps[i] = area[:size]
		area = area[size:]
	}
	return flags, stamps, true
}

// ZF marks a zisofs-compressed file (a Linux/libisofs extension, not in
// RRIP): algorithm "pz", header size, log2 of block size, uncompressed size.
type ZF struct {
	SUSPHeader
	Algorithm        [2]byte
	HeaderSizeDiv4   uint8
	Log2BlockSize    uint8
	UncompressedSize Both32
}

// ZFSize is the length of a ZF entry.
const ZFSize = 16
