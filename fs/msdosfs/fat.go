package msdosfs

// The file allocation table: entries of 12, 16 or 28 bits, cluster chains
// walked with bounds and loop checks, and the in-memory map of used
// clusters (NetBSD's pm_inusemap) that allocation searches.

import (
	"io"
	"math/bits"
	"syscall"
)

// extent is a run of contiguous clusters in a chain.
type extent struct {
	clus  uint32 // first cluster
	count uint32
}

func (m *mount) eoc() uint32 {
	switch m.fatType {
	case 12:
		return fat12EOC
	case 16:
		return fat16EOC
	}
	return fat32EOC
}

// isEOC reports whether v ends a chain (0x?FF8 and up).
func (m *mount) isEOC(v uint32) bool {
	return v >= m.eoc()-7
}

func (m *mount) validClus(c uint32) bool { return c >= 2 && c <= m.nclusters+1 }

// fatEntryOff is the byte offset of entry n in FAT copy i.
func (m *mount) fatEntryOff(i int, n uint32) int64 {
	base := m.fatOff + int64(i)*m.fatBytes
	switch m.fatType {
	case 12:
		return base + int64(n) + int64(n)/2
	case 16:
		return base + int64(n)*2
	}
	return base + int64(n)*4
}

// fatGet reads entry n of the active FAT.
func (m *mount) fatGet(n uint32) (uint32, error) {
	off := m.fatEntryOff(m.activeFAT, n)
	var b [4]byte
	switch m.fatType {
	case 12:
		if err := m.bc.read(off, b[:2]); err != nil {
			return 0, err
		}
		v := uint32(le.Uint16(b[:]))
		if n&1 != 0 {
			return v >> 4, nil
		}
		return v & 0xFFF, nil
	case 16:
		if err := m.bc.read(off, b[:2]); err != nil {
			return 0, err
		}
		return uint32(le.Uint16(b[:])), nil
	}
	if err := m.bc.read(off, b[:4]); err != nil {
		return 0, err
	}
	return le.Uint32(b[:]) & fat32Mask, nil
}

// fatSet writes entry n in every FAT copy (only the active one when FAT32
// mirroring is off). FAT32's top four bits are preserved, as the spec asks.
func (m *mount) fatSet(n, v uint32) error {
	for i := 0; i < m.numFATs; i++ {
		if !m.mirror && i != m.activeFAT {
			continue
		}
		off := m.fatEntryOff(i, n)
		var b [4]byte
		switch m.fatType {
		case 12:
			if err := m.bc.read(off, b[:2]); err != nil {
				return err
			}
			old := le.Uint16(b[:])
			if n&1 != 0 {
				old = old&0x000F | uint16(v&0xFFF)<<4
			} else {
				old = old&0xF000 | uint16(v&0xFFF)
			}
			le.PutUint16(b[:], old)
			if err := m.bc.write(off, b[:2]); err != nil {
				return err
			}
		case 16:
			le.PutUint16(b[:], uint16(v))
			if err := m.bc.write(off, b[:2]); err != nil {
				return err
			}
		default:
			if err := m.bc.read(off, b[:4]); err != nil {
				return err
			}
			old := le.Uint32(b[:])
			le.PutUint32(b[:], old&^fat32Mask|v&fat32Mask)
			if err := m.bc.write(off, b[:4]); err != nil {
				return err
			}
		}
	}
	return nil
}

// chain returns the extents of the chain starting at start. A chain that
// leaves the volume, reaches a free, reserved or bad entry, or is longer
// than the volume (a loop) is EIO. start 0 is the empty chain.
func (m *mount) chain(start uint32) ([]extent, error) {
	if start == 0 {
		return nil, nil
	}
	var ext []extent
	c := start
	var n uint32
	for {
		if !m.validClus(c) {
			return nil, syscall.EIO
		}
		n++
		if n > m.nclusters {
			return nil, syscall.EIO // loop
		}
		if len(ext) > 0 && ext[len(ext)-1].clus+ext[len(ext)-1].count == c {
			ext[len(ext)-1].count++
		} else {
			ext = append(ext, extent{c, 1})
		}
		next, err := m.fatGet(c)
		if err != nil {
			return nil, err
		}
		if m.isEOC(next) {
			return ext, nil
		}
		c = next
	}
}

