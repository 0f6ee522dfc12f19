package ext2fs

// Extent-tree writing on images made by mkfs.ext4, checked after every
// step by e2fsck -fn (silent: no findings and none of its "could be
// shorter/narrower" notes), debugfs's view of the tree (depth, extent
// count) and the Linux kernel's ext4 driver reading the files back.
//
// Until metadata_csum (and 64bit) are writable the rw fixtures are made
// with -O ^metadata_csum,^64bit; TestExtentChecksums covers the extent
// block tails on a metadata_csum image.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	fx "github.com/rumpfs/rumpfs/internal/fixture"
	"github.com/rumpfs/rumpfs/vfs"
)

// ext4WriteOpts: the extent tests run on mkfs.ext4's defaults, so every
// tree block they write carries its checksum (metadata_csum, 64bit).
var ext4WriteOpts []string

// e2fsckSilent runs e2fsck -fn and fails on a non-zero exit or on any
// line besides the pass headers and the summary (and the note that a tree
// "could be narrower" if allowNarrow: inserting into the middle of full
// leaves splits them, in Linux as here, which e2fsck reports without
// calling it an error).
func e2fsckSilent(t testing.TB, img string, allowNarrow ...bool) {
	t.Helper()
	fx.Require(t, "e2fsck")
	out, err := exec.Command("e2fsck", "-fn", img).CombinedOutput()
	var bad []string
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "e2fsck 1.") || strings.HasPrefix(l, "Pass ") ||
			strings.Contains(l, " files (") ||
			len(allowNarrow) > 0 && allowNarrow[0] && strings.Contains(l, "could be narrower.  Optimize? no") {
			continue
		}
		bad = append(bad, l)
	}
	if err != nil || len(bad) > 0 {
		t.Fatalf("e2fsck -fn: %v\n%s", err, out)
	}
}

var exLine = regexp.MustCompile(`^\s*(\d+)/\s*(\d+)\s+\d+/\s*\d+\s`)

// debugfsTree returns the depth of p's extent tree and its leaf extents
// (" uninit" appended to unwritten ones), as debugfs's ex shows them.
func debugfsTree(t testing.TB, img, p string, flags ...string) (int, []string) {
	t.Helper()
	out := run(t, "debugfs", append(flags, "-R", "ex "+p, img)...)
	depth := -1
	var leaves []string
	for _, l := range strings.Split(out, "\n") {
		m := exLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		lvl, _ := strconv.Atoi(m[1])
		depth, _ = strconv.Atoi(m[2])
		if lvl == depth {
			leaves = append(leaves, strings.Join(strings.Fields(l)[2:], " "))
		}
	}
	if depth < 0 {
		if !strings.Contains(out, "Level Entries") {
			t.Fatalf("debugfs ex %s: %s", p, out)
		}
		depth = 0 // an empty tree
	}
	return depth, leaves
}

