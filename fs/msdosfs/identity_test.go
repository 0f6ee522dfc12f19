package msdosfs

import (
	"testing"

	"github.com/rumpfs/rumpfs/vfs"
)

// TestReusedInoNewGeneration: a file's inode number is the position of its
// entry (NetBSD's fileid), so a file created in the slot that a renamed or
// removed file left takes the old number. It must come with a new
// generation, or p2k, which maps (ino, generation) to the kernel's node
// ids, gives the new file the node of the old one: through a FUSE mount,
// `echo a > a; mv a b; echo c > c` made b and c one file. A file removed
// while open shows no links.
func TestReusedInoNewGeneration(t *testing.T) {
	img := mkfs(t, 8192, "-F", "12")
	tm := mountImg(t, img, false, "")
	defer tm.unmount(t)
	root := tm.mustWalk(t, "/")
	defer root.Rele()
	cred := &vfs.Cred{}
	create := func(name string) (*node, vfs.Attr) {
		t.Helper()
		v, err := root.Create(cred, name, 0644)
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		a, _ := v.Getattr()
		return v.(*node), a
	}

	a, aa := create("a")
	if err := root.Rename("a", root, "b"); err != nil {
		t.Fatal(err)
	}
	c, ca := create("c")
	ba, _ := a.Getattr()
	if ca.Ino == aa.Ino && ca.Gen == aa.Gen {
		t.Errorf("c took a's old (ino %d, gen %d) after a was renamed", aa.Ino, aa.Gen)
	}
	if ba.Ino == ca.Ino && ba.Gen == ca.Gen {
		t.Errorf("b and c share (ino %d, gen %d)", ba.Ino, ba.Gen)
	}

	// Removed while referenced: no links, and the next file in the slot
	// is told apart by its generation.
	if err := root.Remove("c"); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Getattr(); got.Nlink != 0 {
		t.Errorf("removed open file: nlink %d, want 0", got.Nlink)
	}
	d, da := create("d")
	if da.Ino == ca.Ino && da.Gen == ca.Gen {
		t.Errorf("d took removed c's (ino %d, gen %d)", ca.Ino, ca.Gen)
	}
	a.Rele()
	c.Rele()
	d.Rele()
}
