package ext2fs

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	fx "github.com/rumpfs/rumpfs/internal/fixture"
	"github.com/rumpfs/rumpfs/vfs"
)

// Journal recovery against the real thing: the Linux kernel writes to an
// image through a loop mount, the image file is copied while still
// mounted (so the copy's journal holds committed, un-checkpointed
// transactions), and the copy is then replayed both by rumpfs and by
// `e2fsck -fy`. The two results must hold the same tree, read back by
// the kernel; the rumpfs result must pass `e2fsck -fn`; and a read-only
// rumpfs mount must show the same tree without changing a byte of the
// image.

// kernelCrash makes an image with mkfsProg, mounts it with the kernel
// (mount options opts), runs the writes, syncs (a journal commit) and
// returns a copy of the image taken before unmount. With wrap it goes on
// writing until the copy's log runs past the end of the journal.
func kernelCrash(t *testing.T, mkfsProg, opts string, wrap bool, mkfsArgs ...string) string {
	t.Helper()
	fx.RequireRoot(t)
	fx.Require(t, "mount", "umount", "dumpe2fs", "e2fsck", mkfsProg)
	img := mkfs(t, mkfsProg, 8, "", mkfsArgs...)
	dir := filepath.Join(t.TempDir(), "mnt")
	os.Mkdir(dir, 0755)
	args := []string{"-t", "ext4", "-o", "loop,rw" + opts, img, dir}
	if out, err := exec.Command("mount", args...).CombinedOutput(); err != nil {
		if fx.CI() {
			t.Fatalf("mount %v: %v\n%s", args, err, out)
		}
		t.Skipf("kernel loop mount unavailable: %v: %s", err, out)
	}
	mounted := true
	umount := func() {
		if mounted {
			if exec.Command("umount", dir).Run() != nil {
				exec.Command("umount", "-l", dir).Run()
			}
			mounted = false
		}
	}
	defer umount()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	syncFS := func() {
		f, err := os.Open(dir)
		must(err)
		defer f.Close()
		must(unix.Syncfs(int(f.Fd())))
	}
	if strings.Contains(opts, "data=journal") {
		// Several times the 1 MiB journal through the log: it wraps
		// and is checkpointed, and the copy's log starts mid-journal.
		for i := range 6 {
			must(os.WriteFile(fmt.Sprintf("%s/j%d", dir, i), bytes.Repeat([]byte{byte('A' + i)}, 400<<10), 0644))
			syncFS()
		}
	}
	// Transaction group 1: a tree with a file big enough for indirect
	// (ext3) or extent-index-free but multi-block (ext4) mapping.
	must(os.MkdirAll(dir+"/a/b/c", 0755))
	for i := range 40 {
		must(os.WriteFile(fmt.Sprintf("%s/a/f%02d", dir, i), bytes.Repeat([]byte{byte(i)}, 100*i), 0644))
	}
	must(os.WriteFile(dir+"/big", bytes.Repeat([]byte("0123456789abcdef"), 20000), 0600))
	must(os.WriteFile(dir+"/doomed", bytes.Repeat([]byte("x"), 300000), 0644))
	must(os.Mkdir(dir+"/gone", 0700))
	must(os.WriteFile(dir+"/gone/x", []byte("x"), 0644))
	syncFS()
	// Group 2: deletes (their freed metadata blocks are revoked), renames,
	// links, a symlink, a chmod/chown, an overwrite.
	must(os.Remove(dir + "/doomed"))
	must(os.RemoveAll(dir + "/gone"))
	must(os.Rename(dir+"/a/f01", dir+"/a/b/c/moved"))
	must(os.Link(dir+"/a/f02", dir+"/hard"))
	must(os.Symlink("a/b/c/moved", dir+"/sym"))
	must(os.Chmod(dir+"/a/f03", 0600))
	must(os.Chown(dir+"/a/f04", 1234, 5678))
	must(os.WriteFile(dir+"/a/f05", []byte("rewritten"), 0644))
	for i := 10; i < 20; i++ {
		must(os.Remove(fmt.Sprintf("%s/a/f%02d", dir, i)))
	}
	// Blocks that begin with the journal's magic number: with
	// data=journal they are logged escaped (JBD2_FLAG_ESCAPE).
	magic := bytes.Repeat([]byte("\xc0\x3b\x39\x98 block starting with JBD2 magic "), 4096/36+1)[:4096]
	must(os.WriteFile(dir+"/magic", bytes.Repeat(magic, 4), 0644))
	syncFS()
	cp := filepath.Join(t.TempDir(), "crash.img")
	for i := 0; ; i++ {
		b, err := os.ReadFile(img)
		must(err)
		must(os.WriteFile(cp, b, 0644))
		if !wrap || logSummary(t, cp)["wrapped"] > 0 {
			break
		}
		if i == 60 {
			t.Fatal("the log never wrapped round the journal")
		}
		w := append([]byte(nil), magic...)
		w[40] = byte(i)
		must(os.WriteFile(fmt.Sprintf("%s/w%02d", dir, i), bytes.Repeat(w, 14), 0644))
		syncFS()
	}
	umount()
	sum := dumpe2fs(t, cp)
	if !strings.Contains(sum["Filesystem features"], "needs_recovery") || sum["Journal start"] == "0" {
		t.Fatalf("the copy needs no recovery (features %q, journal start %q)", sum["Filesystem features"], sum["Journal start"])
	}
	log := logSummary(t, cp)
	t.Logf("journal: features %q, start %s, sequence %s; log: %v", sum["Journal features"], sum["Journal start"], sum["Journal sequence"], log)
	if strings.Contains(opts, "data=journal") && log["escaped"] == 0 {
		t.Error("no escaped block in the log of a data=journal mount")
	}
	return cp
}

