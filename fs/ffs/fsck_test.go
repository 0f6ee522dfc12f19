package ffs

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/rumpfs/rumpfs/fs/ffs/layout"
	"github.com/rumpfs/rumpfs/internal/treetest"
	"github.com/rumpfs/rumpfs/vfs"
)

// TestCheckMakefsClean: every makefs variant, block sizes 4-64 KiB with
// every fragment ratio the checker must call clean.
func TestCheckMakefsClean(t *testing.T) {
	tree := treetest.New()
	tree.File("a", treetest.Pattern{N: 3000, Seed: 1})
	tree.File("b", treetest.Pattern{N: 200000, Seed: 2})
	tree.Symlink("s", "a")
	tree.Dir("d/e")
	src := t.TempDir()
	treetest.Write(t, src, tree)
	var vs []variant
	for _, ver := range []int{1, 2} {
		for _, e := range []string{"le", "be"} {
			for _, bs := range []int{4096, 8192, 16384, 32768, 65536} {
				for _, ratio := range []int{1, 2, 4, 8} {
					if testing.Short() && ratio != 8 && ratio != 1 {
						continue
					}
					vs = append(vs, variant{ver, e, bs, bs / ratio})
				}
			}
		}
	}
	for _, v := range vs {
		img := makefs(t, v, src, "24m")
		checkClean(t, img)
		m := mountImg(t, img, true, "")
		treetest.Compare(t, vnView{t, m}, tree, treetest.Options{NoOwner: true, NoMtime: true, NoPerm: true})
		m.Unmount()
	}
}

// corruptImage is a small image and the facts needed to damage it.
type corruptImage struct {
	img string
	g   *geom
	m   *mount
}

func newCorrupt(t *testing.T, v variant) *corruptImage {
	tree := treetest.New()
	tree.File("small", treetest.String("small file\n"))
	tree.File("big", treetest.Pattern{N: 20 * int64(v.bsize), Seed: 3})
	tree.Dir("dir")
	for _, n := range []string{"x", "y", "z"} {
		tree.File("dir/"+n, treetest.String(n))
	}
	src := t.TempDir()
	treetest.Write(t, src, tree)
	img := makefs(t, v, src, "8m")
	checkClean(t, img)
	m := mountImg(t, img, true, "")
	return &corruptImage{img: img, g: m.g, m: m}
}

func (c *corruptImage) inode(t *testing.T, p string) *node {
	n := mustWalk(t, c.m, p)
	n.Rele()
	return n
}

