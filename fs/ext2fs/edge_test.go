package ext2fs

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/rumpfs/rumpfs/vfs"
)

func create(t *testing.T, m vfs.Mount, dir vfs.Vnode, name string) vfs.Vnode {
	t.Helper()
	vn, err := vfs.VOP_CREATE(m, dir, vfs.RootCred, name, 0644)
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return vn
}

func TestUnlinkOpenFile(t *testing.T) { unlinkOpenFile(t, "mkfs.ext2", "-b", "1024") }

// The bodies of these tests take the mkfs program and options, so that
// ext4_test.go runs them on ext4 images too.
func unlinkOpenFile(t *testing.T, prog string, opts ...string) {
	img := mkfs(t, prog, 8, "", opts...)
	m := mountImg(t, img, false, "")
	root, _ := m.Root()
	defer root.Rele()
	st0, _ := m.Statfs()
	data := pattern(300000, 5)
	vn := create(t, m, root, "open")
	vfs.VOP_WRITE(m, vn, data, 0)
	if err := vfs.VOP_REMOVE(m, root, "open"); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Lookup("open"); err != syscall.ENOENT {
		t.Fatalf("lookup after remove: %v", err)
	}
	a, _ := vn.Getattr()
	if a.Nlink != 0 {
		t.Errorf("nlink %d", a.Nlink)
	}
	if got := readAll(t, vn); !bytes.Equal(got, data) {
		t.Fatal("data of the open unlinked file changed")
	}
	// Still allocated while open.
	if st, _ := m.Statfs(); st.Bfree >= st0.Bfree {
		t.Error("blocks freed while the file is open")
	}
	vn.Rele()
	if st, _ := m.Statfs(); st.Bfree != st0.Bfree || st.Ffree != st0.Ffree {
		t.Errorf("not freed at last release: %+v vs %+v", st, st0)
	}
	// One still open at unmount is freed then: no orphan.
	vn2 := create(t, m, root, "open2")
	vfs.VOP_WRITE(m, vn2, data, 0)
	vfs.VOP_REMOVE(m, root, "open2")
	root.Rele()
	root = nil
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	root, _ = mountImg(t, img, true, "").Root()
	e2fsck(t, img)
}

func TestENOSPC(t *testing.T) { enospc(t, "mkfs.ext2", "-b", "1024", "-N", "64") }

func enospc(t *testing.T, prog string, opts ...string) {
	img := mkfs(t, prog, 2, "", opts...)
	m := mountImg(t, img, false, "")
	top, _ := m.Root()
	// Everything happens in a directory made here, so that it is one
	// this code can grow on every format (ext4's mkfs-made directories
	// are extent-mapped).
	root, err := vfs.VOP_MKDIR(m, top, vfs.RootCred, "w", 0755)
	top.Rele()
	if err != nil {
		t.Fatal(err)
	}
	vn := create(t, m, root, "fill")
	chunk := pattern(64<<10, 1)
	var total int
	for i := 0; i < 100; i++ {
		var n int
		n, err = vfs.VOP_WRITE(m, vn, chunk, int64(total))
		total += n
		if err != nil {
			break
		}
	}
	if err != syscall.ENOSPC {
		t.Fatalf("filling: %v after %d bytes", err, total)
	}
	a, _ := vn.Getattr()
	if a.Size != uint64(total) {
		t.Errorf("size %d after writing %d", a.Size, total)
	}
	vn.Rele()
	// Inodes run out too; directories cannot grow.
	var made int
	for i := 0; i < 100; i++ {
		c, err := vfs.VOP_CREATE(m, root, vfs.RootCred, fmt.Sprintf("f%03d-%s", i, strings.Repeat("x", 100)), 0644)
		if err != nil {
			if err != syscall.ENOSPC {
				t.Fatalf("create: %v", err)
			}
			break
		}
		made++
		c.Rele()
	}
	if made == 100 {
		t.Fatal("no ENOSPC on create")
	}
	if _, err := vfs.VOP_MKDIR(m, root, vfs.RootCred, "d", 0755); err != syscall.ENOSPC {
		t.Errorf("mkdir on a full fs: %v", err)
	}
	root.Rele()
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	e2fsck(t, img)
}

func TestEFBIGAndNames(t *testing.T) { efbigAndNames(t, "mkfs.ext2", "-b", "1024") }

