package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/rumpfs/rumpfs/ukfs"
	"github.com/rumpfs/rumpfs/vfs"
)

// jsonStat is one file in --json output (ls, stat, find).
type jsonStat struct {
	Path   string     `json:"path"`
	Name   string     `json:"name"`
	Type   string     `json:"type"` // file, dir, symlink, char, block, fifo, socket
	Mode   string     `json:"mode"` // permission bits in octal, "0755"
	Ino    uint64     `json:"ino"`
	Nlink  uint32     `json:"nlink"`
	Uid    uint32     `json:"uid"`
	Gid    uint32     `json:"gid"`
	Size   uint64     `json:"size"`
	Blocks uint64     `json:"blocks"` // 512-byte units
	Major  *uint64    `json:"major,omitempty"`
	Minor  *uint64    `json:"minor,omitempty"`
	Target string     `json:"target,omitempty"` // symlinks
	Flags  uint32     `json:"flags,omitempty"`
	Atime  time.Time  `json:"atime"`
	Mtime  time.Time  `json:"mtime"`
	Ctime  time.Time  `json:"ctime"`
	Btime  *time.Time `json:"btime,omitempty"`
}

// typeName is the short type name of --json output.
func typeName(m uint32) string {
	switch m & vfs.S_IFMT {
	case vfs.S_IFREG:
		return "file"
	case vfs.S_IFDIR:
		return "dir"
	case vfs.S_IFLNK:
		return "symlink"
	case vfs.S_IFCHR:
		return "char"
	case vfs.S_IFBLK:
		return "block"
	case vfs.S_IFIFO:
		return "fifo"
	case vfs.S_IFSOCK:
		return "socket"
	}
	return "unknown"
}

func (e *env) jsonStat(p, name string, a *ukfs.Stat) jsonStat {
	j := jsonStat{
		Path: p, Name: name, Type: typeName(a.Mode), Mode: fmt.Sprintf("%04o", a.Mode&07777),
		Ino: a.Ino, Nlink: a.Nlink, Uid: a.Uid, Gid: a.Gid, Size: a.Size, Blocks: a.Blocks,
		Flags: a.Flags, Atime: a.Atime, Mtime: a.Mtime, Ctime: a.Ctime,
	}
	if !a.Btime.IsZero() {
		b := a.Btime
		j.Btime = &b
	}
	if t := a.Type(); t == vfs.S_IFCHR || t == vfs.S_IFBLK {
		ma, mi := major(a.Rdev), minor(a.Rdev)
		j.Major, j.Minor = &ma, &mi
	}
	if a.Type() == vfs.S_IFLNK {
		if t, err := e.fs.Proc().Readlink(p); err == nil {
			j.Target = t
		}
	}
	return j
}

// printJSON writes v as one indented JSON document.
func (e *env) printJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = e.stdout.Write(b)
	return err
}
