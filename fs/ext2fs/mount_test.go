package ext2fs

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/rumpfs/rumpfs/vfs"
)

func TestLayoutSizes(t *testing.T) {
	for _, c := range []struct {
		v    any
		size int
	}{
		{Superblock{}, SuperblockSize},
		{GroupDesc{}, GroupDescSize64},
		{Inode{}, InodeFullSize},
		{XattrHeader{}, XattrHeaderSize},
		{ExtentHeader{}, ExtentHeaderSize},
		{ExtentIdx{}, ExtentEntrySize},
		{Extent{}, ExtentEntrySize},
		{DirEntry{}, DirEntryHeaderSize},
		{DxRootInfo{}, DxRootInfoSize},
		{DxEntry{}, DxEntrySize},
		{DxCountLimit{}, 4},
		{XattrEntry{}, XattrEntryHeadLen},
		{JournalSuperblock{}, 36},
	} {
		if n := binary.Size(c.v); n != c.size {
			t.Errorf("%T: %d bytes, want %d", c.v, n, c.size)
		}
	}
	// Field offsets that matter.
	var sb Superblock
	sb.Magic = Magic
	sb.Checksum = 0x11223344
	sb.OrphanFileInum = 7
	b := make([]byte, SuperblockSize)
	encodeStruct(b, &sb)
	if le.Uint16(b[56:]) != Magic || le.Uint32(b[1020:]) != 0x11223344 || le.Uint32(b[640:]) != 7 {
		t.Error("superblock field offsets wrong")
	}
	var in Inode
	in.Generation, in.ChecksumLo, in.ExtraIsize, in.Crtime = 1, 2, 3, 4
	ib := make([]byte, InodeFullSize)
	encodeStruct(ib, &in)
	if le.Uint32(ib[100:]) != 1 || le.Uint16(ib[InodeChecksumLoOffset:]) != 2 || le.Uint16(ib[InodeExtraIsizeOffset:]) != 3 || le.Uint32(ib[144:]) != 4 {
		t.Error("inode field offsets wrong")
	}
	for _, n := range []int{4, 100, 65532, 65536} {
		if got := RecLenFromDisk(RecLenToDisk(n, 65536), 65536); got != n {
			t.Errorf("rec_len %d round trip %d", n, got)
		}
	}
}

func TestTimeEncoding(t *testing.T) {
	for _, s := range []int64{-1 << 31, -86400 * 365 * 10, 0, 1 << 31, 4102444800, 1<<33 + 5} {
		lo, ex := encodeTime(timeUnix(s, 123), true)
		got := decodeTime(lo, ex)
		if got.Unix() != s || got.Nanosecond() != 123 {
			t.Errorf("%d: got %v", s, got)
		}
	}
}

func setFeature(t *testing.T, img string, off int64, bits uint32) {
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [4]byte
	f.ReadAt(b[:], SuperblockOffset+off)
	le.PutUint32(b[:], le.Uint32(b[:])|bits)
	f.WriteAt(b[:], SuperblockOffset+off)
}

