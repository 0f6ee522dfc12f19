package ukfs

import (
	"errors"
	"io"
	"io/fs"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/rumpfs/rumpfs/vfs"
)

// Stat is what FileInfo.Sys returns: every attribute the file system
// keeps (inode, links, owner, device number, blocks, all four times,
// flags).
type Stat = vfs.Attr

// File is an open file of an image. It implements fs.File,
// fs.ReadDirFile, io.ReaderAt, io.Seeker, io.Writer and io.WriterAt.
type File struct {
	fsys *FS
	fd   int
	name string // as shown in errors
	path string // as opened, for entries' Lstat
	base string // FileInfo name

	closed  bool
	dirDone bool
}

func (f *File) err(op string, err error) error {
	if err == nil {
		return nil
	}
	return &fs.PathError{Op: op, Path: f.name, Err: err}
}

// Name is the name the file was opened with.
func (f *File) Name() string { return f.path }

// Fd is the kernel descriptor, for the raw calls of FS.Proc.
func (f *File) Fd() int { return f.fd }

// Read reads up to len(b) bytes; io.EOF at end of file.
func (f *File) Read(b []byte) (int, error) {
	n, err := f.fsys.p.Read(f.fd, b)
	if err != nil {
		return n, f.err("read", err)
	}
	if n == 0 && len(b) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

// ReadAt reads len(b) bytes at off; fewer only with an error (io.EOF at
// end of file).
func (f *File) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 {
		return 0, f.err("read", syscall.EINVAL)
	}
	done := 0
	for done < len(b) {
		n, err := f.fsys.p.Pread(f.fd, b[done:], off+int64(done))
		done += n
		if err != nil {
			return done, f.err("read", err)
		}
		if n == 0 {
			return done, io.EOF
		}
	}
	return done, nil
}

// Write writes all of b at the file offset.
func (f *File) Write(b []byte) (int, error) {
	done := 0
	for done < len(b) {
		n, err := f.fsys.p.Write(f.fd, b[done:])
		done += n
		if err != nil {
			return done, f.err("write", err)
		}
		if n == 0 {
			return done, f.err("write", io.ErrShortWrite)
		}
	}
	return done, nil
}

// WriteAt writes all of b at off.
func (f *File) WriteAt(b []byte, off int64) (int, error) {
	done := 0
	for done < len(b) {
		n, err := f.fsys.p.Pwrite(f.fd, b[done:], off+int64(done))
		done += n
		if err != nil {
			return done, f.err("write", err)
		}
		if n == 0 {
			return done, f.err("write", io.ErrShortWrite)
		}
	}
	return done, nil
}

// WriteString writes s.
func (f *File) WriteString(s string) (int, error) { return f.Write([]byte(s)) }

// Seek sets the offset for the next Read or Write.
func (f *File) Seek(offset int64, whence int) (int64, error) {
	off, err := f.fsys.p.Lseek(f.fd, offset, whence)
	if err == nil && whence == io.SeekStart && offset == 0 {
		f.dirDone = false
	}
	return off, f.err("seek", err)
}

// Stat returns the file's attributes.
func (f *File) Stat() (fs.FileInfo, error) {
	a, err := f.fsys.p.Fstat(f.fd)
	if err != nil {
		return nil, f.err("stat", err)
	}
	return newInfo(f.base, &a), nil
}

// Truncate changes the file's size.
func (f *File) Truncate(size int64) error {
	return f.err("truncate", f.fsys.p.Ftruncate(f.fd, size))
}

// Chmod changes the file's mode bits.
func (f *File) Chmod(mode fs.FileMode) error {
	return f.err("chmod", f.fsys.p.Fchmod(f.fd, UnixMode(mode)&07777))
}

// Chown changes the file's owner and group (-1 leaves one unchanged).
func (f *File) Chown(uid, gid int) error {
	return f.err("chown", f.fsys.p.Fchown(f.fd, uid, gid))
}

// Sync flushes the file to the image.
func (f *File) Sync() error { return f.err("sync", f.fsys.p.Fsync(f.fd)) }

// Close closes the file.
func (f *File) Close() error {
	if f.closed {
		return f.err("close", fs.ErrClosed)
	}
	f.closed = true
	return f.err("close", f.fsys.p.Close(f.fd))
}

