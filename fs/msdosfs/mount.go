// Package msdosfs is NetBSD's msdosfs for rumpfs: FAT12, FAT16 and FAT32
// with VFAT long names, read and written through the vfs interfaces. It
// registers itself as "msdos" (NetBSD's name).
//
// Mount options (vfs.MountArgs.Options), the -o keys rump_msdos translates
// NetBSD mount_msdos's flags into:
//
//	uid=N        -u: owner of every file (default: the mounting process's uid)
//	gid=N        -g: group of every file (default: its gid)
//	mask=OOO     -m: permission mask of files, octal (default 755); also the
//	             directory mask unless dirmask is given
//	dirmask=OOO  -M: permission mask of directories, octal
//	shortnames   -s: ignore long names, show 8.3 names in lower case and
//	             create short names only
//	longnames    -l: use long names (the default)
//	nowin95      -9: as shortnames, and leave long-name entries untouched on
//	             delete
//	gemdos       -G: Atari GEMDOS volume (no boot signature, FAT12/16 only)
//	gmtoff=S     -t: timestamps are stored at S seconds east of UTC
//	             (default: the host's time zone, daylight saving included)
//	utf8         -U: long names are UTF-8 — always the case here, accepted
//	             for compatibility
//	ro, rw, noatime, sync, async, nodev, nosuid, noexec
//
// Unknown options are refused with an error naming them.
//
// Behaviour follows NetBSD's msdosfs: the read-only attribute clears the
// write bits; uid, gid and masks come from the mount; directories report
// size 0 and one link; a chmod only toggles the read-only attribute from
// the owner write bit (the other bits are ignored), a chown to anything but
// the mount's uid/gid is EINVAL, and attribute changes on directories are
// silently ignored; links, symlinks and device nodes are not supported
// (EOPNOTSUPP). Inode numbers are NetBSD's: a file's is the position of its
// directory entry (in 32-byte units from the start of the volume), a
// directory's that of its "." entry, so it does not change as the file
// grows; the root is 1. Birth time is the FAT creation time; ctime is the
// modification time, as FAT records no status change.
//
// The FAT is mirrored to every copy (unless FAT32 mirroring is off), the
// FSInfo hints are kept exact, and FAT[1]'s clean-shutdown bit is cleared
// while mounted read-write and set again at a clean unmount.
package msdosfs

import (
	"container/list"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rumpfs/rumpfs/dev"
	"github.com/rumpfs/rumpfs/vfs"
)

func init() { vfs.Register(fsType{}) }

type fsType struct{}

func (fsType) Name() string { return "msdos" }

// Cluster values.
const (
	fat12EOC  = 0xFFF
	fat16EOC  = 0xFFFF
	fat32EOC  = 0x0FFFFFFF
	fat32Mask = 0x0FFFFFFF
)

// geometry is what the BPB says, checked.
type geometry struct {
	bpb         bpb
	bps         int64 // bytes per sector
	clusterSize int64
	fatType     int   // 12, 16 or 32
	fatOff      int64 // byte offset of FAT 0
	fatBytes    int64 // bytes of one FAT
	numFATs     int
	rootOff     int64 // fixed root directory (FAT12/16)
	rootSize    int64
	rootClus    uint32 // FAT32 root cluster
	dataOff     int64
	nclusters   uint32 // data clusters; valid numbers are 2..nclusters+1
	totalBytes  int64
}

func isPow2(n int64) bool { return n > 0 && n&(n-1) == 0 }

