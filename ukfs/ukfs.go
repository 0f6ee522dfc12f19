// Package ukfs reads and changes file-system images in-process, with no
// mount, no root and no FUSE: NetBSD's libukfs ("user-kernel file system")
// for Go. An image is mounted in a private rump kernel (package kern) and
// used through methods that mirror the syscalls (Stat, Open, Mkdir, Rename,
// ...). *FS also implements io/fs.FS, fs.ReadDirFS, fs.StatFS,
// fs.ReadFileFS and fs.ReadLinkFS, so the standard library's tools
// (fs.WalkDir, fstest.TestFS, http.FS, template.ParseFS) work on images.
//
// Paths: the os-style methods take absolute paths, or paths relative to the
// working directory (Chdir; "/" at first). The io/fs methods Open and
// ReadFile take unrooted slash-separated names checked with fs.ValidPath
// and always start at the image's root; Stat, Lstat and ReadDir accept both
// forms, which agree while the working directory is the root.
//
// Errors: os-style methods return *fs.PathError (or *os.LinkError for two
// paths) whose Path names the image and the path, "disk.img: /etc/passwd",
// so that the message reads "open disk.img: /etc/passwd: no such file or
// directory", and whose Err is the syscall.Errno (errors.Is(err,
// fs.ErrNotExist) works). Use Message for the form without the operation.
package ukfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/rumpfs/rumpfs/kern"
	ninep "github.com/rumpfs/rumpfs/net"
	"github.com/rumpfs/rumpfs/vfs"
)

// FS is a mounted image.
type FS struct {
	k     *kern.Kernel
	mp    *kern.MountPoint
	p     *kern.Proc
	image string
}

var (
	_ fs.FS         = (*FS)(nil)
	_ fs.ReadDirFS  = (*FS)(nil)
	_ fs.StatFS     = (*FS)(nil)
	_ fs.ReadFileFS = (*FS)(nil)
	_ fs.ReadLinkFS = (*FS)(nil)
)

type config struct {
	fstype string
	opts   vfs.Options
	ro     bool
	cred   *vfs.Cred
	umask  int
	kernel *kern.Kernel
}

// Option is a Mount option.
type Option func(*config)

// Type forces the file-system type (ukfs -t); the default probes.
func Type(fstype string) Option { return func(c *config) { c.fstype = fstype } }

// Options adds -o mount options ("ro,noatime", "uid=1000", ...).
func Options(opts string) Option {
	return func(c *config) { c.opts = vfs.ParseOptions(c.opts, opts) }
}

// ReadOnly mounts read-only and opens the image read-only.
func ReadOnly() Option { return func(c *config) { c.ro = true } }

// Cred runs every operation as uid/gid with supplementary groups, with
// the permission checks that implies. The default is the super-user, as
// NetBSD's ukfs.
func Cred(uid, gid uint32, groups ...uint32) Option {
	return func(c *config) { c.cred = &vfs.Cred{Uid: uid, Gid: gid, Groups: groups} }
}

// Umask sets the file creation mask (default 022).
func Umask(mask uint32) Option { return func(c *config) { c.umask = int(mask & 0777) } }

// Kernel mounts in an existing kernel instead of a private one.
func Kernel(k *kern.Kernel) Option { return func(c *config) { c.kernel = k } }

func configure(opts []Option) *config {
	c := &config{umask: -1}
	for _, o := range opts {
		o(c)
	}
	if c.opts == nil {
		c.opts = vfs.Options{}
	}
	if c.ro {
		c.opts = vfs.ParseOptions(c.opts, "ro")
	}
	if c.kernel == nil {
		c.kernel = kern.New()
	}
	return c
}

// Mount mounts image (a path with an optional %PART% suffix), or attaches
// to a 9P export named 9p://host:port or 9p+unix:///path/sock (see
// package net): every method then works on the remote file system, whose
// server checks permissions.
func Mount(image string, opts ...Option) (*FS, error) {
	c := configure(opts)
	if ninep.IsRemote(image) {
		m, err := ninep.Dial(image, c.ro || c.opts.Has("ro"))
		if err != nil {
			return nil, err
		}
		return FromMount(image, m, opts...)
	}
	mp, err := c.kernel.Mount(image, c.fstype, c.opts)
	if err != nil {
		return nil, err
	}
	f, err := attach(c, mp, image)
	if err != nil {
		mp.Unmount()
		return nil, err
	}
	return f, nil
}

