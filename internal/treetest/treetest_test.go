package treetest

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB that collects errors instead of failing, to
// check that Compare notices differences.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	panic(r)
}

func (r *recorder) has(sub string) bool {
	for _, e := range r.errs {
		if strings.Contains(e, sub) {
			return true
		}
	}
	return false
}

func richCaps() Caps {
	return Caps{NameMax: 255, Depth: 10, UTF8: true, NonBMP: true, Symlinks: true,
		Hardlinks: true, Specials: true, Many: 50, Large: 3<<20 + 17}
}

func TestWriteCompareHost(t *testing.T) {
	dir := t.TempDir()
	tree := Write(t, dir, Standard(richCaps()))
	inos := Compare(t, HostView(dir), tree, Options{})
	if inos["hl/orig"] == 0 || inos["hl/orig"] != inos["hl/sub/link2"] {
		t.Errorf("hard links: inos %d %d", inos["hl/orig"], inos["hl/sub/link2"])
	}
	SameInodes(t, "two walks", inos, Inodes(t, HostView(dir)))
}

func TestCompareFSView(t *testing.T) {
	dir := t.TempDir()
	tree := Write(t, dir, Standard(richCaps()))
	// os.DirFS gives Lstat/ReadLink and *syscall.Stat_t in Sys().
	Compare(t, FSView(os.DirFS(dir)), tree, Options{})
}

func TestCompareFindsDifferences(t *testing.T) {
	dir := t.TempDir()
	tree := Write(t, dir, Standard(Caps{Symlinks: true, Hardlinks: true, Large: 5 << 20}))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// One byte changed deep in the large file.
	f, err := os.OpenFile(filepath.Join(dir, "large.bin"), os.O_WRONLY, 0)
	must(err)
	var b [1]byte
	Pattern{N: 5 << 20, Seed: 1}.ReadAt(b[:], 4<<20+3)
	b[0] ^= 0xff
	_, err = f.WriteAt(b[:], 4<<20+3)
	must(err)
	must(f.Close())
	must(os.Chmod(filepath.Join(dir, "secret"), 0640))
	must(os.Remove(filepath.Join(dir, "link-short")))
	must(os.Symlink("b", filepath.Join(dir, "link-short")))
	must(os.WriteFile(filepath.Join(dir, "extra"), nil, 0644))
	must(os.Remove(filepath.Join(dir, "empty")))
	// Break the hard link: same content, new inode.
	must(os.Remove(filepath.Join(dir, "hl/link1")))
	var buf bytes.Buffer
	io.Copy(&buf, Reader(tree.Get("hl/orig").Data))
	must(os.WriteFile(filepath.Join(dir, "hl/link1"), buf.Bytes(), 0644))

	r := &recorder{TB: t}
	Compare(r, HostView(dir), tree, Options{NoMtime: true, NoOwner: true, NoNlink: true})
	for _, want := range []string{
		`"large.bin": content differs at byte 4194307`,
		`"secret": mode 0640, want 0600`,
		`"link-short": symlink to "b", want "a"`,
		`unexpected "extra"`,
		`missing file "empty"`,
		`hard link "hl/link1" has ino`,
	} {
		if !r.has(want) {
			t.Errorf("Compare did not report %s; got:\n%s", want, strings.Join(r.errs, "\n"))
		}
	}
}

func TestNameMapping(t *testing.T) {
	dir := t.TempDir()
	tree := New()
	tree.File("sub/file.txt", String("x"))
	Write(t, dir, tree)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Rename(filepath.Join(dir, "sub/file.txt"), filepath.Join(dir, "sub/FILE.TXT")))
	must(os.Rename(filepath.Join(dir, "sub"), filepath.Join(dir, "SUB")))
	Compare(t, HostView(dir), tree, Options{NoMtime: true, Name: func(n string, _ bool) string { return strings.ToUpper(n) }})
}

func TestSparseSampled(t *testing.T) {
	dir := t.TempDir()
	const size = 5<<30 + 123 // a hole across a 4 GiB boundary, no disk used
	c := Sparse{N: size, Chunks: []Chunk{
		{Off: 0, Data: String("start")},
		{Off: 4<<30 - 3, Data: Pattern{N: 4096, Seed: 9}},
		{Off: size - 3, Data: String("end")},
	}}
	tree := New()
	tree.File("huge", c)
	tree = Write(t, dir, tree)
	Compare(t, HostView(dir), tree, Options{MaxFullRead: 64 << 20})
}

func TestContentReadAt(t *testing.T) {
	p := Pattern{N: 100, Seed: 7}
	all := make([]byte, 100)
	if n, err := p.ReadAt(all, 0); n != 100 || err != nil {
		t.Fatalf("ReadAt = %d, %v", n, err)
	}
	part := make([]byte, 13)
	n, _ := p.ReadAt(part, 51)
	if n != 13 || !bytes.Equal(part, all[51:64]) {
		t.Errorf("ReadAt(51) = %x, want %x", part, all[51:64])
	}
	if n, err := p.ReadAt(part, 95); n != 5 || err != io.EOF {
		t.Errorf("ReadAt past end = %d, %v", n, err)
	}
	s := Sparse{N: 20, Chunks: []Chunk{{Off: 5, Data: String("abc")}}}
	got, _ := io.ReadAll(Reader(s))
	if want := "\x00\x00\x00\x00\x00abc" + strings.Repeat("\x00", 12); string(got) != want {
		t.Errorf("sparse = %q", got)
	}
}
