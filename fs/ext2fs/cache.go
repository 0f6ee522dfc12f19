package ext2fs

// A small bounded write-back cache of metadata blocks (bitmaps, inode
// tables, indirect and extent blocks, directories, xattr blocks).
//
// It is not dev.Cache on purpose. dev.Cache hands out copies and writes a
// dirty block back whenever it evicts it; this cache hands out the
// buffers themselves, pinned for the current write operation, and writes
// dirty ones only in flush, which runs between operations. So the image
// always holds the metadata of whole operations (plus file data written
// directly), never half of one: after a crash e2fsck -fy finds a state it
// can repair without losing what was fsync'ed (test/e2e TestExt2fsCrash).
// Moving to dev.Cache would mean turning every in-place update into
// Get/modify/Write and giving up that guarantee, or adding pinning to
// dev.Cache.
//
// Readers use it under the mount's read lock, writers under the write lock,
// so a buffer's bytes are never changed while someone reads them. Dirty
// buffers are never evicted (they leave the cache only through flush), and
// a buffer touched during the current write operation is not evicted
// either, so a writer may keep pointers to the buffers it works on.

import (
	"container/list"
	"sort"
	"sync"

	"github.com/rumpfs/rumpfs/dev"
)

type buf struct {
	blk   uint64
	data  []byte
	dirty bool
	gen   uint64
	elem  *list.Element
	// checked: the contents' checksum was verified since the block came
	// into the cache (changes keep it right from then on), so callers
	// that verify on every use may skip it.
	checked bool
}

type bcache struct {
	mu     sync.Mutex
	d      dev.Device
	bsize  int
	max    int
	m      map[uint64]*buf
	lru    list.List // clean and dirty buffers, least recently used first
	gen    uint64    // current write operation; buffers of it are pinned
	ndirty int
}

func newBcache(d dev.Device, bsize, max int) *bcache {
	return &bcache{d: d, bsize: bsize, max: max, m: map[uint64]*buf{}}
}

// beginOp starts a write operation: buffers touched from now on stay in
// memory until the next beginOp.
func (c *bcache) beginOp() {
	c.mu.Lock()
	c.gen++
	c.mu.Unlock()
}

// get returns block blk, reading it if need be.
func (c *bcache) get(blk uint64) (*buf, error) {
	c.mu.Lock()
	if b, ok := c.m[blk]; ok {
		c.lru.MoveToBack(b.elem)
		b.gen = c.gen
		c.mu.Unlock()
		return b, nil
	}
	c.mu.Unlock()
	data := make([]byte, c.bsize)
	if _, err := c.d.ReadAt(data, int64(blk)*int64(c.bsize)); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.m[blk]; ok { // someone else read it meanwhile
		return b, nil
	}
	b := &buf{blk: blk, data: data, gen: c.gen}
	c.insert(b)
	return b, nil
}

// getZero returns a zeroed buffer for a block just allocated, without
// reading it.
func (c *bcache) getZero(blk uint64) *buf {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.m[blk]; ok {
		clear(b.data)
		b.checked = false
		b.gen = c.gen
		c.lru.MoveToBack(b.elem)
		return b
	}
	b := &buf{blk: blk, data: make([]byte, c.bsize), gen: c.gen}
	c.insert(b)
	return b
}

func (c *bcache) insert(b *buf) {
	c.m[b.blk] = b
	b.elem = c.lru.PushBack(b)
	// Evict clean buffers not used by the current operation.
	for e := c.lru.Front(); e != nil && len(c.m) > c.max; {
		next := e.Next()
		o := e.Value.(*buf)
		if !o.dirty && o.gen != c.gen {
			c.lru.Remove(e)
			delete(c.m, o.blk)
		}
		e = next
	}
}

func (c *bcache) markDirty(b *buf) {
	c.mu.Lock()
	if !b.dirty {
		b.dirty = true
		c.ndirty++
	}
	if _, ok := c.m[b.blk]; !ok {
		// Should not happen (pinned), but never lose a write.
		c.insert(b)
	}
	c.mu.Unlock()
}

// forget drops a block that was freed, dirty or not: its old contents must
// never be written over whatever the block holds next.
func (c *bcache) forget(blk uint64) {
	c.mu.Lock()
	if b, ok := c.m[blk]; ok {
		if b.dirty {
			c.ndirty--
		}
		c.lru.Remove(b.elem)
		delete(c.m, blk)
	}
	c.mu.Unlock()
}

func (c *bcache) dirtyCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ndirty
}

// flush writes every dirty buffer in block order.
func (c *bcache) flush() error {
	c.mu.Lock()
	var list []*buf
	for _, b := range c.m {
		if b.dirty {
			list = append(list, b)
		}
	}
	c.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].blk < list[j].blk })
	for _, b := range list {
		if _, err := c.d.WriteAt(b.data, int64(b.blk)*int64(c.bsize)); err != nil {
			return err
		}
		c.mu.Lock()
		if b.dirty {
			b.dirty = false
			c.ndirty--
		}
		c.mu.Unlock()
	}
	return nil
}
