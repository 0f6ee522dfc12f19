package msdosfs

// Directories: reading a directory's slots into a listing (long names with
// checksums, orphaned long-name entries ignored as Windows does), lookup,
// readdir, and adding and removing entries.

import (
	"strings"
	"syscall"
	"unicode/utf16"

	"github.com/rumpfs/rumpfs/vfs"
)

// maxDirBytes bounds a directory: the FAT spec allows 65536 entries.
const maxDirBytes = 65536 * direntSize

// dent is one live entry of a directory listing.
type dent struct {
	name  string   // long name, or the short name's display form
	short [11]byte // stored short name
	first int      // first slot (its first long-name entry, or slot)
	slot  int      // slot of the short entry
	attr  uint8
	clus  uint32 // first cluster (for directories' inode numbers)
}

// dirList is a directory's decoded contents.
type dirList struct {
	at     []*dent // by short-entry slot; nil where none
	used   []bool  // slot holds a live entry (short or long)
	end    int     // first slot of the free tail (0x00 entries)
	byName map[string]*dent
	shorts map[[11]byte]*dent
	count  int
	dups   bool // some names shadow others (foreign images only)
}

// slotOff is the device offset of slot i of directory n.
func (n *node) slotOff(i int) (int64, error) {
	m := n.m
	pos := int64(i) * direntSize
	if n.isRoot && m.fatType != 32 {
		if pos >= m.rootSize {
			return 0, syscall.EIO
		}
		return m.rootOff + pos, nil
	}
	off, _, err := n.mapRun(pos)
	return off, err
}

// list returns the directory's listing, reading it on first use.
func (n *node) list() (*dirList, error) {
	n.mu.Lock()
	dl := n.dl
	n.mu.Unlock()
	if dl != nil {
		return dl, nil
	}
	m := n.m
	var raw []byte
	if n.isRoot && m.fatType != 32 {
		raw = make([]byte, m.rootSize)
		if err := m.bc.read(m.rootOff, raw); err != nil {
			return nil, err
		}
	} else {
		ext, err := n.extents()
		if err != nil {
			return nil, err
		}
		if chainLen(ext)*m.clusterSize > maxDirBytes*2 {
			return nil, syscall.EIO
		}
		for _, e := range ext {
			b := make([]byte, int64(e.count)*m.clusterSize)
			if err := m.bc.read(m.clusOff(e.clus), b); err != nil {
				return nil, err
			}
			raw = append(raw, b...)
		}
	}
	dl = m.parseDir(raw, n.isRoot)
	n.mu.Lock()
	if n.dl == nil {
		n.dl = dl
	}
	dl = n.dl
	n.mu.Unlock()
	return dl, nil
}

// parseDir decodes the slots of a directory.
func (m *mount) parseDir(raw []byte, root bool) *dirList {
	nslots := len(raw) / direntSize
	dl := &dirList{
		at: make([]*dent, nslots), used: make([]bool, nslots), end: nslots,
		byName: map[string]*dent{}, shorts: map[[11]byte]*dent{},
	}
	var units [lfnMaxSlots * lfnCharsPerSlot]uint16
	lfnN, expect, lfnStart := 0, 0, -1
	var chk uint8
	reset := func() { lfnN, expect, lfnStart = 0, 0, -1 }
	var longs []*dent
	for i := 0; i < nslots; i++ {
		b := raw[i*direntSize : (i+1)*direntSize]
		if b[0] == slotEmpty {
			dl.end = i
			break
		}
		if b[0] == slotDeleted {
			reset()
			continue
		}
		if isLFN(b) {
			if m.opts.shortNames {
				dl.used[i] = true
				continue
			}
			l := decodeLFN(b)
			ord := int(l.Ord & lfnOrdMask)
			if l.Ord&lfnLast != 0 {
				reset()
				if ord == 0 || ord > lfnMaxSlots {
					continue
				}
				lfnN, expect, lfnStart, chk = ord, ord, i, l.Checksum
			} else if lfnN == 0 || ord != expect || l.Checksum != chk {
				reset()
				continue
			}
			copy(units[(ord-1)*lfnCharsPerSlot:], l.Units[:])
			expect--
			continue
		}
		de := decodeDirent(b)
		if de.Attr&attrVolumeID != 0 && de.Attr&attrDirectory == 0 {
			if root && m.label == "" {
				m.label = strings.TrimRight(decodeShort(de.Name, false, false), " ")
			}
			dl.used[i] = true
			reset()
			continue
		}
		dl.used[i] = true
		if de.Name[0] == '.' {
			// "." and ".." (the listing makes its own).
			reset()
			continue
		}
		e := &dent{short: de.Name, first: i, slot: i, attr: de.Attr, clus: de.cluster(m.fatType == 32)}
		if lfnN > 0 && expect == 0 && chk == shortChecksum(de.Name) {
			name := lfnString(units[:lfnN*lfnCharsPerSlot])
			if validStored(name) {
				e.name = name
				e.first = lfnStart
				for j := lfnStart; j < i; j++ {
					dl.used[j] = true
				}
			}
		}
		reset()
		if e.name == "" {
			lb, lx := de.NTRes&ntLowerBase != 0, de.NTRes&ntLowerExt != 0
			if m.opts.shortNames {
				lb, lx = true, true
			}
			e.name = decodeShort(de.Name, lb, lx)
			if !validStored(e.name) {
				continue // unusable name in a corrupt entry
			}
		} else {
			longs = append(longs, e)
		}
		dl.at[i] = e
		dl.count++
		if _, dup := dl.shorts[de.Name]; !dup {
			dl.shorts[de.Name] = e
		} else {
			dl.dups = true
		}
		k := fold(decodeShort(de.Name, false, false))
		if _, dup := dl.byName[k]; !dup {
			dl.byName[k] = e
		} else {
			dl.dups = true
		}
	}
	// Long names take precedence over short ones in lookups.
	for _, e := range longs {
		k := fold(e.name)
		if o, ok := dl.byName[k]; ok && o != e {
			dl.dups = true
		}
		dl.byName[k] = e
	}
	// Slots after the end marker are free even if they hold garbage.
	for i := dl.end; i < nslots; i++ {
		dl.used[i] = false
	}
	return dl
}

