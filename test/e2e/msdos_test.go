package e2e

// End-to-end proofs of rump_msdos and of FAT through ukfs (issue 4, "How it
// is proven"): images made by mkfs.fat -F 12|16|32 with 512- and 4096-byte
// sectors and several cluster sizes, filled by mcopy -s from trees the
// test writes; read through the real daemon in a subprocess and through
// ukfs, checked against the source tree and mdir; written through the
// mount and then checked by fsck.fat -n and by extracting the volume again
// with mcopy -s; the mount_msdos options; go-fuse's posixtest.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"golang.org/x/sys/unix"

	_ "github.com/rumpfs/rumpfs/fs/msdosfs" // registers msdos for ukfs
	"github.com/rumpfs/rumpfs/internal/fixture"
	"github.com/rumpfs/rumpfs/internal/treetest"
	"github.com/rumpfs/rumpfs/ukfs"
)

const msdosDaemon = "rump_msdos"

// fatTime is FAT's modification-time resolution.
const fatTime = 2 * time.Second

// fatFixture is a FAT image built once per test process by mkfs.fat and
// mcopy -s from a tree the test writes. Tests work on copies of it.
type fatFixture struct {
	name    string
	sizeKiB int64
	mkfs    []string // mkfs.fat arguments
	tree    func() *treetest.Tree

	once    sync.Once
	img     string
	written *treetest.Tree
	failed  string
}

// Build returns the pristine image and the tree as written.
func (f *fatFixture) Build(t *testing.T) (string, *treetest.Tree) {
	t.Helper()
	fixture.Require(t, "mkfs.fat", "mcopy", "mdir", "fsck.fat")
	f.once.Do(func() {
		f.failed = "building the fixture failed in an earlier test"
		src := filepath.Join(workDir, f.name+".src")
		if err := os.Mkdir(src, 0755); err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(src)
		written := treetest.Write(t, src, f.tree())
		img := filepath.Join(workDir, f.name+".img")
		start := time.Now()
		fixture.MkfsFAT(t, img, f.sizeKiB, f.mkfs...)
		fixture.MCopyIn(t, img, src)
		t.Logf("built %s (mkfs.fat %s, %d KiB) and filled it with mcopy -s in %v",
			filepath.Base(img), strings.Join(f.mkfs, " "), f.sizeKiB, time.Since(start).Round(time.Millisecond))
		f.img, f.written, f.failed = img, written, ""
	})
	if f.failed != "" {
		t.Fatal(f.failed)
	}
	return f.img, f.written
}

// Copy returns a private sparse copy of the fixture's image.
func (f *fatFixture) Copy(t *testing.T) (string, *treetest.Tree) {
	t.Helper()
	img, tree := f.Build(t)
	return copyImage(t, img), tree
}

func copyImage(t *testing.T, img string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(img))
	fixture.Run(t, "cp", "--sparse=always", img, dst)
	return dst
}

// manyEntries is the size of the big directory of the FAT32 fixture.
func manyEntries() int {
	if testing.Short() {
		return 500
	}
	return 5000
}

// fatTree is the test tree for FAT: treetest.Standard for a format with
// long UTF-8 names (within the BMP: mtools drops characters outside it) and
// no symlinks, hard links or devices, plus what FAT's names make
// interesting: 8.3 names in every case combination (upper, lower — which
// mtools stores with the NT lower-case flags — and mixed), names that do
// not fit 8.3, names that share a short-name stem (numeric tails past ~9),
// and names that differ only in case, each in its own directory.
func fatTree(many int, large int64) *treetest.Tree {
	t := treetest.Standard(treetest.Caps{NameMax: 255, Depth: 10, UTF8: true, Many: many, Large: large})
	s := treetest.String
	t.File("case/a/Name.txt", s("Name\n"))
	t.File("case/b/NAME.TXT", s("NAME\n"))
	t.File("case/c/name.txt", s("name\n"))
	t.Dir("case/d/MiXeD")
	for _, n := range []string{"README.TXT", "lower.txt", "UPPER", "x.y", "12345678.123", "lowbase.TXT", "UPBASE.txt", "Mixed.Txt"} {
		t.File("names83/"+n, s(n+"\n"))
	}
	for _, n := range []string{"123456789.txt", "a.b.c", "index.html", "with+plus", "[brackets]", "equals=sign", "comma,name", "  lead", "ends.with.dots..x"} {
		t.File("long/"+n, s(n+"\n"))
	}
	for i := 1; i <= 12; i++ {
		t.File(fmt.Sprintf("tails/Long File Name %d.txt", i), s(fmt.Sprint(i)))
	}
	t.File("utf8/"+strings.Repeat("ü", 120)+".txt", s("120 umlauts\n"))
	t.File("utf8/中文目录/文件名.txt", s("chinese\n"))
	return t
}

var (
	// FAT12, 512-byte sectors, 2 KiB clusters.
	fxFAT12 = &fatFixture{name: "fat12-512-2k", sizeKiB: 6 << 10, mkfs: []string{"-F", "12", "-S", "512", "-s", "4"},
		tree: func() *treetest.Tree { return fatTree(300, 1<<20+5) }}
	// FAT12 with 4096-byte sectors and clusters.
	fxFAT12Big = &fatFixture{name: "fat12-4096-4k", sizeKiB: 12 << 10, mkfs: []string{"-F", "12", "-S", "4096", "-s", "1"},
		tree: func() *treetest.Tree { return fatTree(300, 1<<20+7) }}
	// FAT16, 512-byte sectors, 2 KiB clusters.
	fxFAT16 = &fatFixture{name: "fat16-512-2k", sizeKiB: 32 << 10, mkfs: []string{"-F", "16", "-S", "512", "-s", "4"},
		tree: func() *treetest.Tree { return fatTree(1000, 3<<20+1) }}
	// FAT16 with 4096-byte sectors and 64 KiB clusters (the largest).
	fxFAT16Huge = &fatFixture{name: "fat16-4096-64k", sizeKiB: 300 << 10, mkfs: []string{"-F", "16", "-S", "4096", "-s", "16"},
		tree: func() *treetest.Tree { return fatTree(300, 2<<20+9) }}
	// FAT32, 1 KiB clusters: the 5,000-entry directory and 8 MiB file.
	// (Not 512-byte clusters: mcopy cannot add a 255-character name, 22
	// slots, where the directory must grow by two clusters — "No
	// directory slots". Those are proven by TestMsdosWrite.)
	fxFAT32 = &fatFixture{name: "fat32-512-1k", sizeKiB: 80 << 10, mkfs: []string{"-F", "32", "-S", "512", "-s", "2"},
		tree: func() *treetest.Tree { return fatTree(manyEntries(), 8<<20+123) }}
	// FAT32 with 4096-byte sectors and clusters.
	fxFAT32Big = &fatFixture{name: "fat32-4096-4k", sizeKiB: 270 << 10, mkfs: []string{"-F", "32", "-S", "4096", "-s", "1"},
		tree: func() *treetest.Tree { return fatTree(1000, 4<<20+3) }}
)

