package dev

import (
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
)

func mustSelect(t *testing.T, d Device, suffix string) Device {
	t.Helper()
	w, err := Select(d, suffix)
	if err != nil {
		t.Fatalf("Select(%s): %v", suffix, err)
	}
	return w
}

func wantErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %v, want one containing %q", err, want)
	}
}

func TestMBRHandBuilt(t *testing.T) {
	img := buildMBRImage()
	d := NewMem(img, false)
	parts, err := Partitions(d)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		idx         int
		start, size int64
		typ         string
	}{
		{1, 64 * 512, 64 * 512, "0x83 Linux"},
		{2, 128 * 512, 1920 * 512, "0x05 Extended"},
		{5, 192 * 512, 64 * 512, "0x83 Linux"},
		{6, 320 * 512, 64 * 512, "0x0c FAT32 LBA"},
		{7, 600 * 512, 101 * 512, "0x83 Linux"},
	}
	if len(parts) != len(want) {
		t.Fatalf("Partitions = %v, want %d entries", parts, len(want))
	}
	for i, w := range want {
		p := parts[i]
		if p.Scheme != SchemeMBR || p.Index != w.idx || p.Start != w.start || p.Size != w.size || p.Type != w.typ {
			t.Errorf("partition %d = %+v, want %+v", i, p, w)
		}
	}
	if s := parts[2].Suffix(); s != "%MBR:5%" {
		t.Errorf("Suffix = %q", s)
	}
	// Each window reads its own bytes at offset 0.
	for _, w := range want {
		copy(img[w.start:], []byte{byte(w.idx), 0xAB})
	}
	for _, w := range want {
		if w.idx == 2 {
			continue // the extended partition starts with its EBR
		}
		suffix := Partition{Scheme: SchemeMBR, Index: w.idx}.Suffix()
		win := mustSelect(t, d, suffix)
		if win.Size() != w.size || win.Name() != "mem"+suffix {
			t.Errorf("%s: size %d name %q", suffix, win.Size(), win.Name())
		}
		b := make([]byte, 2)
		if _, err := win.ReadAt(b, 0); err != nil || b[0] != byte(w.idx) || b[1] != 0xAB {
			t.Errorf("%s: read %x, %v", suffix, b, err)
		}
	}
	_, err = Select(d, "%MBR:8%")
	wantErr(t, err, "mem: MBR partition 8 does not exist (partitions: 1 2 5 6 7)")
	_, err = Select(d, "%MBR:0%")
	wantErr(t, err, "bad MBR partition number")
	_, err = Select(d, "%GPT:1%")
	wantErr(t, err, "mem: no GPT found")
	_, err = Select(d, "%DISKLABEL:a%")
	wantErr(t, err, "mem: no disklabel found")
}

func TestMBRLoopingChain(t *testing.T) {
	img := make([]byte, 1<<20)
	putMBR(img, 0, testMBREntry{0x0f, 128, 1000})
	putMBR(img, 128, testMBREntry{0x83, 10, 10}, testMBREntry{0x05, 100, 100})
	putMBR(img, 228, testMBREntry{0x83, 10, 10}, testMBREntry{0x05, 0, 100}) // back to 128
	parts, err := Partitions(NewMem(img, true))
	if err != nil {
		t.Fatal(err)
	}
	var idx []int
	for _, p := range parts {
		idx = append(idx, p.Index)
	}
	if len(idx) != 3 || idx[0] != 1 || idx[1] != 5 || idx[2] != 6 {
		t.Fatalf("indexes %v, want [1 5 6]", idx)
	}
	// A link that points at itself, and one outside the extended partition.
	putMBR(img, 128, testMBREntry{0x83, 10, 10}, testMBREntry{0x05, 0, 100})
	if parts, _ := Partitions(NewMem(img, true)); len(parts) != 2 {
		t.Fatalf("self loop: %v", parts)
	}
	putMBR(img, 128, testMBREntry{0x83, 10, 10}, testMBREntry{0x05, 5000, 100})
	if parts, _ := Partitions(NewMem(img, true)); len(parts) != 2 {
		t.Fatalf("outside link: %v", parts)
	}
}

func TestMBRNotATable(t *testing.T) {
	img := make([]byte, 4096)
	putMBR(img, 0, testMBREntry{0x83, 1, 2})
	img[446] = 0x12 // status byte of entry 1: not 0x00/0x80, as in a FAT boot sector
	parts, err := Partitions(NewMem(img, true))
	if err != nil || len(parts) != 0 {
		t.Fatalf("Partitions = %v, %v; want none", parts, err)
	}
	_, err = Select(NewMem(img, true), "%MBR:1%")
	wantErr(t, err, "no MBR found")
}

