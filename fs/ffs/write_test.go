package ffs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"syscall"
	"testing"

	"github.com/rumpfs/rumpfs/internal/treetest"
	"github.com/rumpfs/rumpfs/vfs"
)

// copyIn writes tree into the mounted file system through the vnode
// operations.
func copyIn(t testing.TB, m vfs.Mount, tree *treetest.Tree) {
	t.Helper()
	cred := vfs.RootCred
	for _, e := range tree.Entries {
		dir := mustWalk(t, m, path.Dir(e.Path))
		name := path.Base(e.Path)
		var vn vfs.Vnode
		var err error
		switch e.Type {
		case treetest.Dir:
			vn, err = dir.Mkdir(cred, name, e.EffPerm())
		case treetest.File:
			vn, err = dir.Create(cred, name, e.EffPerm())
			if err == nil && e.Data != nil {
				writeContent(t, vn, e.Data)
			}
		case treetest.Symlink:
			vn, err = dir.Symlink(cred, name, e.Target)
		case treetest.Hardlink:
			tgt := mustWalk(t, m, e.Target)
			err = dir.Link(name, tgt)
			tgt.Rele()
		case treetest.Fifo:
			vn, err = dir.Mknod(cred, name, vfs.S_IFIFO|e.EffPerm(), 0)
		case treetest.CharDev:
			vn, err = dir.Mknod(cred, name, vfs.S_IFCHR|e.EffPerm(), e.Rdev)
		case treetest.BlockDev:
			vn, err = dir.Mknod(cred, name, vfs.S_IFBLK|e.EffPerm(), e.Rdev)
		}
		dir.Rele()
		if err != nil {
			t.Fatalf("creating %s %s: %v", e.Type, e.Path, err)
		}
		if vn != nil {
			sa := &vfs.SetAttr{Valid: vfs.SetUid | vfs.SetGid | vfs.SetMtime | vfs.SetMode, Uid: e.Uid, Gid: e.Gid, Mtime: e.EffMtime(), Mode: e.EffPerm()}
			if err := vn.(vfs.Setattrer).Setattr(sa); err != nil {
				t.Fatalf("setattr %s: %v", e.Path, err)
			}
			vn.Rele()
		}
	}
	// Directory mtimes last, as creating children changed them.
	for i := len(tree.Entries) - 1; i >= 0; i-- {
		e := tree.Entries[i]
		if e.Type != treetest.Dir {
			continue
		}
		n := mustWalk(t, m, e.Path)
		if err := n.Setattr(&vfs.SetAttr{Valid: vfs.SetMtime, Mtime: e.EffMtime()}); err != nil {
			t.Fatal(err)
		}
		n.Rele()
	}
}