func fatFixtures() []*fatFixture {
	return []*fatFixture{fxFAT12, fxFAT12Big, fxFAT16, fxFAT16Huge, fxFAT32, fxFAT32Big}
}

// fatOpts is what Compare checks on FAT: no symlinks, hard links, devices,
// owners or modes of its own — every file shows uid, gid and the file or
// directory mask of the mount, less the write bits when the read-only
// attribute is set (readOnly says for which entries) — and 2 s mtimes.
func fatOpts(uid, gid, mask, dirmask uint32, readOnly func(e *treetest.Entry) bool) treetest.Options {
	return treetest.Options{
		MtimeRes: fatTime,
		Expect: func(e *treetest.Entry, w *treetest.Stat) {
			w.Uid, w.Gid = uid, gid
			perm := mask
			if e.Type == treetest.Dir {
				perm = dirmask
			} else if readOnly != nil && readOnly(e) {
				perm &^= 0222
			}
			w.Mode = w.Mode&unix.S_IFMT | perm
		},
	}
}

// hostOpts compares a host directory extracted by mcopy: names, sizes,
// contents and mtimes only.
var hostOpts = treetest.Options{NoPerm: true, NoOwner: true, MtimeRes: fatTime}

// fatMount mounts img with rump_msdos, as root, owner 0:0 and mask 755
// unless flags say otherwise.
func fatMount(t *testing.T, img string, flags ...string) *fixture.Mounted {
	t.Helper()
	fixture.RequireRoot(t)
	fixture.RequireFUSE(t)
	return fixture.Mount(t, msdosDaemon, img, flags...)
}

func fatUkfs(t *testing.T, img string, ro bool, opts string) *ukfs.FS {
	t.Helper()
	var o []ukfs.Option
	if ro {
		o = append(o, ukfs.ReadOnly())
	}
	if opts != "" {
		o = append(o, ukfs.Options(opts))
	}
	fsys, err := ukfs.Mount(img, o...)
	if err != nil {
		t.Fatalf("ukfs.Mount(%s): %v", img, err)
	}
	if fsys.Type() != "msdos" {
		t.Errorf("ukfs probed %s as %q, want msdos", img, fsys.Type())
	}
	t.Cleanup(func() { fsys.Unmount() })
	return fsys
}

// viewPaths lists the paths the view of tree should show in mdir -b form
// (directories end in "/").
func viewPaths(tree *treetest.Tree) []string {
	var out []string
	for _, e := range tree.Entries {
		p := e.Path
		if e.Type == treetest.Dir {
			p += "/"
		}
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// sameList compares two lists of names. Names with non-ASCII letters are
// compared without case: mdir -b lower-cases only the ASCII letters of a
// short name flagged lower-case ("ünïcødé.txt", which mtools itself stored
// as the short name ÜNÏCØDÉ.TXT with the NT flags, lists as "ÜnÏcØdÉ.txt";
// its long listing, Windows and Linux show "ünïcødé.txt").
func sameList(t *testing.T, what string, got, want []string) {
	t.Helper()
	key := func(s string) string {
		for _, r := range s {
			if r >= 0x80 {
				return strings.ToLower(s)
			}
		}
		return s
	}
	g := map[string]bool{}
	for _, p := range got {
		g[key(p)] = true
	}
	w := map[string]bool{}
	for _, p := range want {
		w[key(p)] = true
	}
	var diffs []string
	for _, p := range want {
		if !g[key(p)] {
			diffs = append(diffs, "missing "+p)
		}
	}
	for _, p := range got {
		if !w[key(p)] {
			diffs = append(diffs, "unexpected "+p)
		}
	}
	if len(diffs) > 20 {
		diffs = append(diffs[:20], fmt.Sprintf("... and %d more", len(diffs)-20))
	}
	if len(diffs) > 0 {
		t.Errorf("%s:\n\t%s", what, strings.Join(diffs, "\n\t"))
	}
}

// TestMsdosRead: each fixture agrees with its source tree and with mdir
// through a rump_msdos mount (rw: reading updates access dates, and the
// volume must be clean for fsck.fat after the unmount) and through ukfs,
// and the two agree on inode numbers.
func TestMsdosRead(t *testing.T) {
	for _, f := range fatFixtures() {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			img, tree := f.Copy(t)
			sameList(t, "mdir -/ against the source tree", fixture.MDir(t, img), viewPaths(tree))

			var fuseInos map[string]uint64
			if fixture.CI() || (isRoot() && canFUSE()) {
				start := time.Now()
				m := fatMount(t, img, "-u", "4321", "-g", "8765", "-m", "0750")
				fuseInos = treetest.Compare(t, treetest.HostView(m.Dir), tree, fatOpts(4321, 8765, 0750, 0750, nil))
				t.Logf("FUSE compare: %v", time.Since(start))
				treetest.SameInodes(t, "ls -i against lstat", fuseInos, lsInodes(t, m.Dir))
				t.Logf("ls -i: %v", time.Since(start))
				if code := m.Unmount(t); code != 0 {
					t.Errorf("rump_msdos exited %d after unmount", code)
				}
				fixture.FsckFAT(t, img)
			}

			start := time.Now()
			fsys := fatUkfs(t, img, true, "uid=4321,gid=8765,mask=750")
			inos := treetest.Compare(t, treetest.FSView(fsys), tree, fatOpts(4321, 8765, 0750, 0750, nil))
			t.Logf("ukfs compare: %v", time.Since(start))
			if fuseInos != nil {
				treetest.SameInodes(t, "ukfs against FUSE", inos, fuseInos)
			}
		})
	}
}

