package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/sys/unix"
)

// cmpTree is the testscript command `cmptree [-fat] [-nodirtimes] DIR1 DIR2`:
// the two host trees must hold the same names with the same type,
// contents, symlink targets, device numbers, permission and set-ID bits,
// owners, modification times (to the nanosecond) and hard-link groups.
// -fat compares only what FAT holds: names, types (files and
// directories), contents and the modification times of files.
// -nodirtimes leaves directories' times out.
func cmpTree(ts *testscript.TestScript, neg bool, args []string) {
	fat, dirTimes := false, true
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-fat":
			fat = true
		case "-nodirtimes":
			dirTimes = false
		default:
			ts.Fatalf("cmptree: unknown flag %s", args[0])
		}
		args = args[1:]
	}
	if len(args) != 2 {
		ts.Fatalf("usage: cmptree [-fat] [-nodirtimes] DIR1 DIR2")
	}
	d1, d2 := ts.MkAbs(args[0]), ts.MkAbs(args[1])
	diffs := treeDiffs(d1, d2, fat, dirTimes)
	if neg {
		if len(diffs) == 0 {
			ts.Fatalf("cmptree: %s and %s are the same", args[0], args[1])
		}
		return
	}
	if len(diffs) > 0 {
		ts.Fatalf("cmptree %s %s:\n%s", args[0], args[1], strings.Join(diffs, "\n"))
	}
}

type treeFile struct {
	st      unix.Stat_t
	content []byte
	target  string
	linkID  string // the first name of its inode, for hard-link groups
}

func readTree(root string) (map[string]*treeFile, error) {
	out := map[string]*treeFile{}
	first := map[uint64]string{}
	var walk func(rel string) error
	walk = func(rel string) error {
		p := filepath.Join(root, rel)
		f := &treeFile{}
		if err := unix.Lstat(p, &f.st); err != nil {
			return err
		}
		out[rel] = f
		switch f.st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			f.content = b
			if id, ok := first[f.st.Ino]; ok {
				f.linkID = id
			} else {
				first[f.st.Ino] = rel
				f.linkID = rel
			}
		case unix.S_IFLNK:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			f.target = t
		case unix.S_IFDIR:
			ents, err := os.ReadDir(p)
			if err != nil {
				return err
			}
			names := make([]string, len(ents))
			for i, e := range ents {
				names[i] = e.Name()
			}
			sort.Strings(names)
			for _, n := range names {
				if err := walk(filepath.Join(rel, n)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return out, walk(".")
}

func treeDiffs(d1, d2 string, fat, dirTimes bool) []string {
	t1, err1 := readTree(d1)
	t2, err2 := readTree(d2)
	if err1 != nil || err2 != nil {
		return []string{fmt.Sprint(err1, err2)}
	}
	var diffs []string
	add := func(format string, args ...any) { diffs = append(diffs, fmt.Sprintf(format, args...)) }
	var names []string
	for n := range t1 {
		names = append(names, n)
	}
	for n := range t2 {
		if t1[n] == nil {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		a, b := t1[n], t2[n]
		if a == nil || b == nil {
			add("%s: only in one tree", n)
			continue
		}
		ta, tb := a.st.Mode&unix.S_IFMT, b.st.Mode&unix.S_IFMT
		if ta != tb {
			add("%s: type %o vs %o", n, ta, tb)
			continue
		}
		if !bytes.Equal(a.content, b.content) {
			add("%s: contents differ", n)
		}
		isDir := ta == unix.S_IFDIR
		if (!isDir || (dirTimes && !fat)) && (a.st.Mtim != b.st.Mtim) && n != "." {
			add("%s: mtime %v vs %v", n, a.st.Mtim, b.st.Mtim)
		}
		if fat {
			continue
		}
		if a.target != b.target {
			add("%s: symlink target %q vs %q", n, a.target, b.target)
		}
		if ta != unix.S_IFLNK && a.st.Mode != b.st.Mode && n != "." {
			add("%s: mode %o vs %o", n, a.st.Mode, b.st.Mode)
		}
		if a.st.Uid != b.st.Uid || a.st.Gid != b.st.Gid {
			add("%s: owner %d:%d vs %d:%d", n, a.st.Uid, a.st.Gid, b.st.Uid, b.st.Gid)
		}
		if (ta == unix.S_IFCHR || ta == unix.S_IFBLK) && a.st.Rdev != b.st.Rdev {
			add("%s: device %x vs %x", n, a.st.Rdev, b.st.Rdev)
		}
		if a.linkID != b.linkID {
			add("%s: hard link of %q vs %q", n, a.linkID, b.linkID)
		}
	}
	return diffs
}
