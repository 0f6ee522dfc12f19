package treetest

import (
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"golang.org/x/sys/unix"
)

// Write materialises tree under dir (which must exist) and returns the tree
// as it was actually written. Owners and device nodes need root: without
// it, every entry is recorded as owned by the caller and device nodes are
// left out, so that Compare against the returned tree stays honest.
//
// Directory attributes are set last, deepest first, because creating a
// child changes its parent's mtime.
func Write(t testing.TB, dir string, tree *Tree) *Tree {
	t.Helper()
	root := os.Geteuid() == 0
	out := tree.Filter(func(e *Entry) bool {
		return root || (e.Type != CharDev && e.Type != BlockDev)
	})
	if !root {
		uid, gid := uint32(os.Geteuid()), uint32(os.Getegid())
		for _, e := range out.Entries {
			e.Uid, e.Gid = uid, gid
		}
	}
	host := func(p string) string { return filepath.Join(dir, filepath.FromSlash(p)) }

	for _, e := range out.Entries {
		p := host(e.Path)
		var err error
		switch e.Type {
		case Dir:
			// Owner-writable until the end so children can be made.
			err = os.Mkdir(p, 0700)
		case File:
			err = writeContent(p, e.Data)
		case Symlink:
			err = os.Symlink(e.Target, p)
		case Hardlink:
			err = os.Link(host(e.Target), p)
		case Fifo:
			err = unix.Mkfifo(p, 0600)
		case CharDev:
			err = unix.Mknod(p, unix.S_IFCHR|0600, int(e.Rdev))
		case BlockDev:
			err = unix.Mknod(p, unix.S_IFBLK|0600, int(e.Rdev))
		}
		if err != nil {
			t.Fatalf("treetest: writing %s %s: %v", e.Type, e.Path, err)
		}
	}

	setAttrs := func(e *Entry) {
		p := host(e.Path)
		if err := os.Lchown(p, int(e.Uid), int(e.Gid)); err != nil && root {
			t.Fatalf("treetest: chown %s: %v", e.Path, err)
		}
		if e.Type != Symlink {
			// After chown, which clears set-id bits.
			if err := os.Chmod(p, os.FileMode(0)|toFileMode(e.EffPerm())); err != nil {
				t.Fatalf("treetest: chmod %s: %v", e.Path, err)
			}
		}
		mt := e.EffMtime()
		ts := []unix.Timespec{unix.NsecToTimespec(mt.UnixNano()), unix.NsecToTimespec(mt.UnixNano())}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			t.Fatalf("treetest: utimes %s: %v", e.Path, err)
		}
	}
	var dirs []*Entry
	for _, e := range out.Entries {
		switch e.Type {
		case Dir:
			dirs = append(dirs, e)
		case Hardlink:
			// Same inode as its target.
		default:
			setAttrs(e)
		}
	}
	sort.SliceStable(dirs, func(i, j int) bool { return Depth(dirs[i].Path) > Depth(dirs[j].Path) })
	for _, e := range dirs {
		setAttrs(e)
	}
	return out
}

// toFileMode converts Unix permission bits to os.FileMode bits.
func toFileMode(perm uint32) os.FileMode {
	m := os.FileMode(perm & 0777)
	if perm&unix.S_ISUID != 0 {
		m |= os.ModeSetuid
	}
	if perm&unix.S_ISGID != 0 {
		m |= os.ModeSetgid
	}
	if perm&unix.S_ISVTX != 0 {
		m |= os.ModeSticky
	}
	return m
}

// writeContent writes c to a new file at p, leaving the holes of a sparse
// content unallocated.
func writeContent(p string, c Content) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0600)
	if err != nil {
		return err
	}
	defer f.Close()
	if c == nil {
		return nil
	}
	if r, ok := c.(Regioner); ok {
		if err := f.Truncate(c.Size()); err != nil {
			return err
		}
		for _, reg := range r.Regions() {
			if _, err := io.Copy(io.NewOffsetWriter(f, reg[0]), io.NewSectionReader(c, reg[0], reg[1])); err != nil {
				return err
			}
		}
		return f.Close()
	}
	buf := make([]byte, min(1<<20, c.Size()+1))
	if _, err := io.CopyBuffer(f, io.NewSectionReader(c, 0, c.Size()), buf); err != nil {
		return err
	}
	return f.Close()
}
