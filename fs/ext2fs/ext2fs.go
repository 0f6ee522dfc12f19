// Package ext2fs is the ext2/ext3/ext4 file system: read-write for ext2,
// ext3 and ext4 as mkfs.ext4 makes it (extent trees in extent.go; 64bit,
// flex_bg, metadata_csum, uninit_bg, orphan_file, ... in ext4.go),
// read-only for features the code cannot write (mmp, bigalloc, ...), in
// the manner of NetBSD's sys/ufs/ext2fs. It is registered as "ext2fs",
// NetBSD's name.
//
// The format: a superblock at byte 1024, then block groups, each with a
// block bitmap, an inode bitmap and a slice of the inode table, located
// through the group descriptors (flex_bg may pack them together). An
// inode maps its data by twelve direct and three indirect pointers
// (ext2/3) or by an extent tree rooted in the inode (ext4). Directories
// are linked records, optionally indexed by a hash tree (dir_index).
// ext3/ext4 keep a jbd2 journal in an inode: this code does not write
// through it, but a journal that needs recovery is replayed at mount
// (recover.go, package jbd2), onto the image for rw and into memory for
// -o ro, and it is left valid and empty.
//
// On-disk structures are in layout.go, checksums and hashes in hash.go.
// One RWMutex per mount serialises changes while reads run in parallel;
// metadata goes through a bounded block cache (cache.go); file data goes
// to and from the device in contiguous runs.
package ext2fs

import (
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rumpfs/rumpfs/dev"
	"github.com/rumpfs/rumpfs/vfs"
)

func init() { vfs.Register(fsType{}) }

type fsType struct{}

func (fsType) Name() string { return "ext2fs" }

// Probe looks for the magic number at byte 1024+56 and a sane block size.
func (fsType) Probe(d dev.Device) bool {
	var b [SuperblockSize]byte
	if d.Size() < SuperblockOffset+SuperblockSize {
		return false
	}
	if _, err := d.ReadAt(b[:], SuperblockOffset); err != nil {
		return false
	}
	var sb Superblock
	decodeStruct(b[:], &sb)
	return sb.Magic == Magic && sb.LogBlockSize <= 6
}

// Mount options, those of NetBSD's mount_ext2fs plus the generic ones.
var knownOptions = []string{"ro", "rw", "noatime", "sync", "async", "nodevmtime", "force",
	"nodev", "nosuid", "noexec"}

type feature struct {
	bit  uint32
	name string
}

var compatNames = []feature{
	{CompatDirPrealloc, "dir_prealloc"}, {CompatImagicInodes, "imagic_inodes"},
	{CompatHasJournal, "has_journal"}, {CompatExtAttr, "ext_attr"},
	{CompatResizeInode, "resize_inode"}, {CompatDirIndex, "dir_index"},
	{CompatLazyBG, "lazy_bg"}, {CompatExcludeBmap, "snapshot_bitmap"},
	{CompatSparseSuper2, "sparse_super2"}, {CompatFastCommit, "fast_commit"},
	{CompatStableInodes, "stable_inodes"}, {CompatOrphanFile, "orphan_file"},
}

var roCompatNames = []feature{
	{RoCompatSparseSuper, "sparse_super"}, {RoCompatLargeFile, "large_file"},
	{RoCompatBtreeDir, "btree_dir"}, {RoCompatHugeFile, "huge_file"},
	{RoCompatGdtCsum, "uninit_bg"}, {RoCompatDirNlink, "dir_nlink"},
	{RoCompatExtraIsize, "extra_isize"}, {RoCompatHasSnapshot, "snapshot"},
	{RoCompatQuota, "quota"}, {RoCompatBigalloc, "bigalloc"},
	{RoCompatMetadataCsum, "metadata_csum"}, {RoCompatReplica, "replica"},
	{RoCompatReadonly, "read-only"}, {RoCompatProject, "project"},
	{RoCompatSharedBlocks, "shared_blocks"}, {RoCompatVerity, "verity"},
	{RoCompatOrphanPresent, "orphan_present"},
}

