package ninep

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hugelgupf/p9/p9"

	"github.com/rumpfs/rumpfs/dev"
	_ "github.com/rumpfs/rumpfs/fs/ext2fs"
	_ "github.com/rumpfs/rumpfs/fs/ffs"
	_ "github.com/rumpfs/rumpfs/fs/msdosfs"
	"github.com/rumpfs/rumpfs/internal/fixture"
	"github.com/rumpfs/rumpfs/kern"
	"github.com/rumpfs/rumpfs/vfs"
)

// The behaviour bodies every writable file system runs over 9P, as
// NetBSD's tests/fs/vfs runs one body against every file system: each
// gets a client attached to the export and a fresh directory of its own.
type body9p struct {
	name string
	run  func(t *testing.T, e *env9p, top string)
}

// env9p is one exported image.
type env9p struct {
	sock string
	root p9.File
}

// fs9p is a writable file system of the table: how to make an empty
// image with the format's own tool, which bodies it cannot run and why,
// its checker, and an independent reader of one file.
type fs9p struct {
	name     string
	fstype   string
	tools    []string
	mkfs     func(t *testing.T, img string)
	excluded map[string]string
	check    func(t *testing.T, img string)
	// cat reads a file (slash path from the root) with a reader that
	// shares no code with ours; nil when none can read the format here.
	cat func(t *testing.T, img, p string) []byte
}

// fatExcluded: what FAT cannot store (Microsoft's FAT specification;
// NetBSD msdosfs answers EOPNOTSUPP or ignores the change the same way).
var fatExcluded = map[string]string{
	"symlink":  "FAT has no symbolic links (msdosfs: EOPNOTSUPP)",
	"hardlink": "FAT has no hard links: a directory entry is the file",
	"chown":    "FAT stores no owners: every file belongs to the mount's -u/-g",
	"chmod":    "FAT keeps only a read-only attribute; permission bits come from the mount's -m/-M masks",
}

var fs9pTable = []fs9p{
	{
		name: "ext2", fstype: "ext2fs", tools: []string{"mkfs.ext2", "e2fsck", "debugfs"},
		mkfs:  func(t *testing.T, img string) { fixture.MkfsExt(t, img, "ext2", 32, "") },
		check: func(t *testing.T, img string) { fixture.E2fsck(t, img) },
		cat: func(t *testing.T, img, p string) []byte {
			return toolOut(t, "debugfs", "-R", "cat "+p, img)
		},
	},
	ffsCase("ffs-ufs1", "version=1", func(t *testing.T, img, p string) []byte {
		ino := strings.TrimSpace(string(toolOut(t, "ifind", "-f", "ufs1", "-n", p, img)))
		return toolOut(t, "icat", "-f", "ufs1", img, ino)
	}),
	// sleuthkit here does not recognise makefs's UFS2 superblock ("No
	// UFS Magic Found"): the checker is the only outside look.
	ffsCase("ffs-ufs2", "version=2", nil),
	{
		name: "msdos", fstype: "msdos", tools: []string{"mkfs.fat", "fsck.fat", "mtype"},
		mkfs:     func(t *testing.T, img string) { fixture.MkfsFAT(t, img, 32<<10, "-F", "16") },
		excluded: fatExcluded,
		check:    func(t *testing.T, img string) { fixture.FsckFAT(t, img) },
		cat: func(t *testing.T, img, p string) []byte {
			return toolOut(t, "mtype", "-i", img, "::"+p)
		},
	},
}

func ffsCase(name, version string, cat func(t *testing.T, img, p string) []byte) fs9p {
	tools := []string{"makefs"}
	if cat != nil {
		tools = append(tools, "ifind", "icat")
	}
	return fs9p{
		name: name, fstype: "ffs", tools: tools,
		mkfs: func(t *testing.T, img string) {
			empty := t.TempDir()
			// makefs leaves no free inodes unless told (-f).
			fixture.MakeFFS(t, img, empty, version, "le", "32m", "-f", "4000")
		},
		check: ffsCheck,
		cat:   cat,
	}
}

// ffsCheck runs rumpfs's own FFS checker (what `ukfs fsck -n` runs).
func ffsCheck(t *testing.T, img string) {
	t.Helper()
	fsys, ok := vfs.LookupFS("ffs")
	ck, ok2 := fsys.(vfs.Checker)
	if !ok || !ok2 {
		t.Fatal("ffs has no checker registered")
	}
	d, err := dev.Open(img, true)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var out bytes.Buffer
	if clean, err := ck.Check(d, &out); err != nil || !clean {
		t.Errorf("ffs check after 9P writes: clean=%v err=%v\n%s", clean, err, out.String())
	}
}

