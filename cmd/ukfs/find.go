package main

import (
	"fmt"
	"path"
	"strings"

	"github.com/rumpfs/rumpfs/ukfs"
	"github.com/rumpfs/rumpfs/vfs"
)

type findOpts struct {
	name   string
	typ    uint32 // S_IFMT value; 0 means any
	print0 bool
}

func init() {
	register(&command{
		name: "find", args: "IMAGE [PATH...] [-name GLOB] [-type f|d|l|b|c|p|s] [-print0]", short: "list files matching a name or type, as find(1)",
		readOnly: true, maxArgs: -1, json: true,
		parse: parseFind,
		run:   runFind,
	})
}

var findTypes = map[string]uint32{
	"f": vfs.S_IFREG, "d": vfs.S_IFDIR, "l": vfs.S_IFLNK, "b": vfs.S_IFBLK,
	"c": vfs.S_IFCHR, "p": vfs.S_IFIFO, "s": vfs.S_IFSOCK,
}

// parseFind reads find's own syntax: start paths, then primaries.
func parseFind(args []string) (any, []string, error) {
	o := &findOpts{}
	var paths []string
	i := 0
	for ; i < len(args) && !strings.HasPrefix(args[i], "-"); i++ {
		paths = append(paths, args[i])
	}
	for ; i < len(args); i++ {
		arg := strings.TrimPrefix(args[i], "-")
		switch arg {
		case "name", "-name":
			if i+1 >= len(args) {
				return nil, nil, fmt.Errorf("missing argument to -name")
			}
			i++
			o.name = args[i]
			if _, err := path.Match(o.name, ""); err != nil {
				return nil, nil, fmt.Errorf("bad -name pattern %q", o.name)
			}
		case "type", "-type":
			if i+1 >= len(args) {
				return nil, nil, fmt.Errorf("missing argument to -type")
			}
			i++
			t, ok := findTypes[args[i]]
			if !ok {
				return nil, nil, fmt.Errorf("unknown argument to -type: %s", args[i])
			}
			o.typ = t
		case "print0", "-print0":
			o.print0 = true
		case "print", "-print":
		default:
			return nil, nil, fmt.Errorf("unknown predicate %s", args[i])
		}
	}
	if len(paths) == 0 {
		paths = []string{"/"}
	}
	return o, paths, nil
}

func runFind(e *env, opts any, args []string) error {
	o := opts.(*findOpts)
	for _, p := range args {
		a, err := e.fs.Proc().Lstat(p)
		if err != nil {
			_, err = e.fs.Lstat(p)
			e.warn(err)
			continue
		}
		e.find(o, p, path.Base(p), &a)
	}
	if e.json {
		if e.jsonList == nil {
			e.jsonList = []jsonStat{}
		}
		return e.printJSON(e.jsonList)
	}
	return nil
}

func (e *env) find(o *findOpts, p, name string, a *ukfs.Stat) {
	if (o.name == "" || matchName(o.name, name)) && (o.typ == 0 || a.Type() == o.typ) {
		if e.json {
			e.jsonList = append(e.jsonList, e.jsonStat(p, name, a))
		} else if o.print0 {
			fmt.Fprintf(e.stdout, "%s\x00", p)
		} else {
			fmt.Fprintln(e.stdout, p)
		}
	}
	if !a.IsDir() {
		return
	}
	ents, err := e.fs.ReadDir(p)
	if err != nil {
		e.warn(err)
		return
	}
	for _, de := range ents {
		fi, err := de.Info()
		if err != nil {
			e.warn(err)
			continue
		}
		e.find(o, join(p, de.Name()), de.Name(), fi.Sys().(*ukfs.Stat))
	}
}

func matchName(pattern, name string) bool {
	ok, _ := path.Match(pattern, name)
	return ok
}
