package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/rumpfs/rumpfs/ukfs"
)

type duOpts struct {
	summary, human, all bool
}

func init() {
	register(&command{
		name: "du", args: "[-s] [-h] [-a] IMAGE [PATH...]", short: "show space used by files and directories, as du(1)",
		readOnly: true, maxArgs: -1,
		flags: func(fs *pflag.FlagSet) any {
			o := &duOpts{}
			fs.BoolVarP(&o.summary, "summarize", "s", false, "only a total for each argument")
			fs.BoolVarP(&o.human, "human-readable", "h", false, "sizes in powers of 1024 (K, M, G)")
			fs.BoolVarP(&o.all, "all", "a", false, "show files too, not only directories")
			return o
		},
		run: runDu,
	})
}

// du counts the blocks a file really uses (st_blocks, 512-byte units),
// each inode once however many links it has, as du(1).
type duer struct {
	e    *env
	o    *duOpts
	seen map[uint64]bool
}

func runDu(e *env, opts any, args []string) error {
	if len(args) == 0 {
		args = []string{"/"}
	}
	d := &duer{e: e, o: opts.(*duOpts), seen: map[uint64]bool{}}
	for _, p := range args {
		a, err := e.fs.Proc().Lstat(p)
		if err != nil {
			_, err = e.fs.Lstat(p)
			e.warn(err)
			continue
		}
		n := d.walk(p, &a, 0)
		if d.o.summary {
			d.print(n, p)
		}
	}
	return nil
}

// walk returns the bytes used under p and prints directories (and files
// with -a) below the -s level.
func (d *duer) walk(p string, a *ukfs.Stat, depth int) uint64 {
	var n uint64
	if a.Nlink <= 1 || a.IsDir() || !d.seen[a.Ino] {
		n = a.Blocks * 512
		if a.Nlink > 1 && !a.IsDir() {
			d.seen[a.Ino] = true
		}
	}
	if !a.IsDir() {
		if !d.o.summary && (d.o.all || depth == 0) {
			d.print(n, p)
		}
		return n
	}
	ents, err := d.e.fs.ReadDir(p)
	if err != nil {
		d.e.warn(err)
	}
	for _, de := range ents {
		fi, err := de.Info()
		if err != nil {
			d.e.warn(err)
			continue
		}
		n += d.walk(join(p, de.Name()), fi.Sys().(*ukfs.Stat), depth+1)
	}
	if !d.o.summary {
		d.print(n, p)
	}
	return n
}

func (d *duer) print(n uint64, p string) {
	if d.o.human {
		fmt.Fprintf(d.e.stdout, "%s\t%s\n", humanBytes(n), p)
		return
	}
	fmt.Fprintf(d.e.stdout, "%d\t%s\n", (n+1023)/1024, p)
}
