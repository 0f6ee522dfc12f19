package kern

import (
	"errors"
	"strings"
	"syscall"
	"time"

	"github.com/rumpfs/rumpfs/vfs"
)

func asErrno(err error, e *syscall.Errno) bool { return errors.As(err, e) }

// lastComp returns the last component of path as written: "/" for the
// root, "." or ".." for dot entries. namei folds "a/." into "a", so the
// calls that treat dot entries specially (rmdir, unlink, rename, mkdir)
// look at the text, as Linux's LAST_DOT/LAST_DOTDOT/LAST_ROOT do.
func lastComp(path string) string {
	t := strings.TrimRight(path, "/")
	if t == "" {
		if path == "" {
			return ""
		}
		return "/"
	}
	if i := strings.LastIndexByte(t, '/'); i >= 0 {
		return t[i+1:]
	}
	return t
}

func isDots(c string) bool { return c == "." || c == ".." || c == "/" }

func trailingSlash(path string) bool { return len(path) > 1 && strings.HasSuffix(path, "/") }

// rofs answers EROFS if the mount is read-only.
func (p *Proc) rofs() error {
	if p.mp.ReadOnly() {
		return syscall.EROFS
	}
	return nil
}

// createCred is the identity a new file gets in dir: the caller's, with the
// directory's group if the directory is set-group-ID (System V semantics,
// which Linux follows; NetBSD always inherits the directory's group).
func createCred(c *ctx, dir *vfs.Attr) *vfs.Cred {
	if dir.Mode&vfs.S_ISGID == 0 {
		return c.cred
	}
	cc := *c.cred
	cc.Gid = dir.Gid
	return &cc
}

// mayCreate checks that a new entry may be made in dir: the mount is
// writable and the caller may write and search dir.
func (p *Proc) mayCreate(c *ctx, dir vfs.Vnode) (vfs.Attr, error) {
	if err := p.rofs(); err != nil {
		return vfs.Attr{}, err
	}
	da, err := dir.Getattr()
	if err != nil {
		return da, err
	}
	return da, vfs.Access(&da, c.cred, vfs.AccessWrite|vfs.AccessExec)
}

// mayDelete checks that the entry with attributes victim may be removed
// from dir: write and search permission on dir and the sticky rule.
func (p *Proc) mayDelete(c *ctx, dir vfs.Vnode, victim *vfs.Attr) (vfs.Attr, error) {
	da, err := p.mayCreate(c, dir)
	if err != nil {
		return da, err
	}
	return da, vfs.CheckSticky(&da, victim, c.cred)
}

// Open opens path and returns a descriptor, as open(2).
func (p *Proc) Open(path string, flags int, mode uint32) (int, error) {
	fd, err := p.open(path, flags, mode)
	return fd, errno(err)
}