// TestMsdosUkfsFSTest runs testing/fstest.TestFS over a FAT fixture
// through ukfs, without FUSE or root.
func TestMsdosUkfsFSTest(t *testing.T) {
	for _, f := range []*fatFixture{fxFAT16, fxFAT32} {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			img, tree := f.Copy(t)
			fsys := fatUkfs(t, img, true, "")
			// TestFS reads every file several times and checks
			// directories quadratically: the many-entry directory and the
			// large file are proven by Compare instead.
			hide := map[string]bool{"many": true, "large.bin": true}
			var expect []string
			for _, e := range tree.Entries {
				if !hide[e.Path] && !strings.HasPrefix(e.Path, "many/") && strings.Count(e.Path, "/") < 2 {
					expect = append(expect, e.Path)
				}
			}
			if err := fstest.TestFS(hidingFS{fsys, hide}, expect...); err != nil {
				t.Error(err)
			}
		})
	}
}

// model is the expected content of a volume while a test changes it.
type model struct {
	ents map[string]*treetest.Entry
}

func newModel(tree *treetest.Tree) *model {
	m := &model{ents: map[string]*treetest.Entry{}}
	for _, e := range tree.Entries {
		ne := *e
		m.ents[e.Path] = &ne
	}
	return m
}

// tree returns the model as a Tree, parents first.
func (m *model) tree() *treetest.Tree {
	ps := make([]string, 0, len(m.ents))
	for p := range m.ents {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool {
		di, dj := treetest.Depth(ps[i]), treetest.Depth(ps[j])
		if di != dj {
			return di < dj
		}
		return ps[i] < ps[j]
	})
	t := treetest.New()
	for _, p := range ps {
		t.Add(*m.ents[p])
	}
	return t
}

// rename moves old (and everything under it) to new.
func (m *model) rename(old, new string) {
	for p, e := range m.ents {
		if p == old || strings.HasPrefix(p, old+"/") {
			delete(m.ents, p)
			e.Path = new + strings.TrimPrefix(p, old)
			m.ents[e.Path] = e
		}
	}
}

// remove drops p and everything under it.
func (m *model) remove(p string) {
	for q := range m.ents {
		if q == p || strings.HasPrefix(q, p+"/") {
			delete(m.ents, q)
		}
	}
}

