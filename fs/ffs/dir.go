package ffs

import (
	"fmt"
	"syscall"

	"github.com/rumpfs/rumpfs/fs/ffs/layout"
	"github.com/rumpfs/rumpfs/vfs"
)

// dirent is one decoded directory entry with its place.
type dirent struct {
	off    int64 // byte offset of the entry in the directory
	ino    uint32
	reclen int
	typ    uint8
	name   string // set by parseChunk, not parseChunkRaw
	nb     []byte // the name's bytes in the chunk (parseChunkRaw)
}

// parseChunk decodes the entries of one DIRBLKSIZ chunk found at
// directory offset base, checking them as ufs_dirbadentry does: reclen a
// positive multiple of 4 that stays inside the chunk and holds the name,
// name length at most MAXNAMLEN with no NUL or '/', inode in range.
func (n *node) parseChunk(chunk []byte, base int64, fn func(dirent) bool) error {
	return n.parseChunkRaw(chunk, base, func(e dirent) bool {
		if e.ino != 0 {
			e.name = string(e.nb)
		}
		return fn(e)
	})
}

// parseChunkRaw is parseChunk handing out the name as bytes of chunk
// (nb) instead of a string, so that a scan comparing names allocates
// nothing.
func (n *node) parseChunkRaw(chunk []byte, base int64, fn func(dirent) bool) error {
	g := n.m.g
	for pos := 0; pos < len(chunk); {
		h, ok := layout.DecodeDirectHeader(chunk[pos:], g.bo, g.oldDir)
		if !ok {
			return n.dirBad(base+int64(pos), "truncated entry")
		}
		rl := int(h.Reclen)
		if rl < layout.DirectHeaderSize || rl%4 != 0 || pos+rl > len(chunk) {
			return n.dirBad(base+int64(pos), fmt.Sprintf("bad reclen %d", rl))
		}
		if h.Ino != 0 {
			nl := int(h.Namlen)
			if nl == 0 || nl > layout.MAXNAMLEN || layout.DirSize(nl) > rl {
				return n.dirBad(base+int64(pos), fmt.Sprintf("bad name length %d", nl))
			}
			if uint64(h.Ino) >= g.maxino() {
				return n.dirBad(base+int64(pos), fmt.Sprintf("inode %d out of range", h.Ino))
			}
			name := chunk[pos+8 : pos+8+nl]
			for _, c := range name {
				if c == 0 || c == '/' {
					return n.dirBad(base+int64(pos), "bad character in name")
				}
			}
			if !fn(dirent{off: base + int64(pos), ino: h.Ino, reclen: rl, typ: h.Type, nb: name}) {
				return errStop
			}
		} else if !fn(dirent{off: base + int64(pos), reclen: rl}) {
			return errStop
		}
		pos += rl
	}
	return nil
}

var errStop = fmt.Errorf("stop")

func (n *node) dirBad(off int64, what string) error {
	n.m.warnf("ffs: %s: directory inode %d, offset %d: %s", n.m.name, n.ino, off, what)
	return syscall.EIO
}

// readDirBlock reads the directory block holding offset off (whole
// chunks, up to the directory's size). It returns the data and the
// offset it starts at.
func (n *node) readDirBlock(off int64) ([]byte, int64, error) {
	g := n.m.g
	start := off &^ (g.bsize - 1)
	end := min(start+g.bsize, n.size&^(layout.DIRBLKSIZ-1))
	if end <= start {
		return nil, start, nil
	}
	buf := make([]byte, end-start)
	if err := n.readData(buf, start, true); err != nil {
		return nil, start, err
	}
	return buf, start, nil
}

// scanDir calls fn for every entry (free slots included) from offset
// from on. mu must be held.
func (n *node) scanDir(from int64, fn func(dirent) bool) error {
	return n.scanDirRaw(from, func(e dirent) bool {
		if e.ino != 0 {
			e.name = string(e.nb)
		}
		return fn(e)
	})
}

