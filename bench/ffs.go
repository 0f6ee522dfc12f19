package main

// The ffs section (issue 5, "Speed"): rump_ffs on a UFS2 image made by
// makefs from the tree, beside the Linux kernel's ext2 driver (loop mount,
// root only) on an ext2 image of the same tree. Write images are empty
// UFS2 images made by makefs -s.

import (
	"fmt"
	"os"
)

func ffsSection() section {
	s := &rwSection{
		name:   "ffs",
		need:   []string{"makefs", "mke2fs", "fusermount3", "tar", "find", "cp", "sync"},
		pkgs:   []string{"makefs", "e2fsprogs", "fuse3", "tar", "findutils", "coreutils"},
		build:  []string{"rump_ffs"},
		images: []*rwImage{ufs2Image(), ext2Image()},
		tools: []rwTool{
			rumpTool("rump_ffs", "ufs2"),
			kernelExt2(),
		},
		targets: []rwTarget{
			{op: "read", tool: "rump_ffs", peer: "kernel-ext2", min: 0.8, text: "read ≥ 0.8× kernel"},
			{op: "write", tool: "rump_ffs", peer: "kernel-ext2", min: 0.5, text: "write within 2× kernel's time"},
			{op: "walk", tool: "rump_ffs", peer: "kernel-ext2", min: 0.5, text: "walk within 2× kernel's time"},
			{op: "copyin", tool: "rump_ffs", peer: "kernel-ext2", min: 0.5, text: "copy-in within 2× kernel's time"},
		},
		maxRSS: 200 << 20,
	}
	return s.section()
}

// ufs2Image is a UFS2 file system made by makefs (-s: a fixed size, so
// that write images have room).
func ufs2Image() *rwImage {
	mk := func(e *env, img string, size int64, src string) error {
		os.Remove(img)
		if src == "" {
			dir, err := os.MkdirTemp("", "bench-empty")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			src = dir
		}
		// makefs sizes the inode count to the tree; -f leaves room for
		// the copy-in (an empty tree would get a handful of inodes).
		// 32 KiB blocks with 4 KiB fragments, newfs's default at this
		// size: with makefs's own default (8 KiB/1 KiB) the Debian
		// makefs left one of the 10,000 files' inodes zeroed on disk
		// while its directory entry and the inode map name it (ukfs
		// fsck -n: "names unallocated inode"), so that file gave EIO.
		return runCmd("makefs", "-t", "ffs", "-o", "version=2,bsize=32768,fsize=4096", "-s", fmt.Sprint(size), "-f", fmt.Sprint(2*e.cfg.files+1000), img, src)
	}
	return &rwImage{
		name:  "ufs2",
		from:  func(e *env, src, img string, size int64) error { return mk(e, img, size, src) },
		empty: func(e *env, img string, size int64) error { return mk(e, img, size, "") },
	}
}
