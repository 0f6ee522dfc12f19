package ffs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"
	"time"

	"github.com/rumpfs/rumpfs/dev"
	"github.com/rumpfs/rumpfs/fs/ffs/layout"
	"github.com/rumpfs/rumpfs/vfs"
)

// cacheBytes bounds the metadata cache of one mount.
const cacheBytes = 32 << 20

type mount struct {
	g *geom
	// writer is the uid a WriteCred in progress runs as (hasWriter
	// set), under mu: its allocations draw on the minfree reserve only
	// if it is root (NetBSD's ffs_alloc tests the write's cred).
	writer    uint32
	hasWriter bool
	d         dev.Device
	name      string
	cache     *dev.Cache
	ro        bool
	opts      options
	now       func() time.Time
	warnf     func(string, ...any)

	// mu serialises changes: writers hold it exclusively, readers share
	// it. Inode fields, directory contents and the cylinder groups are
	// only changed under mu.Lock.
	mu sync.RWMutex

	vc vfs.VCache[*node]

	// Allocation state, under mu.Lock (or mu.RLock for reading).
	cgs     []*cgroup     // loaded on demand
	csum    []layout.Csum // the summary area: one csum per group
	total   layout.Csum   // sums of csum (fs_cstotal), kept as we go
	sbDirty bool
	gen     uint32 // next generation number
	clean0  uint8  // fs_clean as found
	dead    bool   // unmounted

	// dirhash: directories get name hashes (dirhash.go); set at mount,
	// cleared only by tests comparing against the scan.
	dirhash bool
}