// scanDirRaw is scanDir with names as bytes (parseChunkRaw).
func (n *node) scanDirRaw(from int64, fn func(dirent) bool) error {
	from &^= layout.DIRBLKSIZ - 1
	for off := from; off < n.size; {
		buf, start, err := n.readDirBlock(off)
		if err != nil {
			return err
		}
		if len(buf) == 0 {
			break
		}
		for c := off - start; c < int64(len(buf)); c += layout.DIRBLKSIZ {
			if err := n.parseChunkRaw(buf[c:c+layout.DIRBLKSIZ], start+c, fn); err != nil {
				if err == errStop {
					return nil
				}
				return err
			}
		}
		off = start + int64(len(buf))
	}
	return nil
}

// lookupIno finds name in directory n (ufs_lookup's search): from the
// directory's hash if it has one (a name not in it is not there), else
// by scanning the entries. mu must be held.
func (n *node) lookupIno(name string) (uint32, error) {
	if !n.isDir() {
		return 0, syscall.ENOTDIR
	}
	if len(name) > layout.MAXNAMLEN {
		return 0, syscall.ENAMETOOLONG
	}
	if dh := n.getDirhash(); dh != nil {
		e, ok := dh.names[name]
		if !ok {
			return 0, syscall.ENOENT
		}
		return e.ino, nil
	}
	var ino uint32
	err := n.scanDirRaw(0, func(e dirent) bool {
		if e.ino != 0 && string(e.nb) == name {
			ino = e.ino
			return false
		}
		return true
	})
	if err != nil {
		return 0, err
	}
	if ino == 0 {
		return 0, syscall.ENOENT
	}
	return ino, nil
}

