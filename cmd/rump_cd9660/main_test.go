package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rumpfs/rumpfs/dev"
	"github.com/rumpfs/rumpfs/internal/fixture"
)

func TestMain(m *testing.M) { os.Exit(fixture.Main(m)) }

// makeISO builds an ISO with Rock Ridge and Joliet from a small tree.
func makeISO(t *testing.T) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "tree")
	for path, data := range map[string]string{
		"hello.txt":          "hello, world\n",
		"dir/nested.txt":     "nested\n",
		"dir/deeper/big.bin": strings.Repeat("0123456789abcdef", 40000),
	} {
		p := filepath.Join(src, path)
		if err := os.MkdirAll(filepath.Dir(p), 0755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("hello.txt", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	iso := fixture.TempImage(t, "disk.iso")
	fixture.ISO(t, iso, "xorriso", []string{"-R", "-J"}, src)
	return iso
}

// TestDetachWhenLive: the command returns 0 only once the mount serves
// the image, and unmounting ends the server with status 0.
func TestDetachWhenLive(t *testing.T) {
	iso := makeISO(t)
	r := fixture.Start(t, "rump_cd9660", []string{iso}, nil)
	if r.Exit != 0 {
		t.Fatalf("exit %d: %s", r.Exit, r.Stderr)
	}
	m := r.Mount
	// No waiting: the files are there the moment the command returned.
	ents, err := os.ReadDir(m.Dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != "dir hello.txt link" {
		t.Errorf("root lists %q", got)
	}
	if b, err := os.ReadFile(m.Path("hello.txt")); err != nil || string(b) != "hello, world\n" {
		t.Errorf("hello.txt: %q %v", b, err)
	}
	if b, err := os.ReadFile(m.Path("dir/deeper/big.bin")); err != nil || !bytes.Equal(b, []byte(strings.Repeat("0123456789abcdef", 40000))) {
		t.Errorf("big.bin: %d bytes, %v", len(b), err)
	}
	if target, err := os.Readlink(m.Path("link")); err != nil || target != "hello.txt" {
		t.Errorf("link: %q %v", target, err)
	}
	if err := os.WriteFile(m.Path("new"), []byte("x"), 0644); !errors.Is(err, syscall.EROFS) {
		t.Errorf("write on cd9660: %v, want EROFS", err)
	}
	if opts := fixture.MountOptions(m.Dir); !strings.HasPrefix(opts, "ro") {
		t.Errorf("mount options %q, want ro", opts)
	}
	if code := m.Unmount(t); code != 0 {
		t.Errorf("server exit status %d after unmount", code)
	}
}

// TestReadWriteIgnored: -o rw is ignored, as NetBSD's mount_cd9660
// always mounts read-only.
func TestReadWriteIgnored(t *testing.T) {
	iso := makeISO(t)
	m := fixture.Mount(t, "rump_cd9660", iso, "-o", "rw")
	if opts := fixture.MountOptions(m.Dir); !strings.HasPrefix(opts, "ro") {
		t.Errorf("mount options %q, want ro", opts)
	}
}

// TestBadImage: a file that is no ISO is refused with one line on stderr
// and a non-zero status, and nothing stays mounted.
func TestBadImage(t *testing.T) {
	bad := fixture.TempImage(t, "junk.iso")
	if err := os.WriteFile(bad, bytes.Repeat([]byte("junk"), 64<<10), 0644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{bad}, {"-f", bad}, {bad + ".missing"}} {
		r := fixture.Start(t, "rump_cd9660", args, nil)
		if r.Exit == 0 {
			t.Fatalf("%v: exit 0", args)
		}
		msg := strings.TrimRight(r.Stderr, "\n")
		if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "rump_cd9660: ") || !strings.Contains(msg, filepath.Base(args[len(args)-1])) {
			t.Errorf("%v: stderr %q, want one line naming the image", args, r.Stderr)
		}
	}
}

// TestBadOptions: unknown options and bad usage are refused before
// detaching.
func TestBadOptions(t *testing.T) {
	iso := makeISO(t)
	r := fixture.Start(t, "rump_cd9660", []string{"-o", "bogus", iso}, nil)
	if r.Exit == 0 || !strings.Contains(r.Stderr, "bogus") {
		t.Errorf("-o bogus: exit %d, stderr %q", r.Exit, r.Stderr)
	}
	bin := fixture.Bin(t, "rump_cd9660")
	out, err := exec.Command(bin).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "usage:") {
		t.Errorf("no arguments: %v %q", err, out)
	}
	out, err = exec.Command(bin, "-h").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "norrip") {
		t.Errorf("-h: %v %q", err, out)
	}
}

// TestImageInUse: an image locked for writing by another user is refused
// with "in use". (Read-only mounts share an image, as NetBSD's ukfs read
// locks do, so two rump_cd9660 of one image both work.)
func TestImageInUse(t *testing.T) {
	iso := makeISO(t)
	d, err := dev.Open(iso, false)
	if err != nil {
		t.Fatal(err)
	}
	r := fixture.Start(t, "rump_cd9660", []string{iso}, nil)
	d.Close()
	if r.Exit == 0 || !strings.Contains(r.Stderr, "in use") || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
		t.Errorf("image locked: exit %d, stderr %q", r.Exit, r.Stderr)
	}
	m1 := fixture.Mount(t, "rump_cd9660", iso)
	m2 := fixture.Mount(t, "rump_cd9660", iso)
	for _, m := range []*fixture.Mounted{m1, m2} {
		if _, err := os.Stat(m.Path("hello.txt")); err != nil {
			t.Error(err)
		}
	}
}

// TestSignal: SIGTERM to the detached server unmounts and exits 0.
func TestSignal(t *testing.T) {
	iso := makeISO(t)
	m := fixture.Mount(t, "rump_cd9660", iso)
	if m.PID == 0 {
		t.Fatal("server process not found")
	}
	if err := syscall.Kill(m.PID, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for fixture.MountOptions(m.Dir) != "" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if fixture.MountOptions(m.Dir) != "" {
		t.Fatalf("%s still mounted after SIGTERM", m.Dir)
	}
	if code := m.Unmount(t); code != 0 {
		t.Errorf("server exit status %d after SIGTERM", code)
	}
}

// TestForegroundDebug: -f stays in the foreground, P2K_DEBUG logs one
// line per operation, and SIGINT ends it with status 0.
func TestForegroundDebug(t *testing.T) {
	fixture.RequireFUSE(t)
	iso := makeISO(t)
	bin := fixture.Bin(t, "rump_cd9660")
	mnt := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(mnt, 0755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-f", iso, mnt)
	cmd.Env = append(os.Environ(), "P2K_DEBUG=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if fixture.MountOptions(mnt) != "" {
			exec.Command("fusermount3", "-u", "-z", mnt).Run()
		}
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for fixture.MountOptions(mnt) == "" {
		select {
		case err := <-done:
			t.Fatalf("exited before mounting: %v: %s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("not mounted in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.ReadFile(filepath.Join(mnt, "dir", "nested.txt")); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Errorf("exit: %v: %s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not exit after SIGINT")
	}
	if fixture.MountOptions(mnt) != "" {
		t.Errorf("still mounted after SIGINT")
	}
	if log := stderr.String(); !strings.Contains(log, `LOOKUP`) || !strings.Contains(log, `"nested.txt": OK`) {
		t.Errorf("P2K_DEBUG log lacks the lookup:\n%s", log)
	}
}
