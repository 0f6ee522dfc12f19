package msdosfs

// On-disk structures of FAT12/16/32, all little-endian, decoded and encoded
// here and nowhere else. Offsets follow Microsoft's "FAT: General Overview
// of On-Disk Format" (version 1.03) and NetBSD's bpb.h/bootsect.h/direntry.h.

import (
	"encoding/binary"
	"time"
)

var le = binary.LittleEndian

// Sizes of the on-disk structures (pinned by layout_test.go).
const (
	bootSectorSize = 512 // the part of sector 0 holding the BPB and signature
	fsInfoSize     = 512
	direntSize     = 32
)

// Boot-sector constants.
const (
	bootSigOff = 510 // 0x55 0xAA
	bootSig0   = 0x55
	bootSig1   = 0xAA
	extBootSig = 0x29 // extended boot signature: volume id, label, type follow
	extBootOld = 0x28 // older form: volume id only
)

// bpb is the BIOS Parameter Block of sector 0: the DOS 3.31/5.0 fields
// common to every FAT type, plus the FAT32 extension (used when RootEntCnt
// and FATSz16 are 0) and the extended boot record (label, volume id).
type bpb struct {
	Jump        [3]byte
	OEMName     [8]byte
	BytesPerSec uint16 // 11
	SecPerClus  uint8  // 13
	RsvdSecCnt  uint16 // 14
	NumFATs     uint8  // 16
	RootEntCnt  uint16 // 17
	TotSec16    uint16 // 19
	Media       uint8  // 21
	FATSz16     uint16 // 22
	SecPerTrk   uint16 // 24
	NumHeads    uint16 // 26
	HiddSec     uint32 // 28
	TotSec32    uint32 // 32

	// FAT32 extension (offsets 36..63).
	FATSz32   uint32 // 36
	ExtFlags  uint16 // 40: bit 7 set = mirroring off, bits 0-3 active FAT
	FSVer     uint16 // 42
	RootClus  uint32 // 44
	FSInfo    uint16 // 48
	BkBootSec uint16 // 50

	// Extended boot record: at 36 on FAT12/16, at 64 on FAT32.
	DrvNum  uint8
	BootSig uint8 // 0x29 when VolID, VolLab and FilSysType are valid
	VolID   uint32
	VolLab  [11]byte
	FSType  [8]byte

	Signature uint16 // at 510: 0xAA55 when valid
	fat32     bool   // the FAT32 layout of the extension was decoded
}

// ExtFlags bits (FAT32).
const (
	extFlagNoMirror  = 0x80
	extFlagActiveFAT = 0x0F
)

// decodeBPB decodes the first 512 bytes of a boot sector. It never fails;
// the caller validates the values.
func decodeBPB(b []byte) bpb {
	var p bpb
	if len(b) < bootSectorSize {
		return p
	}
	copy(p.Jump[:], b[0:3])
	copy(p.OEMName[:], b[3:11])
	p.BytesPerSec = le.Uint16(b[11:])
	p.SecPerClus = b[13]
	p.RsvdSecCnt = le.Uint16(b[14:])
	p.NumFATs = b[16]
	p.RootEntCnt = le.Uint16(b[17:])
	p.TotSec16 = le.Uint16(b[19:])
	p.Media = b[21]
	p.FATSz16 = le.Uint16(b[22:])
	p.SecPerTrk = le.Uint16(b[24:])
	p.NumHeads = le.Uint16(b[26:])
	p.HiddSec = le.Uint32(b[28:])
	p.TotSec32 = le.Uint32(b[32:])
	ext := 36
	if p.RootEntCnt == 0 && p.FATSz16 == 0 {
		p.fat32 = true
		p.FATSz32 = le.Uint32(b[36:])
		p.ExtFlags = le.Uint16(b[40:])
		p.FSVer = le.Uint16(b[42:])
		p.RootClus = le.Uint32(b[44:])
		p.FSInfo = le.Uint16(b[48:])
		p.BkBootSec = le.Uint16(b[50:])
		ext = 64
	}
	p.DrvNum = b[ext]
	p.BootSig = b[ext+2]
	p.VolID = le.Uint32(b[ext+3:])
	copy(p.VolLab[:], b[ext+7:ext+18])
	copy(p.FSType[:], b[ext+18:ext+26])
	p.Signature = le.Uint16(b[bootSigOff:])
	return p
}

// volLabelOffset is where the BPB's copy of the volume label lives.
func (p *bpb) volLabelOffset() int {
	if p.fat32 {
		return 64 + 7
	}
	return 36 + 7
}

