package dev

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// Run with -fuzzminimizetime 0: the inputs are images of a few KiB, which
// the fuzzer takes minutes to minimise.
//
// fuzzSeeds are small images holding each kind of table, for the seed
// corpus (testdata/fuzz/FuzzPartitions, regenerated with
// DEV_WRITE_CORPUS=1 go test -run TestWriteFuzzCorpus ./dev).
func fuzzSeeds() map[string][]byte {
	seeds := map[string][]byte{}

	mbr := make([]byte, 16<<10)
	putMBR(mbr, 0, testMBREntry{0x83, 2, 2}, testMBREntry{0x05, 4, 28})
	putMBR(mbr, 4, testMBREntry{0x83, 1, 2}, testMBREntry{0x05, 4, 8})
	putMBR(mbr, 8, testMBREntry{0x0c, 1, 2}, testMBREntry{0x0f, 8, 8})
	putMBR(mbr, 12, testMBREntry{0x83, 1, 3})
	seeds["mbr-chain"] = mbr

	loop := make([]byte, 8<<10)
	putMBR(loop, 0, testMBREntry{0x0f, 2, 12})
	putMBR(loop, 2, testMBREntry{0x83, 1, 1}, testMBREntry{0x05, 4, 4})
	putMBR(loop, 6, testMBREntry{0x83, 1, 1}, testMBREntry{0x05, 0, 4})
	seeds["mbr-loop"] = loop

	seeds["gpt"] = buildGPT(16<<10, 512, 4, []testGPTPart{
		{linuxFSGUID, 4, 9, "a"}, {linuxFSGUID, 10, 29, "b"},
	})
	seeds["gpt-4k"] = buildGPT(48<<10, 4096, 4, []testGPTPart{{linuxFSGUID, 3, 9, "k"}})

	le := make([]byte, 8<<10)
	copy(le[512:], buildDisklabel(binary.LittleEndian, 512, []disklabelPartition{
		{Size: 4, Offset: 4, Fstype: 7}, {}, {Size: 16, Offset: 0}, {}, {Size: 4, Offset: 8, Fstype: 8},
	}))
	seeds["disklabel-le"] = le
	be := make([]byte, 4<<10)
	copy(be[64:], buildDisklabel(binary.BigEndian, 512, []disklabelPartition{{Size: 2, Offset: 2, Fstype: 7}}))
	seeds["disklabel-be"] = be

	nb := make([]byte, 8<<10)
	putMBR(nb, 0, testMBREntry{mbrTypeNetBSD, 4, 12})
	copy(nb[5*512:], buildDisklabel(binary.LittleEndian, 512, []disklabelPartition{{Size: 8, Offset: 6, Fstype: 7}}))
	seeds["disklabel-in-mbr"] = nb

	seeds["empty"] = nil
	return seeds
}

var fuzzSuffixes = []string{
	"%MBR:1%", "%MBR:2%", "%MBR:5%", "%MBR:6%", "%MBR:7%",
	"%GPT:1%", "%GPT:2%", "%DISKLABEL:a%", "%DISKLABEL:c%", "%DISKLABEL:e%",
	"%OFFSET:512,1024%", "%OFFSET:0%", "%OFFSET:4096,0%",
}

func FuzzPartitions(f *testing.F) {
	for _, b := range fuzzSeeds() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewMem(data, false)
		parts, err := Partitions(d)
		if err != nil {
			t.Fatalf("Partitions on memory: %v", err)
		}
		// Every listed partition that fits can be selected, with its size.
		for _, p := range parts {
			w, err := Select(d, p.Suffix())
			fits := p.Size > 0 && p.Start >= 0 && p.Start <= d.Size() && p.Size <= d.Size()-p.Start
			if fits != (err == nil) {
				t.Fatalf("%v: fits %v, Select error %v", p, fits, err)
			}
			if err == nil && w.Size() != p.Size {
				t.Fatalf("%v: window size %d", p, w.Size())
			}
		}
		for _, s := range fuzzSuffixes {
			w, err := Select(d, s)
			if err != nil {
				continue
			}
			if w.Size() <= 0 || w.Size() > d.Size() {
				t.Fatalf("%s: window size %d of %d", s, w.Size(), d.Size())
			}
			b := make([]byte, 600)
			if _, err := w.ReadAt(b, w.Size()-1); err != io.EOF {
				t.Fatalf("%s: read across the end: %v", s, err)
			}
			if _, err := w.WriteAt(b, w.Size()-1); !errors.Is(err, ErrOutOfRange) {
				t.Fatalf("%s: write across the end: %v", s, err)
			}
		}
	})
}

// TestWriteFuzzCorpus regenerates the seed corpus files.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("DEV_WRITE_CORPUS") == "" {
		t.Skip("set DEV_WRITE_CORPUS=1 to regenerate testdata/fuzz/FuzzPartitions")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzPartitions")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range fuzzSeeds() {
		text := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(b)))
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
