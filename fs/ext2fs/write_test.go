package ext2fs

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rumpfs/rumpfs/vfs"
)

// dual applies each change both to a host directory (the expected tree)
// and to the image through the vfs interfaces.
type dual struct {
	t    *testing.T
	m    vfs.Mount
	host string
}

func (d *dual) parent(p string) (vfs.Vnode, string) {
	d.t.Helper()
	dir, name := filepath.Split(p)
	vn, err := walk(d.t, d.m, "/"+strings.Trim(dir, "/"))
	if err != nil {
		d.t.Fatalf("walk %s: %v", dir, err)
	}
	return vn, name
}

func (d *dual) node(p string) vfs.Vnode {
	d.t.Helper()
	vn, err := walk(d.t, d.m, p)
	if err != nil {
		d.t.Fatalf("walk %s: %v", p, err)
	}
	return vn
}

func (d *dual) ok(err error, what string) {
	d.t.Helper()
	if err != nil {
		d.t.Fatalf("%s: %v", what, err)
	}
}

func (d *dual) mkdir(p string, mode uint32) {
	d.t.Helper()
	d.ok(os.Mkdir(d.host+p, os.FileMode(mode)), "host mkdir")
	unix.Chmod(d.host+p, mode)
	dir, name := d.parent(p)
	defer dir.Rele()
	vn, err := vfs.VOP_MKDIR(d.m, dir, vfs.RootCred, name, mode)
	d.ok(err, "mkdir "+p)
	vn.Rele()
}

func (d *dual) write(p string, data []byte, off int64) {
	d.t.Helper()
	f, err := os.OpenFile(d.host+p, os.O_WRONLY|os.O_CREATE, 0644)
	d.ok(err, "host open")
	_, err = f.WriteAt(data, off)
	d.ok(err, "host write")
	f.Close()
	vn, err := walk(d.t, d.m, p)
	if err == syscall.ENOENT {
		dir, name := d.parent(p)
		vn, err = vfs.VOP_CREATE(d.m, dir, vfs.RootCred, name, 0644)
		dir.Rele()
	}
	d.ok(err, "create "+p)
	defer vn.Rele()
	n, err := vfs.VOP_WRITE(d.m, vn, data, off)
	if err != nil || n != len(data) {
		d.t.Fatalf("write %s: %d %v", p, n, err)
	}
}

func (d *dual) truncate(p string, size int64) {
	d.t.Helper()
	d.ok(os.Truncate(d.host+p, size), "host truncate")
	vn := d.node(p)
	defer vn.Rele()
	d.ok(vfs.VOP_SETATTR(d.m, vn, &vfs.SetAttr{Valid: vfs.SetSize, Size: uint64(size)}), "truncate "+p)
}

func (d *dual) rename(a, b string) {
	d.t.Helper()
	d.ok(unix.Rename(d.host+a, d.host+b), "host rename") // os.Rename refuses a directory target
	da, na := d.parent(a)
	defer da.Rele()
	db, nb := d.parent(b)
	defer db.Rele()
	d.ok(vfs.VOP_RENAME(d.m, da, na, db, nb), "rename "+a+" "+b)
}

func (d *dual) remove(p string) {
	d.t.Helper()
	d.ok(os.Remove(d.host+p), "host remove")
	dir, name := d.parent(p)
	defer dir.Rele()
	vn := d.node(p)
	a, _ := vn.Getattr()
	vn.Rele()
	if a.IsDir() {
		d.ok(vfs.VOP_RMDIR(d.m, dir, name), "rmdir "+p)
	} else {
		d.ok(vfs.VOP_REMOVE(d.m, dir, name), "remove "+p)
	}
}

func (d *dual) symlink(target, p string) {
	d.t.Helper()
	d.ok(os.Symlink(target, d.host+p), "host symlink")
	dir, name := d.parent(p)
	defer dir.Rele()
	vn, err := vfs.VOP_SYMLINK(d.m, dir, vfs.RootCred, name, target)
	d.ok(err, "symlink "+p)
	vn.Rele()
}

func (d *dual) link(old, p string) {
	d.t.Helper()
	d.ok(os.Link(d.host+old, d.host+p), "host link")
	dir, name := d.parent(p)
	defer dir.Rele()
	tv := d.node(old)
	defer tv.Rele()
	d.ok(vfs.VOP_LINK(d.m, dir, name, tv), "link "+p)
}