func toolOut(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

var bodies9p = []body9p{
	{"files", bodyFiles},
	{"symlink", bodySymlink},
	{"hardlink", bodyHardlink},
	{"rename", bodyRename},
	{"remove", bodyRemove},
	{"truncate", bodyTruncate},
	{"chmod", bodyChmod},
	{"chown", bodyChown},
	{"mtime", bodyMtime},
	{"readdir", bodyReaddir},
	{"concurrent", bodyConcurrent},
}

// fileSizes are awkward sizes: empty, one byte, within a block, just
// past one, across many.
var fileSizes = []int{0, 1, 1000, 4097, 70000}

func writeFiles(t testing.TB, root p9.File, top string) {
	mkdir(t, root, top+"/d")
	mkdir(t, root, top+"/d/e")
	for i, n := range fileSizes {
		writeFile(t, root, fmt.Sprintf("%s/d/f%d", top, i), pattern(fmt.Sprint(top, i), n), 0644)
	}
	writeFile(t, root, top+"/d/e/deep", []byte("deep "+top), 0600)
}

func checkFiles(t testing.TB, root p9.File, top string) {
	t.Helper()
	if got, want := list(t, root, top+"/d"), "[e f0 f1 f2 f3 f4]"; fmt.Sprint(got) != want {
		t.Errorf("%s/d: %v, want %s", top, got, want)
	}
	for i, n := range fileSizes {
		p := fmt.Sprintf("%s/d/f%d", top, i)
		if got := readFile(t, root, p); !bytes.Equal(got, pattern(fmt.Sprint(top, i), n)) {
			t.Errorf("%s: %d bytes differ from the %d written", p, len(got), n)
		}
	}
	if got := string(readFile(t, root, top+"/d/e/deep")); got != "deep "+top {
		t.Errorf("deep: %q", got)
	}
}

func bodyFiles(t *testing.T, e *env9p, top string) {
	writeFiles(t, e.root, top)
	checkFiles(t, e.root, top)
}

func getattr(t testing.TB, root p9.File, p string) p9.Attr {
	t.Helper()
	f, err := walkTo(root, p)
	if err != nil {
		t.Fatalf("walk %s: %v", p, err)
	}
	defer f.Close()
	_, _, a, err := f.GetAttr(p9.AttrMaskAll)
	if err != nil {
		t.Fatalf("getattr %s: %v", p, err)
	}
	return a
}

func bodySymlink(t *testing.T, e *env9p, top string) {
	writeFile(t, e.root, top+"/target", []byte("t"), 0644)
	d, _ := walkTo(e.root, top)
	defer d.Close()
	if _, err := d.Symlink("target", "sym", p9.NoUID, p9.NoGID); err != nil {
		t.Fatalf("symlink: %v", err)
	}
	long := strings.Repeat("x/", 100) + "end" // past the inode's inline room
	if _, err := d.Symlink(long, "long", p9.NoUID, p9.NoGID); err != nil {
		t.Fatalf("symlink (long): %v", err)
	}
	for name, want := range map[string]string{"sym": "target", "long": long} {
		s, err := walkTo(e.root, top+"/"+name)
		if err != nil {
			t.Fatal(err)
		}
		if l, err := s.Readlink(); err != nil || l != want {
			t.Errorf("readlink %s: %q %v", name, l, err)
		}
		s.Close()
		if a := getattr(t, e.root, top+"/"+name); !a.Mode.IsSymlink() || a.Size != uint64(len(want)) {
			t.Errorf("%s: mode %v size %d", name, a.Mode, a.Size)
		}
	}
}

func bodyHardlink(t *testing.T, e *env9p, top string) {
	writeFile(t, e.root, top+"/a", pattern("a", 5000), 0644)
	d, _ := walkTo(e.root, top)
	defer d.Close()
	a, _ := walkTo(e.root, top+"/a")
	if err := d.Link(a, "b"); err != nil {
		t.Fatalf("link: %v", err)
	}
	a.Close()
	if at := getattr(t, e.root, top+"/b"); at.NLink != 2 {
		t.Errorf("nlink after link: %d", at.NLink)
	}
	if err := d.UnlinkAt("a", 0); err != nil {
		t.Fatal(err)
	}
	if at := getattr(t, e.root, top+"/b"); at.NLink != 1 {
		t.Errorf("nlink after unlinking the first name: %d", at.NLink)
	}
	if got := readFile(t, e.root, top+"/b"); !bytes.Equal(got, pattern("a", 5000)) {
		t.Errorf("content through the second name differs")
	}
}

func bodyRename(t *testing.T, e *env9p, top string) {
	mkdir(t, e.root, top+"/x")
	mkdir(t, e.root, top+"/y")
	writeFile(t, e.root, top+"/x/a", []byte("a"), 0644)
	writeFile(t, e.root, top+"/x/b", []byte("b"), 0644)
	writeFile(t, e.root, top+"/y/c", []byte("c"), 0644)
	x, _ := walkTo(e.root, top+"/x")
	defer x.Close()
	y, _ := walkTo(e.root, top+"/y")
	defer y.Close()
	if err := x.RenameAt("a", x, "a2"); err != nil {
		t.Fatalf("rename in a directory: %v", err)
	}
	if err := x.RenameAt("b", y, "b"); err != nil {
		t.Fatalf("rename across directories: %v", err)
	}
	if err := y.RenameAt("b", y, "c"); err != nil { // replaces c
		t.Fatalf("rename over a file: %v", err)
	}
	if err := e.root.RenameAt(top+"x", e.root, "nothing"); !isErr(err, syscall.ENOENT) && err != nil {
		t.Errorf("rename of a missing name: %v", err)
	}
	if got := fmt.Sprint(list(t, e.root, top+"/x"), list(t, e.root, top+"/y")); got != "[a2] [c]" {
		t.Errorf("after renames: %s", got)
	}
	if got := string(readFile(t, e.root, top+"/y/c")); got != "b" {
		t.Errorf("y/c holds %q, want the renamed b", got)
	}
	// A directory moves with its contents.
	if err := e.root.RenameAt(top, e.root, top+"-moved"); err != nil {
		t.Fatalf("rename of a directory: %v", err)
	}
	if got := string(readFile(t, e.root, top+"-moved/x/a2")); got != "a" {
		t.Errorf("after moving the directory: %q", got)
	}
}

func bodyRemove(t *testing.T, e *env9p, top string) {
	mkdir(t, e.root, top+"/d")
	writeFile(t, e.root, top+"/d/f", pattern("f", 20000), 0644)
	d, _ := walkTo(e.root, top)
	defer d.Close()
	if err := d.UnlinkAt("d", atRemoveDir); !isErr(err, syscall.ENOTEMPTY) && !isErr(err, syscall.EEXIST) {
		t.Errorf("rmdir of a non-empty directory: %v, want ENOTEMPTY", err)
	}
	if err := d.UnlinkAt("d", 0); err == nil {
		t.Errorf("unlink of a directory succeeded")
	}
	dd, _ := walkTo(e.root, top+"/d")
	if err := dd.UnlinkAt("f", 0); err != nil {
		t.Fatal(err)
	}
	dd.Close()
	if err := d.UnlinkAt("d", atRemoveDir); err != nil {
		t.Fatalf("rmdir: %v", err)
	}
	if _, err := walkTo(e.root, top+"/d"); !isErr(err, syscall.ENOENT) {
		t.Errorf("walk to the removed directory: %v, want ENOENT", err)
	}
}

func setattr(t testing.TB, root p9.File, p string, v p9.SetAttrMask, a p9.SetAttr) error {
	t.Helper()
	f, err := walkTo(root, p)
	if err != nil {
		t.Fatalf("walk %s: %v", p, err)
	}
	defer f.Close()
	return f.SetAttr(v, a)
}

func bodyTruncate(t *testing.T, e *env9p, top string) {
	data := pattern("t", 10000)
	writeFile(t, e.root, top+"/f", data, 0644)
	if err := setattr(t, e.root, top+"/f", p9.SetAttrMask{Size: true}, p9.SetAttr{Size: 3000}); err != nil {
		t.Fatalf("truncate down: %v", err)
	}
	if err := setattr(t, e.root, top+"/f", p9.SetAttrMask{Size: true}, p9.SetAttr{Size: 80000}); err != nil {
		t.Fatalf("truncate up: %v", err)
	}
	want := append(append([]byte(nil), data[:3000]...), make([]byte, 77000)...)
	if got := readFile(t, e.root, top+"/f"); !bytes.Equal(got, want) {
		t.Errorf("after truncating to 3000 and growing to 80000: %d bytes, not the first 3000 then zeros", len(got))
	}
}

func bodyChmod(t *testing.T, e *env9p, top string) {
	writeFile(t, e.root, top+"/f", nil, 0644)
	if err := setattr(t, e.root, top+"/f", p9.SetAttrMask{Permissions: true}, p9.SetAttr{Permissions: 0751}); err != nil {
		t.Fatal(err)
	}
	if a := getattr(t, e.root, top+"/f"); a.Mode.Permissions() != 0751 {
		t.Errorf("mode %o, want 0751", a.Mode.Permissions())
	}
}

func bodyChown(t *testing.T, e *env9p, top string) {
	writeFile(t, e.root, top+"/f", nil, 0644)
	if err := setattr(t, e.root, top+"/f", p9.SetAttrMask{UID: true, GID: true}, p9.SetAttr{UID: 1234, GID: 5678}); err != nil {
		t.Fatal(err)
	}
	if a := getattr(t, e.root, top+"/f"); a.UID != 1234 || a.GID != 5678 {
		t.Errorf("owner %d:%d, want 1234:5678", a.UID, a.GID)
	}
}

func bodyMtime(t *testing.T, e *env9p, top string) {
	writeFile(t, e.root, top+"/f", []byte("x"), 0644)
	// An even second: FAT keeps modification times in 2-second steps.
	want := time.Date(2020, 1, 2, 3, 4, 6, 0, time.UTC)
	err := setattr(t, e.root, top+"/f", p9.SetAttrMask{MTime: true, MTimeNotSystemTime: true},
		p9.SetAttr{MTimeSeconds: uint64(want.Unix())})
	if err != nil {
		t.Fatal(err)
	}
	if a := getattr(t, e.root, top+"/f"); a.MTimeSeconds != uint64(want.Unix()) {
		t.Errorf("mtime %v, want %v", time.Unix(int64(a.MTimeSeconds), 0).UTC(), want)
	}
}

func bodyReaddir(t *testing.T, e *env9p, top string) {
	mkdir(t, e.root, top+"/many")
	for i := 0; i < 150; i++ {
		writeFile(t, e.root, fmt.Sprintf("%s/many/name-%03d", top, i), nil, 0644)
	}
	d, _ := walkTo(e.root, top+"/many")
	defer d.Close()
	if _, _, err := d.Open(p9.ReadOnly); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	var off uint64
	for {
		ents, err := d.Readdir(off, 300) // a few entries per call
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) == 0 {
			break
		}
		for _, en := range ents {
			seen[en.Name]++
			off = en.Offset
		}
	}
	for i := 0; i < 150; i++ {
		if n := seen[fmt.Sprintf("name-%03d", i)]; n != 1 {
			t.Errorf("name-%03d listed %d times", i, n)
		}
	}
}