// validStored says whether a name read from disk can be shown.
func validStored(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "/\x00")
}

// lookupDent finds name (case-insensitively, long or short form).
func (dl *dirList) lookup(name string) *dent {
	name = strings.TrimRight(name, ". ")
	if name == "" {
		return nil
	}
	return dl.byName[fold(name)]
}

// entryOf reads the short entry of e in directory n.
func (n *node) entryOf(e *dent) (dirent, int64, error) {
	off, err := n.slotOff(e.slot)
	if err != nil {
		return dirent{}, 0, err
	}
	var b [direntSize]byte
	if err := n.m.bc.read(off, b[:]); err != nil {
		return dirent{}, 0, err
	}
	return decodeDirent(b[:]), off, nil
}

// child returns the node of entry e of directory n, with a reference.
func (n *node) child(e *dent) (*node, error) {
	de, off, err := n.entryOf(e)
	if err != nil {
		return nil, err
	}
	m := n.m
	ino := m.inoOfEntry(off, &de)
	if ino == rootIno {
		return nil, syscall.EIO // a directory entry pointing at the root
	}
	c := m.getNode(ino, func() *node {
		nn := &node{m: m, entOff: off, de: de, isDir: de.Attr&attrDirectory != 0}
		if nn.isDir {
			nn.parent = n
		}
		return nn
	})
	if c.isDir != (de.Attr&attrDirectory != 0) {
		m.release(c, false)
		return nil, syscall.EIO // cross-linked entries
	}
	return c, nil
}

