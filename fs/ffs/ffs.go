// Package ffs is the Berkeley Fast File System, UFS1 and UFS2, read and
// write, as NetBSD's sys/ufs/ffs and sys/ufs/ufs implement it, with a
// consistency checker in the manner of fsck_ffs (Check).
//
// An FFS volume is a superblock (struct fs, found by NetBSD's search at
// 64 KiB, 8 KiB, 0 or 256 KiB) and a row of cylinder groups. Each group
// holds a copy of the superblock, a cylinder-group block (struct cg: the
// inode-used and fragment-free bitmaps, free-cluster map and counts), an
// inode table and data. Blocks (fs_bsize, 4-64 KiB) divide into 1, 2, 4
// or 8 fragments (fs_fsize); only a file's last direct block may be a run
// of fragments. Inodes (128 bytes in UFS1, 256 in UFS2) hold 12 direct
// and 3 indirect block pointers. Directories are DIRBLKSIZ (512) chunks of
// struct direct entries. The image may be of either byte order (NetBSD's
// FFS_EI); the magic number tells which.
//
// The code is organised as NetBSD's: geom.go (superblock search and
// sanity checks, the fs.h address macros), mount.go (vfsops: mount, sync,
// unmount, statvfs), inode.go (struct inode, bmap, reads), dir.go
// (ufs_lookup and the directory entry code), dirhash.go (UFS_DIRHASH: the
// per-directory name index and free-space map), alloc.go (ffs_alloc: the
// cylinder-group bitmaps and summaries, allocation policy), write.go
// (ffs_balloc, ffs_truncate and the vnode operations that change things),
// fsck.go (the checker). Metadata goes through a dev.Cache of fragment-
// sized blocks; file data goes between the device and the caller in runs
// of physically contiguous blocks. Changes to a mount are serialised by
// one lock; reads share it. A read records the access time without that
// lock, as NetBSD's IN_ACCESS flag does; it reaches the inode lazily, with
// the inode's next write, when the node goes inactive, or at sync (never
// on a read-only or noatime mount).
package ffs

import (
	"github.com/rumpfs/rumpfs/dev"
	"github.com/rumpfs/rumpfs/vfs"
)

func init() { vfs.Register(FS{}) }

// FS is the ffs file-system type.
type FS struct{}

// Name is NetBSD's name for the type.
func (FS) Name() string { return "ffs" }

// Probe reports whether an FFS superblock is found where NetBSD looks.
func (FS) Probe(d dev.Device) bool {
	_, err := findSuperblock(d)
	return err == nil
}

// Mount mounts d.
func (FS) Mount(d dev.Device, args *vfs.MountArgs) (vfs.Mount, error) {
	if args == nil {
		args = &vfs.MountArgs{}
	}
	return mountFS(d, args)
}

// knownOptions are NetBSD mount_ffs's -o options (mount_ffs(8) and the
// generic mount(8) ones that make sense here).
var knownOptions = []string{
	"ro", "rw", "rdonly", "noatime", "atime", "sync", "async", "nodevmtime",
	"force", "nodev", "nosuid", "noexec", "dev", "suid", "exec",
}

type options struct {
	ro, noatime, sync, async, nodevmtime, force bool
}

func parseOptions(o vfs.Options) (options, error) {
	var op options
	if err := o.Check("ffs", knownOptions...); err != nil {
		return op, err
	}
	op.ro = o.Has("ro") || o.Has("rdonly")
	op.noatime = o.Has("noatime") && !o.Has("atime")
	op.sync = o.Has("sync")
	op.async = o.Has("async")
	op.nodevmtime = o.Has("nodevmtime")
	op.force = o.Has("force")
	return op, nil
}