// bodyConcurrent: eight clients at once each write and read back a tree
// (the export serialises changes with one writer lock; reads share it).
func bodyConcurrent(t *testing.T, e *env9p, top string) {
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, root, _ := dial(t, e.sock)
			defer c.Close()
			defer root.Close()
			sub := fmt.Sprintf("%s/c%d", top, i)
			mkdir(t, root, sub)
			writeFiles(t, root, sub)
			checkFiles(t, root, sub)
		}(i)
	}
	wg.Wait()
}

// Every writable file system runs the same bodies over 9P; each
// exclusion is named with its reason. After the writes, the format's own
// checker finds nothing, and an independent reader reads back a file
// written through 9P.
func TestSharedBodies9P(t *testing.T) {
	for _, fc := range fs9pTable {
		t.Run(fc.name, func(t *testing.T) {
			fixture.Require(t, fc.tools...)
			img := filepath.Join(t.TempDir(), fc.name+".img")
			fc.mkfs(t, img)
			mp, err := kern.New().Mount(img, fc.fstype, vfs.Options{})
			if err != nil {
				t.Fatal(err)
			}
			sock := filepath.Join(t.TempDir(), "s")
			// Whoever runs the test works as root on the export, so
			// that chown and the root directory's permissions do not
			// depend on it.
			opts := Options{UIDMap: map[uint32]uint32{uint32(os.Getuid()): 0}, GIDMap: map[uint32]uint32{uint32(os.Getgid()): 0}}
			stop := exportMount(t, mp, sock, opts)
			c, root, _ := dial(t, sock)
			e := &env9p{sock: sock, root: root}
			for _, b := range bodies9p {
				t.Run(b.name, func(t *testing.T) {
					if why, ok := fc.excluded[b.name]; ok {
						t.Skip(why)
					}
					mkdir(t, root, b.name)
					b.run(t, e, b.name)
				})
			}
			root.Close()
			c.Close()
			stop()
			fc.check(t, img)
			if fc.cat != nil {
				if got := fc.cat(t, img, "/files/d/f4"); !bytes.Equal(got, pattern("files4", 70000)) {
					t.Errorf("independent reader: /files/d/f4 is %d bytes, not the 70000 written over 9P", len(got))
				}
			}
		})
	}
}
