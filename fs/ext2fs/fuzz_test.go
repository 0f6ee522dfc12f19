package ext2fs

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/vfs"
)

const (
	fuzzPad = 128 << 10 // inputs are images with trailing zeros trimmed
	fuzzMax = 2 << 20
)

// FuzzExt2 probes, mounts, walks and reads an image, then mounts a copy
// read-write and makes a few changes. Nothing may panic or hang.
func FuzzExt2(f *testing.F) {
	if _, err := exec.LookPath("mkfs.ext2"); err == nil {
		for _, args := range [][]string{{"mkfs.ext2", "-b", "1024"}, {"mkfs.ext4", "-b", "1024", "-O", "^has_journal"}, {"mkfs.ext2", "-b", "2048", "-I", "128"},
			{"mkfs.ext4", "-b", "1024", "-I", "256", "-O", "^has_journal,inline_data"}} {
			if img := fuzzSeed(f, args); img != nil {
				f.Add(img)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > fuzzMax {
			return
		}
		img := make([]byte, max(len(data), fuzzPad))
		copy(img, data)
		exerciseImage(t, img)
	})
}

func fuzzSeed(f *testing.F, args []string) []byte { return fuzzSeedT(f, args) }

func fuzzSeedT(f testing.TB, args []string) []byte {
	tree := f.TempDir() + "/t"
	os.MkdirAll(tree+"/d", 0755)
	os.WriteFile(tree+"/f", []byte("hello"), 0644)
	os.WriteFile(tree+"/d/g", bytes.Repeat([]byte("g"), 3000), 0644)
	os.Symlink("f", tree+"/l")
	// Six data blocks between holes: more extents than the inode's root
	// holds, so ext4 seeds carry a depth-1 extent tree (mke2fs -d keeps
	// holes).
	if sp, err := os.Create(tree + "/sparse"); err == nil {
		for i := int64(0); i < 6; i++ {
			sp.WriteAt(bytes.Repeat([]byte{byte('a' + i)}, 1024), i*4096)
		}
		sp.Close()
	}
	img := filepath.Join(f.TempDir(), "seed.img")
	os.WriteFile(img, make([]byte, fuzzPad), 0644)
	cmd := exec.Command(args[0], append(append([]string{"-q", "-F", "-N", "16"}, args[1:]...), "-d", tree, img)...)
	if err := cmd.Run(); err != nil {
		return nil
	}
	b, _ := os.ReadFile(img)
	return bytes.TrimRight(b, "\x00")
}

func exerciseImage(t *testing.T, img []byte) {
	fs, _ := vfs.LookupFS("ext2fs")
	d := &memDev{b: append([]byte(nil), img...), ro: true}
	if !fs.Probe(d) {
		return
	}
	m, err := fs.Mount(d, &vfs.MountArgs{ReadOnly: true})
	if err == nil {
		budget := 2000
		root, err := m.Root()
		if err == nil {
			walkAll(root, 0, &budget)
			root.Rele()
		}
		m.Statfs()
		m.Info()
		m.Unmount()
	}
	// Read-write on a copy.
	d = &memDev{b: append([]byte(nil), img...)}
	m, err = fs.Mount(d, &vfs.MountArgs{Options: vfs.Options{"force": ""}})
	if err != nil {
		return
	}
	root, err := m.Root()
	if err == nil {
		if vn, err := vfs.VOP_CREATE(m, root, vfs.RootCred, "new", 0644); err == nil {
			vfs.VOP_WRITE(m, vn, bytes.Repeat([]byte("w"), 5000), 100)
			vfs.VOP_SETATTR(m, vn, &vfs.SetAttr{Valid: vfs.SetSize, Size: 10})
			vfs.VOP_SETXATTR(m, vn, "user.x", []byte("y"), 0)
			vn.Rele()
		}
		if vn, err := vfs.VOP_MKDIR(m, root, vfs.RootCred, "nd", 0755); err == nil {
			vfs.VOP_RENAME(m, root, "new", vn, "moved")
			vn.Rele()
		}
		vfs.VOP_REMOVE(m, root, "f")
		vfs.VOP_RENAME(m, root, "d", root, "d2")
		vfs.VOP_RMDIR(m, root, "nd")
		root.Rele()
	}
	m.Unmount()
}

func walkAll(dir vfs.Vnode, depth int, budget *int) {
	if depth > 16 {
		return
	}
	var names []string
	dir.Readdir(0, func(e vfs.Dirent) bool {
		*budget--
		if *budget < 0 {
			return false
		}
		if e.Name != "." && e.Name != ".." {
			names = append(names, e.Name)
		}
		return true
	})
	buf := make([]byte, 64<<10)
	for _, n := range names {
		vn, err := dir.Lookup(n)
		if err != nil {
			continue
		}
		a, err := vn.Getattr()
		if err == nil {
			switch a.Type() {
			case vfs.S_IFDIR:
				walkAll(vn, depth+1, budget)
			case vfs.S_IFREG:
				for off := int64(0); off < 1<<20; off += int64(len(buf)) {
					if n, err := vn.Read(buf, off); n == 0 || err != nil {
						break
					}
				}
			case vfs.S_IFLNK:
				vn.Readlink()
			}
			vfs.VOP_LISTXATTR(vn)
			vfs.VOP_GETXATTR(vn, "user.color")
			vfs.VOP_GETXATTR(vn, "system.posix_acl_access")
		}
		vn.Rele()
	}
}

// TestFuzzCorpusMutations runs the fuzz body over the seeds with
// deterministic byte flips, so that `go test` covers corrupt images too.
func TestFuzzCorpusMutations(t *testing.T) {
	dir := "testdata/fuzz/FuzzExt2"
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Skip("no corpus")
	}
	for _, e := range ents {
		raw, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		data, ok := parseCorpus(string(raw))
		if !ok {
			t.Fatalf("%s: bad corpus file", e.Name())
		}
		img := make([]byte, max(len(data), fuzzPad))
		copy(img, data)
		exerciseImage(t, img)
		n := 300
		if testing.Short() {
			n = 60
		}
		seed := uint32(len(data))
		for i := 0; i < n; i++ {
			m := append([]byte(nil), img...)
			for k := 0; k < 8; k++ {
				seed = seed*1664525 + 1013904223
				pos := int(seed>>8) % min(len(data), 64<<10)
				seed = seed*1664525 + 1013904223
				m[pos] ^= byte(seed >> 24)
			}
			exerciseImage(t, m)
		}
	}
}

// parseCorpus reads a "go test fuzz v1" file holding one []byte.
func parseCorpus(s string) ([]byte, bool) {
	lines := strings.SplitN(s, "\n", 2)
	if len(lines) < 2 || lines[0] != "go test fuzz v1" {
		return nil, false
	}
	v := strings.TrimSpace(lines[1])
	if !strings.HasPrefix(v, "[]byte(") || !strings.HasSuffix(v, ")") {
		return nil, false
	}
	q, err := unquote(v[len("[]byte(") : len(v)-1])
	return []byte(q), err == nil
}
