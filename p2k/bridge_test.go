package p2k

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// asUser runs a shell command as uid/gid 1000 and returns its combined
// output and whether it succeeded.
func asUser(t *testing.T, dir, script string) (string, bool) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 1000, Gid: 1000}}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run %q: %v", script, err)
	}
	return strings.TrimSpace(string(out)), err == nil
}

// openUp makes the directories above the mount point searchable by other
// users (t.TempDir makes them 0700).
func openUp(t *testing.T, mnt string) {
	for d := filepath.Dir(mnt); d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0755); err != nil {
			t.Fatal(err)
		}
	}
}

func write(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// TestPermissions checks that an ordinary user is refused what POSIX
// refuses: by p2k without default_permissions, by the kernel with it.
func TestPermissions(t *testing.T) {
	for _, opts := range []string{"allow_other", "allow_other,default_permissions"} {
		t.Run(opts, func(t *testing.T) {
			s := startServer(t, opts)
			openUp(t, s.mnt)
			m := s.mnt
			write(t, m+"/public", "hello\n", 0644)
			write(t, m+"/secret", "secret\n", 0600)
			if err := os.Mkdir(m+"/private", 0700); err != nil {
				t.Fatal(err)
			}
			write(t, m+"/private/f", "x\n", 0644)
			if err := os.Mkdir(m+"/tmp", 0777|os.ModeSticky); err != nil {
				t.Fatal(err)
			}
			os.Chmod(m+"/tmp", 0777|os.ModeSticky)
			write(t, m+"/tmp/rootfile", "r\n", 0666)
			if err := os.Mkdir(m+"/shared", 0777); err != nil {
				t.Fatal(err)
			}
			os.Chmod(m+"/shared", 0777)
			write(t, m+"/shared/rootfile", "r\n", 0644)

			cases := []struct {
				script string
				ok     bool
				msg    string
			}{
				{"cat public", true, "hello"},
				{"cat secret", false, "Permission denied"},
				{"cat private/f", false, "Permission denied"},
				{"ls private", false, "Permission denied"},
				{"echo x >> public", false, "Permission denied"},
				{"touch newfile", false, "Permission denied"},
				{"mkdir newdir", false, "Permission denied"},
				{"rm -f public", false, "Permission denied"},
				{"chmod 666 public", false, "Operation not permitted"},
				{"chown 1000 public", false, "Operation not permitted"},
				{"touch -c -d 2001-01-01 public", false, "Operation not permitted"},
				{"touch -c public", false, "Permission denied"},
				{"truncate -s 0 public", false, "Permission denied"},
				{"rm -f tmp/rootfile", false, "Operation not permitted"},
				{"mv tmp/rootfile tmp/x", false, "Operation not permitted"},
				{"rm -f shared/rootfile && test ! -e shared/rootfile", true, ""},
				{"echo mine > tmp/mine && cat tmp/mine && rm tmp/mine", true, "mine"},
				{"test -r public && test ! -w public && test ! -r secret", true, ""},
			}
			for _, c := range cases {
				out, ok := asUser(t, m, c.script)
				if ok != c.ok || !strings.Contains(out, c.msg) {
					t.Errorf("as uid 1000: %s: ok=%v output %q; want ok=%v and %q", c.script, ok, out, c.ok, c.msg)
				}
			}
		})
	}
}

// TestWizard: with P2K_WIZARDUID=0 every caller acts as root, as in
// NetBSD's p2k.
func TestWizard(t *testing.T) {
	s := startServer(t, "allow_other,wizard")
	openUp(t, s.mnt)
	write(t, s.mnt+"/secret", "secret\n", 0600)
	if out, ok := asUser(t, s.mnt, "cat secret && echo more >> secret && touch new"); !ok || !strings.Contains(out, "secret") {
		t.Errorf("as uid 1000 in wizard mode: %q ok=%v", out, ok)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(s.mnt+"/new", &st); err != nil || st.Uid != 0 {
		t.Errorf("file made in wizard mode: uid %d, %v; want 0", st.Uid, err)
	}
}

// TestSyncer: changes are flushed to the file system within the sync
// interval, without an fsync.
func TestSyncer(t *testing.T) {
	s := startServer(t, "sync")
	write(t, s.mnt+"/f", "data", 0644)
	time.Sleep(300 * time.Millisecond)
	os.Remove(s.stats)
	s.cmd.Process.Signal(syscall.SIGUSR1)
	if _, _, _, syncs := s.readAllStats(t); syncs == 0 {
		t.Errorf("no Sync within 300ms of a write (interval 50ms)")
	}
}

// TestUnmountExits: fusermount3 -u ends the server with exit status 0 and
// every vnode reference given back.
func TestUnmountExits(t *testing.T) {
	s := startServer(t, "")
	write(t, s.mnt+"/f", "data", 0644)
	if out, err := exec.Command("fusermount3", "-u", s.mnt).CombinedOutput(); err != nil {
		t.Fatalf("fusermount3 -u: %v %s", err, out)
	}
	if err := s.wait(t); err != nil {
		t.Fatalf("server exit: %v", err)
	}
	if refs, _, bad := s.readStats(t); refs != 0 || bad != 0 {
		t.Errorf("after unmount: %d references left, %d double releases", refs, bad)
	}
}

// TestSignalExits: SIGTERM unmounts and exits 0, also while a file in the
// mount is open (the mount is then detached lazily).
func TestSignalExits(t *testing.T) {
	for _, busy := range []bool{false, true} {
		t.Run(fmt.Sprintf("busy=%v", busy), func(t *testing.T) {
			s := startServer(t, "")
			write(t, s.mnt+"/f", "data", 0644)
			if busy {
				f, err := os.Open(s.mnt + "/f")
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
			}
			s.cmd.Process.Signal(syscall.SIGTERM)
			if err := s.wait(t); err != nil {
				t.Fatalf("server exit: %v", err)
			}
			if mounted(s.mnt) {
				t.Errorf("%s still mounted after SIGTERM", s.mnt)
			}
			if refs, _, bad := s.readStats(t); refs != 0 || bad != 0 {
				t.Errorf("after SIGTERM: %d references left, %d double releases", refs, bad)
			}
		})
	}
}

// TestInodeNumbers: st_ino and d_ino are the file system's own numbers
// (memfs numbers from 2, the root, in creation order).
func TestInodeNumbers(t *testing.T) {
	s := startServer(t, "")
	if err := os.Mkdir(s.mnt+"/d", 0755); err != nil {
		t.Fatal(err)
	}
	write(t, s.mnt+"/d/f", "x", 0644)
	if err := os.Link(s.mnt+"/d/f", s.mnt+"/g"); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]uint64{"": 2, "/d": 3, "/d/f": 4, "/g": 4} {
		var st syscall.Stat_t
		if err := syscall.Stat(s.mnt+path, &st); err != nil {
			t.Fatal(err)
		}
		if st.Ino != want {
			t.Errorf("stat %q: ino %d, want %d", path, st.Ino, want)
		}
		if path == "/g" && st.Nlink != 2 {
			t.Errorf("hard link: nlink %d, want 2", st.Nlink)
		}
	}
	ents, err := os.ReadDir(s.mnt + "/d")
	if err != nil || len(ents) != 1 {
		t.Fatalf("readdir: %v %v", ents, err)
	}
	info, _ := ents[0].Info()
	if ino := info.Sys().(*syscall.Stat_t).Ino; ino != 4 {
		t.Errorf("readdir d_ino %d, want 4", ino)
	}
}

// TestReferences: each inode the kernel knows holds exactly one vnode
// reference, forgotten inodes give theirs back, and large directories list
// completely across several READDIR requests.
func TestReferences(t *testing.T) {
	s := startServer(t, "")
	const n = 600
	if err := os.Mkdir(s.mnt+"/big", 0755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s/big/file-with-a-rather-long-name-%04d", s.mnt, i)
		write(t, name, "x", 0644)
	}
	for i := 0; i < n; i += 7 {
		from := fmt.Sprintf("%s/big/file-with-a-rather-long-name-%04d", s.mnt, i)
		if err := os.Link(from, from+".link"); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i < n; i += 7 {
		from := fmt.Sprintf("%s/big/file-with-a-rather-long-name-%04d", s.mnt, i)
		if err := os.Rename(from, from+".moved"); err != nil {
			t.Fatal(err)
		}
	}
	for i := 2; i < n; i += 7 {
		if err := os.Remove(fmt.Sprintf("%s/big/file-with-a-rather-long-name-%04d", s.mnt, i)); err != nil {
			t.Fatal(err)
		}
	}
	ents, err := os.ReadDir(s.mnt + "/big")
	if err != nil {
		t.Fatal(err)
	}
	want := n + (n+6)/7 - (n+4)/7
	if len(ents) != want {
		t.Errorf("readdir: %d entries, want %d", len(ents), want)
	}
	seen := map[string]bool{}
	for _, e := range ents {
		if seen[e.Name()] {
			t.Errorf("readdir: %s listed twice", e.Name())
		}
		seen[e.Name()] = true
		if _, err := e.Info(); err != nil {
			t.Error(err)
		}
	}
	refs, nodes, bad := s.refStats(t)
	if refs != nodes || bad != 0 {
		t.Errorf("%d vnode references for %d nodes, %d double releases", refs, nodes, bad)
	}
	if nodes < 2 {
		t.Errorf("only %d nodes known after stat of every file", nodes)
	}
	// Make the kernel forget what it can; the references must follow.
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("2"), 0); err == nil {
		// The kernel's FORGETs arrive asynchronously, and the server
		// reads its two counters one after the other: a snapshot taken
		// while one is being handled can be one apart. Wait (2 s at
		// most) for the counts to settle.
		refs2, nodes2, bad2 := s.refStats(t)
		for end := time.Now().Add(2 * time.Second); (refs2 != nodes2 || nodes2 >= nodes) && bad2 == 0 && time.Now().Before(end); {
			time.Sleep(50 * time.Millisecond)
			refs2, nodes2, bad2 = s.refStats(t)
		}
		if refs2 != nodes2 || bad2 != 0 || nodes2 >= nodes {
			t.Errorf("after drop_caches: %d references for %d nodes (before %d), %d double releases", refs2, nodes2, nodes, bad2)
		}
	}
	s.stop(t)
	if refs, _, bad := s.readStats(t); refs != 0 || bad != 0 {
		t.Errorf("after unmount: %d references left, %d double releases", refs, bad)
	}
}

// TestReadOnly: a read-only mount refuses changes with EROFS.
func TestReadOnly(t *testing.T) {
	s := startServer(t, "ro")
	for what, err := range map[string]error{
		"create": os.WriteFile(s.mnt+"/f", []byte("x"), 0644),
		"mkdir":  os.Mkdir(s.mnt+"/d", 0755),
		"chmod":  os.Chmod(s.mnt, 0700),
	} {
		if !errors.Is(err, syscall.EROFS) {
			t.Errorf("%s on a read-only mount: %v, want EROFS", what, err)
		}
	}
	if _, err := os.ReadDir(s.mnt); err != nil {
		t.Errorf("readdir on a read-only mount: %v", err)
	}
}
