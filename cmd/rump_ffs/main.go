// Command rump_ffs mounts a Berkeley Fast File System image (UFS1 or
// UFS2, little- or big-endian) on a directory through FUSE, read-write, as
// NetBSD's rump_ffs:
//
//	rump_ffs [-f] [-o options] image[%PART%] mountpoint
//
// File-system options (-o), those of NetBSD's mount_ffs: ro, rw, noatime,
// sync, async, nodevmtime and force. force lets -o ro mount an image whose
// soft-updates journal (SU+J) or WAPBL log was not replayed, warning that
// the view may be stale; such an image is never mounted read-write. The
// daemon consumes force itself as well (for FUSE it means nothing), so it
// is passed on to the file system. A rw mount marks the file system
// not-clean on disk until it is unmounted, as NetBSD does. See p2k.Daemon
// for the generic options and environment.
package main

import (
	"os"

	_ "github.com/rumpfs/rumpfs/fs/ffs"
	"github.com/rumpfs/rumpfs/p2k"
)

func main() {
	os.Exit((&p2k.Daemon{
		FS:          "ffs",
		PassOptions: []string{"force"},
		Usage:       "ro, rw, noatime, sync, async, nodevmtime, force (ro mount of an unreplayed SU+J/WAPBL image)",
	}).Main(os.Args))
}
