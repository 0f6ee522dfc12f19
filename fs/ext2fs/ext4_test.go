package ext2fs

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	fx "github.com/rumpfs/rumpfs/internal/fixture"
	"github.com/rumpfs/rumpfs/vfs"
)

// Read-write ext4 as mkfs.ext4 makes it: the write tests of ext2/ext3 run
// again on ext4 images, each ending with e2fsck -fn, debugfs and the
// kernel's ext4 driver reading the tree back.
var ext4WriteFixtures = []fixture{
	{name: "ext4-default", prog: "mkfs.ext4", sizeMB: 48, opts: []string{"-b", "4096"}},
	{name: "ext4-nojournal", prog: "mkfs.ext4", sizeMB: 48, opts: []string{"-b", "4096", "-O", "^has_journal"}},
	{name: "ext4-1k", prog: "mkfs.ext4", sizeMB: 48, opts: []string{"-b", "1024"}},
	{name: "ext4-I256", prog: "mkfs.ext4", sizeMB: 48, opts: []string{"-b", "2048", "-I", "256"}},
	{name: "ext4-no64bit", prog: "mkfs.ext4", sizeMB: 48, opts: []string{"-b", "4096", "-O", "^64bit"}},
	{name: "ext4-I128", prog: "mkfs.ext4", sizeMB: 48, opts: []string{"-b", "1024", "-I", "128"}},
	{name: "ext4-seed-orphanfile", prog: "mkfs.ext4", sizeMB: 48, opts: []string{"-b", "4096", "-O", "metadata_csum_seed,orphan_file"}},
	{name: "ext4-uninit_bg", prog: "mkfs.ext4", sizeMB: 48, opts: []string{"-b", "1024", "-O", "^metadata_csum,uninit_bg"}},
	{name: "ext4-meta_bg", prog: "mkfs.ext4", sizeMB: 48, opts: []string{"-b", "1024", "-O", "meta_bg,^resize_inode"}},
}

func TestExt4WriteScenario(t *testing.T) {
	needTool(t, "mkfs.ext4", "e2fsck", "debugfs")
	if os.Getuid() != 0 {
		t.Skip("the expected tree needs root (device nodes, chown, trusted.*)")
	}
	for _, fx := range ext4WriteFixtures {
		t.Run(fx.name, func(t *testing.T) { writeScenario(t, fx) })
	}
}

// TestExt4Htree grows a hash-indexed directory on metadata_csum images to
// two levels (dx nodes with their dx_tail, leaves with their dirent tail),
// then removes a fifth of the names, or all of them; e2fsck and debugfs
// check it (htreeSplit), and the kernel lists what is left. The directory
// comes from mkfs -d and e2fsck -D, extent-mapped as mkfs.ext4 makes it.
func TestExt4Htree(t *testing.T) {
	needTool(t, "mkfs.ext4", "e2fsck", "debugfs", "tune2fs")
	for _, c := range []struct {
		bs, hash string
		empty    bool
	}{{"1024", "half_md4", true}, {"2048", "tea", false}} {
		t.Run(c.bs+"-"+c.hash, func(t *testing.T) {
			img := htreeSplit(t, "mkfs.ext4", c.bs, c.hash, c.empty)
			if t.Failed() || os.Getuid() != 0 {
				return
			}
			mp := fx.LoopMount(t, img, "ext4")
			ents, err := os.ReadDir(mp + "/big")
			if err != nil {
				t.Fatal(err)
			}
			ls := run(t, "debugfs", "-R", "ls -p /big", img)
			n := 0
			for _, l := range strings.Split(ls, "\n") {
				f := strings.Split(strings.TrimSpace(l), "/")
				if len(f) >= 7 && f[1] != "0" && f[5] != "." && f[5] != ".." {
					n++
				}
			}
			if len(ents) != n || c.empty && n != 0 {
				t.Errorf("kernel lists %d names, debugfs %d (emptied: %v)", len(ents), n, c.empty)
			}
			for i, e := range ents {
				if i%97 == 0 {
					if _, err := os.Stat(mp + "/big/" + e.Name()); err != nil {
						t.Errorf("kernel lookup: %v", err)
					}
				}
			}
		})
	}
}

