package msdosfs

// Changing operations. Each holds the mount's writer lock for its whole
// duration. Space is checked before anything is written, so ENOSPC and
// EFBIG leave the volume as it was (or, for a write, with the part that
// fitted), and fsck.fat finds nothing to fix.

import (
	"syscall"

	"github.com/rumpfs/rumpfs/vfs"
)

var (
	_ vfs.Writer    = (*node)(nil)
	_ vfs.Setattrer = (*node)(nil)
	_ vfs.Creator   = (*node)(nil)
	_ vfs.Mkdirer   = (*node)(nil)
	_ vfs.Remover   = (*node)(nil)
	_ vfs.Renamer   = (*node)(nil)
	_ vfs.Fsyncer   = (*node)(nil)
)

// wlock takes the writer lock, refusing on a read-only mount.
func (m *mount) wlock() error {
	if m.ro {
		return syscall.EROFS
	}
	m.mu.Lock()
	if m.unmounted {
		m.mu.Unlock()
		return syscall.EIO
	}
	return nil
}

// wunlock ends a change: with -o sync everything goes to the device now.
func (m *mount) wunlock() {
	if m.opts.sync {
		_ = m.syncLocked(false)
	}
	m.mu.Unlock()
}

// writeEntry stores n's directory entry.
func (n *node) writeEntry() error {
	if n.isRoot || n.unlinked {
		return nil
	}
	var b [direntSize]byte
	n.de.encode(b[:])
	return n.m.bc.write(n.entOff, b[:])
}

// stamp sets the modification time (and access date) to now.
func (n *node) stamp() {
	now := n.m.now()
	n.de.WrtDate, n.de.WrtTime, _ = timeToDOS(now, n.m.opts.loc)
	if !n.m.opts.shortNames {
		n.de.AccDate = n.de.WrtDate
	}
	n.de.Attr |= attrArchive
}

// growTo makes the chain long enough for size bytes, allocating clusters.
func (n *node) growTo(size int64) error {
	m := n.m
	ext, err := n.extents()
	if err != nil {
		return err
	}
	have := chainLen(ext)
	want := (size + m.clusterSize - 1) / m.clusterSize
	if want <= have {
		return nil
	}
	need := want - have
	if need > int64(m.freeCount) {
		return syscall.ENOSPC
	}
	var prev uint32
	if len(ext) > 0 {
		l := ext[len(ext)-1]
		prev = l.clus + l.count - 1
	}
	first, err := m.allocate(prev, uint32(need))
	if err != nil {
		return err
	}
	if prev == 0 {
		n.de.setCluster(first, m.fatType == 32)
	}
	n.dropCaches()
	return nil
}

// writeData writes p at off of n's (already allocated) chain directly to
// the device in contiguous runs.
func (n *node) writeData(p []byte, off int64) error {
	m := n.m
	for len(p) > 0 {
		devOff, run, err := n.mapRun(off)
		if err != nil {
			return err
		}
		chunk := p
		if int64(len(chunk)) > run {
			chunk = chunk[:run]
		}
		if _, err := m.d.WriteAt(chunk, devOff); err != nil {
			return syscall.EIO
		}
		m.bc.noteWrite(devOff, chunk)
		p = p[len(chunk):]
		off += int64(len(chunk))
	}
	return nil
}

// zeroRange writes zeros over [from, to) of n's data.
func (n *node) zeroRange(from, to int64) error {
	if to <= from {
		return nil
	}
	z := make([]byte, min(to-from, 1<<20))
	for from < to {
		k := min(int64(len(z)), to-from)
		if err := n.writeData(z[:k], from); err != nil {
			return err
		}
		from += k
	}
	return nil
}

// Write writes p at off; a write past the end zero-fills the gap (FAT has
// no holes). If the volume fills up, the part that fits is written.
func (n *node) Write(p []byte, off int64) (int, error) {
	m := n.m
	if err := m.wlock(); err != nil {
		return 0, err
	}
	defer m.wunlock()
	if n.isDir {
		return 0, syscall.EISDIR
	}
	if off < 0 {
		return 0, syscall.EINVAL
	}
	if len(p) == 0 {
		return 0, nil
	}
	if off+int64(len(p)) > maxFileSize {
		return 0, syscall.EFBIG
	}
	size := int64(n.de.FileSize)
	end := off + int64(len(p))
	if end > size {
		ext, err := n.extents()
		if err != nil {
			return 0, err
		}
		room := (chainLen(ext)+int64(m.freeCount))*m.clusterSize - off
		if room <= 0 {
			return 0, syscall.ENOSPC
		}
		if int64(len(p)) > room {
			p = p[:room]
			end = off + room
		}
		if err := n.growTo(end); err != nil {
			return 0, err
		}
		if off > size {
			if err := n.zeroRange(size, off); err != nil {
				return 0, err
			}
		}
	}
	if err := n.writeData(p, off); err != nil {
		return 0, err
	}
	if end > size {
		n.de.FileSize = uint32(end)
	}
	n.stamp()
	if err := n.writeEntry(); err != nil {
		return 0, err
	}
	return len(p), nil
}