func (m *model) data(t *testing.T, p string) []byte {
	t.Helper()
	e := m.ents[p]
	if e == nil || e.Type != treetest.File {
		t.Fatalf("model: no file %s", p)
	}
	if e.Data == nil {
		return nil
	}
	b := make([]byte, e.Data.Size())
	if _, err := e.Data.ReadAt(b, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	return b
}

func (m *model) set(p string, b []byte, mtime time.Time) {
	e := m.ents[p]
	if e == nil {
		e = &treetest.Entry{Path: p, Type: treetest.File}
		m.ents[p] = e
	}
	e.Data, e.Mtime = treetest.Bytes(b), mtime
}

// writeTree is what TestMsdosWrite copies in: the FAT tree owned by root
// (chown to anyone but the mount's owner is refused, as in NetBSD), plus a
// name outside the BMP, which only mtools cannot handle.
func writeTree(many int, large int64) *treetest.Tree {
	t := fatTree(many, large)
	t.File("astral/emoji-😀.txt", treetest.String("surrogate pair\n"))
	for _, e := range t.Entries {
		e.Uid, e.Gid = 0, 0
	}
	return t
}

// mtoolsName is the name mcopy extracts for a long name: mtools does not
// decode surrogate pairs and writes '_' for each of the two units of a
// character outside the BMP.
func mtoolsName(name string, dir bool) string {
	var b strings.Builder
	for _, r := range name {
		if r > 0xFFFF {
			b.WriteString("__")
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isReadOnly: files written with no owner write bit get the read-only
// attribute.
func isReadOnly(e *treetest.Entry) bool { return e.Type == treetest.File && e.EffPerm()&0200 == 0 }

// stamp is the mtime the write test gives every file it changes, so the
// model knows it.
var stamp = time.Date(2024, 2, 29, 12, 0, 0, 0, time.Local)

// TestMsdosWrite copies a tree into an empty volume through rump_msdos
// (treetest.Write: create, write, chmod, utimes; and cp -r), then renames
// (within and across directories, directories, over an existing file, by
// case), deletes, truncates down and up, appends, overwrites in place,
// makes and removes directories; compares the mount, then unmounts and
// requires fsck.fat -n to find nothing and mcopy -s to extract exactly the
// expected tree, and a remount to show it again.
func TestMsdosWrite(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sizeKiB int64
		mkfs    []string
		many    int
	}{
		{"fat12-4096", 12 << 10, []string{"-F", "12", "-S", "4096", "-s", "1"}, 200},
		{"fat16-512", 32 << 10, []string{"-F", "16", "-S", "512", "-s", "4"}, 600},
		{"fat32-512", 64 << 10, []string{"-F", "32", "-S", "512", "-s", "1"}, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fixture.Require(t, "mkfs.fat", "mcopy", "mdir", "fsck.fat")
			testStart := time.Now()
			img := filepath.Join(t.TempDir(), tc.name+".img")
			fixture.MkfsFAT(t, img, tc.sizeKiB, tc.mkfs...)
			m := fatMount(t, img, "-u", "0", "-g", "0", "-m", "755")
			mnt := m.Dir
			p := func(n string) string { return filepath.Join(mnt, filepath.FromSlash(n)) }

			// Copy in with Go code ...
			written := treetest.Write(t, mnt, writeTree(tc.many, 1<<20+17))
			md := newModel(written)
			// ... and with cp -r from a host tree.
			src := filepath.Join(t.TempDir(), "cpsrc")
			os.Mkdir(src, 0755)
			cpTree := treetest.New()
			for i := 0; i < 50; i++ {
				cpTree.File(fmt.Sprintf("cp/Datei Nummer %02d.dat", i), treetest.Pattern{N: int64(i * 997), Seed: uint64(i)})
			}
			cpTree.File("cp/sub/deeper/x", treetest.String("x\n"))
			cpWritten := treetest.Write(t, src, cpTree)
			fixture.Run(t, "cp", "-r", "--preserve=timestamps", filepath.Join(src, "cp"), mnt+"/")
			for _, e := range cpWritten.Entries {
				ne := *e
				ne.Uid, ne.Gid = 0, 0
				md.ents[e.Path] = &ne
			}

			must := func(what string, err error) {
				t.Helper()
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
			}
			touch := func(n string) { must("utimes "+n, os.Chtimes(p(n), stamp, stamp)) }
			// Renames.
			must("rename within a directory", os.Rename(p("a"), p("a-renamed")))
			md.rename("a", "a-renamed")
			must("rename across directories", os.Rename(p("small.txt"), p("dir/sub/small.txt")))
			md.rename("small.txt", "dir/sub/small.txt")
			must("rename a directory across directories", os.Rename(p("deep/d02"), p("emptydir/moved")))
			md.rename("deep/d02", "emptydir/moved")
			must("rename over an existing file", os.Rename(p("exec"), p("secret")))
			md.remove("secret")
			md.rename("exec", "secret")
			must("rename 8.3 to long", os.Rename(p("names83/UPPER"), p("names83/Now a long name")))
			md.rename("names83/UPPER", "names83/Now a long name")
			must("rename long to 8.3", os.Rename(p("long/index.html"), p("long/INDEX.HTM")))
			md.rename("long/index.html", "long/INDEX.HTM")
			// A case-only change: rename(2) of one name of a file to another
			// name of the same file is a no-op in the Linux VFS (vfs_rename
			// returns 0 when source and target are one inode, as they are
			// on a case-insensitive file system), so coreutils' mv, like
			// on Linux's own vfat, goes through a temporary name.
			must("case rename, step 1", os.Rename(p("MixedCase.TXT"), p("mixedcase.tmp")))
			must("case rename, step 2", os.Rename(p("mixedcase.tmp"), p("MIXEDCASE.txt")))
			md.rename("MixedCase.TXT", "MIXEDCASE.txt")
			must("case rename of a directory, step 1", os.Rename(p("case/d/MiXeD"), p("case/d/tmp")))
			must("case rename of a directory, step 2", os.Rename(p("case/d/tmp"), p("case/d/mixed")))
			md.rename("case/d/MiXeD", "case/d/mixed")

			// A file made in the slot a renamed file left takes its
			// inode number; the mount must still tell the two apart (it
			// once served both as one file).
			must("write", os.WriteFile(p("reuse-a"), []byte("A"), 0644))
			must("rename", os.Rename(p("reuse-a"), p("reuse-b")))
			must("write", os.WriteFile(p("reuse-c"), []byte("C"), 0644))
			for n, want := range map[string]string{"reuse-b": "A", "reuse-c": "C"} {
				if b, err := os.ReadFile(p(n)); err != nil || string(b) != want {
					t.Errorf("%s after a rename freed its slot: %q %v, want %q", n, b, err, want)
				}
				touch(n)
				md.set(n, []byte(want), stamp)
			}

			// Deletes.
			must("unlink", os.Remove(p("frac")))
			md.remove("frac")
			for i := 0; i < tc.many; i += 3 {
				n := fmt.Sprintf("many/f%04d", i)
				must("unlink", os.Remove(p(n)))
				md.remove(n)
			}
			must("rm -r", os.RemoveAll(p("sticky")))
			md.remove("sticky")
			if err := os.Remove(p("dir")); !errors.Is(err, syscall.ENOTEMPTY) && !errors.Is(err, syscall.EEXIST) {
				t.Errorf("rmdir of a non-empty directory: %v, want ENOTEMPTY", err)
			}

			// Truncates, appends, overwrites.
			b := md.data(t, "blocks.bin")[:1000]
			must("truncate down", os.Truncate(p("blocks.bin"), 1000))
			touch("blocks.bin")
			md.set("blocks.bin", b, stamp)
			b = append(md.data(t, "odd.bin"), make([]byte, 100000-2049)...)
			must("truncate up", os.Truncate(p("odd.bin"), 100000))
			touch("odd.bin")
			md.set("odd.bin", b, stamp)
			must("truncate to 0", os.Truncate(p("future"), 0))
			touch("future")
			md.set("future", nil, stamp)
			appendTo := func(n string, data []byte) {
				f, err := os.OpenFile(p(n), os.O_WRONLY|os.O_APPEND, 0)
				must("open for append", err)
				_, err = f.Write(data)
				must("append", err)
				must("close", f.Close())
				touch(n)
				md.set(n, append(md.data(t, n), data...), stamp)
			}
			appendTo("midnight", []byte("more\n"))
			more := make([]byte, 70000)
			treetest.Pattern{N: 70000, Seed: 99}.ReadAt(more, 0)
			appendTo("large.bin", more)
			{
				f, err := os.OpenFile(p("large.bin"), os.O_RDWR, 0)
				must("open", err)
				_, err = f.WriteAt([]byte("overwritten in the middle"), 500000)
				must("pwrite", err)
				must("close", f.Close())
				touch("large.bin")
				b := md.data(t, "large.bin")
				copy(b[500000:], "overwritten in the middle")
				md.set("large.bin", b, stamp)
			}

			// mkdir and rmdir.
			must("mkdir", os.MkdirAll(p("newdir/sub/subsub"), 0755))
			must("mkdir", os.Mkdir(p("gone"), 0755))
			must("rmdir", os.Remove(p("gone")))
			for _, d := range []string{"newdir", "newdir/sub", "newdir/sub/subsub"} {
				md.ents[d] = &treetest.Entry{Path: d, Type: treetest.Dir}
			}
			// NetBSD's msdosfs ignores attribute changes of directories
			// (utimes included), so a directory shows the time it was
			// made: take it from the mount, after checking it is recent.
			for q, e := range md.ents {
				if e.Type != treetest.Dir {
					continue
				}
				fi, err := os.Stat(p(q))
				must("stat", err)
				if d := time.Since(fi.ModTime()); d < -fatTime || d > time.Since(testStart)+fatTime {
					t.Errorf("directory %s: mtime %v, want the time it was made", q, fi.ModTime())
				}
				e.Mtime = fi.ModTime()
			}
			if err := os.Mkdir(p("a-renamed"), 0755); !errors.Is(err, syscall.EEXIST) {
				t.Errorf("mkdir over a file: %v, want EEXIST", err)
			}
			if err := os.Mkdir(p("A-RENAMED"), 0755); !errors.Is(err, syscall.EEXIST) {
				t.Errorf("mkdir over a file in another case: %v, want EEXIST", err)
			}

			want := md.tree()
			treetest.Compare(t, treetest.HostView(mnt), want, fatOpts(0, 0, 0755, 0755, isReadOnly))
			if t.Failed() {
				return
			}
			if code := m.Unmount(t); code != 0 {
				t.Errorf("rump_msdos exited %d after unmount", code)
			}
			fixture.FsckFAT(t, img)
			out := filepath.Join(t.TempDir(), "out")
			os.Mkdir(out, 0755)
			fixture.MCopyOut(t, img, out)
			o := hostOpts
			o.Name = mtoolsName
			treetest.Compare(t, treetest.HostView(out), want, o)

			m2 := fatMount(t, img, "-u", "0", "-g", "0", "-m", "755")
			treetest.Compare(t, treetest.HostView(m2.Dir), want, fatOpts(0, 0, 0755, 0755, isReadOnly))
		})
	}
}

// TestMsdosENOSPC fills a small FAT12 volume to ENOSPC — a fixed root
// directory of 64 entries, then the data area with one file and with
// many — frees space and writes again; fsck.fat -n then finds nothing and
// mcopy extracts exactly what the mount said it held.
func TestMsdosENOSPC(t *testing.T) {
	fixture.Require(t, "mkfs.fat", "mcopy", "mdir", "fsck.fat")
	img := filepath.Join(t.TempDir(), "small.img")
	fixture.MkfsFAT(t, img, 1024, "-F", "12", "-r", "64", "-s", "2")
	m := fatMount(t, img, "-u", "0", "-g", "0", "-m", "755")
	p := func(n string) string { return filepath.Join(m.Dir, n) }
	md := newModel(treetest.New())

	// The fixed root directory: 64 slots, one per 8.3 name; "sub" takes
	// the first.
	if err := os.Mkdir(p("sub"), 0755); err != nil {
		t.Fatal(err)
	}
	md.ents["sub"] = &treetest.Entry{Path: "sub", Type: treetest.Dir}
	n := 0
	for ; n < 100; n++ {
		name := fmt.Sprintf("r%03d", n)
		err := os.WriteFile(p(name), []byte(name), 0644)
		if err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("create %s in a full root: %v, want ENOSPC", name, err)
			}
			break
		}
		md.set(name, []byte(name), time.Time{})
	}
	if n != 63 {
		t.Errorf("the 64-entry root took %d files besides sub, want 63", n)
	}
	if _, err := os.Stat(p(fmt.Sprintf("r%03d", n))); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("the file refused with ENOSPC exists: %v", err)
	}
	// Subdirectories grow until the data area is full.
	fill := func(name string) int64 {
		f, err := os.Create(p(name))
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64<<10)
		var total int64
		for {
			treetest.Pattern{N: 1 << 40, Seed: 7}.ReadAt(buf, total)
			w, err := f.Write(buf)
			total += int64(w)
			if err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("filling %s: %v, want ENOSPC", name, err)
				}
				break
			}
			if total > 2<<20 {
				t.Fatalf("wrote %d bytes to a 1 MiB volume", total)
			}
		}
		f.Close()
		fi, err := os.Stat(p(name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > total {
			t.Fatalf("%s: size %d after writing %d bytes", name, fi.Size(), total)
		}
		return fi.Size()
	}
	size := fill("sub/big")
	if size < 800<<10 {
		t.Errorf("only %d bytes fit on a 1 MiB volume", size)
	}
	content := treetest.Pattern{N: size, Seed: 7}
	md.ents["sub/big"] = &treetest.Entry{Path: "sub/big", Type: treetest.File, Data: content}
	// Now every create of a non-empty file fails; an empty file needs no
	// cluster but its directory may need one.
	var st unix.Statfs_t
	if err := unix.Statfs(m.Dir, &st); err != nil {
		t.Fatal(err)
	}
	if st.Bfree*uint64(st.Bsize) >= 64<<10 {
		t.Errorf("statfs: %d free blocks of %d bytes after ENOSPC", st.Bfree, st.Bsize)
	}
	if err := os.Mkdir(p("sub/newdir"), 0755); err == nil {
		md.ents["sub/newdir"] = &treetest.Entry{Path: "sub/newdir", Type: treetest.Dir}
	} else if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("mkdir on a full volume: %v, want ENOSPC", err)
	}
	// Free it and write again. The clusters of a removed file come back
	// when the kernel has let go of it: its RELEASE and FORGET reach the
	// daemon asynchronously after close(2) and unlink(2) (FUSE), so wait
	// for statfs to show them.
	if err := os.Remove(p("sub/big")); err != nil {
		t.Fatal(err)
	}
	md.remove("sub/big")
	freed := false
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if err := unix.Statfs(m.Dir, &st); err != nil {
			t.Fatal(err)
		}
		if int64(st.Bfree)*st.Bsize >= size-int64(st.Bsize) {
			freed = true
			break
		}
	}
	if !freed {
		t.Fatalf("statfs: %d free blocks of %d bytes 5 s after removing a %d-byte file", st.Bfree, st.Bsize, size)
	}
	for i := 0; i < 20; i++ {
		name := fmt.Sprintf("sub/after%02d", i)
		data := bytes.Repeat([]byte{byte('a' + i)}, 20000)
		if err := os.WriteFile(p(name), data, 0644); err != nil {
			t.Fatalf("writing after freeing: %v", err)
		}
		md.set(name, data, time.Time{})
	}
	size = fill("sub/big2")
	md.ents["sub/big2"] = &treetest.Entry{Path: "sub/big2", Type: treetest.File, Data: treetest.Pattern{N: size, Seed: 7}}
	if err := os.Remove(p("sub/after03")); err != nil {
		t.Fatal(err)
	}
	md.remove("sub/after03")

	// Mtimes are "now" for this test: compare without them.
	want := md.tree()
	o := fatOpts(0, 0, 0755, 0755, nil)
	o.NoMtime = true
	treetest.Compare(t, treetest.HostView(m.Dir), want, o)
	if code := m.Unmount(t); code != 0 {
		t.Errorf("rump_msdos exited %d after unmount", code)
	}
	fixture.FsckFAT(t, img)
	out := t.TempDir()
	fixture.MCopyOut(t, img, out)
	ho := hostOpts
	ho.NoMtime = true
	treetest.Compare(t, treetest.HostView(out), want, ho)
}