func TestPartitionPastEnd(t *testing.T) {
	img := make([]byte, 64*1024)
	putMBR(img, 0, testMBREntry{0x83, 64, 1000}) // ends at 1064 sectors > 128
	_, err := Select(NewMem(img, true), "%MBR:1%")
	wantErr(t, err, "mem: partition %MBR:1% (start 32768, size 512000) extends past the end of the image (65536 bytes)")
}

func TestOffsetSuffix(t *testing.T) {
	img := make([]byte, 8192)
	for i := range img {
		img[i] = byte(i / 512)
	}
	d := NewMem(img, false)
	for _, c := range []struct {
		suffix      string
		start, size int64
	}{
		{"%OFFSET:1024,2048%", 1024, 2048},
		{"%OFFSET:1024,0%", 1024, 7168},
		{"%OFFSET:1024%", 1024, 7168},
		{"%offset:512,%", 512, 7680},
	} {
		w := mustSelect(t, d, c.suffix)
		if w.Size() != c.size {
			t.Errorf("%s: size %d", c.suffix, w.Size())
		}
		b := make([]byte, 1)
		w.ReadAt(b, 0)
		if b[0] != byte(c.start/512) {
			t.Errorf("%s: first byte %d", c.suffix, b[0])
		}
	}
	for _, c := range []struct{ suffix, want string }{
		{"%OFFSET:4096,8192%", "extends past the end of the image"},
		{"%OFFSET:9000,0%", "start 9000 is past the end"},
		{"%OFFSET:8192%", "is empty"},
		{"%OFFSET:-1,5%", "bad start offset"},
		{"%OFFSET:x%", "bad start offset"},
		{"%OFFSET:0,9223372036854775807%", "extends past"},
		{"%OFFSET:1,9223372036854775807%", "overflows"},
		{"%FOO:1%", `unknown partition scheme "FOO"`},
		{"%DISKLABEL:A%", "bad disklabel partition"},
		{"%DISKLABEL:ab%", "bad disklabel partition"},
		{"MBR:1", "bad partition suffix"},
	} {
		_, err := Select(d, c.suffix)
		wantErr(t, err, c.want)
	}
}

func TestSplitSpec(t *testing.T) {
	for _, c := range []struct{ spec, path, suffix string }{
		{"disk.img", "disk.img", ""},
		{"disk.img%MBR:2%", "disk.img", "%MBR:2%"},
		{"/a/b%c/disk.img%DISKLABEL:e%", "/a/b%c/disk.img", "%DISKLABEL:e%"},
		{"disk.img%OFFSET:1024,2048%", "disk.img", "%OFFSET:1024,2048%"},
		{"100%", "100%", ""},
		{"%MBR:1%", "%MBR:1%", ""},
		{"x%bogus:1%", "x", "%bogus:1%"},
	} {
		p, s := SplitSpec(c.spec)
		if p != c.path || s != c.suffix {
			t.Errorf("SplitSpec(%q) = %q, %q; want %q, %q", c.spec, p, s, c.path, c.suffix)
		}
	}
}

func TestWindowBounds(t *testing.T) {
	img := make([]byte, 4096)
	d := NewMem(img, false)
	w := mustSelect(t, d, "%OFFSET:1024,1024%")
	b := make([]byte, 100)
	if n, err := w.ReadAt(b, 1000); n != 24 || err != io.EOF {
		t.Errorf("read across the end: %d, %v", n, err)
	}
	if n, err := w.ReadAt(b, 1024); n != 0 || err != io.EOF {
		t.Errorf("read at the end: %d, %v", n, err)
	}
	if _, err := w.ReadAt(b, -1); err == nil {
		t.Error("negative read offset accepted")
	}
	for i := range b {
		b[i] = 0xEE
	}
	if n, err := w.WriteAt(b, 1000); n != 0 || !errors.Is(err, ErrOutOfRange) {
		t.Errorf("write across the end: %d, %v", n, err)
	}
	if _, err := w.WriteAt(b, -5); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("negative write: %v", err)
	}
	for i, c := range img {
		if c != 0 {
			t.Fatalf("byte %d written by a refused write", i)
		}
	}
	if n, err := w.WriteAt(b, 924); n != 100 || err != nil {
		t.Errorf("write at the end: %d, %v", n, err)
	}
	if img[1024+924] != 0xEE || img[2048] != 0 || img[1024+923] != 0 {
		t.Error("write landed in the wrong place")
	}
	ro := mustSelect(t, NewMem(img, true), "%OFFSET:0,512%")
	if _, err := ro.WriteAt(b[:1], 0); !errors.Is(err, ErrReadOnly) {
		t.Errorf("write on read-only window: %v", err)
	}
}

