package p2k

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/syslog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/rumpfs/rumpfs/kern"
	ninep "github.com/rumpfs/rumpfs/net"
	"github.com/rumpfs/rumpfs/vfs"
)

// Daemon is the front of one rump_<fs> command:
//
//	rump_<fs> [-f] [-o opts]... [fs flags] image[%PART%] mountpoint
//
// A cmd/rump_<fs>/main.go blank-imports its file system and calls
//
//	os.Exit((&p2k.Daemon{FS: "msdos", Flags: ...}).Main(os.Args))
//
// Without -f (or P2K_NODETACH / P2K_DEBUG) the command detaches only once
// the mount is live, and its exit status says whether the mount worked.
type Daemon struct {
	// FS is the registry name of the file system ("cd9660", "msdos").
	FS string
	// ReadOnly marks a file system that is only ever mounted read-only:
	// the image is opened read-only and -o rw is ignored, as NetBSD's
	// mount_cd9660 always sets MNT_RDONLY.
	ReadOnly bool
	// Flags are the command's own flags, each setting a mount option
	// (mount_msdos -u 1000 is -o uid=1000).
	Flags []OptionFlag
	// Adjust, if set, may check or translate the options after parsing
	// (user names to uids, say); an error is reported as a usage error.
	Adjust func(opts vfs.Options) error
	// AdjustMount, if set, runs once the mount point is known to be a
	// directory, with the image and mount point as given: NetBSD's
	// mount_msdos takes the owner, group and mask it was not given from
	// the mount point. An error ends the command with status 1.
	AdjustMount func(opts vfs.Options, image, mountpoint string) error
	// PassOptions names generic options that the daemon would consume but
	// that this file system wants to see as well (only "force" so far:
	// the others are consumed by kern).
	PassOptions []string
	// Usage is added to -h: the file system's own -o options.
	Usage string
}

// OptionFlag is a command-line flag that sets a mount option.
type OptionFlag struct {
	Name      string // long name: --uid
	Shorthand string // one character: -u
	Option    string // the mount option it sets: "uid"
	// Arg names the flag's argument in the help ("uid"); "" makes the flag
	// a switch that sets Option with no value (-l sets "longnames").
	Arg   string
	Usage string
}

// Main is the daemon front for a command with no flags of its own.
func Main(fsname string, argv []string) int {
	return (&Daemon{FS: fsname}).Main(argv)
}

// Environment variables, as NetBSD's p2k.
const (
	envChild = "RUMPFS_P2K_CHILD" // set in the re-executed, detached server
)

// consumed options: handled by p2k and the FUSE mount, not passed to kern.
var p2kOptions = map[string]bool{
	"allow_other": true, "default_permissions": true, "fsname": true, "subtype": true,
	"suid": true, "dev": true, "exec": true, "force": true,
}

// Main runs the command with argv (argv[0] the program name) and returns
// the exit status.
func (d *Daemon) Main(argv []string) int {
	prog := "rump_" + d.FS
	if len(argv) > 0 && argv[0] != "" {
		prog = filepath.Base(argv[0])
	}
	inv, err := d.parse(prog, argv[1:])
	if err == errHelp {
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
		fmt.Fprintf(os.Stderr, "usage: %s [-f] [-o options] image[%%PART%%] mountpoint (-h for help)\n", prog)
		return 1
	}
	if inv.mountpoint != "" {
		if err := checkMountpoint(inv.mountpoint); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
			return 1
		}
	}
	if d.AdjustMount != nil && inv.mountpoint != "" {
		if err := d.AdjustMount(inv.opts, inv.image, inv.mountpoint); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
			return 1
		}
	}
	child := os.Getenv(envChild) != ""
	if !child && !inv.foreground && os.Getenv("P2K_NODETACH") == "" && os.Getenv("P2K_DEBUG") == "" {
		return detach(prog, argv)
	}
	var ready *os.File
	if child {
		// The parent gave us the write end of a pipe as fd 3; our fate
		// goes there, and nowhere else, so it is printed once.
		syscall.CloseOnExec(3)
		ready = os.NewFile(3, "ready")
	}
	return d.serve(prog, inv, ready)
}

