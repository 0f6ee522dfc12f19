// The msdos file system (FAT12, FAT16, FAT32) is linked into ukfs.
package main

import _ "github.com/rumpfs/rumpfs/fs/msdosfs"