// logSummary counts the block types in the log (debugfs logdump).
func logSummary(t testing.TB, img string) map[string]int {
	out, _ := exec.Command("debugfs", "-R", "logdump -a", img).CombinedOutput()
	n := map[string]int{}
	prev := -1
	for _, l := range strings.Split(string(out), "\n") {
		if i := strings.Index(l, "("); i >= 0 && strings.Contains(l, "Found expected sequence") {
			n[strings.TrimSuffix(l[i+1:strings.Index(l, ")")], " block")]++
			var at int
			if j := strings.LastIndex(l, " at block "); j >= 0 {
				fmt.Sscan(l[j+len(" at block "):], &at)
				if at < prev {
					n["wrapped"] = 1
				}
				prev = at
			}
		}
		var flags int
		if i := strings.Index(l, "(flags 0x"); i >= 0 && strings.Contains(l, "logged at") {
			fmt.Sscanf(l[i:], "(flags 0x%x)", &flags)
			n["logged"]++
			if flags&1 != 0 {
				n["escaped"]++
			}
		}
	}
	return n
}

// dumpe2fs returns the `dumpe2fs -h` fields.
func dumpe2fs(t testing.TB, img string) map[string]string {
	t.Helper()
	out, err := exec.Command("dumpe2fs", "-h", img).Output()
	if err != nil {
		t.Fatalf("dumpe2fs -h: %v", err)
	}
	m := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

func copyFile(t *testing.T, src string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.WriteFile(dst, b, 0644); err != nil {
		t.Fatal(err)
	}
	return dst
}

func fileHash(t *testing.T, p string) [32]byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// e2fsckReplay is the oracle: a copy of img replayed and fixed by e2fsck.
func e2fsckReplay(t *testing.T, img string) string {
	ref := copyFile(t, img)
	code, out := fx.E2fsckFix(t, ref)
	if code >= 4 {
		t.Fatalf("e2fsck -fy on the crash copy: exit %d\n%s", code, out)
	}
	return ref
}

// entry describes one file the same way from the host and from a mount.
func entry(mode uint32, uid, gid uint32, size uint64, mtime int64, content []byte, target string) string {
	s := fmt.Sprintf("%o %d:%d %d %d", mode, uid, gid, size, mtime)
	if content != nil {
		s += fmt.Sprintf(" %x", sha256.Sum256(content))
	}
	return s + " " + target
}

// hostTree reads a directory tree the kernel has mounted.
func hostTree(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "lost+found" && d.IsDir() {
			return filepath.SkipDir
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		var content []byte
		target := ""
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFREG:
			content, err = os.ReadFile(p)
		case syscall.S_IFLNK:
			target, err = os.Readlink(p)
		}
		m["/"+filepath.ToSlash(rel)] = entry(st.Mode, st.Uid, st.Gid, uint64(st.Size), st.Mtim.Sec, content, target)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	delete(m, "/.")
	return m
}

// mountTree reads the tree through a rumpfs mount.
func mountTree(t *testing.T, m vfs.Mount) map[string]string {
	t.Helper()
	out := map[string]string{}
	var rec func(p string)
	rec = func(p string) {
		vn, err := walk(t, m, p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		defer vn.Rele()
		a, err := vn.Getattr()
		if err != nil {
			t.Fatal(err)
		}
		var content []byte
		target := ""
		switch a.Type() {
		case vfs.S_IFREG:
			content = readAll(t, vn)
		case vfs.S_IFLNK:
			if target, err = vn.Readlink(); err != nil {
				t.Fatal(err)
			}
		}
		if p != "/" {
			out[p] = entry(a.Mode, a.Uid, a.Gid, a.Size, a.Mtime.Unix(), content, target)
		}
		if a.IsDir() {
			names := listDir(t, vn)
			keys := make([]string, 0, len(names))
			for n := range names {
				if n != "." && n != ".." && !(p == "/" && n == "lost+found") {
					keys = append(keys, n)
				}
			}
			sort.Strings(keys)
			for _, n := range keys {
				rec(path.Join(p, n))
			}
		}
	}
	rec("/")
	return out
}

func sameTree(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(want) < 30 {
		t.Fatalf("%s: the reference tree has only %d entries", what, len(want))
	}
	for p, w := range want {
		if g, ok := got[p]; !ok {
			t.Errorf("%s: %s missing", what, p)
		} else if g != w {
			t.Errorf("%s: %s = %s, want %s", what, p, g, w)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: %s should not exist", what, p)
		}
	}
}

// The dumpe2fs fields a replay decides. Times, mount counts and the last
// check differ by design (rumpfs mounted the image; e2fsck checked it).
var summaryFields = []string{"Filesystem features", "Filesystem state", "Inode count", "Block count",
	"Free blocks", "Free inodes", "Journal features", "Journal start", "Journal sequence", "Journal checksum type"}

// checkRecovered compares rumpfs's replay of crash with e2fsck's: rw when
// the features allow it, ro always.
func checkRecovered(t *testing.T, crash string, wantRW bool) {
	ref := e2fsckReplay(t, crash)
	refTree := hostTree(t, fx.LoopMount(t, ref, "ext4"))

	// Read-only: replayed in memory; the image is untouched.
	before := fileHash(t, crash)
	m := mountImg(t, crash, true, "")
	sameTree(t, "ro replay", mountTree(t, m), refTree)
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	if fileHash(t, crash) != before {
		t.Fatal("the read-only mount changed the image")
	}

	// Read-write: replayed onto the image.
	a := copyFile(t, crash)
	m, err := mountImgErr(t, a, false, "")
	if err != nil {
		if !wantRW && strings.Contains(err.Error(), "cannot mount read-write") {
			t.Logf("rw replay not tried: %v", err)
			if fileHash(t, a) != before {
				t.Fatal("the refused rw mount changed the image")
			}
			return
		}
		t.Fatal(err)
	}
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	e2fsck(t, a)
	// (A copy: the kernel mounts a itself read-write below, and mount(8)
	// would reuse a loop device still attached to the same file.)
	sameTree(t, "rw replay (kernel view)", hostTree(t, fx.LoopMount(t, copyFile(t, a), "ext4")), refTree)
	got, want := dumpe2fs(t, a), dumpe2fs(t, ref)
	for _, k := range summaryFields {
		if got[k] != want[k] {
			t.Errorf("dumpe2fs %q: rumpfs %q, e2fsck %q", k, got[k], want[k])
		}
	}
	// The image, mounted again, needs nothing more.
	m = mountImg(t, a, false, "")
	m.Unmount()
	e2fsck(t, a)
	// The kernel takes the emptied journal up read-write and uses it.
	dir := filepath.Join(t.TempDir(), "rw")
	os.Mkdir(dir, 0755)
	if out, err := exec.Command("mount", "-t", "ext4", "-o", "loop,rw", a, dir).CombinedOutput(); err != nil {
		t.Fatalf("kernel rw mount after the replay: %v\n%s", err, out)
	}
	werr := os.WriteFile(dir+"/after", []byte("kernel"), 0644)
	if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
		exec.Command("umount", "-l", dir).Run()
		t.Fatalf("umount: %v\n%s", err, out)
	}
	if werr != nil {
		t.Fatal(werr)
	}
	e2fsck(t, a)
	if s := dumpe2fs(t, a); s["Journal start"] != "0" || strings.Contains(s["Filesystem features"], "needs_recovery") {
		t.Errorf("after the kernel's unmount: journal start %s, features %s", s["Journal start"], s["Filesystem features"])
	}
}

func TestRecoverKernelJournal(t *testing.T) {
	cases := []struct {
		name, mkfs, opts string
		args             []string
		rw, wrap         bool
	}{
		// Which journal checksums the kernel writes (fs/ext4/super.c,
		// set_journal_csum_feature_set): v3 whenever metadata_csum is on;
		// without it, none, or crc32 "v1" (COMPAT_CHECKSUM) with
		// journal_checksum or journal_async_commit. It never writes v2:
		// those journals come from debugfs (TestRecoverDebugfsJournal).
		// journal_async_commit needs data=writeback (or journal).
		//
		// ext3: 32-bit tags; the kernel's ext4 driver writes the journal.
		{"ext3", "mkfs.ext3", "", nil, true, false},
		{"ext3-journal_checksum", "mkfs.ext3", ",journal_checksum", nil, true, false},
		{"ext3-async_commit", "mkfs.ext3", ",journal_async_commit,data=writeback", nil, true, false},
		{"ext3-4k", "mkfs.ext3", "", []string{"-b", "4096"}, true, false},
		// data=journal: file data through the log, escaped blocks, and a
		// log that wraps round the end of the journal.
		{"ext3-data_journal", "mkfs.ext3", ",data=journal", nil, true, true},
		{"ext4-data_journal", "mkfs.ext4", ",data=journal", nil, false, true},
		// ext4 with metadata_csum: 64-bit tags, checksum v3.
		{"ext4", "mkfs.ext4", "", nil, false, false},
		{"ext4-async_commit", "mkfs.ext4", ",journal_async_commit,data=writeback", nil, false, false},
		{"ext4-nocsum", "mkfs.ext4", "", []string{"-O", "^metadata_csum,^64bit"}, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if testing.Short() && c.name != "ext3" && c.name != "ext4" {
				t.Skip("-short: one ext3 and one ext4 case")
			}
			checkRecovered(t, kernelCrash(t, c.mkfs, c.opts, c.wrap, c.args...), c.rw)
		})
	}
}

