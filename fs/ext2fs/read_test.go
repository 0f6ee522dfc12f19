package ext2fs

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rumpfs/rumpfs/vfs"
)

type fixture struct {
	name   string
	prog   string
	sizeMB int
	opts   []string
	nsec   bool // 256-byte inodes: the after-2038 edit is possible
	rev0   bool
}

var fixtures = []fixture{
	{name: "ext2-4k", prog: "mkfs.ext2", sizeMB: 64, opts: []string{"-b", "4096"}, nsec: true},
	{name: "ext2-1k", prog: "mkfs.ext2", sizeMB: 64, opts: []string{"-b", "1024"}, nsec: true},
	{name: "ext2-2k-nodirindex", prog: "mkfs.ext2", sizeMB: 64, opts: []string{"-b", "2048", "-O", "^dir_index"}, nsec: true},
	{name: "ext2-I128", prog: "mkfs.ext2", sizeMB: 64, opts: []string{"-b", "4096", "-I", "128"}},
	{name: "ext2-64k", prog: "mkfs.ext2", sizeMB: 96, opts: []string{"-b", "65536"}, nsec: true},
	{name: "ext2-rev0", prog: "mkfs.ext2", sizeMB: 64, opts: []string{"-r", "0", "-b", "1024"}, rev0: true},
	{name: "ext3-4k", prog: "mkfs.ext3", sizeMB: 64, opts: []string{"-b", "4096"}, nsec: true},
	{name: "ext3-1k", prog: "mkfs.ext3", sizeMB: 64, opts: []string{"-b", "1024"}, nsec: true},
	{name: "ext4", prog: "mkfs.ext4", sizeMB: 64, nsec: true},
	{name: "ext4-1k", prog: "mkfs.ext4", sizeMB: 64, opts: []string{"-b", "1024"}, nsec: true},
}

func bigDirSize() int {
	if testing.Short() {
		return 3000
	}
	return 20000
}

// treeOnce shares the source tree between fixtures.
var (
	treeMu   sync.Mutex
	treeDirs = map[string]string{}
)

func sharedTree(t *testing.T, n int, special bool) string {
	treeMu.Lock()
	defer treeMu.Unlock()
	key := fmt.Sprint(n, special)
	if d, ok := treeDirs[key]; ok {
		if _, err := os.Stat(d); err == nil {
			return d
		}
	}
	dir, err := os.MkdirTemp("", "ext2tree")
	if err != nil {
		t.Fatal(err)
	}
	tt := &treeT{T: t, dir: dir}
	d := buildTree(tt, n, special)
	treeDirs[key] = d
	return d
}

// treeT lets buildTree put the shared tree outside the test's TempDir.
type treeT struct {
	*testing.T
	dir string
}

func (t *treeT) TempDir() string { return t.dir }

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range treeDirs {
		os.RemoveAll(d[:strings.LastIndex(d, "/")])
	}
	os.Exit(code)
}

// makeFixture builds the image and applies the edits mkfs -d cannot make
// (a time past 2038 with nanoseconds); it returns the expected overrides.
func makeFixture(t *testing.T, fx fixture, tree string) (string, cmpOpts) {
	n := bigDirSize()
	opts := append([]string{"-N", fmt.Sprint(n + 1000)}, fx.opts...)
	img := mkfs(t, fx.prog, fx.sizeMB, tree, opts...)
	o := cmpOpts{xattrs: !fx.rev0, expMtime: map[string]time.Time{}}
	if fx.nsec {
		needTool(t, "debugfs")
		run(t, "debugfs", "-w", "-R", "sif /dir/sub/big mtime 0x10000000", img)
		run(t, "debugfs", "-w", "-R", "sif /dir/sub/big mtime_extra 5", img)
		o.expMtime["/dir/sub/big"] = time.Unix(0x10000000+1<<32, 1)
	}
	return img, o
}

