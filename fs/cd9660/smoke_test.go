package cd9660

import (
	"path/filepath"
	"testing"
)

func TestSmoke(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeFile(t, filepath.Join(src, "a.txt"), []byte("hello\n"))
	writeFile(t, filepath.Join(src, "d/f"), []byte("x"))
	iso := filepath.Join(dir, "x.iso")
	mkiso(t, "xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-o", iso, src)
	m := mountFile(t, iso, "")
	compareTree(t, m, src, true)
}
