package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/rumpfs/rumpfs/internal/fixture"
	"github.com/rumpfs/rumpfs/internal/treetest"
	"github.com/rumpfs/rumpfs/ukfs"
)

// ffsPosixExcluded are go-fuse posixtest cases a rump_ffs mount is not
// expected to pass, with the reason.
var ffsPosixExcluded = map[string]string{
	// fallocate(FALLOC_FL_KEEP_SIZE) past EOF must reserve blocks without
	// growing the file; FFS has no preallocated-but-unwritten extents
	// (NetBSD's ffs has no VOP_FALLOCATE either) and vfs has no
	// allocation call, so p2k answers EOPNOTSUPP.
	"FallocateKeepSize": "FFS cannot preallocate past EOF (no unwritten extents; NetBSD ffs has no fallocate)",
	// The issue asks for UFS2 extended attributes to be read
	// (getxattr/listxattr); fs/ffs does not write the extattr area, so
	// setxattr is EOPNOTSUPP. UFS1 has no extended attributes at all.
	"XAttr": "fs/ffs reads UFS2 extended attributes but does not write them (setxattr EOPNOTSUPP)",
	// POSIX record locks belong to the process: the case expects a
	// second descriptor of the same process to be refused, which ext4
	// and tmpfs do not do either; the kernel keeps the locks.
	"FcntlFlockLocksFile": "expects per-descriptor fcntl locks; POSIX locks are per process (ext4 fails it too)",
}

// TestFFSPosix runs go-fuse's POSIX suite on a read-write UFS2 mount,
// each case in a fresh directory; afterwards the image must check clean.
func TestFFSPosix(t *testing.T) {
	ffsNeedMount(t)
	src := t.TempDir()
	img := filepath.Join(t.TempDir(), "posix.img")
	fixture.MakeFFS(t, img, src, "version=2", "le", "256m", "-f", "5000")
	m := fixture.Mount(t, ffsDaemon, img)
	fixture.RunPosix(t, m.Dir, ffsPosixExcluded)
	if code := m.Unmount(t); code != 0 {
		t.Errorf("rump_ffs exited %d; log:\n%s", code, m.Stderr())
	}
	ffsFsck(t, img)
}

// ffsBadBase is a small image for the corruption tests, with files whose
// inodes are easy to name.
func ffsBadBase(t *testing.T, v ffsVariant) (string, *treetest.Tree) {
	t.Helper()
	tree := treetest.New()
	tree.File("good1", treetest.String("good one\n"))
	tree.File("good2", treetest.Pattern{N: 50000, Seed: 61})
	tree.File("victim", treetest.Pattern{N: 30000, Seed: 62})
	tree.File("dir/inner", treetest.String("inside\n"))
	src := t.TempDir()
	written := treetest.Write(t, src, tree)
	img := filepath.Join(t.TempDir(), "bad.img")
	fixture.MakeFFS(t, img, src, v.opts(), v.endian, "8m")
	return img, written
}

