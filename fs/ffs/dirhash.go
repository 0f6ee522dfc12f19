package ffs

// Directory hashing, after NetBSD's UFS_DIRHASH (sys/ufs/ufs/ufs_dirhash.c):
// a directory of some size gets, on its first lookup, an in-memory index
// from each name to its entry's offset (and, here, its inode number), plus
// the free space of every DIRBLKSIZ chunk (NetBSD's dh_blkfree), so that
// a lookup, a negative lookup included, and the search for room on
// create cost no scan of the directory. The entry code keeps it exact;
// anything unexpected (a name not where the index says, a chunk that does
// not parse, an I/O error half way) drops it, and the plain scan takes
// over, as ufsdirhash_free does on NetBSD. All hashes together are held
// to dirhashMaxMem (ufs_dirhashmaxmem), the least recently used dropped
// first (ufsdirhash_recycle).
//
// Locking. The contents of a published hash (n.dh) change only under the
// mount's mu held for writing (enter, unenter, rewrite), and are read
// under mu held at least for reading, so they need no lock of their own.
// A hash is built privately (under mu for reading, serialised per
// directory by dhBuild) and then published. Dropping one, which may
// happen from any goroutine (LRU recycling by another directory or
// mount, vnode reclaim), only unpublishes it and takes it off the list:
// it never touches its maps, so whoever still holds it reads consistent,
// if detached, data, and the next user rebuilds from the disk. The list
// and the memory counts are guarded by dhList.mu.

import (
	"sort"
	"sync"
	"sync/atomic"

	"github.com/rumpfs/rumpfs/fs/ffs/layout"
)

var (
	// dirhashMinChunks is the size, in DIRBLKSIZ chunks, from which a
	// directory is hashed (NetBSD's ufs_dirhashminblks, 5 there). Here
	// every directory is: measured on BenchmarkCopyInSmall (100 entries
	// a directory, built up from empty), 1 beat 2 by a few per cent and
	// 5 was slower than no hash at all, the scans of the first chunks
	// costing more than building the map once. Tests raise it to keep
	// small directories on the scan.
	dirhashMinChunks int64 = 1
	// dirhashMaxMem bounds the memory of all hashes together (NetBSD's
	// ufs_dirhashmaxmem, 2 MiB by default there too).
	dirhashMaxMem int64 = 2 << 20
)

// Memory estimates for the accounting: a Go map slot of string key and
// dhEnt value with its share of the bucket overhead, plus the name; two
// bytes of free count and four of tree per chunk.
const (
	dhEntMem   = 56
	dhChunkMem = 6
	dhBaseMem  = 256
)

type dhEnt struct {
	off int64 // the entry's byte offset in the directory
	ino uint32
}

type dirhash struct {
	n     *node
	names map[string]dhEnt
	// free[i] is chunk i's room for entries: the slack after every live
	// entry's DIRSIZ, which ufs_direnter reaches by compacting the chunk.
	free []uint16
	// tree is a max-tree over free (leaves from index len(tree)/2), so
	// that the first chunk with room for a new entry is found in
	// O(log chunks), as the scan would find it.
	tree []uint16
	used atomic.Int64 // LRU stamp
	// Under dhList.mu:
	mem        int64
	registered bool
}

var dhList struct {
	mu       sync.Mutex
	all      map[*dirhash]struct{}
	mem      int64
	recycled int64 // hashes dropped for memory, for tests and tuning
	clock    atomic.Int64
}

func (dh *dirhash) touch() { dh.used.Store(dhList.clock.Add(1)) }

