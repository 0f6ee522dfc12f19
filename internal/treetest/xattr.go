package treetest

import (
	"bytes"
	"errors"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Xattrs are the extended attributes of a tree, kept beside it (a Tree's
// entries carry none): tree path -> attribute name -> value. Write them to
// a host tree with WriteXattrs after Write, and check a view with
// CompareXattrs. Names are full ("user.color", "trusted.x").
type Xattrs map[string]map[string][]byte

// Set records attribute name=value on path.
func (x Xattrs) Set(path, name string, value []byte) {
	if x[path] == nil {
		x[path] = map[string][]byte{}
	}
	x[path][name] = value
}

// Clone returns a deep copy.
func (x Xattrs) Clone() Xattrs {
	out := Xattrs{}
	for p, m := range x {
		for n, v := range m {
			out.Set(p, n, append([]byte(nil), v...))
		}
	}
	return out
}

// XattrView is a View that can read extended attributes without following
// a final symlink.
type XattrView interface {
	View
	Listxattr(name string) ([]string, error)
	Getxattr(name, attr string) ([]byte, error)
}

// WriteXattrs sets x on the tree written under dir (lsetxattr: a symlink's
// own attributes; "user." ones need a regular file or directory).
func WriteXattrs(t testing.TB, dir string, x Xattrs) {
	t.Helper()
	for p, m := range x {
		for n, v := range m {
			if err := unix.Lsetxattr(filepath.Join(dir, filepath.FromSlash(p)), n, v, 0); err != nil {
				t.Fatalf("treetest: setxattr %s %s: %v", p, n, err)
			}
		}
	}
}

// CompareXattrs checks that every name of tree (mapped by opts.ViewPath)
// shows exactly the attributes x gives it in the namespaces listed in
// prefixes (e.g. "user.", "trusted."): others, such as security.selinux
// added by the host, are ignored. Symlinks are checked only if the view
// can read their own attributes (HostView can).
func CompareXattrs(t testing.TB, v XattrView, tree *Tree, x Xattrs, opts Options, prefixes ...string) {
	t.Helper()
	r := &reporter{t: t, max: 40, label: viewLabel(v)}
	if opts.MaxErrors > 0 {
		r.max = opts.MaxErrors
	}
	in := func(n string) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(n, p) {
				return true
			}
		}
		return false
	}
	_, host := v.(HostView)
	for _, e := range tree.Entries {
		if e.Type == Symlink && !host {
			continue
		}
		f := tree.Resolve(e)
		want := x[f.Path]
		vp := opts.ViewPath(e.Path, e.Type == Dir)
		names, err := v.Listxattr(vp)
		if err != nil {
			r.errorf("listxattr %q: %v", vp, err)
			continue
		}
		var got []string
		for _, n := range names {
			if in(n) {
				got = append(got, n)
			}
		}
		var wantNames []string
		for n := range want {
			if in(n) {
				wantNames = append(wantNames, n)
			}
		}
		sort.Strings(got)
		sort.Strings(wantNames)
		if strings.Join(got, "\x00") != strings.Join(wantNames, "\x00") {
			r.errorf("%q: xattrs %q, want %q", vp, got, wantNames)
			continue
		}
		for _, n := range wantNames {
			val, err := v.Getxattr(vp, n)
			if err != nil {
				r.errorf("getxattr %q %s: %v", vp, n, err)
				continue
			}
			if !bytes.Equal(val, want[n]) {
				r.errorf("%q: xattr %s = %q, want %q", vp, n, short(val), short(want[n]))
			}
		}
	}
	if r.n > r.max {
		t.Errorf("%s: ... and %d more xattr differences", r.label, r.n-r.max)
	}
}

func short(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// Listxattr lists name's attributes (llistxattr).
func (h HostView) Listxattr(name string) ([]string, error) {
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Llistxattr(h.host(name), buf)
		if errors.Is(err, syscall.ERANGE) && len(buf) < 1<<20 {
			buf = make([]byte, 4*len(buf))
			continue
		}
		if err != nil {
			return nil, err
		}
		var out []string
		for _, s := range strings.Split(string(buf[:n]), "\x00") {
			if s != "" {
				out = append(out, s)
			}
		}
		return out, nil
	}
}

// Getxattr returns one attribute's value (lgetxattr).
func (h HostView) Getxattr(name, attr string) ([]byte, error) {
	buf := make([]byte, 64<<10)
	n, err := unix.Lgetxattr(h.host(name), attr, buf)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), buf[:n]...), nil
}

// XattrFS is what an FSView needs from its file system to read extended
// attributes (the ukfs API has these, following symlinks, which
// CompareXattrs therefore skips).
type XattrFS interface {
	Listxattr(name string) ([]string, error)
	Getxattr(name, attr string) ([]byte, error)
}

// FSXattrView is FSView for a file system that has extended attributes.
func FSXattrView(fsys interface {
	fs.FS
	XattrFS
}) XattrView {
	return fsXattrView{fsView{fsys}, fsys}
}

type fsXattrView struct {
	fsView
	x XattrFS
}

func (v fsXattrView) Listxattr(name string) ([]string, error) { return v.x.Listxattr(name) }

func (v fsXattrView) Getxattr(name, attr string) ([]byte, error) { return v.x.Getxattr(name, attr) }
