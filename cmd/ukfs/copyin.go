package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rumpfs/rumpfs/ukfs"
	"github.com/rumpfs/rumpfs/vfs"
)

// Copies into the image: put (from the host) and cp (from the image
// itself) share one engine over a source.

// source is where a copy into the image reads from.
type source interface {
	// lstat returns the attributes and, for hard-link detection, the
	// device the inode number belongs to.
	lstat(p string) (vfs.Attr, uint64, error)
	readDir(p string) ([]string, error) // sorted names, without . and ..
	open(p string) (io.ReadCloser, error)
	readlink(p string) (string, error)
	join(dir, name string) string
	base(p string) string
	show(p string) string // as -v prints it
}

// hostSource reads the host's files (put).
type hostSource struct{}

func (hostSource) lstat(p string) (vfs.Attr, uint64, error) {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return vfs.Attr{}, 0, &fs.PathError{Op: "lstat", Path: p, Err: err}
	}
	ts := func(t unix.Timespec) time.Time { return time.Unix(t.Sec, t.Nsec) }
	return vfs.Attr{
		Ino: st.Ino, Mode: st.Mode, Nlink: uint32(st.Nlink), Uid: st.Uid, Gid: st.Gid,
		Rdev: st.Rdev, Size: uint64(st.Size), Blocks: uint64(st.Blocks),
		Atime: ts(st.Atim), Mtime: ts(st.Mtim), Ctime: ts(st.Ctim),
	}, st.Dev, nil
}

func (hostSource) readDir(p string) ([]string, error) {
	ents, err := os.ReadDir(p)
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	return names, err
}

func (hostSource) open(p string) (io.ReadCloser, error) { return os.Open(p) }
func (hostSource) readlink(p string) (string, error)    { return os.Readlink(p) }
func (hostSource) join(dir, name string) string         { return filepath.Join(dir, name) }
func (hostSource) base(p string) string                 { return filepath.Base(filepath.Clean(p)) }
func (hostSource) show(p string) string                 { return p }

// imageSource reads the image being changed (cp).
type imageSource struct{ e *env }

func (s imageSource) lstat(p string) (vfs.Attr, uint64, error) {
	a, err := s.e.fs.Proc().Lstat(p)
	if err != nil {
		_, err = s.e.fs.Lstat(p)
	}
	return a, 0, err
}

func (s imageSource) readDir(p string) ([]string, error) {
	ents, err := s.e.fs.ReadDir(p)
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	return names, err
}

func (s imageSource) open(p string) (io.ReadCloser, error) {
	return s.e.fs.OpenFile(p, os.O_RDONLY, 0)
}
func (s imageSource) readlink(p string) (string, error) { return s.e.fs.Readlink(p) }
func (s imageSource) join(dir, name string) string      { return join(dir, name) }
func (s imageSource) base(p string) string              { return baseName(p) }
func (s imageSource) show(p string) string              { return p }

// copyIn copies trees from src into the image.
type copyIn struct {
	e                            *env
	src                          source
	recursive, preserve, verbose bool
	// links maps (device, inode) of a source file with several links to
	// its first copy, so that hard links stay hard links.
	links map[[2]uint64]string
	prog  *progress
}

// run copies srcs to dest as cp(1): into dest when it is a directory of
// the image, to dest itself otherwise (one source only).
func (c *copyIn) run(srcs []string, dest string) error {
	e := c.e
	c.links = map[[2]uint64]string{}
	destDir := false
	if a, err := e.fs.Proc().Stat(dest); err == nil && a.IsDir() {
		destDir = true
	}
	if len(srcs) > 1 && !destDir {
		if _, err := e.fs.Stat(dest); err != nil {
			return err
		}
		return &fs.PathError{Op: "copy", Path: e.image + ": " + dest, Err: syscall.ENOTDIR}
	}
	c.prog = e.newProgress("copying", func() int64 { return c.total(srcs) })
	defer c.prog.finish()
	for _, s := range srcs {
		target := dest
		if destDir {
			target = join(dest, c.src.base(s))
		}
		if err := c.copy(s, target); err != nil {
			return err // interrupted
		}
	}
	return nil
}

// total is the byte count of the regular files under srcs, for the bar.
func (c *copyIn) total(srcs []string) int64 {
	var n int64
	var walk func(p string)
	walk = func(p string) {
		a, _, err := c.src.lstat(p)
		if err != nil {
			return
		}
		switch {
		case a.Type() == vfs.S_IFREG:
			n += int64(a.Size)
		case a.IsDir() && c.recursive:
			names, _ := c.src.readDir(p)
			for _, name := range names {
				walk(c.src.join(p, name))
			}
		}
	}
	for _, s := range srcs {
		walk(s)
	}
	return n
}

