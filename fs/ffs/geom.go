package ffs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"

	"github.com/rumpfs/rumpfs/dev"
	"github.com/rumpfs/rumpfs/fs/ffs/layout"
)

// geom is what the superblock says about the file system's shape, every
// field checked against the others and the device before use (a corrupt
// superblock must not become an out-of-range read, a huge allocation or an
// endless loop).
type geom struct {
	bo    binary.ByteOrder
	ufs2  bool
	sbloc int64 // byte offset of the superblock in use
	sb    *layout.Superblock
	sbraw []byte // fs_sbsize bytes as found, kept for what follows struct fs

	bsize, fsize, frag           int64
	bshift, fshift, fragshift    uint
	ncg, ipg, fpg                int64
	size, dsize                  int64 // frags
	csaddr, cssize, cgsize       int64
	nindir, inopb, isize         int64
	sblkno, cblkno, iblkno, dblk int64
	cgoffset, cgmask             int64 // UFS1 cylinder-group staggering
	maxsymlinklen                int
	oldDir                       bool // pre-4.4BSD directory entries (no d_type)
	oldInode                     bool // 4.2BSD inode: owner in di_ouid/di_ogid
	maxfilesize                  int64
	contigsumsize                int
	minfree                      int64
	maxbpg                       int64
}

// FS_MAXCONTIG bounds fs_contigsumsize (fs.h).
const fsMaxContig = 16

func isPow2(x int64) bool { return x > 0 && x&(x-1) == 0 }

func log2(x int64) uint { return uint(bits.TrailingZeros64(uint64(x))) }

// findSuperblock does NetBSD's superblock search: 64 KiB (UFS2), 8 KiB
// (UFS1, and UFS2 as makefs and newer newfs place it), 0 (floppies) and
// 256 KiB (piggy-backed). As in ffs_mountfs, a UFS1 superblock is not
// taken at 64 KiB (with 64 KiB blocks that is UFS1's first alternate),
// and a UFS2 superblock only where its fs_sblockloc says the standard one
// lives (a UFS2 superblock elsewhere is an alternate); 0 in fs_sblockloc,
// left by old newfs, is accepted at 64 KiB.
func findSuperblock(d dev.Device) (*geom, error) {
	var firstErr error
	for _, loc := range layout.SBLOCKSEARCH {
		if loc+layout.SuperblockSize > d.Size() {
			continue
		}
		buf := make([]byte, layout.SBLOCKSIZE)
		n, err := d.ReadAt(buf, loc)
		if err != nil && !errors.Is(err, io.EOF) {
			if firstErr == nil {
				firstErr = fmt.Errorf("reading superblock at %d: %v", loc, err)
			}
			continue
		}
		if n < layout.SuperblockSize {
			continue
		}
		bo, magic, ok := layout.DetectOrder(buf)
		if !ok {
			continue
		}
		sb, err := layout.DecodeSuperblock(buf, bo)
		if err != nil {
			continue
		}
		if magic == layout.FS_UFS1_MAGIC && loc == layout.SBLOCK_UFS2 {
			continue
		}
		if magic != layout.FS_UFS1_MAGIC && sb.Sblockloc != loc && !(loc == layout.SBLOCK_UFS2 && sb.Sblockloc == 0) {
			continue
		}
		g, err := newGeom(d, sb, bo, loc)
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("superblock at %d: %v", loc, err)
			}
			continue
		}
		// Keep the whole fs_sbsize area: UFS1's rotational tables follow
		// struct fs and are written back unchanged.
		g.sbraw = make([]byte, sb.Sbsize)
		if m, err := d.ReadAt(g.sbraw, loc); m != len(g.sbraw) {
			if firstErr == nil {
				firstErr = fmt.Errorf("superblock at %d: reading %d bytes: %v", loc, sb.Sbsize, err)
			}
			continue
		}
		return g, nil
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return nil, errors.New("no FFS superblock found (looked at 65536, 8192, 0 and 262144)")
}

