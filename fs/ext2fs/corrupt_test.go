package ext2fs

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rumpfs/rumpfs/vfs"
)

func patch(t *testing.T, img string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func u32(v uint32) []byte { b := make([]byte, 4); le.PutUint32(b, v); return b }

// firstBlock asks debugfs for the first data block of path.
func firstBlock(t *testing.T, img, path string) int64 {
	t.Helper()
	out := strings.Fields(run(t, "debugfs", "-R", "blocks "+path, img))
	for _, f := range out {
		if n, err := strconv.ParseInt(f, 10, 64); err == nil {
			return n
		}
	}
	t.Fatalf("no blocks for %s", path)
	return 0
}

func corruptTree(t *testing.T) string {
	tree := t.TempDir() + "/t"
	os.MkdirAll(tree+"/dir/sub/deeper", 0755)
	os.WriteFile(tree+"/file", pattern(20000, 1), 0644)
	os.WriteFile(tree+"/other", []byte("fine"), 0644)
	return tree
}

func TestCorruptions(t *testing.T) {
	needTool(t, "mkfs.ext2", "debugfs")
	tree := corruptTree(t)
	mount := func(img string) (vfs.Mount, error) { return mountImgErr(t, img, true, "") }

	t.Run("inode count", func(t *testing.T) {
		img := mkfs(t, "mkfs.ext2", 4, tree, "-b", "1024")
		patch(t, img, SuperblockOffset+0, u32(12345))
		if _, err := mount(img); err == nil || !strings.Contains(err.Error(), "bad geometry") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("block count past device", func(t *testing.T) {
		img := mkfs(t, "mkfs.ext2", 4, tree, "-b", "1024")
		patch(t, img, SuperblockOffset+4, u32(1<<30))
		if _, err := mount(img); err == nil || !strings.Contains(err.Error(), "exceeds the device") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("group descriptor", func(t *testing.T) {
		img := mkfs(t, "mkfs.ext2", 4, tree, "-b", "1024")
		patch(t, img, 2*1024+8, u32(1<<28)) // group 0's inode table
		if _, err := mount(img); err == nil || !strings.Contains(err.Error(), "inode table") {
			t.Errorf("got %v", err)
		}
		img = mkfs(t, "mkfs.ext2", 4, tree, "-b", "1024")
		patch(t, img, 2*1024+12, []byte{0xff, 0xff}) // free blocks count
		if _, err := mount(img); err == nil || !strings.Contains(err.Error(), "free counts") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("block pointer past the end", func(t *testing.T) {
		img := mkfs(t, "mkfs.ext2", 4, tree, "-b", "1024")
		run(t, "debugfs", "-w", "-R", "sif /file block[2] 99999999", img)
		m, err := mount(img)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Unmount()
		vn, err := walk(t, m, "/file")
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 20000)
		if _, err := vn.Read(buf, 0); err != syscall.EIO {
			t.Errorf("read: %v", err)
		}
		vn.Rele()
		if vn, err := walk(t, m, "/other"); err != nil {
			t.Errorf("other file: %v", err)
		} else {
			vn.Rele()
		}
	})
	t.Run("rec_len 0", func(t *testing.T) {
		img := mkfs(t, "mkfs.ext2", 4, tree, "-b", "1024")
		blk := firstBlock(t, img, "/dir")
		patch(t, img, blk*1024+12+4, []byte{0, 0}) // ".." rec_len
		m, err := mount(img)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Unmount()
		vn, err := walk(t, m, "/dir")
		if err != nil {
			t.Fatal(err)
		}
		defer vn.Rele()
		if err := vn.Readdir(0, func(vfs.Dirent) bool { return true }); err != syscall.EIO {
			t.Errorf("readdir: %v", err)
		}
		if _, err := vn.Lookup("sub"); err != syscall.EIO {
			t.Errorf("lookup: %v", err)
		}
	})
	t.Run("directory loop", func(t *testing.T) {
		img := mkfs(t, "mkfs.ext2", 4, tree, "-b", "1024")
		// sub's ".." points at its own child, whose ".." points back.
		run(t, "debugfs", "-w", "-R", "unlink /dir/sub/..", img)
		run(t, "debugfs", "-w", "-R", "link /dir/sub/deeper /dir/sub/..", img)
		m := mountImg(t, img, false, "force")
		root, _ := m.Root()
		deeper, err := walk(t, m, "/dir/sub/deeper")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- vfs.VOP_RENAME(m, root, "dir", deeper, "x") }()
		select {
		case err := <-done:
			if err == nil {
				t.Error("rename through a directory loop succeeded")
			}
		case <-time.After(20 * time.Second):
			t.Fatal("rename loops")
		}
		deeper.Rele()
		root.Rele()
		m.Unmount()
	})
}

func TestCorruptChecksums(t *testing.T) {
	needTool(t, "mkfs.ext4", "debugfs")
	tree := corruptTree(t)
	t.Run("superblock", func(t *testing.T) {
		img := mkfs(t, "mkfs.ext4", 8, tree)
		patch(t, img, SuperblockOffset+SuperblockChecksumOffset, u32(0xdeadbeef))
		if _, err := mountImgErr(t, img, true, ""); err == nil || !strings.Contains(err.Error(), "checksum") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("group descriptor", func(t *testing.T) {
		img := mkfs(t, "mkfs.ext4", 8, tree, "-b", "4096")
		patch(t, img, 4096+GroupDescChecksumOffset, []byte{0x12, 0x34})
		if _, err := mountImgErr(t, img, true, ""); err == nil || !strings.Contains(err.Error(), "checksum") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("inode", func(t *testing.T) {
		img := mkfs(t, "mkfs.ext4", 8, tree)
		run(t, "debugfs", "-w", "-R", "sif /file checksum 0x1234", img)
		m, err := mountImgErr(t, img, true, "")
		if err != nil {
			t.Fatal(err)
		}
		defer m.Unmount()
		if _, err := walk(t, m, "/file"); err != syscall.EIO {
			t.Errorf("bad inode: %v", err)
		}
		if vn, err := walk(t, m, "/other"); err != nil {
			t.Errorf("good inode: %v", err)
		} else {
			vn.Rele()
		}
	})
	t.Run("directory block", func(t *testing.T) {
		img := mkfs(t, "mkfs.ext4", 8, tree, "-b", "1024")
		blk := firstBlock(t, img, "/dir")
		patch(t, img, blk*1024+1020, u32(0xbadc0de))
		m, err := mountImgErr(t, img, true, "")
		if err != nil {
			t.Fatal(err)
		}
		defer m.Unmount()
		vn, err := walk(t, m, "/dir")
		if err != nil {
			t.Fatal(err)
		}
		defer vn.Rele()
		if _, err := vn.Lookup("sub"); err != syscall.EIO {
			t.Errorf("lookup in a bad block: %v", err)
		}
	})
}