// FromMount wraps a file system already mounted by other means (a memfs in
// tests, a daemon's mount); name stands for the image in messages.
// Unmount then unmounts m too.
func FromMount(name string, m vfs.Mount, opts ...Option) (*FS, error) {
	c := configure(opts)
	mp := c.kernel.MountVFS(name, m)
	f, err := attach(c, mp, name)
	if err != nil {
		mp.Unmount()
		return nil, err
	}
	return f, nil
}

func attach(c *config, mp *kern.MountPoint, image string) (*FS, error) {
	p, err := mp.NewProc(c.cred)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", image, err)
	}
	if c.umask >= 0 {
		p.Umask(uint32(c.umask))
	}
	return &FS{k: c.kernel, mp: mp, p: p, image: image}, nil
}

// Unmount flushes everything and releases the image. Files still open are
// closed.
func (f *FS) Unmount() error {
	f.p.Exit()
	return f.mp.Unmount()
}

// Image is the image path as given to Mount.
func (f *FS) Image() string { return f.image }

// Type is the mounted file system's registry name ("cd9660", ...).
func (f *FS) Type() string { return f.mp.FSType }

// ReadOnly reports whether the mount refuses changes.
func (f *FS) ReadOnly() bool { return f.mp.ReadOnly() }

// MountPoint gives the kernel mount, for callers that need vnodes (p2k).
func (f *FS) MountPoint() *kern.MountPoint { return f.mp }

// Proc gives the process the methods run as, for raw syscalls.
func (f *FS) Proc() *kern.Proc { return f.p }

// perr builds the error of an os-style method.
func (f *FS) perr(op, p string, err error) error {
	if err == nil {
		return nil
	}
	return &fs.PathError{Op: op, Path: f.image + ": " + p, Err: err}
}

// lerr builds the error of a two-path method.
func (f *FS) lerr(op, oldp, newp string, err error) error {
	if err == nil {
		return nil
	}
	return &os.LinkError{Op: op, Old: f.image + ": " + oldp, New: newp, Err: err}
}

// Message renders an error from this package without its operation, as
// cmd/ukfs prints it: "disk.img: /etc/passwd: no such file or directory".
func Message(err error) string {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return pe.Path + ": " + pe.Err.Error()
	case errors.As(err, &le):
		return le.Old + " -> " + le.New + ": " + le.Err.Error()
	}
	return err.Error()
}

// fsName checks an io/fs name and turns it into an absolute path.
func fsName(op, name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return "/", nil
	}
	return "/" + name, nil
}

// baseName is the name a FileInfo reports for p.
func baseName(p string) string {
	t := strings.TrimRight(p, "/")
	if t == "" {
		if p == "" {
			return "."
		}
		return "/"
	}
	return path.Base(t)
}

// Stat returns the attributes of name, following symlinks.
func (f *FS) Stat(name string) (fs.FileInfo, error) {
	a, err := f.p.Stat(name)
	if err != nil {
		return nil, f.perr("stat", name, err)
	}
	return newInfo(baseName(name), &a), nil
}

// Lstat returns the attributes of name without following a final symlink.
func (f *FS) Lstat(name string) (fs.FileInfo, error) {
	a, err := f.p.Lstat(name)
	if err != nil {
		return nil, f.perr("lstat", name, err)
	}
	return newInfo(baseName(name), &a), nil
}

// Open opens an io/fs name for reading; the result is a *File.
func (f *FS) Open(name string) (fs.File, error) {
	p, err := fsName("open", name)
	if err != nil {
		return nil, err
	}
	fd, err := f.p.Open(p, syscall.O_RDONLY, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &File{fsys: f, fd: fd, name: name, path: p, base: path.Base(name)}, nil
}

// ReadFile reads a whole file named in io/fs form.
func (f *FS) ReadFile(name string) ([]byte, error) {
	p, err := fsName("readfile", name)
	if err != nil {
		return nil, err
	}
	return f.readFile(p, name)
}

func (f *FS) readFile(p, name string) ([]byte, error) {
	fd, err := f.p.Open(p, syscall.O_RDONLY, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	defer f.p.Close(fd)
	var buf []byte
	if a, err := f.p.Fstat(fd); err == nil && a.Size < 1<<30 {
		buf = make([]byte, 0, a.Size+1)
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := f.p.Read(fd, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: name, Err: err}
		}
		if n == 0 {
			return buf, nil
		}
	}
}

// ReadLink returns a symlink's target (fs.ReadLinkFS).
func (f *FS) ReadLink(name string) (string, error) { return f.Readlink(name) }

// ReadDir lists a directory sorted by name, without "." and "..".
func (f *FS) ReadDir(name string) ([]fs.DirEntry, error) {
	fd, err := f.p.Open(name, syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		return nil, f.perr("open", name, err)
	}
	d := &File{fsys: f, fd: fd, name: name, path: name, base: baseName(name)}
	defer d.Close()
	ents, err := d.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	sortEntries(ents)
	return ents, nil
}

// OpenFile opens path with os.O_* flags, creating it with perm (less the
// umask) if O_CREATE is given.
func (f *FS) OpenFile(name string, flag int, perm fs.FileMode) (*File, error) {
	fd, err := f.p.Open(name, flag|syscall.O_CLOEXEC, UnixMode(perm)&07777)
	if err != nil {
		return nil, f.perr("open", name, err)
	}
	return &File{fsys: f, fd: fd, name: f.image + ": " + name, path: name, base: baseName(name)}, nil
}

// OpenPath opens path read-only, as os.Open (Open is the io/fs method).
func (f *FS) OpenPath(name string) (*File, error) { return f.OpenFile(name, os.O_RDONLY, 0) }

// Create creates or truncates path for reading and writing, mode 0666
// less the umask, as os.Create.
func (f *FS) Create(name string) (*File, error) {
	return f.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0666)
}