var incompatNames = []feature{
	{IncompatCompression, "compression"}, {IncompatFiletype, "filetype"},
	{IncompatRecover, "needs_recovery"}, {IncompatJournalDev, "journal_dev"},
	{IncompatMetaBG, "meta_bg"}, {IncompatExtents, "extent"},
	{Incompat64bit, "64bit"}, {IncompatMMP, "mmp"}, {IncompatFlexBG, "flex_bg"},
	{IncompatEAInode, "ea_inode"}, {IncompatDirdata, "dirdata"},
	{IncompatCsumSeed, "metadata_csum_seed"}, {IncompatLargedir, "large_dir"},
	{IncompatInlineData, "inline_data"}, {IncompatEncrypt, "encrypt"},
	{IncompatCasefold, "casefold"},
}

// What this code reads, and what it can also write.
const (
	incompatRead = IncompatFiletype | IncompatMetaBG | IncompatExtents | Incompat64bit |
		IncompatMMP | IncompatFlexBG | IncompatCsumSeed | IncompatLargedir | IncompatInlineData
	incompatWrite = IncompatFiletype | IncompatMetaBG | IncompatFlexBG |
		IncompatExtents | Incompat64bit | IncompatCsumSeed | IncompatInlineData | // ext4 metadata (ext4.go, inline.go)
		IncompatLargedir // three-level hash trees (dxwrite.go)
	roCompatWrite = RoCompatSparseSuper | RoCompatLargeFile | RoCompatHugeFile | RoCompatDirNlink | RoCompatExtraIsize |
		RoCompatGdtCsum | RoCompatMetadataCsum | RoCompatOrphanPresent // ext4 metadata (ext4.go)
	// Unknown compat bits are safe by definition; these known ones are
	// not: imagic inodes, and a fast-commit area or an exclude bitmap this
	// code would leave stale.
	compatWriteBad = CompatImagicInodes | CompatFastCommit | CompatExcludeBmap
)

func featureNames(set uint32, table []feature) []string {
	var out []string
	for _, f := range table {
		if set&f.bit != 0 {
			out = append(out, f.name)
			set &^= f.bit
		}
	}
	for set != 0 {
		b := uint32(1) << bits.TrailingZeros32(set)
		out = append(out, fmt.Sprintf("unknown_%#x", b))
		set &^= b
	}
	return out
}

// fsys is a mounted ext2/3/4 file system.
type fsys struct {
	d    dev.Device
	name string
	ro   bool
	now  func() time.Time
	logf func(string, ...any)

	noatime bool
	sync    bool

	// mu is the one writer lock of the mount: changes hold it exclusively,
	// reads share it.
	mu sync.RWMutex

	sb       Superblock
	sbRaw    [SuperblockSize]byte
	bsize    int
	ngroups  uint32
	ipg      uint32
	bpg      uint32
	isize    int
	firstIno uint32
	descSize int
	gds      []GroupDesc
	gdtBlk   []uint64 // where each descriptor-table block lives
	gdtRaw   [][]byte
	gdtDirty []bool
	sbDirty  bool

	metaCsum bool
	gdtCsum  bool
	csumSeed uint32
	filetype bool
	extents  bool

	cache *bcache
	vc    vfs.VCache[*inode]

	orphans map[uint32]orphanRec // open files without a name (ext4.go)
	olist   []*inode             // those in the s_last_orphan list, head first
	ofile   *inode               // the orphan file, once used

	gen     uint32   // next i_generation
	pending []*inode // references to drop when the current change ends
	stop    chan struct{}
	stopped chan struct{}
	dead    bool
}

func (fs *fsys) errorf(format string, args ...any) error {
	return fmt.Errorf("ext2fs: %s: %s", fs.name, fmt.Sprintf(format, args...))
}

func (fs *fsys) warnf(format string, args ...any) {
	if fs.logf != nil {
		fs.logf("ext2fs: %s: %s", fs.name, fmt.Sprintf(format, args...))
	}
}

