package ffs

import (
	"fmt"
	"io"

	"github.com/rumpfs/rumpfs/dev"
	"github.com/rumpfs/rumpfs/fs/ffs/layout"
)

// CheckOptions tune Check.
type CheckOptions struct {
	// MaxProblems caps the problems listed (the count goes on); 0 means
	// 1000.
	MaxProblems int
}

// Report is what Check found.
type Report struct {
	// Problems are one line each, in the order found, prefixed with the
	// fsck_ffs phase that found them ("1", "2", ...; "0" for the
	// superblock and cylinder-group headers).
	Problems []string
	// Count is the number of problems, which may exceed len(Problems).
	Count int
	// Files, Dirs and UsedFrags describe the file system as walked.
	Files, Dirs, UsedFrags int64
	UFS2, BigEndian        bool
}

// Clean reports whether nothing was found.
func (r *Report) Clean() bool { return r.Count == 0 }

// checker holds the state of one Check.
type checker struct {
	g    *geom
	m    *mount // a read-only view for the shared readers
	r    *Report
	max  int
	used []uint64 // fragments claimed so far

	mode           []uint16 // per inode, 0 = unallocated
	nlink          []int32
	refs           []int32
	inUse          []bool // cg_inosused as it should be
	dirs           []uint64
	dotdot, parent map[uint64]uint64
}

// maxCheckInodes bounds the per-inode tables of the checker.
const maxCheckInodes = 1 << 27

// Check is a read-only consistency check of the FFS file system on d in
// the manner of NetBSD's fsck_ffs -n: phase 1 scans the inodes (types,
// sizes, block pointers in range, blocks claimed twice, block counts),
// phase 2 the directories (entry structure, "." and ".."), phase 3
// reachability from the root, phase 4 link counts, phase 5 the cylinder
// groups (bitmaps, summaries, fragment and cluster counts) and the
// superblock totals. A superblock that cannot be used is one problem. The
// error is for failures to read the device.
func Check(d dev.Device, opts CheckOptions) (*Report, error) {
	r := &Report{}
	c := &checker{r: r, max: opts.MaxProblems}
	if c.max <= 0 {
		c.max = 1000
	}
	g, err := findSuperblock(d)
	if err != nil {
		c.problem("0", "superblock: %v", err)
		return r, nil
	}
	c.g = g
	r.UFS2 = g.ufs2
	r.BigEndian = g.bo.String() == "BigEndian"
	if g.maxino() > maxCheckInodes {
		return r, fmt.Errorf("ffs: check: %d inodes is more than the checker handles", g.maxino())
	}
	c.m = &mount{g: g, d: d, name: d.Name(), ro: true, warnf: func(string, ...any) {},
		cache: dev.NewCache(d, int(g.fsize), 16<<20)}
	c.m.cgs = make([]*cgroup, g.ncg)
	c.used = make([]uint64, (g.size+63)/64)
	n := g.maxino()
	c.mode = make([]uint16, n)
	c.nlink = make([]int32, n)
	c.refs = make([]int32, n)
	c.inUse = make([]bool, n)
	c.dotdot = map[uint64]uint64{}
	c.parent = map[uint64]uint64{}
	cgs := c.phase0()
	if err := c.phase1(cgs); err != nil {
		return r, err
	}
	c.phase2()
	c.phase3()
	c.phase4()
	c.phase5(cgs)
	return r, nil
}

func (c *checker) problem(phase, format string, args ...any) {
	c.r.Count++
	if len(c.r.Problems) < c.max {
		c.r.Problems = append(c.r.Problems, "phase "+phase+": "+fmt.Sprintf(format, args...))
	}
}

func (c *checker) isUsed(f int64) bool { return c.used[f>>6]&(1<<(f&63)) != 0 }
func (c *checker) setUsed(f int64)     { c.used[f>>6] |= 1 << (f & 63) }