// ReadFileAt reads a whole file by os-style path.
func (f *FS) ReadFileAt(name string) ([]byte, error) {
	b, err := f.readFile(name, name)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, f.perr(pe.Op, name, pe.Err)
		}
	}
	return b, err
}

// WriteFile writes data to path, creating it with perm or truncating it.
func (f *FS) WriteFile(name string, data []byte, perm fs.FileMode) error {
	w, err := f.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	if err1 := w.Close(); err == nil {
		err = err1
	}
	return err
}

// Mkdir makes a directory.
func (f *FS) Mkdir(name string, perm fs.FileMode) error {
	return f.perr("mkdir", name, f.p.Mkdir(name, UnixMode(perm)&07777))
}

// MkdirAll makes a directory and any missing parents, as os.MkdirAll.
func (f *FS) MkdirAll(name string, perm fs.FileMode) error {
	if a, err := f.p.Stat(name); err == nil {
		if a.IsDir() {
			return nil
		}
		return f.perr("mkdir", name, syscall.ENOTDIR)
	}
	t := strings.TrimRight(name, "/")
	if i := strings.LastIndexByte(t, '/'); i > 0 {
		if err := f.MkdirAll(t[:i], perm); err != nil {
			return err
		}
	}
	err := f.p.Mkdir(name, UnixMode(perm)&07777)
	if err == syscall.EEXIST {
		if a, serr := f.p.Stat(name); serr == nil && a.IsDir() {
			return nil
		}
	}
	return f.perr("mkdir", name, err)
}

// Remove removes a file or an empty directory, as os.Remove.
func (f *FS) Remove(name string) error {
	err := f.p.Unlink(name)
	if err == nil {
		return nil
	}
	err1 := f.p.Rmdir(name)
	if err1 == nil {
		return nil
	}
	// Report the error that fits what name is, as os.Remove does.
	if err1 != syscall.ENOTDIR {
		err = err1
	}
	return f.perr("remove", name, err)
}

// RemoveAll removes name and everything under it; a missing name is not
// an error, as os.RemoveAll.
func (f *FS) RemoveAll(name string) error {
	a, err := f.p.Lstat(name)
	if err == syscall.ENOENT {
		return nil
	}
	if err != nil {
		return f.perr("unlinkat", name, err)
	}
	if !a.IsDir() {
		return f.perr("unlinkat", name, f.p.Unlink(name))
	}
	ents, err := f.ReadDir(name)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := f.RemoveAll(strings.TrimRight(name, "/") + "/" + e.Name()); err != nil {
			return err
		}
	}
	return f.perr("unlinkat", name, f.p.Rmdir(name))
}

// Rename moves oldpath to newpath.
func (f *FS) Rename(oldpath, newpath string) error {
	return f.lerr("rename", oldpath, newpath, f.p.Rename(oldpath, newpath))
}

// Link makes newpath a hard link to oldpath.
func (f *FS) Link(oldpath, newpath string) error {
	return f.lerr("link", oldpath, newpath, f.p.Link(oldpath, newpath))
}

// Symlink makes newpath a symbolic link to target.
func (f *FS) Symlink(target, newpath string) error {
	err := f.p.Symlink(target, newpath)
	if err != nil {
		return &os.LinkError{Op: "symlink", Old: target, New: f.image + ": " + newpath, Err: err}
	}
	return nil
}

