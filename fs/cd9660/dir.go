package cd9660

import (
	"bytes"
	"syscall"

	"github.com/rumpfs/rumpfs/fs/cd9660/layout"
	"github.com/rumpfs/rumpfs/vfs"
)

const (
	// maxDirSize bounds how much of one directory is parsed (some 250,000
	// records); past it the listing ends with EIO.
	maxDirSize = 16 << 20
	// dirChunk is how much of a directory is read from the device at once.
	dirChunk = 64 << 10
	// maxIndexEntries bounds the entries held by all directory indexes of
	// a mount; the least recently used indexes are dropped past it.
	maxIndexEntries = 256 << 10
)

// extent is a piece of file data on the device.
type extent struct {
	start int64 // byte offset on the device
	size  int64
}

// entry is one name in a directory index.
type entry struct {
	name       string
	raw        []byte // ISO identifier, for multi-extent chaining
	start, end uint32 // byte range of the entry's record(s) in the directory
	recOff     int64  // device offset of the (first) record
	dir        bool
	key        uint64 // cache key: directory data start, or recOff
	ino        uint64
	dtype      uint8
	attr       vfs.Attr // non-directories
	ext        []extent
	target     string
	err        error // what opening the entry gives (EIO for corrupt ones)
	multi      bool  // a multi-extent chain is still open
	flags      uint8 // record flags
	serial     uint32
	hasSerial  bool // Rock Ridge 1.12 PX serial number
}

// dirIndex is a parsed directory: its entries in directory order ("." and
// ".." excluded) and lookup maps.
type dirIndex struct {
	ents   []entry
	byName map[string]int32
	byFold map[string]int32
	err    error // parsing stopped early
}

func (x *dirIndex) find(name string, fold bool) int {
	if i, ok := x.byName[name]; ok {
		return int(i)
	}
	if fold && x.byFold != nil {
		if i, ok := x.byFold[foldName(name)]; ok {
			return int(i)
		}
	}
	return -1
}

// index returns the directory's parsed index, building it on first use.
func (n *node) index() *dirIndex {
	n.mu.Lock()
	x := n.idx
	n.mu.Unlock()
	m := n.m
	if x == nil {
		x = m.buildIndex(n)
		n.mu.Lock()
		if n.idx == nil {
			n.idx = x
		} else {
			x = n.idx
		}
		n.mu.Unlock()
	}
	m.idxMu.Lock()
	if n.idxElem != nil {
		m.idxLRU.MoveToBack(n.idxElem)
	} else {
		n.idxElem = m.idxLRU.PushBack(n)
		n.idxCount = len(x.ents)
		m.idxTotal += n.idxCount
		for m.idxTotal > maxIndexEntries && m.idxLRU.Len() > 1 {
			old := m.idxLRU.Remove(m.idxLRU.Front()).(*node)
			m.dropIndexLocked(old)
		}
	}
	m.idxMu.Unlock()
	return x
}

// dropIndexLocked forgets a node's index; m.idxMu is held.
func (m *mnt) dropIndexLocked(n *node) {
	n.idxElem = nil
	m.idxTotal -= n.idxCount
	n.idxCount = 0
	n.mu.Lock()
	n.idx = nil
	n.mu.Unlock()
}

// evicted is called when the vnode cache lets a node go.
func (m *mnt) evicted(n *node) {
	m.idxMu.Lock()
	if n.idxElem != nil {
		m.idxLRU.Remove(n.idxElem)
		m.dropIndexLocked(n)
	}
	m.idxMu.Unlock()
}

