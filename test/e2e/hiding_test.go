package e2e

import (
	"io/fs"
	"path"

	"github.com/rumpfs/rumpfs/internal/treetest"
	"github.com/rumpfs/rumpfs/ukfs"
)

// hidingFS is a ukfs.FS with some names left out of directory listings
// and lookups, so that testing/fstest.TestFS runs over the part of a tree
// any fs.FS can serve (no dangling symlinks).
type hidingFS struct {
	fsys *ukfs.FS
	hide map[string]bool
}

func (h hidingFS) hidden(name string) bool {
	for p := name; p != "." && p != "/" && p != ""; p = path.Dir(p) {
		if h.hide[p] {
			return true
		}
	}
	return false
}

func (h hidingFS) Open(name string) (fs.File, error) {
	if h.hidden(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	f, err := h.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	if d, ok := f.(fs.ReadDirFile); ok {
		return &hidingDir{ReadDirFile: d, h: h, dir: name}, nil
	}
	return f, nil
}

func (h hidingFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if h.hidden(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	ents, err := h.fsys.ReadDir(name)
	return h.filter(name, ents), err
}

func (h hidingFS) Stat(name string) (fs.FileInfo, error) {
	if h.hidden(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return h.fsys.Stat(name)
}

func (h hidingFS) Lstat(name string) (fs.FileInfo, error) {
	if h.hidden(name) {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
	}
	return h.fsys.Lstat(name)
}

func (h hidingFS) ReadLink(name string) (string, error) {
	if h.hidden(name) {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrNotExist}
	}
	return h.fsys.ReadLink(name)
}

func (h hidingFS) filter(dir string, ents []fs.DirEntry) []fs.DirEntry {
	out := ents[:0:0]
	for _, e := range ents {
		if !h.hide[treetest.Join(dir, e.Name())] {
			out = append(out, e)
		}
	}
	return out
}

type hidingDir struct {
	fs.ReadDirFile
	h   hidingFS
	dir string
}

func (d *hidingDir) ReadDir(n int) ([]fs.DirEntry, error) {
	for {
		ents, err := d.ReadDirFile.ReadDir(n)
		f := d.h.filter(d.dir, ents)
		// Do not return an empty batch with a nil error: that means
		// "nothing more" only with io.EOF.
		if len(f) > 0 || err != nil || n <= 0 {
			return f, err
		}
	}
}

// resolves reports whether symlink e points at an entry of the tree
// (relative, not escaping the root).
func resolves(tree *treetest.Tree, e *treetest.Entry) bool {
	if path.IsAbs(e.Target) {
		return false
	}
	p := path.Join(path.Dir(e.Path), e.Target)
	if p == ".." || len(p) > 2 && p[:3] == "../" {
		return false
	}
	return tree.Get(p) != nil || p == "."
}
