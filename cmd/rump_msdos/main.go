// Command rump_msdos mounts a FAT12, FAT16 or FAT32 image (with VFAT long
// names) on a directory through FUSE, read-write, as NetBSD's rump_msdos:
//
//	rump_msdos [-9Gls] [-g gid] [-M mask] [-m mask] [-o options]
//	           [-t gmtoff] [-u uid] image[%PART%] mountpoint
//
// The flags are NetBSD mount_msdos's. -u and -g take a user or group name
// or a number; -m and -M take an octal mask. As in mount_msdos, -m alone
// sets the directory mask too and -M alone the file mask too, and whatever
// of owner, group and mask is not given is taken from the mount point
// (its owner, group and permission bits). -t is the offset of the volume's
// local time from UTC in seconds (default: the host's time zone).
//
// Long names are always UTF-8 here: -U (mount_msdos's UTF-8 switch) is
// accepted and changes nothing. The -o options are ro, rw, noatime, sync,
// async and those every rumpfs daemon takes (see p2k.Daemon); the flags
// become fs/msdosfs's mount options (uid, gid, mask, dirmask, shortnames,
// longnames, nowin95, gemdos, gmtoff, utf8).
package main

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"

	_ "github.com/rumpfs/rumpfs/fs/msdosfs"
	"github.com/rumpfs/rumpfs/p2k"
	"github.com/rumpfs/rumpfs/vfs"
)

// flags are mount_msdos's, each mapped to fs/msdosfs's option key.
var flags = []p2k.OptionFlag{
	{Name: "uid", Shorthand: "u", Option: "uid", Arg: "uid",
		Usage: "owner of all files: a user name or number (default: the mount point's owner)"},
	{Name: "gid", Shorthand: "g", Option: "gid", Arg: "gid",
		Usage: "group of all files: a group name or number (default: the mount point's group)"},
	{Name: "mask", Shorthand: "m", Option: "mask", Arg: "mask",
		Usage: "octal permission mask of files, and of directories unless -M (default: the mount point's mode)"},
	{Name: "dirmask", Shorthand: "M", Option: "dirmask", Arg: "mask",
		Usage: "octal permission mask of directories, and of files unless -m"},
	{Name: "shortnames", Shorthand: "s", Option: "shortnames",
		Usage: "ignore long names: show 8.3 names (lower case) and create short names only"},
	{Name: "longnames", Shorthand: "l", Option: "longnames",
		Usage: "use long names (the default)"},
	{Name: "nowin95", Shorthand: "9", Option: "nowin95",
		Usage: "ignore Windows 95 long-name entries and leave them untouched"},
	{Name: "gemdos", Shorthand: "G", Option: "gemdos",
		Usage: "Atari GEMDOS volume (no boot signature; FAT12/16)"},
	{Name: "gmtoff", Shorthand: "t", Option: "gmtoff", Arg: "gmtoff",
		Usage: "timestamps are local time at gmtoff seconds east of UTC (default: the host's zone)"},
	{Name: "utf8", Shorthand: "U", Option: "utf8",
		Usage: "long names in UTF-8: always so in rumpfs, accepted for compatibility"},
}

func main() {
	os.Exit((&p2k.Daemon{
		FS:          "msdos",
		Flags:       flags,
		Adjust:      adjust,
		AdjustMount: fromMountPoint,
		Usage:       "uid, gid, mask, dirmask, shortnames, longnames, nowin95, gemdos, gmtoff, utf8 (as the flags)",
	}).Main(os.Args))
}

// adjust checks the flag values and resolves names, as mount_msdos's
// a_uid, a_gid and a_mask do: a name is looked up first, then a number is
// accepted; a mask is octal.
func adjust(o vfs.Options) error {
	if v, ok := o.Get("uid"); ok {
		id, err := lookupID(v, "user", func(s string) (string, error) {
			u, err := user.Lookup(s)
			if err != nil {
				return "", err
			}
			return u.Uid, nil
		})
		if err != nil {
			return err
		}
		o["uid"] = id
	}
	if v, ok := o.Get("gid"); ok {
		id, err := lookupID(v, "group", func(s string) (string, error) {
			g, err := user.LookupGroup(s)
			if err != nil {
				return "", err
			}
			return g.Gid, nil
		})
		if err != nil {
			return err
		}
		o["gid"] = id
	}
	for _, k := range []string{"mask", "dirmask"} {
		if v, ok := o.Get(k); ok {
			m, err := strconv.ParseUint(v, 8, 32)
			if err != nil || m > 0777 {
				return fmt.Errorf("invalid %s %q: want an octal mode of at most 0777", k, v)
			}
			o[k] = fmt.Sprintf("%o", m)
		}
	}
	// mount_msdos: either mask alone stands for both.
	mask, hasMask := o.Get("mask")
	dirmask, hasDirmask := o.Get("dirmask")
	switch {
	case hasMask && !hasDirmask:
		o["dirmask"] = mask
	case hasDirmask && !hasMask:
		o["mask"] = dirmask
	}
	if v, ok := o.Get("gmtoff"); ok {
		if _, err := strconv.ParseInt(v, 10, 32); err != nil {
			return fmt.Errorf("invalid gmtoff %q: want seconds east of UTC", v)
		}
	}
	return nil
}

// lookupID resolves a user or group name to its number; a string of
// digits that names nobody is taken as the number itself.
func lookupID(v, what string, lookup func(string) (string, error)) (string, error) {
	if v == "" {
		return "", fmt.Errorf("empty %s", what)
	}
	if id, err := lookup(v); err == nil {
		return id, nil
	}
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		return strconv.FormatUint(n, 10), nil
	}
	return "", fmt.Errorf("unknown %s %q", what, v)
}

// fromMountPoint fills in the owner, group and mask not given from the
// mount point, as mount_msdos does (the mask from its permission bits).
func fromMountPoint(o vfs.Options, image, mnt string) error {
	if o.Has("uid") && o.Has("gid") && o.Has("mask") {
		return nil
	}
	var st syscall.Stat_t
	if err := syscall.Stat(mnt, &st); err != nil {
		return fmt.Errorf("stat %s: %v", mnt, err)
	}
	if !o.Has("uid") {
		o["uid"] = strconv.FormatUint(uint64(st.Uid), 10)
	}
	if !o.Has("gid") {
		o["gid"] = strconv.FormatUint(uint64(st.Gid), 10)
	}
	if !o.Has("mask") {
		m := strconv.FormatUint(uint64(st.Mode&0777), 8)
		o["mask"], o["dirmask"] = m, m
	}
	return nil
}