// totalSectors is TotSec16, or TotSec32 when TotSec16 is 0.
func (p *bpb) totalSectors() uint32 {
	if p.TotSec16 != 0 {
		return uint32(p.TotSec16)
	}
	return p.TotSec32
}

// fatSectors is FATSz16, or FATSz32 when FATSz16 is 0.
func (p *bpb) fatSectors() uint32 {
	if p.FATSz16 != 0 {
		return uint32(p.FATSz16)
	}
	if p.fat32 {
		return p.FATSz32
	}
	return 0
}

// FSInfo sector (FAT32).
const (
	fsiLeadSig   = 0x41615252 // "RRaA" at 0
	fsiStrucSig  = 0x61417272 // "rrAa" at 484
	fsiTrailSig  = 0xAA550000 // at 508
	fsiFreeOff   = 488
	fsiNextOff   = 492
	fsiUnknown   = 0xFFFFFFFF
	fsiStrucOff  = 484
	fsiTrailOff  = 508
	fsiLeadOff   = 0
	fsiValidSize = fsInfoSize
)

// fsInfo holds the hints of the FSInfo sector.
type fsInfo struct {
	FreeCount uint32 // free clusters, 0xFFFFFFFF if unknown
	NextFree  uint32 // where to start looking, 0xFFFFFFFF if unknown
}

// decodeFSInfo checks the three signatures and returns the hints.
func decodeFSInfo(b []byte) (fsInfo, bool) {
	if len(b) < fsInfoSize || le.Uint32(b[fsiLeadOff:]) != fsiLeadSig ||
		le.Uint32(b[fsiStrucOff:]) != fsiStrucSig || le.Uint32(b[fsiTrailOff:]) != fsiTrailSig {
		return fsInfo{}, false
	}
	return fsInfo{FreeCount: le.Uint32(b[fsiFreeOff:]), NextFree: le.Uint32(b[fsiNextOff:])}, true
}

// encode writes the hints into an existing FSInfo sector image.
func (f fsInfo) encode(b []byte) {
	le.PutUint32(b[fsiFreeOff:], f.FreeCount)
	le.PutUint32(b[fsiNextOff:], f.NextFree)
}

// Directory entry attributes.
const (
	attrReadOnly  = 0x01
	attrHidden    = 0x02
	attrSystem    = 0x04
	attrVolumeID  = 0x08
	attrDirectory = 0x10
	attrArchive   = 0x20
	attrLongName  = attrReadOnly | attrHidden | attrSystem | attrVolumeID // 0x0F
	attrLongMask  = 0x3F
)

// First byte of a directory entry's name.
const (
	slotEmpty   = 0x00 // this and every later entry are free
	slotDeleted = 0xE5 // a deleted entry
	slotE5      = 0x05 // stands for a real 0xE5 first character (KANJI lead byte)
)

// NT reserved byte (offset 12): the Windows NT lower-case flags of a short
// name (NetBSD's LCASE_BASE and LCASE_EXT).
const (
	ntLowerBase = 0x08
	ntLowerExt  = 0x10
)

// dirent is a 32-byte short directory entry.
type dirent struct {
	Name     [11]byte // 8 base + 3 extension, space padded
	Attr     uint8
	NTRes    uint8  // lower-case flags
	CrtTenth uint8  // creation time, 10 ms units 0..199
	CrtTime  uint16 // creation time, 2 s resolution
	CrtDate  uint16
	AccDate  uint16
	ClusHi   uint16 // high 16 bits of the first cluster (FAT32)
	WrtTime  uint16
	WrtDate  uint16
	ClusLo   uint16
	FileSize uint32
}

func decodeDirent(b []byte) dirent {
	var d dirent
	copy(d.Name[:], b[0:11])
	d.Attr = b[11]
	d.NTRes = b[12]
	d.CrtTenth = b[13]
	d.CrtTime = le.Uint16(b[14:])
	d.CrtDate = le.Uint16(b[16:])
	d.AccDate = le.Uint16(b[18:])
	d.ClusHi = le.Uint16(b[20:])
	d.WrtTime = le.Uint16(b[22:])
	d.WrtDate = le.Uint16(b[24:])
	d.ClusLo = le.Uint16(b[26:])
	d.FileSize = le.Uint32(b[28:])
	return d
}

func (d *dirent) encode(b []byte) {
	copy(b[0:11], d.Name[:])
	b[11] = d.Attr
	b[12] = d.NTRes
	b[13] = d.CrtTenth
	le.PutUint16(b[14:], d.CrtTime)
	le.PutUint16(b[16:], d.CrtDate)
	le.PutUint16(b[18:], d.AccDate)
	le.PutUint16(b[20:], d.ClusHi)
	le.PutUint16(b[22:], d.WrtTime)
	le.PutUint16(b[24:], d.WrtDate)
	le.PutUint16(b[26:], d.ClusLo)
	le.PutUint32(b[28:], d.FileSize)
}

