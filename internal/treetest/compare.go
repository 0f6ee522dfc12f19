package treetest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Options says what a file system cannot represent, so that Compare checks
// everything else. The zero value checks everything, as for a POSIX file
// system.
type Options struct {
	// Name maps one source name component to the name the view shows
	// (ISO 9660 level 1: 8.3, upper case on disk, lower-cased by NetBSD's
	// cd9660). dir tells whether the component is a directory. nil is the
	// identity.
	Name func(name string, dir bool) string

	NoPerm         bool // modes are synthesised (plain ISO 9660, FAT)
	NoOwner        bool // uid/gid are synthesised
	NoMtime        bool
	NoNlink        bool // st_nlink of files is not the number of names
	NoLinkIdentity bool // hard links are separate files (ISO without RRIP PX serial numbers)
	NoRdev         bool
	NoSymlinkSize  bool // st_size of a symlink is not the length of its text
	NoDirentIno    bool // d_ino from readdir need not equal st_ino
	NoUniqueIno    bool // distinct files need not have distinct inode numbers

	// MtimeRes is the format's timestamp granularity: got and want may
	// differ by less than this. 0 means exact.
	MtimeRes time.Duration

	// Expect, if set, adjusts the attributes expected for e before they are
	// compared (for formats that synthesise modes or owners from mount
	// options). It sees the Stat Compare derived from the entry.
	Expect func(e *Entry, want *Stat)

	// IgnoreExtra reports whether a name in the view that is not in the
	// tree is acceptable (e.g. Rock Ridge's "rr_moved"). Its argument is the
	// view path.
	IgnoreExtra func(viewPath string) bool

	// MaxFullRead: a file larger than this whose content has holes
	// (Regioner) is checked only around its data regions, at both ends
	// and at every 4 GiB boundary. 0 reads every file in full.
	MaxFullRead int64

	// MaxErrors caps the differences reported (default 40).
	MaxErrors int
}

// ViewPath maps a tree path to the path the view should show.
func (o *Options) ViewPath(p string, isDir bool) string {
	if o.Name == nil {
		return p
	}
	parts := strings.Split(p, "/")
	for i, c := range parts {
		parts[i] = o.Name(c, isDir || i < len(parts)-1)
	}
	return strings.Join(parts, "/")
}

type reporter struct {
	t     testing.TB
	n     int
	max   int
	label string
}

func (r *reporter) errorf(format string, args ...any) {
	r.t.Helper()
	r.n++
	if r.n <= r.max {
		r.t.Errorf("%s: "+format, append([]any{r.label}, args...)...)
	}
}

