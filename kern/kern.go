// Package kern is rumpfs's kernel object, after NetBSD's rump kernel: it
// knows which file systems are linked in (the vfs registry), holds the
// mounts and a clock, and gives processes (credentials, working directory,
// umask, file descriptors) a syscall layer by path — open, read, mkdir,
// rename, ... — with POSIX semantics and errno values. ukfs is built on it;
// p2k uses it to mount and then talks to vnodes directly, as NetBSD's libp2k
// does.
//
// Every error the syscall layer returns is a syscall.Errno. Permission
// checks are made here, before a vnode operation, as NetBSD's VOP_ACCESS
// precedes the operation; file systems trust their caller.
package kern

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rumpfs/rumpfs/dev"
	"github.com/rumpfs/rumpfs/vfs"
)

// Kernel is one rump kernel: its mounts and clock.
type Kernel struct {
	now  func() time.Time
	logf func(format string, args ...any)

	mu     sync.Mutex
	mounts []*MountPoint
}

// Option configures a Kernel.
type Option func(*Kernel)

// WithClock sets the clock used for timestamps (default time.Now).
func WithClock(now func() time.Time) Option { return func(k *Kernel) { k.now = now } }

// WithLogf sets where file systems' warnings go (default: discarded).
func WithLogf(logf func(format string, args ...any)) Option {
	return func(k *Kernel) { k.logf = logf }
}

// New makes a kernel. The file systems it knows are those registered with
// vfs.Register, i.e. the fs packages linked into the program.
func New(opts ...Option) *Kernel {
	k := &Kernel{now: time.Now}
	for _, o := range opts {
		o(k)
	}
	return k
}

// Now is the kernel's clock.
func (k *Kernel) Now() time.Time { return k.now() }

// FileSystems lists the file-system types linked in.
func (k *Kernel) FileSystems() []string { return vfs.FileSystems() }

// Mounts lists the current mounts.
func (k *Kernel) Mounts() []*MountPoint {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]*MountPoint(nil), k.mounts...)
}

// Generic mount flags, consumed here and not passed to the file system
// (NetBSD's MNT_* flags that mount(8) handles itself).
var genericOptions = []string{"ro", "rw", "noatime", "nodevmtime", "sync", "async", "nosuid", "nodev", "noexec", "noauto"}

// ReadOnlyFormat may be implemented by a vfs.FileSystem whose format this
// project only reads (or that cannot be written at all). Such a file
// system's device is opened read-only, so that an image file without write
// permission, or one locked by a reader, still mounts.
type ReadOnlyFormat interface {
	ReadOnlyFormat() bool
}

// readOnlyFormats names registered types known to be read-only formats even
// when they do not implement ReadOnlyFormat (ISO 9660 is written once, by
// the mastering tool).
var readOnlyFormats = map[string]bool{"cd9660": true}

func isReadOnlyFormat(fs vfs.FileSystem) bool {
	if r, ok := fs.(ReadOnlyFormat); ok {
		return r.ReadOnlyFormat()
	}
	return readOnlyFormats[fs.Name()]
}

// OpenDevice opens an image or device with its partition suffix. It is
// dev.Open; tests may replace it.
var OpenDevice = openDevice

// Mount opens spec (an image path with an optional %PART% suffix), finds
// its file system (fstype "" probes every registered type), and mounts it.
// opts are -o mount options; "ro" gives a read-only mount. The device is
// opened read-only when the mount is read-only or the format is one this
// project cannot write.
//
// Without a partition suffix, an image with a partition table and no file
// system at offset 0 is refused with the list of its partitions.
func (k *Kernel) Mount(spec, fstype string, opts vfs.Options) (*MountPoint, error) {
	if opts == nil {
		opts = vfs.Options{}
	}
	ro := opts.Has("ro")
	var fsys vfs.FileSystem
	if fstype != "" {
		var ok bool
		fsys, ok = vfs.LookupFS(fstype)
		if !ok {
			return nil, fmt.Errorf("%s: unknown file system type %q (known: %s)", spec, fstype, strings.Join(vfs.FileSystems(), ", "))
		}
		if isReadOnlyFormat(fsys) {
			ro = true
		}
	}

	// Without a type we probe on a read-only device first, then reopen
	// read-write only if the mount wants it and the format can be written.
	d, err := OpenDevice(spec, true)
	if err != nil {
		return nil, err
	}
	if fsys == nil {
		fsys, err = vfs.Probe(d)
		if err != nil {
			perr := k.partitionError(d, spec)
			d.Close()
			if perr != nil {
				return nil, perr
			}
			return nil, err
		}
		if isReadOnlyFormat(fsys) {
			ro = true
		}
	}
	if !ro {
		d.Close()
		if d, err = OpenDevice(spec, false); err != nil {
			return nil, err
		}
	}

	args := &vfs.MountArgs{ReadOnly: ro || d.ReadOnly(), Options: vfs.Options{}, Now: k.now, Logf: k.logf}
	flags := vfs.Options{}
	for key, v := range opts {
		generic := false
		for _, g := range genericOptions {
			if key == g {
				generic = true
			}
		}
		if generic {
			flags[key] = v
		} else {
			args.Options[key] = v
		}
	}
	args.Flags = flags
	m, err := fsys.Mount(d, args)
	if err != nil {
		if perr := k.partitionError(d, spec); perr != nil {
			err = fmt.Errorf("%w; %v", err, perr)
		}
		d.Close()
		if !strings.Contains(err.Error(), spec) {
			err = fmt.Errorf("%s: %w", spec, err)
		}
		return nil, err
	}
	mp := &MountPoint{k: k, Spec: spec, FSType: fsys.Name(), Options: opts, Flags: flags, Mount: m, Dev: d}
	k.addMount(mp)
	return mp, nil
}