// phase0 reads and checks every cylinder-group header, and claims the
// fixed metadata: each group's superblock copy, cg block and inode
// table (and the boot area in group 0), and the summary area (fsck_ffs
// setup).
func (c *checker) phase0() []*cgroup {
	g := c.g
	cgs := make([]*cgroup, g.ncg)
	for i := int64(0); i < g.ncg; i++ {
		buf := make([]byte, g.cgsize)
		if _, err := c.m.cache.ReadAt(buf, g.cgtod(i)<<g.fshift); err != nil {
			c.problem("0", "cylinder group %d: %v", i, err)
			continue
		}
		h, err := decodeCG(g, i, buf)
		if err != nil {
			c.problem("0", "%v", err)
			continue
		}
		cgs[i] = &cgroup{c: i, buf: buf, hdr: h}
		c.m.cgs[i] = cgs[i]
		start := g.cgsblock(i)
		if i == 0 {
			start = g.cgbase(0)
		}
		for f := start; f < g.cgdmin(i) && f < g.size; f++ {
			c.setUsed(f)
		}
	}
	for f := g.csaddr; f < g.csaddr+(g.cssize+g.fsize-1)>>g.fshift && f < g.size; f++ {
		c.setUsed(f)
	}
	return cgs
}

// claim marks fragments [f, f+cnt) as owned by ino. It reports whether
// they were in range and not claimed before (so may be followed).
func (c *checker) claim(ino uint64, f, cnt int64, what string, bad *int) bool {
	g := c.g
	if !g.inRange(f, cnt) {
		*bad++
		if *bad <= 10 {
			c.problem("1", "inode %d: %s %d out of range", ino, what, f)
		}
		return false
	}
	ok := true
	for i := f; i < f+cnt; i++ {
		if c.isUsed(i) {
			ok = false
		}
		c.setUsed(i)
	}
	if !ok {
		*bad++
		if *bad <= 10 {
			c.problem("1", "inode %d: %s %d claimed twice (duplicate block)", ino, what, f)
		}
	}
	return ok
}

// walkInd claims the indirect block blk (level 0 maps data) and what it
// maps, returning the fragments counted. Blocks claimed twice are not
// followed, which also ends indirect loops.
func (c *checker) walkInd(ino uint64, blk int64, level int, bad *int) int64 {
	g := c.g
	if !c.claim(ino, blk, g.frag, "indirect block", bad) {
		return g.frag
	}
	n := g.frag
	buf := make([]byte, g.bsize)
	if _, err := c.m.cache.ReadAt(buf, blk<<g.fshift); err != nil && err != io.EOF {
		c.problem("1", "inode %d: reading indirect block %d: %v", ino, blk, err)
		return n
	}
	ps := g.ptrSize()
	for i := int64(0); i < g.nindir; i++ {
		var p int64
		if ps == 8 {
			p = int64(g.bo.Uint64(buf[i*8:]))
		} else {
			p = int64(int32(g.bo.Uint32(buf[i*4:])))
		}
		if p == 0 {
			continue
		}
		if level == 0 {
			c.claim(ino, p, g.frag, "block", bad)
			n += g.frag
		} else {
			n += c.walkInd(ino, p, level-1, bad)
		}
		if *bad > 100 {
			break
		}
	}
	return n
}