func efbigAndNames(t *testing.T, prog string, opts ...string) {
	img := mkfs(t, prog, 8, "", opts...)
	m := mountImg(t, img, false, "")
	root, _ := m.Root()
	vn := create(t, m, root, "f")
	max := vn.(*inode).maxSize() // extent files have their own limit
	if _, err := vfs.VOP_WRITE(m, vn, []byte("x"), int64(max)); err != syscall.EFBIG {
		t.Errorf("write past the limit: %v", err)
	}
	if err := vfs.VOP_SETATTR(m, vn, &vfs.SetAttr{Valid: vfs.SetSize, Size: max + 1}); err != syscall.EFBIG {
		t.Errorf("truncate past the limit: %v", err)
	}
	// Just below the limit works (triple indirect, 16 GiB on 1 KiB blocks).
	if n, err := vfs.VOP_WRITE(m, vn, []byte("last"), int64(max)-4); err != nil || n != 4 {
		t.Errorf("write at the end: %d %v", n, err)
	}
	vn.Rele()
	long := strings.Repeat("n", 256)
	if _, err := vfs.VOP_CREATE(m, root, vfs.RootCred, long, 0644); err != syscall.ENAMETOOLONG {
		t.Errorf("256-byte name: %v", err)
	}
	if _, err := vfs.VOP_MKDIR(m, root, vfs.RootCred, long, 0755); err != syscall.ENAMETOOLONG {
		t.Errorf("256-byte dir name: %v", err)
	}
	if _, err := vfs.VOP_CREATE(m, root, vfs.RootCred, "lost+found", 0644); err != syscall.EEXIST {
		t.Errorf("existing name: %v", err)
	}
	lf, _ := root.Lookup("lost+found")
	if err := vfs.VOP_RMDIR(m, root, "lost+found"); err != nil {
		t.Errorf("rmdir lost+found: %v", err)
	}
	if lf != nil {
		lf.Rele()
	}
	d, _ := vfs.VOP_MKDIR(m, root, vfs.RootCred, "d", 0755)
	c := create(t, m, d, "c")
	c.Rele()
	if err := vfs.VOP_RMDIR(m, root, "d"); err != syscall.ENOTEMPTY {
		t.Errorf("rmdir non-empty: %v", err)
	}
	if err := vfs.VOP_RENAME(m, root, "d", d, "sub"); err != syscall.EINVAL {
		t.Errorf("rename into itself: %v", err)
	}
	if err := vfs.VOP_REMOVE(m, root, "d"); err != syscall.EISDIR {
		t.Errorf("unlink dir: %v", err)
	}
	d.Rele()
	root.Rele()
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	e2fsck(t, img)
}

// TestHtreeChanges changes directories indexed by e2fsck -D: a few names
// keep the index (e2fsck checks it), many overflow leaves (which are
// split, see dxwrite.go), names are removed and renamed.
func TestHtreeChanges(t *testing.T) { htreeChanges(t, "mkfs.ext2") }

func htreeChanges(t *testing.T, prog string, opts ...string) {
	needTool(t, "e2fsck", "debugfs")
	for _, bs := range []string{"1024", "4096"} {
		t.Run(bs, func(t *testing.T) {
			tree := t.TempDir() + "/t"
			os.MkdirAll(tree+"/few", 0755)
			os.MkdirAll(tree+"/lots", 0755)
			orig := 2000
			if testing.Short() {
				orig = 800
			}
			for i := 0; i < orig; i++ {
				os.WriteFile(fmt.Sprintf("%s/few/orig-%d", tree, i), nil, 0644)
				os.WriteFile(fmt.Sprintf("%s/lots/orig-%d", tree, i), nil, 0644)
			}
			img := mkfs(t, prog, 32, tree, append([]string{"-b", bs, "-N", "20000"}, opts...)...)
			out, err := exec.Command("e2fsck", "-fyD", img).CombinedOutput()
			if exitCode(err) > 1 {
				t.Fatalf("e2fsck -fyD: %s", out)
			}
			m := mountImg(t, img, false, "")
			host := t.TempDir()
			os.MkdirAll(host+"/few", 0755)
			os.MkdirAll(host+"/lots", 0755)
			for i := 0; i < orig; i++ {
				os.WriteFile(fmt.Sprintf("%s/few/orig-%d", host, i), nil, 0644)
				os.WriteFile(fmt.Sprintf("%s/lots/orig-%d", host, i), nil, 0644)
			}
			d := &dual{t: t, m: m, host: host}
			// Deleting leaves space in many leaves; then insert.
			for i := 0; i < orig; i += 3 {
				d.remove(fmt.Sprintf("/few/orig-%d", i))
			}
			for i := 0; i < 40; i++ {
				d.write(fmt.Sprintf("/few/new-%d", i), []byte("n"), 0)
			}
			d.rename("/few/orig-1", "/few/renamed-1")
			few, _ := walk(t, m, "/few")
			if !few.(*inode).isIndexed() {
				t.Error("index dropped though the leaves had room")
			}
			few.Rele()
			n := 6000
			if testing.Short() {
				n = 1500
			}
			for i := 0; i < n; i++ {
				d.write(fmt.Sprintf("/lots/added-%d-%s", i, strings.Repeat("z", i%60)), nil, 0)
			}
			for i := 0; i < orig; i += 2 {
				d.remove(fmt.Sprintf("/lots/orig-%d", i))
			}
			d.rename("/lots/orig-1", "/few/from-lots")
			if err := m.Unmount(); err != nil {
				t.Fatal(err)
			}
			e2fsck(t, img)
			m2 := mountImg(t, img, true, "")
			compareTree(t, m2, host, cmpOpts{noMtime: true})
			m2.Unmount()
			kernelCheck(t, img, host)
		})
	}
}

// TestBigDirWrite makes a directory of many entries through the vfs.
func TestBigDirWrite(t *testing.T) { bigDirWrite(t, "mkfs.ext2", "-b", "4096") }

func bigDirWrite(t *testing.T, prog string, opts ...string) {
	n := 20000
	if testing.Short() {
		n = 3000
	}
	img := mkfs(t, prog, 64, "", append([]string{"-N", fmt.Sprint(n + 100)}, opts...)...)
	m := mountImg(t, img, false, "")
	root, _ := m.Root()
	dir, err := vfs.VOP_MKDIR(m, root, vfs.RootCred, "big", 0755)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		c := create(t, m, dir, fmt.Sprintf("file-%05d", i))
		c.Rele()
	}
	ents := listDir(t, dir)
	if len(ents) != n+2 {
		t.Errorf("%d entries", len(ents))
	}
	dir.Rele()
	root.Rele()
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	e2fsck(t, img)
	if !strings.Contains(run(t, "debugfs", "-R", "stat /big/file-"+fmt.Sprintf("%05d", n-1), img), "Type: regular") {
		t.Error("debugfs cannot see the last file")
	}
}
