package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os/user"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/rumpfs/rumpfs/ukfs"
	"github.com/rumpfs/rumpfs/vfs"
)

type chOpts struct{ recursive, noDeref bool }

func init() {
	register(&command{
		name: "chmod", args: "[-R] IMAGE MODE PATH...", short: "change modes (octal or u+x,go-w,a=r), as chmod(1)",
		minArgs: 2, maxArgs: -1,
		flags: func(fs *pflag.FlagSet) any {
			o := &chOpts{}
			fs.BoolVarP(&o.recursive, "recursive", "R", false, "change trees")
			return o
		},
		run: runChmod,
	})
	register(&command{
		name: "chown", args: "[-R] [-h] IMAGE OWNER[:GROUP] PATH...", short: "change owner and group, as chown(1)",
		minArgs: 2, maxArgs: -1,
		flags: func(fs *pflag.FlagSet) any {
			o := &chOpts{}
			fs.BoolVarP(&o.recursive, "recursive", "R", false, "change trees (symlinks themselves, not followed)")
			fs.BoolVarP(&o.noDeref, "no-dereference", "h", false, "change symlinks themselves")
			return o
		},
		run: runChown,
	})
}

// walkArgs calls fn on each path and, with recursive, on everything
// below the directories (never following symlinks below the top).
func (e *env) walkArgs(paths []string, recursive bool, fn func(p string, a *vfs.Attr, top bool) error) error {
	var walk func(p string, a *vfs.Attr, top bool) error
	walk = func(p string, a *vfs.Attr, top bool) error {
		if err := fn(p, a, top); err != nil {
			e.warn(err)
		}
		if e.fileDone() {
			return errInterrupted
		}
		if !recursive || !a.IsDir() {
			return nil
		}
		ents, err := e.fs.ReadDir(p)
		if err != nil {
			e.warn(err)
			return nil
		}
		for _, de := range ents {
			fi, err := de.Info()
			if err != nil {
				e.warn(err)
				continue
			}
			if err := walk(join(p, de.Name()), fi.Sys().(*ukfs.Stat), false); err != nil {
				return err
			}
		}
		return nil
	}
	for _, p := range paths {
		a, err := e.fs.Proc().Stat(p)
		if err != nil {
			if a2, lerr := e.fs.Proc().Lstat(p); lerr == nil {
				a, err = a2, nil // a dangling symlink
			}
		}
		if err != nil {
			e.warn(&fs.PathError{Op: "stat", Path: e.image + ": " + p, Err: err})
			continue
		}
		if err := walk(p, &a, true); err != nil {
			return err
		}
	}
	return nil
}

func runChmod(e *env, opts any, args []string) error {
	o := opts.(*chOpts)
	m, err := parseMode(args[0])
	if err != nil {
		return &usageError{msg: err.Error()}
	}
	umask := e.fs.Proc().Umask(0)
	e.fs.Proc().Umask(umask)
	return e.walkArgs(args[1:], o.recursive, func(p string, a *vfs.Attr, top bool) error {
		if a.Type() == vfs.S_IFLNK {
			return nil // symlinks have no mode of their own (chmod -R skips them)
		}
		return e.fs.Chmod(p, ukfs.FileMode(m.apply(a.Mode, a.IsDir(), umask)))
	})
}

func runChown(e *env, opts any, args []string) error {
	o := opts.(*chOpts)
	uid, gid, err := parseOwner(args[0])
	if err != nil {
		return &usageError{msg: err.Error()}
	}
	return e.walkArgs(args[1:], o.recursive, func(p string, a *vfs.Attr, top bool) error {
		if (top && !o.noDeref) && !o.recursive {
			return e.fs.Chown(p, uid, gid)
		}
		return e.fs.Lchown(p, uid, gid)
	})
}

// parseOwner reads OWNER[:GROUP] (or OWNER.GROUP, or :GROUP): numbers,
// or names looked up in the host's /etc/passwd and /etc/group (an image
// usually carries its own ids; numbers are the safe choice). -1 leaves
// one unchanged.
func parseOwner(s string) (int, int, error) {
	owner, group, hasGroup := strings.Cut(s, ":")
	if !hasGroup && !strings.Contains(s, ":") {
		if o, g, ok := strings.Cut(s, "."); ok {
			if _, err := lookupID(o, false); err == nil {
				owner, group, hasGroup = o, g, true
			}
		}
	}
	uid, gid := -1, -1
	var err error
	if owner != "" {
		if uid, err = lookupID(owner, false); err != nil {
			return 0, 0, err
		}
	}
	if hasGroup && group != "" {
		if gid, err = lookupID(group, true); err != nil {
			return 0, 0, err
		}
	}
	if uid == -1 && gid == -1 {
		return 0, 0, fmt.Errorf("invalid owner %q", s)
	}
	return uid, gid, nil
}

func lookupID(name string, group bool) (int, error) {
	if n, err := strconv.ParseUint(name, 10, 32); err == nil {
		return int(n), nil
	}
	var id string
	if group {
		g, err := user.LookupGroup(name)
		if err != nil {
			return 0, errors.New("invalid group: " + strconv.Quote(name))
		}
		id = g.Gid
	} else {
		u, err := user.Lookup(name)
		if err != nil {
			return 0, errors.New("invalid user: " + strconv.Quote(name))
		}
		id = u.Uid
	}
	n, err := strconv.Atoi(id)
	return n, err
}
