package cd9660

import (
	"container/list"
	"sync"
)

// ncache is the vnode cache: one node per key (the byte address of a
// file's directory record, or of a directory's "." record) while it is
// referenced, and up to max idle ones after. Nodes are immutable apart from
// their directory index, so two builds racing for one key are harmless:
// the first inserted wins.
type ncache struct {
	mu    sync.Mutex
	nodes map[uint64]*centry
	idle  list.List
	max   int
	// evict is told about nodes leaving the cache.
	evict func(*node)
}

type centry struct {
	key    uint64
	n      *node
	refs   int
	pinned bool
	elem   *list.Element
}

func (c *ncache) take(e *centry) {
	if e.elem != nil {
		c.idle.Remove(e.elem)
		e.elem = nil
	}
	e.refs++
}

// get returns the node for key with a reference, building it if need be.
func (c *ncache) get(key uint64, build func() (*node, error)) (*node, error) {
	c.mu.Lock()
	if e, ok := c.nodes[key]; ok {
		c.take(e)
		c.mu.Unlock()
		return e.n, nil
	}
	c.mu.Unlock()
	n, err := build()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nodes == nil {
		c.nodes = map[uint64]*centry{}
	}
	if e, ok := c.nodes[key]; ok {
		c.take(e)
		return e.n, nil
	}
	c.nodes[key] = &centry{key: key, n: n, refs: 1}
	return n, nil
}

// pin inserts a node that never leaves the cache (the root).
func (c *ncache) pin(key uint64, n *node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nodes == nil {
		c.nodes = map[uint64]*centry{}
	}
	c.nodes[key] = &centry{key: key, n: n, pinned: true}
}

// ref adds a reference to a node the caller holds one on.
func (c *ncache) ref(key uint64) {
	c.mu.Lock()
	if e, ok := c.nodes[key]; ok {
		c.take(e)
	}
	c.mu.Unlock()
}

// rele drops a reference; unbalanced calls are ignored.
func (c *ncache) rele(key uint64) {
	c.mu.Lock()
	e, ok := c.nodes[key]
	if !ok || e.refs <= 0 {
		c.mu.Unlock()
		return
	}
	e.refs--
	var gone []*node
	if e.refs == 0 && !e.pinned {
		e.elem = c.idle.PushBack(e)
		for c.idle.Len() > c.max {
			old := c.idle.Remove(c.idle.Front()).(*centry)
			old.elem = nil
			delete(c.nodes, old.key)
			gone = append(gone, old.n)
		}
	}
	c.mu.Unlock()
	if c.evict != nil {
		for _, n := range gone {
			c.evict(n)
		}
	}
}

func (c *ncache) clear() {
	c.mu.Lock()
	c.nodes = nil
	c.idle.Init()
	c.mu.Unlock()
}