func mountFS(d dev.Device, args *vfs.MountArgs) (*mount, error) {
	opts, err := parseOptions(args.Options)
	if err != nil {
		return nil, err
	}
	// noatime may also come as a mount flag the kernel layer consumed
	// (NetBSD's MNT_NOATIME).
	opts.noatime = opts.noatime || args.Flags.Has("noatime")
	g, err := findSuperblock(d)
	if err != nil {
		return nil, fmt.Errorf("ffs: %s: %v", d.Name(), err)
	}
	m := &mount{
		g: g, d: d, name: d.Name(), opts: opts,
		ro:    args.ReadOnly || opts.ro || d.ReadOnly(),
		now:   args.Clock(),
		warnf: args.Warnf,
	}
	sb := g.sb
	flags := sb.Flags
	if !g.ufs2 && sb.OldFlags&layout.FS_FLAGS_UPDATED == 0 {
		// Old UFS1 superblocks keep the flags in fs_old_flags.
		flags = uint32(sb.OldFlags)
	}
	if flags&layout.FS_SUJ != 0 {
		// FreeBSD's journaled soft updates: NetBSD cannot replay the
		// journal, so the metadata may be behind it.
		if !m.ro {
			return nil, fmt.Errorf("ffs: %s: file system uses soft-updates journaling (SU+J); read-write mount refused (run FreeBSD's fsck_ffs first)", m.name)
		}
		if !opts.force {
			return nil, fmt.Errorf("ffs: %s: file system uses soft-updates journaling (SU+J); mount read-only with -o force to see a possibly stale view", m.name)
		}
		m.warnf("ffs: %s: soft-updates journal (SU+J) not replayed; the view may be stale", m.name)
	}
	if flags&layout.FS_DOWAPBL != 0 {
		if m.wapblNeedsReplay() {
			if !m.ro {
				return nil, fmt.Errorf("ffs: %s: WAPBL log needs replay; read-write mount refused (run NetBSD's fsck_ffs or mount with -o log on NetBSD)", m.name)
			}
			if !opts.force {
				return nil, fmt.Errorf("ffs: %s: WAPBL log needs replay; mount read-only with -o force to see a possibly stale view", m.name)
			}
			m.warnf("ffs: %s: WAPBL log not replayed; the view may be stale", m.name)
		}
	}
	if sb.Clean&layout.FS_ISCLEAN == 0 {
		m.warnf("ffs: %s: file system not clean (fs_clean=%#x); please fsck", m.name, sb.Clean)
	}
	m.cache = dev.NewCache(d, int(g.fsize), cacheBytes)
	m.cgs = make([]*cgroup, g.ncg)
	if err := m.loadCsum(); err != nil {
		return nil, fmt.Errorf("ffs: %s: %v", m.name, err)
	}
	m.dirhash = true
	m.vc = vfs.VCache[*node]{
		Load:     m.loadNode,
		Inactive: m.inactive,
		// A node leaving the cache takes its dirhash with it.
		Reclaim: func(_ uint64, n *node) { n.dropDirhash() },
		MaxIdle: 8192,
	}
	// A root that is not a directory is a mount error, not an EIO later.
	root, err := m.vc.Get(layout.UFS_ROOTINO)
	if err != nil {
		return nil, fmt.Errorf("ffs: %s: reading root inode: %v", m.name, err)
	}
	isDir := root.mode&layout.IFMT == layout.IFDIR
	m.vc.Rele(layout.UFS_ROOTINO)
	if !isDir {
		return nil, fmt.Errorf("ffs: %s: root inode is not a directory (mode %#o)", m.name, root.mode)
	}
	m.gen = uint32(m.now().UnixNano()) | 1
	m.clean0 = sb.Clean
	if !m.ro {
		if flags&layout.FS_DOSOFTDEP != 0 {
			// NetBSD no longer does soft updates and clears the flag when
			// it mounts such a file system read-write.
			m.warnf("ffs: %s: clearing the soft-updates flag (not supported, as on NetBSD)", m.name)
			sb.Flags &^= layout.FS_DOSOFTDEP
			sb.OldFlags &^= layout.FS_DOSOFTDEP
		}
		if flags&layout.FS_DOWAPBL != 0 {
			// The log is empty (else we refused above); without logging
			// NetBSD drops it from the superblock.
			sb.Flags &^= layout.FS_DOWAPBL
			sb.JournalLocation = 0
		}
		// As ffs_mountfs: FS_ISCLEAN becomes FS_WASCLEAN while mounted
		// read-write, so a crash leaves the file system marked dirty.
		if sb.Clean&layout.FS_ISCLEAN != 0 {
			sb.Clean = layout.FS_WASCLEAN
		} else {
			sb.Clean = 0
		}
		if err := m.writeSuperblock(); err != nil {
			return nil, fmt.Errorf("ffs: %s: marking file system dirty: %v", m.name, err)
		}
		if err := m.cache.Flush(); err != nil {
			return nil, fmt.Errorf("ffs: %s: %v", m.name, err)
		}
	}
	return m, nil
}

// wapblNeedsReplay looks at NetBSD's WAPBL log header (struct
// wapbl_wc_header: two copies in the first two log blocks, the one with
// the higher generation current; the log is empty when head == tail).
// Anything it cannot make sense of counts as needing replay.
func (m *mount) wapblNeedsReplay() bool {
	sb := m.g.sb
	var addr, blk int64
	switch sb.JournalLocation {
	case layout.UFS_WAPBL_JOURNALLOC_END_PARTITION, layout.UFS_WAPBL_JOURNALLOC_IN_FILESYSTEM:
		addr = int64(sb.Journallocs[0]) * layout.DEV_BSIZE
		blk = int64(sb.Journallocs[2])
	case layout.UFS_WAPBL_JOURNALLOC_NONE:
		// No log at all: on FreeBSD this bit is FS_NFS4ACLS.
		return false
	default:
		return true
	}
	if blk < layout.DEV_BSIZE || blk > 65536 || addr < 0 || addr+2*blk > m.d.Size() {
		return true
	}
	buf := make([]byte, 2*blk)
	if n, _ := m.d.ReadAt(buf, addr); n != len(buf) {
		return true
	}
	best, found := -1, false
	var gen uint32
	for i := 0; i < 2; i++ {
		h := buf[int64(i)*blk:]
		for _, bo := range []binary.ByteOrder{m.g.bo} {
			if bo.Uint32(h[0:]) != 0x57424c48 { // "WBLH"
				continue
			}
			if g := bo.Uint32(h[12:]); !found || g > gen {
				gen, best, found = g, i, true
			}
		}
	}
	if !found {
		return true
	}
	h := buf[int64(best)*blk:]
	head := int64(m.g.bo.Uint64(h[48:]))
	tail := int64(m.g.bo.Uint64(h[56:]))
	return head != tail
}

