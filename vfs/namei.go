package vfs

import (
	"strings"
	"syscall"
)

// NameiFlags control Namei, as NetBSD's namei cnflags.
type NameiFlags int

const (
	// Follow follows a symlink in the last component (FOLLOW); without it
	// the link itself is returned (NOFOLLOW, as lstat).
	Follow NameiFlags = 1 << iota
	// Parent returns the parent directory and last component as well, and
	// does not fail when the last component is missing (LOCKPARENT for
	// CREATE, DELETE and RENAME).
	Parent
)

// Nameidata is the result of Namei. Dir and Vn carry one reference each
// when non-nil; Release gives them back.
type Nameidata struct {
	Dir  Vnode  // the parent, with Parent; nil otherwise
	Name string // the last component, with Parent ("" for "/")
	Vn   Vnode  // the object named; nil with Parent if it does not exist
}

// Release gives back the references Namei returned.
func (nd *Nameidata) Release() {
	if nd.Vn != nil {
		nd.Vn.Rele()
		nd.Vn = nil
	}
	if nd.Dir != nil {
		nd.Dir.Rele()
		nd.Dir = nil
	}
}

// Namei resolves path, starting at root for an absolute path and at cwd for
// a relative one, with the errors of NetBSD's namei: ENOENT for a missing
// component or an empty path, ENOTDIR for a non-directory in the middle,
// ENAMETOOLONG for a component over NameMax or a path over PathMax, ELOOP
// after MaxLoop symlinks, EACCES without search permission on a directory
// passed through. ".." at root stays at root. A trailing slash makes the
// last component follow symlinks and demands a directory.
//
// root and cwd are borrowed, not released.
func Namei(root, cwd Vnode, path string, flags NameiFlags, cred *Cred) (*Nameidata, error) {
	if path == "" {
		return nil, syscall.ENOENT
	}
	if len(path) >= PathMax {
		return nil, syscall.ENAMETOOLONG
	}
	w := walker{root: root, cred: cred}
	start := cwd
	if path[0] == '/' {
		start = root
	}
	return w.walk(start, path, flags)
}

type walker struct {
	root  Vnode
	cred  *Cred
	links int
}

func (w *walker) walk(start Vnode, path string, flags NameiFlags) (*Nameidata, error) {
	// cur is the directory being searched; owned tells whether we hold a
	// reference on it (the borrowed root and cwd we do not).
	cur, owned := start, false
	release := func() {
		if owned {
			cur.Rele()
		}
	}
	// "a/" and "a/." both demand that a be (or lead to) a directory.
	mustDir := strings.HasSuffix(path, "/") || strings.HasSuffix(path, "/.")
	comps := splitPath(path)
	if len(comps) == 0 {
		// "/" or "." style paths that name the start itself.
		vn, err := cur.Lookup(".")
		if err != nil {
			return nil, err
		}
		if flags&Parent != 0 {
			dir, err := cur.Lookup(".")
			if err != nil {
				vn.Rele()
				return nil, err
			}
			return &Nameidata{Dir: dir, Name: "", Vn: vn}, nil
		}
		return &Nameidata{Vn: vn}, nil
	}
	for len(comps) > 0 {
		name := comps[0]
		comps = comps[1:]
		last := len(comps) == 0
		if len(name) > NameMax {
			release()
			return nil, syscall.ENAMETOOLONG
		}
		a, err := cur.Getattr()
		if err != nil {
			release()
			return nil, err
		}
		if !a.IsDir() {
			release()
			return nil, syscall.ENOTDIR
		}
		if err := Access(&a, w.cred, AccessExec); err != nil {
			release()
			return nil, err
		}
		if name == ".." && sameVnode(cur, w.root) {
			name = "."
		}
		next, err := cur.Lookup(name)
		if err != nil {
			if last && err == syscall.ENOENT && flags&Parent != 0 {
				dir := cur
				if !owned {
					if dir, err = cur.Lookup("."); err != nil {
						return nil, err
					}
				}
				return &Nameidata{Dir: dir, Name: name}, nil
			}
			release()
			return nil, err
		}
		na, err := next.Getattr()
		if err != nil {
			next.Rele()
			release()
			return nil, err
		}
		if na.Type() == S_IFLNK && (!last || flags&Follow != 0 || mustDir) {
			w.links++
			if w.links > MaxLoop {
				next.Rele()
				release()
				return nil, syscall.ELOOP
			}
			target, err := next.Readlink()
			next.Rele()
			if err != nil {
				release()
				return nil, err
			}
			if target == "" {
				release()
				return nil, syscall.ENOENT
			}
			rest := splitPath(target)
			if strings.HasSuffix(target, "/") && last {
				mustDir = true
			}
			if target[0] == '/' {
				release()
				cur, owned = w.root, false
			}
			if len(rest) == 0 {
				// The link names its start directory itself ("/" or ".").
				rest = []string{"."}
			}
			comps = append(rest, comps...)
			continue
		}
		if last {
			if mustDir && !na.IsDir() {
				next.Rele()
				release()
				return nil, syscall.ENOTDIR
			}
			nd := &Nameidata{Vn: next}
			if flags&Parent != 0 {
				nd.Name = name
				if owned {
					nd.Dir = cur
				} else if nd.Dir, err = cur.Lookup("."); err != nil {
					next.Rele()
					return nil, err
				}
			} else {
				release()
			}
			return nd, nil
		}
		release()
		cur, owned = next, true
	}
	panic("unreachable")
}

// splitPath splits a path into components, dropping empty ones and ".";
// a path of only "." components yields nothing.
func splitPath(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c == "" || c == "." {
			continue
		}
		out = append(out, c)
	}
	return out
}

// sameVnode tells whether two vnodes are the same file: the same object, or
// (for file systems that hand out fresh objects) the same inode number.
func sameVnode(a, b Vnode) bool {
	if a == b {
		return true
	}
	aa, err1 := a.Getattr()
	ba, err2 := b.Getattr()
	return err1 == nil && err2 == nil && aa.Ino == ba.Ino
}
