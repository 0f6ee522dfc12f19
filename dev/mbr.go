package dev

import (
	"encoding/binary"
	"fmt"
)

// MBR (DOS partition table) layout, as read by NetBSD's
// sys/kern/subr_disk_mbr.c and Linux's block/partitions/msdos.c.
//
// Sector 0 holds 446 bytes of boot code, four 16-byte entries and the
// signature 0x55 0xAA. Entry numbers 1-4 are the primary slots. An extended
// partition (type 0x05, 0x0f or 0x85) holds a chain of extended boot records
// (EBRs), each laid out like an MBR: a data entry whose start is relative to
// that EBR, and a link entry whose start is relative to the start of the
// extended partition. Logical partitions are numbered from 5 in chain order,
// as Linux and sfdisk number them.

const (
	mbrSectorSize   = 512
	mbrSignature    = 0xAA55 // bytes 0x55 0xAA, read little-endian
	mbrMaxLogical   = 256    // Linux's DISK_MAX_PARTS bounds the chain walk
	mbrTypeNetBSD   = 0xa9
	mbrTypeProtGPT  = 0xee
	mbrFirstLogical = 5
)

// mbrEntry is one 16-byte partition table slot.
type mbrEntry struct {
	Status   uint8 // 0x80 bootable, 0x00 not; anything else: not an MBR
	FirstCHS [3]byte
	Type     uint8
	LastCHS  [3]byte
	StartLBA uint32 // in 512-byte sectors
	Sectors  uint32
}

// mbrSector is sector 0 of the disk, or an EBR.
type mbrSector struct {
	Boot      [446]byte
	Entries   [4]mbrEntry
	Signature uint16
}

func isExtended(typ uint8) bool { return typ == 0x05 || typ == 0x0f || typ == 0x85 }

func decodeMBR(b []byte) (*mbrSector, bool) {
	var s mbrSector
	if _, err := binary.Decode(b, binary.LittleEndian, &s); err != nil {
		return nil, false
	}
	if s.Signature != mbrSignature {
		return nil, false
	}
	// As Linux does, a status byte other than 0x00/0x80 means this is not a
	// partition table (a FAT boot sector also ends in 0x55AA).
	for _, e := range s.Entries {
		if e.Status != 0 && e.Status != 0x80 {
			return nil, false
		}
	}
	return &s, true
}

var mbrTypeNames = map[uint8]string{
	0x01: "FAT12", 0x04: "FAT16 <32M", 0x05: "Extended", 0x06: "FAT16",
	0x07: "NTFS/exFAT", 0x0b: "FAT32", 0x0c: "FAT32 LBA", 0x0e: "FAT16 LBA",
	0x0f: "Extended LBA", 0x82: "Linux swap", 0x83: "Linux", 0x85: "Linux extended",
	0x8e: "Linux LVM", 0xa5: "FreeBSD", 0xa6: "OpenBSD", 0xa9: "NetBSD",
	0xee: "GPT protective", 0xef: "EFI System", 0xfd: "Linux RAID",
}

func mbrTypeString(t uint8) string {
	if n, ok := mbrTypeNames[t]; ok {
		return fmt.Sprintf("0x%02x %s", t, n)
	}
	return fmt.Sprintf("0x%02x", t)
}

// readMBR lists the MBR partitions of d: primaries 1-4 then logicals from 5.
// It returns errNoTable if sector 0 is not an MBR. A broken extended chain
// ends the list of logical partitions where it breaks.
func readMBR(d Device) ([]Partition, error) {
	buf := make([]byte, mbrSectorSize)
	if err := readFull(d, buf, 0); err != nil {
		return nil, err
	}
	m, ok := decodeMBR(buf)
	if !ok {
		return nil, errNoTable
	}
	var parts []Partition
	var exts []mbrEntry
	for i, e := range m.Entries {
		if e.Type == 0 || e.Sectors == 0 {
			continue
		}
		parts = append(parts, Partition{
			Scheme: SchemeMBR, Index: i + 1,
			Start: int64(e.StartLBA) * mbrSectorSize, Size: int64(e.Sectors) * mbrSectorSize,
			Type: mbrTypeString(e.Type), mbrType: e.Type,
		})
		if isExtended(e.Type) {
			exts = append(exts, e)
		}
	}
	next := mbrFirstLogical
	for _, ext := range exts {
		logical, err := readEBRChain(d, int64(ext.StartLBA), int64(ext.Sectors), &next)
		parts = append(parts, logical...)
		if err != nil {
			return parts, err
		}
	}
	return parts, nil
}

// readEBRChain walks the EBR chain of the extended partition at extStart
// (sectors). Each EBR must lie inside the extended partition and the image,
// carry the signature and not have been visited before; the walk stops at
// the first that does not, or after mbrMaxLogical partitions.
func readEBRChain(d Device, extStart, extSectors int64, next *int) ([]Partition, error) {
	var parts []Partition
	buf := make([]byte, mbrSectorSize)
	seen := map[int64]bool{}
	devSectors := d.Size() / mbrSectorSize
	ebr := extStart
	for steps := 0; steps < mbrMaxLogical && *next < mbrFirstLogical+mbrMaxLogical; steps++ {
		if ebr < extStart || ebr >= extStart+extSectors || ebr >= devSectors || seen[ebr] {
			break
		}
		seen[ebr] = true
		if err := readFull(d, buf, ebr*mbrSectorSize); err != nil {
			return parts, err
		}
		m, ok := decodeMBR(buf)
		if !ok {
			break
		}
		var link *mbrEntry
		for i := range m.Entries {
			e := &m.Entries[i]
			if e.Sectors == 0 || e.Type == 0 {
				continue
			}
			if isExtended(e.Type) {
				if link == nil {
					link = e
				}
				continue
			}
			parts = append(parts, Partition{
				Scheme: SchemeMBR, Index: *next,
				Start: (ebr + int64(e.StartLBA)) * mbrSectorSize, Size: int64(e.Sectors) * mbrSectorSize,
				Type: mbrTypeString(e.Type), mbrType: e.Type,
			})
			*next++
		}
		if link == nil {
			break
		}
		ebr = extStart + int64(link.StartLBA)
	}
	return parts, nil
}
