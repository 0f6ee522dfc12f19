package ext2fs

import (
	"strings"
	"syscall"
	"testing"

	"github.com/rumpfs/rumpfs/vfs"
)

// TestFileFlags: EXT2_IMMUTABLE_FL and EXT2_APPEND_FL (set through
// SetFlags as `ukfs chflags schg/sappnd` does) are enforced as NetBSD's
// ext2fs and Linux enforce them; debugfs sees the flags we stored, and
// the image stays e2fsck-clean.
func TestFileFlags(t *testing.T) {
	needTool(t, "mkfs.ext2", "e2fsck", "debugfs")
	img := mkfs(t, "mkfs.ext2", 8, "", "-b", "1024")
	m := mountImg(t, img, false, "")
	root, _ := m.Root()
	imm := create(t, m, root, "imm")
	app := create(t, m, root, "app")
	dir, err := vfs.VOP_MKDIR(m, root, vfs.RootCred, "d", 0755)
	if err != nil {
		t.Fatal(err)
	}
	for _, vn := range []vfs.Vnode{imm, app} {
		if _, err := vfs.VOP_WRITE(m, vn, []byte("hello"), 0); err != nil {
			t.Fatal(err)
		}
	}
	inD := create(t, m, dir, "x")
	inD.Rele()
	setFlags := func(vn vfs.Vnode, f uint32) {
		t.Helper()
		if err := vfs.VOP_SETATTR(m, vn, &vfs.SetAttr{Valid: vfs.SetFlags, Flags: f}); err != nil {
			t.Fatal(err)
		}
	}
	setFlags(imm, sfImmutable)
	setFlags(app, sfAppend)
	setFlags(dir, sfImmutable)

	eperm := func(what string, err error) {
		t.Helper()
		if err != syscall.EPERM {
			t.Errorf("%s: %v, want EPERM", what, err)
		}
	}
	_, err = vfs.VOP_WRITE(m, imm, []byte("x"), 5)
	eperm("write to an immutable file", err)
	eperm("chmod of an immutable file", vfs.VOP_SETATTR(m, imm, &vfs.SetAttr{Valid: vfs.SetMode, Mode: 0600}))
	eperm("truncate of an immutable file", vfs.VOP_SETATTR(m, imm, &vfs.SetAttr{Valid: vfs.SetSize}))
	eperm("remove of an immutable file", vfs.VOP_REMOVE(m, root, "imm"))
	eperm("rename of an immutable file", vfs.VOP_RENAME(m, root, "imm", root, "imm2"))
	eperm("link to an immutable file", vfs.VOP_LINK(m, root, "imm2", imm))
	_, err = vfs.VOP_CREATE(m, dir, vfs.RootCred, "new", 0644)
	eperm("create in an immutable directory", err)
	eperm("remove from an immutable directory", vfs.VOP_REMOVE(m, dir, "x"))

	_, err = vfs.VOP_WRITE(m, app, []byte("X"), 0)
	eperm("overwrite of an append-only file", err)
	eperm("truncate of an append-only file", vfs.VOP_SETATTR(m, app, &vfs.SetAttr{Valid: vfs.SetSize}))
	eperm("remove of an append-only file", vfs.VOP_REMOVE(m, root, "app"))
	if n, err := vfs.VOP_WRITE(m, app, []byte(" world"), 5); err != nil || n != 6 {
		t.Errorf("append to an append-only file: %d %v", n, err)
	}
	if got := string(readAll(t, app)); got != "hello world" {
		t.Errorf("append-only file reads %q", got)
	}
	imm.Rele()
	app.Rele()
	dir.Rele()
	root.Rele()
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	e2fsck(t, img)
	// debugfs shows EXT2_IMMUTABLE_FL (0x10) and EXT2_APPEND_FL (0x20).
	for p, want := range map[string]string{"/imm": "Flags: 0x10", "/app": "Flags: 0x20", "/d": "Flags: 0x10"} {
		if st := run(t, "debugfs", "-R", "stat "+p, img); !strings.Contains(st, want) {
			t.Errorf("debugfs stat %s: no %q in\n%s", p, want, st)
		}
	}

	// Cleared, everything is allowed again.
	m = mountImg(t, img, false, "")
	root, _ = m.Root()
	for _, p := range []string{"imm", "app", "d"} {
		vn, err := root.Lookup(p)
		if err != nil {
			t.Fatal(err)
		}
		setFlags(vn, 0)
		vn.Rele()
	}
	for _, c := range []struct{ dir, name string }{{"", "imm"}, {"", "app"}, {"d", "x"}} {
		d := root
		if c.dir != "" {
			d, _ = root.Lookup(c.dir)
			defer d.Rele()
		}
		if err := vfs.VOP_REMOVE(m, d, c.name); err != nil {
			t.Errorf("remove %s/%s after clearing flags: %v", c.dir, c.name, err)
		}
	}
	root.Rele()
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	e2fsck(t, img)
}
