package vfs

import "syscall"

// Access modes for Access, as access(2).
const (
	AccessRead  = 4
	AccessWrite = 2
	AccessExec  = 1
)

// Access decides whether cred may use a file with attributes a in the given
// modes (a combination of AccessRead/Write/Exec), following NetBSD's
// genfs_can_access: the owner class, else the group class, else other; the
// super-user may read and write anything and execute anything that has some
// execute bit (or is a directory). Read-only mounts are the caller's concern.
func Access(a *Attr, cred *Cred, mode uint32) error {
	if cred.IsRoot() {
		if mode&AccessExec != 0 && !a.IsDir() && a.Mode&0111 == 0 {
			return syscall.EACCES
		}
		return nil
	}
	var bits uint32
	switch {
	case cred.Uid == a.Uid:
		bits = (a.Mode >> 6) & 7
	case cred.InGroup(a.Gid):
		bits = (a.Mode >> 3) & 7
	default:
		bits = a.Mode & 7
	}
	if bits&mode == mode {
		return nil
	}
	return syscall.EACCES
}

// CheckSetattr applies POSIX's rules for who may change what, before a
// VOP_SETATTR. It may clear S_ISGID from sa.Mode (a non-member setting it),
// as NetBSD's genfs_can_chmod does. Size changes need write permission,
// which the caller checks at open or truncate time.
func CheckSetattr(a *Attr, cred *Cred, sa *SetAttr) error {
	root := cred.IsRoot()
	owner := cred.Uid == a.Uid
	if sa.Valid&SetMode != 0 {
		if !root && !owner {
			return syscall.EPERM
		}
		if !root {
			// Only the super-user sets the sticky bit on a plain file;
			// NetBSD answers EFTYPE, which Linux lacks, so the bit is
			// dropped as FreeBSD and 4.4BSD's ufs_chmod did.
			if a.Mode&S_IFMT != S_IFDIR {
				sa.Mode &^= S_ISVTX
			}
			gid := a.Gid
			if sa.Valid&SetGid != 0 {
				gid = sa.Gid
			}
			if sa.Mode&S_ISGID != 0 && !cred.InGroup(gid) {
				sa.Mode &^= S_ISGID
			}
		}
	}
	if sa.Valid&(SetUid|SetGid) != 0 && !root {
		// Owners may only give the file to a group they are in, and never
		// to another user.
		if !owner {
			return syscall.EPERM
		}
		if sa.Valid&SetUid != 0 && sa.Uid != a.Uid {
			return syscall.EPERM
		}
		if sa.Valid&SetGid != 0 && sa.Gid != a.Gid && !cred.InGroup(sa.Gid) {
			return syscall.EPERM
		}
	}
	if sa.Valid&SetFlags != 0 && !root && !owner {
		return syscall.EPERM
	}
	return nil
}

// CheckUtimes applies utimes(2)'s rule: the owner or root may set any time;
// anyone with write permission may set both to "now" (now is true).
func CheckUtimes(a *Attr, cred *Cred, now bool) error {
	if cred.IsRoot() || cred.Uid == a.Uid {
		return nil
	}
	if now && Access(a, cred, AccessWrite) == nil {
		return nil
	}
	if now {
		return syscall.EACCES
	}
	return syscall.EPERM
}

// CheckSticky applies the sticky-directory rule before removing or renaming
// away an entry whose attributes are victim from a directory dir.
func CheckSticky(dir, victim *Attr, cred *Cred) error {
	if dir.Mode&S_ISVTX == 0 || cred.IsRoot() || cred.Uid == dir.Uid || cred.Uid == victim.Uid {
		return nil
	}
	return syscall.EPERM
}