// phase1 scans every inode.
func (c *checker) phase1(cgs []*cgroup) error {
	g := c.g
	types := map[uint16]bool{layout.IFREG: true, layout.IFDIR: true, layout.IFLNK: true, layout.IFCHR: true,
		layout.IFBLK: true, layout.IFIFO: true, layout.IFSOCK: true}
	for cgi := int64(0); cgi < g.ncg; cgi++ {
		limit := g.ipg
		if g.ufs2 && cgs[cgi] != nil {
			// UFS2 inodes past cg_initediblk were never written.
			limit = int64(cgs[cgi].hdr.Initediblk)
		}
		buf := make([]byte, limit*g.isize)
		if len(buf) > 0 {
			if _, err := c.m.d.ReadAt(buf, g.cgimin(cgi)<<g.fshift); err != nil && err != io.EOF {
				return fmt.Errorf("ffs: check: reading inodes of group %d: %v", cgi, err)
			}
		}
		for i := int64(0); i < limit; i++ {
			ino := uint64(cgi*g.ipg + i)
			n := &node{m: c.m, ino: ino}
			n.decode(buf[i*g.isize : (i+1)*g.isize])
			if n.mode == 0 {
				continue
			}
			if ino < layout.UFS_ROOTINO {
				c.problem("1", "inode %d is reserved but has mode %#o", ino, n.mode)
				continue
			}
			c.checkInode(n, types)
		}
	}
	return nil
}

func (c *checker) checkInode(n *node, types map[uint16]bool) {
	g := c.g
	ino := n.ino
	typ := n.mode & layout.IFMT
	if !types[typ] {
		c.problem("1", "inode %d: unknown file type %#o", ino, n.mode)
		return
	}
	c.mode[ino] = n.mode
	c.nlink[ino] = n.nlink
	c.inUse[ino] = true
	if typ == layout.IFDIR {
		c.r.Dirs++
		c.dirs = append(c.dirs, ino)
	} else {
		c.r.Files++
	}
	if n.size < 0 || n.size > g.maxfilesize {
		c.problem("1", "inode %d: size %d out of range", ino, n.size)
		return
	}
	if n.nlink <= 0 {
		c.problem("1", "inode %d: allocated with link count %d", ino, n.nlink)
	}
	switch typ {
	case layout.IFCHR, layout.IFBLK, layout.IFIFO, layout.IFSOCK:
		if n.blocks != 0 {
			c.problem("1", "inode %d: special file with %d blocks", ino, n.blocks)
		}
		return
	case layout.IFLNK:
		if n.shortLink() {
			if n.blocks != 0 {
				c.problem("1", "inode %d: short symlink with %d blocks", ino, n.blocks)
			}
			return
		}
	case layout.IFDIR:
		if n.size == 0 || n.size%layout.DIRBLKSIZ != 0 {
			c.problem("1", "inode %d: directory size %d not a multiple of %d", ino, n.size, layout.DIRBLKSIZ)
		}
	}
	ndb := (n.size + g.bsize - 1) >> g.bshift
	for j := ndb; j < layout.UFS_NDADDR; j++ {
		if n.db[j] != 0 {
			c.problem("1", "inode %d: direct block %d past the end of the file (size %d)", ino, j, n.size)
		}
	}
	levels := c.levelsNeeded(ndb)
	for j := levels; j < layout.UFS_NIADDR; j++ {
		if n.ib[j] != 0 {
			c.problem("1", "inode %d: indirect block level %d past the end of the file (size %d)", ino, j, n.size)
		}
	}
	bad := 0
	var frags int64
	for j := int64(0); j < min(ndb, layout.UFS_NDADDR); j++ {
		if n.db[j] == 0 {
			continue
		}
		cnt := g.blksize(n.size, j) >> g.fshift
		c.claim(ino, n.db[j], cnt, "block", &bad)
		frags += cnt
	}
	for j := 0; j < levels && j < layout.UFS_NIADDR; j++ {
		if n.ib[j] != 0 && bad <= 100 {
			frags += c.walkInd(ino, n.ib[j], j, &bad)
		}
	}
	if g.ufs2 && n.extsize > 0 {
		ext := int64(n.extsize)
		for j := int64(0); j < 2 && j<<g.bshift < ext; j++ {
			if n.extb[j] == 0 {
				continue
			}
			cnt := g.blksize(ext, j) >> g.fshift
			c.claim(ino, n.extb[j], cnt, "extended-attribute block", &bad)
			frags += cnt
		}
	}
	c.r.UsedFrags += frags
	if want := frags * (g.fsize / layout.DEV_BSIZE); want != n.blocks && bad == 0 {
		c.problem("1", "inode %d: di_blocks is %d, blocks found hold %d", ino, n.blocks, want)
	}
	if bad > 10 {
		c.problem("1", "inode %d: %d bad or duplicate blocks in all", ino, bad)
	}
}

