// The ext2fs file system (ext2, ext3; ext4 read-only) is linked into ukfs.
package main

import _ "github.com/rumpfs/rumpfs/fs/ext2fs"