func chainLen(ext []extent) int64 {
	var n int64
	for _, e := range ext {
		n += int64(e.count)
	}
	return n
}

func (m *mount) clusOff(c uint32) int64 { return m.dataOff + int64(c-2)*m.clusterSize }

// buildFreeMap reads the whole FAT once (in large reads straight from the
// device; nothing is dirty yet) and counts free clusters.
func (m *mount) buildFreeMap() error {
	nc := m.nclusters + 2
	mp := make([]uint64, (uint64(nc)+63)/64)
	var free uint32
	base := m.fatOff + int64(m.activeFAT)*m.fatBytes
	need := (int64(nc)*int64(m.fatType) + 7) / 8
	const chunk = 1 << 20
	buf := make([]byte, 0, chunk+4)
	// Read in chunks aligned to whole entries (FAT12: 3-byte pairs).
	step := int64(chunk)
	if m.fatType == 12 {
		step = chunk / 3 * 3
	}
	var c uint32
	for off := int64(0); off < need && c < nc; off += step {
		n := min(step, need-off)
		buf = buf[:n]
		if err := m.bc.read(base+off, buf); err != nil && err != io.EOF {
			return err
		}
		for c < nc {
			var v uint32
			rel := int64(0)
			switch m.fatType {
			case 12:
				rel = int64(c)*3/2 - off
				if rel+2 > n {
					goto next
				}
				w := uint32(le.Uint16(buf[rel:]))
				if c&1 != 0 {
					v = w >> 4
				} else {
					v = w & 0xFFF
				}
			case 16:
				rel = int64(c)*2 - off
				if rel+2 > n {
					goto next
				}
				v = uint32(le.Uint16(buf[rel:]))
			default:
				rel = int64(c)*4 - off
				if rel+4 > n {
					goto next
				}
				v = le.Uint32(buf[rel:]) & fat32Mask
			}
			if c < 2 || v != 0 {
				mp[c/64] |= 1 << (c % 64)
			} else {
				free++
			}
			c++
		}
	next:
	}
	m.freeMap = mp
	if m.fsiValid {
		// FSInfo's free count is only a hint; ours is exact.
		var fi [fsInfoSize]byte
		if err := m.bc.read(m.fsinfoOff, fi[:]); err == nil {
			if h, ok := decodeFSInfo(fi[:]); ok && (h.FreeCount != free) && !m.ro {
				m.fsiDirty = true
			}
		}
	}
	m.freeCount = free
	return nil
}

func (m *mount) inUse(c uint32) bool { return m.freeMap[c/64]&(1<<(c%64)) != 0 }
func (m *mount) markUsed(c uint32)   { m.freeMap[c/64] |= 1 << (c % 64) }
func (m *mount) markFree(c uint32)   { m.freeMap[c/64] &^= 1 << (c % 64) }

// findFree returns the first free cluster at or after c, wrapping to the
// start of the volume, or 0 if none is free.
func (m *mount) findFree(c uint32) uint32 {
	maxc := m.nclusters + 1
	if c < 2 || c > maxc {
		c = 2
	}
	if f := m.scanFree(c, maxc); f != 0 {
		return f
	}
	if c > 2 {
		return m.scanFree(2, c-1)
	}
	return 0
}

// scanFree finds the first clear bit in [lo, hi], a word at a time.
func (m *mount) scanFree(lo, hi uint32) uint32 {
	for c := lo; c <= hi; {
		w := m.freeMap[c/64] | (1<<(c%64) - 1)
		if w != ^uint64(0) {
			f := c/64*64 + uint32(bits.TrailingZeros64(^w))
			if f <= hi {
				return f
			}
			return 0
		}
		c = (c/64 + 1) * 64
	}
	return 0
}

