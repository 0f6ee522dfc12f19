// Command ukfs reads and changes file-system images without mounting
// them, in the manner of NetBSD's fs-utils (fsu_ls, fsu_cat, fsu_get, ...):
//
//	ukfs COMMAND [flags] IMAGE[%PART%] [ARGS...]
//
// -t TYPE forces the file-system type (default: probe), -o OPTS passes
// mount options. Read-only commands open the image read-only. Errors are
// one line, "ukfs: IMAGE: PATH: reason", with exit status 1; a usage error
// exits 2.
//
// Commands: info, df, ls, stat, cat, find, du, diff, tar and get read;
// put, write, cp, mv, ln, mkdir, rm, rmdir, chmod, chown, chflags, touch,
// mknod and mkfifo change the image, and exec runs a host command on a
// copy of an image file that goes back if changed (fsu_exec) (cd9660 refuses them with "read-only file
// system"); fsck checks it. info, df, ls, stat and find print one JSON
// document with --json. get, put and cp take -R, -p and -v; on a terminal
// a long get, put, cp or tar shows a progress bar on standard error.
//
// A changing command flushes the image (unmounts it) before it exits; a
// SIGINT or SIGTERM stops it between two files, the image is unmounted
// cleanly and the exit status is 130 (interrupt.go).
//
// Invoked as fsu_ls, fsu_cat, ... (make install links them), ukfs takes
// NetBSD fs-utils' argument order, "fsu_ls IMAGE [--] ARGS" (fsu.go).
//
// Each command lives in its own file and is an entry of the commands
// table; adding one is adding a file.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	// The file systems this program knows.
	_ "github.com/rumpfs/rumpfs/fs/cd9660"

	"github.com/rumpfs/rumpfs/ukfs"
)

// command is one ukfs subcommand.
type command struct {
	name  string
	args  string // usage of the arguments after the flags: "IMAGE [PATH...]"
	short string // one line for the command list
	// readOnly commands open the image read-only.
	readOnly bool
	// unmounted commands (fsck) work on the device itself: IMAGE is not
	// mounted and run finds env.fs nil (env.fstype and env.mopts hold -t
	// and -o).
	unmounted bool
	// minArgs/maxArgs bound the arguments after IMAGE (maxArgs -1: any).
	minArgs, maxArgs int
	// flags declares the command's flags on fs and returns the value the
	// run function receives.
	flags func(fs *pflag.FlagSet) any
	// parse, if set, takes the arguments after IMAGE itself (find's
	// -name/-type syntax) instead of pflag.
	parse func(args []string) (any, []string, error)
	run   func(e *env, opts any, args []string) error
	// json commands take --json: one JSON document on stdout.
	json bool
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// usageError is a mistake on the command line: exit 2 with usage.
type usageError struct {
	cmd *command
	msg string
}

func (u *usageError) Error() string { return u.msg }

// env is what a running command has: the mounted image and its output.
type env struct {
	fs     *ukfs.FS
	image  string
	fstype string // -t, "" to probe
	mopts  string // -o
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	failed bool
	json   bool // --json was given
	// jsonList collects the files of ls/stat/find --json.
	jsonList []jsonStat
}

// warn prints a non-fatal error and remembers to exit 1 (as cat(1) or
// ls(1) go on with the next argument).
func (e *env) warn(err error) {
	fmt.Fprintf(e.stderr, "ukfs: %s\n", ukfs.Message(err))
	e.failed = true
}

// errFailed ends a command whose errors were already printed.
var errFailed = errors.New("failed")

func main() {
	os.Exit(realMain())
}

// realMain runs as ukfs, or as an fs-utils tool when invoked by one of
// their names (fsu_ls, fsu_cat, ...; see fsu.go).
func realMain() int {
	defer startProfile()()
	if cmd, ok := fsuCommand(filepath.Base(os.Args[0])); ok {
		args, err := fsuArgs(cmd, os.Args[1:])
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", filepath.Base(os.Args[0]), err)
			fmt.Fprintf(os.Stderr, "usage: %s [-t TYPE] [-o OPTS] IMAGE [--] [ARGS...]\n", filepath.Base(os.Args[0]))
			return 2
		}
		return ukfsMain(args, os.Stdout, os.Stderr)
	}
	return ukfsMain(os.Args[1:], os.Stdout, os.Stderr)
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "usage: ukfs [-t TYPE] [-o OPTS] COMMAND [flags] IMAGE[%%PART%%] [ARGS...]\n\ncommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-7s %s\n", n, commands[n].short)
	}
}

func cmdUsage(w io.Writer, c *command, fs *pflag.FlagSet) {
	fmt.Fprintf(w, "usage: ukfs %s %s\n", c.name, c.args)
	if fs == nil {
		return
	}
	fs.VisitAll(func(f *pflag.Flag) {
		name := "--" + f.Name
		if f.Value.Type() != "bool" {
			arg, _ := pflag.UnquoteUsage(f)
			name += " " + arg
		}
		if f.Shorthand != "" {
			name = "-" + f.Shorthand + ", " + name
		}
		_, u := pflag.UnquoteUsage(f)
		fmt.Fprintf(w, "  %-24s %s\n", name, u)
	})
}

