// Package cd9660 is a read-only ISO 9660 file system (NetBSD's
// sys/fs/cd9660) with Joliet and Rock Ridge.
//
// An ISO 9660 (ECMA-119) image is a sequence of 2048-byte sectors. Sectors
// 0-15 are the system area; from sector 16 a set of volume descriptors
// ("CD001") follows, ended by a terminator: the primary descriptor gives
// the logical block size, the volume size and the root directory record,
// and a supplementary descriptor with escape sequence %/@, %/C or %/E
// gives a parallel Joliet tree whose names are UCS-2. A directory is an
// extent of directory records, none crossing a logical block; each record
// names one file (extent, length, date, flags) and starts with "." and
// "..". Plain names are upper-case "NAME.EXT;1"; a file over 4 GiB (level
// 3) is a chain of records flagged multi-extent. Rock Ridge (RRIP) adds
// POSIX semantics in each record's System Use area as SUSP entries: PX
// (mode, links, owner, serial), NM (long name), SL (symlink target), PN
// (device), TF (times), CE (continuation area), and CL/PL/RE to put back
// directories that were relocated below "rr_moved" to keep the ISO tree
// within 8 levels.
//
// As NetBSD, Rock Ridge is used when the root's "." record starts with SP
// and an ER names RRIP; otherwise Joliet is used if present, otherwise the
// plain names (lower-cased, version stripped). The mount options are
// NetBSD mount_cd9660's: norrip (nrr), nojoliet, gens, nocasetrans
// (nomaplcase), maplcase, rrcaseins, extatt. As in NetBSD, the relocated
// directories' stand-ins (RE) are hidden but rr_moved itself stays listed,
// and records with the "existence" (hidden) flag are shown. Inode numbers
// are NetBSD's: the byte address of a file's directory record, or of a
// directory's "." record (a Rock Ridge 1.12 PX serial number replaces the
// former, so hard links agree). Data is read straight from the
// device in one ReadAt per extent piece; directories are parsed once into
// a bounded per-directory index.
package cd9660

import (
	"syscall"

	"github.com/rumpfs/rumpfs/dev"
	"github.com/rumpfs/rumpfs/fs/cd9660/layout"
	"github.com/rumpfs/rumpfs/vfs"
)

func init() { vfs.Register(FS{}) }

// FS is the cd9660 file-system type.
type FS struct{}

// Name is the NetBSD name.
func (FS) Name() string { return "cd9660" }

// Probe looks for "CD001" in the volume descriptor at sector 16.
func (FS) Probe(d dev.Device) bool {
	if d.Size() < (layout.VolumeDescriptorLBA+1)*layout.SectorSize {
		return false
	}
	var b [layout.SectorSize]byte
	if n, _ := d.ReadAt(b[:], layout.VolumeDescriptorLBA*layout.SectorSize); n != len(b) {
		return false
	}
	h, err := layout.DecodeVolumeDescriptorHeader(b[:])
	if err != nil || !h.IsISO() {
		return false
	}
	switch h.Type {
	case layout.VDBootRecord, layout.VDPrimary, layout.VDSupplementary, layout.VDPartition, layout.VDTerminator:
		return true
	}
	return false
}

// Mount mounts d read-only.
func (FS) Mount(d dev.Device, args *vfs.MountArgs) (vfs.Mount, error) {
	if args == nil {
		args = &vfs.MountArgs{}
	}
	return mount(d, args)
}

// readOnlyError is the refusal of a read-write mount: NetBSD's
// cd9660_mount returns EROFS unless MNT_RDONLY.
type readOnlyError struct{}

func (readOnlyError) Error() string { return "cd9660: read-only file system" }
func (readOnlyError) Unwrap() error { return syscall.EROFS }

// knownOptions are NetBSD mount_cd9660's options (with the negated forms
// its getmntopts table accepts) and the generic ones that mean nothing to a
// read-only file system.
var knownOptions = []string{
	"ro", "rw",
	"norrip", "nrr", "rrip",
	"nojoliet", "joliet",
	"gens", "nogens",
	"nocasetrans", "casetrans", "maplcase", "nomaplcase",
	"rrcaseins", "norrcaseins",
	"extatt", "noextatt",
	"noatime", "nodev", "nosuid", "noexec", "sync", "async",
}

type options struct {
	norrip, nojoliet, gens, nocasetrans, rrcaseins, extatt bool
}

func parseOptions(o vfs.Options) (options, error) {
	var op options
	if err := o.Check("cd9660", knownOptions...); err != nil {
		return op, err
	}
	if o.Has("rw") {
		return op, readOnlyError{}
	}
	op.norrip = o.Has("norrip") || o.Has("nrr")
	op.nojoliet = o.Has("nojoliet")
	op.gens = o.Has("gens")
	op.nocasetrans = (o.Has("nocasetrans") || o.Has("nomaplcase")) && !o.Has("maplcase") && !o.Has("casetrans")
	op.rrcaseins = o.Has("rrcaseins")
	op.extatt = o.Has("extatt")
	return op, nil
}
