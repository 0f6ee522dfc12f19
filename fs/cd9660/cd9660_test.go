package cd9660

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rumpfs/rumpfs/vfs"
)

var mtime = time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)

// richTree writes a tree with what Rock Ridge can carry: long and UTF-8
// names, a deep chain of directories, symlinks, hard links, empty and
// large files, odd modes and owners, and fixed mtimes.
func richTree(t *testing.T, src string, bigDir int) {
	t.Helper()
	writeFile(t, filepath.Join(src, "README.TXT"), []byte("read me\n"))
	writeFile(t, filepath.Join(src, "empty"), nil)
	writeFile(t, filepath.Join(src, "big.bin"), pattern(3<<20+123, 1))
	long := strings.Repeat("long-name-", 20) + "end.txt" // 207 bytes
	writeFile(t, filepath.Join(src, long), []byte("long"))
	writeFile(t, filepath.Join(src, "ünïcödé-日本語.txt"), []byte("utf8"))
	writeFile(t, filepath.Join(src, "emoji-😀.txt"), []byte("astral"))
	writeFile(t, filepath.Join(src, "MixedCase.Txt"), []byte("mixed"))
	deep := src
	for i := 1; i <= 11; i++ {
		deep = filepath.Join(deep, fmt.Sprintf("d%d", i))
	}
	writeFile(t, filepath.Join(deep, "deep.txt"), []byte("deep file"))
	os.MkdirAll(filepath.Join(src, "d1/d2/d3/d4/d5/d6/d7/d8/d9/sibling"), 0o755)
	writeFile(t, filepath.Join(src, "links/target"), []byte("target data"))
	for name, target := range map[string]string{
		"rel":      "target",
		"abs":      "/etc/passwd",
		"dotdot":   "../README.TXT",
		"dot":      "./target",
		"dangling": "no/such/file",
		"longlink": strings.Repeat("component/", 20) + "end",
		"root":     "/",
	} {
		if err := os.Symlink(target, filepath.Join(src, "links", name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Link(filepath.Join(src, "links/target"), filepath.Join(src, "links/hard1")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(src, "links/target"), filepath.Join(src, "hard2")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(src, "modes/private"), []byte("p"))
	os.Chmod(filepath.Join(src, "modes/private"), 0o600)
	writeFile(t, filepath.Join(src, "modes/setuid"), []byte("s"))
	os.Chmod(filepath.Join(src, "modes/setuid"), 0o4755)
	os.Chmod(filepath.Join(src, "modes"), 0o751)
	if os.Geteuid() == 0 {
		os.Lchown(filepath.Join(src, "modes/private"), 1234, 5678)
		syscall.Mkfifo(filepath.Join(src, "modes/fifo"), 0o644)
		syscall.Mknod(filepath.Join(src, "modes/null"), syscall.S_IFCHR|0o666, int(unix.Mkdev(1, 3)))
		syscall.Mknod(filepath.Join(src, "modes/disk"), syscall.S_IFBLK|0o640, int(unix.Mkdev(8, 300)))
	}
	if bigDir > 0 {
		for i := 0; i < bigDir; i++ {
			writeFile(t, filepath.Join(src, "many", fmt.Sprintf("file-%05d.dat", i)), []byte(fmt.Sprint(i)))
		}
	}
	// Fixed mtimes everywhere (symlinks included), after all writes.
	filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode()&os.ModeSymlink == 0 {
			os.Chtimes(p, mtime, mtime)
		}
		return nil
	})
}

// plainTree has only what every ISO 9660 writer keeps: 8.3 upper-case
// names in a shallow tree.
func plainTree(t *testing.T, src string) {
	writeFile(t, filepath.Join(src, "README.TXT"), []byte("read me\n"))
	writeFile(t, filepath.Join(src, "DATA.BIN"), pattern(100000, 3))
	writeFile(t, filepath.Join(src, "EMPTY"), nil)
	writeFile(t, filepath.Join(src, "SUBDIR/FILE.C"), []byte("int main;\n"))
	writeFile(t, filepath.Join(src, "SUBDIR/INNER/X.Y"), []byte("xy"))
}

func TestXorrisoRockRidgeJoliet(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	richTree(t, src, 0)
	// xorriso splits a long target over SL entries and CE areas.
	os.Symlink(strings.Repeat("a-rather-long-component/", 35)+"end", filepath.Join(src, "links/verylong"))
	iso := filepath.Join(dir, "x.iso")
	mkiso(t, "xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-joliet-long", "--hardlinks", "-V", "My Volume", "-o", iso, src)
	m := mountFile(t, iso, "")
	if !m.rr || m.ftype != ftRRIP {
		t.Fatal("Rock Ridge not used")
	}
	compareTree(t, m, src, true, true)
	info := m.Info()
	if info.Type != "cd9660" || info.Label != "My Volume" || !contains(info.Features, "rockridge") || !contains(info.Features, "joliet") {
		t.Errorf("info %+v", info)
	}
}

func TestXorrisoLevel3(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	richTree(t, src, 0)
	iso := filepath.Join(dir, "x.iso")
	mkiso(t, "xorriso", "-as", "mkisofs", "-quiet", "-R", "-iso-level", "3", "--hardlinks", "-o", iso, src)
	compareTree(t, mountFile(t, iso, ""), src, true, true)
}

func TestGenisoimageRockRidgeRelocation(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	richTree(t, src, 0)
	iso := filepath.Join(dir, "g.iso")
	mkiso(t, "genisoimage", "-quiet", "-R", "-o", iso, src)
	m := mountFile(t, iso, "")
	// genisoimage relocates directories deeper than 8 levels into
	// rr_moved; NetBSD lists rr_moved but hides the relocated entries
	// (RE) in it, and shows them where they belong (CL).
	root, _ := m.Root()
	defer root.Rele()
	rm, err := root.Lookup("rr_moved")
	if err != nil {
		t.Fatalf("rr_moved: %v", err)
	}
	if ents := listDir(t, rm); len(ents) != 2 {
		t.Errorf("rr_moved lists %v, want only . and ..", ents)
	}
	rm.Rele()
	os.Mkdir(filepath.Join(src, "rr_moved"), 0o555) // so that the comparison expects it
	os.Chtimes(filepath.Join(src, "rr_moved"), mtime, mtime)
	compareTree(t, m, src, true, false)

	// ".." of a relocated directory is its real parent.
	d9, err := lookupPath(t, m, "d1/d2/d3/d4/d5/d6/d7/d8/d9")
	if err != nil {
		t.Fatal(err)
	}
	d9a, _ := d9.Getattr()
	d10, err := d9.Lookup("d10")
	if err != nil {
		t.Fatal(err)
	}
	up, err := d10.Lookup("..")
	if err != nil {
		t.Fatal(err)
	}
	upa, _ := up.Getattr()
	if upa.Ino != d9a.Ino {
		t.Errorf("d10/.. is ino %d, want d9's %d", upa.Ino, d9a.Ino)
	}
	ents := listDir(t, d10)
	if ents[1].Ino != d9a.Ino {
		t.Errorf("d10's .. dirent ino %d, want %d", ents[1].Ino, d9a.Ino)
	}
	// "." from inside and the entry from the parent agree.
	d10a, _ := d10.Getattr()
	if ents[0].Ino != d10a.Ino {
		t.Errorf(". ino %d, getattr %d", ents[0].Ino, d10a.Ino)
	}
	up.Rele()
	d10.Rele()
	d9.Rele()
}

func TestGenisoimageRockRidgeOnly(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	richTree(t, src, 0)
	iso := filepath.Join(dir, "g.iso")
	// -D: no deep relocation, so the tree compares as it is.
	mkiso(t, "genisoimage", "-quiet", "-R", "-D", "-o", iso, src)
	compareTree(t, mountFile(t, iso, ""), src, true, false)
}

func TestJolietOnly(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeFile(t, filepath.Join(src, "Mixed Case Name.txt"), []byte("a"))
	writeFile(t, filepath.Join(src, "ünïcödé-日本語.txt"), []byte("utf8"))
	writeFile(t, filepath.Join(src, "sub dir/a rather long file name of fifty characters.dat"), pattern(5000, 2))
	writeFile(t, filepath.Join(src, "empty"), nil)
	iso := filepath.Join(dir, "j.iso")
	mkiso(t, "xorriso", "-as", "mkisofs", "-quiet", "--norock", "-J", "-o", iso, src)
	m := mountFile(t, iso, "")
	if m.rr || m.joliet == 0 {
		t.Fatalf("rr %v joliet %d", m.rr, m.joliet)
	}
	compareTree(t, m, src, false, false)
	// Joliet lookups fold ASCII case as NetBSD's isofncmp.
	if vn, err := lookupPath(t, m, "MIXED CASE NAME.TXT"); err != nil {
		t.Errorf("case-folded lookup: %v", err)
	} else {
		vn.Rele()
	}
	// nojoliet: back to plain ISO names.
	m2 := mountFile(t, iso, "nojoliet")
	if m2.joliet != 0 {
		t.Fatal("Joliet used with nojoliet")
	}
	root, _ := m2.Root()
	names := dirNames(t, root)
	root.Rele()
	if !contains(names, "empty") || contains(names, "Mixed Case Name.txt") {
		t.Errorf("nojoliet names %q", names)
	}
}

func TestPlainLevel1AndOptions(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	plainTree(t, src)
	iso := filepath.Join(dir, "p.iso")
	mkiso(t, "genisoimage", "-quiet", "-o", iso, src)

	// Default: lower case, ";1" and a trailing "." stripped.
	m := mountFile(t, iso, "")
	root, _ := m.Root()
	if got := dirNames(t, root); strings.Join(got, ",") != "data.bin,empty,readme.txt,subdir" {
		t.Errorf("default names %q", got)
	}
	for _, name := range []string{"readme.txt", "README.TXT", "README.TXT;1", "ReadMe.Txt", "empty"} {
		vn, err := root.Lookup(name)
		if err != nil {
			t.Errorf("lookup %q: %v", name, err)
			continue
		}
		a, _ := vn.Getattr()
		if a.Mode != vfs.S_IFREG|0555 || a.Nlink != 1 || a.Uid != 0 || a.Gid != 0 {
			t.Errorf("%s: attr %+v", name, a)
		}
		vn.Rele()
	}
	ra, _ := root.Getattr()
	if ra.Mode != vfs.S_IFDIR|0555 {
		t.Errorf("root mode %o", ra.Mode)
	}
	root.Rele()
	vn, err := lookupPath(t, m, "subdir/inner/x.y")
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := readAll(vn); string(data) != "xy" {
		t.Errorf("x.y = %q", data)
	}
	vn.Rele()

	// nocasetrans keeps the case.
	m2 := mountFile(t, iso, "nocasetrans")
	r2, _ := m2.Root()
	if got := dirNames(t, r2); strings.Join(got, ",") != "DATA.BIN,EMPTY,README.TXT,SUBDIR" {
		t.Errorf("nocasetrans names %q", got)
	}
	r2.Rele()
	// gens keeps the version.
	m3 := mountFile(t, iso, "gens")
	r3, _ := m3.Root()
	if got := dirNames(t, r3); !contains(got, "readme.txt;1") {
		t.Errorf("gens names %q", got)
	}
	r3.Rele()
}

func TestNoRRIPFallsBackToJoliet(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeFile(t, filepath.Join(src, "Some File.txt"), []byte("a"))
	os.Symlink("Some File.txt", filepath.Join(src, "link"))
	iso := filepath.Join(dir, "x.iso")
	mkiso(t, "xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-o", iso, src)
	m := mountFile(t, iso, "norrip")
	if m.rr || m.joliet == 0 {
		t.Fatalf("norrip: rr %v joliet %d", m.rr, m.joliet)
	}
	root, _ := m.Root()
	defer root.Rele()
	if got := dirNames(t, root); !contains(got, "Some File.txt") {
		t.Errorf("names %q", got)
	}
	m2 := mountFile(t, iso, "norrip,nojoliet")
	r2, _ := m2.Root()
	if got := dirNames(t, r2); !contains(got, "some_fil.txt") {
		t.Errorf("plain names %q", got)
	}
	r2.Rele()
}

func TestRRCaseIns(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeFile(t, filepath.Join(src, "CamelCase.txt"), []byte("a"))
	iso := filepath.Join(dir, "x.iso")
	mkiso(t, "xorriso", "-as", "mkisofs", "-quiet", "-R", "-o", iso, src)
	m := mountFile(t, iso, "")
	if _, err := lookupPath(t, m, "camelcase.TXT"); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("case-sensitive lookup: %v", err)
	}
	m2 := mountFile(t, iso, "rrcaseins")
	vn, err := lookupPath(t, m2, "camelcase.TXT")
	if err != nil {
		t.Fatalf("rrcaseins lookup: %v", err)
	}
	vn.Rele()
}

