package main

import (
	"io/fs"
	"syscall"

	"github.com/spf13/pflag"
)

func init() {
	register(&command{
		name: "mv", args: "[-v] IMAGE SRC... DEST", short: "move or rename files, as mv(1)",
		minArgs: 2, maxArgs: -1,
		flags: func(fs *pflag.FlagSet) any {
			v := new(bool)
			fs.BoolVarP(v, "verbose", "v", false, "name each file moved")
			return v
		},
		run: runMv,
	})
}

func runMv(e *env, opts any, args []string) error {
	verbose := *opts.(*bool)
	srcs, dest := args[:len(args)-1], args[len(args)-1]
	destDir := false
	if a, err := e.fs.Proc().Stat(dest); err == nil && a.IsDir() {
		destDir = true
	}
	if len(srcs) > 1 && !destDir {
		if _, err := e.fs.Stat(dest); err != nil {
			return err
		}
		return &fs.PathError{Op: "mv", Path: e.image + ": " + dest, Err: syscall.ENOTDIR}
	}
	for _, s := range srcs {
		target := dest
		if destDir {
			target = join(dest, baseName(s))
		}
		if err := e.fs.Proc().Rename(s, target); err != nil {
			// Name the path the error is about: a missing source is
			// the source's fault, anything else the move's.
			if _, serr := e.fs.Proc().Lstat(s); serr != nil {
				e.warn(&fs.PathError{Op: "mv", Path: e.image + ": " + s, Err: serr})
			} else {
				e.warn(&fs.PathError{Op: "mv", Path: e.image + ": " + s + " -> " + target, Err: err})
			}
			continue
		}
		if verbose {
			e.printf("%s -> %s\n", s, target)
		}
	}
	return nil
}
