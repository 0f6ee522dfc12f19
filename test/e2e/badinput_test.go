package e2e

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rumpfs/rumpfs/internal/fixture"
	"github.com/rumpfs/rumpfs/internal/treetest"
)

// The image the corruptions start from: Rock Ridge only (the tree the
// daemon reads), a few files whose records are easy to find, a
// subdirectory, a name long enough to need a CE continuation area, and a
// file large enough that truncating the image cuts it.
var fxBad = &isoFixture{
	name: "bad-base", tool: "xorriso", args: []string{"-R"},
	tree: func() *treetest.Tree {
		t := treetest.New()
		t.File("good1", treetest.String("good one\n"))
		t.File("good2", treetest.Pattern{N: 5000, Seed: 11})
		t.File("victim", treetest.Pattern{N: 10000, Seed: 12})
		t.File("vdir/inner", treetest.String("inside\n"))
		t.File(strings.Repeat("c", 230), treetest.String("long name\n"))
		t.File("zzbig", treetest.Pattern{N: 1 << 20, Seed: 13})
		return t
	},
}

// isoRecord is a directory record found in an image.
type isoRecord struct {
	off    int64 // byte offset of the record in the image
	length int
	extent uint32
	size   uint32
	flags  byte
	name   string // the ISO 9660 name (upper case, ";1")
	suOff  int64  // offset of the System Use area
	suLen  int
}

// readDir parses the directory at extent/size of img (ISO 9660 §9.1).
func readDir(t *testing.T, img []byte, extent, size uint32) []isoRecord {
	t.Helper()
	var recs []isoRecord
	start := int64(extent) * 2048
	end := start + int64(size)
	if end > int64(len(img)) {
		t.Fatalf("directory at %d+%d past image", start, size)
	}
	for off := start; off < end; {
		l := int(img[off])
		if l == 0 {
			// No record crosses a sector: skip to the next one.
			off = (off/2048 + 1) * 2048
			continue
		}
		r := img[off : off+int64(l)]
		nl := int(r[32])
		rec := isoRecord{
			off: off, length: l,
			extent: binary.LittleEndian.Uint32(r[2:]),
			size:   binary.LittleEndian.Uint32(r[10:]),
			flags:  r[25],
			name:   string(r[33 : 33+nl]),
		}
		su := 33 + nl
		if nl%2 == 0 {
			su++
		}
		rec.suOff, rec.suLen = off+int64(su), l-su
		recs = append(recs, rec)
		off += int64(l)
	}
	return recs
}

func rootRecords(t *testing.T, img []byte) []isoRecord {
	pvd := img[16*2048:]
	if string(pvd[1:6]) != "CD001" || pvd[0] != 1 {
		t.Fatal("no primary volume descriptor at sector 16")
	}
	root := pvd[156:]
	return readDir(t, img, binary.LittleEndian.Uint32(root[2:]), binary.LittleEndian.Uint32(root[10:]))
}

func findRecord(t *testing.T, recs []isoRecord, prefix string) isoRecord {
	t.Helper()
	for _, r := range recs {
		if strings.HasPrefix(r.name, prefix) {
			return r
		}
	}
	t.Fatalf("no record %s*", prefix)
	return isoRecord{}
}

// putBoth writes v in ISO 9660 both-byte-order form (§7.3.3) at b.
func putBoth(b []byte, v uint32) {
	binary.LittleEndian.PutUint32(b, v)
	binary.BigEndian.PutUint32(b[4:], v)
}

// corrupt copies the base image, applies fn to its bytes and writes it.
func corrupt(t *testing.T, name string, fn func(img []byte) []byte) string {
	t.Helper()
	base, _ := fxBad.Build(t)
	img, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	img = fn(img)
	p := filepath.Join(t.TempDir(), name+".iso")
	if err := os.WriteFile(p, img, 0644); err != nil {
		t.Fatal(err)
	}
	return p
}

// within runs fn and fails t if it has not returned after d: corrupt
// images must never make an operation hang.
func within(t *testing.T, d time.Duration, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %v", what, d)
	}
}

// stillServes checks that good files read correctly through the mount.
func stillServes(t *testing.T, m *fixture.Mounted) {
	t.Helper()
	tree := fxBad.tree()
	for _, n := range []string{"good1", "good2"} {
		want, _ := io.ReadAll(treetest.Reader(tree.Get(n).Data))
		var got []byte
		var err error
		within(t, 20*time.Second, "reading "+n, func() { got, err = os.ReadFile(m.Path(n)) })
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("after the bad operation, %s: %d bytes, %v", n, len(got), err)
		}
	}
}