// errIO is what a corrupt structure met during an operation gives.
var errIO = syscall.EIO

func (fsType) Mount(d dev.Device, args *vfs.MountArgs) (vfs.Mount, error) {
	if args == nil {
		args = &vfs.MountArgs{}
	}
	fs := &fsys{d: d, name: d.Name(), now: args.Clock(), logf: args.Logf}
	if err := args.Options.Check("ext2fs", knownOptions...); err != nil {
		return nil, err
	}
	fs.ro = args.ReadOnly || d.ReadOnly() || args.Options.Has("ro")
	// noatime and sync are mount flags the kernel layer consumes (NetBSD's
	// MNT_NOATIME, MNT_SYNCHRONOUS); they reach us in args.Flags, or in
	// Options when the file system is mounted directly.
	fs.noatime = args.Options.Has("noatime") || args.Flags.Has("noatime")
	fs.sync = args.Options.Has("sync") || args.Flags.Has("sync")
	force := args.Options.Has("force")
	if err := fs.readSuper(); err != nil {
		return nil, err
	}
	if err := fs.checkFeatures(); err != nil {
		return nil, err
	}
	if err := fs.readGroups(); err != nil {
		return nil, err
	}
	fs.cache = newBcache(d, fs.bsize, cacheBlocks(fs.bsize))
	fs.vc.Load = fs.loadInode
	fs.vc.Inactive = fs.inactive
	if fs.sb.FeatureCompat&CompatHasJournal != 0 {
		if err := fs.checkJournal(); err != nil {
			return nil, err
		}
	}
	root, err := fs.vc.Get(RootIno)
	if err != nil {
		return nil, fs.errorf("cannot read the root directory: %v", err)
	}
	isDir := root.di.Mode&0xF000 == 0x4000
	fs.vc.Rele(RootIno)
	if !isDir {
		return nil, fs.errorf("root inode is not a directory")
	}
	if !fs.ro {
		if fs.sb.State&StateValid == 0 || fs.sb.State&StateErrors != 0 {
			if !force {
				return nil, fs.errorf("file system not clean; run e2fsck, mount read-only, or use -o force")
			}
			fs.warnf("mounting a file system that is not clean (forced)")
		}
		fs.gen = uint32(fs.now().UnixNano())
		// Mark the file system in use as the kernels do: not clean, one
		// more mount, the time. Written at once so a crash shows it.
		fs.sb.State &^= StateValid
		fs.sb.MntCount++
		fs.sb.Mtime = uint32(fs.now().Unix())
		fs.sbDirty = true
		if err := fs.flush(true); err != nil {
			return nil, fs.errorf("cannot mark the file system in use: %v", err)
		}
		if fs.sb.LastOrphan != 0 || fs.sb.FeatureRoCompat&RoCompatOrphanPresent != 0 {
			fs.cleanupOrphans()
		}
		fs.stop = make(chan struct{})
		fs.stopped = make(chan struct{})
		go fs.flusher()
	} else if fs.sb.State&StateValid == 0 {
		fs.warnf("file system was not cleanly unmounted")
	}
	return fs, nil
}

func cacheBlocks(bsize int) int {
	n := (16 << 20) / bsize // 16 MiB of metadata
	if n < 64 {
		n = 64
	}
	return n
}

