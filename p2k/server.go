package p2k

import (
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/rumpfs/rumpfs/vfs"
)

// MountFlags are the kernel-side flags of a FUSE mount.
type MountFlags struct {
	ReadOnly   bool
	NoAtime    bool
	NoExec     bool
	Sync       bool
	Suid       bool // allow set-id bits (default: nosuid)
	Dev        bool // allow device nodes (default: nodev)
	AllowOther bool // let users other than the mounter in
	// FsName is the "source" shown by mount(8) and df (the image path);
	// Subtype makes the type "fuse.<subtype>" ("fuse.cd9660").
	FsName  string
	Subtype string
}

// Server is a vfs.Mount served on a mount point through FUSE.
type Server struct {
	b          *Bridge
	srv        *fuse.Server
	mountpoint string
	done       chan struct{}
	once       sync.Once
}

// Serve mounts m on mountpoint and serves it in the background. It
// returns once the mount is live: the kernel has finished FUSE_INIT and
// the first request went through, so a process started afterwards sees
// the file system. The caller unmounts with Unmount (or lets the user do
// it) and waits with Wait; after Wait, every vnode reference is given
// back and m may be synced and unmounted.
func Serve(m vfs.Mount, mountpoint string, cfg Config, fl MountFlags) (*Server, error) {
	if fl.AllowOther && !cfg.DefaultPermissions {
		// FUSE without default_permissions never checks search permission
		// on directories during a path walk through cached names: only a
		// LOOKUP reaching the bridge does. When other users can enter the
		// mount, names are therefore not cached, so that every walk is
		// checked (the cost of p2k-side checks; default_permissions keeps
		// the cache and lets the kernel check).
		cfg.EntryTimeout = 0
	}
	b, err := NewBridge(m, cfg)
	if err != nil {
		return nil, err
	}
	opts := fuseOptions(cfg, fl)
	srv, err := fuse.NewServer(b, mountpoint, opts)
	if err != nil {
		b.Shutdown()
		return nil, mountError(mountpoint, err)
	}
	s := &Server{b: b, srv: srv, mountpoint: mountpoint, done: make(chan struct{})}
	go func() {
		srv.Serve()
		b.Shutdown()
		s.finish()
	}()
	if err := srv.WaitMount(); err != nil {
		s.Unmount()
		return nil, fmt.Errorf("%s: mount did not come up: %w", mountpoint, err)
	}
	if !cfg.DirectIO {
		setReadahead(mountpoint, 1024)
	}
	if cfg.SyncInterval > 0 && !m.ReadOnly() {
		go s.syncer(cfg.SyncInterval)
	}
	return s, nil
}

// syncer flushes the mount every interval while it is served, as NetBSD's
// syncer thread does in the rump kernel.
func (s *Server) syncer(interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			if err := s.b.Sync(); err != nil {
				s.b.logf("p2k: sync: %v", err)
			}
		}
	}
}

// setReadahead raises the kernel's readahead window for the mount (a
// FUSE connection starts with 128 KiB, whatever FUSE_INIT asked): with
// 1 MiB windows a sequential read reaches the daemon as 1 MiB requests,
// several times faster. Best effort: it needs root and sysfs.
func setReadahead(mountpoint string, kb int) {
	var st unix.Stat_t
	if err := unix.Stat(mountpoint, &st); err != nil {
		return
	}
	bdi := fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", unix.Major(st.Dev), unix.Minor(st.Dev))
	os.WriteFile(bdi, []byte(strconv.Itoa(kb)), 0)
}

// mountError makes go-fuse's mount failures one readable line.
func mountError(mountpoint string, err error) error {
	var e syscall.Errno
	if errors.As(err, &e) {
		return fmt.Errorf("%s: cannot mount: %w", mountpoint, e)
	}
	return fmt.Errorf("%s: cannot mount: %v", mountpoint, err)
}

