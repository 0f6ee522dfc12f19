package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/rumpfs/rumpfs/ukfs"
	"github.com/rumpfs/rumpfs/vfs"
)

type lsOpts struct {
	long, recursive, all, inode, dirs bool
}

func init() {
	register(&command{
		name: "ls", args: "[-l] [-R] [-a] [-i] [-d] IMAGE [PATH...]", short: "list directory contents, as ls(1)",
		readOnly: true, maxArgs: -1, json: true,
		flags: func(fs *pflag.FlagSet) any {
			o := &lsOpts{}
			fs.BoolVarP(&o.long, "long", "l", false, "long format: mode, links, owner, group, size, time")
			fs.BoolVarP(&o.recursive, "recursive", "R", false, "list subdirectories recursively")
			fs.BoolVarP(&o.all, "all", "a", false, "show entries starting with '.'")
			fs.BoolVarP(&o.inode, "inode", "i", false, "show inode numbers")
			fs.BoolVarP(&o.dirs, "directory", "d", false, "list directories themselves, not their contents")
			return o
		},
		run: runLs,
	})
}

// lsEntry is one line of a listing.
type lsEntry struct {
	name string // as shown
	path string // to look it up
	a    ukfs.Stat
}

func runLs(e *env, opts any, args []string) error {
	o := opts.(*lsOpts)
	if len(args) == 0 {
		args = []string{"."}
	}
	now := time.Now()
	var files []lsEntry
	var dirs []string
	for _, p := range args {
		var a ukfs.Stat
		var err error
		if o.long || o.dirs || e.json {
			a, err = e.fs.Proc().Lstat(p)
		} else {
			a, err = e.fs.Proc().Stat(p)
		}
		if err != nil {
			_, err = e.fs.Lstat(p)
			e.warn(err)
			continue
		}
		if a.IsDir() && !o.dirs {
			dirs = append(dirs, p)
		} else {
			files = append(files, lsEntry{name: p, path: p, a: a})
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	sort.Strings(dirs)
	if len(files) > 0 {
		e.printEntries(o, files, now)
	}
	header := len(args) > 1 || o.recursive
	for i, d := range dirs {
		if i > 0 || len(files) > 0 {
			fmt.Fprintln(e.text())
		}
		e.lsDir(o, d, header, now)
	}
	if e.json {
		if e.jsonList == nil {
			e.jsonList = []jsonStat{}
		}
		return e.printJSON(e.jsonList)
	}
	return nil
}

// text is where the human-readable form goes: nowhere under --json.
func (e *env) text() io.Writer {
	if e.json {
		return io.Discard
	}
	return e.stdout
}

func (e *env) lsDir(o *lsOpts, dir string, header bool, now time.Time) {
	if header {
		fmt.Fprintf(e.text(), "%s:\n", dir)
	}
	ents, err := e.fs.ReadDir(dir)
	if err != nil {
		e.warn(err)
		return
	}
	var list []lsEntry
	if o.all {
		for _, n := range []string{".", ".."} {
			p := join(dir, n)
			a, err := e.fs.Proc().Lstat(p)
			if err != nil {
				_, err = e.fs.Lstat(p)
				e.warn(err)
				continue
			}
			list = append(list, lsEntry{name: n, path: p, a: a})
		}
	}
	for _, de := range ents {
		if !o.all && strings.HasPrefix(de.Name(), ".") {
			continue
		}
		p := join(dir, de.Name())
		fi, err := de.Info()
		if err != nil {
			e.warn(err)
			continue
		}
		list = append(list, lsEntry{name: de.Name(), path: p, a: *fi.Sys().(*ukfs.Stat)})
	}
	if o.long {
		var total uint64
		for _, l := range list {
			total += (l.a.Blocks + 1) / 2
		}
		fmt.Fprintf(e.text(), "total %d\n", total)
	}
	e.printEntries(o, list, now)
	if !o.recursive {
		return
	}
	for _, l := range list {
		if l.a.IsDir() && l.name != "." && l.name != ".." {
			fmt.Fprintln(e.text())
			e.lsDir(o, l.path, true, now)
		}
	}
}

func (e *env) printEntries(o *lsOpts, list []lsEntry, now time.Time) {
	if e.json {
		for _, l := range list {
			e.jsonList = append(e.jsonList, e.jsonStat(l.path, l.name, &l.a))
		}
		return
	}
	var wIno, wLink, wUid, wGid, wSize int
	sizeOf := func(a *ukfs.Stat) string {
		if t := a.Type(); t == vfs.S_IFCHR || t == vfs.S_IFBLK {
			return fmt.Sprintf("%d, %d", major(a.Rdev), minor(a.Rdev))
		}
		return fmt.Sprint(a.Size)
	}
	width := func(w *int, s string) {
		if len(s) > *w {
			*w = len(s)
		}
	}
	for _, l := range list {
		width(&wIno, fmt.Sprint(l.a.Ino))
		width(&wLink, fmt.Sprint(l.a.Nlink))
		width(&wUid, fmt.Sprint(l.a.Uid))
		width(&wGid, fmt.Sprint(l.a.Gid))
		width(&wSize, sizeOf(&l.a))
	}
	for _, l := range list {
		var b strings.Builder
		if o.inode {
			b.WriteString(pad(wIno, fmt.Sprint(l.a.Ino)) + " ")
		}
		if o.long {
			fmt.Fprintf(&b, "%s %s %s %s %s %s ", modeString(l.a.Mode), pad(wLink, fmt.Sprint(l.a.Nlink)),
				pad(-wUid, fmt.Sprint(l.a.Uid)), pad(-wGid, fmt.Sprint(l.a.Gid)), pad(wSize, sizeOf(&l.a)), lsTime(l.a.Mtime, now))
		}
		b.WriteString(l.name)
		if o.long && l.a.Type() == vfs.S_IFLNK {
			if t, err := e.fs.Proc().Readlink(l.path); err == nil {
				b.WriteString(" -> " + t)
			}
		}
		fmt.Fprintln(e.stdout, b.String())
	}
}
