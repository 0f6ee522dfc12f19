package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/rumpfs/rumpfs/internal/fixture"
)

// TestFFSMinfreeByOpener: through the real daemon, the minfree reserve
// is judged by whoever opened the file (NetBSD's rule: VOP_WRITE gets the
// opener's credentials), not by the file's owner. A uid-1000 process gets
// ENOSPC when only the reserve is left, writing a root-owned mode-0666
// file or its own; root still writes to either.
func TestFFSMinfreeByOpener(t *testing.T) {
	fixture.RequireRoot(t)
	fixture.Require(t, "dd", "fallocate", "truncate", "fls", "icat")
	img := filepath.Join(t.TempDir(), "minfree.img")
	fixture.MakeFFS(t, img, t.TempDir(), "version=1,bsize=8192,fsize=1024,minfree=10", "le", "8m", "-f", "200")
	mt := fixture.Mount(t, ffsDaemon, img, "-o", "allow_other")
	// uid 1000 must reach the mountpoint through the test's temp dirs.
	for d := filepath.Dir(mt.Dir); d != os.TempDir() && d != "/" && d != "."; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(mt.Dir, 01777); err != nil {
		t.Fatal(err)
	}
	pub := mt.Path("public")
	if err := os.WriteFile(pub, nil, 0666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(pub, 0666); err != nil {
		t.Fatal(err)
	}

	// A one-fragment file whose tail a truncate will grow.
	tailPath := mt.Path("tail")
	if err := os.WriteFile(tailPath, make([]byte, 1024), 0666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tailPath, 0666); err != nil {
		t.Fatal(err)
	}

	// asUser runs dd as uid 1000 appending n 8 KiB blocks to path.
	asUser := func(path string, blocks string) (string, error) {
		cmd := exec.Command("dd", "if=/dev/zero", "of="+path, "bs=8192", "count="+blocks, "oflag=append", "conv=notrunc")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 1000, Gid: 1000}}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	// The user fills the root-owned file: stopped by the reserve.
	out, err := asUser(pub, "2000")
	if err == nil || !strings.Contains(out, "No space left") {
		t.Fatalf("uid 1000 filling a root-owned 0666 file: %v, want ENOSPC\n%s", err, out)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(mt.Dir, &st); err != nil {
		t.Fatal(err)
	}
	// The reserve (10% of about 8 MiB) is still free: free blocks, none
	// available to users.
	if free := int64(st.Bfree) * st.Bsize; free < 700<<10 {
		t.Fatalf("after the user's writes only %d bytes are free; the reserve was used", free)
	}
	fi, err := os.Stat(pub)
	if err != nil {
		t.Fatal(err)
	}
	userSize := fi.Size()
	if userSize < 5<<20 {
		t.Fatalf("the user wrote only %d bytes before ENOSPC", userSize)
	}

	// posix_fallocate by the user grows the file by writing zeros in the
	// daemon (FALLOCATE): the opener's credentials hold there too.
	fa := exec.Command("fallocate", "-l", strconv.FormatInt(userSize+1<<20, 10), pub)
	fa.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 1000, Gid: 1000}}
	if out, err := fa.CombinedOutput(); err == nil || !strings.Contains(string(out), "No space left") {
		t.Fatalf("uid 1000 fallocate in the reserve: %v, want ENOSPC\n%s", err, out)
	}

	// truncate(1) growing the tail fragment (ftruncate: SETATTR with the
	// opener's handle) is refused to the user too, allowed to root.
	tr := exec.Command("truncate", "-s", "4096", tailPath)
	tr.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 1000, Gid: 1000}}
	if out, err := tr.CombinedOutput(); err == nil || !strings.Contains(string(out), "No space left") {
		t.Fatalf("uid 1000 truncate growing a tail in the reserve: %v, want ENOSPC\n%s", err, out)
	}
	if err := os.Truncate(tailPath, 4096); err != nil {
		t.Fatalf("root truncate growing a tail in the reserve: %v", err)
	}

	// Root, as opener, may write into the reserve.
	f, err := os.OpenFile(pub, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(make([]byte, 64<<10)); err != nil {
		t.Fatalf("root appending to the file in the reserve: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	// The user's own file: refused too; root writing it is not.
	own := mt.Path("own")
	out, err = asUser(own, "1")
	if err == nil || !strings.Contains(out, "No space left") {
		t.Fatalf("uid 1000 writing its own file in the reserve: %v, want ENOSPC\n%s", err, out)
	}
	if fi, err := os.Stat(own); err != nil || fi.Sys().(*syscall.Stat_t).Uid != 1000 {
		t.Fatalf("own: %v %v, want a file of uid 1000", fi, err)
	}
	if err := os.WriteFile(own, make([]byte, 8192), 0); err != nil {
		t.Fatalf("root writing the user's file in the reserve: %v", err)
	}

	if code := mt.Unmount(t); code != 0 {
		t.Fatalf("rump_ffs exited %d; log:\n%s", code, mt.Stderr())
	}
	ffsFsck(t, img)
	// sleuthkit reads the sizes back (it reads makefs's UFS1, not its UFS2,
	// hence version=1).
	ls := fixture.Run(t, "fls", "-p", "-f", "ufs1", img)
	for _, want := range []struct {
		name string
		size int64
	}{{"public", userSize + 64<<10}, {"own", 8192}, {"tail", 4096}} {
		ino := ""
		for _, l := range strings.Split(ls, "\n") {
			if strings.HasSuffix(l, "\t"+want.name) {
				f := strings.Fields(l)
				if len(f) >= 3 {
					ino = strings.TrimSuffix(f[len(f)-2], ":")
				}
			}
		}
		if ino == "" {
			t.Fatalf("fls does not list %s:\n%s", want.name, ls)
		}
		data, err := exec.Command("icat", "-f", "ufs1", img, ino).Output()
		if err != nil {
			t.Fatalf("icat %s: %v", want.name, err)
		}
		if int64(len(data)) != want.size {
			t.Errorf("sleuthkit reads %s as %d bytes, want %d", want.name, len(data), want.size)
		}
	}
}