// debugfsJournal makes an image holding /f (three blocks) and writes
// transactions into its journal with debugfs (jo/jw/jc): the new blocks
// 0-2 of /f, then a revoke of block 1, then block 2 again. After replay
// /f is new0 + old1 + newer2. It returns the image and that content.
func debugfsJournal(t testing.TB, sizeMB int, mkfsProg, joArgs string, mkfsArgs ...string) (string, []byte) {
	t.Helper()
	fx.Require(t, "debugfs", mkfsProg)
	tree := t.TempDir()
	bs := 1024
	for i, a := range mkfsArgs {
		if a == "-b" {
			fmt.Sscan(mkfsArgs[i+1], &bs)
		}
	}
	old := bytes.Repeat([]byte("old-"), 3*bs/4)
	if err := os.WriteFile(tree+"/f", old, 0644); err != nil {
		t.Fatal(err)
	}
	img := mkfs(t, mkfsProg, sizeMB, tree, mkfsArgs...)
	var blk [3]string
	for i := range blk {
		blk[i] = strings.TrimSpace(run(t, "debugfs", "-R", fmt.Sprintf("bmap /f %d", i), img))
		blk[i] = blk[i][strings.LastIndex(blk[i], "\n")+1:]
	}
	dir := t.TempDir()
	newer := bytes.Repeat([]byte("new-"), 3*bs/4)
	newest := bytes.Repeat([]byte("NEW!"), bs/4)
	os.WriteFile(dir+"/new", newer, 0644)
	os.WriteFile(dir+"/newest", newest, 0644)
	cmds := fmt.Sprintf("jo %s\njw -b %s,%s,%s %s/new\njw -r %s /dev/null\njw -b %s %s/newest\njc\n",
		joArgs, blk[0], blk[1], blk[2], dir, blk[1], blk[2], dir)
	cmd := exec.Command("debugfs", "-w", "-f", "-", img)
	cmd.Stdin = strings.NewReader(cmds)
	if out, err := cmd.CombinedOutput(); err != nil || strings.Contains(string(out), "rror") {
		t.Fatalf("debugfs: %v\n%s", err, out)
	}
	sum := dumpe2fs(t, img)
	if !strings.Contains(sum["Filesystem features"], "needs_recovery") || sum["Journal start"] == "0" {
		t.Fatalf("debugfs left no log (features %q, journal start %q)", sum["Filesystem features"], sum["Journal start"])
	}
	t.Logf("journal: features %q; log: %v", sum["Journal features"], logSummary(t, img))
	want := append(append(append([]byte(nil), newer[:bs]...), old[bs:2*bs]...), newest...)
	return img, want
}

