package dev

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"unicode/utf16"
)

// GUID Partition Table layout (UEFI specification 2.10, section 5.3).
//
// The primary header is at LBA 1, the backup header at the last LBA of the
// disk; both point to an array of partition entries. Integers are
// little-endian. The header CRC32 covers HeaderSize bytes with the CRC field
// zeroed; the entry-array CRC32 covers NumEntries*EntrySize bytes. Partition
// numbers are 1-based indexes into the entry array (as sgdisk and Linux
// number them); an entry with a zero type GUID is unused.

const (
	gptSignature     = "EFI PART"
	gptHeaderMinSize = 92
	gptEntryMinSize  = 128
	// gptMaxEntryBytes bounds the entry array read from a hostile header.
	// The specification's minimum is 16 KiB; real tables use 16 KiB.
	gptMaxEntryBytes = 4 << 20
)

// gptHeader is the first 92 bytes of a GPT header sector.
type gptHeader struct {
	Signature      [8]byte
	Revision       uint32
	HeaderSize     uint32
	HeaderCRC      uint32
	Reserved       uint32
	MyLBA          uint64
	AlternateLBA   uint64
	FirstUsableLBA uint64
	LastUsableLBA  uint64
	DiskGUID       [16]byte
	EntriesLBA     uint64
	NumEntries     uint32
	EntrySize      uint32
	EntriesCRC     uint32
}

// gptEntry is the first 128 bytes of a partition entry.
type gptEntry struct {
	Type       [16]byte
	Unique     [16]byte
	FirstLBA   uint64
	LastLBA    uint64 // inclusive
	Attributes uint64
	Name       [36]uint16 // UTF-16LE, NUL padded
}

// guidString formats a GUID in the mixed-endian text form of RFC 4122 as
// used by UEFI (first three fields little-endian).
func guidString(g [16]byte) string {
	return fmt.Sprintf("%08X-%04X-%04X-%X-%X",
		binary.LittleEndian.Uint32(g[0:4]), binary.LittleEndian.Uint16(g[4:6]),
		binary.LittleEndian.Uint16(g[6:8]), g[8:10], g[10:16])
}

var gptTypeNames = map[string]string{
	"C12A7328-F81F-11D2-BA4B-00A0C93EC93B": "EFI System",
	"21686148-6449-6E6F-744E-656564454649": "BIOS boot",
	"0FC63DAF-8483-4772-8E79-3D69D8477DE4": "Linux filesystem",
	"0657FD6D-A4AB-43C4-84E5-0933C84B4F4F": "Linux swap",
	"E6D6D379-F507-44C2-A23C-238F2A3DF928": "Linux LVM",
	"A19D880F-05FC-4D3B-A006-743F0F84911E": "Linux RAID",
	"EBD0A0A2-B9E5-4433-87C0-68B6B72699C7": "Microsoft basic data",
	"49F48D32-B10E-11DC-B99B-0019D1879648": "NetBSD swap",
	"49F48D5A-B10E-11DC-B99B-0019D1879648": "NetBSD FFS",
	"49F48D82-B10E-11DC-B99B-0019D1879648": "NetBSD LFS",
	"49F48DAA-B10E-11DC-B99B-0019D1879648": "NetBSD RAID",
	"2DB519C4-B10F-11DC-B99B-0019D1879648": "NetBSD concatenated",
	"2DB519EC-B10F-11DC-B99B-0019D1879648": "NetBSD encrypted",
	"516E7CB6-6ECF-11D6-8FF8-00022D09712B": "FreeBSD UFS",
	"516E7CB5-6ECF-11D6-8FF8-00022D09712B": "FreeBSD swap",
	"48465300-0000-11AA-AA11-00306543ECAC": "Apple HFS+",
}

func gptTypeString(g [16]byte) string {
	s := guidString(g)
	if n, ok := gptTypeNames[s]; ok {
		return n + " (" + s + ")"
	}
	return s
}

func gptName(n [36]uint16) string {
	end := 0
	for end < len(n) && n[end] != 0 {
		end++
	}
	return strings.ToValidUTF8(string(utf16.Decode(n[:end])), "?")
}

// gptSectorSizes lists the logical sector sizes to try: the device's own
// first, then 512 and 4096 (a 4Kn disk image copied to a file).
func gptSectorSizes(d Device) []int64 {
	sizes := []int64{int64(d.SectorSize())}
	for _, s := range []int64{512, 4096} {
		if s != sizes[0] {
			sizes = append(sizes, s)
		}
	}
	if sizes[0] < 512 || sizes[0] > 65536 || sizes[0]&(sizes[0]-1) != 0 {
		sizes = sizes[1:]
	}
	return sizes
}

