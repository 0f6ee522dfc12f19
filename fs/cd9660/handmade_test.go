package cd9660

import (
	"encoding/binary"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rumpfs/rumpfs/vfs"
)

// Hand-made images: the tools never write multi-extent files below 4 GiB
// or corrupt structures, so these are built byte by byte. Block 16 is the
// PVD, 17 the terminator, 18 the root directory; the rest is up to the
// test.

const hbs = 2048

func both32(b []byte, v uint32) {
	binary.LittleEndian.PutUint32(b, v)
	binary.BigEndian.PutUint32(b[4:], v)
}

func both16(b []byte, v uint16) {
	binary.LittleEndian.PutUint16(b, v)
	binary.BigEndian.PutUint16(b[2:], v)
}

// rec encodes a directory record.
func rec(name string, extent, size uint32, flags byte, su []byte) []byte {
	n := 33 + len(name)
	if len(name)%2 == 0 {
		n++
	}
	suStart := n
	n += len(su)
	if n%2 == 1 {
		n++
	}
	b := make([]byte, n)
	b[0] = byte(n)
	both32(b[2:], extent)
	both32(b[10:], size)
	copy(b[18:], []byte{121, 3, 4, 5, 6, 7, 0})
	b[25] = flags
	both16(b[28:], 1)
	b[32] = byte(len(name))
	copy(b[33:], name)
	copy(b[suStart:], su)
	return b
}

func susp(sig string, body ...byte) []byte {
	return append([]byte{sig[0], sig[1], byte(4 + len(body)), 1}, body...)
}

func b32(v uint32) []byte { b := make([]byte, 8); both32(b, v); return b }

func spEntry() []byte { return susp("SP", 0xBE, 0xEF, 0) }

func erEntry() []byte {
	id := "RRIP_1991A"
	body := []byte{byte(len(id)), 0, 0, 1}
	return susp("ER", append(body, id...)...)
}

func nmEntry(name string) []byte { return susp("NM", append([]byte{0}, name...)...) }

func ceEntry(blk, off, n uint32) []byte {
	body := append(b32(blk), b32(off)...)
	return susp("CE", append(body, b32(n)...)...)
}

func pxEntry(mode uint32) []byte {
	body := append(b32(mode), b32(1)...)
	body = append(body, b32(0)...)
	return susp("PX", append(body, b32(0)...)...)
}

type image struct{ b []byte }

func newImage(blocks int) *image {
	im := &image{b: make([]byte, blocks*hbs)}
	p := im.b[16*hbs:]
	p[0] = 1
	copy(p[1:], "CD001")
	p[6] = 1
	copy(p[40:], "HANDMADE")
	both32(p[80:], uint32(blocks))
	both16(p[120:], 1)
	both16(p[124:], 1)
	both16(p[128:], hbs)
	copy(p[156:], rec("\x00", 18, hbs, 2, nil))
	copy(p[813:], "2021030405060700")
	tm := im.b[17*hbs:]
	tm[0] = 255
	copy(tm[1:], "CD001")
	tm[6] = 1
	return im
}

// dir writes a directory at block blk: "." , ".." (parent) and recs,
// packed into blocks as ECMA-119 requires; the size is whole blocks.
func (im *image) dir(blk, parent uint32, dotSU []byte, recs ...[]byte) uint32 {
	all := append([][]byte{rec("\x00", blk, 0, 2, dotSU), rec("\x01", parent, 0, 2, nil)}, recs...)
	off := 0
	for _, r := range all {
		if off%hbs+len(r) > hbs {
			off = (off/hbs + 1) * hbs
		}
		copy(im.b[int(blk)*hbs+off:], r)
		off += len(r)
	}
	size := uint32((off + hbs - 1) / hbs * hbs)
	// Patch the sizes of "." (and of ".." for the root).
	both32(im.b[int(blk)*hbs+10:], size)
	if blk == parent {
		both32(im.b[int(blk)*hbs+int(im.b[int(blk)*hbs])+10:], size)
	}
	return size
}