// mountOrRefuse mounts img; a refusal must be one clear line and non-zero
// exit. It returns nil when the image was refused.
func mountOrRefuse(t *testing.T, img string) *fixture.Mounted {
	t.Helper()
	r := fixture.Start(t, daemon, []string{img}, nil)
	if r.Exit != 0 {
		checkOneLine(t, r.Stderr)
		return nil
	}
	return r.Mount
}

func wantEIO(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, syscall.EIO) {
		t.Errorf("%s: %v, want EIO", what, err)
	}
}

// TestBadInput mounts hand-corrupted images: each gives a clear mount
// error, or EIO on the affected file while the daemon goes on serving the
// others; nothing hangs or crashes.
func TestBadInput(t *testing.T) {
	fixture.RequireRoot(t)
	fixture.RequireFUSE(t)
	fxBad.Build(t)

	t.Run("truncated-before-descriptors", func(t *testing.T) {
		img := corrupt(t, "trunc1", func(b []byte) []byte { return b[:20000] })
		if m := mountOrRefuse(t, img); m != nil {
			t.Errorf("an image cut before its volume descriptors mounted")
		}
	})

	t.Run("truncated-volume", func(t *testing.T) {
		img := corrupt(t, "trunc3", func(b []byte) []byte {
			big := findRecord(t, rootRecords(t, b), "ZZBIG")
			return b[:int64(big.extent)*2048+4096]
		})
		// Shorter than its volume size: refusing is right; mounting is
		// allowed if the cut file then reads EIO.
		if m := mountOrRefuse(t, img); m != nil {
			var err error
			within(t, 20*time.Second, "reading zzbig", func() { _, err = os.ReadFile(m.Path("zzbig")) })
			wantEIO(t, "reading zzbig past the end", err)
			stillServes(t, m)
		}
	})

	t.Run("truncated-in-data", func(t *testing.T) {
		var cut int64
		var recs []isoRecord
		img := corrupt(t, "trunc2", func(b []byte) []byte {
			recs = rootRecords(t, b)
			big := findRecord(t, recs, "ZZBIG")
			cut = int64(big.extent)*2048 + 4096
			// Make the volume size agree with the cut, so that the
			// volume looks whole and only zzbig runs past its end.
			putBoth(b[16*2048+80:], uint32(cut/2048))
			return b[:cut]
		})
		m := mountOrRefuse(t, img)
		if m == nil {
			t.Fatal("a volume whose last file is cut refused at mount; want EIO on that file")
		}
		tree := fxBad.tree()
		for _, r := range recs {
			if r.flags&2 != 0 || r.size == 0 {
				continue
			}
			fits := int64(r.extent)*2048+int64(r.size) <= cut
			var name string
			for _, e := range tree.Entries {
				if strings.HasPrefix(strings.ToUpper(e.Path), strings.TrimSuffix(strings.SplitN(r.name, ".", 2)[0], ";1")) && e.Type == treetest.File {
					name = e.Path
				}
			}
			if name == "" {
				continue
			}
			var got []byte
			var err error
			within(t, 20*time.Second, "reading "+name, func() { got, err = os.ReadFile(m.Path(name)) })
			if fits {
				want, _ := io.ReadAll(treetest.Reader(tree.Get(name).Data))
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("%s lies before the cut but reads %d bytes, %v", name, len(got), err)
				}
			} else {
				wantEIO(t, "reading "+name+" past the cut", err)
			}
		}
		stillServes(t, m)
	})

	t.Run("file-extent-past-image", func(t *testing.T) {
		img := corrupt(t, "extent", func(b []byte) []byte {
			r := findRecord(t, rootRecords(t, b), "VICTIM")
			putBoth(b[r.off+2:], 0x7ffffff0)
			return b
		})
		m := mountOrRefuse(t, img)
		if m == nil {
			return
		}
		var err error
		within(t, 20*time.Second, "reading victim", func() { _, err = os.ReadFile(m.Path("victim")) })
		wantEIO(t, "reading a file whose extent is past the image", err)
		stillServes(t, m)
	})

	t.Run("dir-extent-past-image", func(t *testing.T) {
		img := corrupt(t, "dirextent", func(b []byte) []byte {
			r := findRecord(t, rootRecords(t, b), "VDIR")
			putBoth(b[r.off+2:], 0x7ffffff0)
			return b
		})
		m := mountOrRefuse(t, img)
		if m == nil {
			return
		}
		var err error
		within(t, 20*time.Second, "listing vdir", func() { _, err = os.ReadDir(m.Path("vdir")) })
		wantEIO(t, "listing a directory whose extent is past the image", err)
		stillServes(t, m)
	})

	t.Run("size-past-image", func(t *testing.T) {
		img := corrupt(t, "size", func(b []byte) []byte {
			r := findRecord(t, rootRecords(t, b), "VICTIM")
			putBoth(b[r.off+10:], 0xfffff000)
			return b
		})
		m := mountOrRefuse(t, img)
		if m == nil {
			return
		}
		var err error
		within(t, 30*time.Second, "reading victim", func() {
			f, e := os.Open(m.Path("victim"))
			if e != nil {
				err = e
				return
			}
			defer f.Close()
			_, err = io.Copy(io.Discard, f)
		})
		wantEIO(t, "reading a file whose size runs past the image", err)
		stillServes(t, m)
	})

	t.Run("zero-length-record", func(t *testing.T) {
		img := corrupt(t, "zerolen", func(b []byte) []byte {
			r := findRecord(t, rootRecords(t, b), "GOOD2")
			b[r.off] = 0 // the rest of the sector is skipped, per §6.8.1.1
			return b
		})
		m := mountOrRefuse(t, img)
		if m == nil {
			return
		}
		within(t, 20*time.Second, "listing the root", func() { os.ReadDir(m.Dir) })
		var err error
		within(t, 20*time.Second, "reading good1", func() { _, err = os.ReadFile(m.Path("good1")) })
		if err != nil {
			t.Errorf("good1, before the zero-length record: %v", err)
		}
	})

	t.Run("looping-CE", func(t *testing.T) {
		img := corrupt(t, "celoop", func(b []byte) []byte {
			recs := rootRecords(t, b)
			for _, r := range recs {
				if r.name == "\x00" || r.name == "\x01" {
					continue // "." holds the volume's ER; loop a file's CE instead
				}
				su := b[r.suOff : r.suOff+int64(r.suLen)]
				i := bytes.Index(su, []byte("CE\x1c\x01"))
				if i < 0 {
					continue
				}
				ce := su[i:]
				blk := binary.LittleEndian.Uint32(ce[4:])
				off := binary.LittleEndian.Uint32(ce[12:])
				ln := binary.LittleEndian.Uint32(ce[20:])
				// Write, at the start of the continuation area, a CE that
				// points back at that same area.
				area := b[int64(blk)*2048+int64(off):]
				copy(area, []byte("CE\x1c\x01"))
				putBoth(area[4:], blk)
				putBoth(area[12:], off)
				putBoth(area[20:], ln)
				return b
			}
			t.Fatal("no CE entry in a root directory file record")
			return nil
		})
		m := mountOrRefuse(t, img)
		if m == nil {
			return
		}
		within(t, 20*time.Second, "listing the root", func() { os.ReadDir(m.Dir) })
		within(t, 20*time.Second, "stat of the looping entry", func() {
			os.Lstat(m.Path(strings.Repeat("c", 230)))
		})
		stillServes(t, m)
	})

	t.Run("garbage-descriptor", func(t *testing.T) {
		img := corrupt(t, "garbage", func(b []byte) []byte {
			pvd := b[16*2048:]
			// Root directory record: absurd extent and size.
			putBoth(pvd[156+2:], 0xffffffff)
			putBoth(pvd[156+10:], 0xffffffff)
			// Logical block size 0.
			binary.LittleEndian.PutUint16(pvd[128:], 0)
			binary.BigEndian.PutUint16(pvd[130:], 0)
			return b
		})
		r := fixture.Start(t, daemon, []string{img}, nil)
		if r.Exit == 0 {
			within(t, 20*time.Second, "listing the root", func() {
				if _, err := os.ReadDir(r.Mount.Dir); err == nil {
					t.Error("a root directory past the image listed without error")
				}
			})
			return
		}
		checkOneLine(t, r.Stderr)
	})
}
