package e2e

import (
	"bufio"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/rumpfs/rumpfs/internal/fixture"
	"github.com/rumpfs/rumpfs/internal/treetest"
	"github.com/rumpfs/rumpfs/ukfs"

	_ "github.com/rumpfs/rumpfs/fs/cd9660" // registers cd9660 for ukfs
)

const daemon = "rump_cd9660"

// mountFixture mounts f's image with rump_cd9660.
func mountFixture(t *testing.T, f *isoFixture) (*fixture.Mounted, *treetest.Tree) {
	t.Helper()
	fixture.RequireRoot(t)
	fixture.RequireFUSE(t)
	img, tree := f.Build(t)
	return fixture.Mount(t, daemon, img, f.Flags()...), tree
}

// TestMountCompare mounts each fixture through FUSE and compares the mount
// with the source tree; inode numbers must agree between two walks, with
// `ls -i`, and across a remount.
func TestMountCompare(t *testing.T) {
	for _, f := range fixtures() {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			m, tree := mountFixture(t, f)
			view := treetest.HostView(m.Dir)
			first := treetest.Compare(t, view, tree, f.opts)
			treetest.SameInodes(t, "second walk", first, treetest.Inodes(t, view))
			ls1 := lsInodes(t, m.Dir)
			treetest.SameInodes(t, "ls -i against lstat", first, ls1)

			// The daemon detached; the fixture found it and, as child
			// subreaper, collects its exit status: unmount must end it
			// with 0 (DESIGN.md).
			if m.PID == 0 {
				t.Errorf("no daemon process found serving %s", m.Dir)
			}
			if code := m.Unmount(t); code != 0 {
				t.Errorf("daemon exited %d after fusermount3 -u, want 0", code)
			}
			m2 := fixture.Mount(t, daemon, m.Image, f.Flags()...)
			treetest.SameInodes(t, "remount", first, treetest.Inodes(t, treetest.HostView(m2.Dir)))
			treetest.SameInodes(t, "ls -i across remount", ls1, lsInodes(t, m2.Dir))
		})
	}
}

// TestUkfsCompare runs the same comparison through the ukfs API, with no
// FUSE and no root, and checks that ukfs reports the same inode numbers as
// the FUSE mount.
func TestUkfsCompare(t *testing.T) {
	for _, f := range fixtures() {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			img, tree := f.Build(t)
			fsys := mountUkfs(t, img, f.mountOpts)
			inos := treetest.Compare(t, treetest.FSView(fsys), tree, f.opts)
			treetest.SameInodes(t, "ukfs second walk", inos, treetest.Inodes(t, treetest.FSView(fsys)))

			if fixture.CI() || (canFUSE() && isRoot()) {
				m, _ := mountFixture(t, f)
				treetest.SameInodes(t, "ukfs against FUSE", inos, treetest.Inodes(t, treetest.HostView(m.Dir)))
			}
		})
	}
}

// TestUkfsFSTest runs testing/fstest.TestFS over each fixture through ukfs.
func TestUkfsFSTest(t *testing.T) {
	for _, f := range fixtures() {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			img, tree := f.Build(t)
			fsys := mountUkfs(t, img, f.mountOpts)
			var expect []string
			hide := map[string]bool{}
			for _, e := range tree.Entries {
				vp := f.opts.ViewPath(e.Path, e.Type == treetest.Dir)
				switch {
				case e.Type == treetest.Symlink && !resolves(tree, e):
					// fstest opens every name it lists; a dangling or
					// escaping link cannot be opened by any fs.FS.
					hide[vp] = true
				case e.Path == "many" || e.Path == "large.bin":
					// TestFS reads every file several times and checks
					// directories quadratically: the many-entry directory
					// and the large file, proven by Compare, would make it
					// slow.
					hide[vp] = true
				case strings.Count(e.Path, "/") < 2 && !strings.HasPrefix(e.Path, "many/"):
					expect = append(expect, vp)
				}
			}
			var exp []string
			for _, p := range expect {
				if !hide[p] {
					exp = append(exp, p)
				}
			}
			if err := fstest.TestFS(hidingFS{fsys, hide}, exp...); err != nil {
				t.Error(err)
			}
		})
	}
}

func mountUkfs(t *testing.T, img, opts string) *ukfs.FS {
	t.Helper()
	o := []ukfs.Option{ukfs.ReadOnly()}
	if opts != "" {
		o = append(o, ukfs.Options(opts))
	}
	fsys, err := ukfs.Mount(img, o...)
	if err != nil {
		t.Fatalf("ukfs.Mount(%s): %v", img, err)
	}
	t.Cleanup(func() {
		if err := fsys.Unmount(); err != nil {
			t.Errorf("ukfs unmount: %v", err)
		}
	})
	return fsys
}

// lsInodes runs `ls -iRa` on dir and returns the inode number ls printed
// for every path (relative to dir, "." for dir itself), as a user would see
// them.
func lsInodes(t *testing.T, dir string) map[string]uint64 {
	t.Helper()
	out, err := exec.Command("ls", "-iRa1", "--quoting-style=literal", dir).Output()
	if err != nil {
		t.Fatalf("ls -iRa %s: %v", dir, err)
	}
	inos := map[string]uint64{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	cur := ""
	header := true
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			header = true
			continue
		}
		if header && strings.HasSuffix(line, ":") {
			p := strings.TrimSuffix(line, ":")
			cur = strings.TrimPrefix(strings.TrimPrefix(p, dir), "/")
			if cur == "" {
				cur = "."
			}
			header = false
			continue
		}
		header = false
		s := strings.TrimLeft(line, " ")
		sp := strings.IndexByte(s, ' ')
		if sp < 0 {
			t.Fatalf("ls output line %q", line)
		}
		ino, err := strconv.ParseUint(s[:sp], 10, 64)
		if err != nil {
			t.Fatalf("ls output line %q: %v", line, err)
		}
		name := s[sp+1:]
		switch name {
		case ".":
			if cur == "." {
				inos["."] = ino
			}
		case "..":
		default:
			inos[treetest.Join(cur, name)] = ino
		}
	}
	return inos
}