func (p *Proc) open(path string, flags int, mode uint32) (int, error) {
	c, err := p.enter()
	if err != nil {
		return -1, err
	}
	defer c.exit()
	acc := flags & syscall.O_ACCMODE
	if acc == syscall.O_ACCMODE {
		return -1, syscall.EINVAL
	}
	var vn vfs.Vnode
	created := false
	if flags&syscall.O_CREAT != 0 {
		p.mp.lock.Lock()
		defer p.mp.lock.Unlock()
		if trailingSlash(path) {
			// Linux: O_CREAT with a trailing slash is EISDIR.
			return -1, syscall.EISDIR
		}
		nf := vfs.Parent
		if flags&(syscall.O_EXCL|syscall.O_NOFOLLOW) == 0 {
			// A dangling symlink is followed and its target created.
			nf |= vfs.Follow
		}
		nd, err := c.namei(path, nf)
		if err != nil {
			return -1, err
		}
		defer nd.Release()
		if nd.Vn == nil {
			da, err := p.mayCreate(c, nd.Dir)
			if err != nil {
				return -1, err
			}
			vn, err = vfs.VOP_CREATE(p.mp.Mount, nd.Dir, createCred(c, &da), nd.Name, mode&07777&^c.umask)
			if err != nil {
				return -1, err
			}
			created = true
		} else {
			if flags&syscall.O_EXCL != 0 {
				return -1, syscall.EEXIST
			}
			vn, nd.Vn = nd.Vn, nil
		}
	} else {
		nf := vfs.Follow
		if flags&syscall.O_NOFOLLOW != 0 {
			nf = 0
		}
		nd, err := c.namei(path, nf)
		if err != nil {
			return -1, err
		}
		vn = nd.Vn
	}
	f := &file{vn: vn, flags: flags}
	fail := func(err error) (int, error) {
		vn.Rele()
		return -1, err
	}
	a, err := vn.Getattr()
	if err != nil {
		return fail(err)
	}
	switch {
	case a.Type() == vfs.S_IFLNK:
		return fail(syscall.ELOOP) // O_NOFOLLOW on a symlink
	case flags&syscall.O_DIRECTORY != 0 && !a.IsDir():
		return fail(syscall.ENOTDIR)
	case a.IsDir() && (acc != syscall.O_RDONLY || flags&(syscall.O_CREAT|syscall.O_TRUNC) != 0):
		return fail(syscall.EISDIR)
	}
	f.dir = a.IsDir()
	switch a.Type() {
	case vfs.S_IFCHR, vfs.S_IFBLK, vfs.S_IFIFO, vfs.S_IFSOCK:
		// A rump kernel has no drivers behind the image's device nodes and
		// no peer on its fifos: the node opens (so that io/fs walkers can
		// stat it through a descriptor), reads find nothing and writes
		// fail with ENXIO, "no such device".
		f.special = true
	}
	if !created {
		writing := acc != syscall.O_RDONLY || flags&syscall.O_TRUNC != 0
		var want uint32
		if acc != syscall.O_WRONLY {
			want |= vfs.AccessRead
		}
		if writing {
			if err := p.rofs(); err != nil {
				return fail(err)
			}
			want |= vfs.AccessWrite
		}
		if err := vfs.Access(&a, c.cred, want); err != nil {
			return fail(err)
		}
		if flags&syscall.O_TRUNC != 0 && a.Type() == vfs.S_IFREG {
			if flags&syscall.O_CREAT == 0 {
				p.mp.lock.Lock()
				defer p.mp.lock.Unlock()
			}
			if err := vfs.VOP_SETATTR(p.mp.Mount, vn, &vfs.SetAttr{Valid: vfs.SetSize}); err != nil {
				return fail(err)
			}
		}
	}
	if err := vfs.VOP_OPEN(vn, flags); err != nil {
		return fail(err)
	}
	fd, err := p.install(f)
	if err != nil {
		vfs.VOP_CLOSE(vn)
		return fail(err)
	}
	return fd, nil
}

// Creat is open(path, O_CREAT|O_WRONLY|O_TRUNC, mode).
func (p *Proc) Creat(path string, mode uint32) (int, error) {
	return p.Open(path, syscall.O_CREAT|syscall.O_WRONLY|syscall.O_TRUNC, mode)
}

// stat is Stat or Lstat.
func (p *Proc) stat(path string, flags vfs.NameiFlags) (vfs.Attr, error) {
	c, err := p.enter()
	if err != nil {
		return vfs.Attr{}, err
	}
	defer c.exit()
	nd, err := c.namei(path, flags)
	if err != nil {
		return vfs.Attr{}, errno(err)
	}
	defer nd.Release()
	a, err := nd.Vn.Getattr()
	return a, errno(err)
}

// Stat returns the attributes of path, following symlinks.
func (p *Proc) Stat(path string) (vfs.Attr, error) { return p.stat(path, vfs.Follow) }

// Lstat returns the attributes of path itself.
func (p *Proc) Lstat(path string) (vfs.Attr, error) { return p.stat(path, 0) }

// Mkdir makes a directory, as mkdir(2).
func (p *Proc) Mkdir(path string, mode uint32) error {
	return errno(p.mknode(path, vfs.S_IFDIR|mode&07777, 0, ""))
}