// loadCsum reads the summary area (fs_csaddr, fs_cssize bytes: one struct
// csum per cylinder group) and the totals.
func (m *mount) loadCsum() error {
	g := m.g
	buf := make([]byte, g.ncg*layout.CsumSize)
	if _, err := m.cache.ReadAt(buf, g.csaddr<<g.fshift); err != nil {
		return fmt.Errorf("reading cylinder-group summaries: %v", err)
	}
	m.csum = make([]layout.Csum, g.ncg)
	var t layout.Csum
	for i := range m.csum {
		c, _ := layout.DecodeCsum(buf[i*layout.CsumSize:], g.bo)
		m.csum[i] = c
		t.Ndir += c.Ndir
		t.Nbfree += c.Nbfree
		t.Nifree += c.Nifree
		t.Nffree += c.Nffree
	}
	m.total = t
	return nil
}

// writeSuperblock encodes the in-memory superblock (with the totals and
// time) into its area. Called with mu held (or during mount).
func (m *mount) writeSuperblock() error {
	g := m.g
	sb := g.sb
	now := m.now()
	sb.Time = now.Unix()
	sb.Fmod = 0
	sb.Cstotal.Ndir = int64(m.total.Ndir)
	sb.Cstotal.Nbfree = int64(m.total.Nbfree)
	sb.Cstotal.Nifree = int64(m.total.Nifree)
	sb.Cstotal.Nffree = int64(m.total.Nffree)
	if !g.ufs2 {
		// ffs_oldfscompat_write: UFS1 readers look at the old fields.
		sb.OldTime = int32(sb.Time)
		sb.OldCstotal = m.total
	}
	if err := sb.Encode(g.sbraw, g.bo); err != nil {
		return err
	}
	_, err := m.cache.WriteAt(g.sbraw, g.sbloc)
	return err
}