// TestFFSBadInput damages makefs images and checks what rump_ffs and
// `ukfs fsck` make of them: an absurd fs_ncg is refused at mount with one
// line naming it; a wrong cylinder-group magic leaves files readable
// while changes needing the group fail with EIO; a block pointer past the
// end gives EIO on that file only. The checker names each problem.
func TestFFSBadInput(t *testing.T) {
	for _, v := range []ffsVariant{{1, "be", 0, 0}, {2, "le", 0, 0}} {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			ffsNeedMount(t)
			base, tree := ffsBadBase(t, v)
			ffsFsck(t, base)
			victimIno := ffsIno(t, base, "/victim")

			t.Run("ncg", func(t *testing.T) {
				img := filepath.Join(t.TempDir(), "ncg.img")
				fixture.CopyFile(t, base, img)
				if err := fixture.CorruptFFS(img, "ncg"); err != nil {
					t.Fatal(err)
				}
				for _, o := range []string{"ro", "rw"} {
					r := fixture.Start(t, ffsDaemon, []string{"-o", o, img}, nil)
					msg := strings.TrimSpace(r.Stderr)
					if r.Exit == 0 || r.Mount != nil {
						t.Fatalf("-o %s: mount of an image with fs_ncg=0x7fffffff succeeded", o)
					}
					if strings.Count(msg, "\n") != 0 || !strings.Contains(msg, "ffs") || !strings.Contains(msg, "fs_ncg") {
						t.Errorf("-o %s: exit %d, message %q: want one line naming ffs and fs_ncg", o, r.Exit, msg)
					}
				}
				out := ffsFsckFails(t, img, "-t", "ffs")
				if !strings.Contains(out, "fs_ncg") {
					t.Errorf("ukfs fsck -t ffs does not name fs_ncg:\n%s", out)
				}
			})

			t.Run("cgmagic", func(t *testing.T) {
				img := filepath.Join(t.TempDir(), "cg.img")
				fixture.CopyFile(t, base, img)
				if err := fixture.CorruptFFS(img, "cgmagic:0"); err != nil {
					t.Fatal(err)
				}
				out := ffsFsckFails(t, img)
				if !strings.Contains(out, "cylinder group 0: bad magic") {
					t.Errorf("ukfs fsck does not name the cg magic:\n%s", out)
				}
				m := fixture.Mount(t, ffsDaemon, img)
				// Reading needs no cylinder group.
				treetest.Compare(t, treetest.HostView(m.Dir), tree, ffsOpts(v, true))
				// Allocating does: the group is refused, not trusted.
				err := os.WriteFile(m.Path("new"), make([]byte, 100000), 0644)
				if !errors.Is(err, syscall.EIO) && !errors.Is(err, syscall.ENOSPC) {
					t.Errorf("writing with a bad cylinder group: %v, want EIO (or ENOSPC)", err)
				}
				if b, err := os.ReadFile(m.Path("good1")); err != nil || string(b) != "good one\n" {
					t.Errorf("good1 after the failed write: %q, %v", b, err)
				}
				if code := m.Unmount(t); code != 0 {
					t.Logf("rump_ffs exited %d after a failed write (log: %s)", code, m.Stderr())
				}
			})

			t.Run("pointer", func(t *testing.T) {
				img := filepath.Join(t.TempDir(), "ptr.img")
				fixture.CopyFile(t, base, img)
				if err := fixture.CorruptFFS(img, fmt.Sprintf("ptr:%d", victimIno)); err != nil {
					t.Fatal(err)
				}
				out := ffsFsckFails(t, img)
				if !strings.Contains(out, fmt.Sprintf("inode %d: block", victimIno)) || !strings.Contains(out, "out of range") {
					t.Errorf("ukfs fsck does not name inode %d's bad pointer:\n%s", victimIno, out)
				}
				m := fixture.Mount(t, ffsDaemon, img, "-o", "ro")
				if _, err := os.ReadFile(m.Path("victim")); !errors.Is(err, syscall.EIO) {
					t.Errorf("reading victim: %v, want EIO", err)
				}
				for _, p := range []string{"good1", "good2", "dir/inner"} {
					want := make([]byte, tree.Get(p).Data.Size())
					tree.Get(p).Data.ReadAt(want, 0)
					if b, err := os.ReadFile(m.Path(p)); err != nil || string(b) != string(want) {
						t.Errorf("%s next to the damaged file: %d bytes, %v", p, len(b), err)
					}
				}
				if code := m.Unmount(t); code != 0 {
					t.Errorf("rump_ffs exited %d after serving EIO", code)
				}
			})
		})
	}
}

// ffsIno is the inode number of p in img, through ukfs.
func ffsIno(t *testing.T, img, p string) uint64 {
	t.Helper()
	fsys, err := ukfs.Mount(img, ukfs.ReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Unmount()
	fi, err := fsys.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := treetest.StatFromFileInfo(fi)
	if st.NoIdentity || st.Ino == 0 {
		t.Fatalf("no inode number for %s", p)
	}
	return st.Ino
}

// ffsVmHWM is the peak resident set of process pid, from
// /proc/PID/status.
func ffsVmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/PID/status")
	return 0
}

// TestFFSMemory writes a 512 MiB file (with fsync) and copies 10,000
// files into a rump_ffs mount, and checks that the daemon's peak RSS
// (VmHWM) stays under 200 MiB. Not with -short: it writes 600 MB.
func TestFFSMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 600 MB; not with -short")
	}
	ffsNeedMount(t)
	empty := t.TempDir()
	img := filepath.Join(t.TempDir(), "mem.img")
	fixture.MakeFFS(t, img, empty, "version=2", "le", "1g", "-f", "20000")
	m := fixture.Mount(t, ffsDaemon, img)
	if m.PID == 0 {
		t.Fatal("daemon process not found")
	}
	out, err := exec.Command("dd", "if=/dev/zero", "of="+m.Path("big"), "bs=1M", "count=512", "conv=fsync").CombinedOutput()
	if err != nil {
		t.Fatalf("dd: %v\n%s", err, out)
	}
	afterWrite := ffsVmHWM(t, m.PID)

	src := t.TempDir()
	tree := treetest.New()
	for i := 0; i < 10000; i++ {
		tree.File(fmt.Sprintf("d%02d/f%05d", i%50, i), treetest.Pattern{N: int64(100 + i%3000), Seed: uint64(i)})
	}
	treetest.Write(t, src, tree)
	if out, err := exec.Command("cp", "-a", src, m.Path("copy")).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v\n%s", err, out)
	}
	if err := exec.Command("sync", "-f", m.Path("copy")).Run(); err != nil {
		t.Logf("sync -f: %v", err)
	}
	afterCopy := ffsVmHWM(t, m.PID)
	t.Logf("rump_ffs VmHWM: %d MiB after the 512 MiB write, %d MiB after the 10,000-file copy-in", afterWrite>>20, afterCopy>>20)
	if afterCopy > 200<<20 {
		t.Errorf("rump_ffs peak RSS %d MiB, want under 200 MiB", afterCopy>>20)
	}
	if code := m.Unmount(t); code != 0 {
		t.Errorf("rump_ffs exited %d", code)
	}
	ffsFsck(t, img)
}