// Mknod makes a file of the type in mode's S_IFMT bits (0 is a regular
// file): device nodes need the super-user, as mknod(2).
func (p *Proc) Mknod(path string, mode uint32, rdev uint64) error {
	switch mode & vfs.S_IFMT {
	case 0:
		mode |= vfs.S_IFREG
	case vfs.S_IFREG, vfs.S_IFIFO, vfs.S_IFSOCK:
	case vfs.S_IFCHR, vfs.S_IFBLK:
		if !p.Cred().IsRoot() {
			return syscall.EPERM
		}
	case vfs.S_IFDIR:
		return syscall.EPERM
	default:
		return syscall.EINVAL
	}
	return errno(p.mknode(path, mode, rdev, ""))
}

// Symlink makes a symbolic link at linkpath pointing to target.
func (p *Proc) Symlink(target, linkpath string) error {
	if target == "" {
		return syscall.ENOENT
	}
	if len(target) >= vfs.PathMax {
		return syscall.ENAMETOOLONG
	}
	return errno(p.mknode(linkpath, vfs.S_IFLNK|0777, 0, target))
}

// mknode makes a directory, special file, regular file or symlink.
func (p *Proc) mknode(path string, mode uint32, rdev uint64, target string) error {
	c, err := p.enter()
	if err != nil {
		return err
	}
	defer c.exit()
	if isDots(lastComp(path)) {
		return syscall.EEXIST
	}
	p.mp.lock.Lock()
	defer p.mp.lock.Unlock()
	nd, err := c.namei(path, vfs.Parent)
	if err != nil {
		return err
	}
	defer nd.Release()
	if nd.Vn != nil {
		return syscall.EEXIST
	}
	typ := mode & vfs.S_IFMT
	if trailingSlash(path) && typ != vfs.S_IFDIR {
		return syscall.ENOENT
	}
	da, err := p.mayCreate(c, nd.Dir)
	if err != nil {
		return err
	}
	cred := createCred(c, &da)
	perm := mode & 07777 &^ c.umask
	var vn vfs.Vnode
	switch typ {
	case vfs.S_IFDIR:
		if da.Mode&vfs.S_ISGID != 0 {
			perm |= vfs.S_ISGID // the set-group-ID bit is inherited
		}
		vn, err = vfs.VOP_MKDIR(p.mp.Mount, nd.Dir, cred, nd.Name, perm)
	case vfs.S_IFLNK:
		vn, err = vfs.VOP_SYMLINK(p.mp.Mount, nd.Dir, cred, nd.Name, target)
	case vfs.S_IFREG:
		vn, err = vfs.VOP_CREATE(p.mp.Mount, nd.Dir, cred, nd.Name, perm)
	default:
		vn, err = vfs.VOP_MKNOD(p.mp.Mount, nd.Dir, cred, nd.Name, typ|perm, rdev)
	}
	if err != nil {
		return err
	}
	vn.Rele()
	return nil
}

// Unlink removes a non-directory. A directory gives EISDIR, as on Linux.
func (p *Proc) Unlink(path string) error {
	c, err := p.enter()
	if err != nil {
		return err
	}
	defer c.exit()
	if isDots(lastComp(path)) {
		return syscall.EISDIR
	}
	p.mp.lock.Lock()
	defer p.mp.lock.Unlock()
	nd, a, err := c.lookupVictim(path)
	if err != nil {
		return err
	}
	defer nd.Release()
	if a.IsDir() {
		return syscall.EISDIR
	}
	if trailingSlash(path) {
		return syscall.ENOTDIR
	}
	if _, err := p.mayDelete(c, nd.Dir, &a); err != nil {
		return err
	}
	return errno(vfs.VOP_REMOVE(p.mp.Mount, nd.Dir, nd.Name))
}

// Rmdir removes an empty directory: "." is EINVAL, ".." ENOTEMPTY and the
// root EBUSY, as Linux answers.
func (p *Proc) Rmdir(path string) error {
	c, err := p.enter()
	if err != nil {
		return err
	}
	defer c.exit()
	switch lastComp(path) {
	case ".":
		return syscall.EINVAL
	case "..":
		return syscall.ENOTEMPTY
	case "/":
		return syscall.EBUSY
	}
	p.mp.lock.Lock()
	defer p.mp.lock.Unlock()
	nd, a, err := c.lookupVictim(path)
	if err != nil {
		return err
	}
	defer nd.Release()
	if !a.IsDir() {
		return syscall.ENOTDIR
	}
	if sameFile(nd.Vn, c.root) {
		return syscall.EBUSY
	}
	if _, err := p.mayDelete(c, nd.Dir, &a); err != nil {
		return err
	}
	return errno(vfs.VOP_RMDIR(p.mp.Mount, nd.Dir, nd.Name))
}

