package main

// FFS (UFS1 and UFS2) is linked in for every command, fsck's checker
// included.
import _ "github.com/rumpfs/rumpfs/fs/ffs"
