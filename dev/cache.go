package dev

import (
	"container/list"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
)

// Cache is a bounded write-back cache of fixed-size blocks of a Device, for
// file-system metadata (superblocks, bitmaps, inode tables, directories).
// File data should go to the Device directly in large runs instead.
//
// Blocks are numbered from 0 at the start of the device; a final block that
// the device only partly covers reads as zeros past the end, and only the
// covered part is ever written. The cache holds at most maxBytes of blocks
// (at least one block): when it is full the least recently used block is
// dropped, after being written back if it is dirty. Flush writes every dirty
// block, in ascending order and in contiguous runs, then syncs the device.
//
// All methods are safe for concurrent use. Device reads are done without
// holding the cache lock, so readers of different blocks do not wait for
// each other; writes back to the device are done under it.
//
// A file system that writes to the Device directly (file data) must
// Invalidate those blocks (InvalidateRange for a byte range), even blocks it
// never read through the cache: read-ahead may have cached them, and a
// block that held metadata may still be dirty here.
type Cache struct {
	d         Device
	bs        int64
	nblocks   int64 // blocks on the device, the last maybe partial
	max       int   // blocks held at most
	readahead int64 // blocks read at once on a miss

	mu     sync.Mutex
	blocks map[int64]*cblock
	lru    list.List // of *cblock, most recent at the front
	epoch  uint64    // bumped whenever the device changes under the cache
	err    error     // first write-back failure during eviction
}

type cblock struct {
	n     int64
	data  []byte
	dirty bool
	elem  *list.Element
}

// NewCache returns a cache of blockSize-byte blocks of d holding at most
// maxBytes. blockSize must be positive.
func NewCache(d Device, blockSize int, maxBytes int64) *Cache {
	if blockSize <= 0 {
		panic("dev.NewCache: block size must be positive")
	}
	bs := int64(blockSize)
	c := &Cache{d: d, bs: bs, nblocks: (d.Size() + bs - 1) / bs, blocks: map[int64]*cblock{}}
	c.max = int(min(maxBytes/bs, 1<<30))
	if c.max < 1 {
		c.max = 1
	}
	// Read up to 64 KiB on a miss, but never more than an eighth of the
	// cache, so that read-ahead cannot push out what is being used.
	c.readahead = max(1, min((64<<10)/bs, int64(c.max/8)))
	return c
}

// BlockSize is the cache's block size in bytes.
func (c *Cache) BlockSize() int { return int(c.bs) }

// Device returns the cached device.
func (c *Cache) Device() Device { return c.d }

func (c *Cache) checkBlock(blk int64) error {
	if blk < 0 || blk >= c.nblocks {
		return fmt.Errorf("%s: block %d (of %d bytes) is outside the device: %w", c.d.Name(), blk, c.bs, ErrOutOfRange)
	}
	return nil
}