// invocation is a parsed command line.
type invocation struct {
	image, mountpoint string
	foreground        bool
	opts              vfs.Options // all -o options and flag options
	// serve is the --serve address of a 9P export ("" for none);
	// exportOpts its squashing and uid maps.
	serve      string
	exportOpts ninep.Options
}

var errHelp = errors.New("help")

func (d *Daemon) parse(prog string, args []string) (*invocation, error) {
	fl := pflag.NewFlagSet(prog, pflag.ContinueOnError)
	fl.SortFlags = false
	fl.SetOutput(io.Discard)
	optArgs := fl.StringArrayP("options", "o", nil, "mount options, comma-separated (repeatable)")
	fg := fl.BoolP("foreground", "f", false, "stay in the foreground")
	help := fl.BoolP("help", "h", false, "show this help")
	serve := fl.String("serve", "", "export over 9P2000.L on unix:///path/sock or tcp://host:port (a bare port: loopback), instead of or as well as mounting")
	squash := fl.String("serve-squash", "", "whose requests the 9P export runs as the anonymous user: root (default on TCP), all, none (default on a unix socket)")
	uidMap := fl.String("serve-uid-map", "", "9P export uid map: client=server[,client=server...]; anonuid=N and anongid=N set the anonymous user (default 65534)")
	fl.Lookup("serve").Annotations = map[string][]string{"arg": {"ADDR"}}
	fl.Lookup("serve-squash").Annotations = map[string][]string{"arg": {"root|all|none"}}
	fl.Lookup("serve-uid-map").Annotations = map[string][]string{"arg": {"MAP"}}
	strs := make([]*string, len(d.Flags))
	bools := make([]*bool, len(d.Flags))
	for i, f := range d.Flags {
		if f.Arg == "" {
			bools[i] = fl.BoolP(f.Name, f.Shorthand, false, f.Usage)
		} else {
			strs[i] = fl.StringP(f.Name, f.Shorthand, "", f.Usage)
			if fl.Lookup(f.Name) != nil {
				fl.Lookup(f.Name).Annotations = map[string][]string{"arg": {f.Arg}}
			}
		}
	}
	if err := fl.Parse(args); err != nil {
		return nil, err
	}
	if *help {
		d.usage(os.Stdout, prog, fl)
		return nil, errHelp
	}
	if fl.NArg() != 2 && !(*serve != "" && fl.NArg() == 1) {
		return nil, fmt.Errorf("need an image and a mount point, got %d arguments", fl.NArg())
	}
	inv := &invocation{image: fl.Arg(0), foreground: *fg, opts: vfs.Options{}, serve: *serve}
	if fl.NArg() == 2 {
		inv.mountpoint = fl.Arg(1)
	}
	if *serve != "" {
		if _, _, err := ninep.ParseAddr(*serve); err != nil {
			return nil, fmt.Errorf("--serve: %v", err)
		}
		if err := parseExportOpts(&inv.exportOpts, *squash, *uidMap); err != nil {
			return nil, err
		}
	} else if *squash != "" || *uidMap != "" {
		return nil, fmt.Errorf("--serve-squash and --serve-uid-map need --serve")
	}
	for _, o := range *optArgs {
		vfs.ParseOptions(inv.opts, o)
	}
	for i, f := range d.Flags {
		switch {
		case bools[i] != nil && *bools[i]:
			inv.opts[f.Option] = ""
		case strs[i] != nil && fl.Changed(f.Name):
			inv.opts[f.Option] = *strs[i]
		}
	}
	if d.Adjust != nil {
		if err := d.Adjust(inv.opts); err != nil {
			return nil, err
		}
	}
	if d.ReadOnly {
		vfs.ParseOptions(inv.opts, "ro")
	}
	return inv, nil
}