func TestReadFixtures(t *testing.T) {
	needTool(t, "mkfs.ext2", "debugfs")
	if os.Getuid() != 0 {
		t.Skip("building the tree needs root (device nodes, chown, trusted.*)")
	}
	tree := sharedTree(t, bigDirSize(), true)
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			img, o := makeFixture(t, fx, tree)
			if fx.rev0 {
				// Revision 0 has no xattrs; mkfs -d drops them.
				o.xattrs = false
			}
			m := mountImg(t, img, true, "ro")
			compareTree(t, m, tree, o)
			checkBigDirLookups(t, m, tree)
			st, err := m.Statfs()
			if err != nil || st.Blocks == 0 || st.Bfree > st.Blocks || st.Namemax != 255 {
				t.Errorf("statfs %+v %v", st, err)
			}
			info := m.Info()
			if info.Type != "ext2fs" || !info.Clean {
				t.Errorf("info %+v", info)
			}
			if err := m.Unmount(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// checkBigDirLookups looks every name of the big directory up (through
// the hash index when there is one) and a few that are not there.
func checkBigDirLookups(t *testing.T, m vfs.Mount, tree string) {
	vn, err := walk(t, m, "/many")
	if err != nil {
		t.Fatal(err)
	}
	defer vn.Rele()
	ents, _ := os.ReadDir(tree + "/many")
	for _, e := range ents {
		c, err := vn.Lookup(e.Name())
		if err != nil {
			t.Fatalf("lookup %s: %v", e.Name(), err)
		}
		c.Rele()
	}
	for _, n := range []string{"nope", "entry-999999", strings.Repeat("z", 255)} {
		if _, err := vn.Lookup(n); err != syscall.ENOENT {
			t.Errorf("lookup %s: %v, want ENOENT", n, err)
		}
	}
}

// TestHtreeLookup indexes the big directory with e2fsck -D and checks that
// lookups go through the index (and agree with debugfs's hash).
func TestHtreeLookup(t *testing.T) {
	needTool(t, "mkfs.ext2", "e2fsck", "debugfs")
	for _, fx := range []fixture{
		{name: "ext2-1k", prog: "mkfs.ext2", sizeMB: 32, opts: []string{"-b", "1024"}},
		{name: "ext2-4k", prog: "mkfs.ext2", sizeMB: 32, opts: []string{"-b", "4096"}},
		{name: "ext4", prog: "mkfs.ext4", sizeMB: 32},
		{name: "ext2-tea", prog: "mkfs.ext2", sizeMB: 32, opts: []string{"tea"}},
		{name: "ext2-legacy", prog: "mkfs.ext2", sizeMB: 32, opts: []string{"legacy"}},
	} {
		t.Run(fx.name, func(t *testing.T) {
			tree := t.TempDir() + "/t"
			os.MkdirAll(tree+"/d", 0755)
			n := 3000
			for i := 0; i < n; i++ {
				os.WriteFile(fmt.Sprintf("%s/d/file-%d-%s", tree, i, strings.Repeat("q", i%50)), nil, 0644)
			}
			var hashAlg string
			if len(fx.opts) == 1 {
				hashAlg, fx.opts = fx.opts[0], nil
			}
			img := mkfs(t, fx.prog, fx.sizeMB, tree, append([]string{"-N", "4000"}, fx.opts...)...)
			if hashAlg != "" {
				run(t, "debugfs", "-w", "-R", "ssv def_hash_version "+hashAlg, img)
			}
			out, err := exec.Command("e2fsck", "-fyD", img).CombinedOutput()
			if code := exitCode(err); code > 1 {
				t.Fatalf("e2fsck -fyD: %v\n%s", err, out)
			}
			if !strings.Contains(run(t, "debugfs", "-R", "htree /d", img), "Root node") {
				t.Fatal("directory not indexed")
			}
			m := mountImg(t, img, true, "")
			defer m.Unmount()
			vn, _ := walk(t, m, "/d")
			defer vn.Rele()
			ip := vn.(*inode)
			if !ip.isIndexed() {
				t.Fatal("not indexed on read")
			}
			for i := 0; i < n; i += 7 {
				name := fmt.Sprintf("file-%d-%s", i, strings.Repeat("q", i%50))
				loc, err, usable := ip.dxLookup([]byte(name))
				if !usable || err != nil || loc.ino == 0 {
					t.Fatalf("dxLookup %s: usable=%v err=%v", name, usable, err)
				}
			}
			if _, err, usable := ip.dxLookup([]byte("absent")); !usable || err != syscall.ENOENT {
				t.Fatalf("absent: %v %v", usable, err)
			}
		})
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return 255
}

// TestDirHashMatchesDebugfs compares the name hashes with debugfs's.
func TestDirHashMatchesDebugfs(t *testing.T) {
	needTool(t, "debugfs", "mkfs.ext2")
	img := mkfs(t, "mkfs.ext2", 4, "")
	seed := "8e1d9e4a-3b4f-4c2a-9a51-7dd3c1f0e2b4"
	var s [4]uint32
	var u [16]byte
	hexu := strings.ReplaceAll(seed, "-", "")
	for i := 0; i < 16; i++ {
		fmt.Sscanf(hexu[2*i:2*i+2], "%02x", &u[i])
	}
	for i := 0; i < 4; i++ {
		s[i] = le.Uint32(u[4*i:])
	}
	for _, alg := range []struct {
		name string
		v    uint8
	}{{"legacy", DxHashLegacy}, {"half_md4", DxHashHalfMD4}, {"tea", DxHashTea}} {
		for _, name := range []string{"a", "hello", "entry-000123-nnnn", strings.Repeat("long", 20), "ünï"} {
			out := run(t, "debugfs", "-R", fmt.Sprintf("dx_hash -s %s -h %s %s", seed, alg.name, name), img)
			var h, mh uint32
			i := strings.Index(out, "Hash of")
			if i < 0 {
				t.Fatalf("debugfs: %s", out)
			}
			line := out[i:]
			j := strings.Index(line, " is ")
			fmt.Sscanf(line[j+4:], "0x%x (minor 0x%x)", &h, &mh)
			gh, gm := dirHash([]byte(name), alg.v, s)
			if gh != h || (alg.v != DxHashLegacy && gm != mh) {
				t.Errorf("%s(%q) = %#x/%#x, debugfs %#x/%#x", alg.name, name, gh, gm, h, mh)
			}
		}
	}
}

// TestConcurrentReads reads files from many goroutines at once (run with
// -race).
func TestConcurrentReads(t *testing.T) {
	tree := t.TempDir() + "/t"
	os.MkdirAll(tree, 0755)
	var want [][]byte
	for i := 0; i < 8; i++ {
		b := bytes.Repeat([]byte{byte(i + 1)}, 300000+i*1000)
		want = append(want, b)
		os.WriteFile(fmt.Sprintf("%s/f%d", tree, i), b, 0644)
	}
	img := mkfs(t, "mkfs.ext2", 16, tree, "-b", "1024")
	m := mountImg(t, img, false, "")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 8; i++ {
				vn, err := walk(t, m, fmt.Sprintf("/f%d", (i+g)%8))
				if err != nil {
					t.Error(err)
					return
				}
				if got := readAll(t, vn); !bytes.Equal(got, want[(i+g)%8]) {
					t.Errorf("f%d differs", (i+g)%8)
				}
				vn.Rele()
			}
		}(g)
	}
	wg.Wait()
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	e2fsck(t, img)
}