func TestOptions(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	plainTree(t, src)
	iso := filepath.Join(dir, "p.iso")
	mkiso(t, "xorriso", "-as", "mkisofs", "-quiet", "-R", "-o", iso, src)
	d := openDev(t, iso)
	_, err := FS{}.Mount(d, &vfs.MountArgs{Options: vfs.ParseOptions(nil, "rw")})
	if err == nil || err.Error() != "cd9660: read-only file system" || !errors.Is(err, syscall.EROFS) {
		t.Errorf("rw mount: %v", err)
	}
	_, err = FS{}.Mount(d, &vfs.MountArgs{Options: vfs.ParseOptions(nil, "ro,bogus,frob=1")})
	if err == nil || !strings.Contains(err.Error(), "bogus") || !strings.Contains(err.Error(), "frob") {
		t.Errorf("unknown options: %v", err)
	}
	m, err := FS{}.Mount(d, &vfs.MountArgs{ReadOnly: true, Options: vfs.ParseOptions(nil,
		"ro,noatime,nodev,nosuid,noexec,sync,async,extatt,maplcase,rrcaseins,gens")})
	if err != nil {
		t.Fatalf("generic options: %v", err)
	}
	if !m.ReadOnly() {
		t.Error("not read-only")
	}
	// gens is ignored with Rock Ridge, as NetBSD.
	if m.(*mnt).ftype != ftRRIP {
		t.Error("gens changed a Rock Ridge mount")
	}
	st, _ := m.Statfs()
	if st.Blocks == 0 || st.Bfree != 0 || st.Bsize != 2048 {
		t.Errorf("statfs %+v", st)
	}
	m.Unmount()
	if !(FS{}).Probe(d) {
		t.Error("probe refused an ISO")
	}
	if fs, ok := vfs.LookupFS("cd9660"); !ok || fs.Name() != "cd9660" {
		t.Error("not registered")
	}
}

