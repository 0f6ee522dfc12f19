package dev

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// attachLoop attaches img to a free loop device with the given logical
// sector size and detaches it at cleanup. It needs root and losetup.
func attachLoop(t *testing.T, img string, sectorSize string) string {
	t.Helper()
	losetup := needTool(t, "losetup")
	if os.Getuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("loop devices need root under CI=true")
		}
		t.Skip("loop devices need root")
	}
	out, err := exec.Command(losetup, "-f", "--show", "-b", sectorSize, img).CombinedOutput()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("losetup: %v: %s", err, out)
		}
		t.Skipf("losetup: %v: %s", err, out)
	}
	loop := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command(losetup, "-d", loop).Run() })
	return loop
}

// A block device: its size and sector size come from the kernel
// (BLKGETSIZE64, BLKSSZGET), and a 4096-byte-sector GPT is found on it.
func TestBlockDevice(t *testing.T) {
	data := buildGPT(4<<20, 4096, 128, []testGPTPart{{linuxFSGUID, 256, 511, "blk"}})
	copy(data[256*4096:], "PART1")
	img := writeImage(t, data)
	loop := attachLoop(t, img, "4096")

	d, err := Open(loop, false)
	if err != nil {
		t.Fatal(err)
	}
	if d.Size() != 4<<20 || d.SectorSize() != 4096 {
		t.Errorf("size %d sector %d", d.Size(), d.SectorSize())
	}
	d.Close()
	checkWindow(t, loop+"%GPT:1%", 1, 256*4096)

	w, err := Open(loop+"%GPT:1%", false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	_, err = Open(loop, true)
	wantErr(t, err, "image is in use by pid")
}
