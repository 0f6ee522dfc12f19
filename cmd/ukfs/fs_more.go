package main

// ext2/ext3 and FAT are linked in for every command, next to cd9660
// (main.go) and FFS (fs_ffs.go).
import (
	_ "github.com/rumpfs/rumpfs/fs/ext2fs"
	_ "github.com/rumpfs/rumpfs/fs/msdosfs"
)
