package ffs

import (
	"bytes"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/internal/treetest"
)

// sleuthCompare reads a UFS1 image with sleuthkit (fls -r, icat), an
// independent FFS reader, and checks names, types, hard-link identity
// and file contents against tree.
func sleuthCompare(t *testing.T, img string, tree *treetest.Tree) {
	t.Helper()
	needTool(t, "fls", "icat")
	out, err := exec.Command("fls", "-r", "-p", "-f", "ufs1", img).Output()
	if err != nil {
		t.Fatalf("fls: %v\n%s", err, out)
	}
	type ent struct {
		typ byte
		ino string
	}
	got := map[string]ent{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		meta, p, ok := strings.Cut(line, "\t")
		if !ok || strings.Contains(meta, "*") || strings.HasPrefix(p, "$Orphan") {
			continue
		}
		f := strings.Fields(meta)
		if len(f) < 2 {
			continue
		}
		got[p] = ent{typ: f[0][0], ino: strings.TrimSuffix(f[1], ":")}
	}
	typeChar := map[treetest.Type]byte{treetest.Dir: 'd', treetest.File: 'r', treetest.Hardlink: 'r',
		treetest.Symlink: 'l', treetest.Fifo: 'p', treetest.CharDev: 'c', treetest.BlockDev: 'b'}
	inoOf := map[string]string{}
	for _, e := range tree.Entries {
		g, ok := got[e.Path]
		if !ok {
			t.Errorf("sleuthkit: %s missing", e.Path)
			continue
		}
		delete(got, e.Path)
		if g.typ != typeChar[e.Type] {
			t.Errorf("sleuthkit: %s is type %c, want %c", e.Path, g.typ, typeChar[e.Type])
		}
		r := tree.Resolve(e)
		if prev, ok := inoOf[r.Path]; ok && prev != g.ino {
			t.Errorf("sleuthkit: hard link %s is inode %s, want %s", e.Path, g.ino, prev)
		}
		inoOf[r.Path] = g.ino
		if e.Type == treetest.File && e.Data != nil && e.Data.Size() <= 4<<20 {
			want := make([]byte, e.Data.Size())
			e.Data.ReadAt(want, 0)
			if _, err := strconv.Atoi(strings.Split(g.ino, "-")[0]); err != nil {
				continue
			}
			data, err := exec.Command("icat", "-f", "ufs1", img, g.ino).Output()
			if err != nil {
				t.Errorf("icat %s: %v", e.Path, err)
			} else if !bytes.Equal(data, want) {
				t.Errorf("sleuthkit: %s content differs (%d bytes, want %d)", e.Path, len(data), len(want))
			}
		}
	}
	for p := range got {
		t.Errorf("sleuthkit: unexpected %s", p)
	}
}