// TestExt4Orphans: a file unlinked while open is recorded as an orphan
// (the orphan file with orphan_file, the s_last_orphan list otherwise), so
// that an image synced at that moment is repaired by e2fsck as after a
// crash; at last release the record goes, and after unmount e2fsck finds
// nothing and orphan_present is clear.
func TestExt4Orphans(t *testing.T) {
	needTool(t, "mkfs.ext4", "e2fsck", "dumpe2fs")
	for _, c := range []struct {
		name string
		opts []string
	}{{"list", nil}, {"orphan_file", []string{"-O", "orphan_file"}}, {"orphan_file-1k", []string{"-b", "1024", "-O", "orphan_file,metadata_csum_seed"}}} {
		t.Run(c.name, func(t *testing.T) {
			img := mkfs(t, "mkfs.ext4", 16, "", c.opts...)
			m := mountImg(t, img, false, "")
			root, _ := m.Root()
			var open []vfs.Vnode
			for i := 0; i < 3; i++ {
				name := fmt.Sprintf("open%d", i)
				vn := create(t, m, root, name)
				if _, err := vfs.VOP_WRITE(m, vn, pattern(20000, byte(i)), 0); err != nil {
					t.Fatal(err)
				}
				if err := vfs.VOP_REMOVE(m, root, name); err != nil {
					t.Fatal(err)
				}
				open = append(open, vn)
			}
			// Drop the middle one: the record must be unlinked from the
			// middle of the list.
			open[1].Rele()
			if err := m.Sync(); err != nil {
				t.Fatal(err)
			}
			snap := img + ".snap"
			run(t, "cp", "--sparse=always", img, snap)
			snap2 := img + ".snap2"
			run(t, "cp", "--sparse=always", img, snap2)
			code, out := fx.E2fsckFix(t, snap)
			if code > 1 || !strings.Contains(out, "rphan") {
				t.Errorf("e2fsck -fy on the image with open orphans: exit %d\n%s", code, out)
			}
			fx.E2fsck(t, snap) // repaired: consistent now
			for _, i := range []int{0, 2} {
				open[i].Rele()
			}
			root.Rele()
			if err := m.Unmount(); err != nil {
				t.Fatal(err)
			}
			e2fsck(t, img)
			h := run(t, "dumpe2fs", "-h", img)
			if strings.Contains(h, "orphan_present") || strings.Contains(h, "First orphan inode") {
				t.Errorf("orphan state left after unmount:\n%s", h)
			}
			// The crashed state mounted read-write (forced): the orphans
			// are freed at mount, as Linux does.
			m2 := mountImg(t, snap2, false, "force")
			if err := m2.Unmount(); err != nil {
				t.Fatal(err)
			}
			e2fsck(t, snap2)
			h = run(t, "dumpe2fs", "-h", snap2)
			if strings.Contains(h, "orphan_present") || strings.Contains(h, "First orphan inode") {
				t.Errorf("orphan state left after the forced mount:\n%s", h)
			}
		})
	}
}

// TestExt4InlineData: files and directories mkfs.ext4 -O inline_data put
// in their inodes (in i_block alone, and on into system.data) read back
// right; changes convert them to blocks (appends, truncates, names added,
// removed and renamed in inline directories), and e2fsck and the kernel
// then read the expected tree.
func TestExt4InlineData(t *testing.T) {
	needTool(t, "mkfs.ext4", "e2fsck", "debugfs")
	if os.Getuid() != 0 {
		t.Skip("the expected tree needs root")
	}
	for _, bs := range []string{"1024", "4096"} {
		t.Run(bs, func(t *testing.T) {
			tree := t.TempDir() + "/tree"
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(os.MkdirAll(tree+"/d1/d2", 0755))
			must(os.MkdirAll(tree+"/d3", 0755))
			must(os.MkdirAll(tree+"/big", 0755))
			must(os.WriteFile(tree+"/tiny", []byte("tiny\n"), 0644))
			must(os.WriteFile(tree+"/d1/sixty", pattern(60, 1), 0644))
			must(os.WriteFile(tree+"/d1/more", pattern(100, 2), 0644))
			must(os.WriteFile(tree+"/d1/d2/f", []byte("x"), 0644))
			must(os.WriteFile(tree+"/d3/a", pattern(30, 3), 0600))
			must(os.WriteFile(tree+"/d3/b", pattern(90, 4), 0600))
			must(os.WriteFile(tree+"/d3/c", nil, 0600))
			for i := 0; i < 5; i++ {
				must(os.WriteFile(fmt.Sprintf("%s/big/name-%d", tree, i), []byte("n"), 0644))
			}
			must(os.Symlink("d1/more", tree+"/link"))
			img := mkfs(t, "mkfs.ext4", 16, tree, "-b", bs, "-I", "256", "-O", "inline_data")
			st := run(t, "debugfs", "-R", "stat /d1/more", img)
			if !strings.Contains(st, "Size of inline data") {
				t.Fatalf("mkfs did not make /d1/more inline:\n%s", st)
			}
			m := mountImg(t, img, false, "")
			compareTree(t, m, tree, cmpOpts{noMtime: true})
			host := t.TempDir() + "/host"
			run(t, "cp", "-a", tree, host)
			d := &dual{t: t, m: m, host: host}
			d.write("/tiny", pattern(3000, 5), 5)     // inline file grows to blocks
			d.truncate("/d1/more", 40)                // shrinks: converted
			d.write("/d1/sixty", []byte("Z"), 10)     // overwrite in place
			d.write("/d1/new", []byte("new file"), 0) // name added to an inline dir
			d.remove("/d3/a")                         // name removed from one
			d.rename("/d3/b", "/d1/d2/b")             // renamed across two
			d.rename("/d1/d2", "/d3/d2")              // an inline dir moved: ".." changes
			d.remove("/big/name-3")
			d.remove("/d3/c")
			compareTree(t, m, host, cmpOpts{noMtime: true})
			if err := m.Unmount(); err != nil {
				t.Fatal(err)
			}
			e2fsck(t, img)
			kernelCheck(t, img, host)
		})
	}
}

