package kern

import (
	"syscall"

	"github.com/rumpfs/rumpfs/vfs"
)

// BSD file flags (sys/stat.h): the upper half (SF_*) is the
// super-user's; the owner may change the lower half (UF_*).
const (
	sfSettable   = 0xffff0000
	sfImmutable  = 0x00020000
	sfAppendOnly = 0x00040000
)

// Chflags sets the BSD file flags of path (chflags(2)), following a
// final symlink. Which flags a file system keeps is its own: FFS keeps
// them all, ext2 its immutable, append-only and nodump bits, FAT the
// archive, hidden and system attributes; the others are dropped, and a
// caller that must know compares with a later stat.
func (p *Proc) Chflags(path string, flags uint32) error {
	return p.setattr(path, vfs.Follow, chflagsAttr(flags))
}

// Lchflags is Chflags on a final symlink itself (lchflags(2)).
func (p *Proc) Lchflags(path string, flags uint32) error {
	return p.setattr(path, 0, chflagsAttr(flags))
}

// chflagsAttr applies NetBSD's rule (ufs_setattr): the owner or root may
// change flags; only root may change the SF_* flags, and a file that has
// SF_IMMUTABLE or SF_APPEND set is root's alone.
func chflagsAttr(flags uint32) func(c *ctx, a *vfs.Attr) (*vfs.SetAttr, error) {
	return func(c *ctx, a *vfs.Attr) (*vfs.SetAttr, error) {
		sa := &vfs.SetAttr{Valid: vfs.SetFlags, Flags: flags}
		if err := vfs.CheckSetattr(a, c.cred, sa); err != nil {
			return nil, err
		}
		if !c.cred.IsRoot() {
			if a.Flags&(sfImmutable|sfAppendOnly) != 0 || (flags^a.Flags)&sfSettable != 0 {
				return nil, syscall.EPERM
			}
		}
		return sa, nil
	}
}
