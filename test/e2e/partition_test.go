package e2e

import (
	"encoding/binary"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/internal/fixture"
	"github.com/rumpfs/rumpfs/internal/treetest"
)

// A small Rock Ridge image to put inside partition tables.
var fxSmall = &isoFixture{
	name: "small-rr", tool: "xorriso", args: []string{"-R", "--hardlinks"},
	tree: func() *treetest.Tree {
		return treetest.Standard(treetest.Caps{NameMax: 100, Symlinks: true, Hardlinks: true, Large: 300<<10 + 1})
	},
	opts: treetest.Options{MtimeRes: isoTime, IgnoreExtra: rrMoved},
}

type partCase struct {
	name string
	make func(t *testing.T, dir, iso string) string // returns image%SUFFIX%
}

var partCases = []partCase{
	{"mbr-primary", func(t *testing.T, dir, iso string) string {
		return fixture.MBRImage(t, filepath.Join(dir, "mbr.img"), iso, false)
	}},
	{"mbr-logical", func(t *testing.T, dir, iso string) string {
		return fixture.MBRImage(t, filepath.Join(dir, "ext.img"), iso, true)
	}},
	{"gpt", func(t *testing.T, dir, iso string) string {
		return fixture.GPTImage(t, filepath.Join(dir, "gpt.img"), iso)
	}},
	{"disklabel-le", func(t *testing.T, dir, iso string) string {
		return fixture.DisklabelImage(t, filepath.Join(dir, "le.img"), iso, binary.LittleEndian)
	}},
	{"disklabel-be", func(t *testing.T, dir, iso string) string {
		return fixture.DisklabelImage(t, filepath.Join(dir, "be.img"), iso, binary.BigEndian)
	}},
}

// TestPartitions mounts an ISO placed inside MBR (primary and logical),
// GPT and BSD disklabel (both byte orders) images, selected by suffix,
// through the daemon and through ukfs; a wrong suffix and a partitioned
// image given without one are refused with a clear message.
func TestPartitions(t *testing.T) {
	iso, tree := fxSmall.Build(t)
	dir := t.TempDir()
	for _, pc := range partCases {
		t.Run(pc.name, func(t *testing.T) {
			spec := pc.make(t, dir, iso)
			image, suffix, _ := strings.Cut(spec, "%")
			suffix = "%" + suffix
			t.Logf("%s", filepath.Base(image)+suffix)

			t.Run("ukfs", func(t *testing.T) {
				fsys := mountUkfs(t, spec, "")
				treetest.Compare(t, treetest.FSView(fsys), tree, fxSmall.opts)
			})
			t.Run("fuse", func(t *testing.T) {
				fixture.RequireRoot(t)
				m := fixture.Mount(t, daemon, spec)
				treetest.Compare(t, treetest.HostView(m.Dir), tree, fxSmall.opts)
			})
			t.Run("no-suffix", func(t *testing.T) {
				fixture.RequireRoot(t)
				r := fixture.Start(t, daemon, []string{image}, nil)
				if r.Exit == 0 {
					t.Fatalf("%s without a suffix mounted; want a refusal listing the partitions", filepath.Base(image))
				}
				if !strings.Contains(r.Stderr, suffix) {
					t.Errorf("refusal does not list %s:\n%s", suffix, r.Stderr)
				}
			})
		})
	}
}

// TestWrongSuffix checks that a suffix naming no partition, or a table the
// image does not have, or no scheme at all, fails with one clear line.
func TestWrongSuffix(t *testing.T) {
	fixture.RequireRoot(t)
	iso, _ := fxSmall.Build(t)
	dir := t.TempDir()
	mbr := strings.SplitN(fixture.MBRImage(t, filepath.Join(dir, "w.img"), iso, false), "%", 2)[0]
	for _, suffix := range []string{"%MBR:9%", "%MBR:0%", "%GPT:1%", "%DISKLABEL:e%", "%BOGUS:1%", "%OFFSET:1,2%", "%MBR:1"} {
		t.Run(strings.Trim(suffix, "%"), func(t *testing.T) {
			r := fixture.Start(t, daemon, []string{mbr + suffix}, nil)
			if r.Exit == 0 {
				t.Fatalf("%s mounted", suffix)
			}
			checkOneLine(t, r.Stderr)
		})
	}
}

// checkOneLine checks a refusal: exactly one non-empty line that names the
// image (or the file system).
func checkOneLine(t *testing.T, stderr string) {
	t.Helper()
	msg := strings.TrimSpace(stderr)
	lines := strings.Split(msg, "\n")
	if msg == "" || len(lines) != 1 {
		t.Errorf("want one line of error, got %d:\n%s", len(lines), stderr)
		return
	}
	if !strings.Contains(msg, ".img") && !strings.Contains(msg, ".iso") && !strings.Contains(msg, "cd9660") {
		t.Errorf("error does not name the image or file system: %s", msg)
	}
	t.Logf("refused: %s", msg)
}