// readGeometry reads sector 0 and validates the BPB as NetBSD's
// msdosfs_mountfs does, plus the checks that keep every later computation
// in bounds. gemdos relaxes the boot-sector checks as mount_msdos -G does.
func readGeometry(d dev.Device, gemdos bool) (*geometry, error) {
	if d.Size() < bootSectorSize {
		return nil, fmt.Errorf("device too small for a boot sector")
	}
	buf := make([]byte, bootSectorSize)
	if _, err := d.ReadAt(buf, 0); err != nil {
		return nil, fmt.Errorf("reading boot sector: %v", err)
	}
	p := decodeBPB(buf)
	if !gemdos {
		// NetBSD insists on 0x55AA; the jump instruction is what the
		// FAT spec and Windows check (EB xx 90 or E9 xx xx).
		if p.Signature != 0xAA55 {
			return nil, fmt.Errorf("no boot signature 0x55AA")
		}
		if p.Jump[0] != 0xEB && p.Jump[0] != 0xE9 {
			return nil, fmt.Errorf("boot sector does not start with a jump (0x%02x)", p.Jump[0])
		}
	}
	g := &geometry{bpb: p, bps: int64(p.BytesPerSec)}
	maxBps := int64(4096)
	if gemdos {
		maxBps = 32768 // GEMDOS logical sectors may be larger
	}
	if !isPow2(g.bps) || g.bps < 512 || g.bps > maxBps {
		return nil, fmt.Errorf("bytes per sector %d is not a power of two in 512..%d", g.bps, maxBps)
	}
	if !isPow2(int64(p.SecPerClus)) {
		return nil, fmt.Errorf("sectors per cluster %d is not a power of two", p.SecPerClus)
	}
	g.clusterSize = g.bps * int64(p.SecPerClus)
	if g.clusterSize > 64*1024 && !gemdos {
		return nil, fmt.Errorf("cluster size %d exceeds 64 KiB", g.clusterSize)
	}
	if p.NumFATs == 0 {
		return nil, fmt.Errorf("number of FATs is 0")
	}
	if p.RsvdSecCnt == 0 {
		return nil, fmt.Errorf("reserved sector count is 0")
	}
	fatSecs := int64(p.fatSectors())
	if fatSecs == 0 {
		return nil, fmt.Errorf("FAT size is 0")
	}
	total := int64(p.totalSectors())
	if total == 0 {
		return nil, fmt.Errorf("total sector count is 0")
	}
	if p.fat32 {
		if p.FSVer != 0 {
			return nil, fmt.Errorf("unsupported FAT32 version %d.%d", p.FSVer>>8, p.FSVer&0xFF)
		}
		if gemdos {
			return nil, fmt.Errorf("GEMDOS does not know FAT32")
		}
	}
	g.numFATs = int(p.NumFATs)
	g.fatOff = int64(p.RsvdSecCnt) * g.bps
	g.fatBytes = fatSecs * g.bps
	g.rootOff = g.fatOff + int64(g.numFATs)*g.fatBytes
	g.rootSize = (int64(p.RootEntCnt)*direntSize + g.bps - 1) / g.bps * g.bps
	g.dataOff = g.rootOff + g.rootSize
	g.totalBytes = total * g.bps
	if g.dataOff >= g.totalBytes {
		return nil, fmt.Errorf("data area starts past the end of the volume")
	}
	nc := (g.totalBytes - g.dataOff) / g.clusterSize
	if nc < 1 {
		return nil, fmt.Errorf("no data clusters")
	}
	// FAT type: the FAT32 BPB layout (no fixed root, 32-bit FAT size)
	// means FAT32, as NetBSD and Linux decide (mkfs.fat -F 32 makes small
	// FAT32 volumes below the spec's 65525 clusters); otherwise the
	// cluster count decides as the FAT spec says (GEMDOS: NetBSD's rule,
	// FAT12 up to 0xff0-2 clusters).
	switch {
	case p.fat32:
		g.fatType = 32
	case gemdos && nc <= 0xff0-2:
		g.fatType = 12
	case gemdos:
		g.fatType = 16
	case nc < 4085:
		g.fatType = 12
	default:
		g.fatType = 16
		if nc > 65524 {
			nc = 65524 // FAT16 cannot address more
		}
	}
	if nc > 0x0FFFFFF5 {
		nc = 0x0FFFFFF5
	}
	g.nclusters = uint32(nc)
	// The FAT must hold an entry for every cluster.
	need := (int64(g.nclusters) + 2) * int64(g.fatType) / 8
	if g.fatBytes < need {
		return nil, fmt.Errorf("FAT of %d bytes too small for %d clusters", g.fatBytes, g.nclusters)
	}
	if p.fat32 {
		g.rootClus = p.RootClus
		if g.rootClus < 2 || g.rootClus > g.nclusters+1 {
			return nil, fmt.Errorf("root directory cluster %d out of range", g.rootClus)
		}
	} else if p.RootEntCnt == 0 {
		return nil, fmt.Errorf("root directory has no entries")
	}
	if g.dataOff > d.Size() {
		return nil, fmt.Errorf("device of %d bytes ends before the data area", d.Size())
	}
	return g, nil
}

