package vfs

import (
	"container/list"
	"sync"
)

// VCache is NetBSD's vcache for a file system: one in-memory node per inode
// number, with a use count. A node whose count falls to zero is handed to
// Inactive (where an unlinked file is freed on disk) and, if Inactive says
// to keep it, parked on an idle list of at most MaxIdle nodes so that the
// next lookup finds it without reading the disk; past that the oldest idle
// node is passed to Reclaim and forgotten.
//
// Callers must not hold locks that Load, Inactive or Reclaim take.
type VCache[T any] struct {
	// Load reads inode ino from disk; it runs without the cache lock, once
	// per ino even when many callers ask at the same time.
	Load func(ino uint64) (T, error)
	// Inactive runs when the last reference is dropped. It returns whether
	// the node may stay cached. nil means keep.
	Inactive func(ino uint64, n T) (keep bool)
	// Reclaim runs when a node leaves the cache. nil means nothing to do.
	Reclaim func(ino uint64, n T)
	// MaxIdle bounds the idle list; 0 means 4096.
	MaxIdle int

	mu    sync.Mutex
	nodes map[uint64]*vcEntry[T]
	idle  list.List // of *vcEntry[T], oldest at the front
}

type vcEntry[T any] struct {
	ino     uint64
	node    T
	refs    int
	loading chan struct{} // closed when Load finished
	err     error
	elem    *list.Element // position on the idle list, nil while in use
}

// Get returns the node for ino with one more reference, loading it if need
// be.
func (c *VCache[T]) Get(ino uint64) (T, error) {
	c.mu.Lock()
	if c.nodes == nil {
		c.nodes = map[uint64]*vcEntry[T]{}
	}
	for {
		e, ok := c.nodes[ino]
		if !ok {
			break
		}
		if e.loading != nil {
			ch := e.loading
			c.mu.Unlock()
			<-ch
			c.mu.Lock()
			continue // look again: the load may have failed and left
		}
		c.take(e)
		c.mu.Unlock()
		return e.node, nil
	}
	e := &vcEntry[T]{ino: ino, refs: 1, loading: make(chan struct{})}
	c.nodes[ino] = e
	c.mu.Unlock()

	n, err := c.Load(ino)

	c.mu.Lock()
	ch := e.loading
	e.loading = nil
	if err != nil {
		delete(c.nodes, ino)
		c.mu.Unlock()
		close(ch)
		var zero T
		return zero, err
	}
	e.node = n
	c.mu.Unlock()
	close(ch)
	return n, nil
}

// Insert adds a node just created on disk with one reference. It replaces
// nothing: if ino is cached the cached node is returned with a reference.
func (c *VCache[T]) Insert(ino uint64, n T) T {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nodes == nil {
		c.nodes = map[uint64]*vcEntry[T]{}
	}
	if e, ok := c.nodes[ino]; ok && e.loading == nil {
		c.take(e)
		return e.node
	}
	c.nodes[ino] = &vcEntry[T]{ino: ino, node: n, refs: 1}
	return n
}

func (c *VCache[T]) take(e *vcEntry[T]) {
	if e.elem != nil {
		c.idle.Remove(e.elem)
		e.elem = nil
	}
	e.refs++
}

// Ref adds a reference to a node the caller already holds one on.
func (c *VCache[T]) Ref(ino uint64) {
	c.mu.Lock()
	if e, ok := c.nodes[ino]; ok {
		e.refs++
	}
	c.mu.Unlock()
}

// Rele drops a reference; at zero the node goes inactive.
func (c *VCache[T]) Rele(ino uint64) {
	c.mu.Lock()
	e, ok := c.nodes[ino]
	if !ok || e.refs <= 0 {
		c.mu.Unlock()
		return
	}
	e.refs--
	if e.refs > 0 {
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()

	keep := true
	if c.Inactive != nil {
		keep = c.Inactive(ino, e.node)
	}

	c.mu.Lock()
	if e.refs > 0 || c.nodes[ino] != e {
		// Somebody took it again while it was going inactive.
		c.mu.Unlock()
		return
	}
	var evict []*vcEntry[T]
	if !keep {
		delete(c.nodes, ino)
		evict = append(evict, e)
	} else {
		e.elem = c.idle.PushBack(e)
		max := c.MaxIdle
		if max == 0 {
			max = 4096
		}
		for c.idle.Len() > max {
			old := c.idle.Remove(c.idle.Front()).(*vcEntry[T])
			old.elem = nil
			delete(c.nodes, old.ino)
			evict = append(evict, old)
		}
	}
	c.mu.Unlock()
	if c.Reclaim != nil {
		for _, old := range evict {
			c.Reclaim(old.ino, old.node)
		}
	}
}

// Lookup returns a cached node without taking a reference, for code that
// must find an inode already in memory (rename fixing "..", sync).
func (c *VCache[T]) Lookup(ino uint64) (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.nodes[ino]
	if !ok || e.loading != nil {
		var zero T
		return zero, false
	}
	return e.node, true
}

// Each calls fn for every cached node (in use or idle), for sync.
func (c *VCache[T]) Each(fn func(ino uint64, n T)) {
	c.mu.Lock()
	list := make([]*vcEntry[T], 0, len(c.nodes))
	for _, e := range c.nodes {
		if e.loading == nil {
			list = append(list, e)
		}
	}
	c.mu.Unlock()
	for _, e := range list {
		fn(e.ino, e.node)
	}
}

// Busy reports how many nodes are in use (referenced), for unmount.
func (c *VCache[T]) Busy() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, e := range c.nodes {
		if e.refs > 0 {
			n++
		}
	}
	return n
}