// Get returns a copy of block blk, which the caller may keep and change
// (changes reach the cache only through Write).
func (c *Cache) Get(blk int64) ([]byte, error) {
	out := make([]byte, c.bs)
	err := c.withBlock(blk, c.readahead, func(b *cblock) { copy(out, b.data) })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Write replaces block blk with data (len(data) must be the block size)
// and marks it dirty; the device is written by Flush or on eviction.
func (c *Cache) Write(blk int64, data []byte) error {
	if c.d.ReadOnly() {
		return ErrReadOnly
	}
	if int64(len(data)) != c.bs {
		return fmt.Errorf("%s: cache write of %d bytes, want a block of %d", c.d.Name(), len(data), c.bs)
	}
	if err := c.checkBlock(blk); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.blocks[blk]
	if !ok {
		b = &cblock{n: blk, data: make([]byte, c.bs)}
		b.elem = c.lru.PushFront(b)
		c.blocks[blk] = b
	} else {
		c.lru.MoveToFront(b.elem)
	}
	copy(b.data, data)
	b.dirty = true
	c.evictLocked()
	return nil
}

// ReadAt reads len(p) bytes at byte offset off through the cache, as
// io.ReaderAt: short reads at the end of the device return io.EOF.
func (c *Cache) ReadAt(p []byte, off int64) (int, error) {
	size := c.d.Size()
	if off < 0 {
		return 0, fmt.Errorf("%s: negative offset %d", c.d.Name(), off)
	}
	if off >= size {
		return 0, io.EOF
	}
	want := len(p)
	if int64(len(p)) > size-off {
		p = p[:size-off]
	}
	done := 0
	for done < len(p) {
		pos := off + int64(done)
		blk, in := pos/c.bs, pos%c.bs
		// Blocks still wanted by this read, so that a long read misses
		// with one large device read instead of many small ones.
		run := (off+int64(len(p))-1)/c.bs - blk + 1
		var n int
		err := c.withBlock(blk, max(run, c.readahead), func(b *cblock) { n = copy(p[done:], b.data[in:]) })
		if err != nil {
			return done, err
		}
		done += n
	}
	if done < want {
		return done, io.EOF
	}
	return done, nil
}

// WriteAt writes p at byte offset off through the cache (dirty blocks,
// read first where p covers them only partly). A write that does not fit
// in the device fails with ErrOutOfRange and changes nothing.
func (c *Cache) WriteAt(p []byte, off int64) (int, error) {
	if c.d.ReadOnly() {
		return 0, ErrReadOnly
	}
	size := c.d.Size()
	if off < 0 || off > size || int64(len(p)) > size-off {
		return 0, ErrOutOfRange
	}
	done := 0
	for done < len(p) {
		pos := off + int64(done)
		blk, in := pos/c.bs, pos%c.bs
		n := int(min(c.bs-in, int64(len(p)-done)))
		if in == 0 && int64(n) == c.bs {
			if err := c.Write(blk, p[done:done+n]); err != nil {
				return done, err
			}
		} else {
			err := c.withBlock(blk, 1, func(b *cblock) {
				copy(b.data[in:], p[done:done+n])
				b.dirty = true
			})
			if err != nil {
				return done, err
			}
		}
		done += n
	}
	return done, nil
}

// withBlock runs fn on block blk with the cache lock held, reading it (and
// up to run-1 following uncached blocks) from the device if needed.
func (c *Cache) withBlock(blk, run int64, fn func(*cblock)) error {
	if err := c.checkBlock(blk); err != nil {
		return err
	}
	for tries := 0; ; tries++ {
		c.mu.Lock()
		if b, ok := c.blocks[blk]; ok {
			c.lru.MoveToFront(b.elem)
			fn(b)
			c.mu.Unlock()
			return nil
		}
		// Read only blocks not cached yet, and no more than fit.
		n := int64(1)
		for n < run && n < int64(c.max) && blk+n < c.nblocks && c.blocks[blk+n] == nil {
			n++
		}
		epoch := c.epoch
		locked := tries >= 3 // after repeated races, read under the lock
		if !locked {
			c.mu.Unlock()
		}
		bufs, err := c.fetch(blk, n)
		if !locked {
			c.mu.Lock()
		}
		if err != nil {
			c.mu.Unlock()
			return err
		}
		if c.epoch != epoch {
			// The device changed while we read it (a write-back or an
			// invalidation): what we read may be stale.
			c.mu.Unlock()
			continue
		}
		// Insert the read-ahead blocks as less recent than blk.
		for i := len(bufs) - 1; i >= 0; i-- {
			k := blk + int64(i)
			if b, ok := c.blocks[k]; ok {
				c.lru.MoveToFront(b.elem)
				continue
			}
			b := &cblock{n: k, data: bufs[i]}
			b.elem = c.lru.PushFront(b)
			c.blocks[k] = b
		}
		fn(c.blocks[blk])
		c.evictLocked()
		c.mu.Unlock()
		return nil
	}
}

// fetch reads n blocks from blk with one device read. If that fails it
// falls back to blk alone, so one bad sector does not fail its neighbours.
func (c *Cache) fetch(blk, n int64) ([][]byte, error) {
	buf := make([]byte, n*c.bs)
	got, err := c.d.ReadAt(buf, blk*c.bs)
	if err != nil && !errors.Is(err, io.EOF) {
		if n > 1 {
			return c.fetch(blk, 1)
		}
		return nil, err
	}
	// A short read can only be the device's partial last block; the rest
	// of the buffer stays zero.
	_ = got
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = buf[int64(i)*c.bs : int64(i+1)*c.bs : int64(i+1)*c.bs]
	}
	return bufs, nil
}