// respell reports whether a rename whose source and target are one file
// is a change of spelling of one directory entry — "mv foo FOO" on a
// case-insensitive file system such as FAT — which the file system must
// see, rather than two names (hard links) of one file, where POSIX says
// to do nothing. Both names are in one directory and differ, and the file
// has a single name: a directory, or a file with one link.
func respell(ond, nnd *vfs.Nameidata, oa *vfs.Attr) bool {
	return ond.Name != nnd.Name && sameFile(ond.Dir, nnd.Dir) && (oa.IsDir() || oa.Nlink == 1)
}

func sameFile(a, b vfs.Vnode) bool {
	if a == b {
		return true
	}
	aa, err1 := a.Getattr()
	ba, err2 := b.Getattr()
	return err1 == nil && err2 == nil && aa.Ino == ba.Ino
}

// dirEmpty reports whether a directory holds nothing but "." and "..".
func dirEmpty(vn vfs.Vnode) (bool, error) {
	empty := true
	err := vn.Readdir(0, func(d vfs.Dirent) bool {
		if d.Name != "." && d.Name != ".." {
			empty = false
			return false
		}
		return true
	})
	return empty, err
}

// isAncestor reports whether the directory with inode ino is dir or one of
// its ancestors up to the root, walking "..". The walk is bounded so that
// a corrupt ".." loop cannot hang it.
func isAncestor(c *ctx, ino uint64, dir vfs.Vnode) (bool, error) {
	ra, err := c.root.Getattr()
	if err != nil {
		return false, err
	}
	cur, err := dir.Lookup(".")
	if err != nil {
		return false, err
	}
	defer func() { cur.Rele() }()
	for i := 0; i < 1<<16; i++ {
		a, err := cur.Getattr()
		if err != nil {
			return false, err
		}
		if a.Ino == ino {
			return true, nil
		}
		if a.Ino == ra.Ino {
			return false, nil
		}
		up, err := cur.Lookup("..")
		if err != nil {
			return false, err
		}
		ua, err := up.Getattr()
		if err != nil {
			up.Rele()
			return false, err
		}
		cur.Rele()
		cur = up
		if ua.Ino == a.Ino {
			return false, nil
		}
	}
	return false, syscall.ELOOP
}

// Rename moves from to to, as rename(2).
func (p *Proc) Rename(from, to string) error {
	return errno(p.rename(from, to))
}

func (p *Proc) rename(from, to string) error {
	c, err := p.enter()
	if err != nil {
		return err
	}
	defer c.exit()
	if isDots(lastComp(from)) || isDots(lastComp(to)) {
		return syscall.EBUSY
	}
	p.mp.lock.Lock()
	defer p.mp.lock.Unlock()
	ond, err := c.namei(from, vfs.Parent)
	if err != nil {
		return err
	}
	defer ond.Release()
	if ond.Vn == nil {
		return syscall.ENOENT
	}
	nnd, err := c.namei(to, vfs.Parent)
	if err != nil {
		return err
	}
	defer nnd.Release()
	oa, err := ond.Vn.Getattr()
	if err != nil {
		return err
	}
	if !oa.IsDir() && (trailingSlash(from) || trailingSlash(to)) {
		return syscall.ENOTDIR
	}
	var na vfs.Attr
	if nnd.Vn != nil {
		if na, err = nnd.Vn.Getattr(); err != nil {
			return err
		}
		if na.Ino == oa.Ino && !respell(ond, nnd, &oa) {
			// Two names of one file: POSIX says do nothing.
			return nil
		}
	}
	if err := p.rofs(); err != nil {
		return err
	}
	if _, err := p.mayDelete(c, ond.Dir, &oa); err != nil {
		return err
	}
	if nnd.Vn != nil {
		_, err = p.mayDelete(c, nnd.Dir, &na)
	} else {
		_, err = p.mayCreate(c, nnd.Dir)
	}
	if err != nil {
		return err
	}
	if oa.IsDir() && !sameFile(ond.Dir, nnd.Dir) {
		// Moving a directory rewrites its "..".
		if err := vfs.Access(&oa, c.cred, vfs.AccessWrite); err != nil {
			return err
		}
	}
	if nnd.Vn != nil {
		switch {
		case oa.IsDir() && !na.IsDir():
			return syscall.ENOTDIR
		case !oa.IsDir() && na.IsDir():
			return syscall.EISDIR
		}
	}
	if oa.IsDir() {
		under, err := isAncestor(c, oa.Ino, nnd.Dir)
		if err != nil {
			return err
		}
		if under {
			return syscall.EINVAL
		}
	}
	if nnd.Vn != nil && na.IsDir() {
		empty, err := dirEmpty(nnd.Vn)
		if err != nil {
			return err
		}
		if !empty {
			return syscall.ENOTEMPTY
		}
	}
	return vfs.VOP_RENAME(p.mp.Mount, ond.Dir, ond.Name, nnd.Dir, nnd.Name)
}