// TestMsdosOptions: mount_msdos's -u -g -m -M and their defaults from the
// mount point, -s, -t, -o ro; chmod and chown as NetBSD's msdosfs answers
// them; no symlinks, hard links or device nodes.
func TestMsdosOptions(t *testing.T) {
	fixture.Require(t, "mkfs.fat", "mcopy", "mdir", "mattrib", "fsck.fat")
	fixture.RequireRoot(t)
	fixture.RequireFUSE(t)
	src := t.TempDir()
	tree := treetest.New()
	tree.File("README.TXT", treetest.String("readme\n"))
	tree.File("Long File Name.txt", treetest.String("long\n"))
	tree.File("lower.txt", treetest.String("lower\n"))
	tree.File("Directory With Long Name/inner file.text", treetest.String("inner\n"))
	tree.File("stamp", treetest.String("t\n")).Mtime = time.Date(2020, 1, 1, 12, 0, 0, 0, time.UTC)
	treetest.Write(t, src, tree)
	base := filepath.Join(t.TempDir(), "opts.img")
	fixture.MkfsFAT(t, base, 16<<10, "-F", "16")
	fixture.MCopyIn(t, base, src)

	stat := func(t *testing.T, p string) unix.Stat_t {
		t.Helper()
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	owner := func(t *testing.T, mnt string, uid, gid, fmode, dmode uint32) {
		t.Helper()
		for _, c := range []struct {
			p    string
			mode uint32
		}{{".", dmode}, {"README.TXT", fmode}, {"Directory With Long Name", dmode}, {"Directory With Long Name/inner file.text", fmode}} {
			st := stat(t, filepath.Join(mnt, c.p))
			if st.Uid != uid || st.Gid != gid || st.Mode&07777 != c.mode {
				t.Errorf("%s: %d:%d mode %#o, want %d:%d %#o", c.p, st.Uid, st.Gid, st.Mode&07777, uid, gid, c.mode)
			}
		}
	}

	t.Run("uid-gid-masks", func(t *testing.T) {
		m := fatMount(t, copyImage(t, base), "-u", "nobody", "-g", "nogroup", "-m", "640", "-M", "750")
		owner(t, m.Dir, 65534, 65534, 0640, 0750)
		// -M alone is the mask of files too, -m alone of directories.
		m = fatMount(t, copyImage(t, base), "-u", "123", "-g", "456", "-M", "0705")
		owner(t, m.Dir, 123, 456, 0705, 0705)
		m = fatMount(t, copyImage(t, base), "-u", "1", "-g", "2", "-m", "0604")
		owner(t, m.Dir, 1, 2, 0604, 0604)
		// Unknown names and bad masks are refused.
		for _, args := range [][]string{{"-u", "no-such-user-here"}, {"-g", "no-such-group-here"}, {"-m", "999"}, {"-M", "1777"}} {
			r := fixture.Start(t, msdosDaemon, append(args, copyImage(t, base)), nil)
			if r.Exit == 0 {
				t.Errorf("%v accepted", args)
			}
		}
	})
	t.Run("defaults-from-mountpoint", func(t *testing.T) {
		// mount_msdos takes what is not given from the mount point; the
		// fixture's mount point is a fresh 0755 directory owned by root.
		m := fatMount(t, copyImage(t, base))
		owner(t, m.Dir, 0, 0, 0755, 0755)
		m = fatMount(t, copyImage(t, base), "-u", "77")
		owner(t, m.Dir, 77, 0, 0755, 0755)
	})
	t.Run("shortnames", func(t *testing.T) {
		img := copyImage(t, base)
		short := fixture.MDirShort(t, img, "/")
		m := fatMount(t, img, "-s")
		ents, err := os.ReadDir(m.Dir)
		if err != nil {
			t.Fatal(err)
		}
		var got, want []string
		for _, e := range ents {
			got = append(got, e.Name())
		}
		for _, s := range short {
			want = append(want, strings.ToLower(s))
		}
		sort.Strings(want)
		sameList(t, "-s names against mdir's short names", got, want)
		if _, err := os.Stat(filepath.Join(m.Dir, "Long File Name.txt")); !errors.Is(err, syscall.ENOENT) {
			t.Errorf("long name visible under -s: %v", err)
		}
		if b, err := os.ReadFile(filepath.Join(m.Dir, strings.ToLower(short["Long File Name.txt"]))); err != nil || string(b) != "long\n" {
			t.Errorf("reading by short name: %q %v", b, err)
		}
		// -l is the default and shows the long names.
		m2 := fatMount(t, copyImage(t, base), "-l")
		if _, err := os.Stat(filepath.Join(m2.Dir, "Long File Name.txt")); err != nil {
			t.Errorf("-l: %v", err)
		}
		// -9 ignores the long names too.
		m3 := fatMount(t, copyImage(t, base), "-9")
		if _, err := os.Stat(filepath.Join(m3.Dir, strings.ToLower(short["Long File Name.txt"]))); err != nil {
			t.Errorf("-9: %v", err)
		}
		// -U is accepted (UTF-8 is always used).
		fatMount(t, copyImage(t, base), "-U")
	})
	t.Run("gmtoff", func(t *testing.T) {
		m0 := fatMount(t, copyImage(t, base), "-t", "0")
		m1 := fatMount(t, copyImage(t, base), "-t", "3600")
		a := stat(t, filepath.Join(m0.Dir, "stamp")).Mtim.Sec
		b := stat(t, filepath.Join(m1.Dir, "stamp")).Mtim.Sec
		if a-b != 3600 {
			t.Errorf("mtime with -t 0: %d, with -t 3600: %d; want 3600 s apart", a, b)
		}
		// mcopy stored local time; the host's zone is the default.
		mDef := fatMount(t, copyImage(t, base))
		if got := stat(t, filepath.Join(mDef.Dir, "stamp")).Mtim.Sec; got != tree.Get("stamp").Mtime.Unix() {
			t.Errorf("default zone: mtime %d, want %d", got, tree.Get("stamp").Mtime.Unix())
		}
	})
	t.Run("gemdos", func(t *testing.T) {
		// mkfs.fat -A makes an Atari volume: no 0x55AA signature, which
		// mount_msdos refuses unless -G.
		img := filepath.Join(t.TempDir(), "atari.img")
		fixture.MkfsFAT(t, img, 16<<10, "-A")
		fixture.MCopyIn(t, img, src)
		r := fixture.Start(t, msdosDaemon, []string{copyImage(t, img)}, nil)
		if r.Exit == 0 || !strings.Contains(r.Stderr, "signature") {
			t.Errorf("Atari volume without -G: exit %d, %q; want a refusal naming the boot signature", r.Exit, r.Stderr)
		}
		m := fatMount(t, img, "-G")
		if b, err := os.ReadFile(filepath.Join(m.Dir, "README.TXT")); err != nil || string(b) != "readme\n" {
			t.Errorf("-G: README.TXT %q %v", b, err)
		}
	})
	t.Run("ro", func(t *testing.T) {
		img := copyImage(t, base)
		m := fatMount(t, img, "-o", "ro")
		if err := os.WriteFile(filepath.Join(m.Dir, "new"), nil, 0644); !errors.Is(err, syscall.EROFS) {
			t.Errorf("create on -o ro: %v, want EROFS", err)
		}
		if !strings.Contains(","+fixture.MountOptions(m.Dir)+",", ",ro,") {
			t.Errorf("mount options %q lack ro", fixture.MountOptions(m.Dir))
		}
	})
	t.Run("attributes", func(t *testing.T) {
		img := copyImage(t, base)
		m := fatMount(t, img, "-u", "0", "-g", "0", "-m", "755")
		p := func(n string) string { return filepath.Join(m.Dir, n) }
		// The owner write bit is the read-only attribute.
		if err := os.Chmod(p("README.TXT"), 0444); err != nil {
			t.Fatal(err)
		}
		if mode := stat(t, p("README.TXT")).Mode & 07777; mode != 0555 {
			t.Errorf("after chmod 444: mode %#o, want 0555 (mask less write bits)", mode)
		}
		if err := os.Chmod(p("lower.txt"), 0444); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p("lower.txt"), 0600); err != nil {
			t.Fatal(err)
		}
		// Other bits are ignored: the mask decides.
		if mode := stat(t, p("lower.txt")).Mode & 07777; mode != 0755 {
			t.Errorf("after chmod 444 then 600: mode %#o, want 0755", mode)
		}
		// Directories ignore chmod.
		if err := os.Chmod(p("Directory With Long Name"), 0500); err != nil {
			t.Errorf("chmod of a directory: %v (NetBSD ignores it)", err)
		}
		if mode := stat(t, p("Directory With Long Name")).Mode & 07777; mode != 0755 {
			t.Errorf("directory after chmod 500: %#o, want 0755", mode)
		}
		// chown to the mount's owner is fine, to anyone else EINVAL (NetBSD
		// msdosfs_setattr).
		if err := os.Chown(p("stamp"), 0, 0); err != nil {
			t.Errorf("chown to the mount's owner: %v", err)
		}
		if err := os.Chown(p("stamp"), 1000, 0); !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.EPERM) {
			t.Errorf("chown to another owner: %v, want EINVAL", err)
		}
		// No symlinks, hard links or device nodes.
		notSupported := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, syscall.EPERM) && !errors.Is(err, syscall.EOPNOTSUPP) && !errors.Is(err, syscall.ENOSYS) {
				t.Errorf("%s: %v, want EPERM or EOPNOTSUPP", what, err)
			}
		}
		notSupported("symlink", os.Symlink("README.TXT", p("link")))
		notSupported("link", os.Link(p("stamp"), p("hardlink")))
		notSupported("mknod fifo", unix.Mknod(p("fifo"), unix.S_IFIFO|0644, 0))
		notSupported("mknod chr", unix.Mknod(p("chr"), unix.S_IFCHR|0644, int(unix.Mkdev(1, 3))))
		for _, n := range []string{"link", "hardlink", "fifo", "chr"} {
			if _, err := os.Lstat(p(n)); !errors.Is(err, syscall.ENOENT) {
				t.Errorf("%s exists after the refused call: %v", n, err)
			}
		}
		// (Opening it for writing is refused only to others than root,
		// who has no write bit to lack: NetBSD's and Linux's vfat's rule.
		// The mount is root's, without allow_other, so no one else can
		// try here.)
		// Invalid characters and over-long names.
		if err := os.WriteFile(p("bad:name"), nil, 0644); !errors.Is(err, syscall.EINVAL) {
			t.Errorf("create bad:name: %v, want EINVAL", err)
		}
		if err := os.WriteFile(p(strings.Repeat("é", 126)+"ab"), nil, 0644); err != nil {
			t.Errorf("create a 128-character, 254-byte name: %v", err)
		}
		if err := os.WriteFile(p(strings.Repeat("x", 255)), nil, 0644); err != nil {
			t.Errorf("create a 255-character name: %v", err)
		}
		if code := m.Unmount(t); code != 0 {
			t.Errorf("exit %d", code)
		}
		fixture.FsckFAT(t, img)
		if a := fixture.MAttrib(t, img, "README.TXT"); !strings.Contains(a, "R") {
			t.Errorf("mattrib README.TXT: %q, want the read-only attribute", a)
		}
		if a := fixture.MAttrib(t, img, "lower.txt"); strings.Contains(a, "R") {
			t.Errorf("mattrib lower.txt: %q, want no read-only attribute", a)
		}
	})
}

