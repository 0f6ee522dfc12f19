package main

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"syscall"

	"github.com/spf13/pflag"
)

type rmOpts struct{ recursive, force, verbose bool }

func init() {
	register(&command{
		name: "rm", args: "[-r] [-f] [-v] IMAGE PATH...", short: "remove files or trees, as rm(1)",
		minArgs: 1, maxArgs: -1,
		flags: func(fs *pflag.FlagSet) any {
			o := &rmOpts{}
			fs.BoolVarP(&o.recursive, "recursive", "r", false, "remove directories and their contents")
			fs.BoolVarP(&o.recursive, "Recursive", "R", false, "same as -r")
			fs.BoolVarP(&o.force, "force", "f", false, "ignore missing files")
			fs.BoolVarP(&o.verbose, "verbose", "v", false, "name each file removed")
			return o
		},
		run: runRm,
	})
	register(&command{
		name: "rmdir", args: "IMAGE DIR...", short: "remove empty directories, as rmdir(1)",
		minArgs: 1, maxArgs: -1,
		run: func(e *env, _ any, args []string) error {
			for _, d := range args {
				if err := e.fs.Proc().Rmdir(d); err != nil {
					e.warn(&fs.PathError{Op: "rmdir", Path: e.image + ": " + d, Err: err})
				}
			}
			return nil
		},
	})
}

func runRm(e *env, opts any, args []string) error {
	o := opts.(*rmOpts)
	for _, p := range args {
		// rm(1) refuses these: removing the root or a dot entry is never
		// what was meant.
		if b := path.Base(path.Clean("/" + p)); b == "/" || b == "." || b == ".." || path.Base(p) == "." || path.Base(p) == ".." {
			e.warn(fmt.Errorf("%s: %s: refusing to remove", e.image, p))
			continue
		}
		a, err := e.fs.Proc().Lstat(p)
		if err != nil {
			if o.force && errors.Is(err, syscall.ENOENT) {
				continue
			}
			e.warn(&fs.PathError{Op: "rm", Path: e.image + ": " + p, Err: err})
			continue
		}
		if a.IsDir() && !o.recursive {
			e.warn(&fs.PathError{Op: "rm", Path: e.image + ": " + p, Err: syscall.EISDIR})
			continue
		}
		if err := e.remove(o, p, a.IsDir()); err != nil {
			return err
		}
	}
	return nil
}

// remove removes p (a tree if dir); only an interruption is returned.
func (e *env) remove(o *rmOpts, p string, dir bool) error {
	proc := e.fs.Proc()
	if dir {
		ents, err := e.fs.ReadDir(p)
		if err != nil {
			e.warn(err)
			return nil
		}
		for _, de := range ents {
			if err := e.remove(o, join(p, de.Name()), de.IsDir()); err != nil {
				return err
			}
		}
		if err := proc.Rmdir(p); err != nil {
			e.warn(&fs.PathError{Op: "rm", Path: e.image + ": " + p, Err: err})
		} else if o.verbose {
			fmt.Fprintln(e.stdout, p)
		}
	} else {
		if err := proc.Unlink(p); err != nil {
			e.warn(&fs.PathError{Op: "rm", Path: e.image + ": " + p, Err: err})
		} else if o.verbose {
			fmt.Fprintln(e.stdout, p)
		}
	}
	if e.fileDone() {
		return errInterrupted
	}
	return nil
}
