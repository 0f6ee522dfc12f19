package treetest

import (
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rumpfs/rumpfs/vfs"
)

// Stat is what Compare looks at in a file's attributes.
type Stat struct {
	Mode  uint32 // S_IFMT type bits and permission bits, as st_mode
	Ino   uint64 // 0 if the view cannot tell
	Nlink uint64 // 0 if the view cannot tell
	Uid   uint32
	Gid   uint32
	Size  int64
	Mtime time.Time
	Rdev  uint64 // Linux encoding
	// NoIdentity is set when the view has no inode numbers or owners
	// (a plain io/fs.FS); Compare then skips those checks.
	NoIdentity bool
}

// DirEntry is one name in a directory listing; Ino is the d_ino the
// listing gave (0 if the view has none).
type DirEntry struct {
	Name string
	Ino  uint64
}

// View is a read-only window on a mounted file system. Names are
// slash-separated and relative to the view's root, which is ".".
type View interface {
	Lstat(name string) (Stat, error)
	// ReadDir lists a directory without "." and "..".
	ReadDir(name string) ([]DirEntry, error)
	Readlink(name string) (string, error)
	// Open opens a regular file for reading. If the result implements
	// io.ReaderAt, Compare may check a huge file by sampling.
	Open(name string) (io.ReadCloser, error)
}

// HostView is a View of a host directory, typically a FUSE mountpoint. It
// uses lstat(2) and getdents64(2) directly, so inode numbers and d_ino are
// the ones the kernel reports.
type HostView string

func (h HostView) host(name string) string {
	if name == "." || name == "" {
		return string(h)
	}
	return filepath.Join(string(h), filepath.FromSlash(name))
}

// Lstat stats name without following a final symlink.
func (h HostView) Lstat(name string) (Stat, error) {
	var st unix.Stat_t
	if err := unix.Lstat(h.host(name), &st); err != nil {
		return Stat{}, &fs.PathError{Op: "lstat", Path: name, Err: err}
	}
	return Stat{
		Mode:  st.Mode,
		Ino:   st.Ino,
		Nlink: uint64(st.Nlink),
		Uid:   st.Uid,
		Gid:   st.Gid,
		Size:  st.Size,
		Mtime: time.Unix(st.Mtim.Sec, st.Mtim.Nsec),
		Rdev:  st.Rdev,
	}, nil
}

// ReadDir lists name with getdents64, keeping each entry's d_ino.
func (h HostView) ReadDir(name string) ([]DirEntry, error) {
	fd, err := unix.Open(h.host(name), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	defer unix.Close(fd)
	var out []DirEntry
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Getdents(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "getdents", Path: name, Err: err}
		}
		if n == 0 {
			return out, nil
		}
		ents, err := ParseDirents(buf[:n])
		if err != nil {
			return nil, &fs.PathError{Op: "getdents", Path: name, Err: err}
		}
		for _, e := range ents {
			if e.Name != "." && e.Name != ".." {
				out = append(out, DirEntry{Name: e.Name, Ino: e.Ino})
			}
		}
	}
}

// RawDirent is one linux_dirent64 record.
type RawDirent struct {
	Ino  uint64
	Off  int64 // d_off: the position to seekdir to for the next entry
	Type uint8
	Name string
}

// ParseDirents decodes a getdents64 buffer.
func ParseDirents(b []byte) ([]RawDirent, error) {
	var out []RawDirent
	for len(b) > 0 {
		// struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
		if len(b) < 19 {
			return out, fmt.Errorf("short dirent record (%d bytes)", len(b))
		}
		reclen := int(binary.NativeEndian.Uint16(b[16:18]))
		if reclen < 19 || reclen > len(b) {
			return out, fmt.Errorf("bad d_reclen %d", reclen)
		}
		name := b[19:reclen]
		for i, c := range name {
			if c == 0 {
				name = name[:i]
				break
			}
		}
		out = append(out, RawDirent{
			Ino:  binary.NativeEndian.Uint64(b[0:8]),
			Off:  int64(binary.NativeEndian.Uint64(b[8:16])),
			Type: b[18],
			Name: string(name),
		})
		b = b[reclen:]
	}
	return out, nil
}

// Readlink returns a symlink's text.
func (h HostView) Readlink(name string) (string, error) { return os.Readlink(h.host(name)) }

// Open opens a file read-only.
func (h HostView) Open(name string) (io.ReadCloser, error) { return os.Open(h.host(name)) }

