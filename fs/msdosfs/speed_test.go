package msdosfs

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rumpfs/rumpfs/vfs"
)

// TestConcurrent: readers walk and read while a writer changes the tree.
func TestConcurrent(t *testing.T) {
	img := mkfs(t, 40000, "-F", "32")
	tm := mountImg(t, img, false, "")
	root := tm.mustWalk(t, "")
	for i := 0; i < 20; i++ {
		c, _ := root.Create(vfs.RootCred, fmt.Sprintf("base %d", i), 0644)
		c.(*node).Write(bytes.Repeat([]byte{byte(i)}, 10000), 0)
		c.Rele()
	}
	var wg sync.WaitGroup
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 10000)
			for k := 0; k < 50; k++ {
				for i := 0; i < 20; i++ {
					c, err := root.Lookup(fmt.Sprintf("base %d", i))
					if err != nil {
						t.Error(err)
						return
					}
					if n, err := c.Read(buf, 0); n != 10000 || err != nil || buf[9999] != byte(i) {
						t.Errorf("read %d: %d %v", i, n, err)
					}
					c.Rele()
				}
				root.Readdir(0, func(vfs.Dirent) bool { return true })
			}
		}()
	}
	for i := 0; i < 200; i++ {
		nm := fmt.Sprintf("new %d", i)
		c, err := root.Create(vfs.RootCred, nm, 0644)
		if err != nil {
			t.Fatal(err)
		}
		c.(*node).Write([]byte(nm), 0)
		c.Rele()
		if i%2 == 0 {
			root.Remove(nm)
		}
	}
	wg.Wait()
	root.Rele()
	tm.unmount(t)
	fsck(t, img)
}

// TestReadSpeed logs the sequential read rate of a large file (FAT's
// speed story: contiguous clusters are read in one ReadAt).
func TestReadSpeed(t *testing.T) {
	if testing.Short() {
		t.Skip("large image")
	}
	img := mkfs(t, 300000, "-F", "32")
	tm := mountImg(t, img, false, "")
	root := tm.mustWalk(t, "")
	c, _ := root.Create(vfs.RootCred, "big", 0644)
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 65536) // 1 MiB
	start := time.Now()
	for i := 0; i < 256; i++ {
		if _, err := c.(*node).Write(chunk, int64(i)*int64(len(chunk))); err != nil {
			t.Fatal(err)
		}
	}
	tm.m.Sync()
	wd := time.Since(start)
	ext, _ := c.(*node).extents()
	start = time.Now()
	buf := make([]byte, 1<<20)
	var total int64
	for off := int64(0); ; off += int64(len(buf)) {
		n, err := c.Read(buf, off)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		total += int64(n)
	}
	rd := time.Since(start)
	t.Logf("256 MiB in %d extents: write %.0f MB/s, read %.0f MB/s (page cache)", len(ext),
		float64(total)/wd.Seconds()/1e6, float64(total)/rd.Seconds()/1e6)
	if len(ext) > 4 {
		t.Errorf("a file written sequentially on an empty volume has %d extents", len(ext))
	}
	c.Rele()
	root.Rele()
	tm.unmount(t)
	fsck(t, img)
}

// TestAccessDate: a read records the access date (unless noatime).
func TestAccessDate(t *testing.T) {
	img := mkfs(t, 2000, "-F", "12")
	for _, opt := range []string{"", "noatime"} {
		tm := mountImg(t, img, false, "")
		root := tm.mustWalk(t, "")
		c, _ := root.Create(vfs.RootCred, "f", 0644)
		c.(*node).Write([]byte("x"), 0)
		old := time.Date(2001, 2, 3, 0, 0, 0, 0, time.Local)
		c.(*node).Setattr(&vfs.SetAttr{Valid: vfs.SetAtime, Atime: old})
		c.Rele()
		tm.unmount(t)
		tm = mountImg(t, img, false, opt)
		c = tm.mustWalk(t, "f")
		c.Read(make([]byte, 10), 0)
		c.Rele()
		tm.unmount(t)
		tm = mountImg(t, img, true, "")
		c = tm.mustWalk(t, "f")
		a, _ := c.Getattr()
		if got := a.Atime.Year() != 2001; got != (opt == "") {
			t.Errorf("opt %q: atime %v", opt, a.Atime)
		}
		c.Rele()
		root.Rele()
		tm.unmount(t)
		root2 := mountImg(t, img, false, "")
		r := root2.mustWalk(t, "")
		r.Remove("f")
		r.Rele()
		root2.unmount(t)
	}
	fsck(t, img)
}
