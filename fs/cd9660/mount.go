package cd9660

import (
	"container/list"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/rumpfs/rumpfs/dev"
	"github.com/rumpfs/rumpfs/fs/cd9660/layout"
	"github.com/rumpfs/rumpfs/vfs"
)

// File-name flavours, NetBSD's iso_ftype.
const (
	ftDefault = iota // plain ISO or Joliet names, versions stripped
	ft9660           // "gens": names as recorded, with versions
	ftRRIP           // Rock Ridge names
)

// maxVolumeDescriptors bounds the descriptor scan (NetBSD reads sectors
// 16..99).
const maxVolumeDescriptors = 84

type mnt struct {
	d       dev.Device
	devSize int64
	bs      int64 // logical block size
	blocks  uint32
	opts    options
	warnf   func(string, ...any)

	ftype   int
	joliet  int // Joliet level in use, 0 for none
	rr      bool
	rrSkip  int // SP skip for every System Use area but the root's "."
	rrSkip0 int // where SP was found in the root's "." (15 on CD-ROM XA)
	rrID    string

	rootKey uint64
	rootRec []byte // the root record of the descriptor in use

	info vfs.Info

	cache ncache

	idxMu    sync.Mutex
	idxLRU   list.List // of *node holding a directory index
	idxTotal int       // entries in all indexes

	serialMu sync.Mutex
	serials  map[uint32]serialID
}

// serialID identifies the file a Rock Ridge serial number was first seen
// with, so that a serial reused by a different file is not trusted.
type serialID struct {
	start int64
	size  uint64
	typ   uint32
}

func mountErr(format string, a ...any) error {
	return fmt.Errorf("cd9660: "+format, a...)
}

