package ukfs

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	_ "github.com/rumpfs/rumpfs/fs/cd9660"
)

func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI: %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
}

// TestCD9660 builds an ISO with Rock Ridge and Joliet from a tree written
// here and checks that ukfs reads back the same names, contents, modes and
// modification times, and that the image passes fstest.TestFS.
func TestCD9660(t *testing.T) {
	needTool(t, "xorriso")
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	when := time.Date(2020, 5, 17, 10, 20, 30, 0, time.UTC)
	files := map[string]struct {
		data string
		mode fs.FileMode
	}{
		"README":                 {"read me\n", 0644},
		"bin/tool":               {"#!/bin/sh\necho hi\n", 0755},
		"docs/a/b/Deep File.txt": {strings.Repeat("deep ", 1000), 0640},
		"empty":                  {"", 0600},
		"MixedCase.Name.tar.gz":  {"gz", 0644},
	}
	for name, f := range files {
		p := filepath.Join(tree, name)
		check(t, os.MkdirAll(filepath.Dir(p), 0755))
		check(t, os.WriteFile(p, []byte(f.data), f.mode))
		check(t, os.Chmod(p, f.mode))
		check(t, os.Chtimes(p, when, when))
	}
	check(t, os.Symlink("README", filepath.Join(tree, "link")))
	iso := filepath.Join(dir, "test.iso")
	out, err := exec.Command("xorriso", "-as", "mkisofs", "-R", "-J", "-V", "TESTVOL", "-o", iso, tree).CombinedOutput()
	if err != nil {
		t.Fatalf("xorriso: %v\n%s", err, out)
	}
	f, err := Mount(iso, ReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Unmount()
	if f.Type() != "cd9660" {
		t.Fatalf("type %q", f.Type())
	}
	var names []string
	for name, want := range files {
		names = append(names, name)
		b, err := f.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, []byte(want.data)) {
			t.Errorf("%s: content differs", name)
		}
		fi, err := f.Stat("/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want.mode || !fi.ModTime().Equal(when) || fi.Size() != int64(len(want.data)) {
			t.Errorf("%s: mode %v mtime %v size %d; want %v %v %d", name, fi.Mode(), fi.ModTime(), fi.Size(), want.mode, when, len(want.data))
		}
	}
	if s, err := f.Readlink("/link"); s != "README" || err != nil {
		t.Errorf("readlink: %q %v", s, err)
	}
	if err := f.Mkdir("/new", 0755); err == nil {
		t.Error("mkdir on cd9660 succeeded")
	}
	if err := fstest.TestFS(f, append(names, "link")...); err != nil {
		t.Fatal(err)
	}
}