func ukfsMain(args []string, stdout, stderr io.Writer) int {
	var fstype, mopts string
	global := pflag.NewFlagSet("ukfs", pflag.ContinueOnError)
	global.SetInterspersed(false)
	global.SetOutput(io.Discard)
	global.StringVarP(&fstype, "type", "t", "", "file-system `TYPE` (default: probe)")
	global.StringVarP(&mopts, "options", "o", "", "mount `OPTS`, comma-separated")
	help := global.BoolP("help", "h", false, "show usage")
	if err := global.Parse(args); err != nil {
		fmt.Fprintf(stderr, "ukfs: %v\n", err)
		usage(stderr)
		return 2
	}
	if *help {
		usage(stdout)
		return 0
	}
	rest := global.Args()
	if len(rest) == 0 {
		usage(stderr)
		return 2
	}
	c, ok := commands[rest[0]]
	if !ok {
		fmt.Fprintf(stderr, "ukfs: unknown command %q\n", rest[0])
		usage(stderr)
		return 2
	}
	fs := pflag.NewFlagSet("ukfs "+c.name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var opts any
	var jsonOut bool
	if c.json {
		fs.BoolVar(&jsonOut, "json", false, "print one JSON document")
	}
	if c.flags != nil {
		opts = c.flags(fs)
	}
	// -t and -o after the command too, unless the command's own flags
	// take the letter (touch -t STAMP); --type and --options always work.
	short := func(s string) string {
		if fs.ShorthandLookup(s) != nil {
			return ""
		}
		return s
	}
	fs.StringVarP(&fstype, "type", short("t"), fstype, "file-system `TYPE` (default: probe)")
	fs.StringVarP(&mopts, "options", short("o"), mopts, "mount `OPTS`, comma-separated")
	// -h is help unless the command gives it a meaning of its own (df -h
	// and du -h: human-readable sizes, as df(1) and du(1)).
	var chelp *bool
	if fs.ShorthandLookup("h") == nil {
		chelp = fs.BoolP("help", "h", false, "show usage")
	} else {
		chelp = fs.Bool("help", false, "show usage")
	}
	if c.parse != nil {
		// Only the global flags come before IMAGE; the rest is the
		// command's own syntax.
		fs.SetInterspersed(false)
	}
	if err := fs.Parse(rest[1:]); err != nil {
		fmt.Fprintf(stderr, "ukfs %s: %v\n", c.name, err)
		cmdUsage(stderr, c, fs)
		return 2
	}
	if *chelp {
		cmdUsage(stdout, c, fs)
		return 0
	}
	cargs := fs.Args()
	if len(cargs) == 0 {
		fmt.Fprintf(stderr, "ukfs %s: missing IMAGE\n", c.name)
		cmdUsage(stderr, c, fs)
		return 2
	}
	image, cargs := cargs[0], cargs[1:]
	if c.parse != nil {
		var err error
		if opts, cargs, err = c.parse(cargs); err != nil {
			fmt.Fprintf(stderr, "ukfs %s: %v\n", c.name, err)
			cmdUsage(stderr, c, fs)
			return 2
		}
	}
	if len(cargs) < c.minArgs || (c.maxArgs >= 0 && len(cargs) > c.maxArgs) {
		fmt.Fprintf(stderr, "ukfs %s: wrong number of arguments\n", c.name)
		cmdUsage(stderr, c, fs)
		return 2
	}

	e := &env{image: image, fstype: fstype, mopts: mopts, stdin: os.Stdin, stdout: stdout, stderr: stderr, json: jsonOut}
	// A changing command catches SIGINT/SIGTERM: its copy loops stop at
	// the next file boundary, the image is unmounted (flushed) below, and
	// the exit status is 130, as a shell reports an interrupted command.
	changing := !c.readOnly && !c.unmounted
	if changing {
		stop := catchInterrupts()
		defer stop()
	}
	var err error
	if c.unmounted {
		err = c.run(e, opts, cargs)
	} else {
		mo := []ukfs.Option{ukfs.Type(fstype), ukfs.Options(mopts)}
		if c.readOnly {
			mo = append(mo, ukfs.ReadOnly())
		}
		f, merr := ukfs.Mount(image, mo...)
		if merr != nil {
			fmt.Fprintf(stderr, "ukfs: %s\n", oneLine(merr.Error()))
			return 1
		}
		e.fs = f
		err = c.run(e, opts, cargs)
		if uerr := f.Unmount(); err == nil && uerr != nil {
			err = uerr
		}
	}
	var ue *usageError
	var es exitStatus
	switch {
	case changing && interrupted():
		if err != nil && err != errInterrupted && err != errFailed {
			e.warn(err)
		}
		fmt.Fprintf(stderr, "ukfs: %s: interrupted; the image was unmounted cleanly\n", image)
		return 130
	case errors.As(err, &es):
		return int(es)
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "ukfs %s: %s\n", c.name, ue.msg)
		cmdUsage(stderr, c, fs)
		return 2
	case err == errFailed:
		return 1
	case err != nil:
		e.warn(err)
		return 1
	case e.failed:
		return 1
	}
	return 0
}

// oneLine trims a mount error; a partition list stays on its own
// indented lines after the first.
func oneLine(s string) string { return strings.TrimRight(s, "\n") }