// writeContent writes c in pieces of varying size, skipping holes of
// sparse content.
func writeContent(t testing.TB, vn vfs.Vnode, c treetest.Content) {
	t.Helper()
	w := vn.(vfs.Writer)
	if r, ok := c.(treetest.Regioner); ok {
		for _, reg := range r.Regions() {
			b := make([]byte, reg[1]) // {offset, length}
			c.ReadAt(b, reg[0])
			if _, err := w.Write(b, reg[0]); err != nil {
				t.Fatalf("write: %v", err)
			}
		}
		if sz := c.Size(); sz > 0 {
			if err := vn.(vfs.Setattrer).Setattr(&vfs.SetAttr{Valid: vfs.SetSize, Size: uint64(sz)}); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	size := c.Size()
	step := int64(777)
	for off := int64(0); off < size; {
		k := min(step, size-off)
		b := make([]byte, k)
		c.ReadAt(b, off)
		if n, err := w.Write(b, off); err != nil || int64(n) != k {
			t.Fatalf("write at %d: %d %v", off, n, err)
		}
		off += k
		step = step*3 + 1
		if step > 1<<20 {
			step = 4097
		}
	}
}

func emptyImage(t testing.TB, v variant, size string) string {
	t.Helper()
	src := t.TempDir()
	return makefs(t, v, src, size, "-f", "2000")
}

// remountCompare unmounts, checks and compares a fresh mount with tree.
func remountCompare(t *testing.T, m *mount, img string, tree *treetest.Tree, version int) {
	t.Helper()
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	checkClean(t, img)
	if version == 1 {
		sleuthCompare(t, img, tree)
	}
	m2 := mountImg(t, img, true, "")
	defer m2.Unmount()
	if !m2.Info().Clean {
		t.Error("file system not clean after unmount")
	}
	opts := ffsCompareOptions(version)
	opts.Expect = nil
	treetest.Compare(t, vnView{t, m2}, tree, opts)
}

var writeVariants = []variant{
	{1, "le", 4096, 512},
	{1, "be", 16384, 2048},
	{2, "le", 8192, 1024},
	{2, "be", 32768, 4096},
}

func TestWriteCopyIn(t *testing.T) {
	for _, v := range writeVariants {
		t.Run(v.String(), func(t *testing.T) {
			tree := richTree(false)
			if v.version == 1 {
				// UFS1 times are 32-bit.
				tree = tree.Filter(func(e *treetest.Entry) bool { return e.EffMtime().Unix() < 1<<31-1 })
			}
			img := emptyImage(t, v, "64m")
			m := mountImg(t, img, false, "")
			copyIn(t, m, tree)
			if err := m.Sync(); err != nil {
				t.Fatal(err)
			}
			remountCompare(t, m, img, tree, v.version)
		})
	}
}

func setSize(t testing.TB, vn vfs.Vnode, size int64) {
	t.Helper()
	if err := vn.(vfs.Setattrer).Setattr(&vfs.SetAttr{Valid: vfs.SetSize, Size: uint64(size)}); err != nil {
		t.Fatalf("truncate to %d: %v", size, err)
	}
}

// TestTruncateAppend grows and shrinks a file through fragment, block
// and indirect boundaries, checking content and the image each time.
func TestTruncateAppend(t *testing.T) {
	for _, v := range []variant{{1, "le", 4096, 512}, {2, "be", 8192, 1024}} {
		t.Run(v.String(), func(t *testing.T) {
			img := emptyImage(t, v, "64m")
			m := mountImg(t, img, false, "")
			root := mustWalk(t, m, ".")
			vn, err := root.Create(vfs.RootCred, "f", 0644)
			if err != nil {
				t.Fatal(err)
			}
			var want []byte
			nd := int64(12 * v.bsize)
			ni := nd + int64(v.bsize/4/v.version)*int64(v.bsize) // past single indirect (UFS1: bsize/4 pointers)
			sizes := []int64{100, 513, 1024, 3000, int64(v.bsize), int64(v.bsize) + 1, nd - 1, nd + 5, nd + 3*int64(v.bsize),
				ni + 10, 7, ni + 100000, 0, 5000, nd + 1, 2}
			for i, sz := range sizes {
				if sz > int64(len(want)) && i%2 == 0 {
					// Grow by appending data.
					add := treetest.Pattern{N: sz - int64(len(want)), Seed: uint64(i)}
					b := make([]byte, add.N)
					add.ReadAt(b, 0)
					if _, err := vn.(vfs.Writer).Write(b, int64(len(want))); err != nil {
						t.Fatalf("append to %d: %v", sz, err)
					}
					want = append(want, b...)
				} else {
					setSize(t, vn, sz)
					if sz < int64(len(want)) {
						want = want[:sz]
					} else {
						want = append(want, make([]byte, sz-int64(len(want)))...)
					}
				}
				got := readAll(t, vn)
				if !bytes.Equal(got, want) {
					t.Fatalf("step %d size %d: content differs", i, sz)
				}
				if err := m.Sync(); err != nil {
					t.Fatal(err)
				}
				t.Logf("step %d: size %d", i, sz)
				checkClean(t, img)
			}
			vn.Rele()
			root.Rele()
			if err := m.Unmount(); err != nil {
				t.Fatal(err)
			}
			checkClean(t, img)
			m2 := mountImg(t, img, true, "")
			defer m2.Unmount()
			f := mustWalk(t, m2, "f")
			defer f.Rele()
			if got := readAll(t, f); !bytes.Equal(got, want) {
				t.Fatal("content differs after remount")
			}
		})
	}
}

func TestRenameUnlinkRmdir(t *testing.T) {
	for _, v := range []variant{{1, "be", 8192, 1024}, {2, "le", 16384, 2048}} {
		t.Run(v.String(), func(t *testing.T) {
			tree := treetest.New()
			tree.File("a/f1", treetest.String("one\n"))
			tree.File("a/f2", treetest.Pattern{N: 20000, Seed: 1})
			tree.File("b/g", treetest.String("gee\n"))
			tree.Dir("a/sub/deeper")
			tree.File("a/sub/deeper/x", treetest.String("x\n"))
			tree.Dir("c")
			src := t.TempDir()
			tree = treetest.Write(t, src, tree)
			img := makefs(t, v, src, "32m", "-f", "1000")
			m := mountImg(t, img, false, "")
			a, b, c := mustWalk(t, m, "a"), mustWalk(t, m, "b"), mustWalk(t, m, "c")
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			// File rename within and across directories, over a file.
			must(a.Rename("f1", a, "f1-renamed"))
			must(a.Rename("f2", b, "g"))
			// Directory moved to another parent: ".." and link counts.
			must(a.Rename("sub", c, "moved"))
			// A directory cannot go under itself.
			moved := mustWalk(t, m, "c/moved")
			if err := c.Rename("moved", moved, "x"); err != syscall.EINVAL {
				t.Errorf("rename under itself: %v, want EINVAL", err)
			}
			// rmdir of a non-empty directory, then empty it.
			if err := moved.Rmdir("deeper"); err != syscall.ENOTEMPTY {
				t.Errorf("rmdir non-empty: %v", err)
			}
			deeper := mustWalk(t, m, "c/moved/deeper")
			must(deeper.Remove("x"))
			deeper.Rele()
			must(moved.Rmdir("deeper"))
			moved.Rele()
			// Unlink of an open file keeps its data until released.
			f := mustWalk(t, m, "b/g")
			must(b.Remove("g"))
			if got := readAll(t, f); len(got) != 20000 {
				t.Errorf("open unlinked file reads %d bytes", len(got))
			}
			f.Rele()
			// Directory renamed over an empty directory.
			d1, err := c.Mkdir(vfs.RootCred, "d1", 0755)
			must(err)
			d1.Rele()
			must(c.Rename("moved", c, "d1"))
			// Many entries, then delete most: compaction and reuse.
			for i := 0; i < 300; i++ {
				vn, err := c.Create(vfs.RootCred, fmt.Sprintf("file-with-a-longish-name-%03d", i), 0644)
				must(err)
				vn.Rele()
			}
			for i := 0; i < 300; i++ {
				if i%3 != 0 {
					must(c.Remove(fmt.Sprintf("file-with-a-longish-name-%03d", i)))
				}
			}
			for i := 0; i < 50; i++ {
				vn, err := c.Create(vfs.RootCred, fmt.Sprintf("n%d", i), 0600)
				must(err)
				vn.Rele()
			}
			a.Rele()
			b.Rele()
			c.Rele()
			want := treetest.New()
			for _, e := range tree.Entries {
				switch e.Path {
				case "a/f1", "a/f2", "b/g", "a/sub", "a/sub/deeper", "a/sub/deeper/x", "a", "b", "c":
					continue
				}
				want.Add(*e)
			}
			want.Dir("a")
			want.Dir("b")
			want.Dir("c")
			want.File("a/f1-renamed", treetest.String("one\n"))
			want.Dir("c/d1")
			for i := 0; i < 300; i += 3 {
				want.File(fmt.Sprintf("c/file-with-a-longish-name-%03d", i), nil)
			}
			for i := 0; i < 50; i++ {
				want.File(fmt.Sprintf("c/n%d", i), nil).Perm = 0600
			}
			if err := m.Unmount(); err != nil {
				t.Fatal(err)
			}
			checkClean(t, img)
			m2 := mountImg(t, img, true, "")
			defer m2.Unmount()
			opts := ffsCompareOptions(v.version)
			opts.NoMtime = true
			opts.NoOwner = true
			treetest.Compare(t, vnView{t, m2}, want, opts)
			d := mustWalk(t, m2, "c/d1")
			if a, _ := d.Getattr(); a.Nlink != 2 {
				t.Errorf("c/d1 nlink %d", a.Nlink)
			}
			d.Rele()
		})
	}
}

// TestENOSPC fills a small image and checks it stays consistent.
func TestENOSPC(t *testing.T) {
	for _, v := range []variant{{1, "le", 4096, 512}, {2, "be", 8192, 1024}} {
		t.Run(v.String(), func(t *testing.T) {
			img := emptyImage(t, v, "2m")
			m := mountImg(t, img, false, "")
			root := mustWalk(t, m, ".")
			var err error
			var files int
			for i := 0; err == nil && i < 10000; i++ {
				var vn vfs.Vnode
				vn, err = root.Create(vfs.RootCred, fmt.Sprintf("f%d", i), 0644)
				if err != nil {
					break
				}
				files++
				_, err = vn.(vfs.Writer).Write(make([]byte, 100000+i*37), 0)
				vn.Rele()
			}
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling: %v, want ENOSPC", err)
			}
			// A long name is refused without damage.
			if _, err := root.Create(vfs.RootCred, string(bytes.Repeat([]byte("n"), 256)), 0644); err != syscall.ENAMETOOLONG {
				t.Errorf("256-byte name: %v", err)
			}
			root.Rele()
			if err := m.Unmount(); err != nil {
				t.Fatal(err)
			}
			checkClean(t, img)
			// Free it all again.
			m = mountImg(t, img, false, "")
			root = mustWalk(t, m, ".")
			for i := 0; i < files; i++ {
				if err := root.Remove(fmt.Sprintf("f%d", i)); err != nil {
					t.Fatal(err)
				}
			}
			root.Rele()
			if err := m.Unmount(); err != nil {
				t.Fatal(err)
			}
			checkClean(t, img)
		})
	}
}

var _ = os.Getpid
