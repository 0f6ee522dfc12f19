package kern

import (
	"syscall"
	"testing"

	"github.com/rumpfs/rumpfs/vfs"
)

// TestChflags checks chflags(2)'s rules as NetBSD's ufs_setattr applies
// them: the owner sets UF_* flags, only root SF_* ones, a file with a
// system immutable or append flag is root's alone, and a stranger may set
// nothing; Lchflags changes a symlink itself.
func TestChflags(t *testing.T) {
	p, _, mp := newProc(t, nil)
	for _, f := range []string{"/mine", "/other", "/locked"} {
		fd, err := p.Creat(f, 0644)
		wantErr(t, "creat "+f, err, nil)
		p.Close(fd)
	}
	wantErr(t, "chown", p.Chown("/mine", 1000, 1000), nil)
	wantErr(t, "chown", p.Chown("/locked", 1000, 1000), nil)
	wantErr(t, "symlink", p.Symlink("mine", "/link"), nil)

	u, err := mp.NewProc(&vfs.Cred{Uid: 1000, Gid: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Exit()
	flags := func(path string) uint32 {
		t.Helper()
		a, err := p.Lstat(path)
		wantErr(t, "lstat "+path, err, nil)
		return a.Flags
	}

	wantErr(t, "owner sets uchg,nodump", u.Chflags("/mine", ufImmutableT|ufNodumpT), nil)
	if f := flags("/mine"); f != ufImmutableT|ufNodumpT {
		t.Fatalf("flags %#x after chflags", f)
	}
	wantErr(t, "owner sets schg", u.Chflags("/mine", sfImmutable), syscall.EPERM)
	wantErr(t, "stranger", u.Chflags("/other", ufNodumpT), syscall.EPERM)
	wantErr(t, "root sets sappnd", p.Chflags("/locked", sfAppendOnly), nil)
	wantErr(t, "owner of a sappnd file", u.Chflags("/locked", sfAppendOnly|ufNodumpT), syscall.EPERM)
	wantErr(t, "root clears", p.Chflags("/locked", 0), nil)
	if f := flags("/locked"); f != 0 {
		t.Fatalf("flags %#x after clearing", f)
	}

	// Chflags follows the symlink, Lchflags does not.
	wantErr(t, "chflags via link", p.Chflags("/link", ufNodumpT), nil)
	if flags("/mine") != ufNodumpT || flags("/link") != 0 {
		t.Fatalf("chflags did not follow the link: %#x %#x", flags("/mine"), flags("/link"))
	}
	wantErr(t, "lchflags", p.Lchflags("/link", ufNodumpT), nil)
	if flags("/link") != ufNodumpT {
		t.Fatalf("lchflags: %#x", flags("/link"))
	}
	wantErr(t, "missing", p.Chflags("/nope", 0), syscall.ENOENT)
}

const (
	ufNodumpT    = 0x1
	ufImmutableT = 0x2
)
