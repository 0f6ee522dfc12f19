package main

import (
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/rumpfs/rumpfs/vfs"
)

func init() {
	register(&command{
		name: "chflags", args: "[-R] [-h] IMAGE FLAGS PATH...", short: "change file flags (uchg,nodump,hidden,...), as chflags(1)",
		minArgs: 2, maxArgs: -1,
		flags: func(fs *pflag.FlagSet) any {
			o := &chOpts{}
			fs.BoolVarP(&o.recursive, "recursive", "R", false, "change trees (symlinks themselves, not followed)")
			fs.BoolVarP(&o.noDeref, "no-dereference", "h", false, "change symlinks themselves")
			return o
		},
		run: runChflags,
	})
}

// fileFlags are chflags(1)'s keywords (NetBSD's strtofflags, plus
// FreeBSD's hidden and system, whose values msdosfs reports for the FAT
// attributes of those names). "no" before a keyword clears the flag;
// "dump" clears nodump.
var fileFlags = map[string]uint32{
	"arch": sfArchived, "archived": sfArchived,
	"sappnd": sfAppend, "sappend": sfAppend,
	"schg": sfImmutable, "schange": sfImmutable, "simmutable": sfImmutable,
	"nodump": ufNodump,
	"uchg":   ufImmutable, "uchange": ufImmutable, "uimmutable": ufImmutable,
	"uappnd": ufAppend, "uappend": ufAppend,
	"opaque": ufOpaque,
	"system": ufSystem, "usystem": ufSystem,
	"hidden": ufHidden, "uhidden": ufHidden,
}

// The flag values of sys/stat.h (UF_SYSTEM and UF_HIDDEN are FreeBSD's).
const (
	ufNodump    = 0x00000001
	ufImmutable = 0x00000002
	ufAppend    = 0x00000004
	ufOpaque    = 0x00000008
	ufSystem    = 0x00000080
	ufHidden    = 0x00008000
	sfArchived  = 0x00010000
	sfImmutable = 0x00020000
	sfAppend    = 0x00040000
)

// flagChange is a parsed FLAGS argument: an octal number sets the flags
// to it; keywords set and clear bits and leave the others.
type flagChange struct {
	exact      bool
	set, clear uint32
}

func (c flagChange) apply(old uint32) uint32 {
	if c.exact {
		return c.set
	}
	return old&^c.clear | c.set
}

func parseFlags(s string) (flagChange, error) {
	if s != "" && s[0] >= '0' && s[0] <= '7' {
		n, err := strconv.ParseUint(s, 8, 32)
		if err != nil {
			return flagChange{}, fmt.Errorf("invalid flags %q", s)
		}
		return flagChange{exact: true, set: uint32(n)}, nil
	}
	var c flagChange
	for _, w := range strings.Split(s, ",") {
		switch f, ok := fileFlags[w]; {
		case ok:
			c.set |= f
			c.clear &^= f
		case w == "dump":
			c.clear |= fileFlags["nodump"]
			c.set &^= fileFlags["nodump"]
		case strings.HasPrefix(w, "no") && fileFlags[w[2:]] != 0:
			c.clear |= fileFlags[w[2:]]
			c.set &^= fileFlags[w[2:]]
		default:
			return flagChange{}, fmt.Errorf("invalid flag %q", w)
		}
	}
	return c, nil
}

func runChflags(e *env, opts any, args []string) error {
	o := opts.(*chOpts)
	c, err := parseFlags(args[0])
	if err != nil {
		return &usageError{msg: err.Error()}
	}
	p := e.fs.Proc()
	return e.walkArgs(args[1:], o.recursive, func(path string, a *vfs.Attr, top bool) error {
		follow := top && !o.noDeref && !o.recursive
		set, get := p.Lchflags, p.Lstat
		if follow {
			set, get = p.Chflags, p.Stat
			if t, err := p.Stat(path); err == nil {
				a = &t
			}
		}
		want := c.apply(a.Flags)
		if want == a.Flags {
			return nil
		}
		if err := set(path, want); err != nil {
			return &fs.PathError{Op: "chflags", Path: e.image + ": " + path, Err: err}
		}
		// A file system keeps the flags its format has and drops the
		// others: a flag that did not stick is refused, and the file
		// is left as it was.
		if now, err := get(path); err == nil && now.Flags != want {
			set(path, a.Flags)
			return fmt.Errorf("%s: %s: flags %#o not supported by %s: %w", e.image, path, (want^now.Flags)&want, e.fs.Type(), syscall.EOPNOTSUPP)
		}
		return nil
	})
}