// allocate takes n free clusters, preferring one contiguous run right after
// prev (to continue the file), then a run from the next-free hint, and
// links them into a chain appended to prev (0: a new chain). It returns the
// first new cluster. The caller has checked that n clusters are free.
func (m *mount) allocate(prev uint32, n uint32) (uint32, error) {
	if n == 0 {
		return 0, nil
	}
	if n > m.freeCount {
		return 0, syscall.ENOSPC
	}
	picked := make([]uint32, 0, n)
	// Continue right after prev while free.
	c := prev + 1
	for prev != 0 && uint32(len(picked)) < n && m.validClus(c) && !m.inUse(c) {
		picked = append(picked, c)
		m.markUsed(c)
		c++
	}
	hint := m.nextFree
	for uint32(len(picked)) < n {
		// Look for a run long enough for the rest; take the first free
		// cluster if none is found within a bounded search.
		want := n - uint32(len(picked))
		f := m.findFree(hint)
		if f == 0 {
			m.undoPick(picked)
			return 0, syscall.ENOSPC
		}
		best := f
		tries := 0
		for cand := f; cand != 0 && tries < 64; tries++ {
			run := uint32(0)
			for x := cand; m.validClus(x) && !m.inUse(x) && run < want; x++ {
				run++
			}
			if run >= want {
				best = cand
				break
			}
			nxt := cand + run + 1
			if !m.validClus(nxt) {
				break
			}
			cand = m.findFree(nxt)
			if cand <= f {
				break // wrapped
			}
		}
		for x := best; m.validClus(x) && !m.inUse(x) && uint32(len(picked)) < n; x++ {
			picked = append(picked, x)
			m.markUsed(x)
			hint = x + 1
		}
	}
	// Link: each cluster to the next, the last to EOC, prev to the first.
	for i, x := range picked {
		v := m.eoc()
		if i+1 < len(picked) {
			v = picked[i+1]
		}
		if err := m.fatSet(x, v); err != nil {
			return 0, err
		}
	}
	if prev != 0 {
		if err := m.fatSet(prev, picked[0]); err != nil {
			return 0, err
		}
	}
	m.freeCount -= n
	last := picked[len(picked)-1]
	m.nextFree = last + 1
	if !m.validClus(m.nextFree) {
		m.nextFree = 2
	}
	m.fsiDirty = true
	return picked[0], nil
}

func (m *mount) undoPick(p []uint32) {
	for _, x := range p {
		m.markFree(x)
	}
}

// freeExtents returns the clusters of ext to the free pool.
func (m *mount) freeExtents(ext []extent) error {
	for _, e := range ext {
		for i := uint32(0); i < e.count; i++ {
			c := e.clus + i
			if err := m.fatSet(c, 0); err != nil {
				return err
			}
			if m.inUse(c) {
				m.markFree(c)
				m.freeCount++
			}
		}
	}
	m.fsiDirty = true
	return nil
}

// truncExtents keeps the first keep clusters of ext: it ends the chain
// there and frees the rest. keep 0 frees everything.
func (m *mount) truncExtents(ext []extent, keep int64) ([]extent, error) {
	var kept []extent
	var rest []extent
	left := keep
	for _, e := range ext {
		switch {
		case left >= int64(e.count):
			kept = append(kept, e)
			left -= int64(e.count)
		case left > 0:
			kept = append(kept, extent{e.clus, uint32(left)})
			rest = append(rest, extent{e.clus + uint32(left), e.count - uint32(left)})
			left = 0
		default:
			rest = append(rest, e)
		}
	}
	if len(rest) == 0 {
		return kept, nil
	}
	if len(kept) > 0 {
		k := kept[len(kept)-1]
		if err := m.fatSet(k.clus+k.count-1, m.eoc()); err != nil {
			return nil, err
		}
	}
	return kept, m.freeExtents(rest)
}
