package main

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"syscall"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/rumpfs/rumpfs/ukfs"
	"github.com/rumpfs/rumpfs/vfs"
)

type getOpts struct {
	recursive, preserve, verbose bool
}

func init() {
	register(&command{
		name: "get", args: "[-R] [-p] [-v] IMAGE SRC... DEST", short: "copy files out of the image, as cp(1)",
		readOnly: true, minArgs: 2, maxArgs: -1,
		flags: func(fs *pflag.FlagSet) any {
			o := &getOpts{}
			fs.BoolVarP(&o.recursive, "recursive", "R", false, "copy directories recursively")
			fs.BoolVarP(&o.preserve, "preserve", "p", false, "keep mode and times, and owner when run as root")
			fs.BoolVarP(&o.verbose, "verbose", "v", false, "name each file copied")
			return o
		},
		run: runGet,
	})
}

// getter copies one tree out; links maps the inode of a file with several
// links to its first copy, so hard links stay hard links.
type getter struct {
	e     *env
	o     *getOpts
	links map[uint64]string
	root  bool
	prog  *progress
}

func runGet(e *env, opts any, args []string) error {
	o := opts.(*getOpts)
	srcs, dest := args[:len(args)-1], args[len(args)-1]
	destDir := false
	if fi, err := os.Stat(dest); err == nil && fi.IsDir() {
		destDir = true
	}
	if len(srcs) > 1 && !destDir {
		return &fs.PathError{Op: "get", Path: dest, Err: syscall.ENOTDIR}
	}
	g := &getter{e: e, o: o, links: map[uint64]string{}, root: os.Geteuid() == 0}
	g.prog = e.newProgress("get", func() int64 {
		var n int64
		for _, s := range srcs {
			if a, err := e.fs.Proc().Lstat(s); err == nil && (!a.IsDir() || o.recursive) {
				n += treeBytes(e, s)
			}
		}
		return n
	})
	defer g.prog.finish()
	for _, src := range srcs {
		target := dest
		if destDir {
			if base := path.Base(path.Clean("/" + src)); base != "/" {
				target = filepath.Join(dest, base)
			}
		}
		g.copy(src, target)
	}
	return nil
}

func (g *getter) copy(src, target string) {
	e := g.e
	a, err := e.fs.Proc().Lstat(src)
	if err != nil {
		_, err = e.fs.Lstat(src)
		e.warn(err)
		return
	}
	if g.o.verbose && !(a.IsDir() && !g.o.recursive) {
		fmt.Fprintf(e.stdout, "%s:%s -> %s\n", e.image, src, target)
	}
	switch a.Type() {
	case vfs.S_IFDIR:
		if !g.o.recursive {
			e.warn(fmt.Errorf("%s: %s: is a directory (not copied; use -R)", e.image, src))
			return
		}
		if fi, err := os.Lstat(target); err != nil || !fi.IsDir() {
			// Searchable and writable while it is filled, whatever the
			// source's mode; the mode is set afterwards.
			if err := os.Mkdir(target, 0700); err != nil {
				e.warn(err)
				return
			}
		}
		ents, err := e.fs.ReadDir(src)
		if err != nil {
			e.warn(err)
		}
		for _, de := range ents {
			g.copy(join(src, de.Name()), filepath.Join(target, de.Name()))
		}
		if g.o.preserve {
			g.attrs(target, &a)
		} else if err := os.Chmod(target, fs.FileMode(a.Mode&0777&^umask())); err != nil {
			e.warn(err)
		}
	case vfs.S_IFREG:
		if a.Nlink > 1 {
			if first, ok := g.links[a.Ino]; ok {
				os.Remove(target)
				if err := os.Link(first, target); err != nil {
					e.warn(err)
				}
				return
			}
		}
		if err := g.copyFile(src, target, &a); err != nil {
			e.warn(err)
			return
		}
		if a.Nlink > 1 {
			g.links[a.Ino] = target
		}
		if g.o.preserve {
			g.attrs(target, &a)
		}
	case vfs.S_IFLNK:
		t, err := e.fs.Readlink(src)
		if err != nil {
			e.warn(err)
			return
		}
		os.Remove(target)
		if err := os.Symlink(t, target); err != nil {
			e.warn(err)
			return
		}
		if g.o.preserve {
			g.attrs(target, &a)
		}
	case vfs.S_IFCHR, vfs.S_IFBLK, vfs.S_IFIFO:
		if a.Type() != vfs.S_IFIFO && !g.root {
			e.warn(fmt.Errorf("%s: %s: device node not copied (needs root)", e.image, src))
			return
		}
		os.Remove(target)
		if err := unix.Mknod(target, a.Mode&(vfs.S_IFMT|0777), int(a.Rdev)); err != nil {
			e.warn(&fs.PathError{Op: "mknod", Path: target, Err: err})
			return
		}
		if g.o.preserve {
			g.attrs(target, &a)
		}
	default:
		e.warn(fmt.Errorf("%s: %s: %s not copied", e.image, src, fileType(&a)))
	}
}

func (g *getter) copyFile(src, target string, a *ukfs.Stat) error {
	in, err := g.e.fs.OpenFile(src, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	// A raw descriptor, not an *os.File: os.OpenFile registers every
	// file with the poller (an epoll_ctl and four fcntl per file), which
	// is a third of the system calls of a get -R of small files.
	fd, err := unix.Open(target, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, a.Mode&0777)
	if err != nil {
		return &fs.PathError{Op: "open", Path: target, Err: err}
	}
	out := fdWriter{fd, target}
	_, err = copyData(out, in, g.prog)
	if cerr := unix.Close(fd); err == nil && cerr != nil {
		err = &fs.PathError{Op: "close", Path: target, Err: cerr}
	}
	return err
}

// fdWriter writes to a host descriptor.
type fdWriter struct {
	fd   int
	name string
}

func (w fdWriter) Write(b []byte) (int, error) {
	done := 0
	for done < len(b) {
		n, err := unix.Write(w.fd, b[done:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return done, &fs.PathError{Op: "write", Path: w.name, Err: err}
		}
		done += n
	}
	return done, nil
}

// attrs gives target the source's owner (as root), mode and times (-p).
// The owner goes first because chown clears set-user-ID.
func (g *getter) attrs(target string, a *ukfs.Stat) {
	e := g.e
	if g.root {
		if err := os.Lchown(target, int(a.Uid), int(a.Gid)); err != nil {
			e.warn(err)
		}
	}
	if a.Type() != vfs.S_IFLNK {
		if err := unix.Chmod(target, a.Mode&07777); err != nil {
			e.warn(&fs.PathError{Op: "chmod", Path: target, Err: err})
		}
	}
	ts := []unix.Timespec{unix.NsecToTimespec(a.Atime.UnixNano()), unix.NsecToTimespec(a.Mtime.UnixNano())}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, target, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		e.warn(&fs.PathError{Op: "utimes", Path: target, Err: err})
	}
}

// umask reads the process umask (there is no getter without setting it).
func umask() uint32 {
	m := unix.Umask(0)
	unix.Umask(m)
	return uint32(m)
}