// truncate sets the file size, freeing or zero-filling clusters.
func (n *node) truncate(size uint64) error {
	m := n.m
	if size > maxFileSize {
		return syscall.EFBIG
	}
	old := int64(n.de.FileSize)
	s := int64(size)
	switch {
	case s < old:
		ext, err := n.extents()
		if err != nil {
			return err
		}
		keep := (s + m.clusterSize - 1) / m.clusterSize
		if _, err := m.truncExtents(ext, keep); err != nil {
			return err
		}
		if keep == 0 {
			n.de.setCluster(0, m.fatType == 32)
		}
		n.dropCaches()
	case s > old:
		if err := n.growTo(s); err != nil {
			return err
		}
		if err := n.zeroRange(old, s); err != nil {
			return err
		}
	default:
		return nil
	}
	n.de.FileSize = uint32(s)
	n.stamp()
	return nil
}

// Setattr follows NetBSD's msdosfs_setattr: uid/gid other than the
// mount's are EINVAL; directories silently ignore changes; the owner write
// bit toggles the read-only attribute and other mode bits are ignored;
// SF_ARCHIVED clears the archive attribute (UF_HIDDEN/UF_SYSTEM, shown by
// Getattr, set the hidden and system attributes).
func (n *node) Setattr(sa *vfs.SetAttr) error {
	m := n.m
	if err := m.wlock(); err != nil {
		return err
	}
	defer m.wunlock()
	if (sa.Valid&vfs.SetUid != 0 && sa.Uid != m.opts.uid) || (sa.Valid&vfs.SetGid != 0 && sa.Gid != m.opts.gid) {
		return syscall.EINVAL
	}
	if n.isDir {
		return nil
	}
	if sa.Valid&vfs.SetSize != 0 {
		if err := n.truncate(sa.Size); err != nil {
			return err
		}
	}
	if sa.Valid&(vfs.SetAtime|vfs.SetMtime) != 0 {
		if sa.Valid&vfs.SetAtime != 0 && !m.opts.noWin95 {
			n.de.AccDate, _, _ = timeToDOS(sa.Atime, m.opts.loc)
		}
		if sa.Valid&vfs.SetMtime != 0 {
			n.de.WrtDate, n.de.WrtTime, _ = timeToDOS(sa.Mtime, m.opts.loc)
		}
		n.de.Attr |= attrArchive
	}
	if sa.Valid&vfs.SetMode != 0 {
		if sa.Mode&0200 != 0 {
			n.de.Attr &^= attrReadOnly
		} else {
			n.de.Attr |= attrReadOnly
		}
	}
	if sa.Valid&vfs.SetFlags != 0 {
		set := func(flag uint32, attr uint8) {
			if sa.Flags&flag != 0 {
				n.de.Attr |= attr
			} else {
				n.de.Attr &^= attr
			}
		}
		if sa.Flags&flagArchived != 0 {
			n.de.Attr &^= attrArchive
		} else {
			n.de.Attr |= attrArchive
		}
		set(flagHidden, attrHidden)
		set(flagSystem, attrSystem)
	}
	return n.writeEntry()
}

// newEntry makes the directory entry of a new file or directory.
func (n *node) newEntry(attr uint8, mode uint32) dirent {
	m := n.m
	de := dirent{Attr: attr}
	if mode&0200 == 0 {
		de.Attr |= attrReadOnly
	}
	now := m.now()
	de.WrtDate, de.WrtTime, _ = timeToDOS(now, m.opts.loc)
	if !m.opts.shortNames {
		de.CrtDate, de.CrtTime, de.CrtTenth = timeToDOS(now, m.opts.loc)
		de.AccDate = de.WrtDate
	}
	return de
}

// prepare checks that name can be created in directory n.
func (n *node) prepare(name string) (string, []uint16, *dirList, error) {
	if !n.isDir {
		return "", nil, nil, syscall.ENOTDIR
	}
	if n.unlinked {
		return "", nil, nil, syscall.ENOENT
	}
	if name == "." || name == ".." {
		return "", nil, nil, syscall.EEXIST
	}
	clean, units, err := cleanName(name)
	if err != nil {
		return "", nil, nil, err
	}
	dl, err := n.list()
	if err != nil {
		return "", nil, nil, err
	}
	if dl.lookup(clean) != nil {
		return "", nil, nil, syscall.EEXIST
	}
	return clean, units, dl, nil
}

