package ext2fs

import (
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/rumpfs/rumpfs/vfs"
)

// TestHtreeSplit grows a directory indexed by e2fsck -D past its root's
// first level through the vfs: leaves split, the root fills and the tree
// gets a second level, and the index must stay set and valid (e2fsck
// checks hash order, counts, limits and leaf hash ranges).
func TestHtreeSplit(t *testing.T) {
	needTool(t, "e2fsck", "debugfs")
	for _, c := range []struct{ bs, hash string }{{"1024", "half_md4"}, {"1024", "tea"}, {"2048", "legacy"}} {
		t.Run(c.bs+"-"+c.hash, func(t *testing.T) { htreeSplit(t, "mkfs.ext2", c.bs, c.hash, false) })
	}
}

// htreeSplit grows an indexed directory of an image made by prog with
// block size bs to two levels, removes a fifth of the names (all of them
// with emptyAll) and checks the result with e2fsck and debugfs.
func htreeSplit(t *testing.T, prog, bs, hash string, emptyAll bool, opts ...string) string {
	tree := t.TempDir() + "/t"
	os.MkdirAll(tree+"/big", 0755)
	want := map[string]bool{}
	for i := 0; i < 300; i++ {
		n := fmt.Sprintf("orig-%d", i)
		os.WriteFile(tree+"/big/"+n, nil, 0644)
		want[n] = true
	}
	img := mkfs(t, prog, 32, tree, append([]string{"-b", bs, "-N", "10000"}, opts...)...)
	run(t, "tune2fs", "-E", "hash_alg="+hash, img)
	out, err := exec.Command("e2fsck", "-fyD", img).CombinedOutput()
	if exitCode(err) > 1 {
		t.Fatalf("e2fsck -fyD: %s", out)
	}
	m := mountImg(t, img, false, "")
	root, _ := m.Root()
	dvn, err := root.Lookup("big")
	if err != nil {
		t.Fatal(err)
	}
	dir := dvn.(*inode)
	if !dir.isIndexed() {
		t.Fatal("e2fsck -D did not index the directory")
	}
	n := 3000
	if bs != "1024" {
		n = 6000 // a 2 KiB root holds 252 entries
	}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("added-%d-%s", i, strings.Repeat("x", 20+i%40))
		if i%50 == 0 {
			// Names near the limit: one split may not make room for them.
			name = fmt.Sprintf("long-%d-%s", i, strings.Repeat("y", 240))
		}
		c := create(t, m, dvn, name)
		c.Rele()
		want[name] = true
	}
	if !dir.isIndexed() {
		t.Fatal("index flag cleared")
	}
	for name := range want {
		vn, err := dvn.Lookup(name)
		if err != nil {
			t.Fatalf("lookup %s: %v", name, err)
		}
		vn.Rele()
	}
	i := 0
	for name := range want {
		if i++; i%5 == 0 || emptyAll {
			if err := vfs.VOP_REMOVE(m, dvn, name); err != nil {
				t.Fatalf("remove %s: %v", name, err)
			}
			delete(want, name)
		}
	}
	if _, err := dvn.Lookup("nope"); err == nil {
		t.Error("lookup of an absent name succeeded")
	}
	dvn.Rele()
	root.Rele()
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	e2fsck(t, img)
	st := run(t, "debugfs", "-R", "stat /big", img)
	// EXT2_INDEX_FL (0x1000), with EXT4_EXTENTS_FL (0x80000) beside it on
	// an extent-mapped directory.
	if !strings.Contains(st, "Flags: 0x1000") && !strings.Contains(st, "Flags: 0x81000") {
		t.Errorf("index flag not set:\n%s", st)
	}
	dump := run(t, "debugfs", "-R", "htree_dump /big", img)
	ver := map[string]string{"legacy": "0", "half_md4": "1", "tea": "2"}[hash]
	if !strings.Contains(dump, "Hash Version: "+ver+"\n") {
		t.Errorf("hash version is not %s's:\n%.600s", hash, dump)
	}
	if !strings.Contains(dump, "Indirect levels: 1") {
		t.Errorf("tree did not reach two levels:\n%.2000s", dump)
	}
	ls := run(t, "debugfs", "-R", "ls -p /big", img)
	var got []string
	for _, l := range strings.Split(ls, "\n") {
		f := strings.Split(strings.TrimSpace(l), "/")
		// Records freed in place (first in their block) list with inode 0.
		if len(f) < 7 || f[1] == "0" || f[5] == "." || f[5] == ".." {
			continue
		}
		got = append(got, f[5])
	}
	var exp []string
	for name := range want {
		exp = append(exp, name)
	}
	sort.Strings(got)
	sort.Strings(exp)
	if strings.Join(got, "\n") != strings.Join(exp, "\n") {
		t.Errorf("debugfs ls: %d names, want %d", len(got), len(exp))
		seen := map[string]int{}
		for _, g := range got {
			seen[g]++
		}
		k := 0
		for g, c := range seen {
			if (c != 1 || !want[g]) && k < 10 {
				t.Errorf("listed %d times: %q (want %v)", c, g, want[g])
				k++
			}
		}
	}
	return img
}
