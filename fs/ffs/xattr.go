package ffs

import (
	"syscall"

	"github.com/rumpfs/rumpfs/fs/ffs/layout"
)

// UFS2 extended attributes live in the inode's external area: di_extsize
// bytes in the blocks di_extb[0..1], a sequence of 8-byte aligned records
// (see layout.ExtattrHeaderSize). NetBSD and FreeBSD name two
// namespaces, user (1) and system (2); they appear here as "user." and
// "system." names. Read only, as the issue asks.

const maxExtSize = 2 * layout.MAXBSIZE

type extattr struct {
	name  string
	value []byte
}

// extattrs decodes the external area. mu held for reading.
func (n *node) extattrs() ([]extattr, error) {
	m := n.m
	g := m.g
	if !g.ufs2 || n.extsize == 0 {
		return nil, nil
	}
	size := int64(n.extsize)
	if size > maxExtSize || size > 2*g.bsize {
		m.warnf("ffs: %s: inode %d: extended-attribute area of %d bytes", m.name, n.ino, size)
		return nil, syscall.EIO
	}
	buf := make([]byte, size)
	for i := int64(0); i*g.bsize < size; i++ {
		part := buf[i*g.bsize : min(size, (i+1)*g.bsize)]
		b := n.extb[i]
		if b == 0 {
			continue
		}
		if !g.inRange(b, (int64(len(part))+g.fsize-1)>>g.fshift) {
			m.warnf("ffs: %s: inode %d: extended-attribute block %d out of range", m.name, n.ino, b)
			return nil, syscall.EIO
		}
		if _, err := m.cache.ReadAt(part, b<<g.fshift); err != nil {
			return nil, m.ioErr("reading extended attributes", err)
		}
	}
	var out []extattr
	for pos := int64(0); pos+layout.ExtattrHeaderSize <= size; {
		l := int64(g.bo.Uint32(buf[pos:]))
		if l == 0 {
			break
		}
		ns, padlen, nl := buf[pos+4], int64(buf[pos+5]), int64(buf[pos+6])
		hdr := (layout.ExtattrHeaderSize + nl + 7) &^ 7
		if l < hdr || l%8 != 0 || pos+l > size || hdr+padlen > l {
			m.warnf("ffs: %s: inode %d: bad extended-attribute record at %d", m.name, n.ino, pos)
			return nil, syscall.EIO
		}
		prefix := ""
		switch ns {
		case layout.EXTATTR_NAMESPACE_USER:
			prefix = "user."
		case layout.EXTATTR_NAMESPACE_SYSTEM:
			prefix = "system."
		}
		if prefix != "" {
			name := string(buf[pos+layout.ExtattrHeaderSize : pos+layout.ExtattrHeaderSize+nl])
			out = append(out, extattr{prefix + name, append([]byte(nil), buf[pos+hdr:pos+l-padlen]...)})
		}
		pos += l
	}
	return out, nil
}

func (n *node) Getxattr(name string) ([]byte, error) {
	n.m.mu.RLock()
	defer n.m.mu.RUnlock()
	eas, err := n.extattrs()
	if err != nil {
		return nil, err
	}
	for _, e := range eas {
		if e.name == name {
			return e.value, nil
		}
	}
	return nil, syscall.ENODATA
}

func (n *node) Listxattr() ([]string, error) {
	n.m.mu.RLock()
	defer n.m.mu.RUnlock()
	eas, err := n.extattrs()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range eas {
		names = append(names, e.name)
	}
	return names, nil
}

// encodeExtattr builds one record (for tests and future writers).
func encodeExtattr(g *geom, ns uint8, name string, value []byte) []byte {
	hdr := (layout.ExtattrHeaderSize + int64(len(name)) + 7) &^ 7
	l := (hdr + int64(len(value)) + 7) &^ 7
	b := make([]byte, l)
	g.bo.PutUint32(b, uint32(l))
	b[4], b[5], b[6] = ns, byte(l-hdr-int64(len(value))), byte(len(name))
	copy(b[layout.ExtattrHeaderSize:], name)
	copy(b[hdr:], value)
	return b
}

// freeExt releases the external attribute area of an inode being freed.
// mu held for writing.
func (n *node) freeExt() {
	g := n.m.g
	size := int64(n.extsize)
	for i := int64(0); i < 2 && i*g.bsize < size; i++ {
		if b := n.extb[i]; b != 0 {
			cnt := g.blksize(size, i) >> g.fshift
			if g.inRange(b, cnt) {
				n.m.freeFragsAt(b, cnt)
				n.blocks -= cnt * (g.fsize / layout.DEV_BSIZE)
			}
		}
	}
	n.extsize, n.extb = 0, [2]int64{}
}
