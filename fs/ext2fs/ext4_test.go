package ext2fs

import (
	"os"
	"testing"
)

// Read-write ext4 as mkfs.ext4 makes it: the write tests of ext2/ext3 run
// again on ext4 images, each ending with e2fsck -fn, debugfs and the
// kernel's ext4 driver reading the tree back.
var ext4WriteFixtures = []fixture{
	{name: "ext4-default", prog: "mkfs.ext4", sizeMB: 48, opts: []string{"-b", "4096"}},
	{name: "ext4-nojournal", prog: "mkfs.ext4", sizeMB: 48, opts: []string{"-b", "4096", "-O", "^has_journal"}},
	{name: "ext4-1k", prog: "mkfs.ext4", sizeMB: 48, opts: []string{"-b", "1024"}},
	{name: "ext4-I256", prog: "mkfs.ext4", sizeMB: 48, opts: []string{"-b", "2048", "-I", "256"}},
	{name: "ext4-no64bit", prog: "mkfs.ext4", sizeMB: 48, opts: []string{"-b", "4096", "-O", "^64bit"}},
	{name: "ext4-I128", prog: "mkfs.ext4", sizeMB: 48, opts: []string{"-b", "1024", "-I", "128"}},
	{name: "ext4-seed-orphanfile", prog: "mkfs.ext4", sizeMB: 48, opts: []string{"-b", "4096", "-O", "metadata_csum_seed,orphan_file"}},
	{name: "ext4-uninit_bg", prog: "mkfs.ext4", sizeMB: 48, opts: []string{"-b", "1024", "-O", "^metadata_csum,uninit_bg"}},
}

func TestExt4WriteScenario(t *testing.T) {
	needTool(t, "mkfs.ext4", "e2fsck", "debugfs")
	if os.Getuid() != 0 {
		t.Skip("the expected tree needs root (device nodes, chown, trusted.*)")
	}
	for _, fx := range ext4WriteFixtures {
		t.Run(fx.name, func(t *testing.T) { writeScenario(t, fx) })
	}
}
