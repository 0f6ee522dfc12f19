// Package vfs is the interface between file systems and the kernel above
// them, modelled on NetBSD's vnode layer.
//
// A file system registers a FileSystem (its vfsops: probe and mount). A
// mounted file system is a Mount; each file in it is a Vnode. The Vnode
// interface holds the operations every file system supports, read-only ones
// included (getattr, lookup, readdir, read, readlink). Changing operations
// are small optional interfaces (Writer, Creator, Remover, ...) in the style
// of go-fuse's fs package: a read-only file system simply does not implement
// them, and the VOP_* helpers in vops.go answer EROFS or EOPNOTSUPP for it.
//
// Errors crossing this boundary are syscall.Errno values (ENOENT, EIO, ...);
// Mount errors are ordinary wrapped errors that name the file system.
//
// Vnodes are reference counted as in NetBSD: every Vnode returned to a caller
// (by Root, Lookup, Create, Mkdir, Mknod, Symlink) carries one reference that
// the caller gives back with Rele. When the last reference goes, the file
// system may drop its in-memory inode and, if the file was unlinked, free it
// on disk (VOP_INACTIVE + VOP_RECLAIM). VCache implements that bookkeeping
// for file systems that want it.
package vfs

import (
	"syscall"
	"time"

	"github.com/rumpfs/rumpfs/dev"
)

// File types, as the S_IFMT bits of Attr.Mode (the Linux/NetBSD values).
const (
	S_IFMT   = syscall.S_IFMT
	S_IFIFO  = syscall.S_IFIFO
	S_IFCHR  = syscall.S_IFCHR
	S_IFDIR  = syscall.S_IFDIR
	S_IFBLK  = syscall.S_IFBLK
	S_IFREG  = syscall.S_IFREG
	S_IFLNK  = syscall.S_IFLNK
	S_IFSOCK = syscall.S_IFSOCK
	S_ISUID  = syscall.S_ISUID
	S_ISGID  = syscall.S_ISGID
	S_ISVTX  = syscall.S_ISVTX
)

// Limits the layers above rely on.
const (
	NameMax = 255  // longest path component in bytes, as NetBSD's NAME_MAX
	PathMax = 1024 // longest path handed to namei, as NetBSD's MAXPATHLEN
	MaxLoop = 32   // symlinks followed in one lookup before ELOOP (MAXSYMLINKS)
)

// Attr is a vnode's attributes (NetBSD's struct vattr).
type Attr struct {
	Ino     uint64 // the file system's own inode number
	Gen     uint64 // generation number, for NFS-style file handles
	Mode    uint32 // S_IFMT type bits and permission bits
	Nlink   uint32
	Uid     uint32
	Gid     uint32
	Rdev    uint64 // device number for S_IFCHR/S_IFBLK, Linux encoding (unix.Mkdev)
	Size    uint64
	Blocks  uint64 // space used in 512-byte units
	Blksize uint32 // preferred I/O size
	Atime   time.Time
	Mtime   time.Time
	Ctime   time.Time
	Btime   time.Time // birth time; zero where the format has none
	Flags   uint32    // BSD file flags (UF_*, SF_*), 0 where the format has none
}

// Type returns the S_IFMT bits of the mode.
func (a *Attr) Type() uint32 { return a.Mode & S_IFMT }

// IsDir reports whether the vnode is a directory.
func (a *Attr) IsDir() bool { return a.Mode&S_IFMT == S_IFDIR }

// SetAttrMask says which fields of a SetAttr are to be changed.
type SetAttrMask uint32

const (
	SetMode SetAttrMask = 1 << iota
	SetUid
	SetGid
	SetSize
	SetAtime
	SetMtime
	SetFlags
)

// SetAttr is the argument of VOP_SETATTR. Only the fields named in Valid are
// changed; the file system sets ctime itself.
type SetAttr struct {
	Valid SetAttrMask
	Mode  uint32 // permission bits only (07777)
	Uid   uint32
	Gid   uint32
	Size  uint64
	Atime time.Time
	Mtime time.Time
	Flags uint32
}

// Cred is the identity an operation runs with (NetBSD's kauth_cred_t).
type Cred struct {
	Uid    uint32
	Gid    uint32
	Groups []uint32 // supplementary groups
}

// RootCred is the super-user.
var RootCred = &Cred{}

// IsRoot reports whether c is the super-user.
func (c *Cred) IsRoot() bool { return c.Uid == 0 }

