package msdosfs

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rumpfs/rumpfs/vfs"
)

// copyIn copies a host tree into directory dir through the vfs interface,
// keeping mtimes.
func copyIn(t testing.TB, dir *node, src string) {
	t.Helper()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		p := filepath.Join(src, e.Name())
		if e.IsDir() {
			c, err := dir.Mkdir(vfs.RootCred, e.Name(), 0755)
			if err != nil {
				t.Fatalf("mkdir %s: %v", p, err)
			}
			copyIn(t, c.(*node), p)
			c.Rele()
			continue
		}
		c, err := dir.Create(vfs.RootCred, e.Name(), 0644)
		if err != nil {
			t.Fatalf("create %s: %v", p, err)
		}
		b, _ := os.ReadFile(p)
		for off := 0; off < len(b); {
			k := min(len(b)-off, 65536+17)
			n, err := c.(*node).Write(b[off:off+k], int64(off))
			if err != nil || n != k {
				t.Fatalf("write %s: %d %v", p, n, err)
			}
			off += k
		}
		fi, _ := os.Stat(p)
		if err := c.(*node).Setattr(&vfs.SetAttr{Valid: vfs.SetMtime, Mtime: fi.ModTime()}); err != nil {
			t.Fatal(err)
		}
		c.Rele()
	}
}

// checkImage unmounts, runs fsck.fat -n and extracts the image with
// mcopy, comparing with want (a host directory).
func checkImage(t *testing.T, tm *tmount, want string) {
	t.Helper()
	tm.unmount(t)
	fsck(t, tm.img)
	out := mcopyOut(t, tm.img)
	compareTrees(t, hostTree(t, out), hostTree(t, want), false)
	// And read it back through a fresh mount.
	tm2 := mountImg(t, tm.img, true, "")
	if len(tm2.warn) != 0 {
		t.Errorf("remount warnings: %v", tm2.warn)
	}
	compareTrees(t, tm2.readTree(t), hostTree(t, want), false)
	tm2.unmount(t)
}

func sampleTree(t testing.TB, dir string, nfiles int) {
	r := rand.New(rand.NewSource(1))
	writeFile(t, filepath.Join(dir, "README.TXT"), []byte("upper 8.3\n"))
	writeFile(t, filepath.Join(dir, "lower.txt"), []byte("lower 8.3\n"))
	writeFile(t, filepath.Join(dir, "Mixed.Txt"), []byte("mixed\n"))
	writeFile(t, filepath.Join(dir, "a much longer name than 8.3 allows.markdown"), []byte("long\n"))
	writeFile(t, filepath.Join(dir, "ünïcödé ☃ name.txt"), []byte("unicode\n"))
	writeFile(t, filepath.Join(dir, "empty"), nil)
	big := make([]byte, 300000)
	r.Read(big)
	writeFile(t, filepath.Join(dir, "big.bin"), big)
	writeFile(t, filepath.Join(dir, "x/Case/file"), []byte("one"))
	writeFile(t, filepath.Join(dir, "y/case/FILE"), []byte("two"))
	deep := dir
	for i := 0; i < 12; i++ {
		deep = filepath.Join(deep, fmt.Sprintf("level %d", i))
	}
	writeFile(t, filepath.Join(deep, "bottom.txt"), []byte("deep"))
	for i := 0; i < nfiles; i++ {
		writeFile(t, filepath.Join(dir, "many", fmt.Sprintf("%04d file number.dat", i)), []byte(fmt.Sprint(i)))
	}
}

var formats = []struct {
	name string
	kib  int
	args []string
}{
	{"FAT12", 8000, []string{"-F", "12"}},
	{"FAT16", 40000, []string{"-F", "16"}},
	{"FAT32", 80000, []string{"-F", "32"}},
	{"FAT16-4K", 64000, []string{"-F", "16", "-S", "4096", "-s", "1"}},
	{"FAT32-4K", 300000, []string{"-F", "32", "-S", "4096", "-s", "1"}},
	{"FAT32-s8", 80000, []string{"-F", "32", "-s", "1"}},
}

