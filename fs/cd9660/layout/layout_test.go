package layout

import (
	"encoding/binary"
	"testing"
	"time"
)

func TestSizes(t *testing.T) {
	for _, c := range []struct {
		name string
		v    any
		want int
	}{
		{"VolumeDescriptorHeader", VolumeDescriptorHeader{}, 7},
		{"PrimaryVolumeDescriptor", PrimaryVolumeDescriptor{}, VolumeDescriptorSize},
		{"BootRecord", BootRecord{}, VolumeDescriptorSize},
		{"DirectoryRecordHeader", DirectoryRecordHeader{}, DirectoryRecordSize},
		{"ExtAttr", ExtAttr{}, ExtAttrSize},
		{"DirTime", DirTime{}, DirTimeSize},
		{"DecTime", DecTime{}, DecTimeSize},
		{"SUSPHeader", SUSPHeader{}, SUSPHeaderSize},
		{"SP", SP{}, SPSize},
		{"CE", CE{}, CESize},
		{"ERHeader", ERHeader{}, ERHeaderSize},
		{"PX", PX{}, PXSize110},
		{"PXSerial", PXSerial{}, PXSize112 - PXSize110},
		{"PN", PN{}, PNSize},
		{"CL", CL{}, CLSize},
		{"ZF", ZF{}, ZFSize},
	} {
		if got := binary.Size(c.v); got != c.want {
			t.Errorf("%s: size %d, want %d", c.name, got, c.want)
		}
	}
}

func TestPVDOffsets(t *testing.T) {
	b := make([]byte, 2048)
	b[0] = 1
	copy(b[1:], "CD001")
	copy(b[40:], "VOLID")
	binary.LittleEndian.PutUint32(b[80:], 1234)
	binary.BigEndian.PutUint32(b[84:], 1234)
	binary.LittleEndian.PutUint16(b[128:], 2048)
	b[156] = 34
	copy(b[813:], "2020010203040500")
	b[881] = 1
	p, err := DecodePrimaryVolumeDescriptor(b)
	if err != nil {
		t.Fatal(err)
	}
	if !p.IsISO() || p.Type != 1 || TrimID(p.VolumeID[:]) != "VOLID" || p.VolumeSpaceSize.LE() != 1234 ||
		!p.VolumeSpaceSize.Consistent() || p.LogicalBlockSize.LE() != 2048 || p.RootDirectoryRecord[0] != 34 ||
		p.FileStructureVersion != 1 {
		t.Fatalf("bad decode: %+v", p.VolumeDescriptorHeader)
	}
	tm, ok := p.CreationTime.Time()
	if !ok || !tm.Equal(time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("creation time %v %v", tm, ok)
	}
	if _, err := DecodePrimaryVolumeDescriptor(b[:100]); err == nil {
		t.Error("short buffer accepted")
	}
}

func TestDirTime(t *testing.T) {
	// 2021-06-30 12:00:00 at GMT+2 (8 quarter hours) is 10:00 UTC.
	tm := DirTime{121, 6, 30, 12, 0, 0, 8}.Time()
	if !tm.Equal(time.Date(2021, 6, 30, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("got %v", tm)
	}
	// Negative offset: GMT-5 is -20 quarter hours.
	tm = DirTime{100, 1, 1, 0, 0, 0, 0xEC}.Time()
	if !tm.Equal(time.Date(2000, 1, 1, 5, 0, 0, 0, time.UTC)) {
		t.Errorf("got %v", tm)
	}
	// Out-of-range offset is ignored, as NetBSD.
	tm = DirTime{100, 1, 1, 0, 0, 0, 100}.Time()
	if !tm.Equal(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("got %v", tm)
	}
	if !(DirTime{}).Time().Equal(time.Unix(0, 0)) {
		t.Error("zero stamp not epoch")
	}
	var d DecTime
	copy(d[:], "1999123123595950")
	d[16] = 4 // GMT+1
	tm, ok := d.Time()
	if !ok || !tm.Equal(time.Date(1999, 12, 31, 22, 59, 59, 500_000_000, time.UTC)) {
		t.Errorf("got %v", tm)
	}
	copy(d[:], "0000000000000000")
	if _, ok := d.Time(); ok {
		t.Error("unset dec time accepted")
	}
}

func TestDirectoryRecord(t *testing.T) {
	b := make([]byte, 60)
	b[0] = 40
	binary.LittleEndian.PutUint32(b[2:], 20)
	binary.BigEndian.PutUint32(b[6:], 20)
	binary.LittleEndian.PutUint32(b[10:], 5)
	b[25] = FlagDirectory
	b[32] = 4
	copy(b[33:], "ABCD")
	copy(b[38:], "XY")
	r, ok := DecodeDirectoryRecord(b)
	if !ok || string(r.Name) != "ABCD" || string(r.SystemUse) != "XY" || r.Extent.LE() != 20 || r.DataLength.LE() != 5 {
		t.Fatalf("bad record %+v", r)
	}
	b[32] = 10 // name past record end
	if _, ok := DecodeDirectoryRecord(b); ok {
		t.Error("name past end accepted")
	}
	b[0] = 200 // record past buffer
	if _, ok := DecodeDirectoryRecord(b); ok {
		t.Error("record past buffer accepted")
	}
}

func TestSUSP(t *testing.T) {
	sl := []byte{'S', 'L', 14, 1, 0, 8, 0, 0, 3, 'u', 's', 'r', 2, 0}
	flags, comps, ok := DecodeSL(sl)
	if !ok || flags != 0 || len(comps) != 3 || comps[0].Flags != CompRoot || string(comps[1].Content) != "usr" || comps[2].Flags != CompCurrent {
		t.Fatalf("SL: %v %v %v", flags, comps, ok)
	}
	sl[2] = 11 // cuts "usr"
	if _, _, ok := DecodeSL(sl[:11]); ok {
		t.Error("truncated SL component accepted")
	}
	if _, ok := NextEntry([]byte{'P', 'X', 2, 1}); ok {
		t.Error("entry shorter than header accepted")
	}
	if _, ok := NextEntry([]byte{'P', 'X', 40, 1, 0}); ok {
		t.Error("entry past area accepted")
	}
	tf := []byte{'T', 'F', 19, 1, TFModify | TFAccess, 121, 1, 1, 0, 0, 0, 0, 121, 1, 2, 0, 0, 0, 0}
	f, st, ok := DecodeTF(tf)
	if !ok || f != TFModify|TFAccess || st[1] == nil || st[2] == nil || st[0] != nil {
		t.Fatalf("TF: %v %v", f, ok)
	}
	if _, _, ok := DecodeTF(tf[:15]); ok {
		t.Error("truncated TF accepted")
	}
}