// readGPT lists the GPT partitions of d. It returns errNoTable if no sector
// size shows a GPT signature at LBA 1 or at the last LBA, and a descriptive
// error if a signature was found but neither header with its entry array
// passed the checks.
func readGPT(d Device) ([]Partition, error) {
	var firstErr error
	for _, ss := range gptSectorSizes(d) {
		last := d.Size()/ss - 1
		if last < 2 {
			continue
		}
		parts, err := readGPTAt(d, ss, 1)
		if err == nil {
			return parts, nil
		}
		perr := err
		bparts, berr := readGPTAt(d, ss, last)
		if berr == nil {
			return bparts, nil
		}
		if !isTableErr(perr) {
			return nil, perr
		}
		if !isTableErr(berr) {
			return nil, berr
		}
		if errors.Is(perr, errNoTable) && errors.Is(berr, errNoTable) {
			continue
		}
		if firstErr == nil {
			firstErr = fmt.Errorf("invalid GPT (primary header: %v; backup header: %v)", errText(perr), errText(berr))
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return nil, errNoTable
}

func errText(err error) string {
	if errors.Is(err, errNoTable) {
		return "no signature"
	}
	return err.Error()
}

// readGPTAt reads and checks the GPT header at lba and its entry array.
func readGPTAt(d Device, ss, lba int64) ([]Partition, error) {
	sector := make([]byte, ss)
	if err := readFull(d, sector, lba*ss); err != nil {
		return nil, err
	}
	if !bytes.Equal(sector[:8], []byte(gptSignature)) {
		return nil, errNoTable
	}
	var h gptHeader
	if _, err := binary.Decode(sector, binary.LittleEndian, &h); err != nil {
		return nil, errNoTable
	}
	if h.HeaderSize < gptHeaderMinSize || int64(h.HeaderSize) > ss {
		return nil, fmt.Errorf("bad header size %d", h.HeaderSize)
	}
	hdr := bytes.Clone(sector[:h.HeaderSize])
	binary.LittleEndian.PutUint32(hdr[16:20], 0)
	if crc32.ChecksumIEEE(hdr) != h.HeaderCRC {
		return nil, errors.New("header CRC mismatch")
	}
	if h.MyLBA != uint64(lba) {
		return nil, fmt.Errorf("header at LBA %d says it is at LBA %d", lba, h.MyLBA)
	}
	if h.EntrySize < gptEntryMinSize || h.EntrySize%8 != 0 {
		return nil, fmt.Errorf("bad partition entry size %d", h.EntrySize)
	}
	total := uint64(h.NumEntries) * uint64(h.EntrySize)
	if total > gptMaxEntryBytes {
		return nil, fmt.Errorf("partition entry array of %d bytes is too large", total)
	}
	lbas := uint64(d.Size() / ss)
	if h.EntriesLBA < 1 || h.EntriesLBA >= lbas || total > (lbas-h.EntriesLBA)*uint64(ss) {
		return nil, errors.New("partition entry array lies outside the image")
	}
	arr := make([]byte, total)
	if err := readFull(d, arr, int64(h.EntriesLBA)*ss); err != nil {
		return nil, err
	}
	if crc32.ChecksumIEEE(arr) != h.EntriesCRC {
		return nil, errors.New("partition entry array CRC mismatch")
	}
	var parts []Partition
	var zero [16]byte
	for i := uint32(0); i < h.NumEntries; i++ {
		var e gptEntry
		if _, err := binary.Decode(arr[uint64(i)*uint64(h.EntrySize):], binary.LittleEndian, &e); err != nil {
			return nil, err
		}
		if e.Type == zero {
			continue
		}
		p := Partition{Scheme: SchemeGPT, Index: int(i) + 1, Type: gptTypeString(e.Type), Label: gptName(e.Name)}
		// A reversed or overflowing range is kept with Size -1 so that
		// selecting it gives a clear error instead of a wrong window.
		if e.LastLBA < e.FirstLBA || e.LastLBA >= uint64(1)<<62/uint64(ss) {
			p.Start, p.Size = -1, -1
		} else {
			p.Start = int64(e.FirstLBA) * ss
			p.Size = int64(e.LastLBA-e.FirstLBA+1) * ss
		}
		parts = append(parts, p)
	}
	return parts, nil
}
