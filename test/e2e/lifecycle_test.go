package e2e

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/rumpfs/rumpfs/internal/fixture"
)

// TestDaemonLifecycle checks DESIGN.md's daemon contract end to end:
// SIGTERM, SIGINT and umount(8) each end the detached daemon with exit 0
// and leave no mount behind.
func TestDaemonLifecycle(t *testing.T) {
	fixture.RequireRoot(t)
	fixture.RequireFUSE(t)
	img, _ := fxSmall.Build(t)
	for _, how := range []string{"SIGTERM", "SIGINT", "umount"} {
		t.Run(how, func(t *testing.T) {
			m := fixture.Mount(t, daemon, img)
			if m.PID == 0 {
				t.Fatal("no daemon process found")
			}
			if _, err := os.ReadFile(m.Path("small.txt")); err != nil {
				t.Fatalf("mount not serving: %v", err)
			}
			switch how {
			case "SIGTERM":
				syscall.Kill(m.PID, syscall.SIGTERM)
			case "SIGINT":
				syscall.Kill(m.PID, syscall.SIGINT)
			case "umount":
				if out, err := exec.Command("umount", m.Dir).CombinedOutput(); err != nil {
					t.Fatalf("umount: %v: %s", err, out)
				}
			}
			// The mount must go away by itself.
			deadline := time.Now().Add(10 * time.Second)
			for fixture.MountOptions(m.Dir) != "" && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if fixture.MountOptions(m.Dir) != "" {
				t.Errorf("%s: %s still mounted after 10s", how, m.Dir)
			}
			if code := m.Unmount(t); code != 0 {
				t.Errorf("%s: daemon exited %d, want 0; log:\n%s", how, code, m.Stderr())
			}
		})
	}
}
