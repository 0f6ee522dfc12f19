package main

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/rumpfs/rumpfs/dev"
	"github.com/rumpfs/rumpfs/vfs"
)

// ukfs fsck [-n] IMAGE checks a file system read-only, in the manner of
// NetBSD's fsck_<fs> -n, with the checker its type registers (vfs.Checker).
// The image is opened read-only and locked, never mounted: a check must
// see the device as it is, and must work on images too damaged to mount.
// Each problem is one line on stdout, followed by the checker's summary
// line; the exit status is 0 when clean, 1 when anything is wrong or the
// type has no checker, 2 on usage errors.

func init() {
	register(&command{
		name: "fsck", args: "[-n] IMAGE", short: "check the file system's consistency (read-only, as fsck -n)",
		readOnly: true, unmounted: true, maxArgs: 0,
		flags: func(fs *pflag.FlagSet) any {
			o := &fsckOpts{}
			fs.BoolVarP(&o.n, "no", "n", true, "answer no to every repair: only report (the default and only mode)")
			fs.BoolVarP(&o.y, "yes", "y", false, "repair (not supported: the checker never writes)")
			fs.BoolVarP(&o.f, "force", "f", false, "check even if marked clean (always done; accepted for fsck compatibility)")
			return o
		},
		run: runFsck,
	})
}

type fsckOpts struct{ n, y, f bool }

func runFsck(e *env, o any, _ []string) error {
	opts := o.(*fsckOpts)
	if opts.y {
		return &usageError{cmd: commands["fsck"], msg: "-y is not supported: ukfs fsck only reports problems and never repairs (use -n, the default)"}
	}
	d, err := dev.Open(e.image, true)
	if err != nil {
		return err
	}
	defer d.Close()
	var fsys vfs.FileSystem
	if e.fstype != "" {
		var ok bool
		if fsys, ok = vfs.LookupFS(e.fstype); !ok {
			return fmt.Errorf("%s: unknown file system type %q (known: %s)", e.image, e.fstype, strings.Join(vfs.FileSystems(), ", "))
		}
	} else if fsys, err = vfs.Probe(d); err != nil {
		// A checker is most wanted for an image too damaged to probe.
		return fmt.Errorf("%s: no known file system found (tried %s); give the type of a damaged one with -t TYPE",
			e.image, strings.Join(vfs.FileSystems(), ", "))
	}
	ck, ok := fsys.(vfs.Checker)
	if !ok {
		return fmt.Errorf("%s: no checker for %s", e.image, fsys.Name())
	}
	clean, err := ck.Check(d, e.stdout)
	if err != nil {
		return fmt.Errorf("%s: %w", e.image, err)
	}
	if !clean {
		return errNotClean
	}
	return nil
}

// errNotClean ends a check that found problems: they and the summary are
// already printed, so nothing more is said.
var errNotClean = errFailed