func (im *image) fill(blk int, data []byte) { copy(im.b[blk*hbs:], data) }

func (im *image) mount(t *testing.T, opts string) *mnt {
	return mountImage(t, &memDev{b: im.b, name: "handmade.iso"}, opts)
}

func TestHandMultiExtent(t *testing.T) {
	im := newImage(40)
	a := strings.Repeat("A", 4096)
	bb := strings.Repeat("B", 2048)
	im.fill(20, []byte(a))
	im.fill(23, []byte(bb))
	im.fill(25, []byte("CCC"))
	im.fill(30, []byte("plain"))
	im.dir(18, 18, nil,
		rec("FILE.TXT;1", 30, 5, 0, nil),
		rec("SPLIT.BIN;1", 20, 4096, 0x80, nil),
		rec("SPLIT.BIN;1", 23, 2048, 0x80, nil),
		rec("SPLIT.BIN;1", 25, 3, 0, nil),
		// A chain whose last record is missing keeps what it has.
		rec("TORN.BIN;1", 30, 5, 0x80, nil),
		rec("Z.TXT;1", 30, 5, 0, nil),
	)
	m := im.mount(t, "")
	root, _ := m.Root()
	defer root.Rele()
	if got := strings.Join(dirNames(t, root), ","); got != "file.txt,split.bin,torn.bin,z.txt" {
		t.Errorf("names %s", got)
	}
	vn, err := root.Lookup("split.bin")
	if err != nil {
		t.Fatal(err)
	}
	data, err := readAll(vn)
	if err != nil || string(data) != a+bb+"CCC" {
		t.Errorf("split.bin: %d bytes, %v", len(data), err)
	}
	buf := make([]byte, 6)
	if n, _ := vn.Read(buf, 4096+2048-3); string(buf[:n]) != "BBBCCC" {
		t.Errorf("read across extents: %q", buf[:n])
	}
	vn.Rele()
	vn, err = root.Lookup("torn.bin")
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := readAll(vn); string(data) != "plain" {
		t.Errorf("torn.bin: %q", data)
	}
	vn.Rele()
}