func TestBigDirectory(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 1000
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	for i := 0; i < n; i++ {
		writeFile(t, filepath.Join(src, "many", fmt.Sprintf("file-with-a-longish-name-%05d.dat", i)), []byte(fmt.Sprint(i)))
	}
	iso := filepath.Join(dir, "x.iso")
	mkiso(t, "xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-o", iso, src)
	m := mountFile(t, iso, "")
	d, err := lookupPath(t, m, "many")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Rele()
	// Lookups of every name: one parse, then map hits.
	start := time.Now()
	for i := 0; i < n; i++ {
		vn, err := d.Lookup(fmt.Sprintf("file-with-a-longish-name-%05d.dat", i))
		if err != nil {
			t.Fatal(err)
		}
		if i%97 == 0 {
			if data, _ := readAll(vn); string(data) != fmt.Sprint(i) {
				t.Fatalf("file %d holds %q", i, data)
			}
		}
		vn.Rele()
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("%d lookups took %v", n, el)
	}
	// Listing resumes at any cookie.
	all := listDir(t, d)
	if len(all) != n+2 {
		t.Fatalf("listed %d entries", len(all))
	}
	for _, k := range []int{0, 1, 2, 3, n / 2, n + 1} {
		var got []string
		var cookie uint64
		if k > 0 {
			cookie = all[k-1].Next
		}
		d.Readdir(cookie, func(e vfs.Dirent) bool { got = append(got, e.Name); return true })
		if len(got) != n+2-k || got[0] != all[k].Name {
			t.Errorf("resume at %d: %d entries from %q", k, len(got), got[0])
		}
	}
}