// fatPosixSkipped names the go-fuse posixtest cases FAT cannot pass, with
// the reason. Every other case must pass on a read-write FAT32 mount.
var fatPosixSkipped = map[string]string{
	"Link":                "FAT has no hard links: link(2) is EOPNOTSUPP (NetBSD msdosfs)",
	"LinkUnlinkRename":    "needs a hard link",
	"SymlinkReadlink":     "FAT has no symbolic links: symlink(2) is EOPNOTSUPP",
	"SetattrSymlink":      "needs a symbolic link",
	"OpenSymlinkRace":     "needs a symbolic link",
	"XAttr":               "FAT has no extended attributes",
	"XAttrLarge":          "FAT has no extended attributes",
	"FallocateKeepSize":   "vfs has no preallocation; KEEP_SIZE past EOF is EOPNOTSUPP (as for every rumpfs mount)",
	"FcntlFlockLocksFile": "expects per-descriptor fcntl locks; POSIX locks are per process (ext4 fails it too)",
	"Tmpfile":             "FAT has no unnamed files: O_TMPFILE is EOPNOTSUPP",
	// A FAT file's inode number is the position of its directory entry
	// (NetBSD's msdosfs fileid; FAT has no inodes), so it changes when
	// rename moves the entry.
	"RenameOverwriteDestExist":   "rename keeps the inode number: FAT's is the entry position, which rename changes (as NetBSD)",
	"RenameOverwriteDestNoExist": "rename keeps the inode number: FAT's is the entry position, which rename changes (as NetBSD)",
}

