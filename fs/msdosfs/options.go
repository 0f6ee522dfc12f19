package msdosfs

import (
	"fmt"
	"strconv"
	"time"

	"github.com/rumpfs/rumpfs/vfs"
)

// mountOpts are the parsed -o options (see the package comment).
type mountOpts struct {
	uid, gid      uint32
	mask, dirmask uint32
	shortNames    bool // -s: ignore and never write long names
	noWin95       bool // -9: also leave long-name entries alone on delete
	gemdos        bool // -G
	loc           *time.Location
	ro            bool
	noatime       bool
	sync          bool
}

var knownOptions = []string{
	"uid", "gid", "mask", "dirmask", "shortnames", "longnames", "nowin95",
	"gemdos", "gmtoff", "utf8", "ro", "rw", "noatime", "sync", "async",
	"nodev", "nosuid", "noexec",
}

func parseOptions(o vfs.Options, uid, gid uint32) (mountOpts, error) {
	mo := mountOpts{uid: uid, gid: gid, mask: 0755, dirmask: 0755, loc: time.Local}
	if err := o.Check("msdos", knownOptions...); err != nil {
		return mo, err
	}
	num := func(k string, base int, max uint64) (uint32, bool, error) {
		v, ok := o.Get(k)
		if !ok {
			return 0, false, nil
		}
		n, err := strconv.ParseUint(v, base, 32)
		if err != nil || n > max {
			return 0, false, fmt.Errorf("msdos: invalid value for option %s: %q", k, v)
		}
		return uint32(n), true, nil
	}
	var err error
	var ok bool
	var n uint32
	if n, ok, err = num("uid", 10, 1<<32-1); err != nil {
		return mo, err
	} else if ok {
		mo.uid = n
	}
	if n, ok, err = num("gid", 10, 1<<32-1); err != nil {
		return mo, err
	} else if ok {
		mo.gid = n
	}
	maskSet := false
	if n, ok, err = num("mask", 8, 0777); err != nil {
		return mo, err
	} else if ok {
		mo.mask, mo.dirmask, maskSet = n, n, true
	}
	_ = maskSet
	if n, ok, err = num("dirmask", 8, 0777); err != nil {
		return mo, err
	} else if ok {
		mo.dirmask = n
	}
	if v, ok := o.Get("gmtoff"); ok {
		s, err := strconv.ParseInt(v, 10, 32)
		if err != nil || s < -24*3600 || s > 24*3600 {
			return mo, fmt.Errorf("msdos: invalid value for option gmtoff: %q", v)
		}
		mo.loc = time.FixedZone("", int(s))
	}
	if o.Has("shortnames") && o.Has("longnames") {
		return mo, fmt.Errorf("msdos: options shortnames and longnames exclude each other")
	}
	mo.shortNames = o.Has("shortnames") || o.Has("nowin95")
	mo.noWin95 = o.Has("nowin95")
	mo.gemdos = o.Has("gemdos")
	mo.ro = o.Has("ro")
	mo.noatime = o.Has("noatime")
	mo.sync = o.Has("sync")
	return mo, nil
}