// kernelRead loop-mounts img read-only with Linux's driver and compares
// each file with its expected contents.
func kernelRead(t *testing.T, img string, want map[string][]byte) {
	t.Helper()
	t.Run("kernel", func(t *testing.T) {
		dir := fx.LoopMount(t, img, "ext4")
		for p, w := range want {
			got, err := os.ReadFile(filepath.Join(dir, p))
			if err != nil {
				t.Errorf("kernel read %s: %v", p, err)
				continue
			}
			if !bytes.Equal(got, w) {
				t.Errorf("kernel read %s: %d bytes differ from the %d expected (first at %d)", p, len(got), len(w), firstDiff(got, w))
			}
		}
	})
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func vnode(t testing.TB, m vfs.Mount, p string) *inode {
	t.Helper()
	vn, err := walk(t, m, p)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	ip := vn.(*inode)
	vn.Rele()
	return ip
}

func createFile(t testing.TB, m vfs.Mount, p string) {
	t.Helper()
	root, _ := m.Root()
	defer root.Rele()
	vn, err := vfs.VOP_CREATE(m, root, vfs.RootCred, strings.TrimPrefix(p, "/"), 0644)
	if err != nil {
		t.Fatalf("create %s: %v", p, err)
	}
	vn.Rele()
}

func writeAt(t testing.TB, m vfs.Mount, p string, data []byte, off int64) {
	t.Helper()
	vn, err := walk(t, m, p)
	if err != nil {
		t.Fatal(err)
	}
	defer vn.Rele()
	if n, err := vfs.VOP_WRITE(m, vn, data, off); err != nil || n != len(data) {
		t.Fatalf("write %s at %d: %d %v", p, off, n, err)
	}
}

func truncTo(t testing.TB, m vfs.Mount, p string, size int64) {
	t.Helper()
	vn, err := walk(t, m, p)
	if err != nil {
		t.Fatal(err)
	}
	defer vn.Rele()
	if err := vfs.VOP_SETATTR(m, vn, &vfs.SetAttr{Valid: vfs.SetSize, Size: uint64(size)}); err != nil {
		t.Fatalf("truncate %s to %d: %v", p, size, err)
	}
}

// model applies a write or truncate to the expected contents.
func modelWrite(b []byte, data []byte, off int) []byte {
	if off+len(data) > len(b) {
		b = append(b, make([]byte, off+len(data)-len(b))...)
	}
	copy(b[off:], data)
	return b
}

func modelTrunc(b []byte, size int) []byte {
	if size <= len(b) {
		return b[:size:size]
	}
	return append(b, make([]byte, size-len(b))...)
}

// TestExtentScenario runs the ext2 write scenario (tree copy, sparse
// files, truncates, renames, links, xattrs) on ext4 images: new files,
// directories and long symlinks are extent-mapped.
func TestExtentScenario(t *testing.T) {
	needTool(t, "mkfs.ext4", "e2fsck", "debugfs")
	if os.Getuid() != 0 {
		t.Skip("the expected tree needs root (device nodes, chown, trusted.*)")
	}
	for _, bs := range []string{"1024", "4096"} {
		t.Run("ext4-"+bs, func(t *testing.T) {
			img := mkfs(t, "mkfs.ext4", 32, "", append([]string{"-b", bs}, ext4WriteOpts...)...)
			m := mountImg(t, img, false, "")
			host := t.TempDir()
			d := &dual{t: t, m: m, host: host}
			scenario(t, d, m.(*fsys).bsize, true)
			for p, want := range map[string]bool{"/in/a/dind": true, "/in": true, "/in/slow": true, "/in/fast": false, "/in/chr": false} {
				if got := vnode(t, m, p).extentsOn(); got != want {
					t.Errorf("%s: extents flag %v, want %v", p, got, want)
				}
			}
			compareTree(t, m, host, cmpOpts{xattrs: true})
			if err := m.Unmount(); err != nil {
				t.Fatal(err)
			}
			e2fsckSilent(t, img)
			if depth, _ := debugfsTree(t, img, "/sparse"); depth != 0 {
				t.Errorf("/sparse: depth %d, want 0", depth)
			}
			debugfsCheck(t, img, host)
			kernelCheck(t, img, host)
		})
	}
}

// TestExtentDepth grows a fragmented file (one extent per written block,
// every other block) to depth 2 on 1 KiB blocks (84 extents a leaf), then
// truncates it in steps back through each depth to nothing, with a
// contiguous file and an appended one beside it.
func TestExtentDepth(t *testing.T) {
	needTool(t, "mkfs.ext4", "e2fsck", "debugfs")
	img := mkfs(t, "mkfs.ext4", 16, "", append([]string{"-b", "1024"}, ext4WriteOpts...)...)
	want := map[string][]byte{}
	m := mountImg(t, img, false, "")
	remount := func() {
		t.Helper()
		if err := m.Unmount(); err != nil {
			t.Fatal(err)
		}
		m = mountImg(t, img, false, "")
	}
	narrow := false
	check := func(step string, depths map[string]int) {
		t.Helper()
		for p, w := range want {
			if got := readAll(t, vnode(t, m, p)); !bytes.Equal(got, w) {
				t.Fatalf("%s: %s: our read differs from the expected (at %d)", step, p, firstDiff(got, w))
			}
		}
		if err := m.Unmount(); err != nil {
			t.Fatal(err)
		}
		e2fsckSilent(t, img, narrow)
		for p, d := range depths {
			if got, _ := debugfsTree(t, img, p); got != d {
				t.Errorf("%s: %s: depth %d, want %d", step, p, got, d)
			}
		}
		kernelRead(t, img, want)
		m = mountImg(t, img, false, "")
	}

	const n = 600 // extents: 8 leaves of up to 84
	free0 := m.(*fsys).sb.FreeBlocksCount()
	createFile(t, m, "/seq")
	seq := pattern(2<<20, 9)
	for off := 0; off < len(seq); off += 64 << 10 {
		writeAt(t, m, "/seq", seq[off:off+64<<10], int64(off))
	}
	want["/seq"] = seq
	// Holes filled join both neighbours into one extent (the goal of a
	// block is its logical distance from the previous extent, as Linux's
	// ext4_ext_find_goal, so the holes' blocks stay free for them).
	createFile(t, m, "/merge")
	for _, i := range []int{0, 2, 4, 1, 3} {
		blk := pattern(1024, byte(i+3))
		writeAt(t, m, "/merge", blk, int64(i)*1024)
		want["/merge"] = modelWrite(want["/merge"], blk, i*1024)
	}
	createFile(t, m, "/frag")
	createFile(t, m, "/app")
	for i := 0; i < n; i++ {
		blk := pattern(1024, byte(i))
		writeAt(t, m, "/frag", blk, int64(2*i)*1024)
		want["/frag"] = modelWrite(want["/frag"], blk, 2*i*1024)
		if i%2 == 0 {
			// Appends of odd sizes interleaved, so that the files'
			// blocks are not simply contiguous.
			chunk := pattern(1000+i, byte(i+1))
			writeAt(t, m, "/app", chunk, int64(len(want["/app"])))
			want["/app"] = modelWrite(want["/app"], chunk, len(want["/app"]))
		}
		if i == n/2 {
			remount() // part of the tree comes back from disk
		}
	}
	check("grown", map[string]int{"/frag": 2})
	if _, leaves := debugfsTree(t, img, "/frag"); len(leaves) != n {
		t.Errorf("/frag: %d extents, want %d", len(leaves), n)
	}
	if _, leaves := debugfsTree(t, img, "/seq"); len(leaves) > 4 {
		t.Errorf("/seq: %d extents for a sequential 2 MiB file: %v", len(leaves), leaves)
	}

	// Fill some holes of /frag: blocks go into a leaf with room, pass an
	// entry from a full leaf to its sibling with room, extend the last
	// extent.
	for _, i := range []int{1101, 1103, 1181, 1199} {
		blk := pattern(1024, byte(i+7))
		writeAt(t, m, "/frag", blk, int64(i)*1024)
		want["/frag"] = modelWrite(want["/frag"], blk, i*1024)
	}
	check("holes filled", map[string]int{"/frag": 2, "/merge": 0})
	if _, leaves := debugfsTree(t, img, "/merge"); len(leaves) != 1 {
		t.Errorf("/merge: extents %v, want one", leaves)
	}
	// A hole in the middle of a full leaf whose siblings are full: split.
	writeAt(t, m, "/frag", []byte("split"), 301*1024+7)
	want["/frag"] = modelWrite(want["/frag"], []byte("split"), 301*1024+7)
	narrow = true
	check("leaf split", map[string]int{"/frag": 2})

	// Truncate: keep k extents (block 2k-2 the last), cutting inside it.
	for _, s := range []struct {
		keep, depth int
	}{{500, 2}, {240, 1}, {100, 1}, {3, 0}, {0, 0}} {
		size := 0
		if s.keep > 0 {
			size = (2*s.keep-1)*1024 - 100
		}
		truncTo(t, m, "/frag", int64(size))
		want["/frag"] = modelTrunc(want["/frag"], size)
		check(fmt.Sprintf("keep %d", s.keep), map[string]int{"/frag": s.depth})
	}
	// Truncate up is a hole; then write past it.
	truncTo(t, m, "/frag", 5000)
	writeAt(t, m, "/frag", []byte("tail"), 9000)
	want["/frag"] = modelWrite(modelTrunc(want["/frag"], 5000), []byte("tail"), 9000)
	truncTo(t, m, "/app", 123)
	want["/app"] = modelTrunc(want["/app"], 123)
	check("regrown", map[string]int{"/frag": 0, "/app": 0})

	// Unlink frees everything: the free count is back to the start.
	root, _ := m.Root()
	for _, p := range []string{"frag", "seq", "app", "merge"} {
		if err := vfs.VOP_REMOVE(m, root, p); err != nil {
			t.Fatal(err)
		}
	}
	root.Rele()
	delete(want, "/frag")
	delete(want, "/seq")
	delete(want, "/app")
	delete(want, "/merge")
	if got := m.(*fsys).sb.FreeBlocksCount(); got != free0 {
		t.Errorf("free blocks %d after unlink, %d before the files", got, free0)
	}
	check("unlinked", nil)
	m.Unmount()
}

// kernelChange mounts img read-write with Linux's driver, runs fn on the
// mount point and unmounts: the way to get files only the kernel makes
// (fallocated, unwritten extents).
func kernelChange(t *testing.T, img string, fn func(dir string)) {
	t.Helper()
	fx.RequireRoot(t)
	fx.Require(t, "mount", "umount")
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "ext4", "-o", "loop", img, dir).CombinedOutput(); err != nil {
		if fx.CI() {
			t.Fatalf("mount -o loop %s: %v\n%s", img, err, out)
		}
		t.Skipf("kernel loop mount unavailable: %v: %s", err, out)
	}
	defer func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			exec.Command("umount", "-l", dir).Run()
			t.Fatalf("umount: %v %s", err, out)
		}
	}()
	fn(dir)
}

