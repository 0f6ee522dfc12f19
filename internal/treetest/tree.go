// Package treetest describes a file tree once and checks any view of a file
// system against it: "one test body, every file system", as NetBSD's
// tests/fs/vfs runs one test against every file system.
//
// A Tree lists entries (directories, files with generated content,
// symlinks, hard links, fifos, devices) with their mode, owner and mtime.
// Write materialises it in a host directory, from which the format's own
// tool (xorriso, mkfs.ext2 -d, makefs, mcopy) builds an image; Compare then
// walks a View of the mounted image — a FUSE mountpoint (HostView) or an
// io/fs-style API such as ukfs (FSView) — and reports every difference:
// names, types, sizes, contents, modes, owners, mtimes, symlink targets,
// hard-link identity and device numbers. Options say what a format cannot
// represent (plain ISO 9660 has no modes, owners or symlinks, and maps
// names to 8.3).
package treetest

import (
	"fmt"
	"path"
	"sort"
	"strings"
	"time"
)

// Type is the kind of a tree entry.
type Type int

const (
	Dir Type = iota
	File
	Symlink
	// Hardlink is another name for the File entry whose path is in Target.
	Hardlink
	Fifo
	CharDev
	BlockDev
)

func (t Type) String() string {
	switch t {
	case Dir:
		return "dir"
	case File:
		return "file"
	case Symlink:
		return "symlink"
	case Hardlink:
		return "hardlink"
	case Fifo:
		return "fifo"
	case CharDev:
		return "chardev"
	case BlockDev:
		return "blockdev"
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// DefaultMtime is the mtime of entries that do not set one. It is a whole
// second, as every format tested can store it.
var DefaultMtime = time.Date(2021, 6, 15, 12, 34, 56, 0, time.UTC)

// Entry is one name in a tree.
type Entry struct {
	Path string // slash-separated, relative to the tree's root, no leading '/'
	Type Type
	Perm uint32 // permission bits (07777); 0 means 0755 for directories, 0644 otherwise (0777 for symlinks)
	Uid  uint32
	Gid  uint32
	// Mtime is the modification time; the zero value means DefaultMtime.
	Mtime time.Time
	// Data is a File's content (nil means empty).
	Data Content
	// Target is a Symlink's link text, or the Path of the File a Hardlink
	// names.
	Target string
	// Rdev is a device's number in the Linux encoding (unix.Mkdev).
	Rdev uint64
}

// EffPerm is the entry's permission bits with defaults applied.
func (e *Entry) EffPerm() uint32 {
	if e.Perm != 0 {
		return e.Perm & 07777
	}
	switch e.Type {
	case Dir:
		return 0755
	case Symlink:
		return 0777
	}
	return 0644
}

// EffMtime is the entry's mtime with the default applied.
func (e *Entry) EffMtime() time.Time {
	if e.Mtime.IsZero() {
		return DefaultMtime
	}
	return e.Mtime
}

// Size is the entry's expected st_size: the content's length for files,
// the target's length for symlinks, 0 for others (directories are not
// checked).
func (e *Entry) Size() int64 {
	switch e.Type {
	case File:
		if e.Data == nil {
			return 0
		}
		return e.Data.Size()
	case Symlink:
		return int64(len(e.Target))
	}
	return 0
}

// Tree is an ordered list of entries: parents come before children and a
// hard link after the file it names. Build it with the Add methods, which
// add missing parent directories with default attributes.
type Tree struct {
	Entries []*Entry
	index   map[string]*Entry
}

// New returns an empty tree.
func New() *Tree { return &Tree{index: map[string]*Entry{}} }

// Get returns the entry at p, or nil.
func (t *Tree) Get(p string) *Entry {
	if t.index == nil {
		t.reindex()
	}
	return t.index[p]
}

func (t *Tree) reindex() {
	t.index = map[string]*Entry{}
	for _, e := range t.Entries {
		t.index[e.Path] = e
	}
}

// Add adds e (and any missing parent directory) and returns it. Adding a
// path twice, a hard link to a missing or non-File entry, or a path that is
// not clean panics: trees are written by tests, and a bad one is a bug in
// the test.
func (t *Tree) Add(e Entry) *Entry {
	if t.index == nil {
		t.reindex()
	}
	if e.Path == "" || e.Path != path.Clean(e.Path) || strings.HasPrefix(e.Path, "/") || e.Path == "." || strings.HasPrefix(e.Path, "../") {
		panic("treetest: bad path " + e.Path)
	}
	if t.index[e.Path] != nil {
		panic("treetest: duplicate path " + e.Path)
	}
	if e.Type == Hardlink {
		tgt := t.index[e.Target]
		if tgt == nil || tgt.Type != File {
			panic("treetest: hard link " + e.Path + " to missing or non-file " + e.Target)
		}
	}
	if dir := path.Dir(e.Path); dir != "." {
		if p := t.index[dir]; p == nil {
			t.Add(Entry{Path: dir, Type: Dir})
		} else if p.Type != Dir {
			panic("treetest: parent of " + e.Path + " is not a directory")
		}
	}
	ne := e
	t.Entries = append(t.Entries, &ne)
	t.index[ne.Path] = &ne
	return &ne
}

// Dir adds a directory.
func (t *Tree) Dir(p string) *Entry { return t.Add(Entry{Path: p, Type: Dir}) }

// File adds a regular file with content c (nil for empty).
func (t *Tree) File(p string, c Content) *Entry {
	return t.Add(Entry{Path: p, Type: File, Data: c})
}

// Symlink adds a symbolic link with the given link text.
func (t *Tree) Symlink(p, target string) *Entry {
	return t.Add(Entry{Path: p, Type: Symlink, Target: target})
}

// Link adds p as a hard link to the existing File entry at existing.
func (t *Tree) Link(p, existing string) *Entry {
	return t.Add(Entry{Path: p, Type: Hardlink, Target: existing})
}

// Fifo adds a named pipe.
func (t *Tree) Fifo(p string) *Entry { return t.Add(Entry{Path: p, Type: Fifo}) }

// Device adds a character (char true) or block device node.
func (t *Tree) Device(p string, char bool, rdev uint64) *Entry {
	typ := BlockDev
	if char {
		typ = CharDev
	}
	return t.Add(Entry{Path: p, Type: typ, Rdev: rdev})
}

// Clone returns a deep copy of the entry list (contents are shared: they
// are immutable).
func (t *Tree) Clone() *Tree {
	return t.Filter(func(*Entry) bool { return true })
}

// Filter returns a copy holding the entries keep accepts. Children of a
// dropped directory and hard links to a dropped file are dropped too, so
// the result is always a valid tree.
func (t *Tree) Filter(keep func(e *Entry) bool) *Tree {
	nt := New()
	for _, e := range t.Entries {
		if dir := path.Dir(e.Path); dir != "." && nt.Get(dir) == nil {
			continue
		}
		if e.Type == Hardlink && nt.Get(e.Target) == nil {
			continue
		}
		if !keep(e) {
			continue
		}
		ne := *e
		nt.Entries = append(nt.Entries, &ne)
		nt.index[ne.Path] = &ne
	}
	return nt
}

// Resolve returns the entry whose inode e names: the File for a Hardlink,
// e itself otherwise.
func (t *Tree) Resolve(e *Entry) *Entry {
	if e.Type == Hardlink {
		if f := t.Get(e.Target); f != nil {
			return f
		}
	}
	return e
}

// Names returns how many names each File entry has (1 + its hard links),
// keyed by the File's path.
func (t *Tree) Names() map[string]int {
	n := map[string]int{}
	for _, e := range t.Entries {
		switch e.Type {
		case File:
			n[e.Path]++
		case Hardlink:
			n[e.Target]++
		}
	}
	return n
}

// Depth is the number of components of p.
func Depth(p string) int { return strings.Count(p, "/") + 1 }

// Paths returns the sorted paths of the tree, for messages.
func (t *Tree) Paths() []string {
	ps := make([]string, 0, len(t.Entries))
	for _, e := range t.Entries {
		ps = append(ps, e.Path)
	}
	sort.Strings(ps)
	return ps
}