// buildIndex parses directory n. It never fails: a read error or a bad
// record ends the index early with err set, keeping what came before, so
// that the rest of the tree stays usable (NetBSD stops its scan likewise).
func (m *mnt) buildIndex(n *node) *dirIndex {
	x := &dirIndex{}
	size := int64(n.attr.Size)
	if size > maxDirSize {
		m.warnf("cd9660: directory at byte %d: %d bytes, only the first %d are read", n.key, size, maxDirSize)
		size = maxDirSize
		x.err = syscall.EIO
	}
	start := int64(n.key)
	chunk := int64(dirChunk)
	if chunk < m.bs {
		chunk = m.bs
	}
	buf := make([]byte, min(chunk, size))
	var pending *entry
	ceBudget := int64(maxDirCEBytes)
	flush := func() {
		if pending != nil {
			if pending.multi {
				m.warnf("cd9660: multi-extent file %q at byte %d ends without its last record", pending.name, pending.recOff)
			}
			m.finishEntry(x, pending)
			pending = nil
		}
	}
scan:
	for coff := int64(0); coff < size; coff += chunk {
		clen := min(chunk, size-coff)
		b := buf[:clen]
		if err := m.readFull(b, start+coff); err != nil {
			m.warnf("cd9660: directory at byte %d: read error at offset %d", n.key, coff)
			x.err = syscall.EIO
			break
		}
		for boff := int64(0); boff < clen; boff += m.bs {
			blk := b[boff:min(boff+m.bs, clen)]
			pos := 0
			for pos < len(blk) {
				// A zero length byte ends the records of this block
				// (ECMA-119 6.8.1.1); the next ones start in the next.
				if blk[pos] == 0 {
					break
				}
				rec, ok := layout.DecodeDirectoryRecord(blk[pos:])
				if !ok {
					m.warnf("cd9660: directory at byte %d: bad record at offset %d", n.key, coff+boff+int64(pos))
					x.err = syscall.EIO
					break scan
				}
				dirOff := coff + boff + int64(pos)
				pos += int(rec.Length)
				if rec.IsDot() || rec.IsDotDot() {
					flush()
					continue
				}
				if pending != nil && pending.multi {
					if bytes.Equal(rec.Name, pending.raw) && rec.Flags&layout.FlagDirectory == 0 {
						m.addExtent(pending, &rec)
						pending.end = uint32(dirOff) + uint32(rec.Length)
						pending.multi = rec.Flags&layout.FlagMultiExtent != 0
						if !pending.multi {
							flush()
						}
						continue
					}
				}
				flush()
				pending = m.newEntry(&rec, start+dirOff, uint32(dirOff), &ceBudget)
				if pending != nil && !pending.multi {
					flush()
				}
			}
		}
	}
	flush()

	x.byName = make(map[string]int32, len(x.ents))
	fold := m.ftype != ftRRIP || m.opts.rrcaseins
	if fold {
		x.byFold = make(map[string]int32, len(x.ents))
	}
	for i := range x.ents {
		e := &x.ents[i]
		if _, dup := x.byName[e.name]; !dup {
			x.byName[e.name] = int32(i)
		}
		if !fold {
			continue
		}
		keys := []string{foldName(e.name)}
		if m.ftype != ftRRIP {
			// Plain names are also found by their recorded form, with
			// or without ";version", whatever the case (isofncmp).
			assoc := e.flags&layout.FlagAssociated != 0
			keys = append(keys,
				foldName(isoName(e.raw, m.joliet, false, false, assoc)),
				foldName(isoName(e.raw, m.joliet, true, false, assoc)))
		}
		for _, k := range keys {
			if _, dup := x.byFold[k]; !dup {
				x.byFold[k] = int32(i)
			}
		}
	}
	return x
}

// finishEntry adds a complete entry to the index, merging plain-name
// duplicates as NetBSD's iso_shipdir: of consecutive entries with the same
// translated name (versions of one file) only the last is listed.
func (m *mnt) finishEntry(x *dirIndex, e *entry) {
	if !e.dir {
		e.attr.Size = 0
		for _, ex := range e.ext {
			e.attr.Size += uint64(ex.size)
		}
		if e.attr.Mode&vfs.S_IFMT == vfs.S_IFLNK {
			e.attr.Size = uint64(len(e.target))
		}
		e.attr.Blocks = (e.attr.Size + 511) / 512
		var first int64
		if len(e.ext) > 0 {
			first = e.ext[0].start
		}
		e.ino = m.fileIno(e, first)
		e.attr.Ino = e.ino
	}
	if m.ftype == ftDefault && len(x.ents) > 0 && x.ents[len(x.ents)-1].name == e.name {
		x.ents[len(x.ents)-1] = *e
		return
	}
	x.ents = append(x.ents, *e)
}

// fileIno is the inode number of a non-directory: NetBSD's, the device
// offset of its directory record, unless Rock Ridge 1.12 gave a file serial
// number (PX), which is used so that hard links share st_ino. A serial is
// not trusted if it is 0, if it is a multiple of the block size (it could
// then equal a directory's number, which is its block address), or if it
// was already seen with another file's data.
func (m *mnt) fileIno(e *entry, dataStart int64) uint64 {
	s := e.serial
	if !e.hasSerial || s == 0 || int64(s)%m.bs == 0 {
		return uint64(e.recOff)
	}
	id := serialID{start: dataStart, size: e.attr.Size, typ: e.attr.Mode & vfs.S_IFMT}
	m.serialMu.Lock()
	defer m.serialMu.Unlock()
	if old, ok := m.serials[s]; ok {
		if old == id {
			return uint64(s)
		}
		return uint64(e.recOff)
	}
	if len(m.serials) >= 1<<20 {
		return uint64(e.recOff)
	}
	m.serials[s] = id
	return uint64(s)
}

