package e2e

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rumpfs/rumpfs/internal/fixture"
	"github.com/rumpfs/rumpfs/internal/treetest"
	"github.com/rumpfs/rumpfs/ukfs"
)

// ffsData is a file's expected content as the write tests change it: a
// size and the extents written, the rest zeros (holes). It implements
// treetest.Content and treetest.Regioner, so Compare checks a huge sparse
// file around its data only.
type ffsData struct {
	n   int64
	ext []ffsExtent // sorted, not overlapping
}

type ffsExtent struct {
	off int64
	b   []byte
}

func ffsDataOf(c treetest.Content) *ffsData {
	d := &ffsData{}
	if c == nil {
		return d
	}
	b := make([]byte, c.Size())
	c.ReadAt(b, 0)
	d.n = int64(len(b))
	if len(b) > 0 {
		d.ext = []ffsExtent{{0, b}}
	}
	return d
}

func (d *ffsData) Size() int64 { return d.n }

func (d *ffsData) Regions() [][2]int64 {
	var r [][2]int64
	for _, e := range d.ext {
		r = append(r, [2]int64{e.off, int64(len(e.b))})
	}
	return r
}

func (d *ffsData) ReadAt(p []byte, off int64) (int, error) {
	if off >= d.n {
		return 0, io.EOF
	}
	want := int64(len(p))
	if d.n-off < want {
		want = d.n - off
	}
	q := p[:want]
	clear(q)
	for _, e := range d.ext {
		s, t := max(e.off, off), min(e.off+int64(len(e.b)), off+want)
		if s < t {
			copy(q[s-off:t-off], e.b[s-e.off:t-e.off])
		}
	}
	if want < int64(len(p)) {
		return int(want), io.EOF
	}
	return int(want), nil
}

// truncate cuts or extends (with a hole) to n.
func (d *ffsData) truncate(n int64) *ffsData {
	nd := &ffsData{n: n}
	for _, e := range d.ext {
		if e.off >= n {
			continue
		}
		b := e.b
		if e.off+int64(len(b)) > n {
			b = b[:n-e.off]
		}
		nd.ext = append(nd.ext, ffsExtent{e.off, append([]byte(nil), b...)})
	}
	return nd
}

// writeAt writes p at off, growing the file.
func (d *ffsData) writeAt(p []byte, off int64) *ffsData {
	nd := &ffsData{n: max(d.n, off+int64(len(p)))}
	end := off + int64(len(p))
	for _, e := range d.ext {
		eend := e.off + int64(len(e.b))
		if eend <= off || e.off >= end {
			nd.ext = append(nd.ext, e)
			continue
		}
		if e.off < off {
			nd.ext = append(nd.ext, ffsExtent{e.off, e.b[:off-e.off]})
		}
		if eend > end {
			nd.ext = append(nd.ext, ffsExtent{end, e.b[end-e.off:]})
		}
	}
	nd.ext = append(nd.ext, ffsExtent{off, append([]byte(nil), p...)})
	sort.Slice(nd.ext, func(i, j int) bool { return nd.ext[i].off < nd.ext[j].off })
	return nd
}

// ffsModel is the expected tree of a write test, by path.
type ffsModel map[string]*treetest.Entry

func ffsModelOf(tree *treetest.Tree) ffsModel {
	m := ffsModel{}
	for _, e := range tree.Entries {
		ne := *e
		if ne.Type == treetest.File {
			ne.Data = ffsDataOf(e.Data)
		}
		m[e.Path] = &ne
	}
	return m
}

// tree rebuilds a treetest.Tree: parents before children, hard links
// after the files they name.
func (m ffsModel) tree() *treetest.Tree {
	ps := make([]string, 0, len(m))
	for p := range m {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool {
		a, b := m[ps[i]], m[ps[j]]
		if (a.Type == treetest.Hardlink) != (b.Type == treetest.Hardlink) {
			return b.Type == treetest.Hardlink
		}
		if da, db := treetest.Depth(ps[i]), treetest.Depth(ps[j]); da != db {
			return da < db
		}
		return ps[i] < ps[j]
	})
	t := treetest.New()
	for _, p := range ps {
		t.Add(*m[p])
	}
	return t
}