// InGroup reports whether gid is c's primary or a supplementary group.
func (c *Cred) InGroup(gid uint32) bool {
	if c.Gid == gid {
		return true
	}
	for _, g := range c.Groups {
		if g == gid {
			return true
		}
	}
	return false
}

// Directory entry types (the DT_* values of dirent(5)).
const (
	DT_UNKNOWN = 0
	DT_FIFO    = 1
	DT_CHR     = 2
	DT_DIR     = 4
	DT_BLK     = 6
	DT_REG     = 8
	DT_LNK     = 10
	DT_SOCK    = 12
	DT_WHT     = 14
)

// DTType maps S_IFMT bits to a DT_* value.
func DTType(mode uint32) uint8 {
	return uint8((mode & S_IFMT) >> 12)
}

// Dirent is one directory entry returned by Readdir.
type Dirent struct {
	Name string
	Ino  uint64
	Type uint8 // DT_*; DT_UNKNOWN if the format does not record it
	// Next is the cookie that resumes the listing just after this entry. It
	// must stay valid across other readdir calls and across changes to the
	// directory that do not remove this entry (NetBSD's seek cookies).
	Next uint64
}

// StatFS is the answer of VFS_STATVFS.
type StatFS struct {
	Bsize   uint32 // file system block size
	Frsize  uint32 // fundamental unit of Blocks/Bfree/Bavail
	Blocks  uint64
	Bfree   uint64 // free units, reserved ones included
	Bavail  uint64 // free units available to non-root
	Files   uint64
	Ffree   uint64
	Namemax uint32
}

// Info describes a mounted file system for `ukfs info`.
type Info struct {
	Type     string   // registry name: "cd9660", "ext2fs", ...
	Label    string   // volume label, "" if none
	UUID     string   // "" if the format has none
	Features []string // on-disk features found, in the format's own names
	Clean    bool     // clean-unmount state on disk (true for read-only formats)
	Extra    []KV     // anything else worth showing, in display order
}

// KV is a named value shown by `ukfs info`.
type KV struct{ Key, Value string }

// MountArgs are handed to FileSystem.Mount.
type MountArgs struct {
	// ReadOnly asks for a read-only mount. A device opened read-only always
	// gives a read-only mount.
	ReadOnly bool
	// Options are the -o options the generic layer did not consume, plus
	// file-system flags translated by the daemon (msdos -u becomes "uid" ...).
	// The file system rejects any it does not know with a named error.
	Options Options
	// Flags are the generic options the kernel layer consumed (noatime,
	// sync, async, nodevmtime, nosuid, ...): NetBSD's mnt_flag, which a
	// file system may read too (ext2fs honours MNT_NOATIME and
	// MNT_SYNCHRONOUS itself). nil when there are none.
	Flags Options
	// Now is the clock for timestamps; nil means time.Now.
	Now func() time.Time
	// Logf reports warnings (a dirty volume mounted, a feature ignored).
	// nil means discard.
	Logf func(format string, args ...any)
}

// Clock returns the mount's clock.
func (a *MountArgs) Clock() func() time.Time {
	if a.Now != nil {
		return a.Now
	}
	return time.Now
}

// Warnf logs a warning if a logger was given.
func (a *MountArgs) Warnf(format string, args ...any) {
	if a.Logf != nil {
		a.Logf(format, args...)
	}
}

// FileSystem is a file-system type in the registry (NetBSD's vfsops).
type FileSystem interface {
	// Name is the registry name, the NetBSD one: "cd9660", "ext2fs",
	// "msdos", "ffs".
	Name() string
	// Probe reports whether d plausibly holds this file system. It reads at
	// most a few blocks and must not fail on any input.
	Probe(d dev.Device) bool
	// Mount mounts d. A refused image gives an error that names the file
	// system and what is wrong.
	Mount(d dev.Device, args *MountArgs) (Mount, error)
}

// Mount is a mounted file system.
type Mount interface {
	// Root returns the root directory, with one reference.
	Root() (Vnode, error)
	Statfs() (StatFS, error)
	// Sync writes every dirty buffer and metadata to the device and syncs it.
	Sync() error
	// Unmount syncs, marks the file system clean and releases it. After
	// Unmount no Vnode of this mount may be used. It does not close the
	// device.
	Unmount() error
	// ReadOnly reports whether the mount refuses changes.
	ReadOnly() bool
	Info() Info
}

