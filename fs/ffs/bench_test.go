package ffs

// Benchmarks of the "Speed" workloads through the vnode interface
// (no FUSE, so the numbers measure the file system alone and are far less
// noisy than timing the daemon on a shared machine). Each ends with the
// checker, so a faster path that corrupts the image fails here too.
//
//	go test -run '^$' -bench . -benchtime 1x ./fs/ffs

import (
	"fmt"
	"testing"

	"github.com/rumpfs/rumpfs/vfs"
)

func benchImage(b *testing.B, size string) string {
	b.Helper()
	return makefs(b, variant{2, "le", 32768, 4096}, b.TempDir(), size, "-f", "30000")
}

// BenchmarkCopyInSmall creates 2,000 files of 100-4000 bytes in 20
// directories as cp -a does (create, write, chown/chmod, utimes), then
// syncs.
func BenchmarkCopyInSmall(b *testing.B) {
	data := make([]byte, 4000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for range b.N {
		b.StopTimer()
		img := benchImage(b, "256m")
		m := mountImg(b, img, false, "")
		root, err := m.Root()
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for d := range 20 {
			dv, err := root.(*node).Mkdir(vfs.RootCred, fmt.Sprintf("d%d", d), 0o755)
			if err != nil {
				b.Fatal(err)
			}
			for f := range 100 {
				vn, err := dv.(*node).Create(vfs.RootCred, fmt.Sprintf("f%d", f), 0o644)
				if err != nil {
					b.Fatal(err)
				}
				k := 100 + (d*100+f)*37%3900
				if _, err := vn.(*node).Write(data[:k], 0); err != nil {
					b.Fatal(err)
				}
				if err := vn.(*node).Setattr(&vfs.SetAttr{Valid: vfs.SetUid | vfs.SetGid | vfs.SetMode, Uid: 1000, Gid: 1000, Mode: 0o600}); err != nil {
					b.Fatal(err)
				}
				if err := vn.(*node).Setattr(&vfs.SetAttr{Valid: vfs.SetMtime | vfs.SetAtime}); err != nil {
					b.Fatal(err)
				}
				vn.Rele()
			}
			dv.Rele()
		}
		if err := m.Sync(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		root.Rele()
		if err := m.Unmount(); err != nil {
			b.Fatal(err)
		}
		checkClean(b, img)
	}
}

// BenchmarkWriteSeq writes a 128 MiB file in 1 MiB requests (FUSE's
// largest) and fsyncs it.
func BenchmarkWriteSeq(b *testing.B) {
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	const total = 128 << 20
	b.SetBytes(total)
	for range b.N {
		b.StopTimer()
		img := benchImage(b, "256m")
		m := mountImg(b, img, false, "")
		root, err := m.Root()
		if err != nil {
			b.Fatal(err)
		}
		vn, err := root.(*node).Create(vfs.RootCred, "big", 0o644)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for off := int64(0); off < total; off += int64(len(buf)) {
			if _, err := vn.(*node).Write(buf, off); err != nil {
				b.Fatal(err)
			}
		}
		if err := vn.(*node).Fsync(false); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		got := make([]byte, 1<<20)
		if _, err := vn.(*node).Read(got, total-(1<<20)); err != nil || string(got) != string(buf) {
			b.Fatalf("read back: %v", err)
		}
		vn.Rele()
		root.Rele()
		if err := m.Unmount(); err != nil {
			b.Fatal(err)
		}
		checkClean(b, img)
	}
}
