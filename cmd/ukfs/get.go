package main

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sync"
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
	// cwd is the image directory descriptor the kern process is in
	// (Fchdir), -1 when unknown.
	cwd int
	// jobs feeds the workers of get -R (nil: copy in line); dir counts
	// the jobs of the directory being copied.
	jobs chan fileJob
	dir  *sync.WaitGroup
	mu   sync.Mutex // e.warn and the progress, from the workers
}

// fileJob is a regular file for a worker to copy: fd is open in the
// image, and the worker closes it.
type fileJob struct {
	fd          int
	src, target string
	a           ukfs.Stat
	wg          *sync.WaitGroup
}

// getWorkers is how many files get -R copies at once. Extracting small
// files is mostly the host's work (creating inodes, copying into the page
// cache); a few files in flight let that overlap with reading the next
// ones from the image, on another core or while one waits for the disk.
const getWorkers = 4

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
	g := &getter{e: e, o: o, links: map[uint64]string{}, root: os.Geteuid() == 0, cwd: -1}
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
	if o.recursive && getWorkers > 0 {
		var wg sync.WaitGroup
		g.jobs = make(chan fileJob)
		for range getWorkers {
			wg.Go(func() {
				buf := make([]byte, copyBufSize)
				for j := range g.jobs {
					g.runJob(j, buf)
				}
			})
		}
		defer func() {
			close(g.jobs)
			wg.Wait()
		}()
	}
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

// copy copies src, a path in the image, to target.
func (g *getter) copy(src, target string) {
	e := g.e
	a, err := e.fs.Proc().Lstat(src)
	if err != nil {
		_, err = e.fs.Lstat(src)
		g.warn(err)
		return
	}
	if a.IsDir() && g.o.recursive {
		// copyDir moves the kern process into the directories it copies;
		// the next argument, maybe relative, is looked up from here.
		p := e.fs.Proc()
		if home, err := p.Open(".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
			defer func() {
				p.Fchdir(home)
				p.Close(home)
				g.cwd = -1
			}()
		}
	}
	g.copyNode(src, src, target, &a, -1)
}

// perr names an image path in an error from the kern layer, as ukfs.FS
// methods do ("IMAGE: PATH: reason").
func (g *getter) perr(op, src string, err error) error {
	return &fs.PathError{Op: op, Path: g.e.image + ": " + src, Err: err}
}

// copyNode copies the node with attributes a to target. ref names it for
// the kern calls (a name relative to the working directory inside a tree,
// so that each lookup is one component instead of a walk from the root);
// src is its full path, for messages. fd, if not -1, is the node already
// open read-only; copyNode closes it.
func (g *getter) copyNode(ref, src, target string, a *ukfs.Stat, fd int) {
	e := g.e
	p := e.fs.Proc()
	defer func() {
		if fd >= 0 {
			p.Close(fd)
		}
	}()
	if g.o.verbose && !(a.IsDir() && !g.o.recursive) {
		fmt.Fprintf(e.stdout, "%s:%s -> %s\n", e.image, src, target)
	}
	switch a.Type() {
	case vfs.S_IFDIR:
		if !g.o.recursive {
			g.warn(fmt.Errorf("%s: %s: is a directory (not copied; use -R)", e.image, src))
			return
		}
		g.copyDir(ref, src, target, a, fd)
	case vfs.S_IFREG:
		if a.Nlink > 1 {
			if first, ok := g.links[a.Ino]; ok {
				os.Remove(target)
				if err := os.Link(first, target); err != nil {
					g.warn(err)
				}
				return
			}
		}
		if fd < 0 {
			var err error
			if fd, err = p.Open(ref, unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
				g.warn(g.perr("open", src, err))
				return
			}
			defer p.Close(fd)
		} else if g.jobs != nil && g.dir != nil && a.Nlink <= 1 {
			// To a worker, which closes fd. A file with other links is
			// copied here: the next link needs the copy to exist.
			g.dir.Add(1)
			g.jobs <- fileJob{fd: fd, src: src, target: target, a: *a, wg: g.dir}
			fd = -1
			return
		}
		if err := g.copyFile(fd, src, target, a, copyBuf); err != nil {
			g.warn(err)
			return
		}
		if a.Nlink > 1 {
			g.links[a.Ino] = target
		}
		if g.o.preserve {
			g.attrs(target, a)
		}
	case vfs.S_IFLNK:
		t, err := p.Readlink(ref)
		if err != nil {
			g.warn(g.perr("readlink", src, err))
			return
		}
		os.Remove(target)
		if err := os.Symlink(t, target); err != nil {
			g.warn(err)
			return
		}
		if g.o.preserve {
			g.attrs(target, a)
		}
	case vfs.S_IFCHR, vfs.S_IFBLK, vfs.S_IFIFO:
		if a.Type() != vfs.S_IFIFO && !g.root {
			g.warn(fmt.Errorf("%s: %s: device node not copied (needs root)", e.image, src))
			return
		}
		os.Remove(target)
		if err := unix.Mknod(target, a.Mode&(vfs.S_IFMT|0777), int(a.Rdev)); err != nil {
			g.warn(&fs.PathError{Op: "mknod", Path: target, Err: err})
			return
		}
		if g.o.preserve {
			g.attrs(target, a)
		}
	default:
		g.warn(fmt.Errorf("%s: %s: %s not copied", e.image, src, fileType(a)))
	}
}

// copyDir copies a directory's entries, then gives target its mode (and
// times with -p: after the entries, whose creation changes them).
func (g *getter) copyDir(ref, src, target string, a *ukfs.Stat, fd int) {
	e := g.e
	p := e.fs.Proc()
	if fi, err := os.Lstat(target); err != nil || !fi.IsDir() {
		// Searchable and writable while it is filled, whatever the
		// source's mode; the mode is set afterwards (unless it already
		// is the final one).
		if err := os.Mkdir(target, 0700); err != nil {
			g.warn(err)
			return
		}
	}
	// The directory's own files go to the workers; its mode and times
	// are set once they are all written.
	wg := new(sync.WaitGroup)
	parent := g.dir
	g.dir = wg
	defer func() {
		g.dir = parent
		wg.Wait()
		if g.o.preserve {
			g.attrs(target, a)
		} else if err := os.Chmod(target, fs.FileMode(a.Mode&0777&^umask())); err != nil {
			g.warn(err)
		}
	}()
	if fd < 0 {
		var err error
		if fd, err = p.Open(ref, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
			g.warn(g.perr("open", src, err))
			return
		}
		defer p.Close(fd)
	}
	var names []string
	for {
		ents, err := p.Getdents(fd, 0)
		if err != nil {
			g.warn(g.perr("readdirent", src, err))
			break
		}
		if len(ents) == 0 {
			break
		}
		for _, d := range ents {
			if d.Name != "." && d.Name != ".." {
				names = append(names, d.Name)
			}
		}
	}
	slices.Sort(names)
	// The entries are looked up relative to this directory: one name per
	// lookup. A directory the caller may read but not search (no x) is
	// left to full paths, whose lookups then fail as they should.
	rel := p.Fchdir(fd) == nil
	for _, name := range names {
		full := join(src, name)
		cref := full
		if rel {
			if g.cwd != fd {
				if err := p.Fchdir(fd); err != nil {
					cref = full
				} else {
					g.cwd = fd
				}
			}
			if g.cwd == fd {
				cref = name
			}
		}
		g.copyChild(cref, full, filepath.Join(target, name))
	}
	g.cwd = -1
}

// copyChild copies one directory entry. It opens the entry first (not
// following a symlink) and takes its attributes from the descriptor: one
// lookup for both, where lstat then open would look it up twice. What
// cannot be opened (a symlink, a file without read permission) is
// looked at with lstat and handled as before.
func (g *getter) copyChild(ref, src, target string) {
	p := g.e.fs.Proc()
	fd, err := p.Open(ref, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err == nil {
		a, err := p.Fstat(fd)
		if err == nil {
			g.copyNode(ref, src, target, &a, fd)
			return
		}
		p.Close(fd)
	}
	a, err := p.Lstat(ref)
	if err != nil {
		g.warn(g.perr("lstat", src, err))
		return
	}
	g.copyNode(ref, src, target, &a, -1)
}

// runJob copies a file for a worker.
func (g *getter) runJob(j fileJob, buf []byte) {
	defer j.wg.Done()
	defer g.e.fs.Proc().Close(j.fd)
	if err := g.copyFile(j.fd, j.src, j.target, &j.a, buf); err != nil {
		g.warn(err)
		return
	}
	if g.o.preserve {
		g.attrs(j.target, &j.a)
	}
}

// warn is e.warn for the workers too.
func (g *getter) warn(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.e.warn(err)
}

// copyFile copies the image file open as fd to a new host file target
// through buf. It reads the a.Size bytes the file has and no more: the
// read that would find the end is saved, one per file (the image is
// read-only under get, so the size cannot change); a file system that
// returns less (a damaged file) ends the copy early, as at end of file.
func (g *getter) copyFile(fd int, src, target string, a *ukfs.Stat, buf []byte) error {
	// A raw descriptor, not an *os.File: os.OpenFile registers every
	// file with the poller (an epoll_ctl and four fcntl per file), which
	// is a third of the system calls of a get -R of small files.
	out, err := unix.Open(target, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, a.Mode&0777)
	if err != nil {
		return &fs.PathError{Op: "open", Path: target, Err: err}
	}
	w := fdWriter{out, target}
	if int64(a.Size) > pipelineMin {
		err = g.copyPipelined(fd, src, w, int64(a.Size))
	} else {
		err = g.copySerial(fd, src, w, int64(a.Size), buf)
	}
	if cerr := unix.Close(out); err == nil && cerr != nil {
		err = &fs.PathError{Op: "close", Path: target, Err: cerr}
	}
	return err
}

// copySerial copies size bytes from fd to w through buf.
func (g *getter) copySerial(fd int, src string, w fdWriter, size int64, buf []byte) error {
	p := g.e.fs.Proc()
	for left := size; left > 0; {
		b := buf[:min(int64(len(buf)), left)]
		n, err := p.Read(fd, b)
		if n > 0 {
			if _, err := w.Write(b[:n]); err != nil {
				return err
			}
			left -= int64(n)
			g.progress(n)
		}
		if err != nil {
			return g.perr("read", src, err)
		}
		if n == 0 {
			break
		}
	}
	return nil
}

// pipelineMin is the size from which a file is copied by two goroutines,
// one reading the image while the other writes the host file: the read
// of a cold image waits for the disk, the write is the host kernel
// copying into its page cache, and the two then overlap instead of
// taking turns.
const pipelineMin = 4 * copyBufSize

// copyPipelined copies size bytes from fd to w, reading ahead of the
// writes by up to three buffers.
func (g *getter) copyPipelined(fd int, src string, w fdWriter, size int64) error {
	const nbuf = 4
	type chunk struct {
		b   []byte
		err error
	}
	free := make(chan []byte, nbuf)
	full := make(chan chunk, nbuf)
	stop := make(chan struct{})
	for range nbuf {
		free <- make([]byte, copyBufSize)
	}
	p := g.e.fs.Proc()
	go func() {
		defer close(full)
		for off := int64(0); off < size; {
			var b []byte
			select {
			case b = <-free:
			case <-stop:
				return
			}
			n, err := p.Pread(fd, b[:min(int64(len(b)), size-off)], off)
			if err != nil {
				err = g.perr("read", src, err)
			}
			full <- chunk{b[:n], err}
			if err != nil || n == 0 {
				return
			}
			off += int64(n)
		}
	}()
	var err error
	for c := range full {
		if err == nil && len(c.b) > 0 {
			if _, err = w.Write(c.b); err == nil {
				g.progress(len(c.b))
			}
		}
		if err == nil && c.err != nil {
			err = c.err
		}
		if err != nil {
			// The reader may be waiting for a free buffer: let it go
			// and drain what it already read.
			select {
			case <-stop:
			default:
				close(stop)
			}
		}
		free <- c.b[:cap(c.b)]
	}
	return err
}

// progress counts n bytes copied, from any goroutine.
func (g *getter) progress(n int) {
	if g.prog != nil {
		g.mu.Lock()
		g.prog.add(int64(n))
		g.mu.Unlock()
	}
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
	if g.root {
		if err := os.Lchown(target, int(a.Uid), int(a.Gid)); err != nil {
			g.warn(err)
		}
	}
	if a.Type() != vfs.S_IFLNK {
		if err := unix.Chmod(target, a.Mode&07777); err != nil {
			g.warn(&fs.PathError{Op: "chmod", Path: target, Err: err})
		}
	}
	ts := []unix.Timespec{unix.NsecToTimespec(a.Atime.UnixNano()), unix.NsecToTimespec(a.Mtime.UnixNano())}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, target, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		g.warn(&fs.PathError{Op: "utimes", Path: target, Err: err})
	}
}

// umask reads the process umask (there is no getter without setting it).
func umask() uint32 {
	m := unix.Umask(0)
	unix.Umask(m)
	return uint32(m)
}