// partitionError returns the refusal for an image without a partition
// suffix whose offset 0 holds a partition table instead of a file system:
// the user must choose one, as DESIGN.md's partition contract says.
func (k *Kernel) partitionError(d dev.Device, spec string) error {
	if strings.Contains(spec, "%") {
		return nil
	}
	parts := listPartitions(d)
	if len(parts) == 0 {
		return nil
	}
	return fmt.Errorf("%s: image holds a partition table and no file system at offset 0; choose a partition:\n%s",
		spec, strings.Join(parts, "\n"))
}

// MountVFS registers an already mounted file system (a memfs in tests, or
// one a daemon mounted itself) as a mount point of this kernel. name names
// it in messages; there is no device.
func (k *Kernel) MountVFS(name string, m vfs.Mount) *MountPoint {
	mp := &MountPoint{k: k, Spec: name, FSType: m.Info().Type, Options: vfs.Options{}, Flags: vfs.Options{}, Mount: m}
	k.addMount(mp)
	return mp
}

func (k *Kernel) addMount(mp *MountPoint) {
	k.mu.Lock()
	k.mounts = append(k.mounts, mp)
	k.mu.Unlock()
}

// MountPoint is a file system mounted in a kernel.
type MountPoint struct {
	k       *Kernel
	Spec    string      // the image path as given, with its suffix
	FSType  string      // registry name of the file system
	Options vfs.Options // all options given
	Flags   vfs.Options // the generic ones (ro, noatime, ...) kern consumed
	Mount   vfs.Mount
	Dev     dev.Device // nil for MountVFS

	// lock serialises changes to the mount (one writer lock per mount, as
	// DESIGN.md says) and lets reads run together.
	lock sync.RWMutex

	mu      sync.Mutex
	procs   map[*Proc]struct{}
	unmount bool
}

// Kernel returns the kernel the mount belongs to.
func (mp *MountPoint) Kernel() *Kernel { return mp.k }

// ReadOnly reports whether the mount refuses changes.
func (mp *MountPoint) ReadOnly() bool {
	return mp.Mount.ReadOnly() || mp.Flags.Has("ro") || (mp.Dev != nil && mp.Dev.ReadOnly())
}

// Root returns the root vnode with one reference.
func (mp *MountPoint) Root() (vfs.Vnode, error) { return mp.Mount.Root() }

// Info describes the file system.
func (mp *MountPoint) Info() vfs.Info { return mp.Mount.Info() }

// Statfs is the file system's usage.
func (mp *MountPoint) Statfs() (vfs.StatFS, error) { return mp.Mount.Statfs() }

// Size is the size of the device in bytes, -1 without one.
func (mp *MountPoint) Size() int64 {
	if mp.Dev == nil {
		return -1
	}
	return mp.Dev.Size()
}

// Sync flushes the file system and the device.
func (mp *MountPoint) Sync() error {
	mp.lock.Lock()
	defer mp.lock.Unlock()
	return mp.sync()
}

func (mp *MountPoint) sync() error {
	if mp.ReadOnly() {
		return nil
	}
	err := mp.Mount.Sync()
	if mp.Dev != nil {
		if e := mp.Dev.Sync(); err == nil {
			err = e
		}
	}
	return err
}

// Unmount closes every process still using the mount, syncs, unmounts the
// file system, and syncs and closes the device. A second Unmount is EINVAL.
func (mp *MountPoint) Unmount() error {
	mp.mu.Lock()
	if mp.unmount {
		mp.mu.Unlock()
		return syscall.EINVAL
	}
	mp.unmount = true
	procs := make([]*Proc, 0, len(mp.procs))
	for p := range mp.procs {
		procs = append(procs, p)
	}
	mp.mu.Unlock()
	for _, p := range procs {
		p.Exit()
	}

	mp.lock.Lock()
	defer mp.lock.Unlock()
	var errs []error
	if !mp.ReadOnly() {
		if err := mp.Mount.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("%s: sync: %w", mp.Spec, err))
		}
	}
	if err := mp.Mount.Unmount(); err != nil {
		errs = append(errs, fmt.Errorf("%s: unmount: %w", mp.Spec, err))
	}
	if mp.Dev != nil {
		if !mp.Dev.ReadOnly() {
			if err := mp.Dev.Sync(); err != nil {
				errs = append(errs, fmt.Errorf("%s: sync: %w", mp.Spec, err))
			}
		}
		if err := mp.Dev.Close(); err != nil {
			errs = append(errs, fmt.Errorf("%s: close: %w", mp.Spec, err))
		}
	}
	k := mp.k
	k.mu.Lock()
	for i, m := range k.mounts {
		if m == mp {
			k.mounts = append(k.mounts[:i], k.mounts[i+1:]...)
			break
		}
	}
	k.mu.Unlock()
	return errors.Join(errs...)
}

// Sync flushes every mount, as sync(2).
func (k *Kernel) Sync() error {
	var errs []error
	for _, mp := range k.Mounts() {
		if err := mp.Sync(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