func (d *dual) mknod(p string, mode uint32, rdev uint64) {
	d.t.Helper()
	d.ok(unix.Mknod(d.host+p, mode, int(rdev)), "host mknod")
	dir, name := d.parent(p)
	defer dir.Rele()
	vn, err := vfs.VOP_MKNOD(d.m, dir, vfs.RootCred, name, mode, rdev)
	d.ok(err, "mknod "+p)
	vn.Rele()
}

func (d *dual) setattr(p string, sa vfs.SetAttr) {
	d.t.Helper()
	h := d.host + p
	if sa.Valid&(vfs.SetUid|vfs.SetGid) != 0 {
		d.ok(os.Lchown(h, int(sa.Uid), int(sa.Gid)), "host chown")
		sa.Valid |= vfs.SetUid | vfs.SetGid
	}
	if sa.Valid&vfs.SetMode != 0 {
		d.ok(unix.Chmod(h, sa.Mode), "host chmod")
	}
	if sa.Valid&vfs.SetMtime != 0 {
		ts := []unix.Timespec{unix.NsecToTimespec(sa.Atime.UnixNano()), unix.NsecToTimespec(sa.Mtime.UnixNano())}
		d.ok(unix.UtimesNanoAt(unix.AT_FDCWD, h, ts, unix.AT_SYMLINK_NOFOLLOW), "host utimes")
		sa.Valid |= vfs.SetAtime
	}
	vn := d.node(p)
	defer vn.Rele()
	d.ok(vfs.VOP_SETATTR(d.m, vn, &sa), "setattr "+p)
}

func (d *dual) setxattr(p, name string, val []byte) {
	d.t.Helper()
	d.ok(unix.Lsetxattr(d.host+p, name, val, 0), "host setxattr")
	vn := d.node(p)
	defer vn.Rele()
	d.ok(vfs.VOP_SETXATTR(d.m, vn, name, val, 0), "setxattr "+p)
}

func (d *dual) removexattr(p, name string) {
	d.t.Helper()
	d.ok(unix.Lremovexattr(d.host+p, name), "host removexattr")
	vn := d.node(p)
	defer vn.Rele()
	d.ok(vfs.VOP_REMOVEXATTR(d.m, vn, name), "removexattr "+p)
}

// copyIn copies a host tree into the image under dst.
func (d *dual) copyIn(src, dst string) {
	d.t.Helper()
	ents, err := os.ReadDir(src)
	d.ok(err, "readdir")
	for _, e := range ents {
		s := filepath.Join(src, e.Name())
		p := dst + "/" + e.Name()
		var st unix.Stat_t
		unix.Lstat(s, &st)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			d.mkdir(p, st.Mode&07777)
			d.copyIn(s, p)
		case unix.S_IFREG:
			data, _ := os.ReadFile(s)
			d.write(p, data, 0)
			d.setattr(p, vfs.SetAttr{Valid: vfs.SetMode, Mode: st.Mode & 07777})
		case unix.S_IFLNK:
			tg, _ := os.Readlink(s)
			d.symlink(tg, p)
		default:
			d.mknod(p, st.Mode, st.Rdev)
		}
	}
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*13+int(seed)) ^ byte(i>>9)
	}
	return b
}