func TestGPTHandBuilt(t *testing.T) {
	for _, ss := range []int64{512, 4096} {
		img := buildGPT(1<<20*int64(ss/512), ss, 128, []testGPTPart{
			{linuxFSGUID, 40, 59, "one"},
			{},
			{linuxFSGUID, 100, 139, "three"},
		})
		d := NewMem(img, false)
		parts, err := Partitions(d)
		if err != nil {
			t.Fatal(err)
		}
		if len(parts) != 2 || parts[0].Index != 1 || parts[1].Index != 3 ||
			parts[0].Start != 40*ss || parts[0].Size != 20*ss || parts[1].Label != "three" ||
			!strings.HasPrefix(parts[1].Type, "Linux filesystem") {
			t.Fatalf("ss %d: Partitions = %v", ss, parts)
		}
		_, err = Select(d, "%GPT:2%")
		wantErr(t, err, "mem: GPT partition 2 does not exist (partitions: 1 3)")
		if w := mustSelect(t, d, "%GPT:3%"); w.Size() != 40*ss {
			t.Errorf("ss %d: size %d", ss, w.Size())
		}
	}
}

func TestGPTBadCRC(t *testing.T) {
	build := func() []byte {
		return buildGPT(1<<20, 512, 128, []testGPTPart{{linuxFSGUID, 40, 59, "one"}})
	}
	lastLBA := int64(1<<20/512 - 1)

	// Primary header CRC broken: the backup header is used.
	img := build()
	img[512+40]++ // FirstUsableLBA, covered by the header CRC
	if w, err := Select(NewMem(img, true), "%GPT:1%"); err != nil || w.Size() != 20*512 {
		t.Fatalf("backup not used: %v", err)
	}
	// Primary entry array broken: the backup's own array is used.
	img = build()
	img[2*512+32]++
	if _, err := Select(NewMem(img, true), "%GPT:1%"); err != nil {
		t.Fatalf("backup not used: %v", err)
	}
	// Both headers broken.
	img = build()
	img[512+40]++
	img[lastLBA*512+40]++
	_, err := Select(NewMem(img, true), "%GPT:1%")
	wantErr(t, err, "mem: invalid GPT (primary header: header CRC mismatch; backup header: header CRC mismatch)")
	// Both entry arrays broken (same entry in each copy).
	img = build()
	img[2*512+32]++
	img[(lastLBA-32)*512+32]++
	_, err = Select(NewMem(img, true), "%GPT:1%")
	wantErr(t, err, "partition entry array CRC mismatch")
	if parts, err := Partitions(NewMem(img, true)); err != nil || len(parts) != 1 || parts[0].Type != "0xee GPT protective" {
		t.Fatalf("corrupt GPT: Partitions = %v, %v; want the protective MBR entry only", parts, err)
	}
	// No signature anywhere.
	_, err = Select(NewMem(make([]byte, 1<<20), true), "%GPT:1%")
	wantErr(t, err, "mem: no GPT found")
}

func TestGPTHostileHeader(t *testing.T) {
	img := buildGPT(1<<20, 512, 128, []testGPTPart{{linuxFSGUID, 40, 59, "one"}})
	set := func(off int, v uint32) {
		binary.LittleEndian.PutUint32(img[512+off:], v)
		binary.LittleEndian.PutUint32(img[512+16:], 0)
		binary.LittleEndian.PutUint32(img[512+16:], crc32IEEE(img[512:512+92]))
	}
	set(80, 0xffffffff) // NumEntries
	lastLBA := 1<<20/512 - 1
	copy(img[lastLBA*512:], make([]byte, 512)) // no backup
	_, err := Select(NewMem(img, true), "%GPT:1%")
	wantErr(t, err, "too large")
	set(80, 128)
	set(84, 17) // EntrySize
	_, err = Select(NewMem(img, true), "%GPT:1%")
	wantErr(t, err, "bad partition entry size 17")
}

func TestDisklabelByteOrders(t *testing.T) {
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		for _, at := range []int{0, 64, 128, 512, 512 + 64, 512 + 128} {
			img := make([]byte, 1<<20)
			copy(img[at:], buildDisklabel(order, 512, testLabelParts))
			d := NewMem(img, false)
			parts, err := Partitions(d)
			if err != nil {
				t.Fatal(err)
			}
			if len(parts) != 3 || parts[0].Suffix() != "%DISKLABEL:a%" || parts[0].Type != "4.2BSD" ||
				parts[1].Suffix() != "%DISKLABEL:c%" || parts[2].Suffix() != "%DISKLABEL:e%" ||
				parts[2].Start != 256*512 || parts[2].Size != 128*512 || parts[2].Type != "MSDOS" {
				t.Fatalf("%v at %d: Partitions = %v", order, at, parts)
			}
			img[256*512] = 'E'
			w := mustSelect(t, d, "%DISKLABEL:e%")
			b := make([]byte, 1)
			if w.ReadAt(b, 0); b[0] != 'E' || w.Size() != 128*512 {
				t.Errorf("%v at %d: window reads %q size %d", order, at, b, w.Size())
			}
			_, err = Select(d, "%DISKLABEL:b%")
			wantErr(t, err, "mem: disklabel partition b does not exist (partitions: a c e)")
		}
	}
}

