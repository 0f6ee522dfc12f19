package msdosfs

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/rumpfs/rumpfs/dev"
	"github.com/rumpfs/rumpfs/vfs"
)

func TestLayoutSizes(t *testing.T) {
	if direntSize != 32 || bootSectorSize != 512 || fsInfoSize != 512 {
		t.Fatal("structure sizes")
	}
	// Encoding fills exactly 32 bytes at the spec's offsets.
	de := dirent{Name: [11]byte{'A', 'B', ' ', ' ', ' ', ' ', ' ', ' ', 'T', 'X', 'T'}, Attr: attrArchive,
		NTRes: ntLowerBase, CrtTenth: 150, CrtTime: 0x1234, CrtDate: 0x5678, AccDate: 0x9abc,
		ClusHi: 0x0102, WrtTime: 0x0304, WrtDate: 0x0506, ClusLo: 0x0708, FileSize: 0x090a0b0c}
	b := make([]byte, 40)
	de.encode(b)
	want := []byte{'A', 'B', ' ', ' ', ' ', ' ', ' ', ' ', 'T', 'X', 'T', 0x20, 0x08, 150, 0x34, 0x12, 0x78, 0x56, 0xbc, 0x9a,
		0x02, 0x01, 0x04, 0x03, 0x06, 0x05, 0x08, 0x07, 0x0c, 0x0b, 0x0a, 0x09, 0, 0, 0, 0, 0, 0, 0, 0}
	if !bytes.Equal(b, want) {
		t.Fatalf("dirent encoding\n got %x\nwant %x", b, want)
	}
	if decodeDirent(b) != de {
		t.Fatal("dirent round trip")
	}
	if de.cluster(true) != 0x01020708 || de.cluster(false) != 0x0708 {
		t.Fatal("cluster halves")
	}
	l := lfnEntry{Ord: 0x41, Checksum: 0x99}
	for i := range l.Units {
		l.Units[i] = uint16('a' + i)
	}
	l.encode(b)
	if b[0] != 0x41 || b[11] != 0x0F || b[13] != 0x99 || b[1] != 'a' || b[14] != 'f' || b[28] != 'l' || b[30] != 'm' || b[26] != 0 {
		t.Fatalf("lfn encoding %x", b[:32])
	}
	if decodeLFN(b) != l || !isLFN(b) {
		t.Fatal("lfn round trip")
	}
	// The spec's checksum example: rotating sum.
	if shortChecksum([11]byte{'F', 'O', 'O', ' ', ' ', ' ', ' ', ' ', 'B', 'A', 'R'}) != 0x53 {
		t.Errorf("checksum %x", shortChecksum([11]byte{'F', 'O', 'O', ' ', ' ', ' ', ' ', ' ', 'B', 'A', 'R'}))
	}
	// Times: 2 s for mtime, 10 ms for creation.
	loc := time.FixedZone("x", 3600)
	tm := time.Date(2021, 3, 4, 5, 6, 7, 890_000_000, loc)
	d, ti, tenth := timeToDOS(tm, loc)
	if got := dosToTime(d, ti, tenth, loc); !got.Equal(time.Date(2021, 3, 4, 5, 6, 7, 890_000_000, loc)) {
		t.Errorf("creation time %v", got)
	}
	if got := dosToTime(d, ti, 0, loc); !got.Equal(time.Date(2021, 3, 4, 5, 6, 6, 0, loc)) {
		t.Errorf("mtime %v", got)
	}
	if d, _, _ := timeToDOS(time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), time.UTC); d != 0x21 {
		t.Errorf("pre-1980 clamps to 1980-01-01, got %x", d)
	}
	// BPB offsets.
	bs := make([]byte, 512)
	copy(bs, []byte{0xEB, 0x3C, 0x90})
	bs[11], bs[12] = 0x00, 0x02
	bs[13] = 4
	bs[17] = 0x00
	bs[44] = 0x02 // FAT32 root cluster when RootEntCnt=FATSz16=0
	bs[510], bs[511] = 0x55, 0xAA
	p := decodeBPB(bs)
	if p.BytesPerSec != 512 || p.SecPerClus != 4 || !p.fat32 || p.RootClus != 2 || p.Signature != 0xAA55 {
		t.Errorf("bpb %+v", p)
	}
}

