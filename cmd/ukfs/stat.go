package main

import (
	"fmt"

	"github.com/rumpfs/rumpfs/vfs"
)

func init() {
	register(&command{
		name: "stat", args: "IMAGE PATH...", short: "show file attributes, as stat(1)",
		readOnly: true, minArgs: 1, maxArgs: -1, json: true,
		run: runStat,
	})
}

func runStat(e *env, _ any, args []string) error {
	w := e.stdout
	for _, p := range args {
		a, err := e.fs.Proc().Lstat(p)
		if err != nil {
			_, err = e.fs.Lstat(p) // for the image-naming error
			e.warn(err)
			continue
		}
		if e.json {
			e.jsonList = append(e.jsonList, e.jsonStat(p, baseName(p), &a))
			continue
		}
		name := p
		if a.Type() == vfs.S_IFLNK {
			if t, err := e.fs.Readlink(p); err == nil {
				name += " -> " + t
			}
		}
		fmt.Fprintf(w, "  File: %s\n", name)
		fmt.Fprintf(w, "  Size: %-10d\tBlocks: %-10d IO Block: %-6d %s\n", a.Size, a.Blocks, a.Blksize, fileType(&a))
		fmt.Fprintf(w, "Inode: %-11d Links: %-5d", a.Ino, a.Nlink)
		if t := a.Type(); t == vfs.S_IFCHR || t == vfs.S_IFBLK {
			fmt.Fprintf(w, " Device type: %d,%d", major(a.Rdev), minor(a.Rdev))
		}
		fmt.Fprintln(w)
		fmt.Fprintf(w, "Access: (%04o/%s)  Uid: (%5d)   Gid: (%5d)\n", a.Mode&0o7777, modeString(a.Mode), a.Uid, a.Gid)
		if a.Flags != 0 {
			fmt.Fprintf(w, " Flags: %#x\n", a.Flags)
		}
		fmt.Fprintf(w, "Access: %s\n", statTime(a.Atime))
		fmt.Fprintf(w, "Modify: %s\n", statTime(a.Mtime))
		fmt.Fprintf(w, "Change: %s\n", statTime(a.Ctime))
		fmt.Fprintf(w, " Birth: %s\n", statTime(a.Btime))
	}
	if e.json {
		if e.jsonList == nil {
			e.jsonList = []jsonStat{}
		}
		return e.printJSON(e.jsonList)
	}
	return nil
}