func TestDisklabelSecsize(t *testing.T) {
	img := make([]byte, 4<<20)
	copy(img[512:], buildDisklabel(binary.BigEndian, 2048, []disklabelPartition{{Size: 10, Offset: 100}}))
	w := mustSelect(t, NewMem(img, true), "%DISKLABEL:a%")
	if w.Size() != 10*2048 || w.(*sub).start != 100*2048 {
		t.Errorf("window %d+%d, want sectors of 2048 bytes", w.(*sub).start, w.Size())
	}
}

func TestDisklabelInvalid(t *testing.T) {
	label := buildDisklabel(binary.LittleEndian, 512, testLabelParts)
	// Bad checksum.
	img := make([]byte, 1<<20)
	copy(img[512:], label)
	img[512+dlPartitionsStart]++
	_, err := Select(NewMem(img, true), "%DISKLABEL:a%")
	wantErr(t, err, "no disklabel found")
	// Too many partitions (checksum fixed up so only the count is wrong).
	img = make([]byte, 1<<20)
	parts := make([]disklabelPartition, dlMaxPartitions+1)
	parts[0] = disklabelPartition{Size: 1, Offset: 1}
	copy(img[512:], buildDisklabel(binary.LittleEndian, 512, parts))
	_, err = Select(NewMem(img, true), "%DISKLABEL:a%")
	wantErr(t, err, "no disklabel found")
	// Only the first magic.
	img = make([]byte, 1<<20)
	copy(img[512:], label)
	img[512+dlMagic2Offset]++
	_, err = Select(NewMem(img, true), "%DISKLABEL:a%")
	wantErr(t, err, "no disklabel found")
	// Truncated image cutting the label.
	_, err = Select(NewMem(label[:200], true), "%DISKLABEL:a%")
	wantErr(t, err, "no disklabel found")
	// A slot past the end of the image.
	img = make([]byte, 64<<10)
	copy(img[512:], label)
	_, err = Select(NewMem(img, true), "%DISKLABEL:e%")
	wantErr(t, err, "extends past the end of the image")
}

// A NetBSD MBR partition (0xa9) holds the label in its sector 1; its
// partition offsets are absolute.
func TestDisklabelInsideMBR(t *testing.T) {
	img := make([]byte, 2<<20)
	putMBR(img, 0, testMBREntry{0x0c, 63, 1000}, testMBREntry{mbrTypeNetBSD, 2048, 2048})
	copy(img[(2048+1)*512:], buildDisklabel(binary.LittleEndian, 512, []disklabelPartition{
		{Size: 1000, Offset: 2048 + 64, Fstype: 7},
		{},
		{Size: 4096, Offset: 0},
		{Size: 2048, Offset: 2048},
	}))
	img[(2048+64)*512] = 'A'
	d := NewMem(img, true)
	w := mustSelect(t, d, "%DISKLABEL:a%")
	b := make([]byte, 1)
	if w.ReadAt(b, 0); b[0] != 'A' {
		t.Errorf("read %q, want the start of partition a", b)
	}
	parts, _ := Partitions(d)
	if len(parts) != 5 { // a c d, MBR 1 2
		t.Errorf("Partitions = %v", parts)
	}
}

func TestPartitionString(t *testing.T) {
	p := Partition{Scheme: SchemeGPT, Index: 2, Start: 1048576, Size: 2097152, Type: "Linux filesystem", Label: "root"}
	if s := p.String(); s != `%GPT:2% start 1048576 size 2097152 Linux filesystem "root"` {
		t.Errorf("String = %s", s)
	}
	p = Partition{Scheme: SchemeDisklabel, Index: 4, Start: 512, Size: 1024, Type: "MSDOS"}
	if s := p.String(); s != "%DISKLABEL:e% start 512 size 1024 MSDOS" {
		t.Errorf("String = %s", s)
	}
}

// failDevice fails every read, like an image on a dying disk.
type failDevice struct{ Device }

func (failDevice) ReadAt([]byte, int64) (int, error) { return 0, errors.New("input/output error") }

func TestPartitionsIOError(t *testing.T) {
	d := failDevice{NewMem(make([]byte, 1<<20), true)}
	if _, err := Partitions(d); err == nil {
		t.Error("Partitions hid an I/O error")
	}
	_, err := Select(d, "%MBR:1%")
	wantErr(t, err, "mem: reading the MBR: input/output error")
	_, err = Select(d, "%GPT:1%")
	wantErr(t, err, "mem: reading the GPT: input/output error")
}