// TestExtentUnwritten writes into files the kernel fallocated: blocks in
// an unwritten extent are converted one by one (split around the write,
// joined to the initialized neighbour), the rest still reads as zeros;
// truncating inside an unwritten extent trims it, unlinking frees blocks
// preallocated past EOF.
func TestExtentUnwritten(t *testing.T) {
	needTool(t, "mkfs.ext4", "e2fsck", "debugfs", "fallocate")
	img := mkfs(t, "mkfs.ext4", 16, "", append([]string{"-b", "1024"}, ext4WriteOpts...)...)
	kernelChange(t, img, func(dir string) {
		run(t, "fallocate", "-l", "300KiB", filepath.Join(dir, "fa"))
		if err := os.WriteFile(filepath.Join(dir, "keep"), nil, 0644); err != nil {
			t.Fatal(err)
		}
		run(t, "fallocate", "-n", "-l", "64KiB", filepath.Join(dir, "keep"))
		if err := os.WriteFile(filepath.Join(dir, "mixed"), []byte("written"), 0644); err != nil {
			t.Fatal(err)
		}
		run(t, "fallocate", "-o", "100KiB", "-l", "50KiB", filepath.Join(dir, "mixed"))
	})
	e2fsckSilent(t, img)
	_, leaves := debugfsTree(t, img, "/fa")
	if len(leaves) == 0 || !strings.Contains(leaves[0], "Uninit") {
		t.Fatalf("kernel's fallocate made no unwritten extent: %v", leaves)
	}
	want := map[string][]byte{
		"/fa":    make([]byte, 300<<10),
		"/keep":  nil,
		"/mixed": append([]byte("written"), make([]byte, 150<<10-7)...),
	}
	m := mountImg(t, img, false, "")
	free0 := m.(*fsys).sb.FreeBlocksCount()
	for _, w := range []struct {
		p   string
		off int
		n   int
	}{
		{"/fa", 100 << 10, 1024},       // a whole block in the middle
		{"/fa", 10, 5},                 // part of the first block
		{"/fa", 299 << 10, 1024},       // the last block
		{"/fa", 150<<10 + 3, 20 << 10}, // a run, unaligned
		{"/fa", 101 << 10, 2048},       // right after the first middle block
		{"/mixed", 120 << 10, 100},
		{"/mixed", 160 << 10, 100}, // past the preallocation
	} {
		data := pattern(w.n, byte(w.off))
		writeAt(t, m, w.p, data, int64(w.off))
		want[w.p] = modelWrite(want[w.p], data, w.off)
	}
	for p, w := range want {
		if got := readAll(t, vnode(t, m, p)); !bytes.Equal(got, w) {
			t.Fatalf("%s: our read differs (at %d)", p, firstDiff(got, w))
		}
	}
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	e2fsckSilent(t, img)
	_, leaves = debugfsTree(t, img, "/fa")
	t.Logf("/fa after the writes: %q", leaves)
	if len(leaves) > 12 {
		t.Errorf("/fa: %d extents after 5 writes: %v", len(leaves), leaves)
	}
	kernelRead(t, img, want)

	m = mountImg(t, img, false, "")
	truncTo(t, m, "/fa", 200<<10+300) // inside an unwritten extent
	want["/fa"] = modelTrunc(want["/fa"], 200<<10+300)
	truncTo(t, m, "/fa", 250<<10) // up again: a hole, zeros
	want["/fa"] = modelTrunc(want["/fa"], 250<<10)
	root, _ := m.Root()
	if err := vfs.VOP_REMOVE(m, root, "keep"); err != nil {
		t.Fatal(err)
	}
	root.Rele()
	delete(want, "/keep")
	// /fa gave back 300-201 blocks, /keep its 64 (one extent in i_block);
	// the write into /mixed past its preallocation took one, and /fa and
	// /mixed each a leaf block when their extents outgrew i_block.
	if got, exp := m.(*fsys).sb.FreeBlocksCount(), free0+99+64-1-2; got != exp {
		t.Errorf("free blocks %d, want %d", got, exp)
	}
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	e2fsckSilent(t, img)
	for _, p := range []string{"/fa", "/mixed"} {
		if d, leaves := debugfsTree(t, img, p); d != 1 {
			t.Errorf("%s: depth %d, want 1: %v", p, d, leaves)
		}
	}
	kernelRead(t, img, want)
}

