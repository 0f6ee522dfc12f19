package vfs

import "syscall"

// The VOP_* helpers call the optional operations of a vnode. When the file
// system lacks the interface, the answer is EROFS on a read-only mount (a
// read-only format such as cd9660 implements none of them) and EOPNOTSUPP
// otherwise, which is what NetBSD's genfs_eopnotsupp gives.

func lacks(m Mount) error {
	if m == nil || m.ReadOnly() {
		return syscall.EROFS
	}
	return syscall.EOPNOTSUPP
}

// VOP_WRITE writes p at off.
func VOP_WRITE(m Mount, vn Vnode, p []byte, off int64) (int, error) {
	if w, ok := vn.(Writer); ok {
		return w.Write(p, off)
	}
	return 0, lacks(m)
}

// VOP_WRITECRED writes p at off on behalf of cred, the credentials the
// file was opened with; a file system without CredWriter gets a plain
// Write. A nil cred is a plain Write too.
func VOP_WRITECRED(m Mount, vn Vnode, cred *Cred, p []byte, off int64) (int, error) {
	if w, ok := vn.(CredWriter); ok && cred != nil {
		return w.WriteCred(cred, p, off)
	}
	return VOP_WRITE(m, vn, p, off)
}

// VOP_SETATTR changes attributes.
func VOP_SETATTR(m Mount, vn Vnode, sa *SetAttr) error {
	if s, ok := vn.(Setattrer); ok {
		return s.Setattr(sa)
	}
	return lacks(m)
}

// VOP_SETATTRCRED is VOP_SETATTR on behalf of cred; a file system without
// CredSetattrer (or a nil cred) gets a plain Setattr.
func VOP_SETATTRCRED(m Mount, vn Vnode, cred *Cred, sa *SetAttr) error {
	if s, ok := vn.(CredSetattrer); ok && cred != nil {
		return s.SetattrCred(cred, sa)
	}
	return VOP_SETATTR(m, vn, sa)
}

// VOP_CREATE makes a regular file.
func VOP_CREATE(m Mount, dir Vnode, cred *Cred, name string, mode uint32) (Vnode, error) {
	if c, ok := dir.(Creator); ok {
		return c.Create(cred, name, mode)
	}
	return nil, lacks(m)
}

// VOP_MKNOD makes a special file.
func VOP_MKNOD(m Mount, dir Vnode, cred *Cred, name string, mode uint32, rdev uint64) (Vnode, error) {
	if c, ok := dir.(Mknoder); ok {
		return c.Mknod(cred, name, mode, rdev)
	}
	return nil, lacks(m)
}

// VOP_MKDIR makes a directory.
func VOP_MKDIR(m Mount, dir Vnode, cred *Cred, name string, mode uint32) (Vnode, error) {
	if c, ok := dir.(Mkdirer); ok {
		return c.Mkdir(cred, name, mode)
	}
	return nil, lacks(m)
}

// VOP_SYMLINK makes a symbolic link.
func VOP_SYMLINK(m Mount, dir Vnode, cred *Cred, name, target string) (Vnode, error) {
	if c, ok := dir.(Symlinker); ok {
		return c.Symlink(cred, name, target)
	}
	return nil, lacks(m)
}

// VOP_LINK makes a hard link.
func VOP_LINK(m Mount, dir Vnode, name string, target Vnode) error {
	if c, ok := dir.(Linker); ok {
		return c.Link(name, target)
	}
	return lacks(m)
}

// VOP_REMOVE removes a non-directory.
func VOP_REMOVE(m Mount, dir Vnode, name string) error {
	if c, ok := dir.(Remover); ok {
		return c.Remove(name)
	}
	return lacks(m)
}

// VOP_RMDIR removes an empty directory.
func VOP_RMDIR(m Mount, dir Vnode, name string) error {
	if c, ok := dir.(Remover); ok {
		return c.Rmdir(name)
	}
	return lacks(m)
}

// VOP_RENAME renames.
func VOP_RENAME(m Mount, dir Vnode, oldName string, newDir Vnode, newName string) error {
	if c, ok := dir.(Renamer); ok {
		return c.Rename(oldName, newDir, newName)
	}
	return lacks(m)
}

// VOP_FSYNC flushes a file. A file system without Fsyncer has nothing
// buffered per file, so it succeeds.
func VOP_FSYNC(vn Vnode, dataOnly bool) error {
	if c, ok := vn.(Fsyncer); ok {
		return c.Fsync(dataOnly)
	}
	return nil
}

// VOP_GETXATTR reads an extended attribute.
func VOP_GETXATTR(vn Vnode, name string) ([]byte, error) {
	if c, ok := vn.(Xattrer); ok {
		return c.Getxattr(name)
	}
	return nil, syscall.ENODATA
}

// VOP_LISTXATTR lists extended attribute names.
func VOP_LISTXATTR(vn Vnode) ([]string, error) {
	if c, ok := vn.(Xattrer); ok {
		return c.Listxattr()
	}
	return nil, nil
}

// VOP_SETXATTR sets an extended attribute.
func VOP_SETXATTR(m Mount, vn Vnode, name string, value []byte, flags int) error {
	if c, ok := vn.(XattrSetter); ok {
		return c.Setxattr(name, value, flags)
	}
	if m != nil && m.ReadOnly() {
		return syscall.EROFS
	}
	return syscall.ENOTSUP
}

// VOP_REMOVEXATTR removes an extended attribute.
func VOP_REMOVEXATTR(m Mount, vn Vnode, name string) error {
	if c, ok := vn.(XattrSetter); ok {
		return c.Removexattr(name)
	}
	if m != nil && m.ReadOnly() {
		return syscall.EROFS
	}
	return syscall.ENOTSUP
}

// VOP_OPEN tells the file system a file is being opened.
func VOP_OPEN(vn Vnode, flags int) error {
	if c, ok := vn.(Opener); ok {
		return c.Open(flags)
	}
	return nil
}

// VOP_CLOSE tells the file system a file is being closed.
func VOP_CLOSE(vn Vnode) error {
	if c, ok := vn.(Opener); ok {
		return c.Close()
	}
	return nil
}
