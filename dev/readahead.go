package dev

import (
	"sync"
)

// Read-ahead for small reads of a read-only image.
//
// File systems read file data straight from the device in the sizes
// their callers ask for. Extracting a tree of small files then means one
// small pread per file, with reads of metadata (FAT sectors, directory
// blocks, inode tables) elsewhere in the image between them: the kernel's
// own read-ahead sees no sequential stream in that mix, and on a cold
// image most of those preads wait for the disk. mtools reads the image in
// larger pieces and is faster for it (issue #6: 10,129 preads for a FAT
// tree of 10,000 files against mcopy's 1,678 reads).
//
// So a read-only image keeps a few aligned windows of raWindow bytes: a
// small read that misses loads the whole window around it with one
// pread, and the reads that follow in that region (the next files' data,
// the next directory block) are copies from memory. Reads of raWindow/2
// or more go to the image directly, as before: large file data gains
// nothing from a copy. Only read-only devices have windows: nothing in
// this process writes the image (it is opened O_RDONLY), and the image's
// lock keeps read-write openers out, so a window cannot go stale.
const (
	raWindow  = 128 << 10
	raWindows = 16 // 2 MiB at most
)

type raCache struct {
	mu    sync.Mutex
	wins  []*raWin // most recently used first
	spare [][]byte // buffers of evicted windows, for the next loads
}

type raWin struct {
	off  int64 // multiple of raWindow
	data []byte
}

// read serves p at off from the windows, loading the window that holds
// off on a miss with load (a pread of the image). It reports false when
// the read is not for the windows (too large, or crossing a window's
// end), and the caller reads the image itself.
func (c *raCache) read(p []byte, off int64, size int64, load func([]byte, int64) (int, error)) (int, bool, error) {
	if len(p) == 0 || len(p) >= raWindow/2 {
		return 0, false, nil
	}
	woff := off - off%raWindow
	if off+int64(len(p)) > woff+raWindow {
		return 0, false, nil // spans two windows: rare, read directly
	}
	c.mu.Lock()
	for i, w := range c.wins {
		if w.off == woff {
			n := 0
			if in := off - woff; in < int64(len(w.data)) {
				n = copy(p, w.data[in:])
			}
			copy(c.wins[1:i+1], c.wins[:i])
			c.wins[0] = w
			c.mu.Unlock()
			return n, true, nil
		}
	}
	c.mu.Unlock()
	// Loaded without the lock, so readers of other windows do not wait;
	// two readers missing the same window both load it, harmlessly.
	c.mu.Lock()
	var data []byte
	if k := len(c.spare); k > 0 {
		data, c.spare = c.spare[k-1], c.spare[:k-1]
	} else {
		data = make([]byte, raWindow)
	}
	c.mu.Unlock()
	data = data[:min(raWindow, size-woff)]
	n, err := load(data, woff)
	if err != nil && n < len(data) {
		c.mu.Lock()
		c.spare = append(c.spare, data[:cap(data)])
		c.mu.Unlock()
		return 0, false, nil // let the direct read report it
	}
	// Copied out before the window is shared: from then on its buffer is
	// read only under the lock, and an eviction may hand it to a load.
	k := 0
	if in := off - woff; in < int64(n) {
		k = copy(p, data[in:n])
	}
	w := &raWin{off: woff, data: data[:n]}
	c.mu.Lock()
	if len(c.wins) < raWindows {
		c.wins = append(c.wins, nil)
	} else {
		c.spare = append(c.spare, c.wins[len(c.wins)-1].data[:raWindow])
	}
	copy(c.wins[1:], c.wins[:len(c.wins)-1])
	c.wins[0] = w
	c.mu.Unlock()
	return k, true, nil
}