// Vnode is a file, directory or other object in a mounted file system.
// Operations that a vnode's type does not support return ENOTDIR, EISDIR or
// EINVAL as POSIX says. Permission checks are not the file system's job: the
// layers above check with Access before calling (as NetBSD's VOP_ACCESS
// comes before the operation), so a Vnode method acts for whoever calls it.
type Vnode interface {
	Getattr() (Attr, error)
	// Lookup finds name in this directory. name is never "" and contains no
	// '/'; "." and ".." are handled by the file system (".." of the root is
	// the root). The result carries one reference.
	Lookup(name string) (Vnode, error)
	// Readdir calls fn for each entry from cookie on (0 is the start) until
	// fn returns false or the directory ends. "." and ".." are included.
	Readdir(cookie uint64, fn func(Dirent) bool) error
	// Read reads file data at off; at or past EOF it returns 0, nil.
	Read(p []byte, off int64) (int, error)
	Readlink() (string, error)
	// Rele gives back one reference.
	Rele()
}

// Writer writes file data, growing the file as needed.
type Writer interface {
	Write(p []byte, off int64) (int, error)
}

// CredWriter is a Writer that also takes the credentials the file was
// opened with, as NetBSD's VOP_WRITE carries the opener's kauth_cred_t
// (vn_write passes fp->f_cred): FFS judges its minfree reserve by them
// rather than by the file's owner. Optional; VOP_WRITECRED falls back to
// Write.
type CredWriter interface {
	WriteCred(cred *Cred, p []byte, off int64) (int, error)
}

// CredSetattrer is a Setattrer that also takes the caller's credentials
// (NetBSD's VOP_SETATTR carries a kauth_cred_t; ftruncate passes the
// opener's fp->f_cred): FFS judges its minfree reserve by them when a
// truncate that extends the file grows its last fragment. Optional;
// VOP_SETATTRCRED falls back to Setattr.
type CredSetattrer interface {
	SetattrCred(cred *Cred, sa *SetAttr) error
}

// Setattrer changes attributes (chmod, chown, truncate, utimes, chflags).
type Setattrer interface {
	Setattr(sa *SetAttr) error
}

// Creator makes a new regular file in a directory; the result carries one
// reference. mode holds permission bits only (already masked by umask).
// EEXIST if name exists.
type Creator interface {
	Create(cred *Cred, name string, mode uint32) (Vnode, error)
}

// Mknoder makes a device node, fifo or socket; mode includes S_IFMT.
type Mknoder interface {
	Mknod(cred *Cred, name string, mode uint32, rdev uint64) (Vnode, error)
}

// Mkdirer makes a directory.
type Mkdirer interface {
	Mkdir(cred *Cred, name string, mode uint32) (Vnode, error)
}

// Symlinker makes a symbolic link to target.
type Symlinker interface {
	Symlink(cred *Cred, name, target string) (Vnode, error)
}

// Linker makes a hard link called name in this directory to target, which
// belongs to the same mount and is not a directory.
type Linker interface {
	Link(name string, target Vnode) error
}

// Remover removes names from a directory: Remove for non-directories
// (EISDIR/EPERM for a directory), Rmdir for empty directories (ENOTEMPTY).
type Remover interface {
	Remove(name string) error
	Rmdir(name string) error
}

// Renamer moves oldName in this directory to newName in newDir (a vnode of
// the same mount), replacing a compatible target atomically. The file system
// checks type compatibility (EISDIR, ENOTDIR, ENOTEMPTY) and that a
// directory is not moved under itself (EINVAL).
type Renamer interface {
	Rename(oldName string, newDir Vnode, newName string) error
}

// Fsyncer flushes one file's data (and metadata unless dataOnly).
type Fsyncer interface {
	Fsync(dataOnly bool) error
}

// Xattrer reads extended attributes. Names carry their namespace prefix as
// on Linux ("user.foo", "trusted.bar"); a missing one is ENODATA.
type Xattrer interface {
	Getxattr(name string) ([]byte, error)
	Listxattr() ([]string, error)
}

// XattrSetter changes extended attributes. flags are XATTR_CREATE/REPLACE.
type XattrSetter interface {
	Setxattr(name string, value []byte, flags int) error
	Removexattr(name string) error
}

// Opener is told when a front opens and closes a file, for file systems that
// keep per-open state. Most do not need it: references already keep an
// unlinked file alive.
type Opener interface {
	Open(flags int) error
	Close() error
}