func readPath(t testing.TB, m vfs.Mount, p string) []byte {
	t.Helper()
	vn, err := walk(t, m, p)
	if err != nil {
		t.Fatal(err)
	}
	defer vn.Rele()
	return readAll(t, vn)
}

func TestRecoverDebugfsJournal(t *testing.T) {
	cases := []struct {
		name, mkfs, jo string
		args           []string
		rw, firstOnly  bool
	}{
		{"ext3-nocsum", "mkfs.ext3", "", nil, true, false},
		// debugfs (1.47.0) gives the revoke-only second transaction a
		// crc32 commit checksum that does not match (the sum of no
		// blocks): e2fsck and the kernel stop the replay there, and so
		// must rumpfs.
		{"ext3-crc32", "mkfs.ext3", "-c", []string{"-b", "4096"}, true, true},
		{"ext4-v3-64bit", "mkfs.ext4", "-c", nil, false, false},
		{"ext4-v2-64bit", "mkfs.ext4", "-c -v 2", nil, false, false},
		{"ext4-v2-32bit", "mkfs.ext4", "-c -v 2", []string{"-O", "^64bit"}, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img, want := debugfsJournal(t, 8, c.mkfs, c.jo, c.args...)
			if c.firstOnly {
				want = bytes.Repeat([]byte("new-"), len(want)/4)
			}
			// The oracle agrees on the expected content.
			ref := e2fsckReplay(t, img)
			if got := []byte(run(t, "debugfs", "-R", "cat /f", ref)); !bytes.Contains(got, want) {
				t.Fatalf("e2fsck's replay: /f = %.40q..., want %.40q...", got, want)
			}
			before := fileHash(t, img)
			m := mountImg(t, img, true, "")
			if got := readPath(t, m, "/f"); !bytes.Equal(got, want) {
				t.Errorf("ro replay: /f = %.40q..., want %.40q...", got, want)
			}
			m.Unmount()
			if fileHash(t, img) != before {
				t.Fatal("the read-only mount changed the image")
			}
			if !c.rw {
				return
			}
			m = mountImg(t, img, false, "")
			if got := readPath(t, m, "/f"); !bytes.Equal(got, want) {
				t.Errorf("rw replay: /f = %.40q..., want %.40q...", got, want)
			}
			if err := m.Unmount(); err != nil {
				t.Fatal(err)
			}
			e2fsck(t, img)
			got, wantSum := dumpe2fs(t, img), dumpe2fs(t, ref)
			for _, k := range summaryFields {
				if got[k] != wantSum[k] {
					t.Errorf("dumpe2fs %q: rumpfs %q, e2fsck %q", k, got[k], wantSum[k])
				}
			}
		})
	}
}