func TestHandCorruptRecords(t *testing.T) {
	im := newImage(40)
	im.fill(30, []byte("good"))
	im.dir(20, 18, nil, rec("INNER;1", 30, 4, 0, nil))
	// A directory that is its own child, one whose child is the root.
	im.dir(21, 18, nil, rec("SELF", 21, 0, 2, nil), rec("UP", 18, 0, 2, nil))
	im.dir(18, 18, nil,
		rec("GOOD.TXT;1", 30, 4, 0, nil),
		rec("PAST.TXT;1", 100000, 4096, 0, nil), // data past the end
		rec("HALF.TXT;1", 39, 4096, 0, nil),     // data runs off the end
		rec("GONEDIR", 5000, 2048, 2, nil),      // directory past the end
		rec("NOTDIR", 30, 2048, 2, nil),         // directory without "."
		rec("LOOPS", 21, 2048, 2, nil),
		rec("SUB", 20, 2048, 2, nil),
	)
	// Zero-length padding then records in the next block: put a record
	// at the start of block 19 and make the root two blocks long.
	copy(im.b[19*hbs:], rec("NEXTBLK.TXT;1", 30, 4, 0, nil))
	both32(im.b[18*hbs+10:], 2*hbs)
	both32(im.b[16*hbs+156+10:], 2*hbs)
	m := im.mount(t, "")
	root, _ := m.Root()
	defer root.Rele()
	names := strings.Join(dirNames(t, root), ",")
	if names != "good.txt,past.txt,half.txt,gonedir,notdir,loops,sub,nextblk.txt" {
		t.Errorf("names %s", names)
	}
	for name, want := range map[string]error{"past.txt": syscall.EIO, "half.txt": syscall.EIO, "good.txt": nil, "nextblk.txt": nil} {
		vn, err := root.Lookup(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, err = readAll(vn)
		if !errors.Is(err, want) && err != want {
			t.Errorf("%s: read gives %v, want %v", name, err, want)
		}
		vn.Rele()
	}
	for _, name := range []string{"gonedir", "notdir"} {
		if _, err := root.Lookup(name); !errors.Is(err, syscall.EIO) {
			t.Errorf("%s: lookup gives %v, want EIO", name, err)
		}
	}
	loops, err := root.Lookup("loops")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"self", "up"} {
		if _, err := loops.Lookup(name); !errors.Is(err, syscall.EIO) {
			t.Errorf("loops/%s: %v, want EIO", name, err)
		}
	}
	loops.Rele()
	vn, err := lookupPath(t, m, "sub/inner")
	if err != nil {
		t.Fatal(err)
	}
	vn.Rele()

	// A record shorter than its name ends the listing with EIO, after
	// the good entries.
	im2 := newImage(40)
	im2.fill(30, []byte("good"))
	im2.dir(18, 18, nil, rec("A;1", 30, 4, 0, nil), rec("B;1", 30, 4, 0, nil))
	bad := 18*hbs + 34 + 34 + 36 // the B record
	im2.b[bad+32] = 200          // name length past the record
	m2 := im2.mount(t, "")
	r2, _ := m2.Root()
	var got []string
	err = r2.Readdir(0, func(d vfs.Dirent) bool { got = append(got, d.Name); return true })
	if !errors.Is(err, syscall.EIO) || strings.Join(got, ",") != ".,..,a" {
		t.Errorf("bad record: %q %v", got, err)
	}
	if vn, err := r2.Lookup("a"); err != nil {
		t.Errorf("a: %v", err)
	} else {
		vn.Rele()
	}
	r2.Rele()
}

func TestHandRockRidgeCELoop(t *testing.T) {
	im := newImage(40)
	im.fill(30, []byte("good"))
	// Block 25: a continuation area whose CE points at itself.
	im.fill(25, append(nmEntry("looped"), ceEntry(25, 0, 64)...))
	// Block 26 -> 27 -> 26.
	im.fill(26, ceEntry(27, 0, 28))
	im.fill(27, ceEntry(26, 0, 28))
	dotSU := append(spEntry(), erEntry()...)
	dotSU = append(dotSU, pxEntry(vfs.S_IFDIR|0755)...)
	im.dir(18, 18, dotSU,
		rec("GOOD.TXT;1", 30, 4, 0, append(nmEntry("good"), pxEntry(vfs.S_IFREG|0644)...)),
		rec("LOOP1;1", 30, 4, 0, append(pxEntry(vfs.S_IFREG|0644), ceEntry(25, 0, 64)...)),
		rec("LOOP2;1", 30, 4, 0, append(nmEntry("loop2"), ceEntry(26, 0, 28)...)),
		rec("PASTCE;1", 30, 4, 0, append(nmEntry("pastce"), ceEntry(90000, 0, 28)...)),
	)
	m := im.mount(t, "")
	if !m.rr {
		t.Fatal("Rock Ridge not detected")
	}
	root, _ := m.Root()
	defer root.Rele()
	if got := strings.Join(dirNames(t, root), ","); got != "good,looped,loop2,pastce" {
		t.Errorf("names %s", got)
	}
	for _, name := range []string{"looped", "loop2", "pastce"} {
		if _, err := root.Lookup(name); !errors.Is(err, syscall.EIO) {
			t.Errorf("%s: %v, want EIO", name, err)
		}
	}
	vn, err := root.Lookup("good")
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := readAll(vn); string(data) != "good" {
		t.Errorf("good: %q", data)
	}
	a, _ := vn.Getattr()
	if a.Mode != vfs.S_IFREG|0644 {
		t.Errorf("mode %o", a.Mode)
	}
	vn.Rele()
}