func TestCopyIn(t *testing.T) {
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			img := mkfs(t, f.kib, f.args...)
			src := t.TempDir()
			sampleTree(t, src, 300)
			tm := mountImg(t, img, false, "")
			r, _ := tm.m.Root()
			copyIn(t, r.(*node), src)
			r.Rele()
			compareTrees(t, tm.readTree(t), hostTree(t, src), true)
			checkImage(t, tm, src)
		})
	}
}

func TestWriteOps(t *testing.T) {
	for _, f := range formats[:3] {
		t.Run(f.name, func(t *testing.T) {
			img := mkfs(t, f.kib, f.args...)
			src := t.TempDir()
			sampleTree(t, src, 50)
			mcopyIn(t, img, src)
			tm := mountImg(t, img, false, "")
			root := tm.mustWalk(t, "")
			// Case-only rename.
			if err := root.Rename("lower.txt", root, "LOWER.TXT"); err != nil {
				t.Fatal(err)
			}
			os.Rename(filepath.Join(src, "lower.txt"), filepath.Join(src, "LOWER.TXT"))
			if err := root.Rename("Mixed.Txt", root, "mixed.txt"); err != nil {
				t.Fatal(err)
			}
			os.Rename(filepath.Join(src, "Mixed.Txt"), filepath.Join(src, "mixed.txt"))
			// Rename a directory across directories (".." must follow).
			x := tm.mustWalk(t, "x")
			if err := root.Rename("y", x, "moved y"); err != nil {
				t.Fatal(err)
			}
			os.Rename(filepath.Join(src, "y"), filepath.Join(src, "x", "moved y"))
			x.Rele()
			// Replace a file by rename.
			if err := root.Rename("README.TXT", root, "empty"); err != nil {
				t.Fatal(err)
			}
			os.Rename(filepath.Join(src, "README.TXT"), filepath.Join(src, "empty"))
			// Delete some files, truncate, append.
			many := tm.mustWalk(t, "many")
			for i := 0; i < 50; i += 3 {
				nm := fmt.Sprintf("%04d file number.dat", i)
				if err := many.Remove(nm); err != nil {
					t.Fatal(err)
				}
				os.Remove(filepath.Join(src, "many", nm))
			}
			many.Rele()
			big := tm.mustWalk(t, "big.bin")
			if err := big.Setattr(&vfs.SetAttr{Valid: vfs.SetSize, Size: 12345}); err != nil {
				t.Fatal(err)
			}
			if _, err := big.Write([]byte("appended"), 12345); err != nil {
				t.Fatal(err)
			}
			// Truncate up: zero filled.
			if err := big.Setattr(&vfs.SetAttr{Valid: vfs.SetSize, Size: 20000}); err != nil {
				t.Fatal(err)
			}
			// Write past EOF: gap zero filled.
			if _, err := big.Write([]byte("tail"), 30000); err != nil {
				t.Fatal(err)
			}
			big.Rele()
			b, _ := os.ReadFile(filepath.Join(src, "big.bin"))
			b = append(b[:12345], "appended"...)
			b = append(b, make([]byte, 20000-len(b))...)
			b = append(b, make([]byte, 10000)...)
			b = append(b, "tail"...)
			os.WriteFile(filepath.Join(src, "big.bin"), b, 0644)
			// mkdir / rmdir
			d, err := root.Mkdir(vfs.RootCred, "new dir", 0755)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.(*node).Mkdir(vfs.RootCred, "sub", 0755); err != nil {
				t.Fatal(err)
			}
			if err := root.Rmdir("new dir"); errno(err) != syscall.ENOTEMPTY {
				t.Fatalf("rmdir non-empty: %v", err)
			}
			if err := d.(*node).Rmdir("SUB"); err != nil {
				t.Fatal(err)
			}
			d.Rele()
			if err := root.Rmdir("new dir"); err != nil {
				t.Fatal(err)
			}
			// Refusals.
			if _, err := root.Create(vfs.RootCred, "a:b", 0644); errno(err) != syscall.EINVAL {
				t.Errorf("create a:b: %v", err)
			}
			if _, err := root.Create(vfs.RootCred, strings.Repeat("x", 256), 0644); errno(err) != syscall.ENAMETOOLONG {
				t.Errorf("create long: %v", err)
			}
			if _, err := root.Create(vfs.RootCred, "BIG.BIN", 0644); errno(err) != syscall.EEXIST {
				t.Errorf("create existing other case: %v", err)
			}
			if err := root.Rename("x", tm.mustWalk(t, "x/Case"), "loop"); errno(err) != syscall.EINVAL {
				t.Errorf("rename under itself: %v", err)
			}
			root.Rele()
			compareTrees(t, tm.readTree(t), hostTree(t, src), false)
			checkImage(t, tm, src)
		})
	}
}