func (n *node) Create(cred *vfs.Cred, name string, mode uint32) (vfs.Vnode, error) {
	m := n.m
	if err := m.wlock(); err != nil {
		return nil, err
	}
	defer m.wunlock()
	clean, units, _, err := n.prepare(name)
	if err != nil {
		return nil, err
	}
	de := n.newEntry(attrArchive, mode)
	_, off, err := n.addEntry(clean, units, de, nil)
	if err != nil {
		return nil, err
	}
	de, err = n.readEntryAt(off)
	if err != nil {
		return nil, err
	}
	c := m.getNode(uint64(off/direntSize), func() *node {
		return &node{m: m, entOff: off, de: de}
	})
	return c, nil
}

func (n *node) readEntryAt(off int64) (dirent, error) {
	var b [direntSize]byte
	if err := n.m.bc.read(off, b[:]); err != nil {
		return dirent{}, err
	}
	return decodeDirent(b[:]), nil
}

func (n *node) Mkdir(cred *vfs.Cred, name string, mode uint32) (vfs.Vnode, error) {
	m := n.m
	if err := m.wlock(); err != nil {
		return nil, err
	}
	defer m.wunlock()
	clean, units, dl, err := n.prepare(name)
	if err != nil {
		return nil, err
	}
	// Make sure both the new cluster and any growth of n fit.
	_ = dl
	if m.freeCount < 1 {
		return nil, syscall.ENOSPC
	}
	clus, err := m.allocate(0, 1)
	if err != nil {
		return nil, err
	}
	de := n.newEntry(attrDirectory, mode|0200)
	de.setCluster(clus, m.fatType == 32)
	// The new directory's first cluster: ".", ".." and zeros.
	buf := make([]byte, m.clusterSize)
	dot := de
	dot.Name = [11]byte{'.', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '}
	dot.encode(buf[0:])
	dotdot := de
	dotdot.Name = [11]byte{'.', '.', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '}
	pc := n.start()
	if n.isRoot {
		pc = 0 // ".." of a child of the root is 0, FAT32 included
	}
	dotdot.setCluster(pc, m.fatType == 32)
	dotdot.encode(buf[direntSize:])
	if err := m.bc.write(m.clusOff(clus), buf); err != nil {
		return nil, err
	}
	_, off, err := n.addEntry(clean, units, de, nil)
	if err != nil {
		_ = m.freeExtents([]extent{{clus, 1}})
		return nil, err
	}
	de, err = n.readEntryAt(off)
	if err != nil {
		return nil, err
	}
	c := m.getNode(uint64(m.clusOff(clus)/direntSize), func() *node {
		return &node{m: m, entOff: off, de: de, isDir: true, parent: n}
	})
	return c, nil
}

// unlinkNode detaches a removed entry's node: a node still referenced
// keeps its clusters until the last release (NetBSD frees them in
// msdosfs_inactive); otherwise they are freed now.
func (n *node) unlinkEntry(e *dent) error {
	m := n.m
	de, off, err := n.entryOf(e)
	if err != nil {
		return err
	}
	ino := m.inoOfEntry(off, &de)
	if err := n.removeEntry(e); err != nil {
		return err
	}
	m.nmu.Lock()
	m.retireIno(ino)
	c, ok := m.nodes[ino]
	if ok {
		delete(m.nodes, ino)
		if c.idle {
			m.idle.Remove(c.elem)
			c.idle = false
		}
	}
	if ok && c.refs > 0 {
		c.unlinked = true
		m.orphanSet()[c] = true
		m.nmu.Unlock()
		return nil
	}
	var parent *node
	if ok && c.parent != nil {
		parent = c.parent
		c.parent = nil
	}
	m.nmu.Unlock()
	if parent != nil {
		m.release(parent, true)
	}
	ext, err := m.chain(de.cluster(m.fatType == 32))
	if err != nil {
		return nil // a corrupt chain is left for fsck; the name is gone
	}
	return m.freeExtents(ext)
}

func (n *node) Remove(name string) error {
	m := n.m
	if err := m.wlock(); err != nil {
		return err
	}
	defer m.wunlock()
	if !n.isDir {
		return syscall.ENOTDIR
	}
	if name == "." || name == ".." {
		return syscall.EISDIR
	}
	dl, err := n.list()
	if err != nil {
		return err
	}
	e := dl.lookup(name)
	if e == nil {
		return syscall.ENOENT
	}
	if e.attr&attrDirectory != 0 {
		return syscall.EISDIR
	}
	return n.unlinkEntry(e)
}

// dirEmpty reports whether directory entry e names an empty directory.
func (n *node) dirEmpty(e *dent) (bool, error) {
	c, err := n.child(e)
	if err != nil {
		return false, err
	}
	defer n.m.release(c, true)
	dl, err := c.list()
	if err != nil {
		return false, err
	}
	return dl.count == 0, nil
}

func (n *node) Rmdir(name string) error {
	m := n.m
	if err := m.wlock(); err != nil {
		return err
	}
	defer m.wunlock()
	if !n.isDir {
		return syscall.ENOTDIR
	}
	switch name {
	case ".":
		return syscall.EINVAL
	case "..":
		return syscall.ENOTEMPTY
	}
	dl, err := n.list()
	if err != nil {
		return err
	}
	e := dl.lookup(name)
	if e == nil {
		return syscall.ENOENT
	}
	if e.attr&attrDirectory == 0 {
		return syscall.ENOTDIR
	}
	empty, err := n.dirEmpty(e)
	if err != nil {
		return err
	}
	if !empty {
		return syscall.ENOTEMPTY
	}
	return n.unlinkEntry(e)
}

// Rename moves oldName of n to newName in newDir. The new entry is written
// before the old one is removed, so a failure (ENOSPC growing newDir)
// leaves both names as they were.
func (n *node) Rename(oldName string, newDir vfs.Vnode, newName string) error {
	m := n.m
	nd, ok := newDir.(*node)
	if !ok || nd.m != m {
		return syscall.EXDEV
	}
	if err := m.wlock(); err != nil {
		return err
	}
	defer m.wunlock()
	if !n.isDir || !nd.isDir {
		return syscall.ENOTDIR
	}
	if oldName == "." || oldName == ".." || newName == "." || newName == ".." {
		return syscall.EINVAL
	}
	sdl, err := n.list()
	if err != nil {
		return err
	}
	src := sdl.lookup(oldName)
	if src == nil {
		return syscall.ENOENT
	}
	clean, units, err := cleanName(newName)
	if err != nil {
		return err
	}
	ddl, err := nd.list()
	if err != nil {
		return err
	}
	isDir := src.attr&attrDirectory != 0
	sde, soff, err := n.entryOf(src)
	if err != nil {
		return err
	}
	sino := m.inoOfEntry(soff, &sde)
	if isDir {
		// Refuse to move a directory under itself.
		m.nmu.Lock()
		for p := nd; ; p = p.parent {
			if p.ino == sino {
				m.nmu.Unlock()
				return syscall.EINVAL
			}
			if p.isRoot || p.parent == nil {
				break
			}
		}
		m.nmu.Unlock()
	}
	dst := ddl.lookup(clean)
	if dst == src {
		if src.name == clean {
			return nil // same name: nothing to do
		}
		dst = nil // case-only rename of the same entry
	}
	if dst != nil {
		dIsDir := dst.attr&attrDirectory != 0
		switch {
		case isDir && !dIsDir:
			return syscall.ENOTDIR
		case !isDir && dIsDir:
			return syscall.EISDIR
		case dIsDir:
			empty, err := nd.dirEmpty(dst)
			if err != nil {
				return err
			}
			if !empty {
				return syscall.ENOTEMPTY
			}
		}
		if err := nd.unlinkEntry(dst); err != nil {
			return err
		}
	}
	// The moved entry keeps its attributes, times, cluster and size.
	var skip *dent
	if nd == n {
		skip = src
	}
	_, noff, err := nd.addEntry(clean, units, sde, skip)
	if err != nil {
		return err
	}
	if err := n.removeEntry(src); err != nil {
		return err
	}
	nde, err := nd.readEntryAt(noff)
	if err != nil {
		return err
	}
	// Re-key a cached node: a file's inode number is its entry position.
	m.nmu.Lock()
	if !isDir {
		m.retireIno(sino)
	}
	var oldParent *node
	if c, ok := m.nodes[sino]; ok {
		c.entOff = noff
		c.de = nde
		if !isDir {
			delete(m.nodes, sino)
			c.ino = uint64(noff / direntSize)
			c.gen = m.gens[c.ino]
			m.nodes[c.ino] = c
		} else if c.parent != nd {
			oldParent = c.parent
			c.parent = nd
			m.takeLocked(nd)
		}
	}
	m.nmu.Unlock()
	if oldParent != nil {
		m.release(oldParent, true)
	}
	if isDir && nd != n {
		// Point the directory's ".." at its new parent.
		pc := nd.start()
		if nd.isRoot {
			pc = 0
		}
		c := nde.cluster(m.fatType == 32)
		off := m.clusOff(c) + direntSize
		dd, err := nd.readEntryAt(off)
		if err != nil {
			return err
		}
		if dd.Name[0] == '.' && dd.Name[1] == '.' {
			dd.setCluster(pc, m.fatType == 32)
			var b [direntSize]byte
			dd.encode(b[:])
			if err := m.bc.write(off, b[:]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (n *node) Fsync(dataOnly bool) error {
	m := n.m
	if m.ro {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.unmounted {
		return nil
	}
	return m.syncLocked(true)
}