func (m *mnt) addExtent(e *entry, rec *layout.DirectoryRecord) {
	start := (int64(rec.Extent.LE()) + int64(rec.ExtAttrLength)) * m.bs
	e.ext = append(e.ext, extent{start: start, size: int64(rec.DataLength.LE())})
}

// newEntry makes the entry of a record of directory dir at device offset
// recOff, or nil if the record is hidden (a Rock Ridge RE, the relocated
// directory's stand-in below rr_moved, which NetBSD does not list:
// cd9660_rrip_reldir makes its name empty) or its name is unusable.
func (m *mnt) newEntry(rec *layout.DirectoryRecord, recOff int64, dirOff uint32, budget *int64) *entry {
	e := &entry{
		raw:    append([]byte(nil), rec.Name...),
		start:  dirOff,
		end:    dirOff + uint32(rec.Length),
		recOff: recOff,
		dir:    rec.Flags&layout.FlagDirectory != 0,
		flags:  rec.Flags,
	}
	assoc := rec.Flags&layout.FlagAssociated != 0
	var ri rrInfo
	if m.rr {
		var err error
		ri, err = m.analyzeRR(rec, false, budget)
		if err != nil {
			m.warnf("cd9660: record at byte %d: %v", recOff, err)
			e.err = syscall.EIO
		}
		if ri.re {
			return nil
		}
		if ri.hasName {
			e.name = ri.name
		} else {
			// NetBSD's cd9660_rrip_defname: the recorded name,
			// version and case kept.
			e.name = isoName(rec.Name, 0, true, false, assoc)
		}
		if ri.hasCL {
			e.dir = true
		}
	} else {
		e.name = isoName(rec.Name, m.joliet, m.ftype == ft9660, !m.opts.nocasetrans, assoc)
	}
	if !validName(e.name) {
		m.warnf("cd9660: record at byte %d: unusable name %q skipped", recOff, e.name)
		return nil
	}
	if e.dir {
		loc := int64(rec.Extent.LE()) + int64(rec.ExtAttrLength)
		if ri.hasCL {
			loc = int64(ri.cl)
		}
		e.key = uint64(loc * m.bs)
		e.ino = e.key
		e.dtype = vfs.DT_DIR
		return e
	}
	e.attr = m.recordAttr(rec, &ri, false)
	e.dtype = vfs.DTType(e.attr.Mode)
	e.key = uint64(recOff)
	e.target = ri.target
	if e.attr.Mode&vfs.S_IFMT == vfs.S_IFLNK && ri.linkBad {
		e.err = syscall.EIO
	}
	if rec.FileUnitSize != 0 || rec.InterleaveGap != 0 {
		m.warnf("cd9660: %q: interleaved files are not supported", e.name)
		e.err = syscall.EIO
	}
	e.serial, e.hasSerial = ri.serial, m.rr && ri.hasSerial
	m.addExtent(e, rec)
	e.multi = rec.Flags&layout.FlagMultiExtent != 0
	return e
}

// recordAttr computes the attributes a record gives: Rock Ridge PX, PN and
// TF when present, otherwise NetBSD's cd9660_defattr/cd9660_deftstamp:
// r-x for everybody on files and directories alike, owner 0, one link,
// every time the recording date; with "extatt", an extended attribute
// record's permissions, owner and dates.
func (m *mnt) recordAttr(rec *layout.DirectoryRecord, ri *rrInfo, isDir bool) vfs.Attr {
	a := vfs.Attr{Gen: 1, Nlink: 1, Blksize: uint32(m.bs)}
	recTime := rec.Recorded.Time()
	a.Mtime, a.Atime, a.Ctime = recTime, recTime, recTime
	if m.rr && ri.hasPX {
		a.Mode, a.Nlink, a.Uid, a.Gid = ri.mode, ri.nlink, ri.uid, ri.gid
	} else {
		a.Mode = vfs.S_IFREG | 0555
		if isDir {
			a.Mode = vfs.S_IFDIR | 0555
		}
		if m.opts.extatt && rec.ExtAttrLength != 0 {
			m.applyXAR(rec, &a)
		}
	}
	// The type must agree with what the record is: a directory is one
	// only if the record (or a CL) says so, since only then is its
	// extent parsed as a directory.
	typ := a.Mode & vfs.S_IFMT
	switch {
	case isDir:
		typ = vfs.S_IFDIR
	case typ == vfs.S_IFDIR:
		typ = vfs.S_IFREG
	case typ == vfs.S_IFIFO, typ == vfs.S_IFCHR, typ == vfs.S_IFBLK, typ == vfs.S_IFREG, typ == vfs.S_IFLNK, typ == vfs.S_IFSOCK:
	default:
		typ = vfs.S_IFREG
	}
	a.Mode = typ | a.Mode&07777
	if m.rr && ri.hasPN && (typ == vfs.S_IFCHR || typ == vfs.S_IFBLK) {
		a.Rdev = ri.rdev
	}
	if m.rr && ri.hasTF {
		// NetBSD's cd9660_rrip_tstamp; a missing modify time falls back
		// to the record's date (NetBSD leaves it 0).
		if ri.hasM {
			a.Mtime = ri.mtime
		}
		a.Atime, a.Ctime = a.Mtime, a.Mtime
		if ri.hasA {
			a.Atime = ri.atime
		}
		if ri.hasC {
			a.Ctime = ri.ctime
		}
		if ri.hasB {
			a.Btime = ri.btime
		}
	}
	return a
}