// Link makes newpath a hard link to oldpath (not following a final
// symlink, as Linux's link(2)).
func (p *Proc) Link(oldpath, newpath string) error {
	return errno(p.link(oldpath, newpath))
}

func (p *Proc) link(oldpath, newpath string) error {
	c, err := p.enter()
	if err != nil {
		return err
	}
	defer c.exit()
	p.mp.lock.Lock()
	defer p.mp.lock.Unlock()
	ond, err := c.namei(oldpath, 0)
	if err != nil {
		return err
	}
	defer ond.Release()
	oa, err := ond.Vn.Getattr()
	if err != nil {
		return err
	}
	if oa.IsDir() {
		return syscall.EPERM
	}
	if isDots(lastComp(newpath)) {
		return syscall.EEXIST
	}
	nnd, err := c.namei(newpath, vfs.Parent)
	if err != nil {
		return err
	}
	defer nnd.Release()
	if nnd.Vn != nil {
		return syscall.EEXIST
	}
	if trailingSlash(newpath) {
		return syscall.ENOENT
	}
	if _, err := p.mayCreate(c, nnd.Dir); err != nil {
		return err
	}
	return vfs.VOP_LINK(p.mp.Mount, nnd.Dir, nnd.Name, ond.Vn)
}

// Readlink returns a symlink's target; EINVAL if path is not a symlink.
func (p *Proc) Readlink(path string) (string, error) {
	c, err := p.enter()
	if err != nil {
		return "", err
	}
	defer c.exit()
	nd, err := c.namei(path, 0)
	if err != nil {
		return "", errno(err)
	}
	defer nd.Release()
	a, err := nd.Vn.Getattr()
	if err != nil {
		return "", errno(err)
	}
	if a.Type() != vfs.S_IFLNK {
		return "", syscall.EINVAL
	}
	s, err := nd.Vn.Readlink()
	return s, errno(err)
}

// setattr resolves path and applies a checked SetAttr built by mk from the
// current attributes.
func (p *Proc) setattr(path string, flags vfs.NameiFlags, mk func(c *ctx, a *vfs.Attr) (*vfs.SetAttr, error)) error {
	c, err := p.enter()
	if err != nil {
		return err
	}
	defer c.exit()
	p.mp.lock.Lock()
	defer p.mp.lock.Unlock()
	nd, err := c.namei(path, flags)
	if err != nil {
		return errno(err)
	}
	defer nd.Release()
	return errno(p.setattrVn(c, nd.Vn, mk))
}

func (p *Proc) setattrVn(c *ctx, vn vfs.Vnode, mk func(c *ctx, a *vfs.Attr) (*vfs.SetAttr, error)) error {
	a, err := vn.Getattr()
	if err != nil {
		return err
	}
	sa, err := mk(c, &a)
	if err != nil || sa == nil {
		return err
	}
	if err := p.rofs(); err != nil {
		return err
	}
	// With the caller's credentials: a truncate that grows a file may
	// allocate, and FFS's minfree reserve is judged by who asks.
	return vfs.VOP_SETATTRCRED(p.mp.Mount, vn, c.cred, sa)
}

