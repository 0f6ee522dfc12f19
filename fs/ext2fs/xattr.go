package ext2fs

// Extended attributes (ext_attr): entries in the inode after the extra
// fields, and in one external block named by i_file_acl (shared between
// inodes through its reference count). Names are stored without their
// namespace prefix, with a namespace index instead; Linux's
// fs/ext4/xattr.c and e2fsprogs' lib/ext2fs/ext_attr.c give the format.

import (
	"encoding/binary"
	"sort"
	"strings"
	"syscall"
)

type xattr struct {
	index uint8
	name  string // without the prefix
	value []byte
}

var xattrPrefixes = []struct {
	index  uint8
	prefix string
}{
	{XattrIndexUser, "user."},
	{XattrIndexPosixACLAccess, "system.posix_acl_access"},
	{XattrIndexPosixACLDefault, "system.posix_acl_default"},
	{XattrIndexTrusted, "trusted."},
	{XattrIndexSecurity, "security."},
	{XattrIndexRichACL, "system.richacl"},
	{XattrIndexSystem, "system."},
}

func (x *xattr) fullName() (string, bool) {
	for _, p := range xattrPrefixes {
		if p.index == x.index {
			switch p.index {
			case XattrIndexPosixACLAccess, XattrIndexPosixACLDefault, XattrIndexRichACL:
				if x.name != "" {
					return "", false
				}
			}
			return p.prefix + x.name, true
		}
	}
	return "", false
}

// splitXattrName maps a full name to (index, suffix); only the writable
// namespaces are accepted.
func splitXattrName(name string) (uint8, string, error) {
	for _, p := range []struct {
		index  uint8
		prefix string
	}{{XattrIndexUser, "user."}, {XattrIndexTrusted, "trusted."}, {XattrIndexSecurity, "security."}} {
		if s, ok := strings.CutPrefix(name, p.prefix); ok {
			if s == "" {
				return 0, "", syscall.EINVAL
			}
			if len(s) > 255 {
				return 0, "", syscall.ERANGE
			}
			return p.index, s, nil
		}
	}
	return 0, "", syscall.EOPNOTSUPP
}

// parseXattrEntries reads entries from region (values at offsets relative
// to valBase inside region).
func parseXattrEntries(region []byte, entOff, valBase int) ([]xattr, error) {
	var out []xattr
	off := entOff
	for n := 0; ; n++ {
		if off+4 > len(region) {
			return nil, errIO
		}
		if le.Uint32(region[off:]) == 0 {
			return out, nil
		}
		if off+XattrEntryHeadLen > len(region) || n > len(region)/XattrEntryHeadLen {
			return nil, errIO
		}
		e := DecodeXattrEntry(region[off:])
		end := off + XattrEntryLen(int(e.NameLen))
		if end > len(region) {
			return nil, errIO
		}
		if e.ValueInum != 0 {
			return nil, errIO // ea_inode values are not supported
		}
		vs, vo := int(e.ValueSize), valBase+int(e.ValueOffs)
		if vs < 0 || vo < 0 || vo+vs > len(region) || vs > len(region) {
			return nil, errIO
		}
		out = append(out, xattr{index: e.NameIndex,
			name:  string(region[off+XattrEntryHeadLen : off+XattrEntryHeadLen+int(e.NameLen)]),
			value: append([]byte(nil), region[vo:vo+vs]...)})
		off = end
	}
}

// ibodyStart is where in-inode attributes begin (their magic), or -1.
func (ip *inode) ibodyStart() int {
	if ip.fs.isize <= InodeBaseSize {
		return -1
	}
	s := InodeBaseSize + ip.extraLen()
	if s+XattrIbodyHdrSize+4 > ip.fs.isize {
		return -1
	}
	return s
}

func (ip *inode) xattrBlockCsum(blk uint64, data []byte) uint32 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], blk)
	c := crc32c(ip.fs.csumSeed, b[:])
	c = crc32c(c, data[:XattrChecksumOffset])
	c = crc32c(c, []byte{0, 0, 0, 0})
	return crc32c(c, data[XattrChecksumOffset+4:])
}

// readXattrs returns in-inode and block attributes.
func (ip *inode) readXattrs() (ibody, block []xattr, err error) {
	if s := ip.ibodyStart(); s >= 0 && le.Uint32(ip.raw[s:]) == XattrMagic {
		region := ip.raw[s+XattrIbodyHdrSize:]
		ibody, err = parseXattrEntries(region, 0, 0)
		if err != nil {
			return nil, nil, err
		}
	}
	if blk := ip.di.FileACL(); blk != 0 {
		data, err := ip.xattrBlock(blk)
		if err != nil {
			return nil, nil, err
		}
		block, err = parseXattrEntries(data, XattrHeaderSize, 0)
		if err != nil {
			return nil, nil, err
		}
	}
	return ibody, block, nil
}

