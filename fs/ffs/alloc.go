package ffs

import (
	"fmt"
	"math/bits"
	"syscall"

	"github.com/rumpfs/rumpfs/fs/ffs/layout"
)

// cgroup is a cylinder-group block in memory (NetBSD reads it with bread
// in ffs_alloccg and friends; here it stays loaded while mounted).
type cgroup struct {
	c     int64
	buf   []byte // fs_cgsize bytes
	hdr   *layout.CG
	dirty bool
}

// decodeCG checks a cylinder-group block: magic, index, the bitmaps'
// offsets inside the block, fragment and inode counts. Shared with the
// checker.
func decodeCG(g *geom, c int64, buf []byte) (*layout.CG, error) {
	h, err := layout.DecodeCG(buf, g.bo)
	if err != nil {
		return nil, err
	}
	if uint32(h.Magic) != layout.CG_MAGIC {
		return nil, fmt.Errorf("cylinder group %d: bad magic %#x", c, uint32(h.Magic))
	}
	if int64(h.Cgx) != c {
		return nil, fmt.Errorf("cylinder group %d: cg_cgx is %d", c, h.Cgx)
	}
	size := int64(len(buf))
	if int64(h.Ndblk) != g.cgFrags(c) {
		return nil, fmt.Errorf("cylinder group %d: cg_ndblk %d, want %d", c, h.Ndblk, g.cgFrags(c))
	}
	if h.Niblk != 0 && int64(h.Niblk) != g.ipg {
		return nil, fmt.Errorf("cylinder group %d: cg_niblk %d, want %d", c, h.Niblk, g.ipg)
	}
	if int64(h.Iusedoff) < layout.CGHeaderSize || int64(h.Iusedoff)+(g.ipg+7)/8 > size {
		return nil, fmt.Errorf("cylinder group %d: inode map offset %d out of range", c, h.Iusedoff)
	}
	if int64(h.Freeoff) < layout.CGHeaderSize || int64(h.Freeoff)+(g.fpg+7)/8 > size {
		return nil, fmt.Errorf("cylinder group %d: free map offset %d out of range", c, h.Freeoff)
	}
	if g.contigsumsize > 0 {
		if int64(h.Clustersumoff) < layout.CGHeaderSize || int64(h.Clustersumoff)+4*int64(g.contigsumsize+1) > size ||
			int64(h.Clusteroff) < layout.CGHeaderSize || int64(h.Clusteroff)+(g.fpg/g.frag+7)/8 > size {
			return nil, fmt.Errorf("cylinder group %d: cluster map offsets out of range", c)
		}
	}
	if g.ufs2 && int64(h.Initediblk) > g.ipg {
		return nil, fmt.Errorf("cylinder group %d: cg_initediblk %d > fs_ipg", c, h.Initediblk)
	}
	return h, nil
}

func isset(b []byte, i int64) bool { return b[i>>3]&(1<<(i&7)) != 0 }
func setbit(b []byte, i int64)     { b[i>>3] |= 1 << (i & 7) }
func clrbit(b []byte, i int64)     { b[i>>3] &^= 1 << (i & 7) }

func (cg *cgroup) iused() []byte { return cg.buf[cg.hdr.Iusedoff:] }
func (cg *cgroup) free() []byte  { return cg.buf[cg.hdr.Freeoff:] }

// getCG returns cylinder group c, reading it on first use. mu held for
// writing.
func (m *mount) getCG(c int64) (*cgroup, error) {
	if c < 0 || c >= m.g.ncg {
		return nil, syscall.EIO
	}
	if cg := m.cgs[c]; cg != nil {
		return cg, nil
	}
	g := m.g
	buf := make([]byte, g.cgsize)
	if _, err := m.cache.ReadAt(buf, g.cgtod(c)<<g.fshift); err != nil {
		return nil, m.ioErr(fmt.Sprintf("reading cylinder group %d", c), err)
	}
	h, err := decodeCG(g, c, buf)
	if err != nil {
		m.warnf("ffs: %s: %v", m.name, err)
		return nil, syscall.EIO
	}
	cg := &cgroup{c: c, buf: buf, hdr: h}
	m.cgs[c] = cg
	return cg, nil
}