func chmodAttr(mode uint32) func(c *ctx, a *vfs.Attr) (*vfs.SetAttr, error) {
	return func(c *ctx, a *vfs.Attr) (*vfs.SetAttr, error) {
		sa := &vfs.SetAttr{Valid: vfs.SetMode, Mode: mode & 07777}
		if err := vfs.CheckSetattr(a, c.cred, sa); err != nil {
			return nil, err
		}
		return sa, nil
	}
}

// Chmod changes the permission bits of path.
func (p *Proc) Chmod(path string, mode uint32) error {
	return p.setattr(path, vfs.Follow, chmodAttr(mode))
}

func chownAttr(uid, gid int) func(c *ctx, a *vfs.Attr) (*vfs.SetAttr, error) {
	return func(c *ctx, a *vfs.Attr) (*vfs.SetAttr, error) {
		sa := &vfs.SetAttr{}
		if uid >= 0 {
			sa.Valid |= vfs.SetUid
			sa.Uid = uint32(uid)
		}
		if gid >= 0 {
			sa.Valid |= vfs.SetGid
			sa.Gid = uint32(gid)
		}
		if sa.Valid == 0 {
			return nil, nil
		}
		if err := vfs.CheckSetattr(a, c.cred, sa); err != nil {
			return nil, err
		}
		// A change of owner drops set-user-ID, and set-group-ID on a
		// group-executable file, as Linux's chown does.
		if !a.IsDir() {
			m := a.Mode & 07777
			nm := m &^ vfs.S_ISUID
			if m&0010 != 0 {
				nm &^= vfs.S_ISGID
			}
			if nm != m {
				sa.Valid |= vfs.SetMode
				sa.Mode = nm
			}
		}
		return sa, nil
	}
}

// Chown changes owner and group of path; -1 leaves one unchanged.
func (p *Proc) Chown(path string, uid, gid int) error {
	return p.setattr(path, vfs.Follow, chownAttr(uid, gid))
}

// Lchown is Chown on a symlink itself.
func (p *Proc) Lchown(path string, uid, gid int) error {
	return p.setattr(path, 0, chownAttr(uid, gid))
}

// Timespec is one time argument of Utimes: a time, or Now (UTIME_NOW), or
// Omit (UTIME_OMIT, leave unchanged).
type Timespec struct {
	Time time.Time
	Now  bool
	Omit bool
}

// UtimeNow and UtimeOmit are the special Timespec values.
var (
	UtimeNow  = Timespec{Now: true}
	UtimeOmit = Timespec{Omit: true}
)

func utimesAttr(k *Kernel, atime, mtime Timespec) func(c *ctx, a *vfs.Attr) (*vfs.SetAttr, error) {
	return func(c *ctx, a *vfs.Attr) (*vfs.SetAttr, error) {
		sa := &vfs.SetAttr{}
		now := k.now()
		explicit := false
		for _, t := range []struct {
			ts   Timespec
			bit  vfs.SetAttrMask
			dest *time.Time
		}{{atime, vfs.SetAtime, &sa.Atime}, {mtime, vfs.SetMtime, &sa.Mtime}} {
			switch {
			case t.ts.Omit:
			case t.ts.Now:
				sa.Valid |= t.bit
				*t.dest = now
			default:
				sa.Valid |= t.bit
				*t.dest = t.ts.Time
				explicit = true
			}
		}
		if sa.Valid == 0 {
			return nil, nil
		}
		// Setting times to "now" needs only write permission; any other
		// time needs ownership (utimensat(2)).
		if err := vfs.CheckUtimes(a, c.cred, !explicit); err != nil {
			return nil, err
		}
		return sa, nil
	}
}

// Utimes sets the access and modification times of path, following
// symlinks, with utimensat(2)'s UTIME_NOW/UTIME_OMIT semantics.
func (p *Proc) Utimes(path string, atime, mtime Timespec) error {
	return p.setattr(path, vfs.Follow, utimesAttr(p.mp.k, atime, mtime))
}

// Lutimes is Utimes on a symlink itself.
func (p *Proc) Lutimes(path string, atime, mtime Timespec) error {
	return p.setattr(path, 0, utimesAttr(p.mp.k, atime, mtime))
}

