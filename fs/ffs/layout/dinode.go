package layout

import "encoding/binary"

// Dinode1 is struct ufs1_dinode (dinode.h), 128 bytes. In the 4.2BSD
// inode format (fs_old_inodefmt < FS_44INODEFMT) the owner is in the
// 16-bit OldIDs instead of Uid/Gid.
type Dinode1 struct {
	Mode      uint16
	Nlink     int16
	OldIDs    [2]uint16
	Size      uint64
	Atime     int32
	Atimensec int32
	Mtime     int32
	Mtimensec int32
	Ctime     int32
	Ctimensec int32
	Db        [UFS_NDADDR]int32
	Ib        [UFS_NIADDR]int32
	Flags     uint32
	Blocks    uint32 // 512-byte units held
	Gen       int32
	Uid       uint32
	Gid       uint32
	Modrev    uint64
}

// Dinode2 is struct ufs2_dinode (dinode.h), 256 bytes, with 64-bit block
// pointers, birth time and an extended-attribute area (Extsize bytes in
// the blocks Extb).
type Dinode2 struct {
	Mode      uint16
	Nlink     int16
	Uid       uint32
	Gid       uint32
	Blksize   uint32
	Size      uint64
	Blocks    uint64
	Atime     int64
	Mtime     int64
	Ctime     int64
	Birthtime int64
	Mtimensec int32
	Atimensec int32
	Ctimensec int32
	Birthnsec int32
	Gen       int32
	Kernflags uint32
	Flags     uint32
	Extsize   uint32
	Extb      [2]int64
	Db        [UFS_NDADDR]int64
	Ib        [UFS_NIADDR]int64
	Modrev    uint64
	Spare     [2]int64
}

// Inode sizes.
const (
	Dinode1Size = 128
	Dinode2Size = 256
)

// Mode bits (IFMT and friends, dinode.h).
const (
	IFMT   = 0170000
	IFIFO  = 0010000
	IFCHR  = 0020000
	IFDIR  = 0040000
	IFBLK  = 0060000
	IFREG  = 0100000
	IFLNK  = 0120000
	IFSOCK = 0140000
	IFWHT  = 0160000
)

// DecodeDinode1 decodes a UFS1 inode.
func DecodeDinode1(b []byte, bo binary.ByteOrder) (*Dinode1, error) {
	d := new(Dinode1)
	if err := decode(b, bo, d, Dinode1Size); err != nil {
		return nil, err
	}
	return d, nil
}

// Encode writes d into b.
func (d *Dinode1) Encode(b []byte, bo binary.ByteOrder) error { return encode(b, bo, d, Dinode1Size) }

// DecodeDinode2 decodes a UFS2 inode.
func DecodeDinode2(b []byte, bo binary.ByteOrder) (*Dinode2, error) {
	d := new(Dinode2)
	if err := decode(b, bo, d, Dinode2Size); err != nil {
		return nil, err
	}
	return d, nil
}

// Encode writes d into b.
func (d *Dinode2) Encode(b []byte, bo binary.ByteOrder) error { return encode(b, bo, d, Dinode2Size) }

// UFS2 extended attributes (NetBSD/FreeBSD extattr.h): the ext area is a
// sequence of records, each 8-byte aligned:
//
//	uint32 ea_length        total record length
//	uint8  ea_namespace     1 user, 2 system
//	uint8  ea_contentpadlen padding after the content
//	uint8  ea_namelength
//	name, padded so that the header and name end on 8 bytes
//	content, then ea_contentpadlen bytes of padding
const (
	EXTATTR_NAMESPACE_USER   = 1
	EXTATTR_NAMESPACE_SYSTEM = 2
	ExtattrHeaderSize        = 7
)