func TestConcurrentReads(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	want := pattern(2<<20+77, 9)
	writeFile(t, filepath.Join(src, "f.bin"), want)
	iso := filepath.Join(dir, "x.iso")
	mkiso(t, "xorriso", "-as", "mkisofs", "-quiet", "-R", "-o", iso, src)
	m := mountFile(t, iso, "")
	vn, err := lookupPath(t, m, "f.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer vn.Rele()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			buf := make([]byte, 65536+g*1000)
			for off := int64(g * 4099); off < int64(len(want)); off += int64(len(buf)) {
				n, err := vn.Read(buf, off)
				if err != nil || string(buf[:n]) != string(want[off:off+int64(n)]) {
					t.Errorf("read at %d: %d %v", off, n, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	if n, err := vn.Read(make([]byte, 10), int64(len(want))); n != 0 || err != nil {
		t.Errorf("read at EOF: %d %v", n, err)
	}
}

// TestHuge checks a real multi-extent file over 4 GiB. xorriso writes
// the image to a pipe and the test stores it sparsely (zero runs become
// holes), so it costs little disk but about a minute of pipe traffic: it
// runs only with RUMPFS_BIG=1 outside -short (test/e2e's TestHugeFile
// covers the same through ukfs and FUSE in every CI run). The hand-made
// TestHandMultiExtent checks the chaining itself.
func TestHuge(t *testing.T) {
	if testing.Short() || os.Getenv("RUMPFS_BIG") != "1" {
		t.Skip("set RUMPFS_BIG=1 to build a 4.5 GiB sparse image")
	}
	needTool(t, "xorriso")
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	f, _ := os.Create(filepath.Join(src, "huge"))
	size := int64(4<<30 + 512<<20)
	f.Truncate(size)
	f.WriteAt([]byte("head"), 0)
	f.WriteAt([]byte("across"), 4<<30-2048-3) // the first extent ends at 4 GiB - 2048
	f.WriteAt([]byte("tail"), size-4)
	f.Close()
	writeFile(t, filepath.Join(src, "small"), []byte("small"))
	iso := filepath.Join(dir, "h.iso")
	writeSparse(t, iso, exec.Command("xorriso", "-as", "mkisofs", "-quiet", "-R", "-iso-level", "3", "-o", "-", src))
	m := mountFile(t, iso, "")
	vn, err := lookupPath(t, m, "huge")
	if err != nil {
		t.Fatal(err)
	}
	defer vn.Rele()
	a, _ := vn.Getattr()
	if a.Size != uint64(size) {
		t.Fatalf("size %d", a.Size)
	}
	if len(vn.(*node).ext) < 2 {
		t.Errorf("%d extents", len(vn.(*node).ext))
	}
	for off, want := range map[int64]string{0: "head", 4<<30 - 2048 - 3: "across", size - 4: "tail", 1 << 30: "\x00\x00"} {
		buf := make([]byte, len(want))
		if n, err := vn.Read(buf, off); n != len(want) || err != nil || string(buf) != want {
			t.Errorf("at %d: %d %v %q", off, n, err, buf)
		}
	}
	small, err := lookupPath(t, m, "small")
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := readAll(small); string(data) != "small" {
		t.Errorf("small: %q", data)
	}
	small.Rele()
}

// writeSparse runs cmd and stores its standard output in path, leaving
// holes for all-zero 64 KiB chunks.
func writeSparse(t *testing.T, path string, cmd *exec.Cmd) {
	t.Helper()
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	pipe, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	var off int64
	for {
		n, err := io.ReadFull(pipe, buf)
		if n > 0 {
			if !allZero(buf[:n]) {
				if _, werr := out.WriteAt(buf[:n], off); werr != nil {
					t.Fatal(werr)
				}
			}
			off += int64(n)
		}
		if err != nil {
			break
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, stderr.String())
	}
	out.Truncate(off)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func dirNames(t *testing.T, vn vfs.Vnode) []string {
	var names []string
	for _, e := range listDir(t, vn)[2:] {
		names = append(names, e.Name)
	}
	return names
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestGenisoimageJoliet(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeFile(t, filepath.Join(src, "Mixed Case Name.txt"), []byte("a"))
	writeFile(t, filepath.Join(src, "ünïcödé-日本語.txt"), []byte("utf8"))
	writeFile(t, filepath.Join(src, "sub dir/file"), pattern(5000, 2))
	iso := filepath.Join(dir, "j.iso")
	mkiso(t, "genisoimage", "-quiet", "-J", "-o", iso, src)
	compareTree(t, mountFile(t, iso, ""), src, false, false)
}
