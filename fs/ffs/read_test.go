package ffs

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rumpfs/rumpfs/internal/treetest"
	"github.com/rumpfs/rumpfs/vfs"
)

// ffsCaps is what FFS holds: everything.
var ffsCaps = treetest.Caps{NameMax: 255, Depth: 12, UTF8: true, NonBMP: true, Symlinks: true, Hardlinks: true, Specials: true, Many: 300}

// richTree is the standard tree plus FFS specifics: sparse files, files
// through every indirect level, both kinds of symlinks.
func richTree(big bool) *treetest.Tree {
	t := treetest.Standard(ffsCaps)
	t.File("sparse", treetest.Sparse{N: 10 << 20, Chunks: []treetest.Chunk{{Off: 5 << 20, Data: treetest.String("middle")}, {Off: 10<<20 - 3, Data: treetest.String("end")}}})
	t.File("frag-tail", treetest.Pattern{N: 13*1024 + 100, Seed: 7})
	t.File("indirect", treetest.Pattern{N: 300 << 10, Seed: 8})
	t.Symlink("link-60", string(make60()))
	if big {
		t.File("double-indirect", treetest.Sparse{N: 200 << 20, Chunks: []treetest.Chunk{{Off: 150 << 20, Data: treetest.String("deep")}}})
	}
	e := t.File("ns-time", treetest.String("ns\n"))
	e.Mtime = time.Date(2020, 1, 2, 3, 4, 5, 123456789, time.UTC)
	return t
}

func make60() []byte {
	b := make([]byte, 119)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}

var variants = []variant{
	{1, "le", 0, 0},
	{1, "be", 0, 0},
	{2, "le", 0, 0},
	{2, "be", 0, 0},
}

func TestReadMakefs(t *testing.T) {
	tree := richTree(!testing.Short())
	src := t.TempDir()
	written := treetest.Write(t, src, tree)
	for _, v := range variants {
		t.Run(v.String(), func(t *testing.T) {
			img := makefs(t, v, src, "")
			checkClean(t, img)
			if v.version == 1 {
				sleuthCompare(t, img, written)
			}
			m := mountImg(t, img, true, "")
			defer m.Unmount()
			opts := ffsCompareOptions(v.version)
			treetest.Compare(t, vnView{t, m}, written, opts)
			if n := mustWalk(t, m, "chr"); n != nil {
				a, _ := n.Getattr()
				if a.Rdev != unix.Mkdev(1, 3) {
					t.Errorf("chr rdev %#x", a.Rdev)
				}
				n.Rele()
			}
		})
	}
}

// ffsCompareOptions: makefs stores whole seconds only, and UFS1 times
// are signed 32-bit (NetBSD's ufs1_dinode), so later ones wrap.
func ffsCompareOptions(version int) treetest.Options {
	opts := treetest.Options{MaxFullRead: 1 << 20, MtimeRes: time.Second}
	if version == 1 {
		opts.Expect = func(e *treetest.Entry, want *treetest.Stat) {
			want.Mtime = time.Unix(int64(int32(want.Mtime.Unix())), int64(want.Mtime.Nanosecond()))
		}
	}
	return opts
}

// TestBigDirectory reads a makefs directory of thousands of entries
// (20,000 without -short), then grows and thins it through the vnode
// operations.
func TestBigDirectory(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 3000
	}
	tree := treetest.New()
	tree.Dir("big")
	for i := 0; i < n; i++ {
		tree.File(fmt.Sprintf("big/entry-%05d", i), nil)
	}
	src := t.TempDir()
	written := treetest.Write(t, src, tree)
	for _, v := range []variant{{1, "be", 8192, 1024}, {2, "le", 16384, 2048}} {
		t.Run(v.String(), func(t *testing.T) {
			img := makefs(t, v, src, fmt.Sprintf("%dm", 16+n/500), "-o", "density=1024")
			checkClean(t, img)
			m := mountImg(t, img, false, "")
			treetest.Compare(t, vnView{t, m}, written, treetest.Options{NoMtime: true})
			d := mustWalk(t, m, "big")
			for i := 0; i < n; i += 2 {
				if err := d.Remove(fmt.Sprintf("entry-%05d", i)); err != nil {
					t.Fatal(err)
				}
			}
			for i := 0; i < n/4; i++ {
				vn, err := d.Create(vfs.RootCred, fmt.Sprintf("new-%05d", i), 0644)
				if err != nil {
					t.Fatal(err)
				}
				vn.Rele()
			}
			d.Rele()
			if err := m.Unmount(); err != nil {
				t.Fatal(err)
			}
			checkClean(t, img)
			m2 := mountImg(t, img, true, "")
			defer m2.Unmount()
			d = mustWalk(t, m2, "big")
			defer d.Rele()
			names := listDir(t, d)
			if len(names) != n/2+n/4 {
				t.Errorf("%d entries, want %d", len(names), n/2+n/4)
			}
			if _, err := d.Lookup("entry-00001"); err != nil {
				t.Error(err)
			}
			if _, err := d.Lookup("entry-00002"); err != syscall.ENOENT {
				t.Errorf("removed entry: %v", err)
			}
		})
	}
}
