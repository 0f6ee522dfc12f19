package main

// The ext2 section (issue 3, "Speed"): one ext2 image made by mkfs.ext2 -d
// served by rump_ext2fs, fuse2fs (-o ro for reads, rw for writes) and the
// Linux kernel's driver on a loop device (root only).

func ext2Section() section {
	s := &rwSection{
		name:   "ext2",
		need:   []string{"mke2fs", "fusermount3", "tar", "find", "cp", "sync"},
		pkgs:   []string{"e2fsprogs", "fuse3", "tar", "findutils", "coreutils"},
		build:  []string{"rump_ext2fs"},
		images: []*rwImage{ext2Image()},
		tools: []rwTool{
			rumpTool("rump_ext2fs", "ext2"),
			{name: "fuse2fs", image: "ext2", need: []string{"fuse2fs"}, pkgs: []string{"fuse2fs"},
				mount: func(e *env, img, mnt string, rw bool) (*target, error) {
					opt := "ro"
					if rw {
						opt = "rw"
					}
					return fuseMount("fuse2fs", []string{img, mnt, "-o", opt}, mnt)
				}},
			kernelExt2(),
		},
		targets: []rwTarget{
			{op: "read", tool: "rump_ext2fs", peer: "kernel-ext2", min: 0.9, text: "read ≥ 0.9× kernel"},
			{op: "read", tool: "rump_ext2fs", peer: "fuse2fs", min: 1, text: "read above fuse2fs"},
			{op: "write", tool: "rump_ext2fs", peer: "fuse2fs", min: 1, text: "write faster than fuse2fs"},
			{op: "copyin", tool: "rump_ext2fs", peer: "fuse2fs", min: 1, text: "copy-in faster than fuse2fs"},
			{op: "walk", tool: "rump_ext2fs", peer: "fuse2fs", min: 1 / 0.7, text: "walk ≤ 0.7× fuse2fs's time"},
			{op: "tar", tool: "rump_ext2fs", peer: "fuse2fs", min: 1 / 0.7, text: "tar ≤ 0.7× fuse2fs's time"},
		},
		maxRSS: 200 << 20,
	}
	return s.section()
}