// syncLocked writes every dirty inode, cylinder group, the summary area
// and the superblock, then flushes the cache. mu must be held for writing.
func (m *mount) syncLocked() error {
	if m.ro {
		return nil
	}
	var firstErr error
	keep := func(err error) {
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	// Access times of nodes still in use (open files being read): the
	// lazy IN_ACCESS write of ffs_sync.
	m.vc.Each(func(_ uint64, n *node) {
		if !n.freed && n.accessed.Load() != 0 {
			keep(n.store())
		}
	})
	dirty := false
	for _, cg := range m.cgs {
		if cg != nil && cg.dirty {
			keep(m.writeCG(cg))
			dirty = true
		}
	}
	if dirty || m.sbDirty {
		g := m.g
		buf := make([]byte, g.ncg*layout.CsumSize)
		for i := range m.csum {
			m.csum[i].Encode(buf[i*layout.CsumSize:], g.bo)
		}
		_, err := m.cache.WriteAt(buf, g.csaddr<<g.fshift)
		keep(err)
		keep(m.writeSuperblock())
		m.sbDirty = false
	}
	keep(m.cache.Flush())
	return firstErr
}

func (m *mount) Root() (vfs.Vnode, error) {
	n, err := m.vc.Get(layout.UFS_ROOTINO)
	if err != nil {
		return nil, err
	}
	return n, nil
}

func (m *mount) Statfs() (vfs.StatFS, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	g := m.g
	free := int64(m.total.Nbfree)*g.frag + int64(m.total.Nffree)
	reserve := g.dsize * g.minfree / 100
	avail := free - reserve
	if avail < 0 {
		avail = 0
	}
	return vfs.StatFS{
		Bsize:   uint32(g.bsize),
		Frsize:  uint32(g.fsize),
		Blocks:  uint64(g.dsize),
		Bfree:   uint64(max(free, 0)),
		Bavail:  uint64(avail),
		Files:   uint64(g.ncg*g.ipg) - layout.UFS_ROOTINO,
		Ffree:   uint64(max(m.total.Nifree, 0)),
		Namemax: layout.MAXNAMLEN,
	}, nil
}

func (m *mount) Sync() error {
	if m.ro {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead {
		return syscall.EIO
	}
	return m.syncLocked()
}

func (m *mount) Unmount() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead {
		return nil
	}
	// The directory hashes go with the mount (their memory counts
	// against the budget shared by all mounts).
	defer m.vc.Each(func(_ uint64, n *node) { n.dropDirhash() })
	if m.ro {
		m.dead = true
		return nil
	}
	err := m.syncLocked()
	if err == nil {
		// Back to clean, as ffs_unmount does when it was clean at mount.
		if m.g.sb.Clean&layout.FS_WASCLEAN != 0 {
			m.g.sb.Clean = layout.FS_ISCLEAN
		}
		if err = m.writeSuperblock(); err == nil {
			err = m.cache.Flush()
		}
	}
	m.dead = true
	if err != nil {
		return fmt.Errorf("ffs: %s: unmount: %v", m.name, err)
	}
	return nil
}

func (m *mount) ReadOnly() bool { return m.ro }

func (m *mount) Info() vfs.Info {
	m.mu.RLock()
	defer m.mu.RUnlock()
	g := m.g
	sb := g.sb
	inf := vfs.Info{Type: "ffs", Label: sb.VolumeName(), Clean: m.clean0&layout.FS_ISCLEAN != 0}
	if g.ufs2 {
		inf.Features = append(inf.Features, "UFS2")
	} else {
		inf.Features = append(inf.Features, "UFS1")
	}
	if g.bo == binary.BigEndian {
		inf.Features = append(inf.Features, "big-endian")
	} else {
		inf.Features = append(inf.Features, "little-endian")
	}
	if g.oldDir {
		inf.Features = append(inf.Features, "old-dirfmt")
	}
	if g.oldInode {
		inf.Features = append(inf.Features, "4.2BSD-inodes")
	}
	for _, f := range []struct {
		bit  uint32
		name string
	}{{layout.FS_DOSOFTDEP, "soft-updates"}, {layout.FS_SUJ, "SU+J"}, {layout.FS_DOWAPBL, "WAPBL"},
		{layout.FS_ACLS, "acls"}, {layout.FS_DOQUOTA2, "quota2"}, {layout.FS_GJOURNAL, "gjournal"}} {
		if sb.Flags&f.bit != 0 {
			inf.Features = append(inf.Features, f.name)
		}
	}
	kv := func(k string, v any) { inf.Extra = append(inf.Extra, vfs.KV{Key: k, Value: fmt.Sprint(v)}) }
	kv("superblock", g.sbloc)
	kv("bsize", g.bsize)
	kv("fsize", g.fsize)
	kv("ncg", g.ncg)
	kv("ipg", g.ipg)
	kv("fpg", g.fpg)
	kv("size", g.size)
	kv("minfree", fmt.Sprintf("%d%%", g.minfree))
	kv("last mounted on", sb.LastMount())
	kv("last written", time.Unix(sb.Time, 0).UTC().Format(time.RFC3339))
	return inf
}

// ioErr turns a device or decoding failure into EIO at the vnode
// boundary, logging the cause.
func (m *mount) ioErr(what string, err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	if errors.Is(err, io.EOF) || err != nil {
		m.warnf("ffs: %s: %s: %v", m.name, what, err)
	}
	return syscall.EIO
}
