package kern

import (
	"path/filepath"
	"syscall"
	"testing"

	"github.com/rumpfs/rumpfs/dev"
	"github.com/rumpfs/rumpfs/fs/ffs"
	"github.com/rumpfs/rumpfs/internal/fixture"
	"github.com/rumpfs/rumpfs/vfs"
)

// TestWriteCredMinfree: a process's writes carry its credentials down to
// the file system (VOP_WRITECRED), so FFS keeps its minfree reserve from
// a uid-1000 process writing a root-owned mode-0666 file while root,
// writing the same file, may still use it (NetBSD's rule).
func TestWriteCredMinfree(t *testing.T) {
	img := filepath.Join(t.TempDir(), "ffs.img")
	fixture.MakeFFS(t, img, t.TempDir(), "version=1,bsize=8192,fsize=1024,minfree=10", "le", "4m", "-f", "50")
	k := New()
	mp, err := k.Mount(img, "ffs", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := mp.Unmount(); err != nil {
			t.Errorf("unmount: %v", err)
		}
		checkFFS(t, img)
	})
	root, err := mp.NewProc(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(root.Exit)
	user, err := mp.NewProc(&vfs.Cred{Uid: 1000, Gid: 1000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(user.Exit)
	fd, err := root.Open("/pub", syscall.O_CREAT|syscall.O_WRONLY, 0666)
	wantErr(t, "create /pub", err, nil)
	root.Close(fd)
	wantErr(t, "chmod /pub", root.Chmod("/pub", 0666), nil) // past the umask
	// The user's own small file: one fragment, whose growth by truncate
	// needs more once the reserve is reached.
	fd, err = root.Open("/mine", syscall.O_CREAT|syscall.O_WRONLY, 0644)
	wantErr(t, "create /mine", err, nil)
	root.Close(fd)
	wantErr(t, "chown /mine", root.Chown("/mine", 1000, 1000), nil)
	mfd, err := user.Open("/mine", syscall.O_WRONLY, 0)
	wantErr(t, "user open /mine", err, nil)
	_, err = user.Write(mfd, make([]byte, 1000))
	wantErr(t, "user write /mine", err, nil)
	ufd, err := user.Open("/pub", syscall.O_WRONLY|syscall.O_APPEND, 0)
	wantErr(t, "user open /pub", err, nil)
	chunk := make([]byte, 8192)
	var total int
	for {
		n, err := user.Write(ufd, chunk)
		total += n
		if err != nil {
			wantErr(t, "user filling /pub", err, syscall.ENOSPC)
			break
		}
		if total > 8<<20 {
			t.Fatal("no ENOSPC for the user")
		}
	}
	user.Close(ufd)
	if total < 2<<20 {
		t.Fatalf("user stopped after %d bytes", total)
	}
	// Truncate and ftruncate growing the tail are judged by the caller too.
	wantErr(t, "user ftruncate growing /mine into the reserve", user.Ftruncate(mfd, 7000), syscall.ENOSPC)
	wantErr(t, "user truncate growing /mine into the reserve", user.Truncate("/mine", 7000), syscall.ENOSPC)
	user.Close(mfd)
	wantErr(t, "root truncate growing /mine", root.Truncate("/mine", 7000), nil)
	rfd, err := root.Open("/pub", syscall.O_WRONLY|syscall.O_APPEND, 0)
	wantErr(t, "root open /pub", err, nil)
	_, err = root.Write(rfd, chunk)
	wantErr(t, "root writing into the reserve", err, nil)
	root.Close(rfd)
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