func (n *node) Lookup(name string) (vfs.Vnode, error) {
	m := n.m
	m.mu.RLock()
	if name == "." {
		m.mu.RUnlock()
		if !n.isDir() {
			return nil, syscall.ENOTDIR
		}
		m.vc.Ref(n.ino)
		return n, nil
	}
	ino, err := n.lookupIno(name)
	m.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	c, err := m.vc.Get(uint64(ino))
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (n *node) Readdir(cookie uint64, fn func(vfs.Dirent) bool) error {
	m := n.m
	g := m.g
	if !n.isDir() {
		return syscall.ENOTDIR
	}
	off := int64(cookie)
	for {
		m.mu.RLock()
		// ufs_readdir reads through VOP_READ, which marks the access.
		n.markAccess()
		if off >= n.size {
			m.mu.RUnlock()
			return nil
		}
		buf, start, err := n.readDirBlock(off)
		var ents []vfs.Dirent
		if err == nil {
			for c := (off - start) &^ (layout.DIRBLKSIZ - 1); c < int64(len(buf)) && err == nil; c += layout.DIRBLKSIZ {
				err = n.parseChunk(buf[c:c+layout.DIRBLKSIZ], start+c, func(e dirent) bool {
					if e.ino != 0 && e.off >= off {
						t := e.typ
						if g.oldDir {
							t = vfs.DT_UNKNOWN
						}
						ents = append(ents, vfs.Dirent{Name: e.name, Ino: uint64(e.ino), Type: t, Next: uint64(e.off) + uint64(e.reclen)})
					}
					return true
				})
			}
		}
		m.mu.RUnlock()
		if err != nil {
			return err
		}
		if len(buf) == 0 {
			return nil
		}
		for _, e := range ents {
			if !fn(e) {
				return nil
			}
		}
		off = start + int64(len(buf))
	}
}

// dtype is the d_type for a mode.
func dtype(mode uint16) uint8 { return uint8((mode & layout.IFMT) >> 12) }

// writeDirBytes writes b at directory offset off (inside allocated
// blocks) through the metadata cache.
func (n *node) writeDirBytes(b []byte, off int64) error {
	g := n.m.g
	for len(b) > 0 {
		lbn := off >> g.bshift
		boff := off & (g.bsize - 1)
		phys, err := n.bmap(lbn)
		if err != nil {
			return err
		}
		if phys == 0 || !g.inRange(phys, 1) {
			return n.dirBad(off, "write to unallocated directory block")
		}
		k := min(int64(len(b)), g.bsize-boff)
		if _, err := n.m.cache.WriteAt(b[:k], phys<<g.fshift+boff); err != nil {
			return n.m.ioErr("writing directory", err)
		}
		b, off = b[k:], off+k
	}
	return nil
}

func (n *node) readChunk(off int64) ([]byte, error) {
	b := make([]byte, layout.DIRBLKSIZ)
	if err := n.readData(b, off, true); err != nil {
		return nil, err
	}
	return b, nil
}

// enter adds name -> ino to directory n (ufs_direnter): into the slack of
// an entry that has room, else into a chunk that has room once its
// entries are packed together (compaction, as ufs_direnter does), else
// into a new chunk appended to the directory. mu held for writing.
func (n *node) enter(name string, ino uint32, typ uint8) error {
	g := n.m.g
	need := layout.DirSize(len(name))
	nd := layout.Direct{Ino: ino, Type: typ, Name: []byte(name)}
	if dh := n.getDirhash(); dh != nil {
		done, err := n.enterHashed(dh, name, &nd, need)
		if done || err != nil {
			return err
		}
		// The hash was found wrong and dropped: scan.
	}
	var (
		found          = false
		chunkOff int64 = -1
		slack    int
	)
	// First pass: a single entry with room, or the first chunk whose
	// total slack is enough.
	var cur int64 = -1
	var curSlack int
	err := n.scanDirRaw(0, func(e dirent) bool {
		c := e.off &^ (layout.DIRBLKSIZ - 1)
		if c != cur {
			if cur >= 0 && chunkOff < 0 && curSlack >= need {
				chunkOff, slack = cur, curSlack
			}
			cur, curSlack = c, 0
		}
		used := 0
		if e.ino != 0 {
			used = layout.DirSize(len(e.nb))
		}
		if e.reclen-used >= need {
			chunkOff = c
			found = true
			return false
		}
		curSlack += e.reclen - used
		return true
	})
	if err != nil {
		n.dropDirhash()
		return err
	}
	if !found && chunkOff < 0 && cur >= 0 && curSlack >= need {
		chunkOff, slack = cur, curSlack
	}
	_ = slack
	if chunkOff >= 0 {
		chunk, err := n.readChunk(chunkOff)
		if err != nil {
			return err
		}
		if !found {
			n.compact(chunk)
		}
		if !n.fitInChunk(chunk, &nd, need) {
			return n.dirBad(chunkOff, "no room after all")
		}
		return n.writeDirBytes(chunk, chunkOff)
	}
	// A new chunk at the end.
	off := n.size
	if off%layout.DIRBLKSIZ != 0 {
		return n.dirBad(off, "directory size not a multiple of DIRBLKSIZ")
	}
	if err := n.extend(off + layout.DIRBLKSIZ); err != nil {
		return err
	}
	chunk := make([]byte, layout.DIRBLKSIZ)
	nd.Reclen = layout.DIRBLKSIZ
	nd.Encode(chunk, g.bo, g.oldDir)
	if err := n.writeDirBytes(chunk, off); err != nil {
		return err
	}
	return n.store()
}

// enterHashed is enter with the directory's hash: the first chunk with
// room comes from the free-space tree (ufsdirhash_findfree), and only it
// is read; the hash learns the new entry and whatever compaction moved.
// done false (with nil error) means the hash disagreed with the chunk and
// is dropped; nothing was written then.
func (n *node) enterHashed(dh *dirhash, name string, nd *layout.Direct, need int) (bool, error) {
	g := n.m.g
	if c := dh.findFree(need); c >= 0 {
		off := c * layout.DIRBLKSIZ
		chunk, err := n.readChunk(off)
		if err != nil {
			n.dropDirhash()
			return true, err
		}
		// ufs_direnter: an entry with room takes it directly, else
		// the chunk is compacted first.
		pos := n.fitAt(chunk, nd, need)
		compacted := pos < 0
		if compacted {
			n.compact(chunk)
			if pos = n.fitAt(chunk, nd, need); pos < 0 {
				n.dirhashBad("no room in chunk the hash chose")
				return false, nil
			}
		}
		if err := n.writeDirBytes(chunk, off); err != nil {
			n.dropDirhash()
			return true, err
		}
		dh.names[name] = dhEnt{off: off + int64(pos), ino: nd.Ino}
		if compacted {
			// Compaction moved entries: learn their new offsets.
			if !n.dhRefreshChunk(dh, c, chunk, name) {
				// Written, but the index cannot follow: forget it.
				n.dirhashBad("chunk disagrees after enter")
				return true, nil
			}
		} else {
			// Splitting an entry or filling a free slot takes
			// exactly DIRSIZ of the new name from the chunk's room.
			dh.setFree(c, int(dh.free[c])-need)
		}
		dh.grow(dhEntMem + int64(len(name)))
		return true, nil
	}
	// A new chunk at the end.
	off := n.size
	if off%layout.DIRBLKSIZ != 0 || off/layout.DIRBLKSIZ != int64(len(dh.free)) {
		n.dirhashBad("directory size disagrees with the hash")
		return false, nil
	}
	if err := n.extend(off + layout.DIRBLKSIZ); err != nil {
		n.dropDirhash()
		return true, err
	}
	chunk := make([]byte, layout.DIRBLKSIZ)
	nd.Reclen = layout.DIRBLKSIZ
	nd.Encode(chunk, g.bo, g.oldDir)
	if err := n.writeDirBytes(chunk, off); err != nil {
		n.dropDirhash()
		return true, err
	}
	dh.names[name] = dhEnt{off: off, ino: nd.Ino}
	dh.appendChunk(layout.DIRBLKSIZ - need)
	dh.grow(dhEntMem + int64(len(name)) + dhChunkMem)
	return true, n.store()
}

// fitInChunk places nd in the first entry of chunk with enough slack.
func (n *node) fitInChunk(chunk []byte, nd *layout.Direct, need int) bool {
	return n.fitAt(chunk, nd, need) >= 0
}

// fitAt is fitInChunk returning where nd went, -1 if nowhere.
func (n *node) fitAt(chunk []byte, nd *layout.Direct, need int) int {
	g := n.m.g
	for pos := 0; pos < len(chunk); {
		h, _ := layout.DecodeDirectHeader(chunk[pos:], g.bo, g.oldDir)
		rl := int(h.Reclen)
		if rl <= 0 || pos+rl > len(chunk) {
			return -1
		}
		if h.Ino == 0 && rl >= need {
			nd.Reclen = uint16(rl)
			nd.Encode(chunk[pos:], g.bo, g.oldDir)
			return pos
		}
		if h.Ino != 0 {
			used := layout.DirSize(int(h.Namlen))
			if rl-used >= need {
				g.bo.PutUint16(chunk[pos+4:], uint16(used))
				nd.Reclen = uint16(rl - used)
				nd.Encode(chunk[pos+used:], g.bo, g.oldDir)
				return pos + used
			}
		}
		pos += rl
	}
	return -1
}

// compact packs the live entries of chunk at its start and gives the
// last one all the free space.
func (n *node) compact(chunk []byte) {
	g := n.m.g
	out := make([]byte, len(chunk))
	w, last := 0, -1
	for pos := 0; pos < len(chunk); {
		h, _ := layout.DecodeDirectHeader(chunk[pos:], g.bo, g.oldDir)
		rl := int(h.Reclen)
		if rl <= 0 || pos+rl > len(chunk) {
			return
		}
		if h.Ino != 0 {
			used := layout.DirSize(int(h.Namlen))
			copy(out[w:w+used], chunk[pos:pos+used])
			g.bo.PutUint16(out[w+4:], uint16(used))
			last = w
			w += used
		}
		pos += rl
	}
	if last < 0 {
		// All free: one empty entry spanning the chunk.
		clear(out)
		g.bo.PutUint16(out[4:], uint16(len(chunk)))
	} else {
		g.bo.PutUint16(out[last+4:], uint16(len(chunk)-last))
	}
	copy(chunk, out)
}

// locate finds name's entry: the chunk's offset and bytes, the entry's
// position in it and the previous entry's position (-1 if first).
func (n *node) locate(name string) (int64, []byte, int, int, error) {
	if dh := n.getDirhash(); dh != nil {
		e, ok := dh.names[name]
		if !ok {
			return 0, nil, 0, 0, syscall.ENOENT
		}
		c, chunk, pos, prev, err := n.locateAt(e.off, true)
		if err == nil {
			g := n.m.g
			h, _ := layout.DecodeDirectHeader(chunk[pos:], g.bo, g.oldDir)
			nl := int(h.Namlen)
			if h.Ino == e.ino && pos+8+nl <= len(chunk) && string(chunk[pos+8:pos+8+nl]) == name {
				return c, chunk, pos, prev, nil
			}
		}
		n.dirhashBad("entry not where the hash has it")
	}
	var at int64 = -1
	err := n.scanDirRaw(0, func(e dirent) bool {
		if e.ino != 0 && string(e.nb) == name {
			at = e.off
			return false
		}
		return true
	})
	if err != nil {
		return 0, nil, 0, 0, err
	}
	if at < 0 {
		return 0, nil, 0, 0, syscall.ENOENT
	}
	return n.locateAt(at, false)
}

// locateAt reads the chunk holding the entry at offset at and finds the
// entry's position in it and the previous entry's (-1 if first). quiet:
// the offset comes from the hash, whose fault a miss would be, so no
// warning about the directory (the caller drops the hash and scans).
func (n *node) locateAt(at int64, quiet bool) (int64, []byte, int, int, error) {
	bad := func(what string) error {
		if quiet {
			return syscall.EIO
		}
		return n.dirBad(at, what)
	}
	if at < 0 || at >= n.size {
		return 0, nil, 0, 0, bad("entry offset out of range")
	}
	c := at &^ (layout.DIRBLKSIZ - 1)
	chunk, err := n.readChunk(c)
	if err != nil {
		return 0, nil, 0, 0, err
	}
	g := n.m.g
	prev := -1
	for pos := 0; pos < len(chunk); {
		if int64(pos) == at-c {
			return c, chunk, pos, prev, nil
		}
		h, _ := layout.DecodeDirectHeader(chunk[pos:], g.bo, g.oldDir)
		if h.Reclen == 0 || int(h.Reclen)%4 != 0 {
			break
		}
		prev = pos
		pos += int(h.Reclen)
	}
	return 0, nil, 0, 0, bad("entry vanished")
}

// unenter removes name from the directory (ufs_dirremove): the previous
// entry of the chunk absorbs its space, or, first in its chunk, it
// becomes a free slot.
func (n *node) unenter(name string) error {
	g := n.m.g
	c, chunk, pos, prev, err := n.locate(name)
	if err != nil {
		return err
	}
	rl := g.bo.Uint16(chunk[pos+4:])
	if prev < 0 {
		g.bo.PutUint32(chunk[pos:], 0)
	} else {
		prl := g.bo.Uint16(chunk[prev+4:])
		g.bo.PutUint16(chunk[prev+4:], prl+rl)
	}
	if err := n.writeDirBytes(chunk, c); err != nil {
		n.dropDirhash()
		return err
	}
	if dh := n.dh.Load(); dh != nil {
		delete(dh.names, name)
		slack, ok := n.chunkSlack(chunk)
		if !ok {
			n.dirhashBad("chunk does not parse after remove")
		} else {
			dh.setFree(c/layout.DIRBLKSIZ, slack)
			dh.grow(-dhEntMem - int64(len(name)))
		}
	}
	return nil
}

// rewrite points name's entry at ino (ufs_dirrewrite).
func (n *node) rewrite(name string, ino uint32, typ uint8) error {
	g := n.m.g
	c, chunk, pos, _, err := n.locate(name)
	if err != nil {
		return err
	}
	g.bo.PutUint32(chunk[pos:], ino)
	if !g.oldDir {
		chunk[pos+6] = typ
	}
	if err := n.writeDirBytes(chunk, c); err != nil {
		n.dropDirhash()
		return err
	}
	if dh := n.dh.Load(); dh != nil {
		e := dh.names[name]
		e.ino = ino
		dh.names[name] = e
	}
	return nil
}

// isEmpty reports whether a directory holds only "." and "..".
func (n *node) isEmpty() (bool, error) {
	if dh := n.dh.Load(); dh != nil {
		k := len(dh.names)
		for _, s := range []string{".", ".."} {
			if _, ok := dh.names[s]; ok {
				k--
			}
		}
		return k == 0, nil
	}
	empty := true
	err := n.scanDirRaw(0, func(e dirent) bool {
		if e.ino != 0 && string(e.nb) != "." && string(e.nb) != ".." {
			empty = false
			return false
		}
		return true
	})
	return empty, err
}