func (ip *inode) xattrBlock(blk uint64) ([]byte, error) {
	fs := ip.fs
	if !fs.validBlock(blk) {
		return nil, errIO
	}
	b, err := fs.cache.get(blk)
	if err != nil {
		return nil, errIO
	}
	var h XattrHeader
	decodeStruct(b.data, &h)
	if h.Magic != XattrMagic || h.Blocks != 1 {
		return nil, errIO
	}
	if fs.metaCsum && ip.xattrBlockCsum(blk, b.data) != h.Checksum {
		return nil, errIO
	}
	return b.data, nil
}

func (ip *inode) allXattrs() ([]xattr, error) {
	a, b, err := ip.readXattrs()
	if err != nil {
		return nil, err
	}
	return append(a, b...), nil
}

func (ip *inode) Getxattr(name string) ([]byte, error) {
	fs := ip.fs
	fs.mu.RLock()
	defer fs.mu.RUnlock()
	list, err := ip.allXattrs()
	if err != nil {
		return nil, err
	}
	for _, x := range list {
		if isSystemData(x) {
			continue // inline data, not an attribute users see (as Linux)
		}
		if n, ok := x.fullName(); ok && n == name {
			if x.index == XattrIndexPosixACLAccess || x.index == XattrIndexPosixACLDefault {
				return aclToXattr(x.value)
			}
			return x.value, nil
		}
	}
	return nil, syscall.ENODATA
}

