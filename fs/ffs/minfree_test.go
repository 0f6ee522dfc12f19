package ffs

import (
	"errors"
	"syscall"
	"testing"

	"github.com/rumpfs/rumpfs/vfs"
)

// TestMinfreeByOpener checks NetBSD's rule for the minfree reserve: the
// credentials a write runs with (the opener's) decide, not the file's
// owner. A non-root writer gets ENOSPC once only the reserve is left,
// even on a root-owned mode-0666 file; root still writes, even to a
// file a user owns.
func TestMinfreeByOpener(t *testing.T) {
	v := variant{2, "le", 8192, 1024}
	src := t.TempDir()
	img := makefs(t, v, src, "4m", "-f", "200", "-o", "minfree=10")
	m := mountImg(t, img, false, "")
	if m.g.minfree != 10 {
		t.Fatalf("minfree %d, want 10 (makefs -o minfree=10)", m.g.minfree)
	}
	reserve := m.g.dsize * m.g.minfree / 100
	user := &vfs.Cred{Uid: 1000, Gid: 1000}
	root := mustWalk(t, m, ".")

	// A one-fragment file, for growing its tail by truncate later.
	tail, err := root.Create(vfs.RootCred, "tail", 0666)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tail.(vfs.Writer).Write(make([]byte, 1024), 0); err != nil {
		t.Fatal(err)
	}
	pub, err := root.Create(vfs.RootCred, "public", 0666)
	if err != nil {
		t.Fatal(err)
	}
	// The user fills the root-owned file until the reserve stops it.
	chunk := make([]byte, 8192)
	var off int64
	for {
		k, err := pub.(vfs.CredWriter).WriteCred(user, chunk, off)
		off += int64(k)
		if err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("user write at %d: %v, want ENOSPC", off, err)
			}
			break
		}
		if off > 8<<20 {
			t.Fatal("user wrote past the image's size without ENOSPC")
		}
	}
	if free := m.freeFrags(); free < reserve {
		t.Fatalf("user's writes ate into the reserve: %d frags free, reserve %d", free, reserve)
	}
	if off < 2<<20 {
		t.Fatalf("user stopped after %d bytes; the reserve is only %d frags", off, reserve)
	}
	// Root, writing through the same file, may use the reserve.
	if _, err := pub.(vfs.CredWriter).WriteCred(vfs.RootCred, chunk, off); err != nil {
		t.Fatalf("root write into the reserve: %v", err)
	}
	off += int64(len(chunk))

	// ftruncate growing the tail fragment allocates: the user is
	// refused, root is not.
	grow := &vfs.SetAttr{Valid: vfs.SetSize, Size: 4096}
	if err := vfs.VOP_SETATTRCRED(m, tail, user, grow); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("user truncate growing a tail in the reserve: %v, want ENOSPC", err)
	}
	if err := vfs.VOP_SETATTRCRED(m, tail, vfs.RootCred, grow); err != nil {
		t.Fatalf("root truncate growing a tail in the reserve: %v", err)
	}
	if a, _ := tail.Getattr(); a.Size != 4096 || a.Blocks != 8 {
		t.Fatalf("tail after root's truncate: size %d blocks %d, want 4096 and 8", a.Size, a.Blocks)
	}

	// A user's own file: the user is refused, root (as opener) is not.
	own, err := root.Create(user, "own", 0644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := own.(vfs.CredWriter).WriteCred(user, chunk, 0); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("user write to own file in the reserve: %v, want ENOSPC", err)
	}
	if _, err := vfs.VOP_WRITECRED(m, own, vfs.RootCred, chunk, 0); err != nil {
		t.Fatalf("root write to a user's file in the reserve: %v", err)
	}
	if a, _ := own.Getattr(); a.Size != uint64(len(chunk)) {
		t.Fatalf("own size %d after root's write, want %d", a.Size, len(chunk))
	}
	own.Rele()
	pub.Rele()
	tail.Rele()
	root.Rele()
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	checkClean(t, img)
}
