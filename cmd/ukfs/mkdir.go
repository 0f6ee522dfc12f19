package main

import (
	"github.com/spf13/pflag"

	"github.com/rumpfs/rumpfs/ukfs"
)

type mkdirOpts struct {
	parents bool
	mode    string
}

func init() {
	register(&command{
		name: "mkdir", args: "[-p] [-m MODE] IMAGE DIR...", short: "make directories, as mkdir(1)",
		minArgs: 1, maxArgs: -1,
		flags: func(fs *pflag.FlagSet) any {
			o := &mkdirOpts{}
			fs.BoolVarP(&o.parents, "parents", "p", false, "make missing parents; an existing directory is no error")
			fs.StringVarP(&o.mode, "mode", "m", "", "`MODE` of the new directories (octal or symbolic), not less the umask")
			return o
		},
		run: runMkdir,
	})
}

func runMkdir(e *env, opts any, args []string) error {
	o := opts.(*mkdirOpts)
	var mode *modeChange
	if o.mode != "" {
		m, err := parseMode(o.mode)
		if err != nil {
			return &usageError{msg: err.Error()}
		}
		mode = m
	}
	for _, d := range args {
		var err error
		if o.parents {
			err = e.fs.MkdirAll(d, 0777)
		} else {
			err = e.fs.Mkdir(d, 0777)
		}
		if err != nil {
			e.warn(err)
			continue
		}
		if mode != nil {
			// -m is the exact mode, as mkdir(1) (symbolic modes start
			// from a=rwx).
			if err := e.fs.Chmod(d, ukfs.FileMode(mode.apply(0777, true, 0))); err != nil {
				e.warn(err)
			}
		}
		if e.fileDone() {
			return errInterrupted
		}
	}
	return nil
}
