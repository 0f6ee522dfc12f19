package msdosfs

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rumpfs/rumpfs/dev"
	"github.com/rumpfs/rumpfs/vfs"
)

// corruptFixture makes a FAT16 image holding /file (several clusters) and
// /dir (a directory with entries in two clusters) and returns its bytes
// with the geometry and the first clusters of both.
func corruptFixture(t *testing.T) ([]byte, *geometry, uint32, uint32) {
	img := mkfs(t, 20000, "-F", "16", "-s", "1")
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "file"), bytes.Repeat([]byte("data"), 1000))
	for i := 0; i < 40; i++ {
		writeFile(t, filepath.Join(src, "dir", strings.Repeat("n", 20)+string(rune('a'+i%26))+string(rune('a'+i/26))), []byte("x"))
	}
	mcopyIn(t, img, src)
	tm := mountImg(t, img, true, "")
	f := tm.mustWalk(t, "file")
	d := tm.mustWalk(t, "dir")
	fc, dc := f.start(), d.start()
	f.Rele()
	d.Rele()
	g := tm.m.geometry
	tm.unmount(t)
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	return b, &g, fc, dc
}

func setFAT16(b []byte, g *geometry, c uint32, v uint16) {
	for i := 0; i < g.numFATs; i++ {
		binary.LittleEndian.PutUint16(b[g.fatOff+int64(i)*g.fatBytes+int64(c)*2:], v)
	}
}

func mountMem(t *testing.T, b []byte, ro bool) (vfs.Mount, error) {
	d := dev.NewMem(append([]byte(nil), b...), ro)
	return fsType{}.Mount(d, &vfs.MountArgs{ReadOnly: ro})
}

func TestCorruptChains(t *testing.T) {
	base, g, fc, dc := corruptFixture(t)
	for _, c := range []struct {
		name string
		clus uint32
		v    uint16
	}{
		{"file loop", fc + 3, uint16(fc)},
		{"file leaves volume", fc + 2, 0xFFF0},
		{"file cluster 1", fc + 1, 1},
		{"file free cluster", fc + 1, 0},
		{"file bad cluster", fc + 1, 0xFFF7},
		{"dir loop", dc, uint16(dc)},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := append([]byte(nil), base...)
			setFAT16(b, g, c.clus, c.v)
			for _, ro := range []bool{true, false} {
				m, err := mountMem(t, b, ro)
				if err != nil {
					t.Fatal(err)
				}
				r, _ := m.Root()
				rn := r.(*node)
				if strings.HasPrefix(c.name, "file") {
					f, err := rn.Lookup("file")
					if err != nil {
						t.Fatal(err)
					}
					buf := make([]byte, 8000)
					if _, err := f.Read(buf, 0); err != syscall.EIO {
						t.Errorf("read: %v, want EIO", err)
					}
					if !ro {
						if _, err := f.(*node).Write([]byte("more"), 4000); err != syscall.EIO {
							t.Errorf("append: %v, want EIO", err)
						}
					}
					f.Rele()
				} else {
					d, err := rn.Lookup("dir")
					if err != nil {
						t.Fatal(err)
					}
					if err := d.Readdir(0, func(vfs.Dirent) bool { return true }); err != syscall.EIO {
						t.Errorf("readdir: %v, want EIO", err)
					}
					if _, err := d.Lookup("x"); err != syscall.EIO {
						t.Errorf("lookup: %v, want EIO", err)
					}
					if !ro {
						if _, err := d.(*node).Create(vfs.RootCred, "new", 0644); err != syscall.EIO {
							t.Errorf("create: %v, want EIO", err)
						}
					}
					d.Rele()
				}
				r.Rele()
				m.Unmount()
			}
		})
	}
}

func TestCorruptBPB(t *testing.T) {
	base, _, _, _ := corruptFixture(t)
	for _, c := range []struct {
		name string
		off  int
		val  []byte
		want string
	}{
		{"bytes per sector 0", 11, []byte{0, 0}, "bytes per sector"},
		{"bytes per sector 1000", 11, []byte{0xE8, 0x03}, "bytes per sector"},
		{"sectors per cluster 0", 13, []byte{0}, "sectors per cluster"},
		{"sectors per cluster 3", 13, []byte{3}, "sectors per cluster"},
		{"reserved 0", 14, []byte{0, 0}, "reserved"},
		{"FATs 0", 16, []byte{0}, "number of FATs"},
		{"root entries 0", 17, []byte{0, 0}, ""},
		{"total sectors 0", 19, []byte{0, 0}, "total sector"},
		{"FAT size 0", 22, []byte{0, 0}, ""},
		{"signature", 510, []byte{0, 0}, "signature"},
		{"jump", 0, []byte{0}, "jump"},
		{"huge FAT", 22, []byte{0xFF, 0xFF}, "data area"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := append([]byte(nil), base...)
			copy(b[c.off:], c.val)
			if c.name == "total sectors 0" {
				copy(b[32:], []byte{0, 0, 0, 0})
			}
			_, err := mountMem(t, b, true)
			if err == nil || !strings.HasPrefix(err.Error(), "msdos: ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("mount: %v (want an error about %q)", err, c.want)
			}
			if (fsType{}).Probe(dev.NewMem(b, true)) {
				t.Errorf("probe accepted it")
			}
		})
	}
}

// TestCorruptNames: an orphaned long-name entry (bad checksum) is ignored
// and the short name used, as Windows does.
func TestCorruptNames(t *testing.T) {
	img := mkfs(t, 2000, "-F", "12")
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "A Long Name.txt"), []byte("x"))
	mcopyIn(t, img, src)
	b, _ := os.ReadFile(img)
	g, err := readGeometry(dev.NewMem(b, true), false)
	if err != nil {
		t.Fatal(err)
	}
	root := b[g.rootOff:]
	found := false
	for i := 0; i < 16; i++ {
		e := root[i*32 : i*32+32]
		if isLFN(e) {
			e[13] ^= 0xFF // break the checksum
			found = true
		}
	}
	if !found {
		t.Fatal("no long-name entry in fixture")
	}
	m, err := mountMem(t, b, true)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := m.Root()
	if got := names(t, r.(*node)); len(got) != 1 || got[0] != "ALONGN~1.TXT" {
		t.Errorf("names %q", got)
	}
	r.Rele()
}