// TestExt4DirNlink: with dir_nlink a directory's link count goes to 1
// once it passes 65000 (Linux's ext4_inc_count) and stays 1 as
// subdirectories go; e2fsck and the kernel accept it. Full size only.
func TestExt4DirNlink(t *testing.T) {
	if testing.Short() {
		t.Skip("65,000 directories")
	}
	needTool(t, "mkfs.ext4", "e2fsck")
	img := mkfs(t, "mkfs.ext4", 160, "", "-b", "1024", "-N", "70000", "-O", "^has_journal")
	m := mountImg(t, img, false, "")
	root, _ := m.Root()
	top, err := vfs.VOP_MKDIR(m, root, vfs.RootCred, "top", 0755)
	if err != nil {
		t.Fatal(err)
	}
	const n = 65010
	for i := 0; i < n; i++ {
		vn, err := vfs.VOP_MKDIR(m, top, vfs.RootCred, fmt.Sprintf("d%d", i), 0755)
		if err != nil {
			t.Fatalf("mkdir %d: %v", i, err)
		}
		vn.Rele()
	}
	if a, _ := top.Getattr(); a.Nlink != 1 {
		t.Errorf("nlink after %d subdirectories: %d, want 1", n, a.Nlink)
	}
	for i := 0; i < 5; i++ {
		if err := vfs.VOP_RMDIR(m, top, fmt.Sprintf("d%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if a, _ := top.Getattr(); a.Nlink != 1 {
		t.Errorf("nlink after removals: %d, want 1 (it stays)", a.Nlink)
	}
	top.Rele()
	root.Rele()
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	e2fsck(t, img)
	if os.Getuid() == 0 {
		mp := fx.LoopMount(t, img, "ext4")
		var st syscall.Stat_t
		if err := syscall.Stat(mp+"/top", &st); err != nil || st.Nlink != 1 {
			t.Errorf("kernel: nlink %d %v, want 1", st.Nlink, err)
		}
		ents, _ := os.ReadDir(mp + "/top")
		if len(ents) != n-5 {
			t.Errorf("kernel lists %d subdirectories, want %d", len(ents), n-5)
		}
	}
}

// TestExt4HtreeNewDir: on a default mkfs.ext4 image a directory made
// through the vfs becomes indexed when its first block fills, grows to
// two levels, and is emptied again; e2fsck checks every dx_tail and
// dirent tail, debugfs shows the tree, the kernel lists the directory.
func TestExt4HtreeNewDir(t *testing.T) {
	needTool(t, "mkfs.ext4", "e2fsck", "debugfs")
	img := mkfs(t, "mkfs.ext4", 32, "", "-b", "1024", "-N", "8000")
	m := mountImg(t, img, false, "")
	root, _ := m.Root()
	dvn, err := vfs.VOP_MKDIR(m, root, vfs.RootCred, "big", 0755)
	if err != nil {
		t.Fatal(err)
	}
	const n = 4000
	name := func(i int) string { return fmt.Sprintf("file-%d-%s", i, strings.Repeat("z", i%30)) }
	for i := 0; i < n; i++ {
		create(t, m, dvn, name(i)).Rele()
	}
	if !dvn.(*inode).isIndexed() {
		t.Fatal("directory not indexed")
	}
	keep := map[string]bool{}
	for i := 0; i < n; i++ {
		if i%400 == 7 {
			keep[name(i)] = true
			continue
		}
		if err := vfs.VOP_REMOVE(m, dvn, name(i)); err != nil {
			t.Fatalf("remove %s: %v", name(i), err)
		}
	}
	dvn.Rele()
	root.Rele()
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	e2fsck(t, img)
	dump := run(t, "debugfs", "-R", "htree_dump /big", img)
	if !strings.Contains(dump, "Indirect levels: 1") {
		t.Errorf("tree did not reach two levels:\n%.1500s", dump)
	}
	if os.Getuid() == 0 {
		mp := fx.LoopMount(t, img, "ext4")
		ents, err := os.ReadDir(mp + "/big")
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != len(keep) {
			t.Errorf("kernel lists %d names, want %d", len(ents), len(keep))
		}
		for _, e := range ents {
			if !keep[e.Name()] {
				t.Errorf("kernel lists %q", e.Name())
			}
		}
	}
}

// TestExt4BitmapChecksum: a block bitmap whose metadata_csum does not
// match is not allocated from: the write fails with EIO and the mount
// keeps serving reads.
func TestExt4BitmapChecksum(t *testing.T) {
	needTool(t, "mkfs.ext4", "dumpe2fs")
	img := mkfs(t, "mkfs.ext4", 16, "", "-b", "4096")
	out := run(t, "dumpe2fs", img)
	i := strings.Index(out, "Block bitmap at ")
	if i < 0 {
		t.Fatalf("dumpe2fs: %s", out)
	}
	var blk int64
	fmt.Sscanf(out[i:], "Block bitmap at %d", &blk)
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	var b [1]byte
	f.ReadAt(b[:], blk*4096+4000)
	b[0] ^= 0x10
	f.WriteAt(b[:], blk*4096+4000)
	f.Close()
	m := mountImg(t, img, false, "")
	root, _ := m.Root()
	vn := create(t, m, root, "f")
	if _, err := vfs.VOP_WRITE(m, vn, []byte("data"), 0); err != syscall.EIO {
		t.Errorf("write with a bad block bitmap: %v, want EIO", err)
	}
	if lf, err := root.Lookup("lost+found"); err != nil {
		t.Errorf("lookup after the failed write: %v", err)
	} else {
		lf.Rele()
	}
	vn.Rele()
	root.Rele()
	m.Unmount() // stops the flusher before the test ends
}

// TestHugeFileBlocks: i_blocks past 48 bits is kept in file-system blocks
// with EXT4_HUGE_FILE_FL, and back in 512-byte units below it.
func TestHugeFileBlocks(t *testing.T) {
	fs := &fsys{bsize: 4096}
	fs.sb.FeatureRoCompat = RoCompatHugeFile
	ip := &inode{fs: fs}
	ip.addBlocks(1<<45 - 1) // 2^48 - 8 sectors
	if ip.di.Flags&FlagHugeFile != 0 || ip.blocks512() != 1<<48-8 {
		t.Fatalf("below 2^48: flags %#x, blocks %d", ip.di.Flags, ip.blocks512())
	}
	ip.addBlocks(2)
	if ip.di.Flags&FlagHugeFile == 0 || ip.blocks512() != 1<<48+8 {
		t.Fatalf("past 2^48: flags %#x, blocks %d", ip.di.Flags, ip.blocks512())
	}
	if got := uint64(ip.di.BlocksLo) | uint64(ip.di.BlocksHi)<<32; got != (1<<48+8)/8 {
		t.Errorf("stored %d, want it in 4 KiB blocks", got)
	}
	ip.addBlocks(-3)
	if ip.di.Flags&FlagHugeFile != 0 || ip.blocks512() != 1<<48-16 {
		t.Errorf("back below: flags %#x, blocks %d", ip.di.Flags, ip.blocks512())
	}
}

// TestExt4LargeDir: with large_dir a hash tree grows to three index
// levels (Linux's limit then); names are then removed, and e2fsck,
// debugfs and the kernel check the tree, which is then emptied and
// removed. Full size only: it takes some
// 30,000 long names on 1 KiB blocks.
func TestExt4LargeDir(t *testing.T) {
	if testing.Short() {
		t.Skip("tens of thousands of names")
	}
	needTool(t, "mkfs.ext4", "e2fsck", "debugfs")
	img := mkfs(t, "mkfs.ext4", 64, "", "-b", "1024", "-N", "2048", "-O", "large_dir")
	m := mountImg(t, img, false, "")
	root, _ := m.Root()
	dvn, err := vfs.VOP_MKDIR(m, root, vfs.RootCred, "big", 0755)
	if err != nil {
		t.Fatal(err)
	}
	dir := dvn.(*inode)
	target := create(t, m, dvn, "target")
	name := func(i int) string { return fmt.Sprintf("%06d-%s", i, strings.Repeat("L", 240)) }
	levels := func() byte {
		if !dir.isIndexed() {
			return 0
		}
		b, err := dir.dirBlock(0)
		if err != nil {
			t.Fatal(err)
		}
		return b.data[DxRootInfoOffset+6]
	}
	n := 0
	for ; n < 60000 && (n%1000 != 0 || levels() < 2); n++ {
		if err := vfs.VOP_LINK(m, dvn, name(n), target); err != nil {
			t.Fatalf("link %d: %v", n, err)
		}
	}
	if levels() != 2 {
		t.Fatalf("after %d names the tree has %d index levels below the root", n, levels())
	}
	t.Logf("three index levels after %d names", n)
	for i := 0; i < n; i += 3 {
		if err := vfs.VOP_REMOVE(m, dvn, name(i)); err != nil {
			t.Fatalf("remove %d: %v", i, err)
		}
	}
	target.Rele()
	dvn.Rele()
	root.Rele()
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	e2fsck(t, img)
	if dump := run(t, "debugfs", "-R", "htree_dump /big", img); !strings.Contains(dump, "Indirect levels: 2") {
		t.Errorf("htree_dump does not show three levels:\n%.1000s", dump)
	}
	if os.Getuid() == 0 {
		mp := fx.LoopMount(t, img, "ext4")
		ents, err := os.ReadDir(mp + "/big")
		if err != nil {
			t.Fatal(err)
		}
		if want := 1 + n - (n+2)/3; len(ents) != want {
			t.Errorf("kernel lists %d names, want %d", len(ents), want)
		}
		for i := 1; i < n; i += 997 {
			_, err := os.Lstat(mp + "/big/" + name(i))
			if gone := i%3 == 0; gone != os.IsNotExist(err) {
				t.Errorf("kernel lookup of %d: %v", i, err)
			}
		}
	}

	// Then emptied, on a copy (the kernel may still hold the image):
	// every name goes, the directory is removed, and e2fsck finds the
	// blocks and inodes given back.
	data, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	img2 := filepath.Join(t.TempDir(), "emptied.img")
	if err := os.WriteFile(img2, data, 0644); err != nil {
		t.Fatal(err)
	}
	m = mountImg(t, img2, false, "")
	root, _ = m.Root()
	if dvn, err = root.Lookup("big"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if i%3 == 0 {
			continue
		}
		if err := vfs.VOP_REMOVE(m, dvn, name(i)); err != nil {
			t.Fatalf("remove %d: %v", i, err)
		}
	}
	if err := vfs.VOP_REMOVE(m, dvn, "target"); err != nil {
		t.Fatal(err)
	}
	dvn.Rele()
	if err := vfs.VOP_RMDIR(m, root, "big"); err != nil {
		t.Fatalf("rmdir of the emptied directory: %v", err)
	}
	root.Rele()
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	e2fsck(t, img2)
	if out, _ := exec.Command("debugfs", "-R", "stat /big", img2).CombinedOutput(); !strings.Contains(string(out), "File not found") {
		t.Errorf("debugfs still finds /big:\n%s", out)
	}
}

// TestExt4Edges runs the edge-case write tests of edge_test.go (open
// unlinked files, ENOSPC, EFBIG and names, a big directory) on ext4
// images, each ending with e2fsck.
func TestExt4Edges(t *testing.T) {
	needTool(t, "mkfs.ext4", "e2fsck", "debugfs")
	t.Run("unlink-open", func(t *testing.T) { unlinkOpenFile(t, "mkfs.ext4", "-b", "1024") })
	t.Run("unlink-open-orphan_file", func(t *testing.T) { unlinkOpenFile(t, "mkfs.ext4", "-b", "1024", "-O", "orphan_file") })
	t.Run("enospc", func(t *testing.T) { enospc(t, "mkfs.ext4", "-b", "1024", "-N", "64") })
	t.Run("enospc-uninit_bg", func(t *testing.T) {
		enospc(t, "mkfs.ext4", "-b", "1024", "-N", "64", "-O", "^metadata_csum,uninit_bg")
	})
	t.Run("efbig-names", func(t *testing.T) { efbigAndNames(t, "mkfs.ext4", "-b", "1024") })
	t.Run("bigdir", func(t *testing.T) { bigDirWrite(t, "mkfs.ext4", "-b", "4096") })
	// Directories indexed by e2fsck -D from mkfs -d: block-mapped (see
	// TestExt4Htree) with metadata_csum.
	t.Run("htree-changes", func(t *testing.T) { htreeChanges(t, "mkfs.ext4", "-O", "^extent,^64bit") })
}