// TestMsdosPosix runs go-fuse's posixtest suite on a read-write FAT32
// mount, each case in a fresh directory.
func TestMsdosPosix(t *testing.T) {
	fixture.Require(t, "mkfs.fat", "fsck.fat")
	img := filepath.Join(t.TempDir(), "posix.img")
	fixture.MkfsFAT(t, img, 64<<10, "-F", "32")
	// FAT has no modes: every file shows the mask. posixtest's files are
	// made 0755, so that is the mask.
	m := fatMount(t, img, "-u", "0", "-g", "0", "-m", "755")
	fixture.RunPosix(t, m.Dir, fatPosixSkipped)
	if code := m.Unmount(t); code != 0 {
		t.Errorf("rump_msdos exited %d after unmount", code)
	}
	fixture.FsckFAT(t, img)
}

// TestMsdosUkfsWrite changes a FAT image through the ukfs API (no FUSE, no
// root) and requires fsck.fat -n to find nothing and mcopy to extract the
// expected tree.
func TestMsdosUkfsWrite(t *testing.T) {
	for _, fx := range []*fatFixture{fxFAT12, fxFAT32} {
		t.Run(fx.name, func(t *testing.T) {
			t.Parallel()
			img, tree := fx.Copy(t)
			md := newModel(tree)
			fsys := fatUkfs(t, img, false, "")
			must := func(what string, err error) {
				t.Helper()
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
			}
			f, err := fsys.Create("ukfs/Created With A Long Name.txt")
			if err == nil {
				t.Fatal("create in a missing directory succeeded")
			}
			must("mkdir", fsys.Mkdir("ukfs", 0755))
			md.ents["ukfs"] = &treetest.Entry{Path: "ukfs", Type: treetest.Dir}
			f, err = fsys.Create("ukfs/Created With A Long Name.txt")
			must("create", err)
			data := bytes.Repeat([]byte("0123456789abcdef"), 20000)
			_, err = f.Write(data)
			must("write", err)
			must("close", f.Close())
			md.set("ukfs/Created With A Long Name.txt", data, time.Time{})
			must("writefile", fsys.WriteFile("ukfs/émoji 😀.txt", []byte("astral\n"), 0644))
			md.set("ukfs/émoji 😀.txt", []byte("astral\n"), time.Time{})
			must("rename", fsys.Rename("small.txt", "ukfs/small.txt"))
			md.rename("small.txt", "ukfs/small.txt")
			must("rename dir", fsys.Rename("dir", "ukfs/dir"))
			md.rename("dir", "ukfs/dir")
			// Case-only renames reach the file system through ukfs (kern
			// tells a respelling of one entry from two hard links).
			must("case-only rename", fsys.Rename("names83/README.TXT", "names83/ReadMe.txt"))
			md.rename("names83/README.TXT", "names83/ReadMe.txt")
			must("case-only rename of a directory", fsys.Rename("case/d/MiXeD", "case/d/MIXED"))
			md.rename("case/d/MiXeD", "case/d/MIXED")
			must("remove", fsys.Remove("a"))
			md.remove("a")
			must("removeall", fsys.RemoveAll("deep"))
			md.remove("deep")
			must("truncate", fsys.Truncate("blocks.bin", 10))
			md.set("blocks.bin", md.data(t, "blocks.bin")[:10], time.Time{})
			must("unmount", fsys.Unmount())

			fixture.FsckFAT(t, img)
			out := t.TempDir()
			fixture.MCopyOut(t, img, out)
			o := hostOpts
			o.Name = func(name string, dir bool) string {
				if name == "ünïcødé.txt" {
					// mtools stored this as a short name flagged lower
					// case, and lower-cases only ASCII letters of such a
					// name when it extracts it.
					return "ÜnÏcØdÉ.txt"
				}
				return mtoolsName(name, dir)
			}
			o.NoMtime = true
			treetest.Compare(t, treetest.HostView(out), md.tree(), o)
			// Through ukfs again: the case-only rename shows.
			fsys2 := fatUkfs(t, img, true, "")
			ents, err := fsys2.ReadDir("names83")
			must("readdir", err)
			found := false
			for _, e := range ents {
				if e.Name() == "ReadMe.txt" {
					found = true
				}
			}
			if !found {
				t.Errorf("names83 after the case-only rename: %v", ents)
			}
			if ents, err := fsys2.ReadDir("case/d"); err != nil || len(ents) != 1 || ents[0].Name() != "MIXED" {
				t.Errorf("case/d after the case-only rename: %v %v", ents, err)
			}
		})
	}
}