// TestExtentCorrupt damages one field of an extent tree at a time and
// checks that reading, writing (mapped and unmapped blocks), truncating
// and unlinking the file give an errno (EIO), never a panic, and that the
// mount keeps serving.
func TestExtentCorrupt(t *testing.T) {
	needTool(t, "mkfs.ext4")
	// Without metadata_csum, so that each hurt field reaches the tree code
	// instead of failing the inode's or the block's checksum first
	// (TestExtentChecksums covers those).
	base := mkfs(t, "mkfs.ext4", 8, "", "-b", "1024", "-O", "^metadata_csum")
	m := mountImg(t, base, false, "")
	createFile(t, m, "/f")
	for i := 0; i < 10; i++ { // 10 extents: a root index over one leaf
		writeAt(t, m, "/f", pattern(1024, byte(i)), int64(2*i)*1024)
	}
	ip := vnode(t, m, "/f")
	bs := int64(m.(*fsys).bsize)
	iblock := int64(ip.blk)*bs + int64(ip.off) + 40 // i_block in the image
	leaf := int64(ip.di.Block[4]) * bs              // ei_leaf_lo of the root's index
	if ip.di.Block[1]>>16 != 1 {
		t.Fatalf("/f: depth %d, want 1", ip.di.Block[1]>>16)
	}
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	put16 := func(off int64, v uint16) func([]byte) { return func(b []byte) { le.PutUint16(b[off:], v) } }
	put32 := func(off int64, v uint32) func([]byte) { return func(b []byte) { le.PutUint32(b[off:], v) } }
	cases := []struct {
		name string
		hurt func([]byte)
	}{
		{"root magic", put16(iblock, 0x1234)},
		{"root entries > max", put16(iblock+2, 5)},
		{"root depth 7", put16(iblock+6, 7)},
		{"root max 9", put16(iblock+4, 9)},
		{"index past the end", put32(iblock+16, 1<<30)},
		{"index to block 0", put32(iblock+16, 0)},
		{"leaf magic", put16(leaf, 0)},
		{"leaf max too big", put16(leaf+4, 1000)},
		{"leaf entries > max", put16(leaf+2, 85)},
		{"leaf depth 1", put16(leaf+6, 1)},
		{"extent length 0", put16(leaf+12+4, 0)},
		{"extent start past the end", put32(leaf+12+8, 1<<30)},
		{"extent start hi", put16(leaf+12+6, 7)},
		{"extent past 2^32", put32(leaf+12+9*12, 1<<32-1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img := filepath.Join(t.TempDir(), "bad.img")
			b := bytes.Clone(orig)
			c.hurt(b)
			if err := os.WriteFile(img, b, 0644); err != nil {
				t.Fatal(err)
			}
			m := mountImg(t, img, false, "")
			defer m.Unmount()
			vn, err := walk(t, m, "/f")
			if err != nil {
				t.Fatalf("lookup: %v", err)
			}
			isErrno := func(what string, err error) {
				t.Helper()
				if _, ok := err.(syscall.Errno); err != nil && !ok {
					t.Errorf("%s: %v is not an errno", what, err)
				}
			}
			var errs int
			buf := make([]byte, 20<<10)
			_, err = vn.Read(buf, 0)
			isErrno("read", err)
			for _, off := range []int64{0, 5 << 10, 100 << 10} {
				_, err = vfs.VOP_WRITE(m, vn, []byte("x"), off)
				isErrno("write", err)
				if err != nil {
					errs++
				}
			}
			err = vfs.VOP_SETATTR(m, vn, &vfs.SetAttr{Valid: vfs.SetSize, Size: 3 << 10})
			isErrno("truncate", err)
			if err != nil {
				errs++
			}
			if errs == 0 {
				t.Errorf("no operation noticed the damage")
			}
			vn.Rele()
			root, _ := m.Root()
			isErrno("unlink", vfs.VOP_REMOVE(m, root, "f"))
			// The mount still serves: a new file works.
			nv, err := vfs.VOP_CREATE(m, root, vfs.RootCred, "g", 0644)
			if err != nil {
				t.Fatalf("create after damage: %v", err)
			}
			if n, err := vfs.VOP_WRITE(m, nv, []byte("fine"), 0); err != nil || n != 4 {
				t.Errorf("write after damage: %d %v", n, err)
			}
			nv.Rele()
			root.Rele()
		})
	}
}