// levelsNeeded is how many indirect levels a file of ndb blocks uses.
func (c *checker) levelsNeeded(ndb int64) int {
	rest := ndb - layout.UFS_NDADDR
	span := int64(1)
	for lvl := 0; lvl < layout.UFS_NIADDR; lvl++ {
		if rest <= 0 {
			return lvl
		}
		span *= c.g.nindir
		rest -= span
	}
	return layout.UFS_NIADDR
}

// phase2 checks every directory's entries.
func (c *checker) phase2() {
	g := c.g
	for _, ino := range c.dirs {
		buf := make([]byte, g.isize)
		if _, err := c.m.cache.ReadAt(buf, g.inoOffset(ino)); err != nil {
			c.problem("2", "directory %d: %v", ino, err)
			continue
		}
		n := &node{m: c.m, ino: ino}
		n.decode(buf)
		size := n.size &^ (layout.DIRBLKSIZ - 1)
		if size > 64<<20 {
			c.problem("2", "directory %d: size %d is implausible", ino, n.size)
			continue
		}
		data := make([]byte, size)
		if err := n.readData(data, 0, true); err != nil {
			c.problem("2", "directory %d: unreadable: %v", ino, err)
			continue
		}
		idx := 0
		for off := int64(0); off < size; off += layout.DIRBLKSIZ {
			c.checkChunk(ino, data[off:off+layout.DIRBLKSIZ], off, &idx)
		}
		if idx < 2 {
			c.problem("2", "directory %d: missing '.' or '..'", ino)
		}
	}
}

func (c *checker) checkChunk(dir uint64, chunk []byte, base int64, idx *int) {
	g := c.g
	for pos := 0; pos < len(chunk); {
		h, _ := layout.DecodeDirectHeader(chunk[pos:], g.bo, g.oldDir)
		rl := int(h.Reclen)
		at := base + int64(pos)
		if rl < layout.DirectHeaderSize || rl%4 != 0 {
			c.problem("2", "directory %d offset %d: bad reclen %d", dir, at, rl)
			return
		}
		if pos+rl > len(chunk) {
			c.problem("2", "directory %d offset %d: entry of reclen %d crosses a %d-byte directory block", dir, at, rl, layout.DIRBLKSIZ)
			return
		}
		if h.Ino == 0 {
			if *idx < 2 {
				c.problem("2", "directory %d: free slot where '.' or '..' belongs", dir)
				*idx = 2
			}
			pos += rl
			continue
		}
		nl := int(h.Namlen)
		if nl == 0 || nl > layout.MAXNAMLEN || layout.DirSize(nl) > rl {
			c.problem("2", "directory %d offset %d: bad name length %d (reclen %d)", dir, at, nl, rl)
			return
		}
		name := string(chunk[pos+8 : pos+8+nl])
		for i := 0; i < nl; i++ {
			if name[i] == 0 || name[i] == '/' {
				c.problem("2", "directory %d offset %d: bad character in name %q", dir, at, name)
				break
			}
		}
		ino := uint64(h.Ino)
		pos += rl
		if ino >= g.maxino() {
			c.problem("2", "directory %d: entry %q names inode %d out of range", dir, name, ino)
			continue
		}
		switch *idx {
		case 0:
			if name != "." || ino != dir {
				c.problem("2", "directory %d: first entry is %q -> %d, want '.' -> %d", dir, name, ino, dir)
			}
		case 1:
			if name != ".." {
				c.problem("2", "directory %d: second entry is %q, want '..'", dir, name)
			} else {
				c.dotdot[dir] = ino
			}
		default:
			if name == "." || name == ".." {
				c.problem("2", "directory %d: extra %q entry", dir, name)
			}
		}
		*idx++
		if c.mode[ino] == 0 {
			c.problem("2", "directory %d: entry %q names unallocated inode %d", dir, name, ino)
			continue
		}
		c.refs[ino]++
		if !g.oldDir && h.Type != dtype(c.mode[ino]) {
			c.problem("2", "directory %d: entry %q has type %d, inode %d is type %d", dir, name, h.Type, ino, dtype(c.mode[ino]))
		}
		if name != "." && name != ".." && c.mode[ino]&layout.IFMT == layout.IFDIR {
			if p, ok := c.parent[ino]; ok {
				c.problem("2", "directory %d has a second name %q in directory %d (first in %d)", ino, name, dir, p)
			} else {
				c.parent[ino] = dir
			}
		}
	}
}

