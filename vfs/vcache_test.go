package vfs_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rumpfs/rumpfs/vfs"
)

type inode struct{ ino uint64 }

func TestVCacheLifecycle(t *testing.T) {
	var loads, inactive, reclaimed atomic.Int32
	unlinked := map[uint64]bool{7: true}
	c := &vfs.VCache[*inode]{
		Load: func(ino uint64) (*inode, error) { loads.Add(1); return &inode{ino}, nil },
		Inactive: func(ino uint64, n *inode) bool {
			inactive.Add(1)
			return !unlinked[ino] // an unlinked file is freed, not kept
		},
		Reclaim: func(ino uint64, n *inode) { reclaimed.Add(1) },
		MaxIdle: 2,
	}
	a, _ := c.Get(5)
	b, _ := c.Get(5)
	if a != b || loads.Load() != 1 {
		t.Fatalf("two Gets of one inode gave %p %p after %d loads", a, b, loads.Load())
	}
	c.Rele(5)
	if inactive.Load() != 0 {
		t.Fatal("inactive ran while a reference remained")
	}
	c.Rele(5)
	if inactive.Load() != 1 || c.Busy() != 0 {
		t.Fatalf("after the last Rele: inactive %d, busy %d", inactive.Load(), c.Busy())
	}
	// Idle nodes are found again without a load.
	if n, _ := c.Get(5); n != a || loads.Load() != 1 {
		t.Fatal("an idle node was loaded again")
	}
	c.Rele(5)
	// The unlinked inode is reclaimed at once.
	c.Get(7)
	c.Rele(7)
	if _, ok := c.Lookup(7); ok || reclaimed.Load() != 1 {
		t.Fatalf("unlinked inode still cached (reclaimed %d)", reclaimed.Load())
	}
	// The idle list is bounded.
	for ino := uint64(10); ino < 15; ino++ {
		c.Get(ino)
		c.Rele(ino)
	}
	if reclaimed.Load() < 4 {
		t.Fatalf("idle list grew past MaxIdle: %d reclaimed", reclaimed.Load())
	}
}

func TestVCacheConcurrentLoadOnce(t *testing.T) {
	var loads atomic.Int32
	gate := make(chan struct{})
	c := &vfs.VCache[*inode]{Load: func(ino uint64) (*inode, error) {
		<-gate
		loads.Add(1)
		return &inode{ino}, nil
	}}
	var wg sync.WaitGroup
	got := make([]*inode, 8)
	for i := range got {
		wg.Add(1)
		go func() { defer wg.Done(); got[i], _ = c.Get(3) }()
	}
	close(gate)
	wg.Wait()
	for _, g := range got {
		if g != got[0] {
			t.Fatal("concurrent Gets returned different nodes")
		}
	}
	if loads.Load() != 1 {
		t.Fatalf("%d loads for one inode", loads.Load())
	}
}