func (d *Daemon) usage(w io.Writer, prog string, fl *pflag.FlagSet) {
	fmt.Fprintf(w, "usage: %s [-f] [-o options] [flags] image[%%PART%%] mountpoint\n", prog)
	fmt.Fprintf(w, "       %s [-f] [-o options] [flags] --serve ADDR image[%%PART%%] [mountpoint]\n\n", prog)
	fmt.Fprintf(w, "Mounts the %s file system in image on mountpoint through FUSE, and/or\n", d.FS)
	fmt.Fprintf(w, "exports it over 9P2000.L (--serve unix:///path/sock or tcp://host:port).\n")
	fmt.Fprintf(w, "A suffix picks a partition: %%MBR:n%%, %%GPT:n%%, %%DISKLABEL:x%%, %%OFFSET:start,size%%.\n\n")
	fl.VisitAll(func(f *pflag.Flag) {
		arg := ""
		if a, ok := f.Annotations["arg"]; ok {
			arg = " " + a[0]
		} else if f.Value.Type() != "bool" {
			arg = " opts"
		}
		if f.Shorthand == "" {
			fmt.Fprintf(w, "      --%s%s\n        %s\n", f.Name, arg, f.Usage)
			return
		}
		fmt.Fprintf(w, "  -%s, --%s%s\n        %s\n", f.Shorthand, f.Name, arg, f.Usage)
	})
	fmt.Fprintf(w, "\nGeneric -o options: ro, rw, noatime, sync, async, nodev, nosuid, noexec,\n")
	fmt.Fprintf(w, "  force, allow_other, default_permissions, fsname=NAME.\n")
	if d.Usage != "" {
		fmt.Fprintf(w, "%s -o options: %s\n", d.FS, d.Usage)
	}
	fmt.Fprintf(w, "\nEnvironment: P2K_NODETACH, P2K_DEBUG, P2K_NOCACHE, P2K_NOCACHE_PAGE,\n")
	fmt.Fprintf(w, "  P2K_NOCACHE_NAME, P2K_WIZARDUID (as NetBSD's p2k).\n")
}

func checkMountpoint(mnt string) error {
	fi, err := os.Stat(mnt)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return fmt.Errorf("%s: %v", mnt, pe.Err)
		}
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: not a directory", mnt)
	}
	return nil
}

// detach runs the server as a new session in the background and waits
// until it says the mount is live (exit 0) or why it failed (exit 1):
// NetBSD's daemons detach only after mounting, so their status is
// meaningful. The child is this program again, with envChild set and the
// write end of a pipe as fd 3.
func detach(prog string, argv []string) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "%s: %s\n", prog, fmt.Sprintf(format, args...))
		return 1
	}
	exe, err := os.Executable()
	if err != nil {
		return fail("cannot find own executable: %v", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fail("%v", err)
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return fail("%v", err)
	}
	cmd := exec.Command(exe, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Env = append(os.Environ(), envChild+"=1")
	cmd.Stdin, cmd.Stdout = devnull, devnull
	// Keep stderr for the server's warnings when it is a file or a
	// terminal (NetBSD's daemons keep their stdio); never a pipe, whose
	// reader would then wait for the server to end.
	cmd.Stderr = devnull
	if keepStderr() && !isDevNull(os.Stderr) {
		cmd.Stderr = os.Stderr
	}
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fail("cannot start server: %v", err)
	}
	w.Close()
	devnull.Close()
	msg, _ := io.ReadAll(bufio.NewReader(r))
	r.Close()
	s := strings.TrimRight(string(msg), "\n")
	if s == "ok" {
		return 0
	}
	werr := cmd.Wait()
	if s == "" {
		return fail("server exited before mounting (%v)", werr)
	}
	fmt.Fprintf(os.Stderr, "%s: %s\n", prog, s)
	return 1
}

func keepStderr() bool {
	fi, err := os.Stderr.Stat()
	if err != nil {
		return false
	}
	m := fi.Mode()
	return m.IsRegular() || m&os.ModeCharDevice != 0
}

func isDevNull(f *os.File) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(os.DevNull)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// ConfigFromEnv gives the daemon's bridge configuration: kernel caches on
// (the daemon is the image's only writer), tuned by NetBSD p2k's variables
// P2K_NOCACHE_NAME (no name cache), P2K_NOCACHE_PAGE (no page cache),
// P2K_NOCACHE (neither, nor attributes), P2K_DEBUG and P2K_WIZARDUID.
// Problems with the variables are reported through warn.
func ConfigFromEnv(warn func(format string, args ...any)) Config {
	cfg := Config{EntryTimeout: 5 * time.Second, AttrTimeout: 5 * time.Second, KeepCache: true, SyncInterval: 5 * time.Second}
	_, nocache := os.LookupEnv("P2K_NOCACHE")
	if _, ok := os.LookupEnv("P2K_NOCACHE_NAME"); ok || nocache {
		cfg.EntryTimeout = 0
	}
	if _, ok := os.LookupEnv("P2K_NOCACHE_PAGE"); ok || nocache {
		cfg.KeepCache = false
		cfg.DirectIO = true
	}
	if nocache {
		cfg.AttrTimeout = 0
	}
	if _, ok := os.LookupEnv("P2K_DEBUG"); ok {
		cfg.Debug = true
	}
	if v, ok := os.LookupEnv("P2K_WIZARDUID"); ok {
		uid, err := strconv.ParseUint(v, 10, 32)
		switch {
		case err != nil:
			warn("P2K_WIZARDUID: invalid uid %q, ignored", v)
		default:
			cfg.HasWizard = true
			cfg.WizardUID = uint32(uid)
			warn("P2K WIZARD MODE: using uid %d", uid)
		}
	}
	return cfg
}