// journalBlock returns the byte offset of journal block l in img.
func journalBlock(t *testing.T, img string, bs int64, l int) int64 {
	t.Helper()
	out := strings.TrimSpace(run(t, "debugfs", "-R", fmt.Sprintf("bmap <8> %d", l), img))
	var b int64
	if _, err := fmt.Sscan(out[strings.LastIndex(out, "\n")+1:], &b); err != nil || b == 0 {
		t.Fatalf("bmap <8> %d: %q", l, out)
	}
	return b * bs
}

func be32(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }

// Journals the code does not understand are refused by name, read-only
// and read-write alike, and the image is left as it was.
func TestRecoverRefusals(t *testing.T) {
	cases := []struct {
		name  string
		csum  bool
		patch func(t *testing.T, img string, jsb int64)
		want  string
	}{
		{"unknown feature", false, func(t *testing.T, img string, jsb int64) { patch(t, img, jsb+0x28, be32(0x401)) }, "unsupported journal features: unknown_0x400"},
		{"fast_commit", false, func(t *testing.T, img string, jsb int64) { patch(t, img, jsb+0x28, be32(0x21)) }, "fast_commit"},
		{"magic", false, func(t *testing.T, img string, jsb int64) { patch(t, img, jsb, be32(0x12345678)) }, "bad journal superblock magic"},
		{"block size", false, func(t *testing.T, img string, jsb int64) { patch(t, img, jsb+0x0C, be32(2048)) }, "journal block size 2048"},
		{"checksum type", true, func(t *testing.T, img string, jsb int64) { patch(t, img, jsb+0x50, []byte{3}) }, "unknown journal checksum type 3"},
		{"superblock checksum", true, func(t *testing.T, img string, jsb int64) { patch(t, img, jsb+0x18, be32(7)) }, "journal superblock checksum mismatch"},
		// The first logged block of the first transaction (log block 2,
		// after the descriptor at 1) no longer matches its tag checksum.
		{"logged block checksum", true, func(t *testing.T, img string, jsb int64) {
			patch(t, img, journalBlock(t, img, 1024, 2)+100, []byte("XX"))
		}, "checksum mismatch of logged block"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			prog, jo := "mkfs.ext3", ""
			if c.csum {
				prog, jo = "mkfs.ext4", "-c"
			}
			img, _ := debugfsJournal(t, 8, prog, jo, "-b", "1024")
			c.patch(t, img, journalBlock(t, img, 1024, 0))
			before := fileHash(t, img)
			for _, ro := range []bool{true, false} {
				_, err := mountImgErr(t, img, ro, "")
				if !ro && c.csum && err != nil && strings.Contains(err.Error(), "cannot mount read-write") {
					continue // ext4 features, refused before the journal is read
				}
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("ro=%v: err = %v, want %q", ro, err, c.want)
				}
			}
			if fileHash(t, img) != before {
				t.Error("a refused mount changed the image")
			}
		})
	}
}