// Compare walks v and checks it against tree with opts, reporting every
// difference with t.Errorf. It returns the inode number of every name the
// view showed (view paths, "." for the root), for identity checks across
// lookups and remounts.
func Compare(t testing.TB, v View, tree *Tree, opts Options) map[string]uint64 {
	t.Helper()
	max := opts.MaxErrors
	if max <= 0 {
		max = 40
	}
	r := &reporter{t: t, max: max, label: fmt.Sprintf("%v", viewLabel(v))}
	defer func() {
		if r.n > r.max {
			t.Errorf("%s: ... and %d more differences", r.label, r.n-r.max)
		}
	}()

	// What the view should show.
	want := map[string]*Entry{}
	for _, e := range tree.Entries {
		vp := opts.ViewPath(e.Path, e.Type == Dir)
		if prev := want[vp]; prev != nil {
			t.Fatalf("treetest: %s and %s both map to %q in the view; fix the test tree", prev.Path, e.Path, vp)
		}
		want[vp] = e
	}

	got, dino := walk(r, v)
	inos := map[string]uint64{}
	for p, st := range got {
		inos[p] = st.Ino
	}

	var missing, extra []string
	for vp := range want {
		if _, ok := got[vp]; !ok {
			missing = append(missing, vp)
		}
	}
	for vp := range got {
		if vp == "." {
			continue
		}
		if _, ok := want[vp]; !ok && (opts.IgnoreExtra == nil || !opts.IgnoreExtra(vp)) {
			extra = append(extra, vp)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	for _, vp := range missing {
		r.errorf("missing %s %q", want[vp].Type, vp)
	}
	for _, vp := range extra {
		r.errorf("unexpected %q (%s)", vp, typeName(got[vp].Mode))
	}
	if root, ok := got["."]; !ok || root.Mode&unix.S_IFMT != unix.S_IFDIR {
		r.errorf("root is not a directory")
	}

	names := tree.Names()
	paths := make([]string, 0, len(want))
	for vp := range want {
		paths = append(paths, vp)
	}
	sort.Strings(paths)
	for _, vp := range paths {
		e := want[vp]
		st, ok := got[vp]
		if !ok {
			continue
		}
		compareEntry(r, v, tree, names, e, vp, st, &opts)
		if di, ok := dino[vp]; ok && di != 0 && !opts.NoDirentIno && !st.NoIdentity && di != st.Ino {
			r.errorf("%q: readdir d_ino %d != lstat st_ino %d", vp, di, st.Ino)
		}
	}

	// Hard-link identity and distinct inode numbers.
	if !opts.NoLinkIdentity {
		for _, vp := range paths {
			e := want[vp]
			if e.Type != Hardlink {
				continue
			}
			tp := opts.ViewPath(e.Target, false)
			a, aok := got[vp]
			b, bok := got[tp]
			if aok && bok && !a.NoIdentity && a.Ino != b.Ino {
				r.errorf("hard link %q has ino %d, its target %q has ino %d", vp, a.Ino, tp, b.Ino)
			}
		}
	}
	if !opts.NoUniqueIno {
		byIno := map[uint64][]string{}
		for _, vp := range paths {
			if st, ok := got[vp]; ok && !st.NoIdentity {
				byIno[st.Ino] = append(byIno[st.Ino], vp)
			}
		}
		for ino, vps := range byIno {
			if len(vps) < 2 {
				continue
			}
			first := tree.Resolve(want[vps[0]])
			for _, vp := range vps[1:] {
				if tree.Resolve(want[vp]) != first || opts.NoLinkIdentity {
					r.errorf("distinct files share ino %d: %q", ino, vps)
					break
				}
			}
		}
	}
	return inos
}

func viewLabel(v View) string {
	if h, ok := v.(HostView); ok {
		return string(h)
	}
	return fmt.Sprintf("%T", v)
}

// walk lists the whole view: every path's Stat and the d_ino readdir gave.
func walk(r *reporter, v View) (map[string]Stat, map[string]uint64) {
	r.t.Helper()
	got := map[string]Stat{}
	dino := map[string]uint64{}
	st, err := v.Lstat(".")
	if err != nil {
		r.t.Fatalf("%s: lstat root: %v", r.label, err)
	}
	got["."] = st
	queue := []string{"."}
	for len(queue) > 0 {
		dir := queue[0]
		queue = queue[1:]
		ents, err := v.ReadDir(dir)
		if err != nil {
			r.errorf("readdir %q: %v", dir, err)
			continue
		}
		seen := map[string]bool{}
		for _, de := range ents {
			if seen[de.Name] {
				r.errorf("readdir %q: %q listed twice", dir, de.Name)
				continue
			}
			seen[de.Name] = true
			p := Join(dir, de.Name)
			st, err := v.Lstat(p)
			if err != nil {
				r.errorf("lstat %q: %v", p, err)
				continue
			}
			got[p] = st
			dino[p] = de.Ino
			if st.Mode&unix.S_IFMT == unix.S_IFDIR {
				queue = append(queue, p)
			}
		}
	}
	return got, dino
}

func typeName(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return "dir"
	case unix.S_IFREG:
		return "file"
	case unix.S_IFLNK:
		return "symlink"
	case unix.S_IFIFO:
		return "fifo"
	case unix.S_IFCHR:
		return "chardev"
	case unix.S_IFBLK:
		return "blockdev"
	case unix.S_IFSOCK:
		return "socket"
	}
	return fmt.Sprintf("mode %#o", mode)
}

// ifmt is the S_IFMT value for an entry type.
func ifmt(t Type) uint32 {
	switch t {
	case Dir:
		return unix.S_IFDIR
	case Symlink:
		return unix.S_IFLNK
	case Fifo:
		return unix.S_IFIFO
	case CharDev:
		return unix.S_IFCHR
	case BlockDev:
		return unix.S_IFBLK
	}
	return unix.S_IFREG
}

// Want is the Stat Compare expects for e (before Options.Expect). Ino is
// not set.
func Want(tree *Tree, e *Entry) Stat { return expected(tree, tree.Names(), e) }

func expected(tree *Tree, names map[string]int, e *Entry) Stat {
	f := tree.Resolve(e)
	w := Stat{
		Mode:  ifmt(f.Type) | f.EffPerm(),
		Uid:   f.Uid,
		Gid:   f.Gid,
		Size:  f.Size(),
		Mtime: f.EffMtime(),
		Rdev:  f.Rdev,
		Nlink: 1,
	}
	if f.Type == File {
		w.Nlink = uint64(names[f.Path])
	}
	return w
}

func compareEntry(r *reporter, v View, tree *Tree, names map[string]int, e *Entry, vp string, got Stat, opts *Options) {
	r.t.Helper()
	f := tree.Resolve(e)
	want := expected(tree, names, e)
	if opts.Expect != nil {
		opts.Expect(e, &want)
	}
	if got.Mode&unix.S_IFMT != want.Mode&unix.S_IFMT {
		r.errorf("%q: type %s, want %s", vp, typeName(got.Mode), typeName(want.Mode))
		return
	}
	if !opts.NoPerm && f.Type != Symlink && got.Mode&07777 != want.Mode&07777 {
		r.errorf("%q: mode %#o, want %#o", vp, got.Mode&07777, want.Mode&07777)
	}
	if !opts.NoOwner && !got.NoIdentity && (got.Uid != want.Uid || got.Gid != want.Gid) {
		r.errorf("%q: owner %d:%d, want %d:%d", vp, got.Uid, got.Gid, want.Uid, want.Gid)
	}
	if !opts.NoMtime {
		d := got.Mtime.Sub(want.Mtime)
		if d < 0 {
			d = -d
		}
		if (opts.MtimeRes == 0 && d != 0) || (opts.MtimeRes > 0 && d >= opts.MtimeRes) {
			r.errorf("%q: mtime %s, want %s", vp, got.Mtime.UTC().Format(time.RFC3339Nano), want.Mtime.UTC().Format(time.RFC3339Nano))
		}
	}
	if !opts.NoNlink && !got.NoIdentity && f.Type == File && got.Nlink != want.Nlink {
		r.errorf("%q: nlink %d, want %d", vp, got.Nlink, want.Nlink)
	}
	switch f.Type {
	case File:
		if got.Size != want.Size {
			r.errorf("%q: size %d, want %d", vp, got.Size, want.Size)
			return
		}
		if err := compareContent(v, vp, f.Data, opts.MaxFullRead); err != nil {
			r.errorf("%q: %v", vp, err)
		}
	case Symlink:
		if !opts.NoSymlinkSize && got.Size != want.Size {
			r.errorf("%q: symlink size %d, want %d", vp, got.Size, want.Size)
		}
		tgt, err := v.Readlink(vp)
		if err != nil {
			r.errorf("readlink %q: %v", vp, err)
		} else if tgt != f.Target {
			r.errorf("%q: symlink to %q, want %q", vp, tgt, f.Target)
		}
	case CharDev, BlockDev:
		if !opts.NoRdev && !got.NoIdentity && got.Rdev != want.Rdev {
			r.errorf("%q: rdev %d:%d, want %d:%d", vp, unix.Major(got.Rdev), unix.Minor(got.Rdev), unix.Major(want.Rdev), unix.Minor(want.Rdev))
		}
	}
}

// compareContent reads the file at vp and checks it against c, streaming:
// neither side is held in memory whole.
func compareContent(v View, vp string, c Content, maxFull int64) error {
	if c == nil {
		c = Bytes(nil)
	}
	f, err := v.Open(vp)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer f.Close()
	if ra, ok := f.(io.ReaderAt); ok && maxFull > 0 && c.Size() > maxFull {
		if reg, ok := c.(Regioner); ok {
			return compareSampled(ra, c, reg)
		}
	}
	return compareStream(f, c)
}

const chunk = 1 << 20

func compareStream(r io.Reader, c Content) error {
	var off int64
	size := c.Size()
	// Buffers no larger than the file: a tree of thousands of small
	// files must not allocate 2 MiB for each.
	got := make([]byte, min(int64(chunk), size+1))
	want := make([]byte, min(int64(chunk), size+1))
	for off < size {
		n := int(min(int64(chunk), size-off))
		m, err := io.ReadFull(r, got[:n])
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("read at %d: %w", off+int64(m), err)
		}
		if m < n {
			return fmt.Errorf("content ends at %d, want %d bytes", off+int64(m), size)
		}
		if _, err := c.ReadAt(want[:n], off); err != nil && err != io.EOF {
			return fmt.Errorf("generating content: %w", err)
		}
		if !bytes.Equal(got[:n], want[:n]) {
			return diffAt(got[:n], want[:n], off)
		}
		off += int64(n)
	}
	var one [1]byte
	if n, _ := io.ReadFull(r, one[:]); n != 0 {
		return fmt.Errorf("content continues past its size %d", size)
	}
	return nil
}