// writeBack writes the device part of blocks first..first+len(bs)-1.
// Called with the lock held.
func (c *Cache) writeBackLocked(first int64, data []byte) error {
	off := first * c.bs
	if rest := c.d.Size() - off; int64(len(data)) > rest {
		data = data[:rest]
	}
	c.epoch++
	_, err := c.d.WriteAt(data, off)
	return err
}

// evictLocked drops least recently used blocks until the cache fits,
// writing dirty ones back. A failed write-back keeps the block (dirty) and
// is reported by the next Flush.
func (c *Cache) evictLocked() {
	for len(c.blocks) > c.max {
		e := c.lru.Back()
		b := e.Value.(*cblock)
		if b.dirty {
			if err := c.writeBackLocked(b.n, b.data); err != nil {
				if c.err == nil {
					c.err = fmt.Errorf("%s: writing back block %d: %w", c.d.Name(), b.n, err)
				}
				c.lru.MoveToFront(e)
				return
			}
			b.dirty = false
		}
		c.lru.Remove(e)
		delete(c.blocks, b.n)
	}
}

// maxRun bounds one Flush write.
const maxRun = 1 << 20

// Flush writes every dirty block to the device in ascending block order,
// joining adjacent blocks into single writes, then syncs the device.
func (c *Cache) Flush() error {
	c.mu.Lock()
	var dirty []*cblock
	for _, b := range c.blocks {
		if b.dirty {
			dirty = append(dirty, b)
		}
	}
	sort.Slice(dirty, func(i, j int) bool { return dirty[i].n < dirty[j].n })
	var ferr error
	for i := 0; i < len(dirty); {
		j := i + 1
		for j < len(dirty) && dirty[j].n == dirty[j-1].n+1 && int64(j-i+1)*c.bs <= maxRun {
			j++
		}
		var data []byte
		if j-i == 1 {
			data = dirty[i].data
		} else {
			data = make([]byte, 0, int64(j-i)*c.bs)
			for _, b := range dirty[i:j] {
				data = append(data, b.data...)
			}
		}
		if err := c.writeBackLocked(dirty[i].n, data); err != nil {
			if ferr == nil {
				ferr = fmt.Errorf("%s: writing blocks %d-%d: %w", c.d.Name(), dirty[i].n, dirty[j-1].n, err)
			}
		} else {
			for _, b := range dirty[i:j] {
				b.dirty = false
			}
		}
		i = j
	}
	if ferr == nil {
		c.err = nil // everything that failed before has now been written
	}
	c.evictLocked()
	c.mu.Unlock()
	if ferr != nil {
		return ferr
	}
	if c.d.ReadOnly() {
		return nil
	}
	return c.d.Sync()
}

// Invalidate drops block blk from the cache, discarding it even if it is
// dirty: the caller has written (or freed) the block on the device itself.
func (c *Cache) Invalidate(blk int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	if b, ok := c.blocks[blk]; ok {
		c.lru.Remove(b.elem)
		delete(c.blocks, blk)
	}
}

// InvalidateRange drops every block that meets the byte range
// [off, off+n), dirty ones included (see Invalidate).
func (c *Cache) InvalidateRange(off, n int64) {
	if n <= 0 || off < 0 {
		return
	}
	first, last := off/c.bs, (off+n-1)/c.bs
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	drop := func(b *cblock) {
		c.lru.Remove(b.elem)
		delete(c.blocks, b.n)
	}
	if last-first+1 > int64(len(c.blocks)) {
		for k, b := range c.blocks {
			if k >= first && k <= last {
				drop(b)
			}
		}
		return
	}
	for k := first; k <= last; k++ {
		if b, ok := c.blocks[k]; ok {
			drop(b)
		}
	}
}

// InvalidateAll drops every block, dirty ones included.
func (c *Cache) InvalidateAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	c.blocks = map[int64]*cblock{}
	c.lru.Init()
}

// Dirty reports how many blocks wait to be written.
func (c *Cache) Dirty() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, b := range c.blocks {
		if b.dirty {
			n++
		}
	}
	return n
}