// applyXAR reads the extended attribute record before a file's data
// (NetBSD's cd9660_defattr/deftstamp with ISOFSMNT_EXTATT).
func (m *mnt) applyXAR(rec *layout.DirectoryRecord, a *vfs.Attr) {
	buf := make([]byte, layout.ExtAttrSize)
	if m.readFull(buf, int64(rec.Extent.LE())*m.bs) != nil {
		return
	}
	x, err := layout.DecodeExtAttr(buf)
	if err != nil || x.Version != 1 {
		return
	}
	perm := uint32(0)
	// ECMA-119 9.5.3: a set bit denies; NetBSD reads these six.
	if x.Permissions[1]&0x10 == 0 {
		perm |= 0400
	}
	if x.Permissions[1]&0x40 == 0 {
		perm |= 0100
	}
	if x.Permissions[0]&0x01 == 0 {
		perm |= 0040
	}
	if x.Permissions[0]&0x04 == 0 {
		perm |= 0010
	}
	if x.Permissions[0]&0x10 == 0 {
		perm |= 0004
	}
	if x.Permissions[0]&0x40 == 0 {
		perm |= 0001
	}
	a.Mode = a.Mode&vfs.S_IFMT | perm
	a.Uid, a.Gid = uint32(x.Owner.LE()), uint32(x.Group.LE())
	ct, okc := x.Created.Time()
	if okc {
		a.Ctime = ct
	}
	if t, ok := x.Effective.Time(); ok {
		a.Atime = t
	} else if okc {
		a.Atime = ct
	}
	if t, ok := x.Modified.Time(); ok {
		a.Mtime = t
	} else {
		a.Mtime = a.Ctime
	}
}

// loadDir makes the node of the directory whose data starts at key. As
// NetBSD (cd9660_vget_internal with "relocated"), a directory's attributes
// come from its own "." record, so it is the same whether reached from its
// parent, as ".", or through a Rock Ridge CL; its parent is what its ".."
// record (or that record's PL) points at. parentHint is used if ".." is
// missing.
func (m *mnt) loadDir(key uint64, parentHint uint64) (*node, error) {
	blk := make([]byte, m.bs)
	if err := m.readFull(blk, int64(key)); err != nil {
		m.warnf("cd9660: directory at byte %d is outside the image", key)
		return nil, syscall.EIO
	}
	dot, ok := layout.DecodeDirectoryRecord(blk)
	if !ok || !dot.IsDot() {
		m.warnf("cd9660: directory at byte %d does not start with a \".\" record", key)
		return nil, syscall.EIO
	}
	n := &node{m: m, key: key, parent: parentHint}
	var ri rrInfo
	if m.rr {
		var err error
		ri, err = m.analyzeRR(&dot, key == m.rootKey, nil)
		if err != nil {
			m.warnf("cd9660: directory at byte %d: %v", key, err)
			return nil, syscall.EIO
		}
	}
	n.attr = m.recordAttr(&dot, &ri, true)
	n.attr.Ino = key
	n.attr.Size = uint64(dot.DataLength.LE())
	n.attr.Blocks = (n.attr.Size + 511) / 512
	if int(dot.Length) < len(blk) {
		if dd, ok := layout.DecodeDirectoryRecord(blk[dot.Length:]); ok && dd.IsDotDot() {
			n.parent = uint64((int64(dd.Extent.LE()) + int64(dd.ExtAttrLength)) * m.bs)
			if m.rr {
				if pri, err := m.analyzeRR(&dd, false, nil); err == nil && pri.hasPL {
					n.parent = uint64(int64(pri.pl) * m.bs)
				}
			}
		}
	}
	if key == m.rootKey {
		n.parent = key
	}
	return n, nil
}