// TestExtentChecksums checks the ext4_extent_tail of every node written
// on a metadata_csum image (mkfs.ext4's defaults, 64bit too): debugfs and
// the kernel verify them when they read the tree, and so do we.
func TestExtentChecksums(t *testing.T) {
	needTool(t, "mkfs.ext4", "debugfs")
	tree := t.TempDir()
	if err := os.WriteFile(filepath.Join(tree, "f"), []byte("start"), 0644); err != nil {
		t.Fatal(err)
	}
	img := mkfs(t, "mkfs.ext4", 16, tree, "-b", "1024")
	if !strings.Contains(run(t, "dumpe2fs", "-h", img), "metadata_csum") {
		t.Fatal("mkfs.ext4 made no metadata_csum image")
	}
	m := mountImg(t, img, false, "")
	want := []byte("start")
	for i := 1; i < 400; i++ {
		blk := pattern(1024, byte(i))
		writeAt(t, m, "/f", blk, int64(2*i)*1024)
		want = modelWrite(want, blk, 2*i*1024)
	}
	for step, size := range []int{599 << 10, 0} {
		if err := m.Unmount(); err != nil {
			t.Fatal(err)
		}
		e2fsckSilent(t, img)
		// debugfs -c skips the bitmaps but still verifies extent blocks.
		out, _ := exec.Command("debugfs", "-c", "-R", "ex /f", img).CombinedOutput()
		if strings.Contains(strings.ToLower(string(out)), "checksum") {
			t.Fatalf("debugfs: %s", out)
		}
		wantDepth := []int{2, 1}[step]
		if d, leaves := debugfsTree(t, img, "/f", "-c"); d != wantDepth || len(leaves) != len(want)/2048+1 {
			t.Errorf("step %d: depth %d with %d extents, want %d with %d", step, d, len(leaves), wantDepth, len(want)/2048+1)
		}
		kernelRead(t, img, map[string][]byte{"/f": want})
		m = mountImg(t, img, true, "")
		if got := readAll(t, vnode(t, m, "/f")); !bytes.Equal(got, want) {
			t.Fatalf("step %d: our read differs at %d", step, firstDiff(got, want))
		}
		m.Unmount()
		m = mountImg(t, img, false, "")
		if size > 0 {
			truncTo(t, m, "/f", int64(size))
			want = modelTrunc(want, size)
		}
	}
	m.Unmount()

	// A node whose checksum does not match is refused.
	m = mountImg(t, img, true, "")
	ip := vnode(t, m, "/f")
	leaf := int64(ip.di.Block[4]) * int64(m.(*fsys).bsize)
	m.Unmount()
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0xff}, leaf+100)
	f.Close()
	// debugfs stops at the damaged node (lists none of its leaves).
	if _, leaves := debugfsTree(t, img, "/f", "-c"); len(leaves) != 0 {
		t.Errorf("debugfs -c did not notice a bad extent block checksum: %d extents listed", len(leaves))
	}
	t.Run("kernel refuses", func(t *testing.T) {
		dir := fx.LoopMount(t, img, "ext4")
		if _, err := os.ReadFile(filepath.Join(dir, "f")); err == nil {
			t.Error("the kernel read /f through a leaf with a bad checksum")
		}
	})
	m = mountImg(t, img, true, "")
	defer m.Unmount()
	vn, err := walk(t, m, "/f")
	if err != nil {
		t.Fatal(err)
	}
	defer vn.Rele()
	if _, err := vn.Read(make([]byte, 4096), 0); err != syscall.EIO {
		t.Errorf("read through a leaf with a bad checksum: %v, want EIO", err)
	}
}

