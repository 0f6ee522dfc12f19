package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/rumpfs/rumpfs/ukfs"
	"github.com/rumpfs/rumpfs/vfs"
)

type mknodOpts struct{ mode string }

func modeFlag(fs *pflag.FlagSet) any {
	o := &mknodOpts{}
	fs.StringVarP(&o.mode, "mode", "m", "", "exact `MODE` (octal or symbolic) instead of 0666 less the umask")
	return o
}

func init() {
	register(&command{
		name: "mknod", args: "[-m MODE] IMAGE NAME b|c MAJOR MINOR | NAME p", short: "make device nodes and fifos, as mknod(1)",
		minArgs: 2, maxArgs: 4,
		flags: modeFlag,
		run:   runMknod,
	})
	register(&command{
		name: "mkfifo", args: "[-m MODE] IMAGE NAME...", short: "make fifos, as mkfifo(1)",
		minArgs: 1, maxArgs: -1,
		flags: modeFlag,
		run: func(e *env, opts any, args []string) error {
			if err := checkModeFlag(opts.(*mknodOpts)); err != nil {
				return err
			}
			for _, n := range args {
				e.mknod(opts.(*mknodOpts), n, vfs.S_IFIFO, 0)
			}
			return nil
		},
	})
}

func runMknod(e *env, opts any, args []string) error {
	if err := checkModeFlag(opts.(*mknodOpts)); err != nil {
		return err
	}
	name, kind := args[0], args[1]
	var typ uint32
	switch kind {
	case "b":
		typ = vfs.S_IFBLK
	case "c", "u":
		typ = vfs.S_IFCHR
	case "p":
		typ = vfs.S_IFIFO
	default:
		return &usageError{msg: fmt.Sprintf("invalid device type %q (b, c or p)", kind)}
	}
	var rdev uint64
	if typ == vfs.S_IFIFO {
		if len(args) != 2 {
			return &usageError{msg: "fifos take no major and minor numbers"}
		}
	} else {
		if len(args) != 4 {
			return &usageError{msg: "missing major and minor numbers"}
		}
		ma, err1 := strconv.ParseUint(args[2], 0, 32)
		mi, err2 := strconv.ParseUint(args[3], 0, 32)
		if err1 != nil || err2 != nil || ma > 0xfff || mi > 0xfffff {
			return &usageError{msg: fmt.Sprintf("invalid major or minor number %s %s", args[2], args[3])}
		}
		rdev = unix.Mkdev(uint32(ma), uint32(mi))
	}
	e.mknod(opts.(*mknodOpts), name, typ, rdev)
	return nil
}

func (e *env) mknod(o *mknodOpts, name string, typ uint32, rdev uint64) {
	if err := e.fs.Mknod(name, typ|0666, rdev); err != nil {
		e.warn(err)
		return
	}
	if o.mode != "" {
		m, err := parseMode(o.mode)
		if err != nil {
			e.warn(err)
			return
		}
		if err := e.fs.Chmod(name, ukfs.FileMode(m.apply(0666, false, 0))); err != nil {
			e.warn(err)
		}
	}
}

// checkModeFlag refuses a bad -m before anything is made.
func checkModeFlag(o *mknodOpts) error {
	if o.mode == "" {
		return nil
	}
	if _, err := parseMode(o.mode); err != nil {
		return &usageError{msg: err.Error()}
	}
	return nil
}