func TestMountRefusals(t *testing.T) {
	for name, tc := range map[string]struct {
		b    []byte
		want string
	}{
		"tiny":      {make([]byte, 1000), "too small"},
		"zeros":     {make([]byte, 40*hbs), "not an ISO 9660 image"},
		"truncated": {newImage(40).b[:20*hbs], "image truncated"},
		"blocksize": {func() []byte { im := newImage(40); both16(im.b[16*hbs+128:], 3000); return im.b }(), "unsupported logical block size 3000"},
		"noprimary": {func() []byte { im := newImage(40); im.b[16*hbs] = 2; return im.b }(), "no primary volume descriptor"},
		"rootpast":  {func() []byte { im := newImage(40); both32(im.b[16*hbs+156+2:], 9999); return im.b }(), "root directory"},
		"rootnodot": {func() []byte { im := newImage(40); im.b[16*hbs+156+2] = 30; return im.b }(), "root directory"},
	} {
		_, err := FS{}.Mount(&memDev{b: tc.b, name: name}, &vfs.MountArgs{})
		if err == nil || !strings.HasPrefix(err.Error(), "cd9660: ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
		if name == "tiny" || name == "zeros" {
			if (FS{}).Probe(&memDev{b: tc.b}) {
				t.Errorf("%s: probe accepted", name)
			}
		}
	}
}

func TestHandBlockSize512(t *testing.T) {
	// NetBSD accepts any power-of-two logical block size from 512 up.
	im := newImage(40)
	p := im.b[16*hbs:]
	both16(p[128:], 512)
	both32(p[80:], 40*4)
	copy(p[156:], rec("\x00", 18*4, hbs, 2, nil))
	im.fill(30, []byte("small blocks"))
	im.dir(18, 18, nil, rec("F;1", 30*4, 12, 0, nil))
	// Block numbers in the records are in 512-byte units.
	both32(im.b[18*hbs+2:], 18*4)
	both32(im.b[18*hbs+34+2:], 18*4)
	m := im.mount(t, "")
	vn, err := lookupPath(t, m, "f")
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := readAll(vn); string(data) != "small blocks" {
		t.Errorf("f: %q", data)
	}
	vn.Rele()
}

func TestHandExtAttr(t *testing.T) {
	im := newImage(40)
	xar := im.b[30*hbs:]
	both16(xar[0:], 1000) // owner
	both16(xar[4:], 100)  // group
	xar[8] = 0x10 | 0x40  // other may neither read nor execute
	xar[180] = 1          // version
	copy(xar[10:], "2020010203040500")
	copy(xar[27:], "2019050607080900")
	im.fill(31, []byte("after the XAR"))
	r := rec("X.TXT;1", 30, 13, 0, nil)
	r[1] = 1 // one block of extended attributes before the data
	im.dir(18, 18, nil, r)
	for _, opts := range []string{"", "extatt"} {
		m := im.mount(t, opts)
		vn, err := lookupPath(t, m, "x.txt")
		if err != nil {
			t.Fatal(err)
		}
		// The data starts after the XAR whatever the option, as NetBSD.
		if data, _ := readAll(vn); string(data) != "after the XAR" {
			t.Errorf("%q: data %q", opts, data)
		}
		a, _ := vn.Getattr()
		want := vfs.Attr{Mode: vfs.S_IFREG | 0555}
		if opts == "extatt" {
			want = vfs.Attr{Mode: vfs.S_IFREG | 0550, Uid: 1000, Gid: 100}
			if !a.Mtime.Equal(time.Date(2019, 5, 6, 7, 8, 9, 0, time.UTC)) || !a.Ctime.Equal(time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)) {
				t.Errorf("extatt times m %v c %v", a.Mtime, a.Ctime)
			}
		}
		if a.Mode != want.Mode || a.Uid != want.Uid || a.Gid != want.Gid {
			t.Errorf("%q: mode %o owner %d:%d", opts, a.Mode, a.Uid, a.Gid)
		}
		vn.Rele()
	}
}

