package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/hanwen/go-fuse/v2/posixtest"
	"golang.org/x/sys/unix"

	"github.com/rumpfs/rumpfs/internal/treetest"
)

// TestPosixReadOnly runs POSIX checks that apply to a read-only file system
// against a rump_cd9660 mount of the Rock Ridge fixture. go-fuse's
// posixtest cases nearly all write; of them only ReadDirConsistency reads
// only, so the rest are our own: directory seeks, parallel opens, large
// and odd-sized reads, mmap, errno of lookups, and EROFS for every change.
func TestPosixReadOnly(t *testing.T) {
	m, tree := mountFixture(t, fxRRJoliet)
	mnt := m.Dir

	t.Run("ReadDirConsistency", func(t *testing.T) {
		posixtest.ReadDirConsistency(t, mnt)
		posixtest.ReadDirConsistency(t, filepath.Join(mnt, "many"))
	})
	t.Run("DirSeek", func(t *testing.T) { dirSeek(t, filepath.Join(mnt, "many")) })
	t.Run("ParallelOpen", func(t *testing.T) { parallelOpen(t, mnt, tree) })
	t.Run("LargeReads", func(t *testing.T) { largeReads(t, mnt, tree) })
	t.Run("Mmap", func(t *testing.T) { mmapRead(t, mnt, tree) })
	t.Run("Errno", func(t *testing.T) { lookupErrno(t, mnt) })
	t.Run("EROFS", func(t *testing.T) { erofs(t, mnt) })
	t.Run("Statfs", func(t *testing.T) {
		var st unix.Statfs_t
		if err := unix.Statfs(mnt, &st); err != nil {
			t.Fatal(err)
		}
		if st.Blocks == 0 || st.Bsize == 0 {
			t.Errorf("statfs: blocks %d bsize %d", st.Blocks, st.Bsize)
		}
	})
}

// dirSeek reads a large directory in small getdents batches, remembers the
// d_off of each entry, then seeks back to every tenth remembered offset and
// checks that listing resumes at the entry that followed it (xfstests
// generic/257, which go-fuse's DirSeek ports with writes).
func dirSeek(t *testing.T, dir string) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	buf := make([]byte, 512) // a few entries per call
	var all []treetest.RawDirent
	for {
		n, err := unix.Getdents(fd, buf)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		ents, err := treetest.ParseDirents(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ents...)
	}
	if len(all) < 100 {
		t.Fatalf("only %d entries", len(all))
	}
	seen := map[string]bool{}
	for _, e := range all {
		if seen[e.Name] {
			t.Errorf("%q listed twice", e.Name)
		}
		seen[e.Name] = true
	}
	for i := 0; i+1 < len(all); i += 10 {
		if _, err := unix.Seek(fd, all[i].Off, io.SeekStart); err != nil {
			t.Fatalf("seekdir to d_off %d: %v", all[i].Off, err)
		}
		n, err := unix.Getdents(fd, buf)
		if err != nil || n == 0 {
			t.Fatalf("getdents after seek to %d: %d, %v", all[i].Off, n, err)
		}
		ents, _ := treetest.ParseDirents(buf[:n])
		if len(ents) == 0 || ents[0].Name != all[i+1].Name {
			got := ""
			if len(ents) > 0 {
				got = ents[0].Name
			}
			t.Errorf("after seek to d_off of %q: got %q, want %q", all[i].Name, got, all[i+1].Name)
		}
	}
}