// TestExtentLengthLimits: a contiguous block extends its neighbour only
// up to 32768 blocks (32767 for an unwritten extent), then starts a new
// extent (only the tree is looked at: no block is allocated).
func TestExtentLengthLimits(t *testing.T) {
	needTool(t, "mkfs.ext4")
	img := mkfs(t, "mkfs.ext4", 40, "", append([]string{"-b", "1024", "-O", "^has_journal"}, ext4WriteOpts...)...)
	m := mountImg(t, img, false, "")
	defer m.Unmount()
	createFile(t, m, "/f")
	ip := vnode(t, m, "/f")
	const p0 = 1000 // inside the file system, but never allocated
	for _, uninit := range []bool{false, true} {
		ip.initExtentRoot()
		lim := uint32(ExtentInitMaxLen)
		if uninit {
			lim--
		}
		var ents []string
		for _, lb := range []uint32{0, lim - 1, lim, lim + 1} {
			n := uint32(1)
			if lb == 0 {
				n = lim - 1
			}
			path, err := ip.extFind(lb)
			if err != nil {
				t.Fatal(err)
			}
			if err := ip.extInsert(path, lb, p0+uint64(lb), n, uninit); err != nil {
				t.Fatal(err)
			}
		}
		root, _ := ip.extRoot()
		for i := 0; i < root.entries(); i++ {
			e := DecodeExtent(root.ent(i))
			n, u := e.Length()
			ents = append(ents, fmt.Sprintf("%d+%d@%d/%v", e.Block, n, e.Start(), u))
		}
		want := fmt.Sprintf("[0+%d@%d/%v %d+2@%d/%v]", lim, p0, uninit, lim, p0+uint64(lim), uninit)
		if got := fmt.Sprint(ents); got != want {
			t.Errorf("uninit=%v: extents %s, want %s", uninit, got, want)
		}
	}
	ip.initExtentRoot() // leave nothing pointing at blocks not allocated
}

// TestExtentENOSPC fills the file system with a fragmented file (its tree
// growing as it goes) until a write fails with ENOSPC: the image is still
// consistent, and unlinking gives every block back.
func TestExtentENOSPC(t *testing.T) {
	needTool(t, "mkfs.ext4", "e2fsck")
	img := mkfs(t, "mkfs.ext4", 2, "", append([]string{"-b", "1024", "-O", "^has_journal"}, ext4WriteOpts...)...)
	m := mountImg(t, img, false, "")
	free0 := m.(*fsys).sb.FreeBlocksCount()
	createFile(t, m, "/f")
	vn, err := walk(t, m, "/f")
	if err != nil {
		t.Fatal(err)
	}
	want := []byte(nil)
	for i := 0; ; i++ {
		blk := pattern(1024, byte(i))
		n, err := vfs.VOP_WRITE(m, vn, blk, int64(2*i)*1024)
		if err == syscall.ENOSPC {
			break
		}
		if err != nil || n != len(blk) {
			t.Fatalf("write %d: %d %v", i, n, err)
		}
		want = modelWrite(want, blk, 2*i*1024)
	}
	vn.Rele()
	if got := readAll(t, vnode(t, m, "/f")); !bytes.Equal(got, want) {
		t.Fatalf("contents differ at %d", firstDiff(got, want))
	}
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	e2fsckSilent(t, img)
	depth, leaves := debugfsTree(t, img, "/f")
	t.Logf("full: %d extents, depth %d", len(leaves), depth)
	kernelRead(t, img, map[string][]byte{"/f": want})
	m = mountImg(t, img, false, "")
	root, _ := m.Root()
	if err := vfs.VOP_REMOVE(m, root, "f"); err != nil {
		t.Fatal(err)
	}
	root.Rele()
	if got := m.(*fsys).sb.FreeBlocksCount(); got != free0 {
		t.Errorf("free blocks %d after unlink, %d at the start", got, free0)
	}
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	e2fsckSilent(t, img)
}

