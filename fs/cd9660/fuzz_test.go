package cd9660

import (
	"encoding/binary"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/rumpfs/rumpfs/vfs"
)

// Fuzz inputs are images in a compact form, so that seeds stay small
// although an ISO image is mostly zeros: the 32 KiB system area is implied,
// a 0x00 byte followed by k stands for k+1 zero bytes, and the image is
// padded with zeros up to the volume size the first descriptor claims.
const maxFuzzImage = 4 << 20

func expandImage(in []byte) []byte {
	out := make([]byte, 16*2048, 64*1024)
	for i := 0; i < len(in) && len(out) < maxFuzzImage; i++ {
		c := in[i]
		if c == 0 && i+1 < len(in) {
			i++
			out = append(out, make([]byte, int(in[i])+1)...)
			continue
		}
		out = append(out, c)
	}
	if len(out) >= 16*2048+88 {
		want := int64(binary.LittleEndian.Uint32(out[16*2048+80:])) * 2048
		if want > maxFuzzImage {
			want = maxFuzzImage
		}
		if want > int64(len(out)) {
			out = append(out, make([]byte, want-int64(len(out)))...)
		}
	}
	return out
}

func compactImage(img []byte) []byte {
	img = img[16*2048:]
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

func FuzzMount(f *testing.F) {
	f.Add(compactImage(newImage(20).b))
	f.Fuzz(func(t *testing.T, data []byte) {
		img := expandImage(data)
		d := &memDev{b: img, name: "fuzz.iso"}
		(FS{}).Probe(d)
		for _, opts := range []string{"", "norrip,extatt"} {
			m, err := FS{}.Mount(d, &vfs.MountArgs{Options: vfs.ParseOptions(nil, opts)})
			if err != nil {
				continue
			}
			fuzzWalk(t, m)
			m.Info()
			m.Statfs()
			m.Unmount()
		}
	})
}

// fuzzWalk visits at most a few thousand vnodes, reading everything.
func fuzzWalk(t *testing.T, m vfs.Mount) {
	root, err := m.Root()
	if err != nil {
		t.Fatalf("mounted but no root: %v", err)
	}
	type item struct {
		vn    vfs.Vnode
		depth int
	}
	queue := []item{{root, 0}}
	seen := map[uint64]bool{}
	visits := 0
	buf := make([]byte, 64<<10)
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		vn := it.vn
		visits++
		a, err := vn.Getattr()
		if err != nil || visits > 2000 {
			vn.Rele()
			continue
		}
		switch a.Mode & vfs.S_IFMT {
		case vfs.S_IFDIR:
			if seen[a.Ino] || it.depth > 24 {
				break
			}
			seen[a.Ino] = true
			var names []string
			n := 0
			vn.Readdir(0, func(e vfs.Dirent) bool {
				if n == 0 && e.Name != "." || n == 1 && e.Name != ".." {
					t.Errorf("listing starts with %q", e.Name)
				}
				n++
				if n > 2 {
					names = append(names, e.Name)
				}
				return n < 5000
			})
			for _, name := range append(names, ".", "..") {
				c, err := vn.Lookup(name)
				if err != nil {
					continue
				}
				if name == "." || name == ".." {
					c.Rele()
					continue
				}
				queue = append(queue, item{c, it.depth + 1})
			}
		case vfs.S_IFREG:
			for off := int64(0); off < int64(a.Size) && off < 1<<20; {
				k, err := vn.Read(buf, off)
				if err != nil || k == 0 {
					break
				}
				off += int64(k)
			}
		case vfs.S_IFLNK:
			vn.Readlink()
		}
		vn.Rele()
	}
}

// TestGenerateFuzzSeeds writes the seed corpus; run it once with
// RUMPFS_GEN_SEEDS=1 after changing it. The seeds are committed.
func TestGenerateFuzzSeeds(t *testing.T) {
	if os.Getenv("RUMPFS_GEN_SEEDS") != "1" {
		t.Skip("set RUMPFS_GEN_SEEDS=1 to rewrite testdata/fuzz/FuzzMount")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "t")
	writeFile(t, filepath.Join(src, "a.txt"), []byte("hello\n"))
	writeFile(t, filepath.Join(src, "sub/Long Name File.txt"), []byte("x"))
	writeFile(t, filepath.Join(src, "sub/d1/d2/d3/d4/d5/d6/d7/d8/d9/deep"), []byte("deep"))
	os.Symlink("../a.txt", filepath.Join(src, "sub/link"))
	os.Link(filepath.Join(src, "a.txt"), filepath.Join(src, "hard"))
	seeds := map[string][]byte{}
	for name, args := range map[string][]string{
		"xorriso-rr-joliet": {"xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "--hardlinks", "-no-pad"},
		"genisoimage-rr":    {"genisoimage", "-quiet", "-R"},
		"genisoimage-plain": {"genisoimage", "-quiet"},
	} {
		iso := filepath.Join(dir, name+".iso")
		needTool(t, args[0])
		out, err := exec.Command(args[0], append(args[1:], "-o", iso, src)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		img, _ := os.ReadFile(iso)
		seeds[name] = compactImage(img)
		// Corrupt variants: bytes flipped in the descriptors and
		// directories, and a cut.
		r := rand.New(rand.NewSource(int64(len(name))))
		c := append([]byte(nil), seeds[name]...)
		for i := 0; i < 40; i++ {
			c[r.Intn(len(c))] ^= byte(r.Intn(255) + 1)
		}
		seeds[name+"-flipped"] = c
		seeds[name+"-cut"] = seeds[name][:len(seeds[name])/2]
	}
	// The hand-made CE loop.
	im := newImage(40)
	im.fill(25, append(nmEntry("looped"), ceEntry(25, 0, 64)...))
	dotSU := append(spEntry(), erEntry()...)
	im.dir(18, 18, dotSU, rec("LOOP1;1", 30, 4, 0, ceEntry(25, 0, 64)), rec("SELF", 18, 0, 2, nil))
	seeds["handmade-loops"] = compactImage(im.b)

	out := filepath.Join("testdata", "fuzz", "FuzzMount")
	os.MkdirAll(out, 0o755)
	for name, b := range seeds {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(out, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFuzzSeedsMount checks that the intact seeds are real, mountable
// images (so the fuzzer starts from deep inside the format).
func TestFuzzSeedsMount(t *testing.T) {
	for _, name := range []string{"xorriso-rr-joliet", "genisoimage-rr", "genisoimage-plain"} {
		b, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzMount", name))
		if err != nil {
			t.Fatal(err)
		}
		var data []byte
		// The corpus file is "go test fuzz v1\n[]byte(QUOTED)\n".
		var q string
		if _, err := fmt.Sscanf(string(b), "go test fuzz v1\n[]byte(%q)", &q); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		data = []byte(q)
		m := mountImage(t, &memDev{b: expandImage(data), name: name}, "")
		vn, err := lookupPath(t, m, "a.txt")
		if err != nil {
			vn, err = lookupPath(t, m, "A.TXT")
		}
		if err != nil {
			t.Errorf("%s: a.txt: %v", name, err)
			continue
		}
		if got, _ := readAll(vn); string(got) != "hello\n" {
			t.Errorf("%s: a.txt = %q", name, got)
		}
		vn.Rele()
	}
}
