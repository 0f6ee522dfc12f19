package main

import (
	"io"
	"os"

	"github.com/spf13/pflag"
)

type writeOpts struct{ appnd bool }

func init() {
	register(&command{
		name: "write", args: "[-a] IMAGE PATH", short: "write standard input into a file, as fsu_write",
		minArgs: 1, maxArgs: 1,
		flags: func(fs *pflag.FlagSet) any {
			o := &writeOpts{}
			fs.BoolVarP(&o.appnd, "append", "a", false, "append instead of replacing the contents")
			return o
		},
		run: runWrite,
	})
}

func runWrite(e *env, opts any, args []string) error {
	o := opts.(*writeOpts)
	flag := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if o.appnd {
		flag = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	f, err := e.fs.OpenFile(args[0], flag, 0666)
	if err != nil {
		return err
	}
	// Standard input is read in its own goroutine so that a Ctrl-C
	// stops the command even while a terminal or pipe keeps it waiting;
	// what was read before is written and the image unmounted.
	type chunk struct {
		b   []byte
		err error
	}
	ch := make(chan chunk)
	free := make(chan []byte, 2)
	free <- make([]byte, 1<<20)
	free <- make([]byte, 1<<20)
	go func() {
		for b := range free {
			n, err := e.stdin.Read(b)
			ch <- chunk{b[:n], err}
			if err != nil {
				return
			}
		}
	}()
	var werr error
loop:
	for {
		select {
		case c := <-ch:
			if len(c.b) > 0 && werr == nil {
				_, werr = f.Write(c.b)
			}
			if c.err != nil {
				if c.err != io.EOF && werr == nil {
					werr = c.err
				}
				break loop
			}
			free <- c.b[:cap(c.b)]
		case <-interruptC():
			werr = errInterrupted
			break loop
		}
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	return werr
}
