package ninep

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hugelgupf/p9/p9"

	"github.com/rumpfs/rumpfs/internal/fixture"
)

// buildDaemon builds cmd/rump_ext2fs once per test binary run.
func buildDaemon(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rump_ext2fs")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/rumpfs/rumpfs/cmd/rump_ext2fs")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build rump_ext2fs: %v\n%s", err, out)
	}
	return bin
}

// startDaemon runs `rump_ext2fs -f args...` and waits for its socket.
func startDaemon(t *testing.T, bin, sock string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return cmd
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("daemon did not listen on %s: %s", sock, stderr.String())
	return nil
}

func stopDaemon(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("daemon exit: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("daemon did not end on SIGTERM")
	}
}

// rump_ext2fs --serve with no mount point exports the image over 9P;
// SIGTERM ends it with the image clean; -o ro exports read-only.
func TestDaemonServe(t *testing.T) {
	fixture.Require(t, "mkfs.ext2", "e2fsck")
	bin := buildDaemon(t)
	dir := t.TempDir()
	img := filepath.Join(dir, "ext2.img")
	fixture.MkfsExt(t, img, "ext2", 16, "")
	sock := filepath.Join(dir, "s")

	cmd := startDaemon(t, bin, sock, "-f", "--serve", "unix://"+sock, img)
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0600 {
		t.Errorf("socket: %v %v, want mode 0600", fi, err)
	}
	c, root, _ := dial(t, sock)
	copyTree(t, root, "t")
	checkTree(t, root, "t")
	root.Close()
	c.Close()
	stopDaemon(t, cmd)
	fixture.E2fsck(t, img)

	cmd = startDaemon(t, bin, sock, "-f", "-o", "ro", "--serve", "unix://"+sock, img)
	c, root, _ = dial(t, sock)
	checkTree(t, root, "t")
	if _, err := root.Mkdir("x", 0755, p9.NoUID, p9.NoGID); !isErr(err, syscall.EROFS) {
		t.Errorf("mkdir on -o ro export: %v, want EROFS", err)
	}
	root.Close()
	c.Close()
	stopDaemon(t, cmd)

	// A bad address is a usage error before anything is mounted.
	out, err := exec.Command(bin, "-f", "--serve", "http://x", img).CombinedOutput()
	if err == nil || !bytes.Contains(out, []byte("--serve")) {
		t.Errorf("bad --serve address: %v %s", err, out)
	}
}
