package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/rumpfs/rumpfs/internal/fixture"
	"github.com/rumpfs/rumpfs/internal/treetest"
)

// isoFixture is an ISO image built once per test process, by the oracle
// tool, from a tree the test writes.
type isoFixture struct {
	name string
	tool string   // "xorriso" (as mkisofs) or "genisoimage"
	args []string // tool arguments
	tree func() *treetest.Tree
	opts treetest.Options
	// mountOpts are daemon/ukfs -o options ("" for none).
	mountOpts string

	once    sync.Once
	img     string
	written *treetest.Tree
	failed  string
}

// Build returns the image and the tree as written (owners and devices as
// the host allowed).
func (f *isoFixture) Build(t *testing.T) (string, *treetest.Tree) {
	t.Helper()
	f.once.Do(func() {
		f.failed = "building the fixture failed in an earlier test"
		src := filepath.Join(workDir, f.name+".src")
		if err := os.Mkdir(src, 0755); err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(src)
		written := treetest.Write(t, src, f.tree())
		img := filepath.Join(workDir, f.name+".iso")
		start := time.Now()
		fixture.ISO(t, img, f.tool, f.args, src)
		t.Logf("built %s with %s %s in %v", filepath.Base(img), f.tool, strings.Join(f.args, " "), time.Since(start).Round(time.Millisecond))
		f.img, f.written, f.failed = img, written, ""
	})
	if f.failed != "" {
		t.Fatal(f.failed)
	}
	return f.img, f.written
}

// Flags returns the daemon's option flags.
func (f *isoFixture) Flags() []string {
	if f.mountOpts == "" {
		return nil
	}
	return []string{"-o", f.mountOpts}
}

// isoTime is the resolution of ISO 9660 directory-record and short-form
// Rock Ridge TF timestamps.
const isoTime = time.Second

// rrMoved accepts Rock Ridge's relocation directory, which genisoimage
// leaves visible at the root (NetBSD and Linux show it, empty).
func rrMoved(p string) bool {
	l := strings.ToLower(p)
	return l == "rr_moved" || l == ".rr_moved"
}

// level1Name is the name genisoimage gives a file in ISO 9660 level 1, as
// NetBSD's cd9660 then shows it (isofntrans: version ";1" and a trailing
// '.' stripped, lower-cased): characters outside d-characters become '_',
// the name is cut at its last dot into an 8-character base and a
// 3-character extension, and a leading dot becomes '_'.
func level1Name(name string, dir bool) string {
	up := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.':
			return r
		}
		return '_'
	}, name)
	if strings.HasPrefix(up, ".") {
		up = "_" + up[1:]
	}
	base, ext := up, ""
	if i := strings.LastIndex(up, "."); i >= 0 {
		base, ext = up[:i], up[i+1:]
	}
	base = strings.ReplaceAll(base, ".", "_")
	if len(base) > 8 {
		base = base[:8]
	}
	if len(ext) > 3 {
		ext = ext[:3]
	}
	out := base
	if ext != "" {
		out += "." + ext
	}
	return strings.ToLower(out)
}

