package ffs

import (
	"bytes"
	"strings"
	"syscall"
	"testing"

	"github.com/rumpfs/rumpfs/fs/ffs/layout"
	"github.com/rumpfs/rumpfs/internal/treetest"
	"github.com/rumpfs/rumpfs/vfs"
)

func smallImage(t *testing.T, v variant) string {
	tree := treetest.New()
	tree.File("f", treetest.String("data\n"))
	src := t.TempDir()
	treetest.Write(t, src, tree)
	return makefs(t, v, src, "4m", "-f", "20")
}

func TestMountOptions(t *testing.T) {
	img := smallImage(t, variant{2, "le", 0, 0})
	d := openDev(t, img, false)
	if _, err := (FS{}).Mount(d, &vfs.MountArgs{Options: vfs.ParseOptions(nil, "bogus")}); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("unknown option: %v", err)
	}
	m := mountImg(t, img, false, "noatime,nodevmtime,async,nodev,nosuid,noexec")
	m.Unmount()
	m = mountImg(t, img, false, "ro")
	if !m.ReadOnly() {
		t.Error("-o ro mount is writable")
	}
	root := mustWalk(t, m, ".")
	if _, err := root.Create(vfs.RootCred, "x", 0644); err != syscall.EROFS {
		t.Errorf("create on ro: %v", err)
	}
	root.Rele()
	m.Unmount()
	// sync: every change reaches the image at once.
	m = mountImg(t, img, false, "sync")
	root = mustWalk(t, m, ".")
	vn, err := root.Create(vfs.RootCred, "x", 0644)
	if err != nil {
		t.Fatal(err)
	}
	vn.Rele()
	root.Rele()
	r, _ := Check(openDev(t, img, true), CheckOptions{})
	for _, p := range r.Problems {
		t.Errorf("after a sync-mount create: %s", p)
	}
	m.Unmount()
	checkClean(t, img)
}

// TestCleanFlag: fs_clean says FS_WASCLEAN while mounted read-write and
// FS_ISCLEAN after unmount.
func TestCleanFlag(t *testing.T) {
	img := smallImage(t, variant{1, "be", 0, 0})
	m := mountImg(t, img, false, "")
	g, err := findSuperblock(openDev(t, img, true))
	if err != nil {
		t.Fatal(err)
	}
	if g.sb.Clean&layout.FS_ISCLEAN != 0 {
		t.Errorf("fs_clean %#x while mounted read-write", g.sb.Clean)
	}
	m.Unmount()
	g, _ = findSuperblock(openDev(t, img, true))
	if g.sb.Clean != layout.FS_ISCLEAN {
		t.Errorf("fs_clean %#x after unmount", g.sb.Clean)
	}
}

func setFlags(t *testing.T, img string, flags uint32) {
	d := openDev(t, img, false)
	g, err := findSuperblock(d)
	if err != nil {
		t.Fatal(err)
	}
	g.sb.Flags |= flags
	g.sb.Encode(g.sbraw, g.bo)
	if _, err := d.WriteAt(g.sbraw, g.sbloc); err != nil {
		t.Fatal(err)
	}
}

func TestJournalRefused(t *testing.T) {
	for _, c := range []struct {
		flag uint32
		name string
	}{{layout.FS_SUJ, "SU+J"}, {layout.FS_DOWAPBL, "WAPBL"}} {
		img := smallImage(t, variant{2, "be", 0, 0})
		setFlags(t, img, c.flag)
		if c.flag == layout.FS_DOWAPBL {
			// A log at the end of the partition that we cannot read.
			d := openDev(t, img, false)
			g, _ := findSuperblock(d)
			g.sb.JournalLocation = layout.UFS_WAPBL_JOURNALLOC_END_PARTITION
			g.sb.Journallocs = [4]uint64{1 << 40, 1, 512, 0}
			g.sb.Encode(g.sbraw, g.bo)
			d.WriteAt(g.sbraw, g.sbloc)
		}
		mnt := func(ro bool, opts string) error {
			_, err := (FS{}).Mount(openDev(t, img, ro), &vfs.MountArgs{ReadOnly: ro, Options: vfs.ParseOptions(nil, opts), Logf: t.Logf})
			return err
		}
		if err := mnt(false, ""); err == nil || !strings.Contains(err.Error(), c.name) {
			t.Errorf("%s: rw mount: %v", c.name, err)
		}
		if err := mnt(true, ""); err == nil || !strings.Contains(err.Error(), "force") {
			t.Errorf("%s: ro mount without force: %v", c.name, err)
		}
		if err := mnt(true, "force"); err != nil {
			t.Errorf("%s: ro,force mount: %v", c.name, err)
		}
	}
	// Soft updates alone: NetBSD clears the flag on a read-write mount.
	img := smallImage(t, variant{2, "le", 0, 0})
	setFlags(t, img, layout.FS_DOSOFTDEP)
	m := mountImg(t, img, false, "")
	m.Unmount()
	g, _ := findSuperblock(openDev(t, img, true))
	if g.sb.Flags&layout.FS_DOSOFTDEP != 0 {
		t.Error("soft-updates flag kept")
	}
	checkClean(t, img)
}

// TestExtattrRead puts a UFS2 extended-attribute area on a file (as
// FreeBSD would) and reads it back through Getxattr/Listxattr.
func TestExtattrRead(t *testing.T) {
	img := smallImage(t, variant{2, "be", 8192, 1024})
	m := mountImg(t, img, false, "")
	f := mustWalk(t, m, "f")
	g := m.g
	area := append(encodeExtattr(g, layout.EXTATTR_NAMESPACE_USER, "color", []byte("blue")),
		encodeExtattr(g, layout.EXTATTR_NAMESPACE_SYSTEM, "posix1e.acl_access", []byte{1, 2, 3})...)
	m.mu.Lock()
	b, err := m.allocFrags(1, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, g.fsize)
	copy(buf, area)
	m.cache.WriteAt(buf, b<<g.fshift)
	f.extb[0] = b
	f.extsize = uint32(len(area))
	f.blocks += g.fsize / 512
	f.store()
	m.mu.Unlock()
	f.Rele()
	m.Unmount()
	checkClean(t, img)
	m = mountImg(t, img, true, "")
	defer m.Unmount()
	f = mustWalk(t, m, "f")
	defer f.Rele()
	names, err := f.Listxattr()
	if err != nil || strings.Join(names, ",") != "user.color,system.posix1e.acl_access" {
		t.Errorf("listxattr: %v %v", names, err)
	}
	if v, err := f.Getxattr("user.color"); err != nil || !bytes.Equal(v, []byte("blue")) {
		t.Errorf("getxattr: %q %v", v, err)
	}
	if _, err := f.Getxattr("user.none"); err != syscall.ENODATA {
		t.Errorf("missing xattr: %v", err)
	}
	// Removing the file frees the attribute area too.
	f.Rele()
	m.Unmount()
	m = mountImg(t, img, false, "")
	root := mustWalk(t, m, ".")
	if err := root.Remove("f"); err != nil {
		t.Fatal(err)
	}
	root.Rele()
	m.Unmount()
	checkClean(t, img)
	m = mountImg(t, img, true, "")
	f = mustWalk(t, m, ".")
}