// mountImage is the daemon's "open the image and mount it" step, done by
// the kernel object: it opens image with its partition suffix and locks
// it, consumes the generic options and hands the rest to the file system.
func mountImage(fsname, image string, opts vfs.Options, logf func(string, ...any)) (vfs.Mount, error) {
	k := kern.New(kern.WithLogf(logf))
	return k.Mount(image, fsname, opts)
}

// serve mounts and serves until unmounted or signalled. ready, in a
// detached server, receives "ok" or the reason for failing.
func (d *Daemon) serve(prog string, inv *invocation, ready *os.File) int {
	logf := d.logger(prog, ready != nil)
	fail := func(err error) int {
		msg := err.Error()
		if ready != nil {
			fmt.Fprintln(ready, msg)
			ready.Close()
		} else {
			fmt.Fprintf(os.Stderr, "%s: %s\n", prog, msg)
		}
		return 1
	}

	// RUMPFS_CPUPROFILE=file writes a Go CPU profile of the whole serving
	// life of the daemon, for measuring file systems under real FUSE load.
	if pf := os.Getenv("RUMPFS_CPUPROFILE"); pf != "" {
		if f, err := os.Create(pf); err != nil {
			logf("%s: RUMPFS_CPUPROFILE: %v", prog, err)
		} else if err := pprof.StartCPUProfile(f); err != nil {
			logf("%s: RUMPFS_CPUPROFILE: %v", prog, err)
			f.Close()
		} else {
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}

	cfg := ConfigFromEnv(logf)
	cfg.Logf = logf
	fl := MountFlags{FsName: inv.image, Subtype: d.FS}
	kopts := vfs.Options{}
	pass := map[string]bool{}
	for _, o := range d.PassOptions {
		pass[o] = true
	}
	for k, v := range inv.opts {
		switch k {
		case "allow_other":
			fl.AllowOther = true
		case "default_permissions":
			cfg.DefaultPermissions = true
		case "fsname":
			fl.FsName = v
		case "subtype":
			fl.Subtype = v
		case "noatime":
			fl.NoAtime = true
		case "noexec":
			fl.NoExec = true
		case "exec":
			fl.NoExec = false
		case "sync":
			fl.Sync = true
		case "suid":
			fl.Suid = true
		case "dev":
			fl.Dev = true
		}
		if !p2kOptions[k] || pass[k] {
			kopts[k] = v
		}
	}
	if inv.opts.Has("nosuid") {
		fl.Suid = false
	}
	if inv.opts.Has("nodev") {
		fl.Dev = false
	}

	m, err := mountImage(d.FS, inv.image, kopts, logf)
	if err != nil {
		return fail(err)
	}
	fl.ReadOnly = m.ReadOnly()

	// The 9P export listens first, so that a bad address is reported
	// before anything is mounted. Beside a FUSE mount it shares the
	// bridge's writer lock, and the kernel's caches are turned off: the
	// image then changes behind the FUSE kernel's back.
	var (
		exportDone chan error
		stopExport context.CancelFunc = func() {}
	)
	if inv.serve != "" {
		l, err := ninep.Listen(inv.serve)
		if err != nil {
			m.Unmount()
			return fail(fmt.Errorf("--serve %s: %v", inv.serve, err))
		}
		lock := new(sync.RWMutex)
		cfg.Lock = lock
		cfg.EntryTimeout, cfg.AttrTimeout, cfg.KeepCache = 0, 0, false
		eo := inv.exportOpts
		eo.Lock = lock
		eo.ReadOnly = eo.ReadOnly || m.ReadOnly()
		eo.Logf = logf
		var ctx context.Context
		ctx, stopExport = context.WithCancel(context.Background())
		exportDone = make(chan error, 1)
		go func() { exportDone <- ninep.ServeListener(ctx, l, m, eo) }()
	}
	var srv *Server
	var fuseDone <-chan struct{}
	if inv.mountpoint != "" {
		srv, err = Serve(m, inv.mountpoint, cfg, fl)
		if err != nil {
			stopExport()
			if exportDone != nil {
				<-exportDone
			}
			m.Unmount()
			return fail(err)
		}
		fuseDone = srv.Done()
	}
	syncStop, syncDone := make(chan struct{}), make(chan struct{})
	if srv == nil && !m.ReadOnly() && cfg.SyncInterval > 0 && cfg.Lock != nil {
		// Export only: nothing else flushes the image every few seconds
		// (DESIGN.md: dirty metadata is never older than a few seconds).
		go func() {
			defer close(syncDone)
			t := time.NewTicker(cfg.SyncInterval)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					cfg.Lock.Lock()
					m.Sync()
					cfg.Lock.Unlock()
				case <-syncStop:
					return
				}
			}
		}()
	} else {
		close(syncDone)
	}

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	if ready != nil {
		fmt.Fprintln(ready, "ok")
		ready.Close()
	}

	select {
	case s := <-sigs:
		if cfg.Debug {
			logf("%s: %v: unmounting", prog, s)
		}
		if srv != nil {
			if err := srv.Unmount(); err != nil {
				logf("%s: %v", prog, err)
			}
		}
	case <-fuseDone:
	case err := <-exportDone:
		// The listener failed: end as if unmounted.
		if err != nil {
			logf("%s: --serve: %v", prog, err)
		}
		exportDone = nil
		if srv != nil {
			srv.Unmount()
		}
	}
	if srv != nil {
		srv.Wait()
	}
	stopExport()
	if exportDone != nil {
		if err := <-exportDone; err != nil {
			logf("%s: --serve: %v", prog, err)
		}
	}
	signal.Stop(sigs)
	close(syncStop)
	<-syncDone
	if err := m.Unmount(); err != nil {
		logf("%s: %v", prog, err)
		return 1
	}
	return 0
}