func (fs *fsys) readSuper() error {
	if fs.d.Size() < SuperblockOffset+SuperblockSize {
		return fs.errorf("device too small for a superblock")
	}
	if _, err := fs.d.ReadAt(fs.sbRaw[:], SuperblockOffset); err != nil {
		return fs.errorf("reading superblock: %v", err)
	}
	sb := &fs.sb
	decodeStruct(fs.sbRaw[:], sb)
	if sb.Magic != Magic {
		return fs.errorf("bad magic number %#x (not an ext2/3/4 file system)", sb.Magic)
	}
	if sb.LogBlockSize > 6 {
		return fs.errorf("bad block size 2^%d KiB", sb.LogBlockSize)
	}
	fs.bsize = 1024 << sb.LogBlockSize
	if sb.RevLevel > RevDynamic {
		return fs.errorf("unknown revision %d", sb.RevLevel)
	}
	if sb.RevLevel == RevGood {
		fs.isize = Rev0InodeSize
		fs.firstIno = Rev0FirstIno
		// Revision 0 has no feature fields; anything there is garbage.
		sb.FeatureCompat, sb.FeatureIncompat, sb.FeatureRoCompat = 0, 0, 0
	} else {
		fs.isize = int(sb.InodeSize)
		fs.firstIno = sb.FirstIno
		if fs.isize < InodeBaseSize || fs.isize > fs.bsize || fs.isize&(fs.isize-1) != 0 {
			return fs.errorf("bad inode size %d", fs.isize)
		}
		if fs.firstIno < Rev0FirstIno {
			return fs.errorf("bad first inode %d", fs.firstIno)
		}
	}
	if sb.RoCompat()&RoCompatMetadataCsum != 0 {
		if sb.ChecksumType != 1 {
			return fs.errorf("unknown checksum type %d", sb.ChecksumType)
		}
		if want := crc32c(^uint32(0), fs.sbRaw[:SuperblockChecksumOffset]); want != sb.Checksum {
			return fs.errorf("superblock checksum mismatch (%#x, computed %#x)", sb.Checksum, want)
		}
	}
	fs.ipg, fs.bpg = sb.InodesPerGroup, sb.BlocksPerGroup
	bitsPerBlock := uint32(fs.bsize * 8)
	if fs.bpg == 0 || fs.bpg > bitsPerBlock {
		return fs.errorf("bad blocks per group %d", fs.bpg)
	}
	if fs.ipg == 0 || fs.ipg > bitsPerBlock {
		return fs.errorf("bad inodes per group %d", fs.ipg)
	}
	if sb.LogClusterSize != sb.LogBlockSize && sb.RoCompat()&RoCompatBigalloc == 0 {
		// Without bigalloc the cluster size must be the block size.
		if sb.RevLevel != RevGood && sb.LogClusterSize != 0 {
			return fs.errorf("cluster size differs from block size without bigalloc")
		}
	}
	blocks := sb.BlocksCount()
	if uint64(sb.FirstDataBlock) >= blocks {
		return fs.errorf("first data block %d past the end (%d blocks)", sb.FirstDataBlock, blocks)
	}
	if fs.bsize == 1024 && sb.FirstDataBlock != 1 || fs.bsize > 1024 && sb.FirstDataBlock != 0 {
		return fs.errorf("bad first data block %d for %d-byte blocks", sb.FirstDataBlock, fs.bsize)
	}
	if blocks > uint64(fs.d.Size())/uint64(fs.bsize) {
		return fs.errorf("block count %d exceeds the device (%d bytes)", blocks, fs.d.Size())
	}
	ng := (blocks - uint64(sb.FirstDataBlock) + uint64(fs.bpg) - 1) / uint64(fs.bpg)
	if ng == 0 || ng > 1<<32-1 || ng*uint64(fs.ipg) != uint64(sb.InodesCount) {
		return fs.errorf("bad geometry: %d groups of %d inodes but %d inodes in all", ng, fs.ipg, sb.InodesCount)
	}
	fs.ngroups = uint32(ng)
	fs.descSize = GroupDescSize32
	if sb.FeatureIncompat&Incompat64bit != 0 {
		fs.descSize = int(sb.DescSize)
		if fs.descSize < GroupDescSize64 || fs.descSize > 1024 || fs.descSize&(fs.descSize-1) != 0 {
			return fs.errorf("bad group descriptor size %d", fs.descSize)
		}
	}
	if int(sb.InodesPerGroup)*fs.isize%fs.bsize != 0 && false {
		return fs.errorf("inode table not a whole number of blocks")
	}
	fs.metaCsum = sb.RoCompat()&RoCompatMetadataCsum != 0
	fs.gdtCsum = !fs.metaCsum && sb.RoCompat()&RoCompatGdtCsum != 0
	if fs.metaCsum {
		if sb.FeatureIncompat&IncompatCsumSeed != 0 {
			fs.csumSeed = sb.ChecksumSeed
		} else {
			fs.csumSeed = crc32c(^uint32(0), sb.UUID[:])
		}
	}
	fs.filetype = sb.FeatureIncompat&IncompatFiletype != 0
	fs.extents = sb.FeatureIncompat&IncompatExtents != 0
	return nil
}