// rename moves old (and everything under it) to new, as rename(2),
// keeping hard links pointing at their file.
func (m ffsModel) rename(old, new string) {
	for p, e := range m {
		if p == old || strings.HasPrefix(p, old+"/") {
			np := new + strings.TrimPrefix(p, old)
			delete(m, p)
			e.Path = np
			m[np] = e
		}
	}
	for _, e := range m {
		if e.Type == treetest.Hardlink && (e.Target == old || strings.HasPrefix(e.Target, old+"/")) {
			e.Target = new + strings.TrimPrefix(e.Target, old)
		}
	}
}

// ffsWriteVariants: both versions, both byte orders, the smallest block
// size (so that a 5 GiB offset is in UFS1's triple-indirect range) and the
// largest.
var ffsWriteVariants = []ffsVariant{
	{1, "le", 0, 0},
	{1, "be", 4096, 512},
	{2, "le", 0, 0},
	{2, "be", 65536, 8192},
}

// ffsWriteBase is the tree a write test's image starts from.
func ffsWriteBase() *treetest.Tree {
	t := treetest.Standard(treetest.Caps{NameMax: 255, Depth: 12, UTF8: true, Symlinks: true, Hardlinks: true, Specials: true, Many: 300, Large: 3 << 20})
	t.File("trunc/big", treetest.Pattern{N: 9 << 20, Seed: 21})
	t.File("trunc/small", treetest.Pattern{N: 3000, Seed: 22})
	t.File("app/a", treetest.String("x"))
	t.File("app/b", treetest.Pattern{N: 8191, Seed: 23})
	t.Dir("ren/d1/d2")
	t.File("ren/d1/d2/f", treetest.String("in d2\n"))
	t.File("ren/f1", treetest.String("f1\n"))
	t.File("ren/victim", treetest.String("to be replaced\n"))
	t.Dir("ren/emptytarget")
	t.Dir("ren/other")
	t.File("rm/f", treetest.String("f\n"))
	t.Symlink("rm/l", "f")
	t.Fifo("rm/p")
	t.Dir("rm/dir/sub")
	return t
}

// ffsSession is one write test: an image, its expected tree, and a
// rw mount that each step opens and closes.
type ffsSession struct {
	t    *testing.T
	v    ffsVariant
	img  string
	m    ffsModel
	step int
}

// mount mounts the image read-write and checks that this fresh mount
// reads back exactly the expected tree (what the previous step left).
func (s *ffsSession) mount() *fixture.Mounted {
	s.t.Helper()
	mt := fixture.Mount(s.t, ffsDaemon, s.img)
	treetest.Compare(s.t, treetest.HostView(mt.Dir), s.m.tree(), ffsOpts(s.v, false))
	return mt
}

// settle gives every name the model's owner, mode and mtime through the
// mount (creating and writing change parents' mtimes and make root-owned
// files), so that the comparison after unmount is exact.
func (s *ffsSession) settle(mt *fixture.Mounted) {
	s.t.Helper()
	tree := s.m.tree()
	var dirs []*treetest.Entry
	for _, e := range tree.Entries {
		switch e.Type {
		case treetest.Hardlink:
			continue
		case treetest.Dir:
			dirs = append(dirs, e)
			continue
		}
		s.setAttrs(mt, e)
	}
	for _, e := range dirs {
		s.setAttrs(mt, e)
	}
}

func (s *ffsSession) setAttrs(mt *fixture.Mounted, e *treetest.Entry) {
	s.t.Helper()
	p := mt.Path(e.Path)
	if err := os.Lchown(p, int(e.Uid), int(e.Gid)); err != nil {
		s.t.Fatalf("lchown %s: %v", e.Path, err)
	}
	if e.Type != treetest.Symlink {
		if err := unix.Chmod(p, e.EffPerm()); err != nil {
			s.t.Fatalf("chmod %s: %v", e.Path, err)
		}
	}
	mt0 := e.EffMtime()
	ts := []unix.Timespec{unix.NsecToTimespec(mt0.UnixNano()), unix.NsecToTimespec(mt0.UnixNano())}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		s.t.Fatalf("utimes %s: %v", e.Path, err)
	}
}