// getDirhash returns n's hash, building it if n is big enough and
// hashing is on, or nil: then the caller scans. mu held (for reading at
// least).
func (n *node) getDirhash() *dirhash {
	if dh := n.dh.Load(); dh != nil {
		dh.touch()
		return dh
	}
	m := n.m
	if !m.dirhash || n.nohash || n.freed || !n.isDir() || n.size/layout.DIRBLKSIZ < dirhashMinChunks {
		return nil
	}
	if n.dhNoBuild.Load() == n.size+1 {
		// A build at this size failed (too big, or a name twice): not
		// again until the directory grows, or every lookup would pay a
		// scan and a map.
		return nil
	}
	n.dhBuild.Lock()
	defer n.dhBuild.Unlock()
	if dh := n.dh.Load(); dh != nil {
		dh.touch()
		return dh
	}
	nchunks := n.size / layout.DIRBLKSIZ
	dh := &dirhash{n: n, names: map[string]dhEnt{}, free: make([]uint16, nchunks)}
	ok := true
	// ufsdirhash_build refuses a hash bigger than half the budget.
	limit := dirhashMaxMem / 2
	mem := dhBaseMem + nchunks*dhChunkMem
	err := n.scanDirRaw(0, func(e dirent) bool {
		c := e.off / layout.DIRBLKSIZ
		if c >= nchunks {
			ok = false
			return false
		}
		used := 0
		if e.ino != 0 {
			if _, dup := dh.names[string(e.nb)]; dup {
				// Two entries of one name: leave this directory to
				// the scan, which finds the first as before.
				ok = false
				return false
			}
			dh.names[string(e.nb)] = dhEnt{off: e.off, ino: e.ino}
			used = layout.DirSize(len(e.nb))
			if mem += dhEntMem + int64(len(e.nb)); mem > limit {
				ok = false
				return false
			}
		}
		dh.free[c] += uint16(e.reclen - used)
		return true
	})
	if err != nil {
		return nil
	}
	if !ok {
		n.dhNoBuild.Store(n.size + 1)
		return nil
	}
	dh.buildTree()
	dh.touch()
	dhList.mu.Lock()
	if dhList.all == nil {
		dhList.all = map[*dirhash]struct{}{}
	}
	dhList.all[dh] = struct{}{}
	dh.registered = true
	dh.mem = mem
	dhList.mem += mem
	// Published under the list lock, so that a recycler never unlists
	// a hash that then gets published.
	n.dh.Store(dh)
	dhRecycleLocked(dh)
	dhList.mu.Unlock()
	return dh
}

// dhRecycleLocked drops least recently used hashes other than keep while
// the total is over budget (ufsdirhash_recycle), down to 7/8 of it, so
// that the pass over the list (sorted by last use) is paid once per many
// builds rather than on each. keep goes last, only if alone over budget.
// dhList.mu held.
func dhRecycleLocked(keep *dirhash) {
	if dhList.mem <= dirhashMaxMem {
		return
	}
	type aged struct {
		dh   *dirhash
		used int64
	}
	l := make([]aged, 0, len(dhList.all))
	for dh := range dhList.all {
		if dh != keep {
			l = append(l, aged{dh, dh.used.Load()})
		}
	}
	sort.Slice(l, func(i, j int) bool { return l[i].used < l[j].used })
	for _, a := range l {
		if dhList.mem <= dirhashMaxMem-dirhashMaxMem/8 {
			return
		}
		dhList.recycled++
		dhUnlistLocked(a.dh)
	}
	if dhList.mem > dirhashMaxMem && keep != nil {
		dhList.recycled++
		dhUnlistLocked(keep)
	}
}

func dhUnlistLocked(dh *dirhash) {
	if !dh.registered {
		return
	}
	dh.registered = false
	delete(dhList.all, dh)
	dhList.mem -= dh.mem
	dh.n.dh.CompareAndSwap(dh, nil)
}

// dropDirhash forgets n's hash, if any (any goroutine).
func (n *node) dropDirhash() {
	dh := n.dh.Load()
	if dh == nil {
		return
	}
	dhList.mu.Lock()
	dhUnlistLocked(dh)
	dhList.mu.Unlock()
	n.dh.CompareAndSwap(dh, nil)
}

// dirhashBad drops n's hash after finding it disagree with the disk, with
// a warning: the scan answers from now on (ufsdirhash_free after a
// failed ufsdirhash_checkblock on NetBSD).
func (n *node) dirhashBad(what string) {
	n.m.warnf("ffs: %s: directory inode %d: dirhash dropped: %s", n.m.name, n.ino, what)
	n.dropDirhash()
}