func (ip *inode) Listxattr() ([]string, error) {
	fs := ip.fs
	fs.mu.RLock()
	defer fs.mu.RUnlock()
	list, err := ip.allXattrs()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, x := range list {
		if isSystemData(x) {
			continue
		}
		if n, ok := x.fullName(); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// aclToXattr converts ext4's compact ACL to the posix_acl_xattr form the
// Linux interface shows (fs/ext4/acl.c ext4_acl_from_disk).
func aclToXattr(v []byte) ([]byte, error) {
	if len(v) < 4 || le.Uint32(v) != ExtACLVersion {
		return nil, errIO
	}
	out := make([]byte, 4, 4+len(v)*2)
	le.PutUint32(out, XattrACLVersion)
	for p := v[4:]; len(p) > 0; {
		if len(p) < ExtACLEntryShort {
			return nil, errIO
		}
		tag, perm := le.Uint16(p), le.Uint16(p[2:])
		id := uint32(ACLUndefinedID)
		switch tag {
		case ACLUserObj, ACLGroupObj, ACLMask, ACLOther:
			p = p[ExtACLEntryShort:]
		case ACLUser, ACLGroup:
			if len(p) < ExtACLEntryLong {
				return nil, errIO
			}
			id = le.Uint32(p[4:])
			p = p[ExtACLEntryLong:]
		default:
			return nil, errIO
		}
		var e [8]byte
		le.PutUint16(e[:], tag)
		le.PutUint16(e[2:], perm)
		le.PutUint32(e[4:], id)
		out = append(out, e[:]...)
	}
	return out, nil
}

const (
	xattrCreate  = 1
	xattrReplace = 2
)

func (ip *inode) Setxattr(name string, value []byte, flags int) error {
	idx, suffix, err := splitXattrName(name)
	if err != nil {
		return err
	}
	if len(value) > 65536 {
		return syscall.E2BIG
	}
	return ip.changeXattr(idx, suffix, value, flags, false)
}

func (ip *inode) Removexattr(name string) error {
	idx, suffix, err := splitXattrName(name)
	if err != nil {
		if err == syscall.EOPNOTSUPP {
			return syscall.ENODATA
		}
		return err
	}
	return ip.changeXattr(idx, suffix, nil, 0, true)
}

func (ip *inode) changeXattr(idx uint8, name string, value []byte, flags int, remove bool) error {
	fs := ip.fs
	if err := fs.begin(); err != nil {
		return err
	}
	defer fs.mu.Unlock()
	if fs.sb.FeatureCompat&CompatExtAttr == 0 {
		return syscall.EOPNOTSUPP
	}
	list, err := ip.allXattrs()
	if err != nil {
		return err
	}
	found := -1
	for i, x := range list {
		if x.index == idx && x.name == name {
			found = i
		}
	}
	switch {
	case remove && found < 0:
		return syscall.ENODATA
	case remove:
		list = append(list[:found], list[found+1:]...)
	case found >= 0 && flags&xattrCreate != 0:
		return syscall.EEXIST
	case found < 0 && flags&xattrReplace != 0:
		return syscall.ENODATA
	case found >= 0:
		list[found].value = append([]byte(nil), value...)
	default:
		list = append(list, xattr{index: idx, name: name, value: append([]byte(nil), value...)})
	}
	if err := ip.writeXattrs(list); err != nil {
		return err
	}
	ip.setCtime(fs.now())
	if err := ip.store(); err != nil {
		return err
	}
	return fs.endOp()
}

// writeXattrs lays list out: in the inode while it fits, the rest in the
// external block (allocated, reused or freed as needed).
func (ip *inode) writeXattrs(list []xattr) error {
	fs := ip.fs
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if isSystemData(a) != isSystemData(b) {
			return isSystemData(a) // inline data must stay in the inode
		}
		if a.index != b.index {
			return a.index < b.index
		}
		if len(a.name) != len(b.name) {
			return len(a.name) < len(b.name)
		}
		return a.name < b.name
	})
	var inInode, inBlock []xattr
	start := ip.ibodyStart()
	if start >= 0 {
		space := fs.isize - start - XattrIbodyHdrSize - 4
		used := 0
		for i, x := range list {
			need := XattrEntryLen(len(x.name)) + XattrValueLen(len(x.value))
			if used+need > space {
				inBlock = append(inBlock, list[i:]...)
				break
			}
			used += need
			inInode = append(inInode, x)
		}
	} else {
		inBlock = list
	}
	var blockData []byte
	if len(inBlock) > 0 {
		blockData = make([]byte, fs.bsize)
		if !layoutXattrs(blockData, XattrHeaderSize, 0, inBlock) {
			return syscall.ENOSPC
		}
		var hashes []uint32
		for off := XattrHeaderSize; le.Uint32(blockData[off:]) != 0; {
			e := DecodeXattrEntry(blockData[off:])
			hashes = append(hashes, e.Hash)
			off += XattrEntryLen(int(e.NameLen))
		}
		h := XattrHeader{Magic: XattrMagic, Refcount: 1, Blocks: 1, Hash: xattrBlockHash(hashes)}
		encodeStruct(blockData, &h)
	}
	// In-inode part.
	if start >= 0 {
		region := ip.raw[start:]
		clear(region)
		if len(inInode) > 0 {
			le.PutUint32(region, XattrMagic)
			layoutXattrs(region[XattrIbodyHdrSize:], 0, 0, inInode)
		}
	}
	// Block part.
	old := ip.di.FileACL()
	if old != 0 {
		b, err := fs.cache.get(old)
		if err != nil {
			return syscall.EIO
		}
		ref := le.Uint32(b.data[4:])
		if ref > 1 {
			le.PutUint32(b.data[4:], ref-1)
			ip.sealXattrBlock(old, b.data)
			fs.cache.markDirty(b)
			old = 0 // not ours to reuse
			ip.di.SetFileACL(0)
			ip.addBlocks(-1)
		}
	}
	switch {
	case blockData == nil && old != 0:
		if err := fs.freeBlock(old); err != nil {
			return err
		}
		ip.di.SetFileACL(0)
		ip.addBlocks(-1)
	case blockData != nil && old != 0:
		b, err := fs.cache.get(old)
		if err != nil {
			return syscall.EIO
		}
		copy(b.data, blockData)
		ip.sealXattrBlock(old, b.data)
		fs.cache.markDirty(b)
	case blockData != nil:
		nb, err := fs.allocBlock(ip.goal())
		if err != nil {
			return err
		}
		b := fs.cache.getZero(nb)
		copy(b.data, blockData)
		ip.sealXattrBlock(nb, b.data)
		fs.cache.markDirty(b)
		ip.di.SetFileACL(nb)
		ip.addBlocks(1)
	}
	return nil
}

// layoutXattrs writes entries from entOff and values packed at the end of
// region (value offsets relative to valBase); false if they do not fit.
func layoutXattrs(region []byte, entOff, valBase int, list []xattr) bool {
	off := entOff
	vend := len(region)
	for _, x := range list {
		el := XattrEntryLen(len(x.name))
		vl := XattrValueLen(len(x.value))
		if off+el+4 > vend-vl {
			return false
		}
		vo := vend - vl
		if len(x.value) == 0 {
			vo = valBase // Linux stores offset 0 for empty values
		}
		e := XattrEntry{NameLen: uint8(len(x.name)), NameIndex: x.index,
			ValueOffs: uint16(vo - valBase), ValueSize: uint32(len(x.value)),
			Hash: xattrEntryHash([]byte(x.name), x.value)}
		e.Encode(region[off:])
		copy(region[off+XattrEntryHeadLen:], x.name)
		if len(x.value) > 0 {
			copy(region[vo:], x.value)
			vend = vo
		}
		off += el
	}
	return true
}