// parallelOpen opens and reads many files from many goroutines at once.
func parallelOpen(t *testing.T, mnt string, tree *treetest.Tree) {
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g; i < 2000; i += 16 {
				name := fmt.Sprintf("many/f%04d", i)
				b, err := os.ReadFile(filepath.Join(mnt, name))
				if err != nil {
					errs <- err
					return
				}
				if want := fmt.Sprintf("%d\n", i); string(b) != want {
					errs <- fmt.Errorf("%s: %q, want %q", name, b, want)
					return
				}
			}
			// Everyone reads the large file too.
			f, err := os.Open(filepath.Join(mnt, "large.bin"))
			if err != nil {
				errs <- err
				return
			}
			defer f.Close()
			c := tree.Get("large.bin").Data
			off := int64(g) * 123457
			got := make([]byte, 300000)
			want := make([]byte, 300000)
			n, err := f.ReadAt(got, off)
			if err != nil && err != io.EOF {
				errs <- err
				return
			}
			c.ReadAt(want[:n], off)
			if !bytes.Equal(got[:n], want[:n]) {
				errs <- fmt.Errorf("large.bin at %d differs", off)
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// largeReads reads the large file with pread at sizes and offsets that do
// and do not line up with 2 KiB sectors, including across EOF and at EOF.
func largeReads(t *testing.T, mnt string, tree *treetest.Tree) {
	c := tree.Get("large.bin").Data
	size := c.Size()
	f, err := os.Open(filepath.Join(mnt, "large.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, tc := range []struct{ off, n int64 }{
		{0, 4 << 20}, {1, 1 << 20}, {2047, 2}, {2048, 2048}, {4095, 8193},
		{size - 100, 100}, {size - 100, 4096}, {size, 10}, {size + 4096, 10}, {3<<20 + 7, 1<<20 + 3},
	} {
		got := make([]byte, tc.n)
		n, err := f.ReadAt(got, tc.off)
		wantN := max(0, min(tc.n, size-tc.off))
		if int64(n) != wantN {
			t.Errorf("pread(%d, %d) = %d bytes, %v; want %d", tc.off, tc.n, n, err, wantN)
			continue
		}
		if err != nil && err != io.EOF {
			t.Errorf("pread(%d, %d): %v", tc.off, tc.n, err)
		}
		want := make([]byte, n)
		c.ReadAt(want, tc.off)
		if !bytes.Equal(got[:n], want) {
			t.Errorf("pread(%d, %d): content differs", tc.off, tc.n)
		}
	}
	// A plain sequential read with an odd buffer size.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	h1, h2 := newHasher(), newHasher()
	if _, err := io.CopyBuffer(h1, f, make([]byte, 77777)); err != nil {
		t.Fatal(err)
	}
	io.Copy(h2, treetest.Reader(c))
	if !bytes.Equal(h1.Sum(nil), h2.Sum(nil)) {
		t.Error("sequential read with a 77777-byte buffer differs")
	}
}

// mmapRead maps the large file and compares it.
func mmapRead(t *testing.T, mnt string, tree *treetest.Tree) {
	c := tree.Get("large.bin").Data
	f, err := os.Open(filepath.Join(mnt, "large.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := unix.Mmap(int(f.Fd()), 0, int(c.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	defer unix.Munmap(b)
	want := make([]byte, len(b))
	c.ReadAt(want, 0)
	if !bytes.Equal(b, want) {
		t.Error("mmap content differs")
	}
}

// lookupErrno checks the errno of failing lookups.
func lookupErrno(t *testing.T, mnt string) {
	for _, tc := range []struct {
		path string
		want syscall.Errno
	}{
		{"nonexistent", syscall.ENOENT},
		{"a/b", syscall.ENOTDIR},
		{"dir/sub/nothere", syscall.ENOENT},
	} {
		var st unix.Stat_t
		err := unix.Lstat(filepath.Join(mnt, tc.path), &st)
		if !errors.Is(err, tc.want) {
			t.Errorf("lstat %s: %v, want %v", tc.path, err, tc.want)
		}
	}
	// O_NOFOLLOW on a symlink.
	if _, err := unix.Open(filepath.Join(mnt, "link-short"), unix.O_RDONLY|unix.O_NOFOLLOW, 0); !errors.Is(err, syscall.ELOOP) {
		t.Errorf("open link-short O_NOFOLLOW: %v, want ELOOP", err)
	}
	// Following symlinks through the mount.
	if b, err := os.ReadFile(filepath.Join(mnt, "dir/sub/up")); err != nil || string(b) != "a\n" {
		t.Errorf("read through dir/sub/up: %q, %v", b, err)
	}
	if _, err := os.ReadDir(filepath.Join(mnt, "link-dir")); err != nil {
		t.Errorf("readdir through link-dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(mnt, "link-dangling")); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("stat link-dangling: %v, want ENOENT", err)
	}
	if b, err := os.ReadFile(filepath.Join(mnt, "empty")); err != nil || len(b) != 0 {
		t.Errorf("read empty: %q, %v", b, err)
	}
	// Opening a fifo for reading with O_NONBLOCK works on any fs that has
	// fifos; the pipe lives in the kernel, not the daemon.
	fd, err := unix.Open(filepath.Join(mnt, "fifo"), unix.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Errorf("open fifo: %v", err)
	} else {
		unix.Close(fd)
	}
}

// erofs checks that every change is refused with EROFS.
func erofs(t *testing.T, mnt string) {
	p := func(n string) string { return filepath.Join(mnt, n) }
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, syscall.EROFS) {
			t.Errorf("%s: %v, want EROFS", what, err)
		}
	}
	_, err := unix.Open(p("small.txt"), unix.O_WRONLY, 0)
	check("open O_WRONLY", err)
	_, err = unix.Open(p("newfile"), unix.O_WRONLY|unix.O_CREAT, 0644)
	check("create", err)
	check("mkdir", unix.Mkdir(p("newdir"), 0755))
	check("unlink", unix.Unlink(p("small.txt")))
	check("rmdir", unix.Rmdir(p("emptydir")))
	check("rename", unix.Rename(p("small.txt"), p("moved")))
	check("chmod", unix.Chmod(p("small.txt"), 0600))
	check("chown", unix.Lchown(p("small.txt"), 1, 1))
	check("truncate", unix.Truncate(p("small.txt"), 0))
	check("symlink", unix.Symlink("x", p("newlink")))
	check("link", unix.Link(p("small.txt"), p("newhard")))
	check("utimes", unix.UtimesNano(p("small.txt"), []unix.Timespec{{Sec: 1}, {Sec: 1}}))
	check("mknod", unix.Mknod(p("newfifo"), unix.S_IFIFO|0644, 0))
	check("setxattr", unix.Setxattr(p("small.txt"), "user.x", []byte("y"), 0))
}