// phase3 checks that every directory hangs off the root and that ".."
// names the parent.
func (c *checker) phase3() {
	root := uint64(layout.UFS_ROOTINO)
	if c.mode[root]&layout.IFMT != layout.IFDIR {
		c.problem("3", "root inode is not a directory (mode %#o)", c.mode[root])
		return
	}
	if dd, ok := c.dotdot[root]; ok && dd != root {
		c.problem("3", "root '..' is %d, want %d", dd, root)
	}
	for _, d := range c.dirs {
		if d == root {
			continue
		}
		p, ok := c.parent[d]
		if !ok {
			c.problem("3", "directory %d is not in any directory (unreferenced)", d)
			continue
		}
		if dd, ok := c.dotdot[d]; ok && dd != p {
			c.problem("3", "directory %d: '..' is %d, but it is in directory %d", d, dd, p)
		}
		// Walk up to the root, bounded, to find cycles cut off from it.
		cur, steps := d, 0
		for cur != root && steps <= len(c.dirs) {
			cur, ok = c.parent[cur]
			if !ok {
				break
			}
			steps++
		}
		if cur != root {
			c.problem("3", "directory %d is not reachable from the root", d)
		}
	}
}

// phase4 compares link counts with the references found.
func (c *checker) phase4() {
	for ino := uint64(layout.UFS_ROOTINO); ino < uint64(len(c.mode)); ino++ {
		if c.mode[ino] == 0 {
			continue
		}
		if c.refs[ino] == 0 && c.mode[ino]&layout.IFMT != layout.IFDIR {
			c.problem("4", "inode %d (mode %#o) is not in any directory (unreferenced)", ino, c.mode[ino])
		}
		if c.refs[ino] != c.nlink[ino] {
			c.problem("4", "inode %d: link count %d, references %d", ino, c.nlink[ino], c.refs[ino])
		}
	}
}

