package main

import (
	"github.com/spf13/pflag"
)

type copyOpts struct {
	recursive, preserve, verbose bool
}

func copyFlags(fs *pflag.FlagSet) any {
	o := &copyOpts{}
	fs.BoolVarP(&o.recursive, "recursive", "R", false, "copy directories recursively")
	fs.BoolVarP(&o.preserve, "preserve", "p", false, "keep mode, owner and times")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "name each file copied")
	return o
}

func init() {
	register(&command{
		name: "put", args: "[-R] [-p] [-v] IMAGE SRC... DEST", short: "copy host files into the image, as cp(1)",
		minArgs: 2, maxArgs: -1,
		flags: copyFlags,
		run: func(e *env, opts any, args []string) error {
			o := opts.(*copyOpts)
			c := &copyIn{e: e, src: hostSource{}, recursive: o.recursive, preserve: o.preserve, verbose: o.verbose}
			return c.run(args[:len(args)-1], args[len(args)-1])
		},
	})
	register(&command{
		name: "cp", args: "[-R] [-p] [-v] IMAGE SRC... DEST", short: "copy files inside the image, as cp(1)",
		minArgs: 2, maxArgs: -1,
		flags: copyFlags,
		run: func(e *env, opts any, args []string) error {
			o := opts.(*copyOpts)
			c := &copyIn{e: e, src: imageSource{e}, recursive: o.recursive, preserve: o.preserve, verbose: o.verbose}
			return c.run(args[:len(args)-1], args[len(args)-1])
		},
	})
}