func TestHandRockRidgeTimes(t *testing.T) {
	im := newImage(40)
	im.fill(30, []byte("x"))
	var long []byte
	for _, s := range []string{"2001020304050600", "2002030405060700"} {
		b := []byte(s)
		long = append(long, append(b, 4)...) // GMT+1
	}
	tfLong := susp("TF", append([]byte{0x80 | 0x02 | 0x04}, long...)...)
	tfShort := susp("TF", 0x01|0x02|0x08, 101, 1, 1, 0, 0, 0, 0, 102, 2, 2, 0, 0, 0, 0xF8, 103, 3, 3, 0, 0, 0, 0)
	pn := susp("PN", append(b32(0), b32(0x0103)...)...)
	dotSU := append(spEntry(), erEntry()...)
	im.dir(18, 18, dotSU,
		rec("LONG;1", 30, 1, 0, append(nmEntry("long"), tfLong...)),
		rec("SHORT;1", 30, 1, 0, append(nmEntry("short"), tfShort...)),
		rec("DEV;1", 0, 0, 0, append(append(nmEntry("dev"), pxEntry(vfs.S_IFCHR|0600)...), pn...)),
	)
	m := im.mount(t, "")
	get := func(name string) vfs.Attr {
		vn, err := lookupPath(t, m, name)
		if err != nil {
			t.Fatal(err)
		}
		defer vn.Rele()
		a, _ := vn.Getattr()
		return a
	}
	a := get("long")
	if !a.Mtime.Equal(time.Date(2001, 2, 3, 3, 5, 6, 0, time.UTC)) || !a.Atime.Equal(time.Date(2002, 3, 4, 4, 6, 7, 0, time.UTC)) || !a.Ctime.Equal(a.Mtime) {
		t.Errorf("long form: m %v a %v c %v", a.Mtime, a.Atime, a.Ctime)
	}
	a = get("short")
	if !a.Btime.Equal(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)) || !a.Mtime.Equal(time.Date(2002, 2, 2, 2, 0, 0, 0, time.UTC)) ||
		!a.Ctime.Equal(time.Date(2003, 3, 3, 0, 0, 0, 0, time.UTC)) || !a.Atime.Equal(a.Mtime) {
		t.Errorf("short form: b %v m %v a %v c %v", a.Btime, a.Mtime, a.Atime, a.Ctime)
	}
	a = get("dev")
	if a.Mode != vfs.S_IFCHR|0600 || a.Rdev != unix.Mkdev(1, 3) {
		t.Errorf("dev: mode %o rdev %#x", a.Mode, a.Rdev)
	}
}

func TestHandBadJolietFallsBack(t *testing.T) {
	im := newImage(40)
	// Move the terminator to 18 and put a Joliet SVD at 17 whose root
	// points past the image; the root directory moves to block 19.
	copy(im.b[18*hbs:19*hbs], im.b[17*hbs:18*hbs])
	svd := im.b[17*hbs : 18*hbs]
	copy(svd, im.b[16*hbs:17*hbs])
	svd[0] = 2
	copy(svd[88:], "%/E")
	copy(svd[156:], rec("\x00", 9999, hbs, 2, nil))
	copy(im.b[16*hbs+156:], rec("\x00", 19, hbs, 2, nil))
	im.fill(30, []byte("x"))
	im.dir(19, 19, nil, rec("PLAIN.TXT;1", 30, 1, 0, nil))
	m := im.mount(t, "")
	if m.joliet != 0 {
		t.Fatal("bad Joliet tree used")
	}
	vn, err := lookupPath(t, m, "plain.txt")
	if err != nil {
		t.Fatal(err)
	}
	vn.Rele()
}