func TestMountRefusals(t *testing.T) {
	needTool(t, "mkfs.ext4")
	// ext4 as mkfs.ext4 makes it mounts read-write (ext4_test.go); a
	// feature still not written (mmp) is refused by name.
	ext4 := mkfs(t, "mkfs.ext4", 16, "", "-O", "mmp")
	if _, err := mountImgErr(t, ext4, false, ""); err == nil || !strings.Contains(err.Error(), "mmp") || strings.Contains(err.Error(), "metadata_csum") {
		t.Errorf("rw ext4 with mmp: %v", err)
	}
	m, err := mountImgErr(t, ext4, false, "ro")
	if err != nil {
		t.Fatalf("ro ext4: %v", err)
	}
	if !m.ReadOnly() {
		t.Error("not read-only")
	}
	root, _ := m.Root()
	if _, err := vfs.VOP_MKDIR(m, root, vfs.RootCred, "x", 0755); err != syscall.EROFS {
		t.Errorf("mkdir on ro: %v", err)
	}
	root.Rele()
	m.Unmount()

	ext2 := mkfs(t, "mkfs.ext2", 8, "")
	if _, err := mountImgErr(t, ext2, false, "bogus"); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("unknown option: %v", err)
	}
	if _, err := mountImgErr(t, ext2, true, "noatime,nodev,nosuid,noexec,sync,nodevmtime"); err != nil {
		t.Errorf("known options: %v", err)
	}

	// needs_recovery with an empty log: nothing to replay, the mount
	// proceeds (recover_test.go covers logs that hold transactions).
	rec := mkfs(t, "mkfs.ext3", 8, "")
	setFeature(t, rec, 96, IncompatRecover)
	if m, err := mountImgErr(t, rec, true, ""); err != nil {
		t.Errorf("needs_recovery, empty log: %v", err)
	} else {
		m.Unmount()
	}
	// needs_recovery without a journal: refused by name.
	norec := mkfs(t, "mkfs.ext2", 8, "")
	setFeature(t, norec, 96, IncompatRecover)
	if _, err := mountImgErr(t, norec, true, ""); err == nil || !strings.Contains(err.Error(), "needs_recovery") {
		t.Errorf("needs_recovery without a journal: %v", err)
	}
	// An unknown incompatible feature, by name.
	unk := mkfs(t, "mkfs.ext2", 8, "")
	setFeature(t, unk, 96, IncompatEncrypt|1<<30)
	if _, err := mountImgErr(t, unk, true, ""); err == nil || !strings.Contains(err.Error(), "encrypt") || !strings.Contains(err.Error(), "unknown_0x40000000") {
		t.Errorf("unknown incompat: %v", err)
	}
	// A ro_compat feature we cannot write: ro fine, rw refused by name.
	rc := mkfs(t, "mkfs.ext2", 8, "")
	setFeature(t, rc, 100, RoCompatBigalloc<<8) // an unknown ro_compat bit
	if _, err := mountImgErr(t, rc, false, ""); err == nil || !strings.Contains(err.Error(), "unknown_0x20000") {
		t.Errorf("unknown ro_compat rw: %v", err)
	}
	if m, err := mountImgErr(t, rc, true, ""); err != nil {
		t.Errorf("unknown ro_compat ro: %v", err)
	} else {
		m.Unmount()
	}
	// Not a file system at all.
	junk := t.TempDir() + "/junk"
	os.WriteFile(junk, bytes.Repeat([]byte{0xAB}, 1<<20), 0644)
	fs, _ := vfs.LookupFS("ext2fs")
	if fs.Probe(openDev(t, junk, true)) {
		t.Error("probe accepted junk")
	}
}

func TestMountStateAndCounts(t *testing.T) {
	needTool(t, "mkfs.ext2", "dumpe2fs")
	img := mkfs(t, "mkfs.ext3", 16, "")
	m := mountImg(t, img, false, "")
	out := run(t, "dumpe2fs", "-h", img)
	if !strings.Contains(out, "not clean") {
		t.Errorf("rw mount did not mark the file system not clean:\n%s", grepLine(out, "state"))
	}
	if !strings.Contains(grepLine(out, "Mount count"), " 1") {
		t.Errorf("mount count: %s", grepLine(out, "Mount count"))
	}
	// A second rw mount of a not-clean image needs force.
	if _, err := mountImgErr(t, img, false, ""); err == nil || !strings.Contains(err.Error(), "not clean") {
		t.Errorf("unclean rw mount: %v", err)
	}
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	out = run(t, "dumpe2fs", "-h", img)
	if !strings.Contains(grepLine(out, "Filesystem state"), "clean") || strings.Contains(out, "not clean") {
		t.Errorf("unmount did not mark clean: %s", grepLine(out, "state"))
	}
	e2fsck(t, img)
	// The journal is untouched and empty.
	if !strings.Contains(run(t, "dumpe2fs", "-h", img), "Journal start:            0") {
		t.Error("journal not empty")
	}
}

func grepLine(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

func TestStatfsReserved(t *testing.T) {
	img := mkfs(t, "mkfs.ext2", 16, "", "-m", "10")
	m := mountImg(t, img, true, "")
	defer m.Unmount()
	st, _ := m.Statfs()
	if st.Bavail >= st.Bfree || st.Bfree-st.Bavail < st.Blocks/20 {
		t.Errorf("reserved blocks not honoured: %+v", st)
	}
	out, _ := exec.Command("dumpe2fs", "-h", img).Output()
	if !strings.Contains(grepLine(string(out), "Free inodes"), strings.TrimSpace(itoa(st.Ffree))) {
		t.Errorf("free inodes %d vs %s", st.Ffree, grepLine(string(out), "Free inodes"))
	}
}