// blockBits returns the free bits of the block holding cg-relative
// fragment d (block aligned), and how many of its fragments exist.
func (m *mount) blockBits(cg *cgroup, d int64) (uint8, int64) {
	g := m.g
	nf := min(g.frag, int64(cg.hdr.Ndblk)-d)
	b := cg.free()[d>>3] >> (d & 7)
	return b & uint8((1<<nf)-1), nf
}

// contrib is a block's share of (cs_nbfree, cs_nffree).
func (m *mount) contrib(cg *cgroup, d int64) (int32, int32) {
	bitsv, nf := m.blockBits(cg, d)
	if nf == m.g.frag && bitsv == uint8((1<<nf)-1) {
		return 1, 0
	}
	return 0, int32(bits.OnesCount8(bitsv))
}

func (m *mount) adjust(cg *cgroup, dnb, dnf, dni, dnd int32) {
	for _, cs := range []*layout.Csum{&cg.hdr.Cs, &m.csum[cg.c], &m.total} {
		cs.Nbfree += dnb
		cs.Nffree += dnf
		cs.Nifree += dni
		cs.Ndir += dnd
	}
	cg.dirty = true
	m.sbDirty = true
}

// setFrags marks cg-relative fragments [d, d+cnt) (inside one block)
// used or free, keeping the counts.
func (m *mount) setFrags(cg *cgroup, d, cnt int64, free bool) {
	blk := d &^ (m.g.frag - 1)
	nb0, nf0 := m.contrib(cg, blk)
	fm := cg.free()
	for i := d; i < d+cnt; i++ {
		if free {
			setbit(fm, i)
		} else {
			clrbit(fm, i)
		}
	}
	nb1, nf1 := m.contrib(cg, blk)
	m.adjust(cg, nb1-nb0, nf1-nf0, 0, 0)
}

// fragsFree reports whether cg-relative fragments [d, d+cnt) are free.
func (m *mount) fragsFree(cg *cgroup, d, cnt int64) bool {
	if d < 0 || d+cnt > int64(cg.hdr.Ndblk) {
		return false
	}
	fm := cg.free()
	for i := d; i < d+cnt; i++ {
		if !isset(fm, i) {
			return false
		}
	}
	return true
}

// cgOrder is the order in which cylinder groups are tried after the
// preferred one: ffs_hashalloc's quadratic rehash, then a linear sweep.
func (m *mount) cgOrder(start int64, fn func(c int64) bool) bool {
	ncg := m.g.ncg
	start = ((start % ncg) + ncg) % ncg
	if fn(start) {
		return true
	}
	seen := map[int64]bool{start: true}
	c := start
	for i := int64(1); i < ncg; i *= 2 {
		c = (c + i) % ncg
		if !seen[c] {
			seen[c] = true
			if fn(c) {
				return true
			}
		}
	}
	for i := int64(1); i < ncg; i++ {
		c := (start + i) % ncg
		if !seen[c] && fn(c) {
			return true
		}
	}
	return false
}

// reserveOK applies fs_minfree: only root may use the last minfree
// percent; uid is the writer's (WriteCred) or else the file's owner.
func (m *mount) reserveOK(uid uint32, frags int64) bool {
	if uid == 0 || m.g.minfree == 0 {
		return m.freeFrags() >= frags
	}
	return m.freeFrags()-m.g.dsize*m.g.minfree/100 >= frags
}

func (m *mount) freeFrags() int64 {
	return int64(m.total.Nbfree)*m.g.frag + int64(m.total.Nffree)
}

// allocBlock allocates a full block, at pref if that is free, else in
// pref's (or hint's) group from its rotor, else in another group. It
// returns the fragment address.
func (m *mount) allocBlock(pref, hint int64, uid uint32) (int64, error) {
	g := m.g
	if !m.reserveOK(uid, g.frag) {
		return 0, syscall.ENOSPC
	}
	if pref > 0 && pref < g.size {
		hint = g.dtog(pref)
	}
	var got int64
	var ioerr error
	ok := m.cgOrder(hint, func(c int64) bool {
		if m.csum[c].Nbfree <= 0 {
			return false
		}
		cg, err := m.getCG(c)
		if err != nil {
			ioerr = err
			return false
		}
		nblk := int64(cg.hdr.Ndblk) / g.frag
		if pref > 0 && g.dtog(pref) == c {
			d := g.dtogd(pref) &^ (g.frag - 1)
			if d/g.frag < nblk && m.fragsFree(cg, d, g.frag) {
				m.setFrags(cg, d, g.frag, false)
				got = g.cgbase(c) + d
				return true
			}
		}
		start := int64(cg.hdr.Rotor) / g.frag
		for k := int64(0); k < nblk; k++ {
			b := (start + k) % nblk
			if bv, nf := m.blockBits(cg, b*g.frag); nf == g.frag && bv == uint8((1<<nf)-1) {
				m.setFrags(cg, b*g.frag, g.frag, false)
				cg.hdr.Rotor = uint32(b * g.frag)
				got = g.cgbase(c) + b*g.frag
				return true
			}
		}
		return false
	})
	if !ok {
		if ioerr != nil {
			return 0, ioerr
		}
		return 0, syscall.ENOSPC
	}
	return got, nil
}

