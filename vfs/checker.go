package vfs

import (
	"io"

	"github.com/rumpfs/rumpfs/dev"
)

// Checker may be implemented by a FileSystem that has a consistency
// checker, as NetBSD's fsck_<fs> -n: it examines d read-only, without
// mounting it, writes each problem found to w as one line, ends with one
// summary line, and reports whether the file system is clean. err is for
// failures that stop the check (the device cannot be read); an unusable
// superblock is a problem, not an error. Fronts (`ukfs fsck`) find the
// checker through the registry, so they need not know the file system.
type Checker interface {
	Check(d dev.Device, w io.Writer) (clean bool, err error)
}