// RoCompat returns the ro_compat feature set.
func (s *Superblock) RoCompat() uint32 { return s.FeatureRoCompat }

// checkFeatures refuses what cannot be read at all, and a read-write
// mount of what cannot be written, naming the features (as Linux's
// ext4_feature_set_ok and NetBSD's ext2fs_sbfill do).
func (fs *fsys) checkFeatures() error {
	sb := &fs.sb
	if sb.FeatureIncompat&IncompatJournalDev != 0 {
		return fs.errorf("external journal device (journal_dev) is not supported")
	}
	if sb.FeatureIncompat&IncompatRecover != 0 {
		// The journal is replayed by checkJournal (recover.go) once the
		// groups are read; the other features are judged without the flag.
		if sb.FeatureCompat&CompatHasJournal == 0 {
			return fs.errorf("needs_recovery is set but there is no journal (has_journal): run e2fsck")
		}
		sb.FeatureIncompat &^= IncompatRecover
		defer func() { sb.FeatureIncompat |= IncompatRecover }()
	}
	if sb.FeatureCompat&CompatHasJournal != 0 && sb.JournalInum == 0 {
		return fs.errorf("external journal (has_journal without a journal inode) is not supported")
	}
	if bad := sb.FeatureIncompat &^ incompatRead; bad != 0 {
		return fs.errorf("unsupported incompatible features: %s", strings.Join(featureNames(bad, incompatNames), ", "))
	}
	if fs.ro {
		return nil
	}
	var bad []string
	bad = append(bad, featureNames(sb.FeatureIncompat&^incompatWrite, incompatNames)...)
	bad = append(bad, featureNames(sb.FeatureRoCompat&^roCompatWrite, roCompatNames)...)
	bad = append(bad, featureNames(sb.FeatureCompat&compatWriteBad, compatNames)...)
	if len(bad) > 0 {
		return fs.errorf("cannot mount read-write: features not supported for writing: %s (mount with -o ro)", strings.Join(bad, ", "))
	}
	if fs.bsize > 65536/2 && fs.bsize != 65536 {
		return nil
	}
	return nil
}

// hasSuper reports whether group g holds a superblock backup.
func (fs *fsys) hasSuper(g uint32) bool {
	if g == 0 {
		return true
	}
	if fs.sb.FeatureCompat&CompatSparseSuper2 != 0 {
		return g == fs.sb.BackupBGs[0] || g == fs.sb.BackupBGs[1]
	}
	if g <= 1 || fs.sb.FeatureRoCompat&RoCompatSparseSuper == 0 {
		return true
	}
	if g&1 == 0 {
		return false
	}
	for _, p := range []uint32{3, 5, 7} {
		n := p
		for n < g {
			n *= p
		}
		if n == g {
			return true
		}
	}
	return false
}

func (fs *fsys) descPerBlock() uint32 { return uint32(fs.bsize / fs.descSize) }

func (fs *fsys) gdtBlocks() uint32 {
	return (fs.ngroups + fs.descPerBlock() - 1) / fs.descPerBlock()
}

func (fs *fsys) groupFirstBlock(g uint32) uint64 {
	return uint64(fs.sb.FirstDataBlock) + uint64(g)*uint64(fs.bpg)
}

// gdtLocation gives the block of descriptor-table block i: after the
// primary superblock, or with meta_bg in the first group of its
// meta-group.
func (fs *fsys) gdtLocation(i uint32) uint64 {
	if fs.sb.FeatureIncompat&IncompatMetaBG == 0 || i < fs.sb.FirstMetaBG {
		return uint64(fs.sb.FirstDataBlock) + 1 + uint64(i)
	}
	g := i * fs.descPerBlock()
	b := fs.groupFirstBlock(g)
	if fs.hasSuper(g) {
		b++
	}
	return b
}

