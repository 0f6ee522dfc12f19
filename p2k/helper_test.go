package p2k

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// requireFUSE skips (or, with CI=true, fails) a test that needs root and
// /dev/fuse.
func requireFUSE(t *testing.T) {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "not root"
	} else if _, err := os.Stat("/dev/fuse"); err != nil {
		why = "no /dev/fuse"
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("FUSE test cannot run: %s", why)
	}
	t.Skipf("FUSE test skipped: %s", why)
}

// TestHelperServe is not a test: run by startServer in a subprocess, it
// serves a counting memfs through the bridge on $P2K_TEST_SERVE until
// unmounted or signalled, writing reference statistics to $P2K_TEST_STATS
// on SIGUSR1 and at exit.
func TestHelperServe(t *testing.T) {
	mnt := os.Getenv("P2K_TEST_SERVE")
	if mnt == "" {
		t.Skip("helper process only")
	}
	stats := os.Getenv("P2K_TEST_STATS")
	opts := os.Getenv("P2K_TEST_OPTS")
	fs := newCountFS()
	cfg := Config{
		EntryTimeout: time.Second,
		AttrTimeout:  time.Second,
		KeepCache:    true,
		Logf: func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, format+"\n", args...)
		},
	}
	var fl MountFlags
	fl.FsName = "memfs"
	fl.Subtype = "memfs"
	for _, o := range strings.Split(opts, ",") {
		switch o {
		case "default_permissions":
			cfg.DefaultPermissions = true
		case "allow_other":
			fl.AllowOther = true
		case "ro":
			fs.SetReadOnly(true)
			fl.ReadOnly = true
		case "nocache":
			// P2K_NOCACHE: no name, attribute or page cache.
			cfg.EntryTimeout, cfg.AttrTimeout, cfg.KeepCache, cfg.DirectIO = 0, 0, false, true
		case "sync":
			cfg.SyncInterval = 50 * time.Millisecond
		case "wizard":
			cfg.HasWizard, cfg.WizardUID = true, 0
		case "debug":
			cfg.Debug = true
		}
	}
	srv, err := Serve(fs, mnt, cfg, fl)
	if err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(2)
	}
	writeStats := func() {
		s := fmt.Sprintf("refs=%d nodes=%d bad=%d syncs=%d\n", fs.refs.Load(), srv.Bridge().Nodes(), fs.bad.Load(), fs.syncs.Load())
		os.WriteFile(stats+".tmp", []byte(s), 0644)
		os.Rename(stats+".tmp", stats)
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1)
	fmt.Println("ready")
	for {
		select {
		case s := <-sigs:
			if s == syscall.SIGUSR1 {
				writeStats()
				continue
			}
			if err := srv.Unmount(); err != nil {
				fmt.Fprintln(os.Stderr, "unmount:", err)
			}
		case <-srv.Done():
			writeStats()
			os.Exit(0)
		}
	}
}

// server is a memfs served by a helper subprocess.
type server struct {
	mnt   string
	stats string
	cmd   *exec.Cmd
	exit  chan error
}

// startServer mounts a fresh memfs with the given comma-separated options
// (default_permissions, allow_other, ro, nocache) and returns once it is
// live. It is unmounted in t.Cleanup.
func startServer(t *testing.T, opts string) *server {
	t.Helper()
	requireFUSE(t)
	dir := t.TempDir()
	mnt := filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0755); err != nil {
		t.Fatal(err)
	}
	s := &server{mnt: mnt, stats: filepath.Join(dir, "stats"), exit: make(chan error, 1)}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperServe$", "-test.v=false")
	cmd.Env = append(os.Environ(), "P2K_TEST_SERVE="+mnt, "P2K_TEST_STATS="+s.stats, "P2K_TEST_OPTS="+opts)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.cmd = cmd
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := false
		for sc.Scan() {
			if sc.Text() == "ready" && !ok {
				ok = true
				ready <- true
			}
		}
		if !ok {
			ready <- false
		}
		s.exit <- cmd.Wait()
	}()
	t.Cleanup(func() { s.stop(t) })
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("server did not start")
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("server did not start in time")
	}
	return s
}

// unmountPath unmounts mnt with fusermount3 -u, lazily if busy.
func unmountPath(mnt string) {
	if !mounted(mnt) {
		return
	}
	if exec.Command("fusermount3", "-u", mnt).Run() != nil {
		exec.Command("fusermount3", "-u", "-z", mnt).Run()
	}
}

// mounted reports whether mnt is a mount point in /proc/mounts.
func mounted(mnt string) bool {
	data, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && f[1] == mnt {
			return true
		}
	}
	return false
}

// stop unmounts and waits for the server; it is idempotent.
func (s *server) stop(t *testing.T) {
	unmountPath(s.mnt)
	select {
	case <-s.exit:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exit
		t.Errorf("server did not exit after unmount")
	}
	s.exit <- nil // let a later stop return at once
}

// wait waits for the server to exit and returns its error.
func (s *server) wait(t *testing.T) error {
	select {
	case err := <-s.exit:
		s.exit <- err
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("server did not exit")
		return nil
	}
}

// refStats asks the server for its reference counts.
func (s *server) refStats(t *testing.T) (refs, nodes, bad int) {
	t.Helper()
	os.Remove(s.stats)
	s.cmd.Process.Signal(syscall.SIGUSR1)
	return s.readStats(t)
}

func (s *server) readStats(t *testing.T) (refs, nodes, bad int) {
	t.Helper()
	refs, nodes, bad, _ = s.readAllStats(t)
	return
}

func (s *server) readAllStats(t *testing.T) (refs, nodes, bad, syncs int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		data, err := os.ReadFile(s.stats)
		if err == nil {
			if _, err := fmt.Sscanf(string(data), "refs=%d nodes=%d bad=%d syncs=%d", &refs, &nodes, &bad, &syncs); err != nil {
				t.Fatalf("stats %q: %v", data, err)
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no stats from server")
	return
}