// logger returns where the server's messages go: stderr in the
// foreground; in a detached server stderr if it was kept, else syslog.
func (d *Daemon) logger(prog string, detached bool) func(string, ...any) {
	if !detached || (keepStderr() && !isDevNull(os.Stderr)) {
		return func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, strings.TrimSuffix(format, "\n")+"\n", args...)
		}
	}
	w, err := syslog.New(syslog.LOG_DAEMON|syslog.LOG_WARNING, prog)
	if err != nil {
		return func(string, ...any) {}
	}
	return func(format string, args ...any) {
		w.Warning(fmt.Sprintf(format, args...))
	}
}

// parseExportOpts reads --serve-squash and --serve-uid-map, in the manner
// of exports(5): root_squash, all_squash, no_root_squash, anonuid, anongid.
func parseExportOpts(o *ninep.Options, squash, uidMap string) error {
	switch squash {
	case "":
	case "root":
		o.Squash = ninep.SquashRoot
	case "all":
		o.Squash = ninep.SquashAll
	case "none":
		o.Squash = ninep.SquashNone
	default:
		return fmt.Errorf("--serve-squash: %q: want root, all or none", squash)
	}
	if uidMap == "" {
		return nil
	}
	for _, kv := range strings.Split(uidMap, ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil {
			return fmt.Errorf("--serve-uid-map: %q: want client=server, anonuid=N or anongid=N", kv)
		}
		u := uint32(n)
		switch k {
		case "anonuid":
			o.AnonUID = &u
		case "anongid":
			o.AnonGID = &u
		default:
			c, err := strconv.ParseUint(k, 10, 32)
			if err != nil {
				return fmt.Errorf("--serve-uid-map: %q: client uid is not a number", kv)
			}
			if o.UIDMap == nil {
				o.UIDMap = map[uint32]uint32{}
			}
			o.UIDMap[uint32(c)] = u
		}
	}
	return nil
}