// phase5 compares each group's bitmaps and summaries with what the
// walk found, and the superblock's totals with the groups.
func (c *checker) phase5(cgs []*cgroup) {
	g := c.g
	var total layout.Csum
	csbuf := make([]byte, g.ncg*layout.CsumSize)
	if _, err := c.m.cache.ReadAt(csbuf, g.csaddr<<g.fshift); err != nil {
		c.problem("5", "reading the summary area: %v", err)
	}
	for i := int64(0); i < g.ncg; i++ {
		cg := cgs[i]
		if cg == nil {
			continue
		}
		h := cg.hdr
		want := make([]byte, len(cg.buf))
		copy(want, cg.buf)
		wh := *h
		im := want[wh.Iusedoff:]
		fm := want[wh.Freeoff:]
		var ndir int32
		badI, badF := 0, 0
		for j := int64(0); j < g.ipg; j++ {
			ino := uint64(i*g.ipg + j)
			used := c.inUse[ino] || ino < layout.UFS_ROOTINO
			if used != isset(cg.buf[h.Iusedoff:], j) {
				badI++
				if badI <= 5 {
					c.problem("5", "cylinder group %d: inode %d is %s", i, ino, map[bool]string{true: "in use but free in the map", false: "unused but marked used in the map"}[used])
				}
			}
			if used {
				setbit(im, j)
			} else {
				clrbit(im, j)
			}
			if c.mode[ino]&layout.IFMT == layout.IFDIR {
				ndir++
			}
		}
		for j := int64(0); j < int64(h.Ndblk); j++ {
			f := g.cgbase(i) + j
			free := !c.isUsed(f)
			if free != isset(cg.buf[h.Freeoff:], j) {
				badF++
				if badF <= 5 {
					c.problem("5", "cylinder group %d: fragment %d is %s", i, f, map[bool]string{true: "unused but marked used in the map", false: "in use but free in the map"}[free])
				}
			}
			if free {
				setbit(fm, j)
			} else {
				clrbit(fm, j)
			}
		}
		if badI > 5 {
			c.problem("5", "cylinder group %d: %d inode map errors in all", i, badI)
		}
		if badF > 5 {
			c.problem("5", "cylinder group %d: %d fragment map errors in all", i, badF)
		}
		s := summarize(g, &wh, want, ndir)
		if s.cs != h.Cs {
			c.problem("5", "cylinder group %d: summary (dirs %d, free blocks %d, free inodes %d, free frags %d), want (%d, %d, %d, %d)",
				i, h.Cs.Ndir, h.Cs.Nbfree, h.Cs.Nifree, h.Cs.Nffree, s.cs.Ndir, s.cs.Nbfree, s.cs.Nifree, s.cs.Nffree)
		}
		if s.frsum != h.Frsum {
			c.problem("5", "cylinder group %d: fragment run counts %v, want %v", i, h.Frsum[1:g.frag], s.frsum[1:g.frag])
		}
		if g.contigsumsize > 0 {
			for k := 1; k <= g.contigsumsize; k++ {
				got := int32(g.bo.Uint32(cg.buf[int64(h.Clustersumoff)+4*int64(k):]))
				if got != s.cluster[k] {
					c.problem("5", "cylinder group %d: cluster count for size %d is %d, want %d", i, k, got, s.cluster[k])
					break
				}
			}
			nb := int64(h.Ndblk) / g.frag
			for k := int64(0); k < nb; k++ {
				if isset(cg.buf[h.Clusteroff:], k) != isset(s.cmap, k) {
					c.problem("5", "cylinder group %d: cluster map wrong at block %d", i, k)
					break
				}
			}
		}
		if cs, _ := layout.DecodeCsum(csbuf[i*layout.CsumSize:], g.bo); cs != s.cs {
			c.problem("5", "summary area entry %d (dirs %d, free blocks %d, free inodes %d, free frags %d), want (%d, %d, %d, %d)",
				i, cs.Ndir, cs.Nbfree, cs.Nifree, cs.Nffree, s.cs.Ndir, s.cs.Nbfree, s.cs.Nifree, s.cs.Nffree)
		}
		total.Ndir += s.cs.Ndir
		total.Nbfree += s.cs.Nbfree
		total.Nifree += s.cs.Nifree
		total.Nffree += s.cs.Nffree
	}
	sb := g.sb
	ct := layout.Csum{Ndir: int32(sb.Cstotal.Ndir), Nbfree: int32(sb.Cstotal.Nbfree), Nifree: int32(sb.Cstotal.Nifree), Nffree: int32(sb.Cstotal.Nffree)}
	if !g.ufs2 {
		ct = sb.OldCstotal
	}
	if ct != total {
		c.problem("5", "superblock totals (dirs %d, free blocks %d, free inodes %d, free frags %d), want (%d, %d, %d, %d)",
			ct.Ndir, ct.Nbfree, ct.Nifree, ct.Nffree, total.Ndir, total.Nbfree, total.Nifree, total.Nffree)
	}
}