func TestNames(t *testing.T) {
	for _, c := range []struct {
		in    string
		short string
		nt    uint8
		exact bool
	}{
		{"README.TXT", "README  TXT", 0, true},
		{"readme.txt", "README  TXT", ntLowerBase | ntLowerExt, true},
		{"README.txt", "README  TXT", ntLowerExt, true},
		{"ReadMe.txt", "", 0, false},
		{"a.b.c", "", 0, false},
		{"toolongname", "", 0, false},
	} {
		sn, nt, ok := exactShort(c.in)
		if ok != c.exact || (ok && (string(sn[:]) != c.short || nt != c.nt)) {
			t.Errorf("exactShort(%q) = %q %x %v", c.in, sn, nt, ok)
		}
	}
	for _, c := range []struct{ in, basis string }{
		{"The quick brown.fox", "THEQUICKFOX"},
		{"...hidden", "HIDDEN     "},
		{"a+b=c.tar.gz", "A_B_CTARGZ "},
		{"ünï.txt", "_N_     TXT"},
	} {
		if b, _ := basisName(c.in); string(b[:]) != c.basis {
			t.Errorf("basisName(%q) = %q want %q", c.in, b, c.basis)
		}
	}
	b, _ := basisName("The quick brown.fox")
	if s := withTail(b, 1); string(s[:]) != "THEQUI~1FOX" {
		t.Errorf("tail %q", s)
	}
	if s := withTail(b, 12345); string(s[:]) != "THE~12345FOX"[:11] && string(s[:]) != "TH~12345FOX" {
		t.Errorf("tail %q", s)
	}
	for _, bad := range []string{"a/b", "a*b", "a?", "a\x01", "..."} {
		if _, _, err := cleanName(bad); err != syscall.EINVAL {
			t.Errorf("cleanName(%q) = %v", bad, err)
		}
	}
	if n, _, _ := cleanName("trailing.. "); n != "trailing" {
		t.Errorf("trailing dots/spaces kept: %q", n)
	}
	long := ""
	for i := 0; i < 128; i++ {
		long += "😀" // two UTF-16 units each
	}
	if _, _, err := cleanName(long); err != syscall.ENAMETOOLONG {
		t.Errorf("256 units: %v", err)
	}
	if decodeShort([11]byte{0x05, 'A', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '}, false, false) != "ÕA" {
		t.Errorf("0x05 must read as 0xE5 (Õ in CP850)")
	}
}

// TestSurrogates: names outside the BMP are stored as UTF-16 surrogate
// pairs and read back.
func TestSurrogates(t *testing.T) {
	img := mkfs(t, 2000, "-F", "12")
	tm := mountImg(t, img, false, "")
	root := tm.mustWalk(t, "")
	name := "emoji 😀 𝄞 test.txt"
	c, err := root.Create(vfs.RootCred, name, 0644)
	if err != nil {
		t.Fatal(err)
	}
	c.Rele()
	// 255 units exactly is allowed.
	max := ""
	for i := 0; i < 127; i++ {
		max += "😀"
	}
	max += "x"
	if len(utf16.Encode([]rune(max))) != 255 {
		t.Fatal("test name length")
	}
	if c, err := root.Create(vfs.RootCred, max, 0644); err != nil {
		t.Fatalf("255-unit name: %v", err)
	} else {
		c.Rele()
	}
	root.Rele()
	tm.unmount(t)
	fsck(t, img)
	tm = mountImg(t, img, true, "")
	root = tm.mustWalk(t, "")
	got := names(t, root)
	if len(got) != 2 || got[0] != name || got[1] != max {
		t.Errorf("names %q", got)
	}
	// The raw long-name entries hold a surrogate pair.
	raw, _ := os.ReadFile(img)
	pair := utf16.Encode([]rune("😀"))
	needle := []byte{byte(pair[0]), byte(pair[0] >> 8), byte(pair[1]), byte(pair[1] >> 8)}
	if !bytes.Contains(raw, needle) {
		t.Errorf("surrogate pair not found on disk")
	}
	root.Rele()
	tm.unmount(t)
}

// TestInoStable: a file's inode number does not change as it grows.
func TestInoStable(t *testing.T) {
	img := mkfs(t, 20000, "-F", "16")
	tm := mountImg(t, img, false, "")
	root := tm.mustWalk(t, "")
	c, _ := root.Create(vfs.RootCred, "grow", 0644)
	a1, _ := c.Getattr()
	c.(*node).Write(make([]byte, 100000), 0)
	a2, _ := c.Getattr()
	c.Rele()
	for i := 0; i < 5000; i++ { // push it out of the node cache
		n, _ := tm.walk(t, "grow")
		n.Rele()
	}
	tm.m.nmu.Lock()
	tm.m.nodes = map[uint64]*node{}
	tm.m.idle.Init()
	tm.m.nmu.Unlock()
	c2, _ := root.Lookup("grow")
	a3, _ := c2.Getattr()
	if a1.Ino != a2.Ino || a2.Ino != a3.Ino || a3.Size != 100000 {
		t.Errorf("ino %d %d %d size %d", a1.Ino, a2.Ino, a3.Ino, a3.Size)
	}
	c2.Rele()
	root.Rele()
	tm.unmount(t)
	fsck(t, img)
}

// TestUnlinkedOpen: a file removed while referenced keeps its data until
// the last release, then its clusters are freed.
func TestUnlinkedOpen(t *testing.T) {
	img := mkfs(t, 8000, "-F", "32")
	tm := mountImg(t, img, false, "")
	root := tm.mustWalk(t, "")
	st0, _ := tm.m.Statfs()
	c, _ := root.Create(vfs.RootCred, "tmp", 0644)
	c.(*node).Write(bytes.Repeat([]byte("z"), 50000), 0)
	if err := root.Remove("tmp"); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Lookup("tmp"); err != syscall.ENOENT {
		t.Errorf("lookup after remove: %v", err)
	}
	buf := make([]byte, 10)
	if n, err := c.Read(buf, 49990); n != 10 || err != nil || string(buf) != "zzzzzzzzzz" {
		t.Errorf("read unlinked: %d %v", n, err)
	}
	c.Rele()
	st1, _ := tm.m.Statfs()
	if st1.Bfree != st0.Bfree {
		t.Errorf("free %d, want %d", st1.Bfree, st0.Bfree)
	}
	root.Rele()
	tm.unmount(t)
	fsck(t, img)
}

func TestProbe(t *testing.T) {
	img := mkfs(t, 2000, "-F", "12")
	d := openDev(t, img, true)
	if !(fsType{}).Probe(d) {
		t.Fatal("mkfs.fat image not probed")
	}
	zero := filepath.Join(t.TempDir(), "zero")
	os.WriteFile(zero, make([]byte, 1<<20), 0644)
	if (fsType{}).Probe(openDev(t, zero, true)) {
		t.Error("zeros probed as FAT")
	}
	if (fsType{}).Probe(dev.NewMem(make([]byte, 100), true)) {
		t.Error("tiny device probed")
	}
}

// TestDecodeShortLowerNonASCII: the NT lower-case flags lower-case the
// code page's letters too. mtools stores "ünïcødé.txt" as the short name
// "ÜNÏCØDÉ TXT" with both flags and no long name; Windows and Linux show
// it as written, not as "ÜnÏcØdÉ.txt".
func TestDecodeShortLowerNonASCII(t *testing.T) {
	// CP850: Ü 0x9A, Ï 0xD8, Ø 0x9D, É 0x90.
	n := [11]byte{0x9A, 'N', 0xD8, 'C', 0x9D, 'D', 0x90, ' ', 'T', 'X', 'T'}
	if got := decodeShort(n, true, true); got != "ünïcødé.txt" {
		t.Errorf("flagged lower: %q, want %q", got, "ünïcødé.txt")
	}
	if got := decodeShort(n, false, true); got != "ÜNÏCØDÉ.txt" {
		t.Errorf("extension flag only: %q", got)
	}
}
