package main

import (
	"io/fs"

	"github.com/spf13/pflag"
)

type lnOpts struct{ symbolic, force bool }

func init() {
	register(&command{
		name: "ln", args: "[-s] [-f] IMAGE TARGET [LINK]", short: "make hard or symbolic links, as ln(1)",
		minArgs: 1, maxArgs: 2,
		flags: func(fs *pflag.FlagSet) any {
			o := &lnOpts{}
			fs.BoolVarP(&o.symbolic, "symbolic", "s", false, "make a symbolic link")
			fs.BoolVarP(&o.force, "force", "f", false, "replace an existing LINK")
			return o
		},
		run: runLn,
	})
}

func runLn(e *env, opts any, args []string) error {
	o := opts.(*lnOpts)
	target := args[0]
	// ln TARGET alone links into the working directory (the root); a
	// LINK that is a directory receives TARGET's name, as ln(1).
	link := baseName(target)
	if len(args) == 2 {
		link = args[1]
		if a, err := e.fs.Proc().Stat(link); err == nil && a.IsDir() {
			link = join(link, baseName(target))
		}
	}
	if o.force {
		if a, err := e.fs.Proc().Lstat(link); err == nil && !a.IsDir() {
			e.fs.Proc().Unlink(link)
		}
	}
	var err error
	if o.symbolic {
		err = e.fs.Proc().Symlink(target, link)
	} else {
		err = e.fs.Proc().Link(target, link)
		if err != nil {
			if _, serr := e.fs.Proc().Lstat(target); serr != nil {
				return &fs.PathError{Op: "ln", Path: e.image + ": " + target, Err: serr}
			}
		}
	}
	if err != nil {
		return &fs.PathError{Op: "ln", Path: e.image + ": " + link, Err: err}
	}
	return nil
}