// needs_recovery with an empty log: a rw mount clears the flag (as the
// kernel and e2fsck do) and leaves an image e2fsck accepts.
func TestRecoverEmptyLog(t *testing.T) {
	img := mkfs(t, "mkfs.ext3", 8, "")
	setFeature(t, img, 96, IncompatRecover)
	m := mountImg(t, img, false, "")
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	if f := dumpe2fs(t, img)["Filesystem features"]; strings.Contains(f, "needs_recovery") {
		t.Errorf("needs_recovery still set: %s", f)
	}
	e2fsck(t, img)
}

// A log that holds transactions while needs_recovery is clear: the kernel
// would wipe it, e2fsck asks. rumpfs ignores it read-only (with a
// warning) and refuses read-write.
func TestRecoverFlagClear(t *testing.T) {
	img, _ := debugfsJournal(t, 8, "mkfs.ext3", "", "-b", "1024")
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	var b [4]byte
	f.ReadAt(b[:], SuperblockOffset+96)
	le.PutUint32(b[:], le.Uint32(b[:])&^IncompatRecover)
	f.WriteAt(b[:], SuperblockOffset+96)
	f.Close()
	m, err := mountImgErr(t, img, true, "")
	if err != nil {
		t.Fatalf("ro: %v", err)
	}
	if got := readPath(t, m, "/f"); !bytes.HasPrefix(got, []byte("old-")) {
		t.Errorf("ro: /f = %.20q, want the unreplayed content", got)
	}
	m.Unmount()
	if _, err := mountImgErr(t, img, false, ""); err == nil || !strings.Contains(err.Error(), "needs_recovery is clear") {
		t.Errorf("rw: %v", err)
	}
}

