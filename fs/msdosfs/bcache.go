package msdosfs

// A small write-back cache of device blocks for metadata: the FATs, the
// fixed root directory and directory clusters. File data bypasses it in
// large runs (readRun/writeRun in node.go); a direct data write also
// refreshes any cached copy of the same bytes, so the cache never writes
// stale data back over it.

import (
	"container/list"
	"io"
	"sort"
	"sync"
	"syscall"

	"github.com/rumpfs/rumpfs/dev"
)

const (
	cacheBlock    = 4096
	cacheMaxBlock = 2048 // 8 MiB of metadata
)

type cbuf struct {
	bn    int64
	data  []byte // len = valid bytes (short at the end of the device)
	dirty bool
	elem  *list.Element
}

type bcache struct {
	d      dev.Device
	mu     sync.Mutex
	blocks map[int64]*cbuf
	lru    list.List // front = most recently used
	ndirty int
	err    error // first write-back failure, reported by flush
}

func newBcache(d dev.Device) *bcache {
	return &bcache{d: d, blocks: map[int64]*cbuf{}}
}

// get returns block bn, reading it if needed. Called with mu held.
func (c *bcache) get(bn int64) (*cbuf, error) {
	if b, ok := c.blocks[bn]; ok {
		c.lru.MoveToFront(b.elem)
		return b, nil
	}
	off := bn * cacheBlock
	size := c.d.Size()
	if off >= size || off < 0 {
		return nil, syscall.EIO
	}
	n := int64(cacheBlock)
	if off+n > size {
		n = size - off
	}
	data := make([]byte, n)
	if _, err := c.d.ReadAt(data, off); err != nil && err != io.EOF {
		return nil, syscall.EIO
	}
	b := &cbuf{bn: bn, data: data}
	b.elem = c.lru.PushFront(b)
	c.blocks[bn] = b
	c.evict()
	return b, nil
}

// evict drops the least recently used blocks past the bound, writing dirty
// ones first.
func (c *bcache) evict() {
	for c.lru.Len() > cacheMaxBlock {
		b := c.lru.Back().Value.(*cbuf)
		if b.dirty {
			if _, err := c.d.WriteAt(b.data, b.bn*cacheBlock); err != nil && c.err == nil {
				c.err = err
			}
			b.dirty = false
			c.ndirty--
		}
		c.lru.Remove(b.elem)
		delete(c.blocks, b.bn)
	}
}

// read copies len(p) bytes at off into p.
func (c *bcache) read(off int64, p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(p) > 0 {
		b, err := c.get(off / cacheBlock)
		if err != nil {
			return err
		}
		o := int(off % cacheBlock)
		if o >= len(b.data) {
			return syscall.EIO
		}
		n := copy(p, b.data[o:])
		p = p[n:]
		off += int64(n)
	}
	return nil
}

// write copies p into the cache at off and marks the blocks dirty.
func (c *bcache) write(off int64, p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(p) > 0 {
		b, err := c.get(off / cacheBlock)
		if err != nil {
			return err
		}
		o := int(off % cacheBlock)
		if o >= len(b.data) {
			return syscall.EIO
		}
		n := copy(b.data[o:], p)
		if !b.dirty {
			b.dirty = true
			c.ndirty++
		}
		p = p[n:]
		off += int64(n)
	}
	return nil
}

// noteWrite refreshes cached copies of bytes just written to the device
// directly.
func (c *bcache) noteWrite(off int64, p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.blocks) == 0 {
		return
	}
	end := off + int64(len(p))
	for bn := off / cacheBlock; bn*cacheBlock < end; bn++ {
		b, ok := c.blocks[bn]
		if !ok {
			continue
		}
		bs := bn * cacheBlock
		lo, hi := max(bs, off), min(bs+int64(len(b.data)), end)
		if lo < hi {
			copy(b.data[lo-bs:hi-bs], p[lo-off:hi-off])
		}
	}
}

// dirtyCount reports how many blocks wait for write-back.
func (c *bcache) dirtyCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ndirty
}

// flush writes every dirty block, adjacent ones in one WriteAt.
func (c *bcache) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var dirty []*cbuf
	for _, b := range c.blocks {
		if b.dirty {
			dirty = append(dirty, b)
		}
	}
	sort.Slice(dirty, func(i, j int) bool { return dirty[i].bn < dirty[j].bn })
	for i := 0; i < len(dirty); {
		j := i + 1
		for j < len(dirty) && dirty[j].bn == dirty[j-1].bn+1 && len(dirty[j-1].data) == cacheBlock && j-i < 256 {
			j++
		}
		var buf []byte
		if j == i+1 {
			buf = dirty[i].data
		} else {
			for _, b := range dirty[i:j] {
				buf = append(buf, b.data...)
			}
		}
		if _, err := c.d.WriteAt(buf, dirty[i].bn*cacheBlock); err != nil && c.err == nil {
			c.err = err
		}
		for _, b := range dirty[i:j] {
			b.dirty = false
			c.ndirty--
		}
		i = j
	}
	err := c.err
	c.err = nil
	return err
}
