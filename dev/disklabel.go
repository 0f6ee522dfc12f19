package dev

import (
	"encoding/binary"
	"fmt"
)

// BSD disklabel layout, per NetBSD's sys/sys/disklabel.h (struct disklabel
// and struct partition; same layout in lib/libukfs/ukfs_int_disklabel.h):
//
//	off  size  field
//	  0     4  d_magic        0x82564557 (DISKMAGIC)
//	  4     2  d_type
//	  6     2  d_subtype
//	  8    16  d_typename
//	 24    16  d_packname
//	 40     4  d_secsize      bytes per sector
//	 44    20  d_nsectors, d_ntracks, d_ncylinders, d_secpercyl, d_secperunit
//	 64     4  d_sparespertrack, d_sparespercyl (2 each)
//	 68     4  d_acylinders
//	 72     8  d_rpm, d_interleave, d_trackskew, d_cylskew (2 each)
//	 80    12  d_headswitch, d_trkseek, d_flags
//	 92    20  d_drivedata[5]
//	112    20  d_spare[5]
//	132     4  d_magic2       DISKMAGIC again
//	136     2  d_checksum     xor of the 16-bit words of the label
//	138     2  d_npartitions
//	140     4  d_bbsize
//	144     4  d_sbsize
//	148  16*n  d_partitions[n]: p_size, p_offset, p_fsize (4 each),
//	           p_fstype, p_frag (1 each), p_cpg (2)
//
// The label is written in the byte order of the machine that wrote it; both
// orders are accepted (the magic tells which). The checksum is the xor of
// every 16-bit word from d_magic up to the end of d_partitions[npartitions],
// d_checksum included, which must come to 0 (NetBSD's dkcksum); xor commutes
// with byte swapping, so the test is the same in either order.
//
// Where the label lives varies by port: LABELSECTOR 0 or 1, LABELOFFSET 0,
// 64 or 128. NetBSD's libukfs (disklabel_scan) scans the start of the disk
// at 4-byte steps, which covers all of them; we do the same over the first
// 64 KiB, after first looking at the start of each NetBSD (0xa9) MBR
// partition, where an i386/amd64 NetBSD keeps its label in sector 1.
// Partition offsets are absolute sectors of d_secsize bytes, also for a
// label inside an MBR partition.

const (
	diskMagic         = 0x82564557
	dlMaxPartitions   = 22 // MAXMAXPARTITIONS
	dlScanBytes       = 64 << 10
	dlScanStep        = 4
	dlHeaderSize      = 148
	dlPartitionSize   = 16
	dlMagic2Offset    = 132
	dlChecksumOffset  = 136
	dlNpartOffset     = 138
	dlPartitionsStart = dlHeaderSize
)

// disklabelHeader is struct disklabel up to d_partitions.
type disklabelHeader struct {
	Magic          uint32
	Type           uint16
	Subtype        uint16
	Typename       [16]byte
	Packname       [16]byte
	Secsize        uint32
	Nsectors       uint32
	Ntracks        uint32
	Ncylinders     uint32
	Secpercyl      uint32
	Secperunit     uint32
	Sparespertrack uint16
	Sparespercyl   uint16
	Acylinders     uint32
	Rpm            uint16
	Interleave     uint16
	Trackskew      uint16
	Cylskew        uint16
	Headswitch     uint32
	Trkseek        uint32
	Flags          uint32
	Drivedata      [5]uint32
	Spare          [5]uint32
	Magic2         uint32
	Checksum       uint16
	Npartitions    uint16
	Bbsize         uint32
	Sbsize         uint32
}

// disklabelPartition is struct partition.
type disklabelPartition struct {
	Size   uint32 // sectors
	Offset uint32 // absolute sector
	Fsize  uint32
	Fstype uint8
	Frag   uint8
	Cpg    uint16
}

// disklabel is a decoded, validated label.
type disklabel struct {
	Header     disklabelHeader
	Partitions []disklabelPartition
	Order      binary.ByteOrder
	Offset     int64 // byte offset of the label in the image
}

var dlFstypeNames = []string{
	"unused", "swap", "Version 6", "Version 7", "System V", "4.1BSD",
	"Eighth Edition", "4.2BSD", "MSDOS", "4.4LFS", "unknown", "HPFS",
	"ISO9660", "boot", "ADOS", "HFS", "FILECORE", "Linux Ext2", "NTFS",
	"RAID", "ccd", "jfs", "Apple UFS", "vinum", "UDF", "SysVBFS", "EFS",
	"NiLFS", "cgd", "MINIX FSv3",
}