func (n *node) Lookup(name string) (vfs.Vnode, error) {
	m := n.m
	if !n.isDir {
		return nil, syscall.ENOTDIR
	}
	switch name {
	case ".":
		m.nmu.Lock()
		m.takeLocked(n)
		m.nmu.Unlock()
		return n, nil
	case "..":
		m.nmu.Lock()
		p := n.parent
		if p == nil {
			p = m.root
		}
		m.takeLocked(p)
		m.nmu.Unlock()
		return p, nil
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	dl, err := n.list()
	if err != nil {
		return nil, err
	}
	e := dl.lookup(name)
	if e == nil {
		return nil, syscall.ENOENT
	}
	c, err := n.child(e)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Readdir cookies: 0 start, 1 after ".", 2 after "..", 3+s after the entry
// whose short entry is slot s. Slots do not move, so a cookie stays valid
// while its entry exists.
func (n *node) Readdir(cookie uint64, fn func(vfs.Dirent) bool) error {
	m := n.m
	if !n.isDir {
		return syscall.ENOTDIR
	}
	m.mu.RLock()
	dl, err := n.list()
	if err != nil {
		m.mu.RUnlock()
		return err
	}
	var out []vfs.Dirent
	if cookie < 1 {
		out = append(out, vfs.Dirent{Name: ".", Ino: n.ino, Type: vfs.DT_DIR, Next: 1})
	}
	if cookie < 2 {
		pino := uint64(rootIno)
		m.nmu.Lock()
		if n.parent != nil {
			pino = n.parent.ino
		}
		m.nmu.Unlock()
		out = append(out, vfs.Dirent{Name: "..", Ino: pino, Type: vfs.DT_DIR, Next: 2})
	}
	from := 0
	if cookie > 3 {
		from = int(cookie - 3)
	}
	for s := from; s < len(dl.at); s++ {
		e := dl.at[s]
		if e == nil {
			continue
		}
		off, err := n.slotOff(s)
		if err != nil {
			m.mu.RUnlock()
			return err
		}
		t := uint8(vfs.DT_REG)
		var ino uint64
		if e.attr&attrDirectory != 0 {
			t = vfs.DT_DIR
			de := dirent{Attr: e.attr}
			de.setCluster(e.clus, m.fatType == 32)
			ino = m.inoOfEntry(off, &de)
		} else {
			ino = uint64(off / direntSize)
		}
		out = append(out, vfs.Dirent{Name: e.name, Ino: ino, Type: t, Next: uint64(s) + 4})
		if len(out) >= 512 {
			break
		}
	}
	m.mu.RUnlock()
	for _, d := range out {
		if !fn(d) {
			return nil
		}
	}
	if len(out) >= 512 {
		// More may follow: continue from the last cookie.
		return n.Readdir(out[len(out)-1].Next, fn)
	}
	return nil
}

// --- changes (m.mu held exclusively) ---

// shortFor chooses the short name and NT flags for a new entry called
// name in dl, and whether long-name entries are needed. skip is an entry
// being renamed, whose short name may be reused.
func (m *mount) shortFor(dl *dirList, name string, skip *dent) (sn [11]byte, nt uint8, long bool, err error) {
	taken := func(s [11]byte) bool {
		e, ok := dl.shorts[s]
		return ok && e != skip
	}
	if s, f, ok := exactShort(name); ok && !taken(s) {
		return s, f, false, nil
	}
	basis, lossy := basisName(name)
	long = !m.opts.shortNames
	if !lossy && fold(name) == decodeShort(basis, false, false) && !taken(basis) {
		return basis, 0, long, nil
	}
	for i := 1; i < 1000000; i++ {
		s := withTail(basis, i)
		if !taken(s) {
			return s, 0, long, nil
		}
	}
	return sn, 0, false, syscall.ENOSPC
}

// findSlots finds k consecutive free slots, growing the directory if
// needed. It returns the first slot.
func (n *node) findSlots(dl *dirList, k int) (int, error) {
	run := 0
	for i := 0; i < len(dl.used); i++ {
		if dl.used[i] {
			run = 0
			continue
		}
		run++
		if run == k {
			return i - k + 1, nil
		}
	}
	// Grow: a cluster directory takes another cluster.
	m := n.m
	if n.isRoot && m.fatType != 32 {
		return 0, syscall.ENOSPC
	}
	per := int(m.clusterSize / direntSize)
	need := (k - run + per - 1) / per
	if (len(dl.used)+need*per)*direntSize > maxDirBytes {
		return 0, syscall.ENOSPC
	}
	if uint32(need) > m.freeCount {
		return 0, syscall.ENOSPC
	}
	ext, err := n.extents()
	if err != nil {
		return 0, err
	}
	if len(ext) == 0 {
		return 0, syscall.EIO
	}
	last := ext[len(ext)-1]
	first, err := m.allocate(last.clus+last.count-1, uint32(need))
	if err != nil {
		return 0, err
	}
	n.dropCaches()
	// Zero the new clusters through the cache: they are directory blocks.
	zero := make([]byte, m.clusterSize)
	ext, err = n.extents()
	if err != nil {
		return 0, err
	}
	_ = first
	total := chainLen(ext)
	for ci := total - int64(need); ci < total; ci++ {
		off, _, err := n.mapRun(ci * m.clusterSize)
		if err != nil {
			return 0, err
		}
		if err := m.bc.write(off, zero); err != nil {
			return 0, err
		}
	}
	old := len(dl.used)
	grow := need * per
	dl.used = append(dl.used, make([]bool, grow)...)
	dl.at = append(dl.at, make([]*dent, grow)...)
	if dl.end == old {
		dl.end = len(dl.used)
	}
	return old - run, nil
}

// writeSlot writes one 32-byte slot of directory n.
func (n *node) writeSlot(i int, b []byte) error {
	off, err := n.slotOff(i)
	if err != nil {
		return err
	}
	return n.m.bc.write(off, b)
}

// addEntry writes a new entry called name (already cleaned) with the
// attributes, times, cluster and size of de, and returns it with the
// device offset of its short entry. skip: see shortFor.
func (n *node) addEntry(name string, units []uint16, de dirent, skip *dent) (*dent, int64, error) {
	m := n.m
	dl, err := n.list()
	if err != nil {
		return nil, 0, err
	}
	sn, nt, long, err := m.shortFor(dl, name, skip)
	if err != nil {
		return nil, 0, err
	}
	nl := 0
	if long {
		nl = (len(units) + lfnCharsPerSlot - 1) / lfnCharsPerSlot
	}
	first, err := n.findSlots(dl, nl+1)
	if err != nil {
		return nil, 0, err
	}
	de.Name = sn
	de.NTRes = de.NTRes&^(ntLowerBase|ntLowerExt) | nt
	chk := shortChecksum(sn)
	var b [direntSize]byte
	for j := 0; j < nl; j++ {
		ord := nl - j
		l := lfnEntry{Ord: uint8(ord), Checksum: chk}
		if j == 0 {
			l.Ord |= lfnLast
		}
		for u := 0; u < lfnCharsPerSlot; u++ {
			p := (ord-1)*lfnCharsPerSlot + u
			switch {
			case p < len(units):
				l.Units[u] = units[p]
			case p == len(units):
				l.Units[u] = 0
			default:
				l.Units[u] = 0xFFFF
			}
		}
		l.encode(b[:])
		if err := n.writeSlot(first+j, b[:]); err != nil {
			return nil, 0, err
		}
	}
	slot := first + nl
	de.encode(b[:])
	if err := n.writeSlot(slot, b[:]); err != nil {
		return nil, 0, err
	}
	// Past the old end marker, keep a 0x00 entry right after the new one
	// so that stale slots beyond it stay invisible.
	if slot >= dl.end {
		if slot+1 < len(dl.used) {
			var z [direntSize]byte
			if err := n.writeSlot(slot+1, z[:]); err != nil {
				return nil, 0, err
			}
		}
		dl.end = slot + 1
	}
	off, err := n.slotOff(slot)
	if err != nil {
		return nil, 0, err
	}
	e := &dent{name: name, short: sn, first: first, slot: slot, attr: de.Attr, clus: de.cluster(m.fatType == 32)}
	if !long {
		e.name = decodeShort(sn, nt&ntLowerBase != 0 || m.opts.shortNames, nt&ntLowerExt != 0 || m.opts.shortNames)
	}
	for j := first; j <= slot; j++ {
		dl.used[j] = true
	}
	dl.at[slot] = e
	dl.count++
	dl.shorts[sn] = e
	dl.byName[fold(decodeShort(sn, false, false))] = e
	dl.byName[fold(e.name)] = e
	return e, off, nil
}

// removeEntry marks e's slots deleted (with -o nowin95 only the short
// entry, as NetBSD leaves Win95 entries alone then).
func (n *node) removeEntry(e *dent) error {
	dl, err := n.list()
	if err != nil {
		return err
	}
	from := e.first
	if n.m.opts.noWin95 {
		from = e.slot
	}
	for j := from; j <= e.slot; j++ {
		off, err := n.slotOff(j)
		if err != nil {
			return err
		}
		if err := n.m.bc.write(off, []byte{slotDeleted}); err != nil {
			return err
		}
	}
	for j := e.first; j <= e.slot; j++ {
		dl.used[j] = false
	}
	dl.at[e.slot] = nil
	dl.count--
	if dl.shorts[e.short] == e {
		delete(dl.shorts, e.short)
	}
	for _, k := range []string{fold(e.name), fold(decodeShort(e.short, false, false))} {
		if dl.byName[k] == e {
			delete(dl.byName, k)
		}
	}
	// Another entry may answer to a name this one shadowed.
	for _, o := range dl.at {
		if !dl.dups {
			break
		}
		if o == nil {
			continue
		}
		if k := fold(o.name); dl.byName[k] == nil {
			dl.byName[k] = o
		}
		if k := fold(decodeShort(o.short, false, false)); dl.byName[k] == nil {
			dl.byName[k] = o
		}
	}
	return nil
}

// encodeName is cleanName for callers that need the UTF-16 form.
func encodeName(name string) (string, []uint16, error) {
	clean, u, err := cleanName(name)
	if err != nil {
		return "", nil, err
	}
	_ = utf16.IsSurrogate
	return clean, u, nil
}