func mount(d dev.Device, args *vfs.MountArgs) (*mnt, error) {
	op, err := parseOptions(args.Options)
	if err != nil {
		return nil, err
	}
	m := &mnt{d: d, devSize: d.Size(), opts: op, warnf: args.Warnf}
	m.cache.max = 4096
	m.cache.evict = m.evicted
	m.serials = map[uint32]serialID{}

	if m.devSize < (layout.VolumeDescriptorLBA+1)*layout.SectorSize {
		return nil, mountErr("%s: image too small (%d bytes) to hold ISO 9660 volume descriptors", d.Name(), m.devSize)
	}
	var pvd, svd *layout.PrimaryVolumeDescriptor
	elTorito, terminated, firstSVDJoliet := false, false, 0
	buf := make([]byte, layout.SectorSize)
	for i := 0; i < maxVolumeDescriptors; i++ {
		off := int64(layout.VolumeDescriptorLBA+i) * layout.SectorSize
		if off+layout.SectorSize > m.devSize {
			break
		}
		if err := m.readFull(buf, off); err != nil {
			return nil, mountErr("%s: reading volume descriptor at sector %d: %v", d.Name(), 16+i, err)
		}
		h, _ := layout.DecodeVolumeDescriptorHeader(buf)
		if !h.IsISO() {
			if pvd == nil {
				return nil, mountErr("%s: no ISO 9660 volume descriptor (\"CD001\") at sector %d: not an ISO 9660 image", d.Name(), 16+i)
			}
			// NetBSD refuses this too; we accept a set that lacks its
			// terminator once a primary descriptor was found.
			break
		}
		switch h.Type {
		case layout.VDPrimary:
			if pvd == nil {
				pvd, _ = layout.DecodePrimaryVolumeDescriptor(buf)
			}
		case layout.VDSupplementary:
			// NetBSD looks only at the first supplementary descriptor;
			// we take the first one that is Joliet, so that an image
			// with another SVD before the Joliet one still gets it.
			s, _ := layout.DecodePrimaryVolumeDescriptor(buf)
			if s != nil && svd == nil && s.JolietLevel() > 0 {
				svd = s
				firstSVDJoliet = s.JolietLevel()
			}
		case layout.VDBootRecord:
			if br, _ := layout.DecodeBootRecord(buf); br != nil && br.IsElTorito() {
				elTorito = true
			}
		}
		if h.Type == layout.VDTerminator {
			terminated = true
			break
		}
	}
	if pvd == nil {
		return nil, mountErr("%s: no primary volume descriptor", d.Name())
	}
	if !terminated {
		m.warnf("cd9660: %s: volume descriptor set has no terminator", d.Name())
	}
	if err := m.setVolume(pvd); err != nil {
		return nil, mountErr("%s: %v", d.Name(), err)
	}

	// Rock Ridge, as NetBSD's iso_mountfs: look at the root's "." record.
	rrPresent := false
	if rr, skip, skip0, id, err := m.detectRR(); err != nil {
		return nil, mountErr("%s: root directory: %v", d.Name(), err)
	} else if rr {
		rrPresent = true
		if !op.norrip {
			m.rr, m.rrSkip, m.rrSkip0, m.rrID = true, skip, skip0, id
		}
	}
	switch {
	case m.rr:
		m.ftype = ftRRIP // NetBSD clears "gens" when Rock Ridge is found
	case op.gens:
		m.ftype = ft9660
	default:
		m.ftype = ftDefault
	}
	if !m.rr && !op.nojoliet && svd != nil {
		// NetBSD refuses the mount when the Joliet descriptor is bad;
		// the primary tree is still good, so we fall back to it.
		if err := m.setVolume(svd); err != nil {
			m.warnf("cd9660: %s: Joliet descriptor ignored: %v", d.Name(), err)
			m.setVolume(pvd)
		} else if _, err := m.loadDir(m.rootKey, m.rootKey); err != nil {
			m.warnf("cd9660: %s: Joliet root directory unreadable, using the primary tree", d.Name())
			m.setVolume(pvd)
		} else {
			m.joliet = svd.JolietLevel()
		}
	}

	// Info.
	label := layout.TrimID(pvd.VolumeID[:])
	if m.joliet > 0 {
		if l := isoName(svd.VolumeID[:], m.joliet, true, false, false); l != "" {
			label = trimSpace(l)
		}
	}
	var features []string
	if rrPresent {
		features = append(features, "rockridge")
	}
	if firstSVDJoliet > 0 {
		features = append(features, "joliet")
	}
	if elTorito {
		features = append(features, "el-torito")
	}
	if m.rrSkip0 != 0 {
		features = append(features, "cd-xa")
	}
	if pvd.FileStructureVersion == 2 {
		features = append(features, "iso9660:1999")
	}
	names := "iso9660"
	switch {
	case m.rr:
		names = "rockridge (" + m.rrID + ")"
	case m.joliet > 0:
		names = "joliet level " + strconv.Itoa(m.joliet)
	case m.ftype == ft9660:
		names = "iso9660 (versions kept)"
	}
	extra := []vfs.KV{
		{Key: "names", Value: names},
		{Key: "system id", Value: layout.TrimID(pvd.SystemID[:])},
		{Key: "volume set id", Value: layout.TrimID(pvd.VolumeSetID[:])},
		{Key: "publisher id", Value: layout.TrimID(pvd.PublisherID[:])},
		{Key: "data preparer id", Value: layout.TrimID(pvd.DataPreparerID[:])},
		{Key: "application id", Value: layout.TrimID(pvd.ApplicationID[:])},
	}
	if t, ok := pvd.CreationTime.Time(); ok {
		extra = append(extra, vfs.KV{Key: "creation date", Value: t.Format(time.RFC3339)})
	}
	if t, ok := pvd.ModificationTime.Time(); ok {
		extra = append(extra, vfs.KV{Key: "modification date", Value: t.Format(time.RFC3339)})
	}
	extra = append(extra,
		vfs.KV{Key: "logical block size", Value: strconv.FormatInt(m.bs, 10)},
		vfs.KV{Key: "block count", Value: strconv.FormatUint(uint64(m.blocks), 10)},
	)
	if firstSVDJoliet > 0 {
		extra = append(extra, vfs.KV{Key: "joliet level", Value: strconv.Itoa(firstSVDJoliet)})
	}
	m.info = vfs.Info{Type: "cd9660", Label: label, Features: features, Clean: true, Extra: extra}

	// Load the root now so that a broken root refuses the mount.
	root, err := m.loadDir(m.rootKey, m.rootKey)
	if err != nil {
		return nil, mountErr("%s: root directory unreadable: %v", d.Name(), err)
	}
	m.cache.pin(m.rootKey, root)
	return m, nil
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == 0) {
		s = s[:len(s)-1]
	}
	return s
}

