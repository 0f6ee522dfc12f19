package main

// The ext2 and ext4 sections (issue 3 and issue 7, "Speed"): one image made
// by mke2fs -d (ext2, or ext4 with mkfs.ext4's default features) served by
// rump_ext2fs, fuse2fs (-o ro for reads, rw for writes) and the Linux
// kernel's driver on a loop device (root only). Both have the same targets.

func ext2Section() section { return extSection("ext2") }

func ext4Section() section { return extSection("ext4") }

func extSection(typ string) section {
	kernel := "kernel-" + typ
	s := &rwSection{
		name:   typ,
		need:   []string{"mke2fs", "fusermount3", "tar", "find", "cp", "sync"},
		pkgs:   []string{"e2fsprogs", "fuse3", "tar", "findutils", "coreutils"},
		build:  []string{"rump_ext2fs"},
		images: []*rwImage{extImage(typ)},
		tools: []rwTool{
			rumpTool("rump_ext2fs", typ),
			{name: "fuse2fs", image: typ, need: []string{"fuse2fs"}, pkgs: []string{"fuse2fs"},
				mount: func(e *env, img, mnt string, rw bool) (*target, error) {
					opt := "ro"
					if rw {
						opt = "rw"
					}
					return fuseMount("fuse2fs", []string{img, mnt, "-o", opt}, mnt)
				}},
			kernelExt(typ),
		},
		targets: []rwTarget{
			{op: "read", tool: "rump_ext2fs", peer: kernel, min: 0.9, text: "read ≥ 0.9× kernel"},
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