func (fs *fsys) readGroups() error {
	n := fs.gdtBlocks()
	blocks := fs.sb.BlocksCount()
	fs.gds = make([]GroupDesc, fs.ngroups)
	fs.gdtBlk = make([]uint64, n)
	fs.gdtRaw = make([][]byte, n)
	fs.gdtDirty = make([]bool, n)
	per := fs.descPerBlock()
	for i := uint32(0); i < n; i++ {
		blk := fs.gdtLocation(i)
		if blk >= blocks {
			return fs.errorf("group descriptor block %d past the end", blk)
		}
		raw := make([]byte, fs.bsize)
		if _, err := fs.d.ReadAt(raw, int64(blk)*int64(fs.bsize)); err != nil {
			return fs.errorf("reading group descriptors: %v", err)
		}
		fs.gdtBlk[i], fs.gdtRaw[i] = blk, raw
		for j := uint32(0); j < per && i*per+j < fs.ngroups; j++ {
			g := i*per + j
			b := raw[int(j)*fs.descSize:][:fs.descSize]
			var full [GroupDescSize64]byte
			copy(full[:], b[:min(fs.descSize, GroupDescSize64)])
			decodeStruct(full[:], &fs.gds[g])
			if err := fs.checkGroup(g, b); err != nil {
				return err
			}
		}
	}
	return nil
}

func (fs *fsys) checkGroup(g uint32, raw []byte) error {
	gd := &fs.gds[g]
	if fs.metaCsum || fs.gdtCsum {
		if c := fs.groupCsum(g, raw); c != gd.Checksum {
			return fs.errorf("group %d descriptor checksum mismatch (%#x, computed %#x)", g, gd.Checksum, c)
		}
	}
	blocks := fs.sb.BlocksCount()
	first := uint64(fs.sb.FirstDataBlock)
	itBlocks := (uint64(fs.ipg)*uint64(fs.isize) + uint64(fs.bsize) - 1) / uint64(fs.bsize)
	for _, x := range []struct {
		what string
		b, n uint64
	}{{"block bitmap", gd.BlockBitmap(), 1}, {"inode bitmap", gd.InodeBitmap(), 1}, {"inode table", gd.InodeTable(), itBlocks}} {
		if x.b < first || x.b >= blocks || x.b+x.n > blocks {
			return fs.errorf("group %d: %s at block %d is outside the file system", g, x.what, x.b)
		}
	}
	if gd.FreeBlocks() > fs.bpg || gd.FreeInodes() > fs.ipg {
		return fs.errorf("group %d: free counts (%d blocks, %d inodes) exceed the group size", g, gd.FreeBlocks(), gd.FreeInodes())
	}
	return nil
}

// groupCsum computes bg_checksum: crc32c (metadata_csum) or crc16
// (gdt_csum) over the group number and the descriptor minus the field.
func (fs *fsys) groupCsum(g uint32, raw []byte) uint16 {
	var gb [4]byte
	le.PutUint32(gb[:], g)
	if fs.metaCsum {
		c := crc32c(fs.csumSeed, gb[:])
		c = crc32c(c, raw[:GroupDescChecksumOffset])
		c = crc32c(c, []byte{0, 0})
		if fs.descSize > GroupDescChecksumOffset+2 {
			c = crc32c(c, raw[GroupDescChecksumOffset+2:fs.descSize])
		}
		return uint16(c)
	}
	c := crc16(0xFFFF, fs.sb.UUID[:])
	c = crc16(c, gb[:])
	c = crc16(c, raw[:GroupDescChecksumOffset])
	if fs.descSize > GroupDescChecksumOffset+2 {
		c = crc16(c, raw[GroupDescChecksumOffset+2:fs.descSize])
	}
	return c
}

// checkJournal replays a journal that needs recovery and refuses one the
// code does not understand (recover.go).
func (fs *fsys) checkJournal() error {
	return fs.recoverJournal()
}