func (c *corruptImage) patch(t *testing.T, off int64, b []byte) {
	f, err := os.OpenFile(c.img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func (c *corruptImage) u32(v uint32) []byte {
	b := make([]byte, 4)
	c.g.bo.PutUint32(b, v)
	return b
}

func (c *corruptImage) ptr(v int64) []byte {
	if c.g.ufs2 {
		b := make([]byte, 8)
		c.g.bo.PutUint64(b, uint64(v))
		return b
	}
	return c.u32(uint32(v))
}

// dbOffset is the byte offset of direct pointer i of inode ino.
func (c *corruptImage) dbOffset(ino uint64, i int) int64 {
	if c.g.ufs2 {
		return c.g.inoOffset(ino) + 112 + int64(i)*8
	}
	return c.g.inoOffset(ino) + 40 + int64(i)*4
}

func expectProblem(t *testing.T, img, want string) {
	t.Helper()
	r, err := Check(openDev(t, img, true), CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.Problems {
		if strings.Contains(p, want) {
			return
		}
	}
	t.Errorf("check did not report %q; got:\n%s", want, strings.Join(r.Problems, "\n"))
}

func TestCheckCorruptions(t *testing.T) {
	for _, v := range []variant{{1, "be", 4096, 512}, {2, "le", 8192, 1024}} {
		v := v
		t.Run(v.String(), func(t *testing.T) {
			t.Run("cg-magic", func(t *testing.T) {
				c := newCorrupt(t, v)
				c.patch(t, c.g.cgtod(0)<<c.g.fshift+4, c.u32(0x12345))
				c.m.Unmount()
				expectProblem(t, c.img, "cylinder group 0: bad magic")
				// Reading still works; changing the group gives EIO.
				m := mountImg(t, c.img, false, "")
				root := mustWalk(t, m, ".")
				if _, err := root.Create(vfs.RootCred, "new", 0644); !errors.Is(err, syscall.EIO) {
					t.Errorf("create with bad cg: %v, want EIO", err)
				}
				root.Rele()
				m.Unmount()
			})
			t.Run("pointer-past-end", func(t *testing.T) {
				c := newCorrupt(t, v)
				ino := c.inode(t, "small").ino
				c.m.Unmount()
				c.patch(t, c.dbOffset(ino, 0), c.ptr(c.g.size+100))
				expectProblem(t, c.img, "out of range")
				m := mountImg(t, c.img, true, "")
				f := mustWalk(t, m, "small")
				if _, err := f.Read(make([]byte, 10), 0); err != syscall.EIO {
					t.Errorf("read: %v, want EIO", err)
				}
				f.Rele()
				m.Unmount()
			})
			t.Run("reclen-zero", func(t *testing.T) {
				c := newCorrupt(t, v)
				d := c.inode(t, "dir")
				c.m.Unmount()
				// The third entry of dir's first chunk ("." 12, ".." 12).
				c.patch(t, d.db[0]<<c.g.fshift+24+4, []byte{0, 0})
				expectProblem(t, c.img, "bad reclen 0")
				m := mountImg(t, c.img, true, "")
				dn := mustWalk(t, m, "dir")
				if _, err := dn.Lookup("z"); err != syscall.EIO {
					t.Errorf("lookup in bad dir: %v, want EIO", err)
				}
				dn.Rele()
				m.Unmount()
			})
			t.Run("reclen-crossing", func(t *testing.T) {
				c := newCorrupt(t, v)
				d := c.inode(t, "dir")
				c.m.Unmount()
				b := make([]byte, 2)
				c.g.bo.PutUint16(b, 1024)
				c.patch(t, d.db[0]<<c.g.fshift+12+4, b) // ".."
				expectProblem(t, c.img, "crosses a 512-byte directory block")
			})
			t.Run("ncg-absurd", func(t *testing.T) {
				c := newCorrupt(t, v)
				c.m.Unmount()
				c.patch(t, c.g.sbloc+44, c.u32(0x7fffffff))
				expectProblem(t, c.img, "fs_ncg")
				d := openDev(t, c.img, true)
				if (FS{}).Probe(d) {
					t.Error("probe accepted absurd fs_ncg")
				}
				if _, err := (FS{}).Mount(d, &vfs.MountArgs{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "fs_ncg") {
					t.Errorf("mount: %v", err)
				}
			})
			t.Run("indirect-loop", func(t *testing.T) {
				c := newCorrupt(t, v)
				big := c.inode(t, "big")
				c.m.Unmount()
				ind := big.ib[0]
				if ind == 0 {
					t.Fatal("big has no indirect block")
				}
				c.patch(t, ind<<c.g.fshift, c.ptr(ind))
				expectProblem(t, c.img, "claimed twice")
				m := mountImg(t, c.img, true, "")
				f := mustWalk(t, m, "big")
				buf := make([]byte, 20*v.bsize)
				f.Read(buf, 0) // must end; the content is wrong
				f.Rele()
				m.Unmount()
			})
			t.Run("cs-nbfree", func(t *testing.T) {
				c := newCorrupt(t, v)
				cs := c.m.csum[0]
				c.m.Unmount()
				c.patch(t, c.g.cgtod(0)<<c.g.fshift+24+4, c.u32(uint32(cs.Nbfree+5)))
				expectProblem(t, c.img, "cylinder group 0: summary")
			})
			t.Run("inode-bitmap", func(t *testing.T) {
				c := newCorrupt(t, v)
				ino := c.inode(t, "small").ino
				cg, _ := decodeCG(c.g, 0, c.readCG(t))
				c.m.Unmount()
				off := c.g.cgtod(0)<<c.g.fshift + int64(cg.Iusedoff) + int64(ino)/8
				b := c.readAt(t, off, 1)
				b[0] &^= 1 << (ino % 8)
				c.patch(t, off, b)
				expectProblem(t, c.img, "in use but free in the map")
			})
			t.Run("link-count", func(t *testing.T) {
				c := newCorrupt(t, v)
				ino := c.inode(t, "small").ino
				c.m.Unmount()
				b := make([]byte, 2)
				c.g.bo.PutUint16(b, 3)
				c.patch(t, c.g.inoOffset(ino)+2, b)
				expectProblem(t, c.img, "link count 3, references 1")
			})
		})
	}
}

func (c *corruptImage) readAt(t *testing.T, off int64, n int) []byte {
	f, err := os.Open(c.img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	return b
}

func (c *corruptImage) readCG(t *testing.T) []byte {
	return c.readAt(t, c.g.cgtod(0)<<c.g.fshift, int(c.g.cgsize))
}

var _ = layout.CG_MAGIC