// TestExtentBigDir grows a new (extent-mapped) directory over many blocks
// and removes it again; the kernel lists it.
func TestExtentBigDir(t *testing.T) {
	needTool(t, "mkfs.ext4", "e2fsck")
	img := mkfs(t, "mkfs.ext4", 8, "", append([]string{"-b", "1024"}, ext4WriteOpts...)...)
	m := mountImg(t, img, false, "")
	root, _ := m.Root()
	dir, err := vfs.VOP_MKDIR(m, root, vfs.RootCred, "big", 0755)
	if err != nil {
		t.Fatal(err)
	}
	const n = 500
	for i := 0; i < n; i++ {
		vn, err := vfs.VOP_CREATE(m, dir, vfs.RootCred, fmt.Sprintf("entry-%04d-%s", i, strings.Repeat("x", 30)), 0644)
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		vn.Rele()
	}
	if !dir.(*inode).extentsOn() || dir.(*inode).size() < 20*1024 {
		t.Errorf("big: extents %v, size %d", dir.(*inode).extentsOn(), dir.(*inode).size())
	}
	dir.Rele()
	root.Rele()
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	e2fsckSilent(t, img)
	t.Run("kernel", func(t *testing.T) {
		mp := fx.LoopMount(t, img, "ext4")
		ents, err := os.ReadDir(filepath.Join(mp, "big"))
		if err != nil || len(ents) != n {
			t.Errorf("kernel lists %d entries (%v), want %d", len(ents), err, n)
		}
	})
	m = mountImg(t, img, false, "")
	root, _ = m.Root()
	dir, _ = root.Lookup("big")
	for i := 0; i < n; i++ {
		if err := vfs.VOP_REMOVE(m, dir, fmt.Sprintf("entry-%04d-%s", i, strings.Repeat("x", 30))); err != nil {
			t.Fatal(err)
		}
	}
	dir.Rele()
	if err := vfs.VOP_RMDIR(m, root, "big"); err != nil {
		t.Fatal(err)
	}
	root.Rele()
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	e2fsckSilent(t, img)
}

// TestExtentLastBlock writes the last logical block an extent can map
// (2^32-2) and is refused the next one with EFBIG, as Linux's s_maxbytes
// for extent files.
func TestExtentLastBlock(t *testing.T) {
	needTool(t, "mkfs.ext4", "e2fsck", "debugfs")
	img := mkfs(t, "mkfs.ext4", 4, "", append([]string{"-b", "1024", "-O", "^has_journal"}, ext4WriteOpts...)...)
	m := mountImg(t, img, false, "")
	createFile(t, m, "/far")
	last := int64(extMaxLblk-1) * 1024
	writeAt(t, m, "/far", []byte("head"), 0)
	writeAt(t, m, "/far", bytes.Repeat([]byte("e"), 1024), last)
	vn, _ := walk(t, m, "/far")
	if _, err := vfs.VOP_WRITE(m, vn, []byte("x"), last+1024); err != syscall.EFBIG {
		t.Errorf("write past the last block: %v, want EFBIG", err)
	}
	if err := vfs.VOP_SETATTR(m, vn, &vfs.SetAttr{Valid: vfs.SetSize, Size: uint64(last) + 2048}); err != syscall.EFBIG {
		t.Errorf("truncate past the last block: %v, want EFBIG", err)
	}
	buf := make([]byte, 1024)
	if n, err := vn.Read(buf, last); n != 1024 || err != nil || buf[1023] != 'e' {
		t.Errorf("read of the last block: %d %v", n, err)
	}
	vn.Rele()
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	e2fsckSilent(t, img)
	if _, leaves := debugfsTree(t, img, "/far"); len(leaves) != 2 || !strings.Contains(leaves[1], " 4294967294 - 4294967294 ") {
		t.Errorf("/far: extents %q", leaves)
	}
}