// Probe reads the boot sector and accepts a sane FAT BPB (never fails).
func (fsType) Probe(d dev.Device) bool {
	_, err := readGeometry(d, false)
	return err == nil
}

// mount is a mounted FAT volume.
type mount struct {
	geometry
	d     dev.Device
	name  string
	ro    bool
	opts  mountOpts
	now   func() time.Time
	warnf func(string, ...any)
	bc    *bcache

	activeFAT int  // FAT copy read (FAT32 with mirroring off)
	mirror    bool // write every FAT copy
	fsinfoOff int64
	fsiValid  bool
	wasDirty  bool
	hardError bool
	label     string

	// mu is the writer lock: changes hold it exclusively, reads share it.
	mu        sync.RWMutex
	freeMap   []uint64 // bit set = cluster in use; nil until built
	freeCount uint32
	nextFree  uint32
	fsiDirty  bool
	unmounted bool
	atime     bool // record access dates (rw, not noatime, long names)

	// The in-memory node cache (NetBSD's vcache).
	nmu   sync.Mutex
	nodes map[uint64]*node
	orph  map[*node]bool
	// gens is the generation of each inode number that has changed
	// hands: a file's number is its entry's position, so when the entry
	// is removed or moved away a later file in that slot gets the same
	// number, and must be told apart by its generation from the old file
	// that someone (the FUSE kernel, through p2k) may still hold.
	gens map[uint64]uint64
	idle list.List
	root *node

	stop chan struct{}
	done chan struct{}
}

var _ vfs.Mount = (*mount)(nil)

func (fsType) Mount(d dev.Device, args *vfs.MountArgs) (vfs.Mount, error) {
	opts, err := parseOptions(args.Options, uint32(os.Getuid()), uint32(os.Getgid()))
	if err != nil {
		return nil, err
	}
	g, err := readGeometry(d, opts.gemdos)
	if err != nil {
		return nil, fmt.Errorf("msdos: %s: %v", d.Name(), err)
	}
	m := &mount{
		geometry: *g,
		d:        d,
		name:     d.Name(),
		ro:       args.ReadOnly || opts.ro || d.ReadOnly(),
		opts:     opts,
		now:      args.Clock(),
		warnf:    args.Warnf,
		bc:       newBcache(d),
		mirror:   true,
		nodes:    map[uint64]*node{},
		nextFree: 2,
	}
	if g.totalBytes > d.Size() {
		m.warnf("msdos: %s: volume of %d bytes is larger than the device (%d bytes); clusters past the end give EIO", m.name, g.totalBytes, d.Size())
	}
	if g.fatType == 32 && g.bpb.ExtFlags&extFlagNoMirror != 0 {
		m.mirror = false
		m.activeFAT = int(g.bpb.ExtFlags & extFlagActiveFAT)
		if m.activeFAT >= g.numFATs {
			return nil, fmt.Errorf("msdos: %s: active FAT %d of %d", m.name, m.activeFAT, g.numFATs)
		}
	}
	if err := m.readFSInfo(); err != nil {
		return nil, fmt.Errorf("msdos: %s: %v", m.name, err)
	}
	if err := m.readCleanBits(); err != nil {
		return nil, fmt.Errorf("msdos: %s: reading FAT: %v", m.name, err)
	}
	if m.wasDirty {
		m.warnf("msdos: %s: volume was not properly unmounted; some data may be corrupt (run fsck.fat)", m.name)
	}
	if m.hardError {
		m.warnf("msdos: %s: volume has the hard-error bit set; run fsck.fat", m.name)
	}
	if c := g.bpb.FATSz16; c == 0 && g.fatType != 32 {
		return nil, fmt.Errorf("msdos: %s: FAT size is 0", m.name)
	}
	m.root = &node{m: m, ino: rootIno, isDir: true, isRoot: true}
	m.root.parent = m.root
	m.root.de.Attr = attrDirectory
	if g.fatType == 32 {
		m.root.de.setCluster(g.rootClus, true)
	}
	// Read the root directory now: a corrupt one is a mount error.
	if _, err := m.root.list(); err != nil {
		return nil, fmt.Errorf("msdos: %s: reading root directory: %v", m.name, err)
	}
	if !m.ro {
		if err := m.buildFreeMap(); err != nil {
			return nil, fmt.Errorf("msdos: %s: reading FAT: %v", m.name, err)
		}
		if err := m.setClean(false); err != nil {
			return nil, fmt.Errorf("msdos: %s: marking volume dirty: %v", m.name, err)
		}
		if err := m.bc.flush(); err != nil {
			return nil, fmt.Errorf("msdos: %s: %v", m.name, err)
		}
		m.atime = !opts.noatime && !opts.shortNames
		m.stop = make(chan struct{})
		m.done = make(chan struct{})
		go m.flusher()
	}
	return m, nil
}

