package ninep_test

import (
	"bytes"
	"context"
	"io/fs"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	_ "github.com/rumpfs/rumpfs/fs/ext2fs"
	"github.com/rumpfs/rumpfs/internal/fixture"
	"github.com/rumpfs/rumpfs/internal/treetest"
	"github.com/rumpfs/rumpfs/kern"
	ninep "github.com/rumpfs/rumpfs/net"
	"github.com/rumpfs/rumpfs/ukfs"
	"github.com/rumpfs/rumpfs/vfs"
)

// An mkfs.ext2 -d image exported over 9P and opened by ukfs as
// 9p+unix:///sock shows exactly the tree it was made from (the shared
// treetest comparison); writes made through it leave the image clean.
func TestUkfsOver9P(t *testing.T) {
	fixture.Require(t, "mkfs.ext2", "e2fsck")
	src := t.TempDir()
	tree := treetest.Write(t, src, treetest.Standard(treetest.Caps{
		NameMax: 255, UTF8: true, NonBMP: true, Symlinks: true, Hardlinks: true, Specials: true, Many: 300, Large: 3 << 20,
	}))
	img := filepath.Join(t.TempDir(), "ext2.img")
	fixture.MkfsExt(t, img, "ext2", 32, src)
	mp, err := kern.New().Mount(img, "ext2fs", vfs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "s")
	l, err := ninep.Listen("unix://" + sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ninep.ServeListener(ctx, l, mp, ninep.Options{}) }()

	u, err := ukfs.Mount("9p+unix://" + sock)
	if err != nil {
		t.Fatal(err)
	}
	treetest.Compare(t, treetest.FSView(u), tree, treetest.Options{
		IgnoreExtra: func(p string) bool { return p == "lost+found" },
		// mkfs.ext2 makes no extra_isize inodes: times are 32-bit
		// signed seconds, as the format stores them.
		Expect: func(e *treetest.Entry, want *treetest.Stat) {
			want.Mtime = time.Unix(int64(int32(want.Mtime.Unix())), 0)
		},
	})

	// The standard library's own checks of an io/fs.FS, through 9P, on a
	// subtree (its byte-at-a-time reads of large.bin would take a round
	// trip per byte).
	sub, err := fs.Sub(u, "dir")
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(sub, "sub/up"); err != nil {
		t.Errorf("fstest.TestFS over 9P: %v", err)
	}

	if err := u.MkdirAll("/new/a/b", 0755); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("9p"), 100000)
	if err := u.WriteFile("/new/a/b/f", data, 0644); err != nil {
		t.Fatal(err)
	}
	if err := u.Rename("/new/a/b/f", "/new/g"); err != nil {
		t.Fatal(err)
	}
	if err := u.Symlink("g", "/new/l"); err != nil {
		t.Fatal(err)
	}
	if got, err := u.ReadFile("new/l"); err != nil || !bytes.Equal(got, data) {
		t.Errorf("read back through the symlink: %d bytes, %v", len(got), err)
	}
	if err := u.Remove("/new/a/b"); err != nil {
		t.Fatal(err)
	}
	if err := u.Unmount(); err != nil {
		t.Errorf("ukfs unmount: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if err := mp.Unmount(); err != nil {
		t.Fatal(err)
	}
	fixture.E2fsck(t, img)
}
