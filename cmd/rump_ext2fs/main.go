// Command rump_ext2fs mounts an ext2, ext3 or ext4 image on a directory
// through FUSE, as NetBSD's rump_ext2fs:
//
//	rump_ext2fs [-f] [-o options] image[%PART%] mountpoint
//
// ext2, ext3 and ext4 as mkfs.ext4 makes it mount read-write; a journal
// that needs recovery is replayed first (onto the image, or in memory for
// -o ro). An image with a feature the code cannot write (mmp, bigalloc,
// encrypt, casefold, verity, fast_commit, ...) mounts only with -o ro, and
// a read-write mount of it fails with a message naming the feature.
//
// The -o options are NetBSD mount_ext2fs's: ro, rw, noatime, sync, async,
// nodevmtime and force (mount a file system that is not clean read-write),
// plus those every rumpfs daemon takes (see p2k.Daemon). p2k consumes
// force for the FUSE mount, so it is passed on to fs/ext2fs as well.
package main

import (
	"os"

	_ "github.com/rumpfs/rumpfs/fs/ext2fs"
	"github.com/rumpfs/rumpfs/p2k"
)

func main() {
	os.Exit((&p2k.Daemon{
		FS:          "ext2fs",
		PassOptions: []string{"force"},
		Usage:       "nodevmtime, force (mount a file system that is not clean read-write)",
	}).Main(os.Args))
}