// flusher writes dirty metadata back every few seconds (DESIGN.md:
// dirty metadata is never older than a few seconds).
func (m *mount) flusher() {
	defer close(m.done)
	t := time.NewTicker(3 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			if m.bc.dirtyCount() > 0 || m.fsiDirty || m.atime {
				m.mu.Lock()
				if !m.unmounted {
					_ = m.syncLocked(false)
				}
				m.mu.Unlock()
			}
		}
	}
}

// readFSInfo reads and validates the FAT32 FSInfo sector. A bad one is
// ignored (NetBSD drops it too) and its hints recomputed.
func (m *mount) readFSInfo() error {
	if m.fatType != 32 || m.bpb.FSInfo == 0 || m.bpb.FSInfo == 0xFFFF {
		return nil
	}
	off := int64(m.bpb.FSInfo) * m.bps
	if off+fsInfoSize > m.fatOff {
		m.warnf("msdos: %s: FSInfo sector %d outside the reserved area; ignored", m.name, m.bpb.FSInfo)
		return nil
	}
	buf := make([]byte, fsInfoSize)
	if err := m.bc.read(off, buf); err != nil {
		return fmt.Errorf("reading FSInfo: %v", err)
	}
	fi, ok := decodeFSInfo(buf)
	if !ok {
		m.warnf("msdos: %s: FSInfo sector has bad signatures; ignored", m.name)
		return nil
	}
	m.fsinfoOff = off
	m.fsiValid = true
	if fi.NextFree >= 2 && fi.NextFree <= m.nclusters+1 {
		m.nextFree = fi.NextFree
	}
	if fi.FreeCount != fsiUnknown && fi.FreeCount <= m.nclusters {
		m.freeCount = fi.FreeCount
	}
	return nil
}

// Clean-shutdown and hard-error bits of FAT[1] (FAT16/32 only).
func (m *mount) cleanBits() (clean, noErr uint32) {
	switch m.fatType {
	case 16:
		return 0x8000, 0x4000
	case 32:
		return 0x08000000, 0x04000000
	}
	return 0, 0
}

func (m *mount) readCleanBits() error {
	clean, noErr := m.cleanBits()
	if clean == 0 {
		return nil
	}
	v, err := m.fatGet(1)
	if err != nil {
		return err
	}
	m.wasDirty = v&clean == 0
	m.hardError = v&noErr == 0
	return nil
}

// setClean sets or clears the clean-shutdown bit in every FAT copy.
func (m *mount) setClean(clean bool) error {
	bit, _ := m.cleanBits()
	if bit == 0 {
		return nil
	}
	v, err := m.fatGet(1)
	if err != nil {
		return err
	}
	if clean {
		v |= bit
	} else {
		v &^= bit
	}
	return m.fatSet(1, v)
}

func (m *mount) Root() (vfs.Vnode, error) {
	m.nmu.Lock()
	m.root.refs++
	m.nmu.Unlock()
	return m.root, nil
}

func (m *mount) ReadOnly() bool { return m.ro }

func (m *mount) Statfs() (vfs.StatFS, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.freeMap == nil {
		if err := m.buildFreeMap(); err != nil {
			return vfs.StatFS{}, syscall.EIO
		}
	}
	namemax := uint32(vfs.NameMax)
	if m.opts.shortNames {
		namemax = 12
	}
	return vfs.StatFS{
		Bsize: uint32(m.clusterSize), Frsize: uint32(m.clusterSize),
		Blocks: uint64(m.nclusters), Bfree: uint64(m.freeCount), Bavail: uint64(m.freeCount),
		Files: uint64(m.bpb.RootEntCnt), Ffree: 0, Namemax: namemax,
	}, nil
}

