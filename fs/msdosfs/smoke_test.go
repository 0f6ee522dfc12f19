package msdosfs

import (
	"path/filepath"
	"testing"
)

func TestSmoke(t *testing.T) {
	for _, ft := range []string{"12", "16", "32"} {
		t.Run("FAT"+ft, func(t *testing.T) {
			img := mkfs(t, 40000, "-F", ft)
			src := t.TempDir()
			writeFile(t, filepath.Join(src, "hello.txt"), []byte("hello\n"))
			writeFile(t, filepath.Join(src, "A Long Name with spaces.text"), []byte("long"))
			writeFile(t, filepath.Join(src, "sub/dir/deep.bin"), make([]byte, 100000))
			mcopyIn(t, img, src)
			tm := mountImg(t, img, true, "")
			compareTrees(t, tm.readTree(t), hostTree(t, src), true)
			tm.unmount(t)
		})
	}
}
