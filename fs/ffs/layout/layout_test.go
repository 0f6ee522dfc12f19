package layout

import (
	"encoding/binary"
	"reflect"
	"testing"
)

func TestSizes(t *testing.T) {
	for _, c := range []struct {
		name string
		v    any
		want int
	}{
		{"struct fs", Superblock{}, SuperblockSize},
		{"struct cg", CG{}, CGHeaderSize},
		{"struct csum", Csum{}, CsumSize},
		{"struct csum_total", CsumTotal{}, 64},
		{"struct ufs1_dinode", Dinode1{}, Dinode1Size},
		{"struct ufs2_dinode", Dinode2{}, Dinode2Size},
	} {
		if got := binary.Size(c.v); got != c.want {
			t.Errorf("%s: %d bytes, want %d", c.name, got, c.want)
		}
	}
}

// fieldOffset is the encoded offset of a field of a fixed-size struct.
func fieldOffset(t *testing.T, v any, name string) int {
	rt := reflect.TypeOf(v)
	off := 0
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		if f.Name == name {
			return off
		}
		off += binary.Size(reflect.New(f.Type).Elem().Interface())
	}
	t.Fatalf("no field %s", name)
	return 0
}

func TestOffsets(t *testing.T) {
	for _, c := range []struct {
		v     any
		field string
		want  int
	}{
		// Offsets from NetBSD's fs.h (and FreeBSD's, which agrees).
		{Superblock{}, "Ncg", 44},
		{Superblock{}, "Bsize", 48},
		{Superblock{}, "Sbsize", 104},
		{Superblock{}, "Ipg", 184},
		{Superblock{}, "Fpg", 188},
		{Superblock{}, "OldCstotal", 192},
		{Superblock{}, "Clean", 209},
		{Superblock{}, "Fsmnt", 212},
		{Superblock{}, "Volname", 680},
		{Superblock{}, "OldCpc", 856},
		{Superblock{}, "JournalVersion", 864},
		{Superblock{}, "Sblockloc", SuperblockSblocklocOffset},
		{Superblock{}, "Cstotal", 1008},
		{Superblock{}, "Time", 1072},
		{Superblock{}, "Size", 1080},
		{Superblock{}, "Flags", 1312},
		{Superblock{}, "Maxsymlinklen", 1320},
		{Superblock{}, "Maxfilesize", 1328},
		{Superblock{}, "Magic", SuperblockMagicOffset},
		{CG{}, "Magic", 4},
		{CG{}, "Cs", 24},
		{CG{}, "Frsum", 52},
		{CG{}, "Iusedoff", 92},
		{CG{}, "Initediblk", 120},
		{CG{}, "Time", 136},
		{Dinode1{}, "Size", 8},
		{Dinode1{}, "Db", 40},
		{Dinode1{}, "Ib", 88},
		{Dinode1{}, "Flags", 100},
		{Dinode1{}, "Uid", 112},
		{Dinode2{}, "Birthtime", 56},
		{Dinode2{}, "Extb", 96},
		{Dinode2{}, "Db", 112},
		{Dinode2{}, "Ib", 208},
	} {
		if got := fieldOffset(t, c.v, c.field); got != c.want {
			t.Errorf("%T.%s at %d, want %d", c.v, c.field, got, c.want)
		}
	}
}

func TestDetectOrder(t *testing.T) {
	for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		for _, magic := range []int32{FS_UFS1_MAGIC, FS_UFS2_MAGIC} {
			sb := Superblock{Magic: magic, Bsize: 8192}
			b := make([]byte, SBLOCKSIZE)
			if err := sb.Encode(b, bo); err != nil {
				t.Fatal(err)
			}
			got, m, ok := DetectOrder(b)
			if !ok || got != bo || m != uint32(magic) {
				t.Errorf("%v %x: got %v %x %v", bo, magic, got, m, ok)
			}
			back, err := DecodeSuperblock(b, got)
			if err != nil || back.Bsize != 8192 {
				t.Errorf("round trip: %v %+v", err, back.Bsize)
			}
		}
	}
	if _, _, ok := DetectOrder(make([]byte, SBLOCKSIZE)); ok {
		t.Error("zeros detected as FFS")
	}
}

func TestDirect(t *testing.T) {
	for _, old := range []bool{false, true} {
		for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			b := make([]byte, DIRBLKSIZ)
			d := Direct{Ino: 77, Reclen: DIRBLKSIZ, Type: 8, Name: []byte("hello")}
			if !d.Encode(b, bo, old) {
				t.Fatal("encode")
			}
			got, ok := DecodeDirectHeader(b, bo, old)
			if !ok || got.Ino != 77 || got.Reclen != DIRBLKSIZ || got.Namlen != 5 {
				t.Errorf("old=%v %v: %+v", old, bo, got)
			}
			if !old && got.Type != 8 {
				t.Errorf("type %d", got.Type)
			}
		}
	}
	if DirSize(1) != 12 || DirSize(3) != 12 || DirSize(4) != 16 || DirSize(255) != 264 {
		t.Errorf("DirSize: %d %d %d %d", DirSize(1), DirSize(3), DirSize(4), DirSize(255))
	}
}