// FSView adapts an io/fs.FS-style file system (the ukfs API, os.DirFS, an
// fstest.MapFS) to a View. It uses, when fsys has them:
//
//	Lstat(name) (fs.FileInfo, error)       (fs.ReadLinkFS; else fs.Stat)
//	ReadLink(name) / Readlink(name) (string, error)
//
// and takes inode numbers, owners and rdev from FileInfo.Sys() when that is
// a *syscall.Stat_t or a *vfs.Attr (or either by value). Without them the
// Stat is marked NoIdentity.
func FSView(fsys fs.FS) View { return fsView{fsys} }

type fsView struct{ fsys fs.FS }

type lstater interface {
	Lstat(name string) (fs.FileInfo, error)
}
type readLinker interface {
	ReadLink(name string) (string, error)
}
type readlinker interface {
	Readlink(name string) (string, error)
}

func (v fsView) Lstat(name string) (Stat, error) {
	var fi fs.FileInfo
	var err error
	if l, ok := v.fsys.(lstater); ok {
		fi, err = l.Lstat(name)
	} else {
		fi, err = fs.Stat(v.fsys, name)
	}
	if err != nil {
		return Stat{}, err
	}
	return StatFromFileInfo(fi), nil
}

// StatFromFileInfo converts a FileInfo, using its Sys() when it is a
// *syscall.Stat_t or *vfs.Attr.
func StatFromFileInfo(fi fs.FileInfo) Stat {
	switch s := fi.Sys().(type) {
	case *syscall.Stat_t:
		return statFromSyscall(s)
	case syscall.Stat_t:
		return statFromSyscall(&s)
	case *vfs.Attr:
		return statFromAttr(s)
	case vfs.Attr:
		return statFromAttr(&s)
	}
	return Stat{
		Mode:       unixMode(fi.Mode()),
		Size:       fi.Size(),
		Mtime:      fi.ModTime(),
		NoIdentity: true,
	}
}

func statFromSyscall(s *syscall.Stat_t) Stat {
	return Stat{
		Mode: s.Mode, Ino: s.Ino, Nlink: uint64(s.Nlink), Uid: s.Uid, Gid: s.Gid,
		Size: s.Size, Mtime: time.Unix(s.Mtim.Sec, s.Mtim.Nsec), Rdev: s.Rdev,
	}
}

func statFromAttr(a *vfs.Attr) Stat {
	return Stat{
		Mode: a.Mode, Ino: a.Ino, Nlink: uint64(a.Nlink), Uid: a.Uid, Gid: a.Gid,
		Size: int64(a.Size), Mtime: a.Mtime, Rdev: a.Rdev,
	}
}

// unixMode converts an fs.FileMode to st_mode bits.
func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	switch m.Type() {
	case fs.ModeDir:
		u |= unix.S_IFDIR
	case fs.ModeSymlink:
		u |= unix.S_IFLNK
	case fs.ModeNamedPipe:
		u |= unix.S_IFIFO
	case fs.ModeSocket:
		u |= unix.S_IFSOCK
	case fs.ModeDevice:
		u |= unix.S_IFBLK
	case fs.ModeDevice | fs.ModeCharDevice:
		u |= unix.S_IFCHR
	case 0:
		u |= unix.S_IFREG
	}
	if m&fs.ModeSetuid != 0 {
		u |= unix.S_ISUID
	}
	if m&fs.ModeSetgid != 0 {
		u |= unix.S_ISGID
	}
	if m&fs.ModeSticky != 0 {
		u |= unix.S_ISVTX
	}
	return u
}

func (v fsView) ReadDir(name string) ([]DirEntry, error) {
	ents, err := fs.ReadDir(v.fsys, name)
	if err != nil {
		return nil, err
	}
	out := make([]DirEntry, 0, len(ents))
	for _, e := range ents {
		if e.Name() == "." || e.Name() == ".." {
			continue
		}
		out = append(out, DirEntry{Name: e.Name()})
	}
	return out, nil
}

func (v fsView) Readlink(name string) (string, error) {
	switch l := v.fsys.(type) {
	case readLinker:
		return l.ReadLink(name)
	case readlinker:
		return l.Readlink(name)
	}
	return "", &fs.PathError{Op: "readlink", Path: name, Err: fmt.Errorf("%T has no ReadLink", v.fsys)}
}

func (v fsView) Open(name string) (io.ReadCloser, error) { return v.fsys.Open(name) }

// Join joins view-relative names ("." is the root).
func Join(dir, name string) string {
	if dir == "." || dir == "" {
		return name
	}
	return path.Join(dir, name)
}
