package main

// The fat section (issue 4, "Speed"): one FAT32 image (mkfs.fat -F 32,
// filled by mcopy -s) served by rump_msdos and fusefat (-o ro for reads,
// rw+ for writes), and, as the reference for reads, the Linux
// kernel's ext2 driver reading the same large file from an ext2 image of
// the same tree. fusefat takes minutes to copy in 10,000 files, so it
// copies in -peer-copy-files of them and its time is scaled (said in the
// output).

import (
	"fmt"
	"os"
	"path/filepath"
)

func fatSection() section {
	s := &rwSection{
		name:   "fat",
		need:   []string{"mkfs.fat", "mcopy", "fusermount3", "tar", "find", "cp", "sync"},
		pkgs:   []string{"dosfstools", "mtools", "fuse3", "tar", "findutils", "coreutils"},
		build:  []string{"rump_msdos"},
		images: []*rwImage{fatImage(), ext2Image()},
		tools: []rwTool{
			rumpTool("rump_msdos", "fat32"),
			{name: "fusefat", image: "fat32", scale: true, need: []string{"fusefat"}, pkgs: []string{"fusefat"},
				mount: func(e *env, img, mnt string, rw bool) (*target, error) {
					opt := "ro"
					if rw {
						opt = "rw+"
					}
					return fuseMount("fusefat", []string{"-o", opt, img, mnt}, mnt)
				}},
			func() rwTool { t := kernelExt2(); t.ops = []string{"read"}; return t }(),
		},
		targets: []rwTarget{
			{op: "read", tool: "rump_msdos", peer: "fusefat", min: 20, text: "read ≥ 20× fusefat"},
			{op: "read", tool: "rump_msdos", peer: "kernel-ext2", min: 0.8, text: "read ≥ 0.8× kernel ext2"},
			{op: "copyin", tool: "rump_msdos", peer: "fusefat", min: 10, text: "copy-in ≥ 10× faster than fusefat"},
		},
		maxRSS: 200 << 20,
	}
	return s.section()
}

// fatImage is a FAT32 volume made by mkfs.fat and filled by mcopy -s.
func fatImage() *rwImage {
	mk := func(img string, size int64) error {
		os.Remove(img)
		return runCmd("mkfs.fat", "-C", "-F", "32", img, fmt.Sprint(size>>10))
	}
	return &rwImage{
		name: "fat32",
		from: func(e *env, src, img string, size int64) error {
			if err := mk(img, size); err != nil {
				return err
			}
			return runCmd("mcopy", "-s", "-i", img, filepath.Join(src, "big.bin"), filepath.Join(src, "small"), "::/")
		},
		empty: func(e *env, img string, size int64) error { return mk(img, size) },
	}
}
