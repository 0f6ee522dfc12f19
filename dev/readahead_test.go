package dev

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
)

// TestReadAheadImage reads a read-only image in small pieces at random
// offsets (some crossing windows, up to the short last one), from several
// goroutines, and checks every byte against the file, and that the
// windows turned thousands of small reads into a few image reads.
func TestReadAheadImage(t *testing.T) {
	const size = 3*raWindow + 12345 // a short last window
	img := make([]byte, size)
	for i := range img {
		img[i] = byte(i*7 + i>>8)
	}
	path := writeImage(t, img)
	d, err := Open(path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	fd := d.(*fileDevice)
	if fd.ra == nil {
		t.Fatal("a read-only image has no read-ahead windows")
	}
	var loads atomic.Int64
	f := fd.f
	load := func(p []byte, off int64) (int, error) {
		loads.Add(1)
		return f.ReadAt(p, off)
	}
	check := func(r *rand.Rand) {
		for range 2000 {
			n := 1 + r.IntN(8192)
			off := r.Int64N(size)
			p := make([]byte, n)
			got, ok, err := fd.ra.read(p, off, fd.size, load)
			if !ok {
				// Not for the windows: the device reads directly.
				got, err = d.ReadAt(p, off)
			}
			want := min(n, int(size-off))
			if got != want || !bytes.Equal(p[:got], img[off:off+int64(got)]) {
				t.Errorf("read %d at %d: %d bytes (%v), want %d of the image", n, off, got, err, want)
				return
			}
		}
	}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() { check(rand.New(rand.NewPCG(uint64(i), 1))) })
	}
	wg.Wait()
	// 4 windows in all fit in the cache: each is loaded about once
	// (twice when two goroutines miss it together).
	if n := loads.Load(); n > 4*4 {
		t.Errorf("%d image reads for 8000 small reads of 4 windows", n)
	}

	// Through the Device: io.EOF at the end, large reads direct.
	p := make([]byte, 100)
	if n, err := d.ReadAt(p, size-40); n != 40 || err != io.EOF || !bytes.Equal(p[:40], img[size-40:]) {
		t.Errorf("read at the end: %d %v", n, err)
	}
	big := make([]byte, raWindow)
	if n, err := d.ReadAt(big, 5); n != raWindow || err != nil || !bytes.Equal(big, img[5:5+raWindow]) {
		t.Errorf("large read: %d %v", n, err)
	}
}

// TestReadAheadOnlyReadOnly: an image opened read-write has no windows,
// so its reads always see its writes.
func TestReadAheadOnlyReadOnly(t *testing.T) {
	path := writeImage(t, make([]byte, 2*raWindow))
	d, err := Open(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.(*fileDevice).ra != nil {
		t.Fatal("a read-write image has read-ahead windows")
	}
	p := make([]byte, 10)
	d.ReadAt(p, 100)
	if _, err := d.WriteAt([]byte("hello"), 100); err != nil {
		t.Fatal(err)
	}
	d.ReadAt(p, 100)
	if string(p[:5]) != "hello" {
		t.Fatalf("read after write: %q", p)
	}
	os.Remove(path)
}