func diffAt(got, want []byte, base int64) error {
	for i := range got {
		if got[i] != want[i] {
			return fmt.Errorf("content differs at byte %d: got %#02x, want %#02x", base+int64(i), got[i], want[i])
		}
	}
	return nil
}

// compareSampled checks windows of a huge sparse file: each data region
// with 64 KiB around it, both ends, and the bytes around every 4 GiB
// boundary (where ISO 9660 splits a file into extents).
func compareSampled(ra io.ReaderAt, c Content, reg Regioner) error {
	const pad = 64 << 10
	size := c.Size()
	var wins [][2]int64
	add := func(s, e int64) {
		s, e = max(0, s), min(size, e)
		if s < e {
			wins = append(wins, [2]int64{s, e})
		}
	}
	for _, r := range reg.Regions() {
		add(r[0]-pad, r[0]+r[1]+pad)
	}
	add(0, chunk)
	add(size-chunk, size)
	for b := int64(4 << 30); b < size; b += 4 << 30 {
		add(b-pad, b+pad)
	}
	got := make([]byte, chunk)
	want := make([]byte, chunk)
	for _, w := range wins {
		for off := w[0]; off < w[1]; off += chunk {
			n := int(min(int64(chunk), w[1]-off))
			m, err := ra.ReadAt(got[:n], off)
			if m < n {
				return fmt.Errorf("read %d bytes at %d: got %d: %v", n, off, m, err)
			}
			if _, err := c.ReadAt(want[:n], off); err != nil && err != io.EOF {
				return fmt.Errorf("generating content: %w", err)
			}
			if !bytes.Equal(got[:n], want[:n]) {
				return diffAt(got[:n], want[:n], off)
			}
		}
	}
	var one [1]byte
	if m, _ := ra.ReadAt(one[:], size); m != 0 {
		return fmt.Errorf("content continues past its size %d", size)
	}
	return nil
}