// setVolume takes block size, size and root from a primary or Joliet
// descriptor (NetBSD's iso_makemp).
func (m *mnt) setVolume(p *layout.PrimaryVolumeDescriptor) error {
	bs := int64(p.LogicalBlockSize.LE())
	// NetBSD accepts a power of two between DEV_BSIZE and MAXBSIZE.
	if bs < 512 || bs > 65536 || bs&(bs-1) != 0 {
		return fmt.Errorf("unsupported logical block size %d (want a power of two from 512 to 65536)", bs)
	}
	blocks := p.VolumeSpaceSize.LE()
	if need := int64(blocks) * bs; need > m.devSize {
		return fmt.Errorf("image truncated: the volume has %d blocks of %d bytes (%d bytes) but the image holds %d bytes",
			blocks, bs, need, m.devSize)
	}
	root, ok := layout.DecodeDirectoryRecord(p.RootDirectoryRecord[:])
	if !ok || root.Flags&layout.FlagDirectory == 0 {
		return errors.New("bad root directory record")
	}
	start := (int64(root.Extent.LE()) + int64(root.ExtAttrLength)) * bs
	if start+bs > m.devSize || start < (layout.VolumeDescriptorLBA+1)*layout.SectorSize {
		return fmt.Errorf("root directory at block %d is outside the image (%d bytes)", root.Extent.LE(), m.devSize)
	}
	m.bs, m.blocks = bs, blocks
	m.rootKey = uint64(start)
	m.rootRec = append([]byte(nil), p.RootDirectoryRecord[:]...)
	return nil
}

// detectRR is NetBSD's cd9660_rrip_offset: the root's "." record must
// start its System Use area with SP (possibly after 15 bytes of CD-ROM XA
// data), and an ER entry must name RRIP.
func (m *mnt) detectRR() (ok bool, skip, skip0 int, id string, err error) {
	blk := make([]byte, m.bs)
	if err := m.readFull(blk, int64(m.rootKey)); err != nil {
		return false, 0, 0, "", err
	}
	dot, good := layout.DecodeDirectoryRecord(blk)
	if !good {
		return false, 0, 0, "", nil
	}
	su := dot.SystemUse
	for _, s0 := range []int{0, 15} {
		if len(su) < s0+layout.SPSize {
			break
		}
		sp, found := layout.DecodeSP(su[s0:])
		if !found {
			continue
		}
		werr := m.walkSUSP(su[s0:], nil, func(e *layout.Entry) {
			if e.Signature() != "ER" || id != "" {
				return
			}
			if er, ok := layout.DecodeER(e.Data); ok {
				switch er.ID {
				case "IEEE_1282", "IEEE_P1282", "RRIP_1991A":
					id = er.ID
				}
			}
		})
		if werr != nil {
			return false, 0, 0, "", werr
		}
		if id == "" {
			return false, 0, 0, "", nil
		}
		return true, int(sp.Skip), s0, id, nil
	}
	return false, 0, 0, "", nil
}

// readFull reads len(p) bytes at off; anything short is EIO.
func (m *mnt) readFull(p []byte, off int64) error {
	if off < 0 || off+int64(len(p)) > m.devSize {
		return syscall.EIO
	}
	n, err := m.d.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = syscall.EIO
	}
	return err
}

// Root returns the root directory.
func (m *mnt) Root() (vfs.Vnode, error) {
	n, err := m.cache.get(m.rootKey, func() (*node, error) { return m.loadDir(m.rootKey, m.rootKey) })
	if err != nil {
		return nil, err
	}
	return n, nil
}

// Statfs reports the volume size and nothing free, as NetBSD's
// cd9660_statvfs; the file count is not recorded on disk and is 0 there
// too.
func (m *mnt) Statfs() (vfs.StatFS, error) {
	return vfs.StatFS{
		Bsize:   uint32(m.bs),
		Frsize:  uint32(m.bs),
		Blocks:  uint64(m.blocks),
		Namemax: vfs.NameMax,
	}, nil
}

func (m *mnt) Sync() error    { return nil }
func (m *mnt) ReadOnly() bool { return true }
func (m *mnt) Info() vfs.Info { return m.info }
func (m *mnt) Unmount() error { m.cache.clear(); return nil }

var _ vfs.Mount = (*mnt)(nil)