// allocFrags allocates cnt (< frag) contiguous fragments inside one
// block: the first partly used block with a free run long enough, else a
// full block split (ffs_alloccg's fragment path).
func (m *mount) allocFrags(cnt, hint int64, uid uint32) (int64, error) {
	g := m.g
	if cnt >= g.frag {
		return m.allocBlock(0, hint, uid)
	}
	if !m.reserveOK(uid, cnt) {
		return 0, syscall.ENOSPC
	}
	var got int64
	var ioerr error
	ok := m.cgOrder(hint, func(c int64) bool {
		if m.csum[c].Nbfree <= 0 && int64(m.csum[c].Nffree) < cnt {
			return false
		}
		cg, err := m.getCG(c)
		if err != nil {
			ioerr = err
			return false
		}
		nd := int64(cg.hdr.Ndblk)
		nblk := (nd + g.frag - 1) / g.frag
		if m.csum[c].Nffree > 0 {
			start := int64(cg.hdr.Frotor) / g.frag
			for k := int64(0); k < nblk; k++ {
				b := (start + k) % nblk
				bv, nf := m.blockBits(cg, b*g.frag)
				if bv == 0 || (nf == g.frag && bv == uint8((1<<nf)-1)) {
					continue
				}
				run := int64(0)
				for i := int64(0); i < nf; i++ {
					if bv&(1<<i) != 0 {
						run++
						if run == cnt {
							d := b*g.frag + i - cnt + 1
							m.setFrags(cg, d, cnt, false)
							cg.hdr.Frotor = uint32(b * g.frag)
							got = g.cgbase(c) + d
							return true
						}
					} else {
						run = 0
					}
				}
			}
		}
		if m.csum[c].Nbfree <= 0 {
			return false
		}
		nfull := nd / g.frag
		start := int64(cg.hdr.Rotor) / g.frag
		for k := int64(0); k < nfull; k++ {
			b := (start + k) % nfull
			if bv, nf := m.blockBits(cg, b*g.frag); nf == g.frag && bv == uint8((1<<nf)-1) {
				m.setFrags(cg, b*g.frag, cnt, false)
				cg.hdr.Frotor = uint32(b * g.frag)
				got = g.cgbase(c) + b*g.frag
				return true
			}
		}
		return false
	})
	if !ok {
		if ioerr != nil {
			return 0, ioerr
		}
		return 0, syscall.ENOSPC
	}
	return got, nil
}

// freeFrags returns fragments [f, f+cnt) (inside one block) to their
// group (ffs_blkfree). Freed space is dropped from the metadata cache,
// dirty or not: it belongs to nobody now.
func (m *mount) freeFragsAt(f, cnt int64) error {
	g := m.g
	if cnt <= 0 {
		return nil
	}
	if !g.inRange(f, cnt) || (f&(g.frag-1))+cnt > g.frag {
		m.warnf("ffs: %s: freeing bad block %d (%d frags)", m.name, f, cnt)
		return syscall.EIO
	}
	cg, err := m.getCG(g.dtog(f))
	if err != nil {
		return err
	}
	d := g.dtogd(f)
	fm := cg.free()
	for i := d; i < d+cnt; i++ {
		if isset(fm, i) {
			m.warnf("ffs: %s: freeing free fragment %d", m.name, g.cgbase(cg.c)+i)
			return syscall.EIO
		}
	}
	m.setFrags(cg, d, cnt, true)
	m.cache.InvalidateRange(f<<g.fshift, cnt<<g.fshift)
	return nil
}

