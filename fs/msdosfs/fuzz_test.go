package msdosfs

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rumpfs/rumpfs/dev"
	"github.com/rumpfs/rumpfs/vfs"
)

// fuzzImage turns fuzz input into an image: the input is the head of the
// image (seeds are mkfs.fat images with their trailing zeros cut), padded
// with zeros to the size the BPB declares, within bounds.
func fuzzImage(data []byte) []byte {
	size := int64(len(data))
	if len(data) >= 512 {
		p := decodeBPB(data)
		want := int64(p.totalSectors()) * int64(p.BytesPerSec)
		if want > size && want <= 8<<20 {
			size = want
		}
	}
	img := make([]byte, size)
	copy(img, data)
	return img
}

// exercise walks and reads a mounted volume within fixed bounds, then
// (rw) makes a few changes.
func exercise(m vfs.Mount, rw bool) {
	r, err := m.Root()
	if err != nil {
		return
	}
	budget := 300
	buf := make([]byte, 64<<10)
	var walk func(n vfs.Vnode, depth int)
	walk = func(n vfs.Vnode, depth int) {
		if depth > 8 || budget <= 0 {
			return
		}
		var names []string
		n.Readdir(0, func(d vfs.Dirent) bool {
			names = append(names, d.Name)
			return len(names) < 100
		})
		for _, nm := range names {
			if nm == "." || nm == ".." || budget <= 0 {
				continue
			}
			budget--
			c, err := n.Lookup(nm)
			if err != nil {
				continue
			}
			a, _ := c.Getattr()
			if a.IsDir() {
				walk(c, depth+1)
			} else {
				for off := int64(0); off < 1<<20; off += int64(len(buf)) {
					k, err := c.Read(buf, off)
					if k == 0 || err != nil {
						break
					}
				}
				if rw {
					c.(*node).Write([]byte("fuzz"), 3)
					c.(*node).Setattr(&vfs.SetAttr{Valid: vfs.SetSize, Size: 1})
				}
			}
			c.Rele()
		}
	}
	walk(r, 0)
	if rw {
		rn := r.(*node)
		if c, err := rn.Create(vfs.RootCred, "new file.txt", 0644); err == nil {
			c.(*node).Write(make([]byte, 5000), 0)
			c.Rele()
		}
		if d, err := rn.Mkdir(vfs.RootCred, "new dir", 0755); err == nil {
			d.Rele()
		}
		rn.Rename("new file.txt", rn, "NEW FILE.TXT")
		var first string
		rn.Readdir(0, func(d vfs.Dirent) bool {
			if d.Name != "." && d.Name != ".." {
				first = d.Name
				return false
			}
			return true
		})
		if first != "" {
			rn.Remove(first)
			rn.Rmdir(first)
		}
	}
	r.Rele()
}

func FuzzMsdos(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/fuzz/FuzzMsdos/*")
	if len(seeds) == 0 {
		f.Add(make([]byte, 512))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		img := fuzzImage(data)
		d := dev.NewMem(img, true)
		fsType{}.Probe(d)
		if m, err := (fsType{}).Mount(d, &vfs.MountArgs{ReadOnly: true}); err == nil {
			exercise(m, false)
			m.Unmount()
		}
		d2 := dev.NewMem(append([]byte(nil), img...), false)
		if m, err := (fsType{}).Mount(d2, &vfs.MountArgs{}); err == nil {
			exercise(m, true)
			m.Unmount()
		}
	})
}

// TestMakeFuzzSeeds regenerates the seed corpus (go test -run
// TestMakeFuzzSeeds -makeseeds).
func TestMakeFuzzSeeds(t *testing.T) {
	if os.Getenv("MSDOS_MAKE_SEEDS") == "" {
		t.Skip("set MSDOS_MAKE_SEEDS=1 to regenerate testdata/fuzz/FuzzMsdos")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzMsdos")
	os.MkdirAll(dir, 0755)
	for _, s := range []struct {
		name string
		kib  int
		args []string
	}{
		{"fat12", 200, []string{"-F", "12", "-r", "64", "-s", "1"}},
		{"fat16", 2200, []string{"-F", "16", "-r", "64", "-s", "1", "-f", "1"}},
		{"fat32", 1100, []string{"-F", "32", "-s", "1", "-f", "1", "-R", "8", "-b", "6"}},
	} {
		img := mkfs(t, s.kib, s.args...)
		src := t.TempDir()
		writeFile(t, filepath.Join(src, "a.txt"), []byte("hello"))
		writeFile(t, filepath.Join(src, "Long File Name.text"), make([]byte, 700))
		writeFile(t, filepath.Join(src, "sub", "inner file"), []byte("in"))
		if s.name == "fat32" {
			// mtools decides FAT32 by cluster count and cannot fill a
			// volume this small: fill it through the file system itself.
			tm := mountImg(t, img, false, "")
			r, _ := tm.m.Root()
			copyIn(t, r.(*node), src)
			r.Rele()
			tm.unmount(t)
		} else {
			mcopyIn(t, img, src)
		}
		fsck(t, img)
		b, _ := os.ReadFile(img)
		end := len(b)
		for end > 0 && b[end-1] == 0 {
			end--
		}
		b = b[:end]
		out := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, s.name), []byte(out), 0644); err != nil {
			t.Fatal(err)
		}
	}
}