func TestENOSPC(t *testing.T) {
	for _, f := range []struct {
		name string
		args []string
		kib  int
	}{{"FAT12", []string{"-F", "12"}, 1440}, {"FAT32", []string{"-F", "32", "-s", "1"}, 34000}} {
		t.Run(f.name, func(t *testing.T) {
			img := mkfs(t, f.kib, f.args...)
			tm := mountImg(t, img, false, "")
			root := tm.mustWalk(t, "")
			chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
			var files []string
			full := false
			for i := 0; !full; i++ {
				nm := fmt.Sprintf("fill%03d", i)
				c, err := root.Create(vfs.RootCred, nm, 0644)
				if err != nil {
					if errno(err) != syscall.ENOSPC {
						t.Fatalf("create: %v", err)
					}
					break
				}
				files = append(files, nm)
				for off := int64(0); off < 1<<20; {
					n, err := c.(*node).Write(chunk, off)
					off += int64(n)
					if err != nil {
						if errno(err) != syscall.ENOSPC {
							t.Fatalf("write: %v", err)
						}
						full = true
						break
					}
				}
				c.Rele()
			}
			st, _ := tm.m.Statfs()
			if st.Bfree != 0 {
				t.Errorf("full volume has %d free clusters", st.Bfree)
			}
			// A directory cannot be made now.
			if _, err := root.Mkdir(vfs.RootCred, "nodir", 0755); errno(err) != syscall.ENOSPC {
				t.Errorf("mkdir on full volume: %v", err)
			}
			tm.m.Sync()
			fsckLive(t, tm)
			// Free everything again.
			for _, nm := range files {
				if err := root.Remove(nm); err != nil {
					t.Fatal(err)
				}
			}
			root.Rele()
			st2, _ := tm.m.Statfs()
			if st2.Bfree != st2.Blocks {
				// the root directory of FAT32 uses a cluster (or more)
				if tm.m.fatType != 32 || st2.Bfree+8 < st2.Blocks {
					t.Errorf("after freeing: %d of %d free", st2.Bfree, st2.Blocks)
				}
			}
			checkImage(t, tm, t.TempDir())
		})
	}
}

// fsckLive checks the image while mounted (after Sync) — only the FAT
// dirty bit may differ, which fsck.fat does not report.
func fsckLive(t *testing.T, tm *tmount) {
	t.Helper()
	fsckCheck(t, tm.img, true)
}

// TestRootFull: the fixed FAT12/16 root directory gives ENOSPC when full,
// and a deleted entry's slots are reused.
func TestRootFull(t *testing.T) {
	img := mkfs(t, 2000, "-F", "12", "-r", "16")
	tm := mountImg(t, img, false, "")
	root := tm.mustWalk(t, "")
	made := 0
	for i := 0; ; i++ {
		c, err := root.Create(vfs.RootCred, fmt.Sprintf("long file name %d", i), 0644)
		if err != nil {
			if errno(err) != syscall.ENOSPC {
				t.Fatalf("create: %v", err)
			}
			break
		}
		c.Rele()
		made++
	}
	if made != 5 { // 3 slots each in 16
		t.Errorf("made %d files in a 16-entry root", made)
	}
	if err := root.Remove("long file name 2"); err != nil {
		t.Fatal(err)
	}
	c, err := root.Create(vfs.RootCred, "again name", 0644)
	if err != nil {
		t.Fatalf("slot reuse: %v", err)
	}
	c.Rele()
	root.Rele()
	want := t.TempDir()
	for _, nm := range []string{"long file name 0", "long file name 1", "long file name 3", "long file name 4", "again name"} {
		writeFile(t, filepath.Join(want, nm), nil)
	}
	checkImage(t, tm, want)
}