// grow accounts delta more bytes to dh, recycling others if need be.
func (dh *dirhash) grow(delta int64) {
	dhList.mu.Lock()
	if dh.registered {
		dh.mem += delta
		dhList.mem += delta
		dhRecycleLocked(dh)
	}
	dhList.mu.Unlock()
}

func (dh *dirhash) buildTree() {
	size := 1
	for size < len(dh.free) {
		size <<= 1
	}
	dh.tree = make([]uint16, 2*size)
	copy(dh.tree[size:], dh.free)
	for i := size - 1; i >= 1; i-- {
		dh.tree[i] = max(dh.tree[2*i], dh.tree[2*i+1])
	}
}

// setFree records chunk c's free space.
func (dh *dirhash) setFree(c int64, free int) {
	dh.free[c] = uint16(free)
	size := int64(len(dh.tree) / 2)
	i := size + c
	dh.tree[i] = uint16(free)
	for i >>= 1; i >= 1; i >>= 1 {
		dh.tree[i] = max(dh.tree[2*i], dh.tree[2*i+1])
	}
}

// appendChunk adds a chunk to the end of the directory.
func (dh *dirhash) appendChunk(free int) {
	dh.free = append(dh.free, uint16(free))
	if len(dh.free) > len(dh.tree)/2 {
		dh.buildTree()
	} else {
		dh.setFree(int64(len(dh.free)-1), free)
	}
}

// findFree returns the first chunk with at least need bytes of room, or
// -1 (ufsdirhash_findfree; NetBSD takes any such block, this the first,
// as the scan does).
func (dh *dirhash) findFree(need int) int64 {
	if len(dh.tree) < 2 || int(dh.tree[1]) < need {
		return -1
	}
	i := 1
	size := len(dh.tree) / 2
	for i < size {
		if int(dh.tree[2*i]) >= need {
			i = 2 * i
		} else {
			i = 2*i + 1
		}
	}
	c := int64(i - size)
	if c >= int64(len(dh.free)) {
		return -1
	}
	return c
}

// chunkSlack sums the room of a chunk's entries (reclen beyond DIRSIZ of
// the live ones, all of a free slot's), walking only the headers; ok is
// false if the chunk does not hold together.
func (n *node) chunkSlack(chunk []byte) (int, bool) {
	g := n.m.g
	slack := 0
	for pos := 0; pos < len(chunk); {
		h, ok := layout.DecodeDirectHeader(chunk[pos:], g.bo, g.oldDir)
		if !ok {
			return 0, false
		}
		rl := int(h.Reclen)
		if rl < layout.DirectHeaderSize || rl%4 != 0 || pos+rl > len(chunk) {
			return 0, false
		}
		used := 0
		if h.Ino != 0 {
			used = layout.DirSize(int(h.Namlen))
			if used > rl {
				return 0, false
			}
		}
		slack += rl - used
		pos += rl
	}
	return slack, true
}

// dhRefreshChunk brings dh's view of chunk c (just written) up to date:
// its free space and the offsets of its entries, which compaction moves.
// added is the name just entered in it, if any. It reports false if the
// chunk's names disagree with the index.
func (n *node) dhRefreshChunk(dh *dirhash, c int64, chunk []byte, added string) bool {
	slack, ok := n.chunkSlack(chunk)
	if !ok {
		return false
	}
	dh.setFree(c, slack)
	base := c * layout.DIRBLKSIZ
	good := true
	err := n.parseChunkRaw(chunk, base, func(e dirent) bool {
		if e.ino == 0 {
			return true
		}
		old, ok := dh.names[string(e.nb)]
		switch {
		case !ok:
			good = false
			return false
		case old.off != e.off:
			if old.off/layout.DIRBLKSIZ != c && string(e.nb) != added {
				// The index places this name in another chunk.
				good = false
				return false
			}
			dh.names[string(e.nb)] = dhEnt{off: e.off, ino: old.ino}
		}
		return true
	})
	return err == nil && good
}