// newGeom checks every superblock field that is used as a size, count,
// shift or loop bound.
func newGeom(d dev.Device, sb *layout.Superblock, bo binary.ByteOrder, loc int64) (*geom, error) {
	g := &geom{bo: bo, sb: sb, sbloc: loc, ufs2: sb.IsUFS2()}
	g.bsize, g.fsize, g.frag = int64(sb.Bsize), int64(sb.Fsize), int64(sb.Frag)
	if !isPow2(g.bsize) || g.bsize < layout.MINBSIZE || g.bsize > layout.MAXBSIZE {
		return nil, fmt.Errorf("bad block size fs_bsize=%d (want a power of 2 from 4096 to 65536)", sb.Bsize)
	}
	if !isPow2(g.fsize) || g.fsize < layout.DEV_BSIZE || g.fsize > g.bsize || g.bsize/g.fsize > layout.MAXFRAG {
		return nil, fmt.Errorf("bad fragment size fs_fsize=%d for fs_bsize=%d (want bsize/1, /2, /4 or /8)", sb.Fsize, sb.Bsize)
	}
	if g.frag != g.bsize/g.fsize {
		return nil, fmt.Errorf("fs_frag=%d does not match fs_bsize/fs_fsize=%d", sb.Frag, g.bsize/g.fsize)
	}
	g.bshift, g.fshift, g.fragshift = log2(g.bsize), log2(g.fsize), log2(g.frag)
	if int64(sb.Bshift) != int64(g.bshift) || int64(sb.Fshift) != int64(g.fshift) || int64(sb.Fragshift) != int64(g.fragshift) {
		return nil, fmt.Errorf("shifts fs_bshift=%d fs_fshift=%d fs_fragshift=%d do not match the sizes", sb.Bshift, sb.Fshift, sb.Fragshift)
	}
	if sb.Bmask != ^int32(g.bsize-1) || sb.Fmask != ^int32(g.fsize-1) {
		return nil, fmt.Errorf("masks fs_bmask=%#x fs_fmask=%#x do not match the sizes", uint32(sb.Bmask), uint32(sb.Fmask))
	}
	if sb.Sbsize < layout.SuperblockSize || sb.Sbsize > layout.MAXBSIZE {
		return nil, fmt.Errorf("bad superblock size fs_sbsize=%d", sb.Sbsize)
	}
	if g.ufs2 {
		g.isize = layout.Dinode2Size
		g.nindir = g.bsize / 8
	} else {
		g.isize = layout.Dinode1Size
		g.nindir = g.bsize / 4
	}
	g.inopb = g.bsize / g.isize
	if int64(sb.Nindir) != g.nindir || int64(sb.Inopb) != g.inopb {
		return nil, fmt.Errorf("fs_nindir=%d or fs_inopb=%d does not match the block size", sb.Nindir, sb.Inopb)
	}
	g.ncg, g.ipg, g.fpg = int64(sb.Ncg), int64(sb.Ipg), int64(sb.Fpg)
	if g.ncg < 1 || g.ncg > 1<<24 {
		return nil, fmt.Errorf("bad cylinder-group count fs_ncg=%d", sb.Ncg)
	}
	if g.ipg < g.inopb || g.ipg%g.inopb != 0 || g.ipg > 1<<26 || g.ipg*g.ncg > 1<<32 {
		return nil, fmt.Errorf("bad inodes per group fs_ipg=%d", sb.Ipg)
	}
	if g.fpg < g.frag || g.fpg%g.frag != 0 || g.fpg > 1<<31 {
		return nil, fmt.Errorf("bad fragments per group fs_fpg=%d", sb.Fpg)
	}
	if g.ufs2 {
		g.size, g.dsize, g.csaddr = sb.Size, sb.Dsize, sb.Csaddr
	} else {
		// UFS1 keeps these in the 32-bit fields (NetBSD's
		// ffs_oldfscompat_read copies them to the 64-bit ones).
		g.size, g.dsize, g.csaddr = int64(sb.OldSize), int64(sb.OldDsize), int64(sb.OldCsaddr)
		g.cgoffset, g.cgmask = int64(sb.OldCgoffset), int64(sb.OldCgmask)
		if g.cgoffset < 0 || g.cgoffset > g.fpg {
			return nil, fmt.Errorf("bad fs_old_cgoffset=%d", sb.OldCgoffset)
		}
	}
	if g.size <= 0 || g.size > (1<<62)>>g.fshift {
		return nil, fmt.Errorf("bad file-system size fs_size=%d", g.size)
	}
	if g.size<<g.fshift > d.Size() {
		return nil, fmt.Errorf("file system (%d bytes) is larger than the device (%d bytes)", g.size<<g.fshift, d.Size())
	}
	if (g.ncg-1)*g.fpg >= g.size || g.ncg*g.fpg < g.size {
		return nil, fmt.Errorf("fs_ncg=%d does not match fs_size=%d / fs_fpg=%d", sb.Ncg, g.size, sb.Fpg)
	}
	if g.dsize <= 0 || g.dsize > g.size {
		return nil, fmt.Errorf("bad data size fs_dsize=%d", g.dsize)
	}
	g.sblkno, g.cblkno, g.iblkno, g.dblk = int64(sb.Sblkno), int64(sb.Cblkno), int64(sb.Iblkno), int64(sb.Dblkno)
	inoFrags := g.ipg / g.inopb * g.frag
	if g.sblkno < 0 || g.cblkno < g.sblkno || g.iblkno < g.cblkno+1 || g.iblkno+inoFrags > g.dblk || g.dblk > g.fpg || g.iblkno%g.frag != 0 {
		return nil, fmt.Errorf("bad cylinder-group layout (fs_sblkno=%d fs_cblkno=%d fs_iblkno=%d fs_dblkno=%d fs_ipg=%d)", sb.Sblkno, sb.Cblkno, sb.Iblkno, sb.Dblkno, sb.Ipg)
	}
	// Every group's inode table lies inside the file system, which bounds
	// the inode count by the device (and the checker's tables with it).
	if g.ncg*(g.ipg/g.inopb)<<g.bshift > g.size<<g.fshift {
		return nil, fmt.Errorf("fs_ncg=%d x fs_ipg=%d inodes do not fit in the file system", sb.Ncg, sb.Ipg)
	}
	g.cgsize = int64(sb.Cgsize)
	if g.cgsize < layout.CGHeaderSize || g.cgsize > g.bsize || g.cblkno*g.fsize+g.cgsize > g.iblkno*g.fsize {
		return nil, fmt.Errorf("bad cylinder-group size fs_cgsize=%d", sb.Cgsize)
	}
	g.cssize = int64(sb.Cssize)
	if g.cssize < g.ncg*layout.CsumSize || g.cssize > 1<<30 || g.csaddr < 0 || g.csaddr+(g.cssize+g.fsize-1)>>g.fshift > g.size {
		return nil, fmt.Errorf("bad summary area fs_csaddr=%d fs_cssize=%d", g.csaddr, sb.Cssize)
	}
	// The last cg's start must lie inside the file system.
	if g.cgstart(g.ncg-1)+g.dblk > g.size {
		return nil, fmt.Errorf("last cylinder group starts past the end (fs_ncg=%d)", sb.Ncg)
	}
	g.contigsumsize = int(sb.Contigsumsize)
	if g.contigsumsize < 0 || g.contigsumsize > fsMaxContig {
		return nil, fmt.Errorf("bad fs_contigsumsize=%d", sb.Contigsumsize)
	}
	g.maxsymlinklen = int(sb.Maxsymlinklen)
	maxSL := layout.UFS1_MAXSYMLINKLEN
	if g.ufs2 {
		maxSL = layout.UFS2_MAXSYMLINKLEN
	}
	if g.maxsymlinklen > maxSL {
		return nil, fmt.Errorf("bad fs_maxsymlinklen=%d (at most %d)", sb.Maxsymlinklen, maxSL)
	}
	// NetBSD's FS_OLDDIRFMT: file systems from before 4.4BSD have no
	// in-inode symlinks and directory entries without d_type.
	g.oldDir = g.maxsymlinklen <= 0
	if g.oldDir {
		g.maxsymlinklen = 0
	}
	g.oldInode = !g.ufs2 && sb.OldInodefmt < layout.FS_44INODEFMT
	g.minfree = int64(sb.Minfree)
	if g.minfree < 0 || g.minfree > 99 {
		g.minfree = 0
	}
	g.maxbpg = int64(sb.Maxbpg)
	if g.maxbpg <= 0 || g.maxbpg > g.fpg/g.frag {
		g.maxbpg = min(g.nindir, g.fpg/g.frag)
	}
	// The largest file the block tree can address, as ffs_oldfscompat
	// and newfs compute it (the on-disk value is not trusted).
	n := int64(layout.UFS_NDADDR)
	lim := int64(1) << 62 >> g.bshift
	for i, p := 0, int64(1); i < layout.UFS_NIADDR; i++ {
		p *= g.nindir
		if p > lim {
			p = lim
		}
		n += p
		if n > lim {
			n = lim
		}
	}
	g.maxfilesize = n << g.bshift
	if !g.ufs2 {
		// UFS1 sizes are 64-bit but block numbers 32-bit; NetBSD also caps
		// at 2^31 blocks.
		g.maxfilesize = min(g.maxfilesize, int64(1)<<31<<g.bshift-1)
	}
	return g, nil
}

