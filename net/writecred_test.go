package ninep

import (
	"path/filepath"
	"syscall"
	"testing"

	"github.com/hugelgupf/p9/p9"

	"github.com/rumpfs/rumpfs/dev"
	"github.com/rumpfs/rumpfs/fs/ffs"
	"github.com/rumpfs/rumpfs/internal/fixture"
	"github.com/rumpfs/rumpfs/kern"
)

// TestWriteCredMinfree: a 9P write carries the attach's credentials to
// the file system, so FFS keeps its minfree reserve from a squashed
// (uid 1000) client writing a root-owned mode-0666 file, while a root
// client writing the same file may still use it (NetBSD's rule: the
// opener's credentials decide).
func TestWriteCredMinfree(t *testing.T) {
	img := filepath.Join(t.TempDir(), "ffs.img")
	fixture.MakeFFS(t, img, t.TempDir(), "version=1,bsize=8192,fsize=1024,minfree=10", "le", "4m", "-f", "50")
	mp, err := kern.New().Mount(img, "ffs", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := mp.Unmount(); err != nil {
			t.Errorf("unmount: %v", err)
		}
		checkFFS(t, img)
	})
	p, err := mp.NewProc(nil)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := p.Open("/pub", syscall.O_CREAT|syscall.O_WRONLY, 0666)
	if err != nil {
		t.Fatal(err)
	}
	p.Close(fd)
	if err := p.Chmod("/pub", 0666); err != nil {
		t.Fatal(err)
	}
	p.Exit()

	uid := uint32(1000)
	userSock := serveTest(t, mp, Options{Squash: SquashAll, AnonUID: &uid, AnonGID: &uid})
	rootSock := serveTest(t, mp, Options{Squash: SquashNone})
	open := func(sock string) (*p9.Client, p9.File) {
		t.Helper()
		c, root, _ := dial(t, sock)
		f, err := walkTo(root, "pub")
		root.Close()
		if err != nil {
			c.Close()
			t.Fatal(err)
		}
		if _, _, err := f.Open(p9.WriteOnly); err != nil {
			c.Close()
			t.Fatal(err)
		}
		return c, f
	}
	chunk := make([]byte, 8192)
	uc, uf := open(userSock)
	defer uc.Close()
	var off int64
	for {
		n, err := uf.WriteAt(chunk, off)
		off += int64(n)
		if err != nil {
			if !isErr(err, syscall.ENOSPC) {
				t.Fatalf("user write at %d: %v, want ENOSPC", off, err)
			}
			break
		}
		if off > 8<<20 {
			t.Fatal("no ENOSPC for the user")
		}
	}
	uf.Close()
	if off < 2<<20 {
		t.Fatalf("user stopped after %d bytes", off)
	}
	rc, rf := open(rootSock)
	defer rc.Close()
	if _, err := rf.WriteAt(chunk, off); err != nil {
		t.Fatalf("root writing into the reserve: %v", err)
	}
	rf.Close()
}

// checkFFS runs the FFS checker (ukfs fsck's) on img.
func checkFFS(t *testing.T, img string) {
	t.Helper()
	d, err := dev.Open(img, true)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	r, err := ffs.Check(d, ffs.CheckOptions{})
	if err != nil || !r.Clean() {
		t.Fatalf("fsck %s: %v %+v", img, err, r)
	}
}