// fuseOptions turns the configuration into go-fuse's mount options.
func fuseOptions(cfg Config, fl MountFlags) *fuse.MountOptions {
	o := &fuse.MountOptions{
		AllowOther:    fl.AllowOther,
		FsName:        fl.FsName,
		Name:          fl.Subtype,
		MaxBackground: 64,
		// 1 MiB requests: data moves between the image and the kernel in
		// large runs (go-fuse caps this at the kernel's limit).
		MaxWrite:     1 << 20,
		MaxReadAhead: 1 << 20,
		// The daemon is the only writer: symlink targets never change
		// behind the kernel's back.
		EnableSymlinkCaching: cfg.EntryTimeout > 0,
		// O_TRUNC comes with OPEN (one request, our permission check),
		// READDIRPLUS only when the kernel expects lookups to follow.
		//
		// Not CAP_WRITEBACK_CACHE: it does not batch small files. With it
		// close(2) still writes the file's dirty pages synchronously
		// (fuse_flush runs write_inode_now even with FOPEN_NOFLUSH) and
		// adds a SETATTR for the kernel's mtime, so `cp -r` of 3,000
		// small files took 720-730 ms against 600-625 ms without
		// (Linux 6.18). Not CAP_HANDLE_KILLPRIV_V2 either: the kernel
		// still asks GETXATTR security.capability before the first write
		// of each new inode (S_NOSEC is only set after that check), so it
		// saves no round trip and would move set-id clearing here.
		ExtraCapabilities: fuse.CAP_ATOMIC_O_TRUNC | fuse.CAP_READDIRPLUS_AUTO,
		Logger:            log.New(logWriter{cfg.Logf}, "", 0),
		// Replies are built from memory (ReadResultData); splicing buys
		// nothing and 1 MiB replies do not fit a pipe anyway.
		DisableSplice: true,
	}
	if cfg.DirectIO {
		o.ExtraCapabilities |= fuse.CAP_DIRECT_IO_ALLOW_MMAP
	}
	if fl.Subtype == "" {
		o.Name = "p2k"
	}
	if cfg.DefaultPermissions {
		o.Options = append(o.Options, "default_permissions")
	}
	if os.Geteuid() == 0 {
		// As root, mount(2) directly, with the flags as flags: the kernel
		// rejects "noatime" and friends as option strings.
		o.DirectMountStrict = true
		var f uintptr
		if fl.ReadOnly {
			f |= syscall.MS_RDONLY
		}
		if fl.NoAtime {
			f |= syscall.MS_NOATIME
		}
		if fl.NoExec {
			f |= syscall.MS_NOEXEC
		}
		if fl.Sync {
			f |= syscall.MS_SYNCHRONOUS
		}
		if !fl.Suid {
			f |= syscall.MS_NOSUID
		}
		if !fl.Dev {
			f |= syscall.MS_NODEV
		}
		if f == 0 {
			f = syscall.MS_MGC_VAL // zero would mean go-fuse's defaults
		}
		o.DirectMountFlags = f
		return o
	}
	// Otherwise through fusermount3, which takes them as strings (and
	// forces nosuid,nodev for users).
	for _, kv := range []struct {
		on   bool
		name string
	}{{fl.ReadOnly, "ro"}, {fl.NoAtime, "noatime"}, {fl.NoExec, "noexec"}, {fl.Sync, "sync"}, {!fl.Suid, "nosuid"}, {!fl.Dev, "nodev"}} {
		if kv.on {
			o.Options = append(o.Options, kv.name)
		}
	}
	return o
}

// logWriter sends go-fuse's own log lines to Config.Logf.
type logWriter struct{ logf func(string, ...any) }

func (w logWriter) Write(p []byte) (int, error) {
	if w.logf != nil {
		w.logf("%s", string(trimNL(p)))
	}
	return len(p), nil
}

func trimNL(p []byte) []byte {
	for len(p) > 0 && p[len(p)-1] == '\n' {
		p = p[:len(p)-1]
	}
	return p
}

// Bridge returns the server's bridge.
func (s *Server) Bridge() *Bridge { return s.b }

// Mountpoint returns the absolute mount point.
func (s *Server) Mountpoint() string { return s.mountpoint }

// Wait blocks until the file system is unmounted and every vnode
// reference has been given back.
func (s *Server) Wait() { <-s.done }

// Done is closed when Wait would return.
func (s *Server) Done() <-chan struct{} { return s.done }

// Unmount unmounts the file system and waits for the server to stop. When
// the mount point is busy it is detached lazily (as `umount -l`) and the
// FUSE connection aborted through fusectl if that is mounted; otherwise
// the bridge is shut down (later requests get EIO) and the connection
// ends when the process exits, as the kernel aborts a FUSE connection
// whose device is closed. Either way Wait returns and the daemon can flush
// the image and exit.
func (s *Server) Unmount() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	conn := connectionID(s.mountpoint)
	if err := s.srv.Unmount(); err != nil {
		var derr error
		if os.Geteuid() == 0 {
			derr = syscall.Unmount(s.mountpoint, syscall.MNT_DETACH)
		} else {
			derr = fusermount("-u", "-z", s.mountpoint)
		}
		if derr != nil && mountedAt(s.mountpoint) {
			return fmt.Errorf("%s: cannot unmount: %v", s.mountpoint, err)
		}
		wait := 100 * time.Millisecond
		if abortConnection(conn) {
			wait = 5 * time.Second
		}
		select {
		case <-s.done:
		case <-time.After(wait):
			s.b.Shutdown()
			s.finish()
		}
	}
	<-s.done
	return nil
}

// finish marks the server stopped.
func (s *Server) finish() { s.once.Do(func() { close(s.done) }) }

// mountedAt reports whether mountpoint appears in /proc/self/mounts.
func mountedAt(mountpoint string) bool {
	data, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return true
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 1 && unescapeMount(f[1]) == mountpoint {
			return true
		}
	}
	return false
}

// unescapeMount undoes the octal escapes of /proc/mounts (\040 for space).
func unescapeMount(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// connectionID finds the FUSE connection number of the mount (the minor
// device number of the mount point), -1 if unknown.
func connectionID(mountpoint string) int {
	var st unix.Stat_t
	if err := unix.Stat(mountpoint, &st); err != nil {
		return -1
	}
	return int(unix.Minor(st.Dev))
}

// abortConnection aborts FUSE connection id through fusectl, if mounted.
func abortConnection(id int) bool {
	if id < 0 {
		return false
	}
	f, err := os.OpenFile("/sys/fs/fuse/connections/"+strconv.Itoa(id)+"/abort", os.O_WRONLY, 0)
	if err != nil {
		return false
	}
	_, err = f.Write([]byte("1"))
	f.Close()
	return err == nil
}

// fusermount runs fusermount3 (or fusermount) with args.
func fusermount(args ...string) error {
	for _, bin := range []string{"fusermount3", "fusermount"} {
		if p, err := exec.LookPath(bin); err == nil {
			return exec.Command(p, args...).Run()
		}
	}
	return errors.New("fusermount3 not found")
}
