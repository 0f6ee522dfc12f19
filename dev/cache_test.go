package dev

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"sync"
	"testing"
)

// recDevice records the device calls a cache makes.
type recDevice struct {
	Device
	mu       sync.Mutex
	reads    int
	writes   []string // "off+len"
	syncs    int
	failWrit bool
}

func (r *recDevice) ReadAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	r.reads++
	r.mu.Unlock()
	return r.Device.ReadAt(p, off)
}

func (r *recDevice) WriteAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failWrit {
		return 0, errors.New("injected write error")
	}
	r.writes = append(r.writes, fmt.Sprintf("%d+%d", off, len(p)))
	return r.Device.WriteAt(p, off)
}

func (r *recDevice) Sync() error {
	r.mu.Lock()
	r.syncs++
	r.mu.Unlock()
	return nil
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*13)
	}
	return b
}

func TestCacheReadWriteFlush(t *testing.T) {
	img := pattern(64*1024, 1)
	orig := bytes.Clone(img)
	rec := &recDevice{Device: NewMem(img, false)}
	c := NewCache(rec, 1024, 1<<20)

	b, err := c.Get(3)
	if err != nil || !bytes.Equal(b, orig[3072:4096]) {
		t.Fatalf("Get(3) = %v", err)
	}
	b[0] ^= 0xff // a copy: the cache does not change
	if b2, _ := c.Get(3); b2[0] != orig[3072] {
		t.Error("Get returned a view, not a copy")
	}
	reads := rec.reads
	for blk := int64(0); blk < 16; blk++ {
		c.Get(blk)
	}
	if rec.reads-reads > 1 {
		t.Errorf("%d device reads for 16 blocks after read-ahead", rec.reads-reads)
	}

	// Writes stay in the cache until Flush, which writes ascending runs.
	for _, blk := range []int64{9, 2, 3, 4, 20} {
		if err := c.Write(blk, pattern(1024, byte(blk))); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(img, orig) || len(rec.writes) != 0 {
		t.Fatal("Write reached the device before Flush")
	}
	if c.Dirty() != 5 {
		t.Errorf("Dirty = %d", c.Dirty())
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(rec.writes); got != "[2048+3072 9216+1024 20480+1024]" || rec.syncs != 1 {
		t.Errorf("flush writes %s, syncs %d", got, rec.syncs)
	}
	for _, blk := range []int64{9, 2, 3, 4, 20} {
		if !bytes.Equal(img[blk*1024:(blk+1)*1024], pattern(1024, byte(blk))) {
			t.Errorf("block %d not on the device", blk)
		}
	}
	if c.Dirty() != 0 {
		t.Errorf("Dirty after Flush = %d", c.Dirty())
	}

	// Bad arguments.
	if _, err := c.Get(64); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("Get past the end: %v", err)
	}
	if _, err := c.Get(-1); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("Get(-1): %v", err)
	}
	if err := c.Write(1, make([]byte, 10)); err == nil {
		t.Error("short Write accepted")
	}
}

