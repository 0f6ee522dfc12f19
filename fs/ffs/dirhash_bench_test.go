package ffs

import (
	"fmt"
	"testing"

	"github.com/rumpfs/rumpfs/vfs"
)

// BenchmarkBigDir creates 5,000 files in one directory, looks each up
// and one absent name per file, then removes every other one and
// creates as many again (reusing the freed room): the case where a scan
// per operation grows with the directory and the hash does not.
func BenchmarkBigDir(b *testing.B) {
	const n = 5000
	for range b.N {
		b.StopTimer()
		img := makefs(b, variant{2, "le", 32768, 4096}, b.TempDir(), "64m", "-f", "12000")
		m := mountImg(b, img, false, "")
		root, err := m.Root()
		if err != nil {
			b.Fatal(err)
		}
		dv, err := root.(*node).Mkdir(vfs.RootCred, "d", 0o755)
		if err != nil {
			b.Fatal(err)
		}
		d := dv.(*node)
		b.StartTimer()
		for i := range n {
			c, err := d.Create(vfs.RootCred, fmt.Sprintf("file-%05d.txt", i), 0o644)
			if err != nil {
				b.Fatal(err)
			}
			c.Rele()
		}
		for i := range n {
			c, err := d.Lookup(fmt.Sprintf("file-%05d.txt", i))
			if err != nil {
				b.Fatal(err)
			}
			c.Rele()
			if _, err := d.Lookup(fmt.Sprintf("absent-%05d", i)); err == nil {
				b.Fatal("absent name found")
			}
		}
		for i := 0; i < n; i += 2 {
			if err := d.Remove(fmt.Sprintf("file-%05d.txt", i)); err != nil {
				b.Fatal(err)
			}
		}
		for i := 0; i < n; i += 2 {
			c, err := d.Create(vfs.RootCred, fmt.Sprintf("new-%05d", i), 0o644)
			if err != nil {
				b.Fatal(err)
			}
			c.Rele()
		}
		b.StopTimer()
		d.Rele()
		root.Rele()
		if err := m.Unmount(); err != nil {
			b.Fatal(err)
		}
		checkClean(b, img)
	}
}
