package dev

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// makeSparse creates an empty image of size bytes.
func makeSparse(t *testing.T, size int64) string {
	t.Helper()
	p := writeImage(t, nil)
	if err := os.Truncate(p, size); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeMarkers writes "PART<n>" at the first byte of each partition, so that
// a window can be checked to start at the right place.
func writeMarkers(t *testing.T, img string, starts map[int]int64) {
	t.Helper()
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for n, off := range starts {
		if _, err := f.WriteAt([]byte(fmt.Sprintf("PART%d", n)), off); err != nil {
			t.Fatal(err)
		}
	}
}

func checkWindow(t *testing.T, spec string, n int, size int64) {
	t.Helper()
	d, err := Open(spec, true)
	if err != nil {
		t.Fatalf("Open(%s): %v", spec, err)
	}
	defer d.Close()
	if d.Size() != size {
		t.Errorf("%s: Size %d, want %d", spec, d.Size(), size)
	}
	if d.Name() != spec {
		t.Errorf("Name %q, want %q", d.Name(), spec)
	}
	want := fmt.Sprintf("PART%d", n)
	b := make([]byte, len(want))
	if _, err := d.ReadAt(b, 0); err != nil || string(b) != want {
		t.Errorf("%s: reads %q, %v at offset 0; want %q", spec, b, err, want)
	}
}

// sfdisk lays out primary, extended and logical partitions; its own dump
// (-J) is the oracle for where they are.
func TestSfdiskMBR(t *testing.T) {
	img := makeSparse(t, 16<<20)
	run(t, `label: dos
unit: sectors
start=2048, size=2048, type=83
start=4096, size=2048, type=c
start=6144, size=1024, type=83
start=8192, size=20480, type=5
size=2048, type=83
size=4096, type=82
size=1024, type=83
`, "sfdisk", "-q", img)
	var dump struct {
		PartitionTable struct {
			Partitions []struct {
				Node        string
				Start, Size int64
				Type        string
			}
		}
	}
	if err := json.Unmarshal([]byte(run(t, "", "sfdisk", "-J", img)), &dump); err != nil {
		t.Fatal(err)
	}
	oracle := dump.PartitionTable.Partitions
	if len(oracle) != 7 {
		t.Fatalf("sfdisk made %d partitions", len(oracle))
	}
	starts := map[int]int64{}
	for _, p := range oracle {
		n, _ := strconv.Atoi(strings.TrimPrefix(p.Node, img))
		if p.Type != "5" {
			starts[n] = p.Start * 512
		}
	}
	writeMarkers(t, img, starts)

	d, err := Open(img, true)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := Partitions(d)
	d.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != len(oracle) {
		t.Fatalf("Partitions = %v, sfdisk says %+v", parts, oracle)
	}
	for i, o := range oracle {
		n, _ := strconv.Atoi(strings.TrimPrefix(o.Node, img))
		p := parts[i]
		typ, _ := strconv.ParseUint(o.Type, 16, 8)
		if p.Index != n || p.Start != o.Start*512 || p.Size != o.Size*512 || p.mbrType != uint8(typ) {
			t.Errorf("partition %v, sfdisk says %+v", p, o)
		}
		if o.Type != "5" {
			checkWindow(t, img+p.Suffix(), n, o.Size*512)
		}
	}
	_, err = Open(img+"%MBR:8%", true)
	wantErr(t, err, img+": MBR partition 8 does not exist (partitions: 1 2 3 4 5 6 7)")
}

// sgdisk makes a GPT; `sgdisk -p` is the oracle. The backup header is used
// when the primary one is destroyed.
func TestSgdiskGPT(t *testing.T) {
	img := makeSparse(t, 16<<20)
	run(t, "", "sgdisk", "-n", "1:2048:+1M", "-t", "1:8300", "-n", "2:0:+2M", "-t", "2:a902",
		"-c", "2:hello", "-n", "4:0:0", img)
	type row struct {
		n           int
		first, last int64
	}
	var oracle []row
	sc := bufio.NewScanner(strings.NewReader(run(t, "", "sgdisk", "-p", img)))
	inTable := false
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 && f[0] == "Number" {
			inTable = true
			continue
		}
		if inTable && len(f) >= 3 {
			n, _ := strconv.Atoi(f[0])
			a, _ := strconv.ParseInt(f[1], 10, 64)
			b, _ := strconv.ParseInt(f[2], 10, 64)
			oracle = append(oracle, row{n, a, b})
		}
	}
	if len(oracle) != 3 {
		t.Fatalf("sgdisk -p rows: %v", oracle)
	}
	starts := map[int]int64{}
	for _, o := range oracle {
		starts[o.n] = o.first * 512
	}
	writeMarkers(t, img, starts)

	check := func() {
		t.Helper()
		d, err := Open(img, true)
		if err != nil {
			t.Fatal(err)
		}
		parts, err := Partitions(d)
		d.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(parts) != 3 {
			t.Fatalf("Partitions = %v (the protective MBR entry must not be listed)", parts)
		}
		for i, o := range oracle {
			p := parts[i]
			if p.Scheme != SchemeGPT || p.Index != o.n || p.Start != o.first*512 || p.Size != (o.last-o.first+1)*512 {
				t.Errorf("partition %v, sgdisk says %+v", p, o)
			}
			checkWindow(t, img+p.Suffix(), o.n, (o.last-o.first+1)*512)
		}
		if parts[1].Label != "hello" || !strings.HasPrefix(parts[1].Type, "NetBSD FFS") {
			t.Errorf("partition 2: %v", parts[1])
		}
	}
	check()
	_, err := Open(img+"%GPT:3%", true)
	wantErr(t, err, img+": GPT partition 3 does not exist (partitions: 1 2 4)")

	// Destroy the primary header: the backup at the last LBA takes over.
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(make([]byte, 512), 512)
	f.Close()
	check()
}

// No Linux tool writes a BSD disklabel, so the label is built by hand
// (buildDisklabel, layout in disklabel.go) inside a NetBSD (0xa9) MBR
// partition that sfdisk made, in sector 1 of it as NetBSD/amd64 writes it.
func TestSfdiskNetBSDDisklabel(t *testing.T) {
	img := makeSparse(t, 8<<20)
	run(t, "label: dos\nunit: sectors\nstart=2048, size=4096, type=c\nstart=6144, size=10240, type=a9\n", "sfdisk", "-q", img)
	label := buildDisklabel(binary.LittleEndian, 512, []disklabelPartition{
		{Size: 4096, Offset: 6144, Fstype: 7},
		{Size: 2048, Offset: 10240, Fstype: 1},
		{Size: 10240, Offset: 6144},
		{Size: 16384, Offset: 0},
		{Size: 2048, Offset: 12288, Fstype: 8},
	})
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(label, (6144+1)*512)
	f.Close()
	writeMarkers(t, img, map[int]int64{1: 6144*512 + 8192, 5: 12288 * 512})
	// Partition a starts at the MBR partition, where the label is; read
	// further in for its marker.
	d, err := Open(img+"%DISKLABEL:a%", true)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 5)
	d.ReadAt(b, 8192)
	if string(b) != "PART1" || d.Size() != 4096*512 {
		t.Errorf("a: %q size %d", b, d.Size())
	}
	d.Close()
	checkWindow(t, img+"%DISKLABEL:e%", 5, 2048*512)
	_, err = Open(img+"%DISKLABEL:f%", true)
	wantErr(t, err, img+": disklabel partition f does not exist (partitions: a b c d e)")
}