// Inodes walks v and returns each path's inode number ("." is the root).
// Two calls on the same mount, or calls on two mounts of one image, must
// agree: inode numbers are the file system's own.
func Inodes(t testing.TB, v View) map[string]uint64 {
	t.Helper()
	r := &reporter{t: t, max: 40, label: viewLabel(v)}
	got, _ := walk(r, v)
	out := make(map[string]uint64, len(got))
	for p, st := range got {
		out[p] = st.Ino
	}
	return out
}

// SameInodes reports every path whose inode number differs between a and b,
// or that only one of them has.
func SameInodes(t testing.TB, what string, a, b map[string]uint64) {
	t.Helper()
	var diffs []string
	for p, ia := range a {
		ib, ok := b[p]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%q only in the first", p))
		case ia != ib:
			diffs = append(diffs, fmt.Sprintf("%q: ino %d then %d", p, ia, ib))
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			diffs = append(diffs, fmt.Sprintf("%q only in the second", p))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 20 {
		diffs = append(diffs[:20], fmt.Sprintf("... and %d more", len(diffs)-20))
	}
	if len(diffs) > 0 {
		t.Errorf("%s: inode numbers differ:\n\t%s", what, strings.Join(diffs, "\n\t"))
	}
}

// Base returns the last component of a view path.
func Base(p string) string { return path.Base(p) }
