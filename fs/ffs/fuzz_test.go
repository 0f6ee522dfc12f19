package ffs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/dev"
	"github.com/rumpfs/rumpfs/internal/treetest"
	"github.com/rumpfs/rumpfs/vfs"
)

// Fuzz inputs are images in a compact form so that seeds stay small: a
// 0x00 byte followed by k stands for k+1 zero bytes; the image is padded
// with zeros to a multiple of 64 KiB and capped at maxFuzzImage.
const maxFuzzImage = 4 << 20

func expandImage(in []byte) []byte {
	out := make([]byte, 0, 256<<10)
	for i := 0; i < len(in) && len(out) < maxFuzzImage; i++ {
		c := in[i]
		if c == 0 && i+1 < len(in) {
			i++
			out = append(out, make([]byte, int(in[i])+1)...)
			continue
		}
		out = append(out, c)
	}
	if len(out) > maxFuzzImage {
		out = out[:maxFuzzImage]
	}
	// makefs seeds are 256 KiB; their zero tail is left out.
	if len(out) < 256<<10 {
		out = append(out, make([]byte, 256<<10-len(out))...)
	}
	if r := len(out) % (64 << 10); r != 0 {
		out = append(out, make([]byte, 64<<10-r)...)
	}
	return out
}

func compactImage(img []byte) []byte {
	for len(img) > 0 && img[len(img)-1] == 0 {
		img = img[:len(img)-1]
	}
	var out []byte
	for i := 0; i < len(img); {
		if img[i] != 0 {
			out = append(out, img[i])
			i++
			continue
		}
		n := 0
		for i+n < len(img) && img[i+n] == 0 && n < 256 {
			n++
		}
		out = append(out, 0, byte(n-1))
		i += n
	}
	return out
}

// fuzzWalk visits at most a bounded number of vnodes, reading a little
// of each.
func fuzzWalk(m vfs.Mount) {
	root, err := m.Root()
	if err != nil {
		return
	}
	budget := 300
	var walk func(vn vfs.Vnode, depth int)
	walk = func(vn vfs.Vnode, depth int) {
		a, err := vn.Getattr()
		if err != nil {
			return
		}
		switch {
		case a.IsDir():
			if depth > 8 {
				return
			}
			var names []string
			vn.Readdir(0, func(d vfs.Dirent) bool {
				if d.Name != "." && d.Name != ".." {
					names = append(names, d.Name)
				}
				return len(names) < 50
			})
			for _, name := range names {
				if budget--; budget < 0 {
					return
				}
				c, err := vn.Lookup(name)
				if err != nil {
					continue
				}
				walk(c, depth+1)
				c.Rele()
			}
		case a.Mode&vfs.S_IFMT == vfs.S_IFLNK:
			vn.Readlink()
		default:
			buf := make([]byte, 64<<10)
			vn.Read(buf, 0)
			vn.Read(buf[:100], int64(a.Size)-50)
		}
		if x, ok := vn.(vfs.Xattrer); ok {
			x.Listxattr()
		}
	}
	walk(root, 0)
	root.Rele()
}

func fuzzOne(t *testing.T, data []byte) {
	img := expandImage(data)
	ro := dev.NewMem(img, true)
	if !(FS{}).Probe(ro) {
		return
	}
	Check(ro, CheckOptions{MaxProblems: 20})
	if m, err := (FS{}).Mount(ro, &vfs.MountArgs{ReadOnly: true, Options: vfs.Options{"force": ""}}); err == nil {
		fuzzWalk(m)
		m.Statfs()
		m.Info()
		m.Unmount()
	}
	cp := append([]byte(nil), img...)
	rw := dev.NewMem(cp, false)
	m, err := (FS{}).Mount(rw, &vfs.MountArgs{})
	if err != nil {
		return
	}
	if root, err := m.Root(); err == nil {
		if vn, err := root.(vfs.Creator).Create(vfs.RootCred, "fuzz-new", 0644); err == nil {
			vn.(vfs.Writer).Write(make([]byte, 70000), 3)
			vn.(vfs.Setattrer).Setattr(&vfs.SetAttr{Valid: vfs.SetSize, Size: 100})
			vn.Rele()
		}
		if vn, err := root.(vfs.Mkdirer).Mkdir(vfs.RootCred, "fuzz-dir", 0755); err == nil {
			vn.Rele()
		}
		root.(vfs.Remover).Remove("fuzz-new")
		root.(vfs.Remover).Rmdir("fuzz-dir")
		root.Rele()
	}
	m.Unmount()
}

// TestFuzzSeedsMount makes sure the committed seeds are real images.
func TestFuzzSeedsMount(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzFFS", "*"))
	if len(files) == 0 {
		t.Fatal("no fuzz seeds")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var data []byte
		if _, err := fmt.Sscanf(strings.SplitN(string(b), "\n", 2)[1], "[]byte(%q)", &data); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		img := expandImage(data)
		d := dev.NewMem(img, true)
		r, err := Check(d, CheckOptions{})
		if err != nil || !r.Clean() {
			t.Errorf("%s: check: %v %v", f, err, r.Problems)
		}
		m, err := (FS{}).Mount(d, &vfs.MountArgs{ReadOnly: true})
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		m.Unmount()
	}
}

func FuzzFFS(f *testing.F) {
	f.Fuzz(fuzzOne)
}

// TestGenFuzzCorpus rebuilds testdata/fuzz/FuzzFFS from makefs images
// when FFS_GEN_CORPUS=1.
func TestGenFuzzCorpus(t *testing.T) {
	if os.Getenv("FFS_GEN_CORPUS") != "1" {
		t.Skip("set FFS_GEN_CORPUS=1 to regenerate the fuzz seeds")
	}
	tree := treetest.New()
	tree.File("a", treetest.String("hello\n"))
	tree.File("d/b", treetest.Pattern{N: 5000, Seed: 1})
	tree.Symlink("l", "a")
	tree.Symlink("long", string(make60()))
	tree.Link("d/hl", "a")
	tree.Fifo("p")
	src := t.TempDir()
	treetest.Write(t, src, tree)
	dir := filepath.Join("testdata", "fuzz", "FuzzFFS")
	os.MkdirAll(dir, 0755)
	for _, v := range []variant{{1, "le", 4096, 512}, {1, "be", 4096, 1024}, {2, "le", 4096, 512}, {2, "be", 8192, 1024}} {
		img := makefs(t, v, src, "256k", "-f", "30")
		b, err := os.ReadFile(img)
		if err != nil {
			t.Fatal(err)
		}
		data := compactImage(b)
		enc := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		if err := os.WriteFile(filepath.Join(dir, v.String()), []byte(enc), 0644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes compact", v, len(data))
	}
}