// Readlink returns a symlink's target.
func (f *FS) Readlink(name string) (string, error) {
	s, err := f.p.Readlink(name)
	return s, f.perr("readlink", name, err)
}

// Chmod changes the mode bits (permissions, setuid, setgid, sticky).
func (f *FS) Chmod(name string, mode fs.FileMode) error {
	return f.perr("chmod", name, f.p.Chmod(name, UnixMode(mode)&07777))
}

// Chflags sets the BSD file flags (UF_*, SF_*; Stat.Flags) of name,
// following a final symlink, as chflags(2). A file system keeps the
// flags its format has (FFS all, ext2 immutable/append/nodump, FAT
// archive/hidden/system) and drops the others: compare with Stat.
func (f *FS) Chflags(name string, flags uint32) error {
	return f.perr("chflags", name, f.p.Chflags(name, flags))
}

// Lchflags is Chflags on a symlink itself.
func (f *FS) Lchflags(name string, flags uint32) error {
	return f.perr("lchflags", name, f.p.Lchflags(name, flags))
}

// Chown changes owner and group; -1 leaves one unchanged.
func (f *FS) Chown(name string, uid, gid int) error {
	return f.perr("chown", name, f.p.Chown(name, uid, gid))
}

// Lchown changes the owner of a symlink itself.
func (f *FS) Lchown(name string, uid, gid int) error {
	return f.perr("lchown", name, f.p.Lchown(name, uid, gid))
}

// Chtimes sets access and modification times; a zero time leaves that
// time unchanged, as os.Chtimes.
func (f *FS) Chtimes(name string, atime, mtime time.Time) error {
	ts := func(t time.Time) kern.Timespec {
		if t.IsZero() {
			return kern.UtimeOmit
		}
		return kern.Timespec{Time: t}
	}
	return f.perr("chtimes", name, f.p.Utimes(name, ts(atime), ts(mtime)))
}

// Lchtimes is Chtimes on a symlink itself.
func (f *FS) Lchtimes(name string, atime, mtime time.Time) error {
	ts := func(t time.Time) kern.Timespec {
		if t.IsZero() {
			return kern.UtimeOmit
		}
		return kern.Timespec{Time: t}
	}
	return f.perr("lchtimes", name, f.p.Lutimes(name, ts(atime), ts(mtime)))
}

// Truncate changes the size of a regular file.
func (f *FS) Truncate(name string, size int64) error {
	return f.perr("truncate", name, f.p.Truncate(name, size))
}

// Mknod makes a special file; mode holds the S_IFMT type and permission
// bits (unix values), rdev the device number (unix.Mkdev encoding).
func (f *FS) Mknod(name string, mode uint32, rdev uint64) error {
	return f.perr("mknod", name, f.p.Mknod(name, mode, rdev))
}

// Chdir changes the working directory for relative paths.
func (f *FS) Chdir(name string) error {
	return f.perr("chdir", name, f.p.Chdir(name))
}

// Getxattr returns an extended attribute's value.
func (f *FS) Getxattr(name, attr string) ([]byte, error) {
	v, err := f.p.Getxattr(name, attr)
	return v, f.perr("getxattr", name, err)
}

// Listxattr lists extended attribute names.
func (f *FS) Listxattr(name string) ([]string, error) {
	v, err := f.p.Listxattr(name)
	return v, f.perr("listxattr", name, err)
}

// Setxattr sets an extended attribute (flags: 0, XATTR_CREATE 1,
// XATTR_REPLACE 2).
func (f *FS) Setxattr(name, attr string, value []byte, flags int) error {
	return f.perr("setxattr", name, f.p.Setxattr(name, attr, value, flags))
}

// Removexattr removes an extended attribute.
func (f *FS) Removexattr(name, attr string) error {
	return f.perr("removexattr", name, f.p.Removexattr(name, attr))
}

// Statfs returns the file system's usage.
func (f *FS) Statfs() (vfs.StatFS, error) {
	st, err := f.p.Statvfs("/")
	return st, f.perr("statfs", "/", err)
}

// Info describes the file system (type, label, features, clean state).
func (f *FS) Info() vfs.Info { return f.mp.Info() }

// Size is the size in bytes of the image or partition mounted, -1 if
// there is no device.
func (f *FS) Size() int64 { return f.mp.Size() }

// Sync writes everything to the image.
func (f *FS) Sync() error {
	if err := f.p.Sync(); err != nil {
		return fmt.Errorf("%s: sync: %w", f.image, err)
	}
	return nil
}
