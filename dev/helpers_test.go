package dev

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"unicode/utf16"
)

// needTool returns the path of an oracle tool. A missing tool skips the
// test, except under CI=true where the environment must provide it.
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true: %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return p
}

func run(t testing.TB, stdin string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(needTool(t, name), args...)
	if stdin != "" {
		cmd.Stdin = bytes.NewBufferString(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// writeImage writes b to a fresh file and returns its path.
func writeImage(t testing.TB, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func encode(t testing.TB, order binary.ByteOrder, v any) []byte {
	t.Helper()
	b, err := binary.Append(nil, order, v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// --- MBR ---

type testMBREntry struct {
	typ           uint8
	start, length uint32 // sectors
}

// putMBR writes an MBR (or EBR) with up to four entries at sector lba.
func putMBR(img []byte, lba int64, entries ...testMBREntry) {
	var s mbrSector
	for i, e := range entries {
		s.Entries[i] = mbrEntry{Type: e.typ, StartLBA: e.start, Sectors: e.length}
	}
	s.Signature = mbrSignature
	b, err := binary.Append(nil, binary.LittleEndian, &s)
	if err != nil {
		panic(err)
	}
	copy(img[lba*512:], b)
}

// buildMBRImage makes a 1 MiB image: primaries 1 (sectors 64-127) and 2
// (an extended partition at 128-2047) holding logicals 5 (EBR at 128, data
// 192-255), 6 (EBR at 256, data 320-383) and 7 (EBR at 512, data 600-700).
func buildMBRImage() []byte {
	img := make([]byte, 1<<20)
	putMBR(img, 0, testMBREntry{0x83, 64, 64}, testMBREntry{0x05, 128, 1920})
	putMBR(img, 128, testMBREntry{0x83, 64, 64}, testMBREntry{0x05, 128, 128})
	putMBR(img, 256, testMBREntry{0x0c, 64, 64}, testMBREntry{0x05, 384, 300})
	putMBR(img, 512, testMBREntry{0x83, 88, 101})
	return img
}

// --- GPT ---

type testGPTPart struct {
	typ         [16]byte
	first, last uint64
	name        string
}

var linuxFSGUID = [16]byte{0xAF, 0x3D, 0xC6, 0x0F, 0x83, 0x84, 0x72, 0x47, 0x8E, 0x79, 0x3D, 0x69, 0xD8, 0x47, 0x7D, 0xE4}

// buildGPT lays out a GPT on an image of size bytes with sector size ss and
// nent entries: protective MBR, primary header at LBA 1 with entries from
// LBA 2, backup entries before the backup header at the last LBA.
func buildGPT(size, ss int64, nent uint32, parts []testGPTPart) []byte {
	img := make([]byte, size)
	lbas := size / ss
	putMBR(img, 0, testMBREntry{0xee, 1, uint32(min(lbas-1, 0xffffffff))})
	arr := make([]byte, int64(nent)*128)
	for i, p := range parts {
		e := gptEntry{Type: p.typ, FirstLBA: p.first, LastLBA: p.last}
		e.Unique[0] = byte(i + 1)
		copy(e.Name[:], utf16.Encode([]rune(p.name)))
		b, _ := binary.Append(nil, binary.LittleEndian, &e)
		copy(arr[i*128:], b)
	}
	arrSectors := (int64(len(arr)) + ss - 1) / ss
	hdr := func(my, alt, entries uint64) []byte {
		h := gptHeader{
			Revision: 0x00010000, HeaderSize: 92, MyLBA: my, AlternateLBA: alt,
			FirstUsableLBA: uint64(2 + arrSectors), LastUsableLBA: uint64(lbas - 2 - arrSectors),
			EntriesLBA: entries, NumEntries: nent, EntrySize: 128, EntriesCRC: crc32.ChecksumIEEE(arr),
		}
		copy(h.Signature[:], gptSignature)
		h.DiskGUID[0] = 0x42
		b, _ := binary.Append(nil, binary.LittleEndian, &h)
		binary.LittleEndian.PutUint32(b[16:], crc32.ChecksumIEEE(b))
		return b
	}
	copy(img[ss:], hdr(1, uint64(lbas-1), 2))
	copy(img[2*ss:], arr)
	copy(img[(lbas-1-arrSectors)*ss:], arr)
	copy(img[(lbas-1)*ss:], hdr(uint64(lbas-1), 1, uint64(lbas-1-arrSectors)))
	return img
}

// --- disklabel ---

// buildDisklabel encodes a NetBSD disklabel in the given byte order, with
// d_secsize secsize and a correct d_checksum (see disklabel.go for the
// layout: 148-byte header, then 16-byte partition slots).
func buildDisklabel(order binary.ByteOrder, secsize uint32, parts []disklabelPartition) []byte {
	h := disklabelHeader{
		Magic: diskMagic, Magic2: diskMagic, Secsize: secsize, Npartitions: uint16(len(parts)),
		Nsectors: 32, Ntracks: 64, Secpercyl: 2048, Bbsize: 8192, Sbsize: 8192,
	}
	copy(h.Typename[:], "rumpfs test")
	b, err := binary.Append(nil, order, &h)
	if err != nil {
		panic(err)
	}
	for i := range parts {
		if b, err = binary.Append(b, order, &parts[i]); err != nil {
			panic(err)
		}
	}
	var sum uint16
	for i := 0; i < len(b); i += 2 {
		sum ^= order.Uint16(b[i:])
	}
	order.PutUint16(b[dlChecksumOffset:], sum)
	return b
}

// testLabelParts: a (4.2BSD at sector 64, 64 sectors), b unused slot,
// c raw (whole 1 MiB), e (MSDOS at 256, 128 sectors).
var testLabelParts = []disklabelPartition{
	{Size: 64, Offset: 64, Fstype: 7},
	{},
	{Size: 2048, Offset: 0},
	{},
	{Size: 128, Offset: 256, Fstype: 8},
}

func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }
