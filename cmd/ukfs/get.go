package main

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/rumpfs/rumpfs/kern"
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

// getter copies trees out. With -R, directories are copied by a few
// workers at once, each with a kern process of its own (its own working
// directory and descriptors): extracting small files is mostly the host
// kernel's work (creating inodes), and creations in different host
// directories run in parallel where creations in one directory wait for
// each other on its lock. A directory's mode and times are set at the
// end, deepest first, once everything below it exists.
type getter struct {
	e     *env
	o     *getOpts
	root  bool
	umask uint32 // read once: the mode of every directory copied is masked with it
	prog  *progress
	mu    sync.Mutex // warnings, -v lines, the progress, finals

	// links maps the inode of a file with several links to its first
	// copy, so hard links stay hard links; lmu is held while such a file
	// is copied, so the next link finds the copy complete.
	lmu   sync.Mutex
	links map[uint64]string

	qmu     sync.Mutex
	qcond   *sync.Cond
	queue   []dirJob
	closed  bool
	pending sync.WaitGroup // directories queued and not yet copied
	finals  []dirJob       // directories whose mode and times are due
}

// gproc is one copier: a kern process and a copy buffer.
type gproc struct {
	p   *kern.Proc
	buf []byte
}

// dirJob is an image directory to copy to target.
type dirJob struct {
	src, target string
	a           ukfs.Stat
	depth       int
}

// getWorkers is how many directories get -R copies at once.
var getWorkers = max(2, min(4, runtime.NumCPU()))

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
	if o.recursive && os.Getenv("GOGC") == "" {
		// A tree of small files allocates a little per file (names,
		// vnodes, descriptors) on a heap of a few MiB, so the default
		// GOGC=100 collects often: at 400 a get -R of 10,000 small
		// files to tmpfs took 7-10 ms less CPU (about 130 -> 122 ms,
		// ext2 and ISO images) for 2-4 MiB more peak RSS (22-26 ->
		// 25-30 MiB). An explicit GOGC still wins.
		debug.SetGCPercent(400)
	}
	g := &getter{e: e, o: o, links: map[uint64]string{}, root: os.Geteuid() == 0, umask: umask()}
	g.qcond = sync.NewCond(&g.qmu)
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
	main := &gproc{p: e.fs.Proc(), buf: copyBuf}
	var workers sync.WaitGroup
	started := 0
	if o.recursive {
		for range getWorkers {
			p, err := e.fs.MountPoint().NewProc(main.p.Cred())
			if err != nil {
				break // the main process copies what is queued
			}
			gp := &gproc{p: p, buf: make([]byte, copyBufSize)}
			started++
			workers.Go(func() {
				defer p.Exit()
				for {
					j, ok := g.next()
					if !ok {
						return
					}
					g.runDir(gp, j)
				}
			})
		}
	}
	for _, src := range srcs {
		target := dest
		if destDir {
			if base := path.Base(path.Clean("/" + src)); base != "/" {
				target = filepath.Join(dest, base)
			}
		}
		g.copy(main, src, target)
	}
	if o.recursive {
		if started == 0 {
			// No worker process could be made: the main one copies
			// the queued directories itself.
			for {
				g.qmu.Lock()
				if len(g.queue) == 0 {
					g.qmu.Unlock()
					break
				}
				g.qmu.Unlock()
				j, _ := g.next()
				g.runDir(main, j)
			}
		}
		g.pending.Wait()
		g.qmu.Lock()
		g.closed = true
		g.qcond.Broadcast()
		g.qmu.Unlock()
		workers.Wait()
		// Deepest first: a parent made read-only or given its times
		// after its children, as cp -R does on the way back up.
		sort.SliceStable(g.finals, func(i, j int) bool { return g.finals[i].depth > g.finals[j].depth })
		for _, d := range g.finals {
			g.finishDir(d.target, &d.a)
		}
	}
	return nil
}

// enqueue hands a directory to the workers.
func (g *getter) enqueue(j dirJob) {
	g.pending.Add(1)
	g.qmu.Lock()
	g.queue = append(g.queue, j)
	g.qcond.Signal()
	g.qmu.Unlock()
}

// next takes a queued directory, waiting for one; false once the copy is
// over.
func (g *getter) next() (dirJob, bool) {
	g.qmu.Lock()
	defer g.qmu.Unlock()
	for len(g.queue) == 0 && !g.closed {
		g.qcond.Wait()
	}
	if len(g.queue) == 0 {
		return dirJob{}, false
	}
	j := g.queue[0]
	g.queue = g.queue[1:]
	return j, true
}

// runDir copies a queued directory.
func (g *getter) runDir(gp *gproc, j dirJob) {
	defer g.pending.Done()
	// The worker's own working directory is wherever its last directory
	// left it: a relative SRC ("get -R img dir out") is relative to the
	// root, where every ukfs command's process starts (get moves the main
	// process only while it copies one argument).
	abs := j.src
	if !strings.HasPrefix(abs, "/") {
		abs = "/" + abs
	}
	fd, err := gp.p.Open(abs, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		g.warn(g.perr("open", j.src, err))
		return
	}
	defer gp.p.Close(fd)
	g.copyDir(gp, j.src, j.target, &j.a, fd, j.depth)
}

