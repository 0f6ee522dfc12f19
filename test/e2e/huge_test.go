package e2e

import (
	"os"
	"testing"

	"github.com/rumpfs/rumpfs/internal/treetest"
)

// hugeSize is past 4 GiB, so xorriso -iso-level 3 splits the file into
// two extents (the first of 4 GiB - 2048 bytes, the largest multiple of
// the block size a 32-bit extent length holds).
const hugeSize = 4<<30 + 1<<20 + 3

// fxHuge is level 3 with a multi-extent file. Its source is sparse and the
// image is written sparsely (fixture.ISO turns runs of zeros into holes),
// so the test costs about 200 KiB of disk and ~5 s of xorriso time.
var fxHuge = &isoFixture{
	name: "xorriso-level3-huge", tool: "xorriso", args: []string{"-iso-level", "3", "-R"},
	tree: func() *treetest.Tree {
		t := treetest.New()
		t.File("before", treetest.String("before the huge file\n"))
		t.File("huge", treetest.Sparse{N: hugeSize, Chunks: []treetest.Chunk{
			{Off: 0, Data: treetest.String("start of the huge file")},
			{Off: 1 << 30, Data: treetest.Pattern{N: 100000, Seed: 21}},
			// Across the end of the first extent and across 4 GiB.
			{Off: 4<<30 - 2048 - 1000, Data: treetest.Pattern{N: 5000, Seed: 22}},
			{Off: 4<<30 - 7, Data: treetest.Pattern{N: 100, Seed: 23}},
			{Off: hugeSize - 3, Data: treetest.String("end")},
		}})
		t.File("after", treetest.String("after the huge file\n"))
		return t
	},
	opts: treetest.Options{MtimeRes: isoTime, IgnoreExtra: rrMoved},
}

// hugeOpts samples the huge file around its data (and 4 GiB boundaries)
// unless RUMPFS_BIG=1 asks for a full read of all 4 GiB.
func hugeOpts() treetest.Options {
	o := fxHuge.opts
	if os.Getenv("RUMPFS_BIG") != "1" {
		o.MaxFullRead = 64 << 20
	}
	return o
}

// TestHugeFile proves multi-extent files over 4 GiB through FUSE and ukfs.
func TestHugeFile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 4 GiB (sparse) image")
	}
	t.Run("fuse", func(t *testing.T) {
		m, tree := mountFixture(t, fxHuge)
		treetest.Compare(t, treetest.HostView(m.Dir), tree, hugeOpts())
	})
	t.Run("ukfs", func(t *testing.T) {
		img, tree := fxHuge.Build(t)
		fsys := mountUkfs(t, img, "")
		treetest.Compare(t, treetest.FSView(fsys), tree, hugeOpts())
	})
}