// flusher writes dirty metadata back every few seconds, so that it is
// never much older than that (DESIGN.md, durability).
func (fs *fsys) flusher() {
	defer close(fs.stopped)
	t := time.NewTicker(3 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-fs.stop:
			return
		case <-t.C:
			fs.mu.Lock()
			if !fs.dead {
				if err := fs.flush(false); err != nil {
					fs.warnf("background flush: %v", err)
				}
			}
			fs.mu.Unlock()
		}
	}
}

// flush writes the dirty descriptor blocks, superblock and cached blocks
// (caller holds mu for writing), then syncs the device if asked.
func (fs *fsys) flush(syncDev bool) error {
	if fs.ro {
		return nil
	}
	if err := fs.cache.flushIfAny(); err != nil {
		return err
	}
	for i, dirty := range fs.gdtDirty {
		if dirty {
			if _, err := fs.d.WriteAt(fs.gdtRaw[i], int64(fs.gdtBlk[i])*int64(fs.bsize)); err != nil {
				return err
			}
			fs.gdtDirty[i] = false
		}
	}
	if fs.sbDirty {
		fs.sb.Wtime = uint32(fs.now().Unix())
		fs.encodeSuper()
		if _, err := fs.d.WriteAt(fs.sbRaw[:], SuperblockOffset); err != nil {
			return err
		}
		fs.sbDirty = false
	}
	if syncDev {
		return fs.d.Sync()
	}
	return nil
}

func (c *bcache) flushIfAny() error {
	if c == nil {
		return nil
	}
	return c.flush()
}

func (fs *fsys) encodeSuper() {
	encodeStruct(fs.sbRaw[:], &fs.sb)
	if fs.metaCsum {
		fs.sb.Checksum = crc32c(^uint32(0), fs.sbRaw[:SuperblockChecksumOffset])
		le.PutUint32(fs.sbRaw[SuperblockChecksumOffset:], fs.sb.Checksum)
	}
}

// putGroup re-encodes group g's descriptor after a change.
func (fs *fsys) putGroup(g uint32) {
	per := fs.descPerBlock()
	i, j := g/per, g%per
	raw := fs.gdtRaw[i][int(j)*fs.descSize:][:fs.descSize]
	var full [GroupDescSize64]byte
	encodeStruct(full[:], &fs.gds[g])
	copy(raw, full[:min(fs.descSize, GroupDescSize64)])
	if fs.metaCsum || fs.gdtCsum {
		c := fs.groupCsum(g, raw)
		fs.gds[g].Checksum = c
		le.PutUint16(raw[GroupDescChecksumOffset:], c)
	}
	fs.gdtDirty[i] = true
	fs.sbDirty = true
}

// endOp finishes a write operation: in sync mode everything goes to disk,
// otherwise the cache is flushed when many buffers are dirty.
func (fs *fsys) endOp() error {
	if fs.sync {
		return fs.flush(true)
	}
	if fs.cache.dirtyCount() > fs.cache.max/2 {
		return fs.flush(false)
	}
	return nil
}

func (fs *fsys) Root() (vfs.Vnode, error) {
	ip, err := fs.vc.Get(RootIno)
	if err != nil {
		return nil, err
	}
	return ip, nil
}

func (fs *fsys) ReadOnly() bool { return fs.ro }