// extendInPlace grows the fragment run at f from oldCnt to newCnt
// fragments if the following ones are free and in the same block
// (ffs_fragextend).
func (m *mount) extendInPlace(f, oldCnt, newCnt int64) bool {
	g := m.g
	if (f&(g.frag-1))+newCnt > g.frag {
		return false
	}
	cg, err := m.getCG(g.dtog(f))
	if err != nil {
		return false
	}
	d := g.dtogd(f)
	if !m.fragsFree(cg, d+oldCnt, newCnt-oldCnt) {
		return false
	}
	m.setFrags(cg, d+oldCnt, newCnt-oldCnt, false)
	return true
}

// allocInode picks an inode for a new file (ffs_valloc): a directory
// goes to a group with more free inodes than average and the fewest
// directories (the 4.4BSD ffs_dirpref), anything else to its parent's
// group if it can.
func (m *mount) allocInode(parent *node, isDir bool) (uint64, error) {
	g := m.g
	if m.total.Nifree <= 0 {
		return 0, syscall.ENOSPC
	}
	start := g.inoToCg(parent.ino)
	if isDir {
		avg := int64(m.total.Nifree) / g.ncg
		best, bestDirs := int64(-1), int32(0)
		for i := int64(0); i < g.ncg; i++ {
			c := (start + i) % g.ncg
			cs := m.csum[c]
			if int64(cs.Nifree) > 0 && int64(cs.Nifree) >= avg && (best < 0 || cs.Ndir < bestDirs) {
				best, bestDirs = c, cs.Ndir
			}
		}
		if best >= 0 {
			start = best
		}
	}
	var got uint64
	var ioerr error
	ok := m.cgOrder(start, func(c int64) bool {
		if m.csum[c].Nifree <= 0 {
			return false
		}
		cg, err := m.getCG(c)
		if err != nil {
			ioerr = err
			return false
		}
		im := cg.iused()
		for i := int64(0); i < g.ipg; i++ {
			if i&7 == 0 && i+8 <= g.ipg && im[i>>3] == 0xff {
				i += 7
				continue
			}
			ino := uint64(c*g.ipg + i)
			if isset(im, i) || ino < layout.UFS_ROOTINO {
				continue
			}
			if err := m.initInodes(cg, i); err != nil {
				ioerr = err
				return false
			}
			setbit(im, i)
			var nd int32
			if isDir {
				nd = 1
			}
			m.adjust(cg, 0, 0, -1, nd)
			cg.hdr.Irotor = uint32(i)
			got = ino
			return true
		}
		return false
	})
	if !ok {
		if ioerr != nil {
			return 0, ioerr
		}
		return 0, syscall.ENOSPC
	}
	return got, nil
}

// initInodes makes sure inode i of a UFS2 group is initialised: UFS2
// newfs leaves the inode table past cg_initediblk unwritten, and
// ffs_nodealloccg zeroes it a block at a time as inodes are handed out.
func (m *mount) initInodes(cg *cgroup, i int64) error {
	g := m.g
	if !g.ufs2 {
		return nil
	}
	for int64(cg.hdr.Initediblk) <= i {
		first := int64(cg.hdr.Initediblk)
		if first%g.inopb != 0 || first >= g.ipg {
			return syscall.EIO
		}
		off := (g.cgimin(cg.c) + (first/g.inopb)*g.frag) << g.fshift
		if _, err := m.cache.WriteAt(make([]byte, g.bsize), off); err != nil {
			return m.ioErr("initialising inodes", err)
		}
		cg.hdr.Initediblk += uint32(g.inopb)
		cg.dirty = true
	}
	return nil
}

// freeInode releases n's inode (ffs_vfree) and clears it on disk,
// keeping the generation number.
func (m *mount) freeInode(n *node) {
	g := m.g
	c := g.inoToCg(n.ino)
	cg, err := m.getCG(c)
	if err != nil {
		return
	}
	i := int64(n.ino) % g.ipg
	if !isset(cg.iused(), i) {
		m.warnf("ffs: %s: freeing free inode %d", m.name, n.ino)
	} else {
		clrbit(cg.iused(), i)
		var nd int32
		if n.isDir() {
			nd = -1
		}
		m.adjust(cg, 0, 0, 1, nd)
	}
	gen := n.gen
	n.mode, n.nlink, n.size, n.blocks, n.flags = 0, 0, 0, 0, 0
	n.uid, n.gid = 0, 0
	n.db = [layout.UFS_NDADDR]int64{}
	n.ib = [layout.UFS_NIADDR]int64{}
	n.extsize, n.extb = 0, [2]int64{}
	n.atime, n.mtime, n.ctime, n.btime = timespec{}, timespec{}, timespec{}, timespec{}
	n.accessed.Store(0)
	n.d1, n.d2 = nil, nil
	n.gen = gen
	n.store()
}

