package ninep

import (
	"syscall"
	"testing"
	"time"

	"github.com/rumpfs/rumpfs/internal/memfs"
	"github.com/rumpfs/rumpfs/vfs"
)

// The 9P client (what ukfs uses for 9p+unix://) sees its own changes at
// once, and another client's within cacheTTL, as a FUSE mount sees
// changes behind it within its entry and attribute timeouts.
func TestClientCacheCoherence(t *testing.T) {
	old := cacheTTL
	cacheTTL = 300 * time.Millisecond
	t.Cleanup(func() { cacheTTL = old })
	m := memfs.New()
	sock := serveTest(t, m, Options{})
	c, other, _ := dial(t, sock)
	defer c.Close()
	defer other.Close()
	mkdir(t, other, "d")
	writeFile(t, other, "d/f", []byte("1"), 0644)

	rm, err := Dial("9p+unix://"+sock, false)
	if err != nil {
		t.Fatal(err)
	}
	defer rm.Unmount()
	root, _ := rm.Root()
	defer root.Rele()
	stat := func(p ...string) (vfs.Attr, error) {
		t.Helper()
		vn := root
		vn.(*rnode).ref()
		for _, name := range p {
			next, err := vn.Lookup(name)
			vn.Rele()
			if err != nil {
				return vfs.Attr{}, err
			}
			vn = next
		}
		defer vn.Rele()
		return vn.Getattr()
	}
	a, err := stat("d", "f")
	if err != nil || a.Size != 1 {
		t.Fatalf("d/f: size %d, %v", a.Size, err)
	}

	// Our own write shows at once, though d/f's attributes were cached.
	d, _ := root.Lookup("d")
	f, _ := d.Lookup("f")
	if _, err := vfs.VOP_WRITE(rm, f, []byte("12345"), 0); err != nil {
		t.Fatal(err)
	}
	f.Rele()
	if a, _ := stat("d", "f"); a.Size != 5 {
		t.Errorf("after our own write: size %d, want 5", a.Size)
	}
	// Our own remove and create show at once too.
	if err := vfs.VOP_REMOVE(rm, d, "f"); err != nil {
		t.Fatal(err)
	}
	if _, err := stat("d", "f"); err != syscall.ENOENT {
		t.Errorf("after our own remove: %v, want ENOENT", err)
	}
	nf, err := vfs.VOP_CREATE(rm, d, &vfs.Cred{}, "f", 0644)
	if err != nil {
		t.Fatal(err)
	}
	nf.Rele()
	d.Rele()
	if a, err := stat("d", "f"); err != nil || a.Size != 0 {
		t.Errorf("after our own create: size %d, %v", a.Size, err)
	}

	// Another client's changes show within cacheTTL.
	writeFile(t, other, "d/g", []byte("gg"), 0644)
	ren, _ := walkTo(other, "d")
	if err := ren.RenameAt("g", ren, "f"); err != nil { // replaces f
		t.Fatal(err)
	}
	ren.Close()
	time.Sleep(cacheTTL + 100*time.Millisecond)
	if a, err := stat("d", "f"); err != nil || a.Size != 2 {
		t.Errorf("another client's rename over d/f, after cacheTTL: size %d, %v; want 2", a.Size, err)
	}
	if err := other.UnlinkAt("d", atRemoveDir); err == nil {
		t.Fatal("rmdir of a non-empty directory succeeded")
	}
	dd, _ := walkTo(other, "d")
	dd.UnlinkAt("f", 0)
	dd.Close()
	if err := other.UnlinkAt("d", atRemoveDir); err != nil {
		t.Fatal(err)
	}
	time.Sleep(cacheTTL + 100*time.Millisecond)
	if _, err := stat("d"); err != syscall.ENOENT {
		t.Errorf("directory removed by another client, after cacheTTL: %v, want ENOENT", err)
	}
	if _, err := stat("d", "f"); err != syscall.ENOENT {
		t.Errorf("d/f after d was removed by another client: %v, want ENOENT", err)
	}
}

// A file removed through the client is freed on the server at once,
// though the client had it walked and cached (and prefetched by a
// listing): a fid kept only for the cache must not pin a removed file's
// blocks (ext2 frees an unlinked inode with its last reference).
func TestClientRemoveFreesSpace(t *testing.T) {
	sock, finish := ext2Export(t)
	rm, err := Dial("9p+unix://"+sock, false)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := rm.Root()
	before, err := rm.Statfs()
	if err != nil {
		t.Fatal(err)
	}
	f, err := vfs.VOP_CREATE(rm, root, &vfs.Cred{}, "big", 0644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vfs.VOP_WRITE(rm, f, pattern("big", 4<<20), 0); err != nil {
		t.Fatal(err)
	}
	f.Rele()
	// List the root (prefetching "big") and stat it: the client now
	// holds fids of it that nobody references.
	if err := root.Readdir(0, func(vfs.Dirent) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if vn, err := root.Lookup("big"); err != nil {
		t.Fatal(err)
	} else {
		vn.Getattr()
		vn.Rele()
	}
	mid, _ := rm.Statfs()
	if mid.Bfree+(4<<20)/uint64(mid.Frsize) > before.Bfree {
		t.Fatalf("writing 4 MiB took only %d blocks", before.Bfree-mid.Bfree)
	}
	if err := vfs.VOP_REMOVE(rm, root, "big"); err != nil {
		t.Fatal(err)
	}
	after, _ := rm.Statfs()
	if after.Bfree != before.Bfree {
		t.Errorf("free blocks %d after removing the file, %d before it was written", after.Bfree, before.Bfree)
	}
	root.Rele()
	if err := rm.Unmount(); err != nil {
		t.Error(err)
	}
	finish()
}