// FuzzExt2Journal is FuzzExt2 (probe, mount ro and rw, walk, change) with
// seeds whose journals need recovery: ext3 without journal checksums and
// ext4 with checksum v3, logs with descriptor, revoke and commit blocks.
func FuzzExt2Journal(f *testing.F) {
	if _, err := exec.LookPath("debugfs"); err == nil {
		for _, c := range []struct{ prog, jo string }{{"mkfs.ext3", ""}, {"mkfs.ext4", "-c"}} {
			img, want := debugfsJournal(f, 2, c.prog, c.jo, "-b", "1024", "-N", "16")
			b, err := os.ReadFile(img)
			if err != nil {
				f.Fatal(err)
			}
			b = bytes.TrimRight(b, "\x00")
			if len(b) > fuzzMax {
				f.Fatalf("seed of %d bytes is larger than the fuzz limit", len(b))
			}
			// The seed, padded as the fuzz body pads it, really replays.
			fsys, _ := vfs.LookupFS("ext2fs")
			pad := make([]byte, journalPad)
			copy(pad, b)
			m, err := fsys.Mount(&memDev{b: pad, ro: true}, &vfs.MountArgs{ReadOnly: true})
			if err != nil {
				f.Fatalf("seed: %v", err)
			}
			if got := readPath(f, m, "/f"); !bytes.Equal(got, want) {
				f.Fatalf("seed: /f not replayed: %.20q", got)
			}
			m.Unmount()
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > fuzzMax {
			return
		}
		// Pad to the seeds' file-system size, or a trimmed seed would be
		// refused as larger than its device.
		img := make([]byte, max(len(data), journalPad))
		copy(img, data)
		exerciseImage(t, img)
	})
}

const journalPad = 2 << 20

// A clean journal is not replayed, so features only a replay needs
// (fast_commit, unknown ones) do not stop a mount, read-write included.
func TestCleanJournalFeaturesIgnored(t *testing.T) {
	img := mkfs(t, "mkfs.ext3", 8, "", "-b", "1024")
	patch(t, img, journalBlock(t, img, 1024, 0)+0x28, be32(0x421))
	for _, ro := range []bool{true, false} {
		m, err := mountImgErr(t, img, ro, "")
		if err != nil {
			t.Fatalf("ro=%v: %v", ro, err)
		}
		m.Unmount()
	}
	// A bad magic number is still refused, as before.
	patch(t, img, journalBlock(t, img, 1024, 0), be32(1))
	if _, err := mountImgErr(t, img, true, ""); err == nil || !strings.Contains(err.Error(), "bad journal superblock magic") {
		t.Errorf("bad magic: %v", err)
	}
}