func (fs *fsys) Sync() error {
	if fs.ro {
		return nil
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.flush(true); err != nil {
		return syscall.EIO
	}
	return nil
}

// Unmount frees files unlinked while open, writes everything, marks the
// file system clean and stops the flusher.
func (fs *fsys) Unmount() error {
	fs.mu.RLock()
	dead := fs.dead
	fs.mu.RUnlock()
	if dead {
		return nil // unmounted already
	}
	if fs.ro {
		fs.mu.Lock()
		fs.dead = true
		fs.mu.Unlock()
		return nil
	}
	close(fs.stop)
	<-fs.stopped
	// Files whose last name went while they were open: free them now so
	// that no orphan is left behind.
	var orphans []*inode
	fs.vc.Each(func(_ uint64, ip *inode) {
		if ip.di.LinksCount == 0 && !ip.freed {
			orphans = append(orphans, ip)
		}
	})
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var errs []error
	for _, ip := range orphans {
		fs.cache.beginOp()
		if err := ip.release(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		fs.orphansDone()
		fs.sb.State |= StateValid
		fs.sbDirty = true
	}
	if err := fs.flush(true); err != nil {
		errs = append(errs, err)
	}
	fs.dead = true
	if len(errs) > 0 {
		return fs.errorf("unmount: %v", errors.Join(errs...))
	}
	return nil
}

func (fs *fsys) Statfs() (vfs.StatFS, error) {
	fs.mu.RLock()
	defer fs.mu.RUnlock()
	sb := &fs.sb
	blocks := sb.BlocksCount()
	over := fs.overhead()
	free := sb.FreeBlocksCount()
	avail := uint64(0)
	if r := sb.RBlocksCount(); free > r {
		avail = free - r
	}
	total := blocks
	if over < total {
		total -= over
	}
	return vfs.StatFS{
		Bsize: uint32(fs.bsize), Frsize: uint32(fs.bsize),
		Blocks: total, Bfree: free, Bavail: avail,
		Files: uint64(sb.InodesCount), Ffree: uint64(sb.FreeInodesCount),
		Namemax: DirNameMax,
	}, nil
}

// overhead counts the blocks the format itself uses (superblocks,
// descriptors, bitmaps, inode tables), as Linux's statfs subtracts them.
func (fs *fsys) overhead() uint64 {
	if fs.sb.OverheadClusters != 0 {
		return uint64(fs.sb.OverheadClusters)
	}
	it := (uint64(fs.ipg)*uint64(fs.isize) + uint64(fs.bsize) - 1) / uint64(fs.bsize)
	o := uint64(fs.sb.FirstDataBlock)
	for g := uint32(0); g < fs.ngroups; g++ {
		o += 2 + it
		if fs.hasSuper(g) {
			o += 1 + uint64(fs.sb.ReservedGdtBlocks)
			if fs.sb.FeatureIncompat&IncompatMetaBG == 0 {
				o += uint64(fs.gdtBlocks())
			}
		}
	}
	return o
}

func (fs *fsys) Info() vfs.Info {
	fs.mu.RLock()
	defer fs.mu.RUnlock()
	sb := &fs.sb
	var feats []string
	feats = append(feats, featureNames(sb.FeatureCompat, compatNames)...)
	feats = append(feats, featureNames(sb.FeatureIncompat, incompatNames)...)
	feats = append(feats, featureNames(sb.FeatureRoCompat, roCompatNames)...)
	u := sb.UUID
	return vfs.Info{
		Type:     "ext2fs",
		Label:    strings.TrimRight(string(sb.VolumeName[:]), "\x00"),
		UUID:     fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16]),
		Features: feats,
		Clean:    sb.State&StateValid != 0 && sb.State&StateErrors == 0,
		Extra: []vfs.KV{
			{Key: "revision", Value: fmt.Sprintf("%d.%d", sb.RevLevel, sb.MinorRevLevel)},
			{Key: "block size", Value: fmt.Sprint(fs.bsize)},
			{Key: "inode size", Value: fmt.Sprint(fs.isize)},
			{Key: "blocks", Value: fmt.Sprint(sb.BlocksCount())},
			{Key: "free blocks", Value: fmt.Sprint(sb.FreeBlocksCount())},
			{Key: "reserved blocks", Value: fmt.Sprint(sb.RBlocksCount())},
			{Key: "inodes", Value: fmt.Sprint(sb.InodesCount)},
			{Key: "free inodes", Value: fmt.Sprint(sb.FreeInodesCount)},
			{Key: "groups", Value: fmt.Sprint(fs.ngroups)},
			{Key: "mount count", Value: fmt.Sprint(sb.MntCount)},
		},
	}
}