// cluster is the entry's first cluster; hi is used only on FAT32 (FAT12/16
// volumes may keep OS/2 EA handles there).
func (d *dirent) cluster(fat32 bool) uint32 {
	c := uint32(d.ClusLo)
	if fat32 {
		c |= uint32(d.ClusHi) << 16
	}
	return c
}

func (d *dirent) setCluster(c uint32, fat32 bool) {
	d.ClusLo = uint16(c)
	if fat32 {
		d.ClusHi = uint16(c >> 16)
	} else {
		d.ClusHi = 0
	}
}

// Long-name (VFAT) entries: 13 UTF-16 units each, stored in reverse order
// before their short entry; the last (first on disk) has ordinal|0x40.
const (
	lfnCharsPerSlot = 13
	lfnLast         = 0x40
	lfnOrdMask      = 0x3F
	lfnMaxSlots     = 20 // 20*13 = 260 ≥ 255 units
	lfnMaxUnits     = 255
)

// lfnOffsets are the byte offsets of the 13 UTF-16 units in an LFN entry.
var lfnOffsets = [lfnCharsPerSlot]int{1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30}

// lfnEntry is a decoded long-name entry.
type lfnEntry struct {
	Ord      uint8
	Checksum uint8
	Units    [lfnCharsPerSlot]uint16
}

func isLFN(b []byte) bool { return b[11]&attrLongMask == attrLongName }

func decodeLFN(b []byte) lfnEntry {
	var l lfnEntry
	l.Ord = b[0]
	l.Checksum = b[13]
	for i, o := range lfnOffsets {
		l.Units[i] = le.Uint16(b[o:])
	}
	return l
}

func (l *lfnEntry) encode(b []byte) {
	for i := range b[:direntSize] {
		b[i] = 0
	}
	b[0] = l.Ord
	b[11] = attrLongName
	b[12] = 0
	b[13] = l.Checksum
	for i, o := range lfnOffsets {
		le.PutUint16(b[o:], l.Units[i])
	}
	// FstClusLO (26) stays 0.
}

// shortChecksum is the checksum of an 11-byte short name that every LFN
// entry of the set carries (FAT spec, ChkSum()).
func shortChecksum(name [11]byte) uint8 {
	var s uint8
	for _, c := range name {
		s = (s>>1 | s<<7) + c
	}
	return s
}

// DOS dates and times are local time: date = (year-1980)<<9 | month<<5 |
// day; time = hour<<11 | minute<<5 | seconds/2.

// dosToTime converts a DOS date/time (+10 ms units) in loc to a time.Time.
// A zero or invalid date gives the zero time.
func dosToTime(date, tim uint16, tenth uint8, loc *time.Location) time.Time {
	if date == 0 {
		return time.Time{}
	}
	year := int(date>>9) + 1980
	month := int(date>>5) & 0xF
	day := int(date) & 0x1F
	if month < 1 || month > 12 || day < 1 {
		return time.Time{}
	}
	hour := int(tim >> 11)
	min := int(tim>>5) & 0x3F
	sec := int(tim&0x1F) * 2
	if hour > 23 || min > 59 || sec > 59 {
		hour, min, sec = 0, 0, 0
	}
	ns := 0
	if tenth < 200 {
		sec += int(tenth) / 100
		ns = int(tenth%100) * 10 * int(time.Millisecond)
	}
	return time.Date(year, time.Month(month), day, hour, min, sec, ns, loc)
}

// timeToDOS converts t to a DOS date, time and 10 ms count in loc, clamped
// to the representable range 1980-01-01 .. 2107-12-31.
func timeToDOS(t time.Time, loc *time.Location) (date, tim uint16, tenth uint8) {
	t = t.In(loc)
	y := t.Year()
	if y < 1980 {
		return 1<<5 | 1, 0, 0
	}
	if y > 2107 {
		return 127<<9 | 12<<5 | 31, 23<<11 | 59<<5 | 29, 199
	}
	date = uint16(y-1980)<<9 | uint16(t.Month())<<5 | uint16(t.Day())
	tim = uint16(t.Hour())<<11 | uint16(t.Minute())<<5 | uint16(t.Second()/2)
	tenth = uint8((t.Second()%2)*100 + t.Nanosecond()/int(10*time.Millisecond))
	return
}