// TestExtentForeignTree changes a fragmented file whose tree mke2fs -d
// built (libext2fs's own splitting): holes filled, appended, truncated
// through its depths.
func TestExtentForeignTree(t *testing.T) {
	needTool(t, "mkfs.ext4", "e2fsck", "debugfs")
	tree := t.TempDir()
	want := []byte(nil)
	f, err := os.Create(filepath.Join(tree, "frag"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 500; i++ {
		blk := pattern(1024, byte(i))
		f.WriteAt(blk, int64(2*i+2)*1024) // from block 2 on
		want = modelWrite(want, blk, (2*i+2)*1024)
	}
	f.Close()
	img := mkfs(t, "mkfs.ext4", 8, tree, append([]string{"-b", "1024"}, ext4WriteOpts...)...)
	d0, leaves := debugfsTree(t, img, "/frag")
	if len(leaves) != 500 || d0 < 1 {
		t.Fatalf("mke2fs made depth %d with %d extents", d0, len(leaves))
	}
	m := mountImg(t, img, false, "")
	// Block 0 goes before the first extent: every index above changes.
	for _, i := range []int{0, 1, 401, 999, 1000, 1500} {
		blk := pattern(1024, byte(i+5))
		writeAt(t, m, "/frag", blk, int64(i)*1024)
		want = modelWrite(want, blk, i*1024)
	}
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	e2fsckSilent(t, img)
	kernelRead(t, img, map[string][]byte{"/frag": want})
	for _, size := range []int{700 << 10, 100 << 10, 5 << 10, 0} {
		m = mountImg(t, img, false, "")
		truncTo(t, m, "/frag", int64(size))
		want = modelTrunc(want, size)
		if err := m.Unmount(); err != nil {
			t.Fatal(err)
		}
		e2fsckSilent(t, img)
		d, leaves := debugfsTree(t, img, "/frag")
		t.Logf("size %d: depth %d, %d extents", size, d, len(leaves))
		kernelRead(t, img, map[string][]byte{"/frag": want})
	}
}

// TestExtentRandom applies random writes and truncates to two files (so
// that their blocks interleave and extents stay short), checking the
// contents against a model, and the image with e2fsck and the kernel
// every so often.
func TestExtentRandom(t *testing.T) {
	needTool(t, "mkfs.ext4", "e2fsck")
	img := mkfs(t, "mkfs.ext4", 16, "", append([]string{"-b", "1024", "-O", "^has_journal"}, ext4WriteOpts...)...)
	m := mountImg(t, img, false, "")
	names := []string{"/r1", "/r2"}
	want := map[string][]byte{}
	for _, p := range names {
		createFile(t, m, p)
		want[p] = nil
	}
	seed := uint64(12345)
	if v, err := strconv.ParseUint(os.Getenv("EXT_RANDOM_SEED"), 10, 64); err == nil {
		seed = v // longer local runs: EXT_RANDOM_SEED, _ROUNDS, _OPS
	}
	rnd := func(n int) int {
		seed = seed*6364136223846793005 + 1442695040888963407
		return int(seed>>33) % n
	}
	rounds, ops := 4, 400
	if testing.Short() {
		rounds, ops = 2, 250
	}
	if v, err := strconv.Atoi(os.Getenv("EXT_RANDOM_ROUNDS")); err == nil {
		rounds = v
	}
	if v, err := strconv.Atoi(os.Getenv("EXT_RANDOM_OPS")); err == nil {
		ops = v
	}
	for r := 0; r < rounds; r++ {
		for i := 0; i < ops; i++ {
			p := names[rnd(2)]
			switch k := rnd(40); {
			case k == 0:
				size := rnd(len(want[p]) + 1)
				truncTo(t, m, p, int64(size))
				want[p] = modelTrunc(want[p], size)
			case k == 1:
				size := len(want[p]) + rnd(50<<10)
				truncTo(t, m, p, int64(size))
				want[p] = modelTrunc(want[p], size)
			default:
				off, n := rnd(3<<20), 1+rnd(3000)
				if k < 8 {
					off = rnd(len(want[p]) + 1) // inside or appending
				} else if k < 35 {
					off, n = rnd(3000)*1024, 1024 // one block: many extents
				}
				data := pattern(n, byte(i))
				writeAt(t, m, p, data, int64(off))
				want[p] = modelWrite(want[p], data, off)
			}
		}
		for _, p := range names {
			if got := readAll(t, vnode(t, m, p)); !bytes.Equal(got, want[p]) {
				t.Fatalf("round %d: %s differs at %d", r, p, firstDiff(got, want[p]))
			}
		}
		if err := m.Unmount(); err != nil {
			t.Fatal(err)
		}
		e2fsckSilent(t, img, true)
		for _, p := range names {
			d, leaves := debugfsTree(t, img, p)
			t.Logf("round %d: %s: %d bytes, depth %d, %d extents", r, p, len(want[p]), d, len(leaves))
		}
		kernelRead(t, img, want)
		m = mountImg(t, img, false, "")
	}
	m.Unmount()
}