// jolietName is the name genisoimage -J records: the characters Joliet
// forbids (* / : ; ? \) become '_', and the name is cut at 64 UCS-2 units.
func jolietName(name string, dir bool) string {
	n := strings.Map(func(r rune) rune {
		if strings.ContainsRune(`*/:;?\`, r) {
			return '_'
		}
		return r
	}, name)
	if u := utf16.Encode([]rune(n)); len(u) > 64 {
		n = string(utf16.Decode(u[:64]))
	}
	return n
}

// Caps of the fixtures. Deep trees go past Rock Ridge's relocation depth
// (8) where Rock Ridge is on; without it genisoimage drops directories
// deeper than 6, so those trees stop there.
var (
	rrCaps = treetest.Caps{NameMax: 255, Depth: 11, UTF8: true, NonBMP: true,
		Symlinks: true, Hardlinks: true, Specials: true, Many: 2000, Large: 8<<20 + 123}
	level1Caps = treetest.Caps{Short83: true, Depth: 6, Hardlinks: true, Many: 300, Large: 1<<20 + 5}
	jolietCaps = treetest.Caps{NameMax: 64, Depth: 6, UTF8: true, Hardlinks: true, Many: 300, Large: 1<<20 + 7}
)

// Plain ISO 9660 and Joliet have no modes, owners, symlinks, devices or
// hard links (linked files become separate records with their own inode
// numbers and st_nlink 1).
var noRR = treetest.Options{
	NoPerm: true, NoOwner: true, NoNlink: true, NoLinkIdentity: true, MtimeRes: isoTime,
}

var (
	// xorriso -R -J: Rock Ridge preferred; --hardlinks records RRIP 1.12
	// PX serial numbers, so hard links keep one inode number.
	fxRRJoliet = &isoFixture{
		name: "xorriso-rr-joliet", tool: "xorriso", args: []string{"-R", "-J", "--hardlinks"},
		tree: func() *treetest.Tree { return treetest.Standard(rrCaps) },
		opts: treetest.Options{MtimeRes: isoTime, IgnoreExtra: rrMoved},
	}
	// Plain level 1: 8.3 names, lower-cased by NetBSD's name translation.
	fxLevel1 = &isoFixture{
		name: "genisoimage-level1", tool: "genisoimage", args: []string{"-quiet", "-iso-level", "1"},
		tree: func() *treetest.Tree {
			t := treetest.Standard(level1Caps)
			t.File("longfilename.text", treetest.String("mapped to longfile.tex\n"))
			t.File("UPPER.TXT", treetest.String("lower-cased\n"))
			t.File("my.dir.name/a-b.c-d", treetest.String("dots and dashes\n"))
			return t
		},
		opts: func() treetest.Options { o := noRR; o.Name = level1Name; return o }(),
	}
	// Joliet only: UCS-2 names up to 64 characters, no Rock Ridge.
	fxJoliet = &isoFixture{
		name: "genisoimage-joliet", tool: "genisoimage", args: []string{"-quiet", "-J"},
		tree: func() *treetest.Tree { return treetest.Standard(jolietCaps) },
		opts: func() treetest.Options { o := noRR; o.Name = jolietName; return o }(),
	}
	// Rock Ridge only, by genisoimage: relocates deep directories into a
	// visible rr_moved; PX has no serial numbers, so hard links are
	// separate inodes, though st_nlink is recorded.
	fxRROnly = &isoFixture{
		name: "genisoimage-rr", tool: "genisoimage", args: []string{"-quiet", "-R"},
		tree: func() *treetest.Tree {
			c := rrCaps
			c.Many = 500
			// genisoimage cannot record a symlink whose SL entries do not
			// fit one System Use area: it cuts the text mid-component
			// (xorriso's reader then shows a truncated target, our cd9660
			// answers EIO). That is the tool's limit, not ours: the long
			// symlink is proven on the xorriso fixture.
			return treetest.Standard(c).Filter(func(e *treetest.Entry) bool { return e.Path != "link-long" })
		},
		opts: treetest.Options{MtimeRes: isoTime, IgnoreExtra: rrMoved, NoLinkIdentity: true},
	}
)

// fxNorrip is an xorriso -R -J image mounted with -o norrip: the Joliet
// tree must be used when Rock Ridge is turned off (NetBSD's norrip).
var fxNorrip = &isoFixture{
	name: "xorriso-joliet-norrip", tool: "xorriso", args: []string{"-R", "-J"},
	tree: func() *treetest.Tree {
		// libisofs leaves out of the Joliet tree any file whose path is
		// over 240 bytes of UCS-2 (the Joliet limit): those are not
		// there to find.
		return treetest.Standard(jolietCaps).Filter(func(e *treetest.Entry) bool {
			return 2*len(utf16.Encode([]rune("/"+e.Path))) <= 240
		})
	},
	mountOpts: "norrip",
	opts:      func() treetest.Options { o := noRR; o.Name = jolietName; return o }(),
}

// fixtures are the ones every comparison test runs on.
func fixtures() []*isoFixture {
	return []*isoFixture{fxRRJoliet, fxLevel1, fxJoliet, fxRROnly, fxNorrip}
}