// scenario runs the standard sequence of changes.
func scenario(t *testing.T, d *dual, bs int, xattrs bool) {
	// A tree copied in.
	src := t.TempDir()
	os.MkdirAll(src+"/a/b/c", 0755)
	os.WriteFile(src+"/a/one", pattern(1, 1), 0644)
	os.WriteFile(src+"/a/b/blockish", pattern(bs, 2), 0600)
	os.WriteFile(src+"/a/b/c/indirect", pattern(bs*(NDirBlocks+5)+17, 3), 0644)
	os.WriteFile(src+"/a/dind", pattern(bs*(NDirBlocks+bs/4+3), 4), 0644)
	os.WriteFile(src+"/ünïcødé-名前", []byte("utf8"), 0644)
	os.WriteFile(src+"/"+strings.Repeat("N", 255), []byte("long"), 0644)
	os.Symlink("a/one", src+"/fast")
	os.Symlink(strings.Repeat("s", 200), src+"/slow")
	unix.Mknod(src+"/chr", unix.S_IFCHR|0644, int(unix.Mkdev(1, 3)))
	unix.Mknod(src+"/blk", unix.S_IFBLK|0600, int(unix.Mkdev(300, 70000)))
	unix.Mkfifo(src+"/fifo", 0644)
	unix.Mknod(src+"/sock", unix.S_IFSOCK|0755, 0)
	d.mkdir("/in", 0755)
	d.copyIn(src, "/in")

	// Hard links.
	d.link("/in/a/one", "/in/a/b/one-link")
	d.link("/in/a/one", "/one-root-link")
	// Sparse files, holes kept; a far block (triple indirect on 1 KiB).
	d.write("/sparse", []byte("head"), 0)
	d.write("/sparse", []byte("far"), int64(bs)*(NDirBlocks+int64(bs/4)+int64(bs/4)*int64(bs/4)+10))
	d.write("/sparse", []byte("mid"), 1<<20)
	// Appends and overwrites.
	d.write("/in/a/one", pattern(5000, 7), 1)
	d.write("/in/a/one", []byte("OVER"), 2)
	// Truncates: down inside indirect blocks, up (hole), to zero.
	d.truncate("/in/a/dind", int64(bs*(NDirBlocks+2))+5)
	d.truncate("/in/a/b/c/indirect", 100000)
	d.truncate("/in/a/b/blockish", 0)
	d.write("/in/a/b/blockish", []byte("again"), 3)
	d.truncate("/sparse", int64(bs)*(NDirBlocks+int64(bs/4)+5))
	// Attributes.
	d.setattr("/in/a/one", vfs.SetAttr{Valid: vfs.SetMode, Mode: 04755})
	d.setattr("/in/a/b", vfs.SetAttr{Valid: vfs.SetMode, Mode: 01777})
	d.setattr("/in/a/b/blockish", vfs.SetAttr{Valid: vfs.SetUid | vfs.SetGid, Uid: 1234, Gid: 5678})
	d.setattr("/in/fast", vfs.SetAttr{Valid: vfs.SetUid | vfs.SetGid, Uid: 7, Gid: 8})
	old := time.Date(1950, 6, 1, 12, 0, 0, 0, time.UTC)
	d.setattr("/in/a/dind", vfs.SetAttr{Valid: vfs.SetMtime, Atime: old, Mtime: old})
	// Renames: same dir, across dirs, over an existing file, a directory
	// across directories, a directory over an empty one.
	d.rename("/in/ünïcødé-名前", "/in/renamed")
	d.rename("/in/renamed", "/in/a/b/moved")
	d.write("/victim", []byte("victim"), 0)
	d.rename("/in/a/b/moved", "/victim")
	d.rename("/in/a/b/c", "/c-moved")
	d.mkdir("/emptydir", 0700)
	d.rename("/in/a/b", "/emptydir")
	// Directories made and removed.
	d.mkdir("/tmpdir", 0755)
	d.mkdir("/tmpdir/x", 0755)
	d.remove("/tmpdir/x")
	d.remove("/tmpdir")
	// Unlinks, including a hard link.
	d.remove("/in/sock")
	d.remove("/one-root-link")
	if !xattrs {
		return
	}
	// Xattrs: in the inode, in a block, replaced, removed.
	d.setxattr("/in/a/one", "user.small", []byte("v"))
	d.setxattr("/in/a/one", "trusted.secret", []byte("tv"))
	d.setxattr("/in/a/one", "user.big", bytes.Repeat([]byte("B"), bs/2))
	d.setxattr("/in/a/one", "user.small", []byte("replaced"))
	d.setxattr("/c-moved", "user.dir", []byte("on a dir"))
	d.setxattr("/victim", "user.gone", []byte("x"))
	d.removexattr("/victim", "user.gone")
	d.setxattr("/victim", "user.b1", bytes.Repeat([]byte("1"), bs/3))
	d.setxattr("/victim", "user.b2", bytes.Repeat([]byte("2"), bs/3))
	d.removexattr("/victim", "user.b1")
	d.removexattr("/victim", "user.b2")
}

