package kern

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/vfs"
)

func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI: %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
}

func TestMountRefusesPartitionedImage(t *testing.T) {
	needTool(t, "sfdisk")
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(img, make([]byte, 4<<20), 0644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sfdisk", "-q", img)
	cmd.Stdin = strings.NewReader("2048,2048,83\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sfdisk: %v\n%s", err, out)
	}
	k := New()
	_, err := k.Mount(img, "", nil)
	if err == nil {
		t.Fatal("mounted a partitioned image without a file system")
	}
	for _, want := range []string{img, "partition table", "%MBR:1% start 1048576 size 1048576"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestMountErrors(t *testing.T) {
	k := New()
	dir := t.TempDir()
	_, err := k.Mount(filepath.Join(dir, "none.img"), "", nil)
	if err == nil || !strings.Contains(err.Error(), "none.img: no such file or directory") {
		t.Errorf("missing image: %v", err)
	}
	img := filepath.Join(dir, "zero.img")
	os.WriteFile(img, make([]byte, 64<<10), 0644)
	if _, err := k.Mount(img, "nosuchfs", nil); err == nil || !strings.Contains(err.Error(), `unknown file system type "nosuchfs"`) {
		t.Errorf("unknown type: %v", err)
	}
	if _, err := k.Mount(img, "", vfs.Options{"ro": ""}); err == nil || !strings.Contains(err.Error(), "no known file system") {
		t.Errorf("zero image: %v", err)
	}
	if len(k.Mounts()) != 0 {
		t.Error("failed mounts left behind")
	}
}