// copy copies src, a path in the image, to target.
func (g *getter) copy(gp *gproc, src, target string) {
	e := g.e
	a, err := gp.p.Lstat(src)
	if err != nil {
		_, err = e.fs.Lstat(src)
		g.warn(err)
		return
	}
	if a.IsDir() && g.o.recursive {
		// copyDir moves the kern process into the directory it copies;
		// the next argument, maybe relative, is looked up from here.
		p := gp.p
		if home, err := p.Open(".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
			defer func() {
				p.Fchdir(home)
				p.Close(home)
			}()
		}
	}
	g.copyNode(gp, src, src, target, &a, -1)
}

// perr names an image path in an error from the kern layer, as ukfs.FS
// methods do ("IMAGE: PATH: reason").
func (g *getter) perr(op, src string, err error) error {
	return &fs.PathError{Op: op, Path: g.e.image + ": " + src, Err: err}
}

// verbose prints get -v's line for one file.
func (g *getter) verbose(src, target string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	fmt.Fprintf(g.e.stdout, "%s:%s -> %s\n", g.e.image, src, target)
}

// copyNode copies the node with attributes a to target. ref names it for
// the kern calls (a name relative to the working directory inside a tree,
// so that each lookup is one component instead of a walk from the root);
// src is its full path, for messages. fd, if not -1, is the node already
// open read-only; copyNode closes it.
func (g *getter) copyNode(gp *gproc, ref, src, target string, a *ukfs.Stat, fd int) {
	e := g.e
	p := gp.p
	defer func() {
		if fd >= 0 {
			p.Close(fd)
		}
	}()
	if g.o.verbose && !(a.IsDir() && !g.o.recursive) {
		g.verbose(src, target)
	}
	switch a.Type() {
	case vfs.S_IFDIR:
		if !g.o.recursive {
			g.warn(fmt.Errorf("%s: %s: is a directory (not copied; use -R)", e.image, src))
			return
		}
		if fd < 0 {
			var err error
			if fd, err = p.Open(ref, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
				g.warn(g.perr("open", src, err))
				return
			}
		}
		g.copyDir(gp, src, target, a, fd, 0)
	case vfs.S_IFREG:
		if a.Nlink > 1 {
			g.lmu.Lock()
			defer g.lmu.Unlock()
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
		}
		if err := g.copyFile(gp, fd, src, target, a); err != nil {
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

// copyDir creates target and copies the directory open as fd into it:
// its files here, its subdirectories queued for the workers. target's
// mode and times are set at the end of the get (finishDir).
func (g *getter) copyDir(gp *gproc, src, target string, a *ukfs.Stat, fd int, depth int) {
	p := gp.p
	if fi, err := os.Lstat(target); err != nil || !fi.IsDir() {
		// Searchable and writable while it is filled, whatever the
		// source's mode.
		if err := os.Mkdir(target, 0700); err != nil {
			g.warn(err)
			return
		}
	}
	g.mu.Lock()
	g.finals = append(g.finals, dirJob{target: target, a: *a, depth: depth})
	g.mu.Unlock()
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
		ref := full
		if rel {
			ref = name
		}
		g.copyChild(gp, ref, full, join(target, name), depth) // a dirent name: no Clean needed
	}
}

// copyChild copies one directory entry. It opens the entry first (not
// following a symlink) and takes its attributes from the descriptor: one
// lookup for both, where lstat then open would look it up twice. What
// cannot be opened (a symlink, a file without read permission) is
// looked at with lstat. A subdirectory is queued.
func (g *getter) copyChild(gp *gproc, ref, src, target string, depth int) {
	p := gp.p
	fd, err := p.Open(ref, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	var a ukfs.Stat
	if err == nil {
		if a, err = p.Fstat(fd); err != nil {
			p.Close(fd)
			fd = -1
		}
	} else {
		fd = -1
	}
	if fd < 0 {
		if a, err = p.Lstat(ref); err != nil {
			g.warn(g.perr("lstat", src, err))
			return
		}
	}
	if a.IsDir() {
		if fd >= 0 {
			p.Close(fd)
		}
		if g.o.verbose {
			g.verbose(src, target)
		}
		g.enqueue(dirJob{src: src, target: target, a: a, depth: depth + 1})
		return
	}
	g.copyNode(gp, ref, src, target, &a, fd)
}

// finishDir gives a copied directory its mode (and owner and times with
// -p).
func (g *getter) finishDir(target string, a *ukfs.Stat) {
	if g.o.preserve {
		g.attrs(target, a)
	} else if err := os.Chmod(target, fs.FileMode(a.Mode&0777&^g.umask)); err != nil {
		g.warn(err)
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
func (g *getter) copyFile(gp *gproc, fd int, src, target string, a *ukfs.Stat) error {
	// A raw descriptor, not an *os.File: os.OpenFile registers every
	// file with the poller (an epoll_ctl and four fcntl per file), which
	// is a third of the system calls of a get -R of small files.
	out, err := unix.Open(target, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, a.Mode&0777)
	if err != nil {
		return &fs.PathError{Op: "open", Path: target, Err: err}
	}
	w := fdWriter{out, target}
	if int64(a.Size) > pipelineMin {
		err = g.copyPipelined(gp, fd, src, w, int64(a.Size))
	} else {
		err = g.copySerial(gp, fd, src, w, int64(a.Size))
	}
	if cerr := unix.Close(out); err == nil && cerr != nil {
		err = &fs.PathError{Op: "close", Path: target, Err: cerr}
	}
	return err
}

// copySerial copies size bytes from fd to w through buf.
func (g *getter) copySerial(gp *gproc, fd int, src string, w fdWriter, size int64) error {
	p, buf := gp.p, gp.buf
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
func (g *getter) copyPipelined(gp *gproc, fd int, src string, w fdWriter, size int64) error {
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
	p := gp.p
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