// compareHost compares two host trees (the expected one and a reader's
// view of the image).
func compareHost(t *testing.T, want, got string, strict bool) {
	t.Helper()
	links := map[uint64]uint64{}
	filepath.Walk(want, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			t.Error(err)
			return nil
		}
		rel, _ := filepath.Rel(want, p)
		g := filepath.Join(got, rel)
		var ws, gs unix.Stat_t
		unix.Lstat(p, &ws)
		special := ws.Mode&unix.S_IFMT != unix.S_IFREG && ws.Mode&unix.S_IFMT != unix.S_IFDIR && ws.Mode&unix.S_IFMT != unix.S_IFLNK
		if !strict && special {
			return nil // rdump skips special files
		}
		if err := unix.Lstat(g, &gs); err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		if ws.Mode&unix.S_IFMT != gs.Mode&unix.S_IFMT {
			t.Errorf("%s: type %o want %o", rel, gs.Mode, ws.Mode)
			return nil
		}
		if !strict && ws.Mode&unix.S_IFMT != unix.S_IFREG && ws.Mode&unix.S_IFMT != unix.S_IFDIR && ws.Mode&unix.S_IFMT != unix.S_IFLNK {
			return nil // rdump skips special files
		}
		mask := uint32(0xFFFFFFFF)
		if !strict {
			mask = unix.S_IFMT | 0777 // rdump drops setuid/sticky bits
		}
		if strict || ws.Mode&unix.S_IFMT != unix.S_IFLNK {
			if ws.Mode&mask != gs.Mode&mask {
				t.Errorf("%s: mode %o want %o", rel, gs.Mode, ws.Mode)
			}
		}
		if strict && rel != "." {
			if ws.Uid != gs.Uid || ws.Gid != gs.Gid {
				t.Errorf("%s: owner %d:%d want %d:%d", rel, gs.Uid, gs.Gid, ws.Uid, ws.Gid)
			}
			if ws.Mode&unix.S_IFMT != unix.S_IFDIR && ws.Mtim.Sec != gs.Mtim.Sec && ws.Mode&unix.S_IFMT == unix.S_IFREG && ws.Mtim.Sec < 0 {
				t.Errorf("%s: mtime %d want %d", rel, gs.Mtim.Sec, ws.Mtim.Sec)
			}
			if ws.Nlink != gs.Nlink {
				t.Errorf("%s: nlink %d want %d", rel, gs.Nlink, ws.Nlink)
			}
			if ws.Nlink > 1 && ws.Mode&unix.S_IFMT != unix.S_IFDIR {
				if prev, ok := links[ws.Ino]; ok && prev != gs.Ino {
					t.Errorf("%s: hard link identity lost", rel)
				}
				links[ws.Ino] = gs.Ino
			}
			if x, y := xattrMap(p), xattrMap(g); x != y {
				t.Errorf("%s: xattrs %s want %s", rel, y, x)
			}
		}
		switch ws.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			a, _ := os.ReadFile(p)
			b, _ := os.ReadFile(g)
			if !bytes.Equal(a, b) {
				t.Errorf("%s: contents differ (%d vs %d bytes)", rel, len(b), len(a))
			}
		case unix.S_IFLNK:
			a, _ := os.Readlink(p)
			b, _ := os.Readlink(g)
			if a != b {
				t.Errorf("%s: link %q want %q", rel, b, a)
			}
		case unix.S_IFCHR, unix.S_IFBLK:
			if strict && ws.Rdev != gs.Rdev {
				t.Errorf("%s: rdev %#x want %#x", rel, gs.Rdev, ws.Rdev)
			}
		case unix.S_IFDIR:
			a, _ := os.ReadDir(p)
			b, _ := os.ReadDir(g)
			var bn []string
			if !strict {
				a = nil
				for _, e := range mustReadDir(p) {
					if e.Type()&(os.ModeDevice|os.ModeNamedPipe|os.ModeSocket|os.ModeCharDevice) == 0 {
						a = append(a, e)
					}
				}
			}
			for _, e := range b {
				if !(rel == "." && e.Name() == "lost+found") {
					bn = append(bn, e.Name())
				}
			}
			if len(a) != len(bn) {
				var an []string
				for _, e := range a {
					an = append(an, e.Name())
				}
				t.Errorf("%s: entries %v want %v", rel, bn, an)
			}
		}
		return nil
	})
}

