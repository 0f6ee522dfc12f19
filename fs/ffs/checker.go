package ffs

import (
	"fmt"
	"io"

	"github.com/rumpfs/rumpfs/dev"
	"github.com/rumpfs/rumpfs/vfs"
)

var _ vfs.Checker = FS{}

// Check is the registry's checker (vfs.Checker) for `ukfs fsck`: it runs
// the read-only Check and writes each problem on a line, then a summary
// line in the manner of fsck_ffs's closing "N files, N used, N free".
func (FS) Check(d dev.Device, w io.Writer) (bool, error) {
	r, err := Check(d, CheckOptions{})
	if err != nil {
		return false, err
	}
	for _, p := range r.Problems {
		fmt.Fprintln(w, p)
	}
	if n := r.Count - len(r.Problems); n > 0 {
		fmt.Fprintf(w, "... and %d more problems not listed\n", n)
	}
	kind := "UFS1"
	if r.UFS2 {
		kind = "UFS2"
	}
	order := "little-endian"
	if r.BigEndian {
		order = "big-endian"
	}
	state := "clean"
	if !r.Clean() {
		state = fmt.Sprintf("%d problem", r.Count)
		if r.Count != 1 {
			state += "s"
		}
	}
	if _, err := findSuperblock(d); err != nil {
		fmt.Fprintf(w, "ffs: no usable superblock: %s\n", state)
	} else {
		fmt.Fprintf(w, "ffs (%s, %s): %d files, %d directories, %d fragments used: %s\n",
			kind, order, r.Files, r.Dirs, r.UsedFrags, state)
	}
	return r.Clean(), nil
}