func truncAttr(size int64) func(c *ctx, a *vfs.Attr) (*vfs.SetAttr, error) {
	return func(c *ctx, a *vfs.Attr) (*vfs.SetAttr, error) {
		if size < 0 {
			return nil, syscall.EINVAL
		}
		if a.IsDir() {
			return nil, syscall.EISDIR
		}
		if a.Type() != vfs.S_IFREG {
			return nil, syscall.EINVAL
		}
		return &vfs.SetAttr{Valid: vfs.SetSize, Size: uint64(size)}, nil
	}
}

// Truncate sets the size of the regular file path; it needs write
// permission on the file.
func (p *Proc) Truncate(path string, size int64) error {
	return p.setattr(path, vfs.Follow, func(c *ctx, a *vfs.Attr) (*vfs.SetAttr, error) {
		sa, err := truncAttr(size)(c, a)
		if err != nil {
			return nil, err
		}
		if err := p.rofs(); err != nil {
			return nil, err
		}
		if err := vfs.Access(a, c.cred, vfs.AccessWrite); err != nil {
			return nil, err
		}
		return sa, nil
	})
}

// Chdir changes the working directory; it needs search permission.
func (p *Proc) Chdir(path string) error {
	c, err := p.enter()
	if err != nil {
		return err
	}
	defer c.exit()
	nd, err := c.namei(path, vfs.Follow)
	if err != nil {
		return errno(err)
	}
	a, err := nd.Vn.Getattr()
	if err == nil && !a.IsDir() {
		err = syscall.ENOTDIR
	}
	if err == nil {
		err = vfs.Access(&a, c.cred, vfs.AccessExec)
	}
	if err != nil {
		nd.Release()
		return errno(err)
	}
	p.mu.Lock()
	old := p.cwd
	p.cwd = nd.Vn
	p.mu.Unlock()
	old.Rele()
	return nil
}

// Statvfs returns the usage of the file system holding path.
func (p *Proc) Statvfs(path string) (vfs.StatFS, error) {
	c, err := p.enter()
	if err != nil {
		return vfs.StatFS{}, err
	}
	defer c.exit()
	nd, err := c.namei(path, vfs.Follow)
	if err != nil {
		return vfs.StatFS{}, errno(err)
	}
	nd.Release()
	st, err := p.mp.Mount.Statfs()
	return st, errno(err)
}

// Access checks whether the process may use path in mode (a combination
// of vfs.AccessRead/Write/Exec; 0 tests existence), as access(2). Writing
// to a file, directory or symlink on a read-only mount is EROFS.
func (p *Proc) Access(path string, mode uint32) error {
	c, err := p.enter()
	if err != nil {
		return err
	}
	defer c.exit()
	nd, err := c.namei(path, vfs.Follow)
	if err != nil {
		return errno(err)
	}
	defer nd.Release()
	a, err := nd.Vn.Getattr()
	if err != nil {
		return errno(err)
	}
	if mode&vfs.AccessWrite != 0 {
		switch a.Type() {
		case vfs.S_IFREG, vfs.S_IFDIR, vfs.S_IFLNK:
			if err := p.rofs(); err != nil {
				return err
			}
		}
	}
	if mode == 0 {
		return nil
	}
	return vfs.Access(&a, c.cred, mode&7)
}

// Sync flushes the mount, as sync(2).
func (p *Proc) Sync() error { return errno(p.mp.Sync()) }

// xattrPerm applies Linux's rules for extended attributes: "user." ones
// follow the file's permissions and live only on regular files and
// directories; "trusted." and "security." writes need the super-user.
func xattrPerm(c *ctx, a *vfs.Attr, name string, write bool) error {
	if name == "" {
		return syscall.ERANGE
	}
	if len(name) > 255 {
		return syscall.ERANGE
	}
	switch {
	case strings.HasPrefix(name, "user."):
		if a.Type() != vfs.S_IFREG && a.Type() != vfs.S_IFDIR {
			if write {
				return syscall.EPERM
			}
			return syscall.ENODATA
		}
		m := uint32(vfs.AccessRead)
		if write {
			m = vfs.AccessWrite
		}
		return vfs.Access(a, c.cred, m)
	case strings.HasPrefix(name, "trusted."):
		if !c.cred.IsRoot() {
			if write {
				return syscall.EPERM
			}
			return syscall.ENODATA
		}
	case strings.HasPrefix(name, "security."), strings.HasPrefix(name, "system."):
		if write && !c.cred.IsRoot() && c.cred.Uid != a.Uid {
			return syscall.EPERM
		}
	default:
		return syscall.EOPNOTSUPP
	}
	return nil
}