func dlFstypeString(t uint8) string {
	if int(t) < len(dlFstypeNames) {
		return dlFstypeNames[t]
	}
	return fmt.Sprintf("fstype %d", t)
}

// decodeDisklabel checks for a valid label at the start of b.
func decodeDisklabel(b []byte) (*disklabel, bool) {
	if len(b) < dlHeaderSize {
		return nil, false
	}
	var order binary.ByteOrder
	switch {
	case binary.LittleEndian.Uint32(b) == diskMagic:
		order = binary.LittleEndian
	case binary.BigEndian.Uint32(b) == diskMagic:
		order = binary.BigEndian
	default:
		return nil, false
	}
	if order.Uint32(b[dlMagic2Offset:]) != diskMagic {
		return nil, false
	}
	n := int(order.Uint16(b[dlNpartOffset:]))
	if n > dlMaxPartitions {
		return nil, false
	}
	end := dlPartitionsStart + n*dlPartitionSize
	if end > len(b) {
		return nil, false
	}
	var sum uint16
	for i := 0; i < end; i += 2 {
		sum ^= order.Uint16(b[i:])
	}
	if sum != 0 {
		return nil, false
	}
	l := &disklabel{Order: order}
	if _, err := binary.Decode(b, order, &l.Header); err != nil {
		return nil, false
	}
	l.Partitions = make([]disklabelPartition, n)
	for i := range l.Partitions {
		if _, err := binary.Decode(b[dlPartitionsStart+i*dlPartitionSize:], order, &l.Partitions[i]); err != nil {
			return nil, false
		}
	}
	return l, true
}

// scanDisklabel looks for a label at every 4-byte step of b whose label
// would start before limit.
func scanDisklabel(b []byte, limit int) (*disklabel, int, bool) {
	for off := 0; off+dlHeaderSize <= len(b) && off < limit; off += dlScanStep {
		if l, ok := decodeDisklabel(b[off:]); ok {
			return l, off, true
		}
	}
	return nil, 0, false
}

// findDisklabel locates a disklabel in d; errNoTable if there is none.
func findDisklabel(d Device) (*disklabel, error) {
	maxLabel := dlHeaderSize + dlMaxPartitions*dlPartitionSize
	// Inside NetBSD MBR partitions first, as the NetBSD kernel reads them
	// (subr_disk_mbr.c): the label is in the partition's first two sectors.
	if mparts, err := readMBR(d); err == nil {
		for _, p := range mparts {
			if p.mbrType != mbrTypeNetBSD || p.Start <= 0 || p.Start >= d.Size() {
				continue
			}
			buf := make([]byte, 2*mbrSectorSize+maxLabel)
			n, err := d.ReadAt(buf, p.Start)
			if n == 0 && err != nil {
				continue
			}
			if l, off, ok := scanDisklabel(buf[:n], 2*mbrSectorSize); ok {
				l.Offset = p.Start + int64(off)
				return l, nil
			}
		}
	}
	buf := make([]byte, dlScanBytes+maxLabel)
	n, err := d.ReadAt(buf, 0)
	if n == 0 && err != nil {
		if isEOF(err) {
			return nil, errNoTable
		}
		return nil, err
	}
	if l, off, ok := scanDisklabel(buf[:n], dlScanBytes); ok {
		l.Offset = int64(off)
		return l, nil
	}
	return nil, errNoTable
}

// secsize is the label's sector size, or 512 when the field is not a
// power of two between 256 and 64 KiB.
func (l *disklabel) secsize() int64 {
	s := int64(l.Header.Secsize)
	if s < 256 || s > 65536 || s&(s-1) != 0 {
		return 512
	}
	return s
}

// readDisklabel lists the partitions of d's disklabel. A slot exists when
// its p_size is not zero; the raw-disk slots (c, d) are listed like others.
func readDisklabel(d Device) ([]Partition, error) {
	l, err := findDisklabel(d)
	if err != nil {
		return nil, err
	}
	ss := l.secsize()
	var parts []Partition
	for i, p := range l.Partitions {
		if p.Size == 0 {
			continue
		}
		parts = append(parts, Partition{
			Scheme: SchemeDisklabel, Index: i,
			Start: int64(p.Offset) * ss, Size: int64(p.Size) * ss,
			Type: dlFstypeString(p.Fstype),
		})
	}
	return parts, nil
}