// summarize recomputes a group's derived summaries from its bitmaps
// (cg_cs, cg_frsum, the cluster map and counts), as fsck_ffs pass 5 would
// want them. Shared with the checker, which compares instead of storing.
type cgSummary struct {
	cs      layout.Csum
	frsum   [layout.MAXFRAG]uint32
	cluster []int32 // counts by run length 1..contigsumsize
	cmap    []byte  // free-cluster bitmap
}

func summarize(g *geom, h *layout.CG, buf []byte, ndirs int32) cgSummary {
	var s cgSummary
	fm := buf[h.Freeoff:]
	im := buf[h.Iusedoff:]
	nd := int64(h.Ndblk)
	for i := int64(0); i < g.ipg; i++ {
		if !isset(im, i) {
			s.cs.Nifree++
		}
	}
	s.cs.Ndir = ndirs
	if g.contigsumsize > 0 {
		s.cluster = make([]int32, g.contigsumsize+1)
		s.cmap = make([]byte, (g.fpg/g.frag+7)/8)
	}
	run := int64(0)
	endRun := func() {
		if run > 0 && s.cluster != nil {
			s.cluster[min(run, int64(g.contigsumsize))]++
		}
		run = 0
	}
	for d := int64(0); d < nd; d += g.frag {
		nf := min(g.frag, nd-d)
		full := nf == g.frag
		var cnt int64
		for i := int64(0); i < nf; i++ {
			if isset(fm, d+i) {
				cnt++
			}
		}
		if full && cnt == g.frag {
			s.cs.Nbfree++
			if s.cmap != nil {
				setbit(s.cmap, d/g.frag)
				run++
			}
			continue
		}
		endRun()
		s.cs.Nffree += int32(cnt)
		// Runs of free fragments in a partly used block (ffs_fragacct).
		r := int64(0)
		for i := int64(0); i <= nf; i++ {
			if i < nf && isset(fm, d+i) {
				r++
				continue
			}
			if r > 0 && r < layout.MAXFRAG {
				s.frsum[r]++
			}
			r = 0
		}
	}
	endRun()
	return s
}

// writeCG brings a group's derived summaries up to date and writes it to
// the cache.
func (m *mount) writeCG(cg *cgroup) error {
	g := m.g
	h := cg.hdr
	s := summarize(g, h, cg.buf, h.Cs.Ndir)
	if s.cs != h.Cs {
		// The running counts drifted from the bitmaps: trust the maps.
		m.warnf("ffs: %s: cylinder group %d counts corrected (%+v -> %+v)", m.name, cg.c, h.Cs, s.cs)
		m.total.Nbfree += s.cs.Nbfree - h.Cs.Nbfree
		m.total.Nffree += s.cs.Nffree - h.Cs.Nffree
		m.total.Nifree += s.cs.Nifree - h.Cs.Nifree
		h.Cs = s.cs
		m.csum[cg.c] = s.cs
	}
	h.Frsum = s.frsum
	if g.contigsumsize > 0 {
		copy(cg.buf[h.Clusteroff:], s.cmap[:(int64(h.Ndblk)/g.frag+7)/8])
		for i := 1; i <= g.contigsumsize; i++ {
			g.bo.PutUint32(cg.buf[int64(h.Clustersumoff)+4*int64(i):], uint32(s.cluster[i]))
		}
	}
	now := m.now().Unix()
	h.Time = now
	if !g.ufs2 {
		h.OldTime = int32(now)
	}
	h.Encode(cg.buf, g.bo)
	if _, err := m.cache.WriteAt(cg.buf, g.cgtod(cg.c)<<g.fshift); err != nil {
		return m.ioErr(fmt.Sprintf("writing cylinder group %d", cg.c), err)
	}
	cg.dirty = false
	return nil
}