// syncLocked writes FSInfo and every dirty block; with dev it also syncs
// the device. Called with mu held exclusively.
func (m *mount) syncLocked(devSync bool) error {
	if m.ro {
		return nil
	}
	var first error
	if m.atime {
		m.nmu.Lock()
		var acc []*node
		for _, n := range m.nodes {
			if n.accessed.Load() {
				acc = append(acc, n)
			}
		}
		m.nmu.Unlock()
		today, _, _ := timeToDOS(m.now(), m.opts.loc)
		for _, n := range acc {
			n.accessed.Store(false)
			if n.de.AccDate != today && !n.unlinked {
				n.de.AccDate = today
				if err := n.writeEntry(); err != nil && first == nil {
					first = err
				}
			}
		}
	}
	if m.fsiValid && m.fsiDirty && m.freeMap != nil {
		buf := make([]byte, fsInfoSize)
		if err := m.bc.read(m.fsinfoOff, buf); err == nil {
			fsInfo{FreeCount: m.freeCount, NextFree: m.nextFree}.encode(buf)
			if err := m.bc.write(m.fsinfoOff, buf); err != nil && first == nil {
				first = err
			}
		}
		m.fsiDirty = false
	}
	if err := m.bc.flush(); err != nil && first == nil {
		first = syscall.EIO
	}
	if devSync {
		if err := m.d.Sync(); err != nil && first == nil {
			first = syscall.EIO
		}
	}
	return first
}

func (m *mount) Sync() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.unmounted {
		return nil
	}
	return m.syncLocked(true)
}

func (m *mount) Unmount() error {
	if m.stop != nil {
		close(m.stop)
		<-m.done
		m.stop = nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.unmounted {
		return nil
	}
	if m.ro {
		m.unmounted = true
		return nil
	}
	// Free the clusters of files unlinked while still referenced.
	m.nmu.Lock()
	var orphans []*node
	for _, n := range m.orphans() {
		orphans = append(orphans, n)
	}
	m.nmu.Unlock()
	for _, n := range orphans {
		m.freeOrphan(n)
	}
	err := m.syncLocked(false)
	if e := m.setClean(true); e != nil && err == nil {
		err = e
	}
	if e := m.syncLocked(true); e != nil && err == nil {
		err = e
	}
	m.unmounted = true
	if err != nil {
		return fmt.Errorf("msdos: %s: unmount: %v", m.name, err)
	}
	return nil
}

func (m *mount) Info() vfs.Info {
	info := vfs.Info{Type: "msdos", Clean: !m.wasDirty}
	label := m.label
	if label == "" && m.bpb.BootSig == extBootSig {
		l := strings.TrimRight(decodeShort(m.bpb.VolLab, false, false), " ")
		if l != "NO NAME" {
			label = l
		}
	}
	info.Label = label
	if m.bpb.BootSig == extBootSig || m.bpb.BootSig == extBootOld {
		info.UUID = fmt.Sprintf("%04X-%04X", m.bpb.VolID>>16, m.bpb.VolID&0xFFFF)
	}
	info.Features = []string{fmt.Sprintf("FAT%d", m.fatType)}
	if m.fsiValid {
		info.Features = append(info.Features, "fsinfo")
	}
	if !m.mirror {
		info.Features = append(info.Features, fmt.Sprintf("nomirror(active=%d)", m.activeFAT))
	}
	if m.hardError {
		info.Features = append(info.Features, "hard-error")
	}
	info.Extra = []vfs.KV{
		{Key: "oem", Value: strings.TrimRight(string(m.bpb.OEMName[:]), " \x00")},
		{Key: "sector size", Value: fmt.Sprint(m.bps)},
		{Key: "cluster size", Value: fmt.Sprint(m.clusterSize)},
		{Key: "clusters", Value: fmt.Sprint(m.nclusters)},
		{Key: "FATs", Value: fmt.Sprint(m.numFATs)},
		{Key: "media", Value: fmt.Sprintf("0x%02X", m.bpb.Media)},
	}
	if m.fatType != 32 {
		info.Extra = append(info.Extra, vfs.KV{Key: "root entries", Value: fmt.Sprint(m.bpb.RootEntCnt)})
	}
	return info
}