// done ends a step: settle, unmount (the daemon must exit 0), `ukfs fsck
// -n` clean, and ukfs reading back exactly the expected tree.
func (s *ffsSession) done(mt *fixture.Mounted, what string) {
	s.t.Helper()
	s.settle(mt)
	if code := mt.Unmount(s.t); code != 0 {
		s.t.Fatalf("after %s: rump_ffs exited %d; log:\n%s", what, code, mt.Stderr())
	}
	ffsFsck(s.t, s.img)
	fsys := ffsUkfsOnce(s.t, s.img)
	treetest.Compare(s.t, treetest.FSView(fsys), s.m.tree(), ffsOpts(s.v, false))
	if err := fsys.Unmount(); err != nil {
		s.t.Errorf("ukfs unmount: %v", err)
	}
	s.step++
}

func (s *ffsSession) check(err error) {
	s.t.Helper()
	if err != nil {
		s.t.Fatal(err)
	}
}

func (s *ffsSession) writeFile(mt *fixture.Mounted, p string, data []byte, off int64, flag int) {
	s.t.Helper()
	f, err := os.OpenFile(mt.Path(p), os.O_WRONLY|flag, 0644)
	s.check(err)
	if flag&os.O_APPEND != 0 {
		_, err = f.Write(data)
	} else {
		_, err = f.WriteAt(data, off)
	}
	s.check(err)
	s.check(f.Close())
	e := s.m[p]
	if e == nil {
		e = &treetest.Entry{Path: p, Type: treetest.File, Data: &ffsData{}}
		s.m[p] = e
	}
	d := e.Data.(*ffsData)
	if flag&os.O_TRUNC != 0 {
		d = d.truncate(0)
	}
	if flag&os.O_APPEND != 0 {
		off = d.n
	}
	e.Data = d.writeAt(data, off)
}

func (s *ffsSession) truncate(mt *fixture.Mounted, p string, n int64) {
	s.t.Helper()
	s.check(os.Truncate(mt.Path(p), n))
	e := s.m[p]
	e.Data = e.Data.(*ffsData).truncate(n)
}

// TestFFSWrite changes makefs images through rump_ffs, one kind of change
// per mount; after each unmount the image must check clean with `ukfs
// fsck -n`, and ukfs and the next fresh mount must read back exactly the
// expected tree; at the end, for UFS1, sleuthkit must too.
func TestFFSWrite(t *testing.T) {
	for _, v := range ffsWriteVariants {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			ffsNeedMount(t)
			src := t.TempDir()
			written := treetest.Write(t, src, ffsWriteBase())
			img := filepath.Join(t.TempDir(), "w.img")
			fixture.MakeFFS(t, img, src, v.opts(), v.endian, "96m", "-f", "2000")
			s := &ffsSession{t: t, v: v, img: img, m: ffsModelOf(written)}
			for _, e := range s.m {
				e.Mtime = e.EffMtime().Truncate(time.Second) // makefs stores no nanoseconds
			}
			ffsWriteSteps(s)
			mt := s.mount() // the last step's result, through FUSE
			mt.Unmount(t)
			if v.version == 1 {
				fsys := ffsUkfsOnce(t, img)
				inos := treetest.Compare(t, treetest.FSView(fsys), s.m.tree(), ffsOpts(v, false))
				fsys.Unmount()
				ffsSleuth(t, img, s.m.tree(), inos)
			}
		})
	}
}