func (g *geom) cgbase(c int64) int64 { return g.fpg * c }

func (g *geom) cgstart(c int64) int64 {
	if g.ufs2 {
		return g.cgbase(c)
	}
	return g.cgbase(c) + g.cgoffset*(c&^g.cgmask)
}

func (g *geom) cgtod(c int64) int64      { return g.cgstart(c) + g.cblkno }
func (g *geom) cgimin(c int64) int64     { return g.cgstart(c) + g.iblkno }
func (g *geom) cgdmin(c int64) int64     { return g.cgstart(c) + g.dblk }
func (g *geom) cgsblock(c int64) int64   { return g.cgstart(c) + g.sblkno }
func (g *geom) dtog(f int64) int64       { return f / g.fpg }
func (g *geom) dtogd(f int64) int64      { return f % g.fpg }
func (g *geom) maxino() uint64           { return uint64(g.ncg * g.ipg) }
func (g *geom) inoToCg(ino uint64) int64 { return int64(ino) / g.ipg }

// cgFrags is the number of fragments in cylinder group c (the last one
// may be short).
func (g *geom) cgFrags(c int64) int64 {
	return min(g.fpg, g.size-g.cgbase(c))
}

// inoOffset is the byte offset of inode ino on the device.
func (g *geom) inoOffset(ino uint64) int64 {
	c := int64(ino) / g.ipg
	i := int64(ino) % g.ipg
	return (g.cgimin(c)+(i/g.inopb)<<g.fragshift)<<g.fshift + (i%g.inopb)*g.isize
}

// blksize is the size of logical block lbn of a file of the given size:
// a full block, or the fragments the file's tail needs (ffs_sblksize).
func (g *geom) blksize(size int64, lbn int64) int64 {
	if lbn >= layout.UFS_NDADDR || size >= (lbn+1)<<g.bshift {
		return g.bsize
	}
	return g.fragroundup(size & (g.bsize - 1))
}

func (g *geom) fragroundup(n int64) int64 { return (n + g.fsize - 1) &^ (g.fsize - 1) }
func (g *geom) blkroundup(n int64) int64  { return (n + g.bsize - 1) &^ (g.bsize - 1) }

// inRange reports whether frags [f, f+n) lie in the data part of the file
// system, outside every cylinder group's superblock copy, cg block and
// inode table (fsck_ffs's chkrange).
func (g *geom) inRange(f, n int64) bool {
	if f <= 0 || n <= 0 || f+n > g.size || f+n < f {
		return false
	}
	c := g.dtog(f)
	if f < g.cgdmin(c) {
		if f+n > g.cgsblock(c) {
			return false
		}
	} else if f+n > g.cgbase(c+1) {
		return false
	}
	return true
}