// ReadDir reads the directory's entries ("." and ".." left out) in
// directory order, as fs.ReadDirFile: with n > 0 at most n, and io.EOF
// when none are left; with n <= 0 all that remain.
func (f *File) ReadDir(n int) ([]fs.DirEntry, error) {
	var out []fs.DirEntry
	for !f.dirDone && (n <= 0 || len(out) < n) {
		want := 0
		if n > 0 {
			want = n - len(out)
		}
		ents, err := f.fsys.p.Getdents(f.fd, want)
		if err != nil {
			return out, f.err("readdirent", err)
		}
		if len(ents) == 0 {
			f.dirDone = true
			break
		}
		for _, e := range ents {
			if e.Name == "." || e.Name == ".." {
				continue
			}
			out = append(out, &dirEntry{fsys: f.fsys, dir: f.path, d: e})
		}
	}
	if n > 0 && len(out) == 0 {
		return nil, io.EOF
	}
	return out, nil
}

// Readdirnames lists entry names, as os.File.Readdirnames.
func (f *File) Readdirnames(n int) ([]string, error) {
	ents, err := f.ReadDir(n)
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	return names, err
}

func sortEntries(ents []fs.DirEntry) {
	slices.SortFunc(ents, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
}

type dirEntry struct {
	fsys *FS
	dir  string
	d    vfs.Dirent
	info fs.FileInfo
}

func (e *dirEntry) Name() string { return e.d.Name }
func (e *dirEntry) IsDir() bool  { return e.Type().IsDir() }

func (e *dirEntry) Type() fs.FileMode {
	if e.d.Type == vfs.DT_UNKNOWN {
		if fi, err := e.Info(); err == nil {
			return fi.Mode().Type()
		}
		return 0
	}
	return FileMode(uint32(e.d.Type)<<12) & fs.ModeType
}

func (e *dirEntry) Info() (fs.FileInfo, error) {
	if e.info != nil {
		return e.info, nil
	}
	p := strings.TrimRight(e.dir, "/") + "/" + e.d.Name
	if e.dir == "" || e.dir == "." {
		p = e.d.Name
	}
	a, err := e.fsys.p.Lstat(p)
	if err != nil {
		return nil, e.fsys.perr("lstat", p, err)
	}
	e.info = newInfo(e.d.Name, &a)
	return e.info, nil
}

func (e *dirEntry) String() string { return fs.FormatDirEntry(e) }

// fileInfo is an fs.FileInfo over a vfs.Attr.
type fileInfo struct {
	name string
	a    vfs.Attr
}

func newInfo(name string, a *vfs.Attr) *fileInfo { return &fileInfo{name: name, a: *a} }

func (i *fileInfo) Name() string       { return i.name }
func (i *fileInfo) Size() int64        { return int64(i.a.Size) }
func (i *fileInfo) Mode() fs.FileMode  { return FileMode(i.a.Mode) }
func (i *fileInfo) ModTime() time.Time { return i.a.Mtime }
func (i *fileInfo) IsDir() bool        { return i.a.IsDir() }
func (i *fileInfo) Sys() any           { a := i.a; return &a }
func (i *fileInfo) String() string     { return fs.FormatFileInfo(i) }

// FileMode converts a unix mode (S_IFMT type and permission bits) to an
// fs.FileMode.
func FileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0777)
	switch m & vfs.S_IFMT {
	case vfs.S_IFDIR:
		mode |= fs.ModeDir
	case vfs.S_IFLNK:
		mode |= fs.ModeSymlink
	case vfs.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case vfs.S_IFSOCK:
		mode |= fs.ModeSocket
	case vfs.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case vfs.S_IFBLK:
		mode |= fs.ModeDevice
	case vfs.S_IFREG:
	default:
		mode |= fs.ModeIrregular
	}
	if m&vfs.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&vfs.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&vfs.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// UnixMode converts an fs.FileMode to unix mode bits (type and
// permissions).
func UnixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	switch {
	case m&fs.ModeDir != 0:
		u |= vfs.S_IFDIR
	case m&fs.ModeSymlink != 0:
		u |= vfs.S_IFLNK
	case m&fs.ModeNamedPipe != 0:
		u |= vfs.S_IFIFO
	case m&fs.ModeSocket != 0:
		u |= vfs.S_IFSOCK
	case m&fs.ModeCharDevice != 0:
		u |= vfs.S_IFCHR
	case m&fs.ModeDevice != 0:
		u |= vfs.S_IFBLK
	}
	if m&fs.ModeSetuid != 0 {
		u |= vfs.S_ISUID
	}
	if m&fs.ModeSetgid != 0 {
		u |= vfs.S_ISGID
	}
	if m&fs.ModeSticky != 0 {
		u |= vfs.S_ISVTX
	}
	return u
}

// IsNotExist and friends are errors.Is shorthands for this package's
// errors.
func IsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
