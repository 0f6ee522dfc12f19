// Command rump_cd9660 mounts an ISO 9660 image (with Rock Ridge and
// Joliet) on a directory through FUSE, as NetBSD's rump_cd9660:
//
//	rump_cd9660 [-f] [-o options] image[%PART%] mountpoint
//
// The mount is always read-only, as NetBSD's mount_cd9660 makes it.
// File-system options (-o): norrip, nojoliet, gens, nocasetrans, maplcase,
// rrcaseins, extatt. See p2k.Daemon for the generic options.
package main

import (
	"os"

	_ "github.com/rumpfs/rumpfs/fs/cd9660"
	"github.com/rumpfs/rumpfs/p2k"
)

func main() {
	os.Exit((&p2k.Daemon{
		FS:       "cd9660",
		ReadOnly: true,
		Usage:    "norrip, nojoliet, gens, nocasetrans, maplcase, rrcaseins, extatt",
	}).Main(os.Args))
}