func TestCacheByteRange(t *testing.T) {
	img := pattern(10000, 3)
	mirror := bytes.Clone(img)
	c := NewCache(NewMem(img, false), 512, 4096)
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 500; i++ {
		off := rng.Int63n(10000)
		n := rng.Intn(3000)
		if rng.Intn(2) == 0 {
			p := pattern(n, byte(i))
			w, err := c.WriteAt(p, off)
			if off+int64(n) > 10000 {
				if w != 0 || !errors.Is(err, ErrOutOfRange) {
					t.Fatalf("WriteAt(%d, %d) past the end: %d, %v", off, n, w, err)
				}
				continue
			}
			if err != nil || w != n {
				t.Fatalf("WriteAt: %d, %v", w, err)
			}
			copy(mirror[off:], p)
		} else {
			p := make([]byte, n)
			r, err := c.ReadAt(p, off)
			want := min(int64(n), 10000-off)
			if int64(r) != want || (want < int64(n) && err != io.EOF) || (want == int64(n) && err != nil) {
				t.Fatalf("ReadAt(%d, %d) = %d, %v", off, n, r, err)
			}
			if !bytes.Equal(p[:r], mirror[off:off+int64(r)]) {
				t.Fatalf("ReadAt(%d, %d): wrong data", off, n)
			}
		}
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(img, mirror) {
		t.Error("device differs from the expected contents after Flush")
	}
}

// Eviction keeps the cache bounded and writes dirty blocks back.
func TestCacheEviction(t *testing.T) {
	img := make([]byte, 64*1024)
	rec := &recDevice{Device: NewMem(img, false)}
	c := NewCache(rec, 1024, 4*1024)
	for blk := int64(0); blk < 10; blk++ {
		c.Write(blk, bytes.Repeat([]byte{byte(blk + 1)}, 1024))
		if n := len(c.blocks); n > 4 {
			t.Fatalf("cache holds %d blocks, max 4", n)
		}
	}
	if len(rec.writes) != 6 {
		t.Errorf("%d write-backs on eviction, want 6: %v", len(rec.writes), rec.writes)
	}
	for blk := int64(0); blk < 10; blk++ {
		b, _ := c.Get(blk)
		if b[0] != byte(blk+1) {
			t.Errorf("block %d reads %d after eviction", blk, b[0])
		}
	}
	c.Flush()
	for blk := 0; blk < 10; blk++ {
		if img[blk*1024] != byte(blk+1) {
			t.Errorf("block %d not on the device", blk)
		}
	}
}

func TestCacheWriteBackError(t *testing.T) {
	rec := &recDevice{Device: NewMem(make([]byte, 8192), false), failWrit: true}
	c := NewCache(rec, 1024, 2048)
	for blk := int64(0); blk < 4; blk++ {
		if err := c.Write(blk, bytes.Repeat([]byte{9}, 1024)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Flush(); err == nil {
		t.Fatal("Flush hid a write error")
	}
	if c.Dirty() != 4 {
		t.Errorf("Dirty = %d after failed write-backs, want 4 (nothing lost)", c.Dirty())
	}
	rec.failWrit = false
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if c.Dirty() != 0 {
		t.Errorf("Dirty = %d", c.Dirty())
	}
}

func TestCacheInvalidate(t *testing.T) {
	img := make([]byte, 4096)
	d := NewMem(img, false)
	c := NewCache(d, 1024, 1<<20)
	c.Get(1)
	d.WriteAt([]byte{7}, 1024)
	if b, _ := c.Get(1); b[0] != 0 {
		t.Fatal("cache not caching")
	}
	c.Invalidate(1)
	if b, _ := c.Get(1); b[0] != 7 {
		t.Error("Invalidate did not drop the block")
	}
	// Read-ahead cached blocks 2 and 3; a direct write of file data over
	// them is made visible by InvalidateRange.
	d.WriteAt([]byte{8, 8}, 3071)
	c.InvalidateRange(3071, 2)
	if b, _ := c.Get(2); b[1023] != 8 {
		t.Error("InvalidateRange did not drop block 2")
	}
	if b, _ := c.Get(3); b[0] != 8 {
		t.Error("InvalidateRange did not drop block 3")
	}
	c.InvalidateRange(0, 1<<40) // larger than the cache: walks the map
	if len(c.blocks) != 0 {
		t.Errorf("%d blocks left after invalidating everything", len(c.blocks))
	}
	c.Write(2, bytes.Repeat([]byte{5}, 1024))
	c.InvalidateAll()
	c.Flush()
	if img[2048] != 0 {
		t.Error("InvalidateAll wrote a dropped dirty block")
	}
}

// A device whose size is not a multiple of the block size.
func TestCachePartialLastBlock(t *testing.T) {
	img := pattern(2500, 9)
	rec := &recDevice{Device: NewMem(img, false)}
	c := NewCache(rec, 1024, 1<<20)
	b, err := c.Get(2)
	if err != nil || !bytes.Equal(b[:452], img[2048:]) || !bytes.Equal(b[452:], make([]byte, 572)) {
		t.Fatalf("Get(2): %v", err)
	}
	if _, err := c.Get(3); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("Get(3): %v", err)
	}
	if err := c.Write(2, bytes.Repeat([]byte{1}, 1024)); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rec.writes) != "[2048+452]" {
		t.Errorf("writes %v", rec.writes)
	}
}

func TestCacheConcurrent(t *testing.T) {
	const bs, nblk = 512, 256
	img := make([]byte, bs*nblk)
	c := NewCache(NewMem(img, false), bs, 32*bs)
	var wg sync.WaitGroup
	final := make([][]byte, nblk)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(g)))
			for i := 0; i < 400; i++ {
				blk := int64(g + 8*rng.Intn(nblk/8)) // each goroutine owns its blocks
				switch rng.Intn(4) {
				case 0, 1:
					data := bytes.Repeat([]byte{byte(i)}, bs)
					if err := c.Write(blk, data); err != nil {
						t.Error(err)
						return
					}
					final[blk] = data
				case 2:
					b, err := c.Get(blk)
					if err != nil {
						t.Error(err)
						return
					}
					want := final[blk]
					if want == nil {
						want = make([]byte, bs)
					}
					if !bytes.Equal(b, want) {
						t.Errorf("block %d: stale read", blk)
						return
					}
				case 3:
					if rng.Intn(10) == 0 {
						if err := c.Flush(); err != nil {
							t.Error(err)
						}
					}
				}
			}
		}(g)
	}
	wg.Wait()
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	for blk, want := range final {
		if want != nil && !bytes.Equal(img[blk*bs:(blk+1)*bs], want) {
			t.Errorf("block %d wrong on the device", blk)
		}
	}
}