func ffsWriteSteps(s *ffsSession) {
	t := s.t
	bs := int64(s.v.bsize)
	if bs == 0 {
		bs = 8192
	}
	fs := bs / 8
	if s.v.fsize > 0 {
		fs = int64(s.v.fsize)
	}

	// 1. Copy a tree in with cp -a: files, hard links, symlinks, fifos,
	// devices, owners, modes, times, holes (cp makes sparse copies).
	{
		mt := s.mount()
		src := t.TempDir()
		in := treetest.Standard(treetest.Caps{NameMax: 255, Depth: 20, UTF8: true, NonBMP: true, Symlinks: true, Hardlinks: true, Specials: true, Many: 500, Large: 2<<20 + 3})
		in.File("holes", treetest.Sparse{N: 40 << 20, Chunks: []treetest.Chunk{
			{Off: 5, Data: treetest.String("head")},
			{Off: 20 << 20, Data: treetest.Pattern{N: 100000, Seed: 31}},
			{Off: 40<<20 - 1, Data: treetest.String("z")},
		}})
		wrote := treetest.Write(t, src, in)
		out, err := exec.Command("cp", "-a", src, mt.Path("in")).CombinedOutput()
		if err != nil {
			t.Fatalf("cp -a: %v\n%s", err, out)
		}
		st, _ := os.Stat(src)
		s.m["in"] = &treetest.Entry{Path: "in", Type: treetest.Dir, Perm: uint32(st.Mode().Perm()), Mtime: treetest.DefaultMtime}
		for p, e := range ffsModelOf(wrote) {
			e.Path = "in/" + p
			if e.Type == treetest.Hardlink {
				e.Target = "in/" + e.Target
			}
			s.m[e.Path] = e
		}
		s.done(mt, "copy-in")
	}

	// 2. Truncates down through fragment and block boundaries and the
	// indirect levels, and up again with holes.
	{
		mt := s.mount()
		for _, n := range []int64{8<<20 + 1, 12*bs + bs*bs/4 + 5, 12*bs + 1, 12 * bs, 5*bs + fs + 1, 5 * bs, 3*fs - 1, fs, 1, 0, 3 * fs, 13*bs + 7, 0} {
			s.truncate(mt, "trunc/big", n)
		}
		s.writeFile(mt, "trunc/big", []byte("after zero"), 0, 0)
		for _, n := range []int64{fs + 1, 2*fs - 1, bs + 1, 100} {
			s.truncate(mt, "trunc/small", n)
		}
		// Up to the double-indirect range of every block size with a hole,
		// then data at the end.
		far := 12*bs + (bs/4)*bs + 3*bs
		s.writeFile(mt, "trunc/grown", nil, 0, os.O_CREATE)
		s.truncate(mt, "trunc/grown", far)
		s.writeFile(mt, "trunc/grown", []byte("far end"), far-7, 0)
		s.done(mt, "truncate")
	}

	// 3. Appends: growing fragments into blocks, blocks into indirects.
	{
		mt := s.mount()
		for i, n := range []int{int(fs) - 1, 1, 2 * int(fs), int(bs), int(12 * bs), 1000} {
			s.writeFile(mt, "app/a", ffsPattern(n, uint64(40+i)), 0, os.O_APPEND)
		}
		s.writeFile(mt, "app/b", ffsPattern(1, 50), 0, os.O_APPEND)
		s.writeFile(mt, "app/new", ffsPattern(int(bs)+3, 51), 0, os.O_CREATE|os.O_APPEND)
		// Overwrite in the middle, across a block boundary.
		s.writeFile(mt, "app/b", ffsPattern(100, 52), 4050, 0)
		// A sparse file past 4 GiB: for 4 KiB blocks UFS1 needs its triple
		// indirect block for it.
		s.writeFile(mt, "app/huge", []byte("beyond 4 GiB"), 5<<30, os.O_CREATE)
		s.writeFile(mt, "app/huge", []byte("start"), 0, 0)
		s.done(mt, "append")
	}

	// 4. Renames: within a directory, across directories, a directory to
	// another parent ('..' and link counts), over a file, over an empty
	// directory.
	{
		mt := s.mount()
		ren := func(a, b string) {
			t.Helper()
			s.check(unix.Rename(mt.Path(a), mt.Path(b))) // os.Rename refuses to replace a directory
			if old := s.m[b]; old != nil {
				delete(s.m, b)
			}
			s.m.rename(a, b)
		}
		ren("ren/f1", "ren/f1-renamed")
		ren("ren/f1-renamed", "ren/other/f1")
		ren("ren/d1/d2", "ren/other/d2")
		ren("ren/d1", "ren/emptytarget")
		ren("ren/other/d2/f", "ren/victim")
		ren("in/many", "ren/many-moved")
		ren("in/hl/orig", "in/hl-orig-moved")
		s.done(mt, "rename")
	}

	// 5. Unlinks and rmdir; mkdir.
	{
		mt := s.mount()
		for _, p := range []string{"rm/f", "rm/l", "rm/p", "in/hl/link1", "in/fifo", "in/chr"} {
			s.check(os.Remove(mt.Path(p)))
			delete(s.m, p)
		}
		for i := 0; i < 500; i += 2 {
			p := fmt.Sprintf("ren/many-moved/f%04d", i)
			s.check(os.Remove(mt.Path(p)))
			delete(s.m, p)
		}
		s.check(os.Remove(mt.Path("rm/dir/sub")))
		delete(s.m, "rm/dir/sub")
		s.check(os.Remove(mt.Path("rm/dir")))
		delete(s.m, "rm/dir")
		if err := os.Remove(mt.Path("ren")); err == nil {
			t.Errorf("rmdir of a non-empty directory succeeded")
		}
		p := "mk"
		s.check(os.Mkdir(mt.Path(p), 0755))
		s.m[p] = &treetest.Entry{Path: p, Type: treetest.Dir}
		for i := 0; i < 10; i++ {
			p += fmt.Sprintf("/d%d", i)
			s.check(os.Mkdir(mt.Path(p), 0755))
			s.m[p] = &treetest.Entry{Path: p, Type: treetest.Dir}
		}
		s.check(os.Mkdir(mt.Path("mk/gone"), 0755))
		s.check(os.Remove(mt.Path("mk/gone")))
		s.done(mt, "unlink/rmdir/mkdir")
	}

	// 6. chmod, chown, utimes (nanoseconds; UFS2 past 2038 and before
	// 1970; UFS1 within its 32-bit range).
	{
		mt := s.mount()
		set := func(p string, perm, uid, gid uint32, mtime time.Time) {
			e := s.m[p]
			e.Perm, e.Uid, e.Gid, e.Mtime = perm, uid, gid, mtime
		}
		far := time.Date(2100, 1, 2, 3, 4, 5, 987654321, time.UTC)
		if s.v.version == 1 {
			far = time.Date(2037, 1, 2, 3, 4, 5, 987654321, time.UTC)
		}
		set("a", 04711, 123456, 654321, time.Date(2022, 2, 2, 2, 2, 2, 1, time.UTC))
		set("in/dir", 01770, 7, 8, far)
		set("mk/d0", 0500, 99, 98, time.Date(1965, 6, 6, 6, 6, 6, 600, time.UTC))
		set("link-short", 0, 4242, 4243, time.Date(2011, 1, 1, 1, 1, 1, 1, time.UTC))
		set("blk", 0600, 1, 2, far)
		s.done(mt, "chmod/chown/utimes")
	}
}

func ffsPattern(n int, seed uint64) []byte {
	b := make([]byte, n)
	treetest.Pattern{N: int64(n), Seed: seed}.ReadAt(b, 0)
	return b
}

// ffsUkfsOnce mounts img read-only with ukfs; the caller unmounts (the
// image must be free for the next rw mount).
func ffsUkfsOnce(t *testing.T, img string) *ukfs.FS {
	t.Helper()
	fsys, err := ukfs.Mount(img, ukfs.ReadOnly())
	if err != nil {
		t.Fatalf("ukfs.Mount(%s): %v", img, err)
	}
	return fsys
}
