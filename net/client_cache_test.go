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
