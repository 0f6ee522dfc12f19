package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/rumpfs/rumpfs/ukfs"
	"github.com/rumpfs/rumpfs/vfs"
)

// modeString renders unix mode bits as ls(1) does: "drwxr-sr-t".
func modeString(m uint32) string {
	var b [10]byte
	switch m & vfs.S_IFMT {
	case vfs.S_IFDIR:
		b[0] = 'd'
	case vfs.S_IFLNK:
		b[0] = 'l'
	case vfs.S_IFCHR:
		b[0] = 'c'
	case vfs.S_IFBLK:
		b[0] = 'b'
	case vfs.S_IFIFO:
		b[0] = 'p'
	case vfs.S_IFSOCK:
		b[0] = 's'
	case vfs.S_IFREG:
		b[0] = '-'
	default:
		b[0] = '?'
	}
	const rwx = "rwxrwxrwx"
	for i := 0; i < 9; i++ {
		if m&(1<<(8-i)) != 0 {
			b[i+1] = rwx[i]
		} else {
			b[i+1] = '-'
		}
	}
	special := func(pos int, bit uint32, set, unset byte) {
		if m&bit == 0 {
			return
		}
		if b[pos] == '-' {
			b[pos] = unset
		} else {
			b[pos] = set
		}
	}
	special(3, vfs.S_ISUID, 's', 'S')
	special(6, vfs.S_ISGID, 's', 'S')
	special(9, vfs.S_ISVTX, 't', 'T')
	return string(b[:])
}

// fileType names a file's type as stat(1) does.
func fileType(a *ukfs.Stat) string {
	switch a.Type() {
	case vfs.S_IFDIR:
		return "directory"
	case vfs.S_IFLNK:
		return "symbolic link"
	case vfs.S_IFCHR:
		return "character special file"
	case vfs.S_IFBLK:
		return "block special file"
	case vfs.S_IFIFO:
		return "fifo"
	case vfs.S_IFSOCK:
		return "socket"
	case vfs.S_IFREG:
		if a.Size == 0 {
			return "regular empty file"
		}
		return "regular file"
	}
	return "weird file"
}

// Linux device number encoding (glibc's gnu_dev_major/minor).
func major(rdev uint64) uint64 { return (rdev>>8)&0xfff | (rdev>>32)&^0xfff }
func minor(rdev uint64) uint64 { return rdev&0xff | (rdev>>12)&^0xff }

// lsTime renders an mtime as ls -l: the time of day for the last six
// months, the year otherwise.
func lsTime(t, now time.Time) string {
	t = t.Local()
	if t.After(now) || now.Sub(t) > 182*24*time.Hour {
		return t.Format("Jan _2  2006")
	}
	return t.Format("Jan _2 15:04")
}

// statTime renders a time as stat(1).
func statTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05.000000000 -0700")
}

// join appends name to the directory path dir.
func join(dir, name string) string {
	if strings.HasSuffix(dir, "/") {
		return dir + name
	}
	return dir + "/" + name
}

func pad(w int, s string) string { return fmt.Sprintf("%*s", w, s) }

// baseName is the last element of an image path ("/" for the root).
func baseName(p string) string {
	t := strings.TrimRight(p, "/")
	if t == "" {
		return "/"
	}
	if i := strings.LastIndexByte(t, '/'); i >= 0 {
		return t[i+1:]
	}
	return t
}

func (e *env) printf(format string, args ...any) { fmt.Fprintf(e.stdout, format, args...) }