func xattrMap(p string) string {
	sz, _ := unix.Llistxattr(p, nil)
	if sz <= 0 {
		return ""
	}
	buf := make([]byte, sz)
	sz, _ = unix.Llistxattr(p, buf)
	var out []string
	for _, n := range strings.Split(string(buf[:sz]), "\x00") {
		if strings.HasPrefix(n, "user.") || strings.HasPrefix(n, "trusted.") {
			v := make([]byte, 65536)
			k, _ := unix.Lgetxattr(p, n, v)
			out = append(out, fmt.Sprintf("%s=%q", n, v[:k]))
		}
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// kernelCheck loop-mounts the image read-only and compares it with want.
func kernelCheck(t *testing.T, img, want string) {
	t.Helper()
	if os.Getuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("kernel check needs root")
		}
		t.Log("not root: kernel loop-mount check skipped")
		return
	}
	mp := t.TempDir()
	if out, err := exec.Command("mount", "-o", "loop,ro", img, mp).CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("loop mount: %v %s", err, out)
		}
		t.Logf("loop mount unavailable: %v %s", err, out)
		return
	}
	defer exec.Command("umount", mp).Run()
	compareHost(t, want, mp, true)
}

// debugfsCheck dumps the image with debugfs rdump and compares contents.
func debugfsCheck(t *testing.T, img, want string) {
	t.Helper()
	out := t.TempDir()
	run(t, "debugfs", "-R", "rdump / "+out, img)
	// rdump keeps names, contents, modes and link targets.
	compareHost(t, want, out, false)
}

var writeFixtures = []fixture{
	{name: "ext2-4k", prog: "mkfs.ext2", sizeMB: 48, opts: []string{"-b", "4096"}},
	{name: "ext2-1k", prog: "mkfs.ext2", sizeMB: 48, opts: []string{"-b", "1024"}},
	{name: "ext2-I128", prog: "mkfs.ext2", sizeMB: 48, opts: []string{"-b", "2048", "-I", "128"}},
	{name: "ext2-nodirindex", prog: "mkfs.ext2", sizeMB: 48, opts: []string{"-b", "4096", "-O", "^dir_index"}},
	{name: "ext3-1k", prog: "mkfs.ext3", sizeMB: 48, opts: []string{"-b", "1024"}},
	{name: "ext2-rev0", prog: "mkfs.ext2", sizeMB: 48, opts: []string{"-r", "0", "-b", "1024"}, rev0: true},
}

func TestWriteScenario(t *testing.T) {
	needTool(t, "mkfs.ext2", "e2fsck", "debugfs")
	if os.Getuid() != 0 {
		t.Skip("the expected tree needs root (device nodes, chown, trusted.*)")
	}
	for _, fx := range writeFixtures {
		t.Run(fx.name, func(t *testing.T) { writeScenario(t, fx) })
	}
}

// writeScenario runs the standard changes on an empty image made as fx
// says, then checks it with our reader, e2fsck, debugfs and the kernel.
func writeScenario(t *testing.T, fx fixture) {
	img := mkfs(t, fx.prog, fx.sizeMB, "", fx.opts...)
	m := mountImg(t, img, false, "")
	host := t.TempDir()
	d := &dual{t: t, m: m, host: host}
	bs := int(m.(*fsys).bsize)
	scenario(t, d, bs, !fx.rev0)
	// Our own view before unmount.
	compareTree(t, m, host, cmpOpts{nsec: false, xattrs: !fx.rev0})
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	if k := os.Getenv("EXT2FS_KEEP"); k != "" {
		exec.Command("cp", img, k+"-"+fx.name+".img").Run()
	}
	e2fsck(t, img)
	// Remount: still the same, and clean.
	m2 := mountImg(t, img, true, "")
	compareTree(t, m2, host, cmpOpts{xattrs: !fx.rev0})
	if !m2.Info().Clean {
		t.Error("not clean after unmount")
	}
	m2.Unmount()
	debugfsCheck(t, img, host)
	kernelCheck(t, img, host)
}

func mustReadDir(p string) []os.DirEntry {
	e, _ := os.ReadDir(p)
	return e
}
