package vfs_test

import (
	"strings"
	"syscall"
	"testing"

	"github.com/rumpfs/rumpfs/internal/memfs"
	"github.com/rumpfs/rumpfs/vfs"
)

// tree builds /a/b/file, /a/link -> b, /abs -> /a/b, /loop1 <-> /loop2,
// /dangling -> nowhere, /a/locked (mode 0700, owned by uid 1000).
func tree(t *testing.T) (root vfs.Vnode) {
	t.Helper()
	fs := memfs.New()
	root, _ = fs.Root()
	must := func(v vfs.Vnode, err error) vfs.Vnode {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	c := vfs.RootCred
	a := must(vfs.VOP_MKDIR(fs, root, c, "a", 0755))
	b := must(vfs.VOP_MKDIR(fs, a, c, "b", 0755))
	must(vfs.VOP_CREATE(fs, b, c, "file", 0644))
	must(vfs.VOP_SYMLINK(fs, a, c, "link", "b"))
	must(vfs.VOP_SYMLINK(fs, root, c, "abs", "/a/b"))
	must(vfs.VOP_SYMLINK(fs, root, c, "loop1", "loop2"))
	must(vfs.VOP_SYMLINK(fs, root, c, "loop2", "loop1"))
	must(vfs.VOP_SYMLINK(fs, root, c, "dangling", "nowhere"))
	must(vfs.VOP_MKDIR(fs, a, &vfs.Cred{Uid: 1000, Gid: 1000}, "locked", 0700))
	return root
}

func ino(t *testing.T, vn vfs.Vnode) uint64 {
	t.Helper()
	a, err := vn.Getattr()
	if err != nil {
		t.Fatal(err)
	}
	return a.Ino
}

func TestNameiResolves(t *testing.T) {
	root := tree(t)
	a, _ := root.Lookup("a")
	b, _ := a.Lookup("b")
	file, _ := b.Lookup("file")
	for _, tc := range []struct {
		path  string
		start vfs.Vnode
		flags vfs.NameiFlags
		want  vfs.Vnode
	}{
		{"/a/b/file", root, 0, file},
		{"a/b/file", root, 0, file},
		{"b/file", a, 0, file},
		{"//a///b/./file", root, 0, file},
		{"/a/link/file", root, 0, file},     // symlink in the middle is followed
		{"/abs/file", root, 0, file},        // absolute target restarts at root
		{"/a/link", root, vfs.Follow, b},    // last component followed with Follow
		{"/a/link/", root, 0, b},            // trailing slash follows too
		{"/../../a/b/file", root, 0, file},  // ".." at root stays at root
		{"/a/b/../b/../../a/b", root, 0, b}, // ".." walks up
		{"/", root, 0, root},
		{".", b, 0, b},
	} {
		nd, err := vfs.Namei(root, tc.start, tc.path, tc.flags, vfs.RootCred)
		if err != nil {
			t.Errorf("Namei(%q): %v", tc.path, err)
			continue
		}
		if ino(t, nd.Vn) != ino(t, tc.want) {
			t.Errorf("Namei(%q) = ino %d, want %d", tc.path, ino(t, nd.Vn), ino(t, tc.want))
		}
		nd.Release()
	}
	// Without Follow the link itself comes back.
	nd, err := vfs.Namei(root, root, "/a/link", 0, vfs.RootCred)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := nd.Vn.Getattr(); a.Type() != vfs.S_IFLNK {
		t.Errorf("lstat-style lookup of a symlink gave mode %o", a.Mode)
	}
}

func TestNameiErrors(t *testing.T) {
	root := tree(t)
	user := &vfs.Cred{Uid: 2000, Gid: 2000}
	for _, tc := range []struct {
		path  string
		flags vfs.NameiFlags
		cred  *vfs.Cred
		want  syscall.Errno
	}{
		{"", 0, vfs.RootCred, syscall.ENOENT},
		{"/missing", 0, vfs.RootCred, syscall.ENOENT},
		{"/missing/x", vfs.Parent, vfs.RootCred, syscall.ENOENT},
		{"/a/b/file/x", 0, vfs.RootCred, syscall.ENOTDIR},
		{"/a/b/file/", 0, vfs.RootCred, syscall.ENOTDIR},
		{"/loop1", vfs.Follow, vfs.RootCred, syscall.ELOOP},
		{"/loop1/x", 0, vfs.RootCred, syscall.ELOOP},
		{"/dangling", vfs.Follow, vfs.RootCred, syscall.ENOENT},
		{"/" + strings.Repeat("n", vfs.NameMax+1), 0, vfs.RootCred, syscall.ENAMETOOLONG},
		{"/" + strings.Repeat("d/", vfs.PathMax/2), 0, vfs.RootCred, syscall.ENAMETOOLONG},
		{"/a/locked/x", 0, user, syscall.EACCES},
	} {
		nd, err := vfs.Namei(root, root, tc.path, tc.flags, tc.cred)
		if err != tc.want {
			if nd != nil {
				nd.Release()
			}
			t.Errorf("Namei(%.40q) = %v, want %v", tc.path, err, tc.want)
		}
	}
}

func TestNameiParent(t *testing.T) {
	root := tree(t)
	a, _ := root.Lookup("a")
	b, _ := a.Lookup("b")
	// A missing last component is fine with Parent: the create case.
	nd, err := vfs.Namei(root, root, "/a/b/new", vfs.Parent, vfs.RootCred)
	if err != nil {
		t.Fatal(err)
	}
	if nd.Vn != nil || nd.Name != "new" || ino(t, nd.Dir) != ino(t, b) {
		t.Errorf("Parent lookup of a new name: %+v", nd)
	}
	nd.Release()
	// An existing one comes back with its parent; a trailing symlink is not
	// followed (the remove case).
	nd, err = vfs.Namei(root, root, "/a/link", vfs.Parent, vfs.RootCred)
	if err != nil {
		t.Fatal(err)
	}
	if nd.Name != "link" || ino(t, nd.Dir) != ino(t, a) || nd.Vn == nil {
		t.Errorf("Parent lookup of a symlink: %+v", nd)
	}
	nd.Release()
}

func TestAccess(t *testing.T) {
	file := &vfs.Attr{Mode: vfs.S_IFREG | 0640, Uid: 10, Gid: 20}
	owner := &vfs.Cred{Uid: 10, Gid: 99}
	member := &vfs.Cred{Uid: 11, Gid: 99, Groups: []uint32{20}}
	other := &vfs.Cred{Uid: 12, Gid: 99}
	cases := []struct {
		cred *vfs.Cred
		mode uint32
		ok   bool
	}{
		{owner, vfs.AccessRead | vfs.AccessWrite, true},
		{owner, vfs.AccessExec, false},
		{member, vfs.AccessRead, true},
		{member, vfs.AccessWrite, false},
		{other, vfs.AccessRead, false},
		{vfs.RootCred, vfs.AccessRead | vfs.AccessWrite, true},
		{vfs.RootCred, vfs.AccessExec, false}, // root needs some x bit on files
	}
	for _, c := range cases {
		err := vfs.Access(file, c.cred, c.mode)
		if (err == nil) != c.ok {
			t.Errorf("Access(uid %d, %o) = %v, want ok=%v", c.cred.Uid, c.mode, err, c.ok)
		}
	}
	dir := &vfs.Attr{Mode: vfs.S_IFDIR | 0700, Uid: 10}
	if err := vfs.Access(dir, vfs.RootCred, vfs.AccessExec); err != nil {
		t.Errorf("root may search any directory: %v", err)
	}
}

func TestCheckSetattr(t *testing.T) {
	a := &vfs.Attr{Mode: vfs.S_IFREG | 0644, Uid: 10, Gid: 20}
	owner := &vfs.Cred{Uid: 10, Gid: 20, Groups: []uint32{30}}
	if err := vfs.CheckSetattr(a, &vfs.Cred{Uid: 11}, &vfs.SetAttr{Valid: vfs.SetMode, Mode: 0600}); err != syscall.EPERM {
		t.Errorf("chmod by non-owner: %v, want EPERM", err)
	}
	if err := vfs.CheckSetattr(a, owner, &vfs.SetAttr{Valid: vfs.SetUid, Uid: 0}); err != syscall.EPERM {
		t.Errorf("chown away by owner: %v, want EPERM", err)
	}
	if err := vfs.CheckSetattr(a, owner, &vfs.SetAttr{Valid: vfs.SetGid, Gid: 30}); err != nil {
		t.Errorf("chgrp to own group: %v", err)
	}
	if err := vfs.CheckSetattr(a, owner, &vfs.SetAttr{Valid: vfs.SetGid, Gid: 40}); err != syscall.EPERM {
		t.Errorf("chgrp to a foreign group: %v, want EPERM", err)
	}
	sa := &vfs.SetAttr{Valid: vfs.SetMode, Mode: 02755}
	if err := vfs.CheckSetattr(&vfs.Attr{Mode: vfs.S_IFREG, Uid: 10, Gid: 77}, owner, sa); err != nil || sa.Mode != 0755 {
		t.Errorf("setgid by non-member: err %v mode %o, want the bit dropped", err, sa.Mode)
	}
	if err := vfs.CheckSticky(&vfs.Attr{Mode: vfs.S_IFDIR | 01777, Uid: 0}, a, &vfs.Cred{Uid: 11}); err != syscall.EPERM {
		t.Errorf("removing another's file from a sticky dir: %v, want EPERM", err)
	}
}