// copy copies one source path to target; errors are reported and the
// copy goes on, except an interruption, which is returned.
func (c *copyIn) copy(s, target string) error {
	e := c.e
	a, dev, err := c.src.lstat(s)
	if err != nil {
		e.warn(err)
		return nil
	}
	if a.IsDir() {
		return c.copyDir(s, target, &a)
	}
	if c.verbose {
		fmt.Fprintf(e.stdout, "%s -> %s:%s\n", c.src.show(s), e.image, target)
	}
	switch a.Type() {
	case vfs.S_IFREG:
		key := [2]uint64{dev, a.Ino}
		if first, ok := c.links[key]; ok && a.Nlink > 1 {
			c.removeOld(target)
			if err := e.fs.Proc().Link(first, target); err != nil {
				e.warn(&fs.PathError{Op: "link", Path: e.image + ": " + target, Err: err})
			}
			break
		}
		if err := c.copyFile(s, target, &a); err != nil {
			e.warn(err)
			break
		}
		if a.Nlink > 1 {
			c.links[key] = target
		}
		c.attrs(target, &a)
	case vfs.S_IFLNK:
		t, err := c.src.readlink(s)
		if err != nil {
			e.warn(err)
			break
		}
		c.removeOld(target)
		if err := e.fs.Proc().Symlink(t, target); err != nil {
			e.warn(&fs.PathError{Op: "symlink", Path: e.image + ": " + target, Err: err})
			break
		}
		c.attrs(target, &a)
	case vfs.S_IFCHR, vfs.S_IFBLK, vfs.S_IFIFO:
		c.removeOld(target)
		if err := e.fs.Mknod(target, a.Mode&(vfs.S_IFMT|0777), a.Rdev); err != nil {
			e.warn(err)
			break
		}
		c.attrs(target, &a)
	default:
		e.warn(fmt.Errorf("%s: %s not copied", s, fileType(&a)))
	}
	if e.fileDone() {
		return errInterrupted
	}
	return nil
}

func (c *copyIn) copyDir(s, target string, a *vfs.Attr) error {
	e := c.e
	if !c.recursive {
		e.warn(fmt.Errorf("%s: is a directory (not copied; use -R)", c.src.show(s)))
		return nil
	}
	if _, ok := c.src.(imageSource); ok {
		// cp -R /a /a/b would copy for ever (cp(1): "cannot copy a
		// directory into itself").
		cs, ct := path.Clean("/"+s), path.Clean("/"+target)
		if ct == cs || len(ct) > len(cs) && ct[:len(cs)] == cs && (cs == "/" || ct[len(cs)] == '/') {
			e.warn(fmt.Errorf("%s: %s: cannot copy a directory into itself (%s)", e.image, s, target))
			return nil
		}
	}
	if c.verbose {
		fmt.Fprintf(e.stdout, "%s -> %s:%s\n", c.src.show(s), e.image, target)
	}
	if ta, err := e.fs.Proc().Lstat(target); err != nil || !ta.IsDir() {
		if err == nil {
			e.warn(&fs.PathError{Op: "mkdir", Path: e.image + ": " + target, Err: syscall.EEXIST})
			return nil
		}
		// The mode less the umask, as mkdir(1); -p sets it exactly after.
		if err := e.fs.Mkdir(target, ukfs.FileMode(a.Mode&07777)); err != nil {
			e.warn(err)
			return nil
		}
	}
	names, err := c.src.readDir(s)
	if err != nil {
		e.warn(err)
	}
	for _, n := range names {
		if err := c.copy(c.src.join(s, n), join(target, n)); err != nil {
			return err
		}
	}
	// A directory's times are set last: filling it changed them.
	c.attrs(target, a)
	if e.fileDone() {
		return errInterrupted
	}
	return nil
}

func (c *copyIn) copyFile(s, target string, a *vfs.Attr) error {
	in, err := c.src.open(s)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := c.e.fs.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fs.FileMode(a.Mode&0777))
	if err != nil {
		return err
	}
	_, err = copyData(out, in, c.prog)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// removeOld removes what is at target (not a directory) before a link,
// symlink or node is made there.
func (c *copyIn) removeOld(target string) {
	if a, err := c.e.fs.Proc().Lstat(target); err == nil && !a.IsDir() {
		c.e.fs.Proc().Unlink(target)
	}
}

// attrs gives target the source's owner, mode and times (-p). In the
// image ukfs is the super-user, so the owner is always kept; a format
// that cannot hold owners (FAT: EINVAL, as NetBSD's msdosfs_setattr) is
// not an error, as cp -p is quiet when it cannot keep them. The owner
// goes first because chown clears set-user-ID.
func (c *copyIn) attrs(target string, a *vfs.Attr) {
	if !c.preserve {
		return
	}
	e := c.e
	p := e.fs.Proc()
	if err := p.Lchown(target, int(a.Uid), int(a.Gid)); err != nil && !ownerUnsupported(err) {
		e.warn(&fs.PathError{Op: "chown", Path: e.image + ": " + target, Err: err})
	}
	if a.Type() != vfs.S_IFLNK {
		if err := e.fs.Chmod(target, ukfs.FileMode(a.Mode&07777)); err != nil {
			e.warn(err)
		}
	}
	if err := e.fs.Lchtimes(target, a.Atime, a.Mtime); err != nil {
		e.warn(err)
	}
}

func ownerUnsupported(err error) bool {
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EOPNOTSUPP)
}
