package p2k

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/rumpfs/rumpfs/vfs"
)

// fillAttr converts vfs attributes to FUSE's.
func fillAttr(out *fuse.Attr, a *vfs.Attr) {
	out.Ino = a.Ino
	out.Size = a.Size
	out.Blocks = a.Blocks
	out.Atime, out.Atimensec = fuseTime(a.Atime)
	out.Mtime, out.Mtimensec = fuseTime(a.Mtime)
	out.Ctime, out.Ctimensec = fuseTime(a.Ctime)
	out.Mode = a.Mode
	out.Nlink = a.Nlink
	out.Uid = a.Uid
	out.Gid = a.Gid
	out.Rdev = encodeDev(a.Rdev)
	out.Blksize = a.Blksize
	if out.Blksize == 0 {
		out.Blksize = 4096
	}
	// fuse.Attr.Flags are FUSE's own (ATTR_SUBMOUNT), not BSD file flags.
	out.Flags = 0
}

// fuseTime splits t into seconds and nanoseconds; the zero time (a format
// without that timestamp) becomes the epoch.
func fuseTime(t time.Time) (uint64, uint32) {
	if t.IsZero() {
		return 0, 0
	}
	return uint64(t.Unix()), uint32(t.Nanosecond())
}

// encodeDev converts a Linux dev_t (glibc's 64-bit encoding, as vfs.Attr
// holds it) to the 32-bit "new" encoding the FUSE protocol carries
// (the kernel decodes it with new_decode_dev).
func encodeDev(rdev uint64) uint32 {
	major, minor := unix.Major(rdev), unix.Minor(rdev)
	return (minor & 0xff) | (major&0xfff)<<8 | (minor&^0xff)<<12
}

// decodeDev is the inverse of encodeDev, for MKNOD.
func decodeDev(d uint32) uint64 {
	major := (d & 0xfff00) >> 8
	minor := (d & 0xff) | (d>>12)&0xfff00
	return unix.Mkdev(major, minor)
}

// procGroups reads the supplementary groups of the process (thread) pid
// from /proc, since FUSE requests carry only the uid and gid. nil if the
// process is gone.
func procGroups(pid uint32) []uint32 {
	if pid == 0 {
		return nil
	}
	f, err := os.Open("/proc/" + strconv.FormatUint(uint64(pid), 10) + "/status")
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Bytes()
		rest, ok := bytes.CutPrefix(line, []byte("Groups:"))
		if !ok {
			continue
		}
		groups := []uint32{}
		for _, fld := range bytes.Fields(rest) {
			g, err := strconv.ParseUint(string(fld), 10, 32)
			if err == nil {
				groups = append(groups, uint32(g))
			}
		}
		return groups
	}
	return nil
}