func (p *Proc) xattrOp(path string, follow bool, write bool, fn func(c *ctx, vn vfs.Vnode, a *vfs.Attr) error) error {
	c, err := p.enter()
	if err != nil {
		return err
	}
	defer c.exit()
	if write {
		p.mp.lock.Lock()
		defer p.mp.lock.Unlock()
	}
	flags := vfs.NameiFlags(0)
	if follow {
		flags = vfs.Follow
	}
	nd, err := c.namei(path, flags)
	if err != nil {
		return errno(err)
	}
	defer nd.Release()
	a, err := nd.Vn.Getattr()
	if err != nil {
		return errno(err)
	}
	return errno(fn(c, nd.Vn, &a))
}

// Getxattr returns the value of an extended attribute of path.
func (p *Proc) Getxattr(path, name string) ([]byte, error) {
	var v []byte
	err := p.xattrOp(path, true, false, func(c *ctx, vn vfs.Vnode, a *vfs.Attr) error {
		if err := xattrPerm(c, a, name, false); err != nil {
			return err
		}
		var err error
		v, err = vfs.VOP_GETXATTR(vn, name)
		return err
	})
	return v, err
}

// Listxattr lists the extended attribute names of path the caller may see
// ("trusted." ones only for the super-user).
func (p *Proc) Listxattr(path string) ([]string, error) {
	var names []string
	err := p.xattrOp(path, true, false, func(c *ctx, vn vfs.Vnode, a *vfs.Attr) error {
		all, err := vfs.VOP_LISTXATTR(vn)
		for _, n := range all {
			if strings.HasPrefix(n, "trusted.") && !c.cred.IsRoot() {
				continue
			}
			names = append(names, n)
		}
		return err
	})
	return names, err
}

// Setxattr sets an extended attribute; flags are XATTR_CREATE (1) or
// XATTR_REPLACE (2).
func (p *Proc) Setxattr(path, name string, value []byte, flags int) error {
	return p.xattrOp(path, true, true, func(c *ctx, vn vfs.Vnode, a *vfs.Attr) error {
		if err := p.rofs(); err != nil {
			return err
		}
		if err := xattrPerm(c, a, name, true); err != nil {
			return err
		}
		if flags&^3 != 0 || flags == 3 {
			return syscall.EINVAL
		}
		if flags != 0 {
			_, err := vfs.VOP_GETXATTR(vn, name)
			switch {
			case flags == 1 && err == nil:
				return syscall.EEXIST
			case flags == 2 && errors.Is(err, syscall.ENODATA):
				return syscall.ENODATA
			}
		}
		return vfs.VOP_SETXATTR(p.mp.Mount, vn, name, value, flags)
	})
}

// Removexattr removes an extended attribute.
func (p *Proc) Removexattr(path, name string) error {
	return p.xattrOp(path, true, true, func(c *ctx, vn vfs.Vnode, a *vfs.Attr) error {
		if err := p.rofs(); err != nil {
			return err
		}
		if err := xattrPerm(c, a, name, true); err != nil {
			return err
		}
		return vfs.VOP_REMOVEXATTR(p.mp.Mount, vn, name)
	})
}

// lookupVictim finds the existing object path names, with its parent, for
// the calls that remove or replace a name (unlink, rmdir): the caller
// releases nd.
func (c *ctx) lookupVictim(path string) (*vfs.Nameidata, vfs.Attr, error) {
	nd, err := c.namei(path, vfs.Parent)
	if err != nil {
		return nil, vfs.Attr{}, errno(err)
	}
	if nd.Vn == nil {
		nd.Release()
		return nil, vfs.Attr{}, syscall.ENOENT
	}
	a, err := nd.Vn.Getattr()
	if err != nil {
		nd.Release()
		return nil, vfs.Attr{}, errno(err)
	}
	return nd, a, nil
}
