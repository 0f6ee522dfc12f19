package ninep

import (
	"io"
	"sync"
	"syscall"
	"time"

	"github.com/hugelgupf/p9/p9"

	"github.com/rumpfs/rumpfs/vfs"
)

// file is one server-side p9.File: a vnode reference held for one fid.
// The p9 server calls Close exactly once per File when the fid is clunked
// or its connection goes away, which is where the reference is given back
// (NetBSD's vrele on close).
type file struct {
	c      *conn
	ref    *vref
	vn     vfs.Vnode
	isRoot bool

	// mu guards opened and closed: p9 may run requests of one fid at
	// once (the connection's barriers keep Tlopen alone, but a file's
	// state must not depend on that).
	mu     sync.Mutex
	opened bool
	closed bool
}

var _ p9.File = (*file)(nil)

func (f *file) ex() *export { return f.c.ex }

// change starts a change through f: EROFS on a read-only export, EIO once
// the export is going away; otherwise the export's write lock is held and
// the caller releases it with wunlock.
func (f *file) change() (*export, error) {
	ex := f.ex()
	if ex.readOnly() {
		return nil, syscall.EROFS
	}
	if !ex.wlock() {
		return nil, syscall.EIO
	}
	return ex, nil
}

// errno converts an error from the vfs layer to the 9P error. Errors at the
// vfs boundary are syscall.Errno already; anything else becomes EIO.
func errno(err error) error {
	if err == nil {
		return nil
	}
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	return syscall.EIO
}

func qidOf(a *vfs.Attr) p9.QID {
	return p9.QID{Type: p9.FileMode(a.Mode).QIDType(), Path: a.Ino, Version: uint32(a.Mtime.UnixNano())}
}

func (f *file) attr() (vfs.Attr, error) {
	a, err := f.vn.Getattr()
	return a, errno(err)
}

// vref is one vnode reference shared by the fids cloned from one another
// (a walk with no names): the vfs has no "add a reference" operation, so
// clones count among themselves and give the reference back with the last.
type vref struct {
	vn vfs.Vnode
	n  int // guarded by the export's writer lock or atomic under rlock
}

func (f *file) newFile(vn vfs.Vnode, isRoot bool) *file {
	f.c.track(1)
	return &file{c: f.c, ref: &vref{vn: vn, n: 1}, vn: vn, isRoot: isRoot}
}

// Walk implements p9.File. The p9 server already refuses "..", "." and
// names with '/' (checkSafeName), so a client can only walk down; ".." is
// still mapped to the export root here so that a client can never climb
// out of the export even through another server library. Symlinks are
// never followed: a walk onto one returns the link itself.
func (f *file) Walk(names []string) ([]p9.QID, p9.File, error) {
	qids, nf, _, err := f.walk(names)
	if err != nil {
		return nil, nil, err
	}
	return qids, nf, nil
}

// walk is Walk, also giving the attributes of the file walked to (nil
// for a clone), which Getattr read on the way.
func (f *file) walk(names []string) ([]p9.QID, *file, *vfs.Attr, error) {
	ex := f.ex()
	if len(names) == 0 {
		ex.wlockForce()
		defer ex.wunlock()
		f.ref.n++
		f.c.track(1)
		return nil, &file{c: f.c, ref: f.ref, vn: f.vn, isRoot: f.isRoot}, nil, nil
	}
	var drop []vfs.Vnode
	defer func() {
		// Releasing may free an unlinked inode, a change: done under
		// the writer lock, as p2k does.
		if len(drop) > 0 {
			ex.wlockForce()
			for _, vn := range drop {
				vn.Rele()
			}
			ex.wunlock()
		}
	}()
	if !ex.rlock() {
		return nil, nil, nil, syscall.EIO
	}
	defer ex.runlock()
	cur, curRoot := f.vn, f.isRoot
	held := false
	qids := make([]p9.QID, 0, len(names))
	fail := func(err error) ([]p9.QID, *file, *vfs.Attr, error) {
		if held {
			drop = append(drop, cur)
		}
		return nil, nil, nil, errno(err)
	}
	var last vfs.Attr
	for _, name := range names {
		a, err := cur.Getattr()
		if err != nil {
			return fail(err)
		}
		if !a.IsDir() {
			return fail(syscall.ENOTDIR)
		}
		if err := vfs.Access(&a, f.c.cred(), vfs.AccessExec); err != nil {
			return fail(err)
		}
		if err := checkWalkName(name); err != nil {
			return fail(err)
		}
		if name == ".." && curRoot {
			name = "."
		}
		next, err := cur.Lookup(name)
		if err != nil {
			return fail(err)
		}
		if held {
			drop = append(drop, cur)
		}
		cur, held = next, true
		curRoot = curRoot && name == "."
		na, err := next.Getattr()
		if err != nil {
			return fail(err)
		}
		qids = append(qids, qidOf(&na))
		last = na
	}
	return qids, f.newFile(cur, curRoot), &last, nil
}

func checkWalkName(name string) error {
	if name == ".." || name == "." {
		return nil
	}
	return checkName(name)
}

// WalkGetAttr implements p9.File (Twalkgetattr, and every Twalk: p9
// v0.3.0 asks for the attributes of each step either way): the
// attributes are those the walk read.
func (f *file) WalkGetAttr(names []string) ([]p9.QID, p9.File, p9.AttrMask, p9.Attr, error) {
	qids, nf, a, err := f.walk(names)
	if err != nil {
		return nil, nil, p9.AttrMask{}, p9.Attr{}, err
	}
	if a == nil { // a clone
		_, mask, pa, err := nf.GetAttr(p9.AttrMaskAll)
		if err != nil {
			nf.Close()
			return nil, nil, p9.AttrMask{}, p9.Attr{}, err
		}
		return qids, nf, mask, pa, nil
	}
	_, mask, pa := p9attr(a)
	return qids, nf, mask, pa, nil
}

// StatFS implements p9.File.
func (f *file) StatFS() (p9.FSStat, error) {
	s, err := f.ex().m.Statfs()
	if err != nil {
		return p9.FSStat{}, errno(err)
	}
	return p9.FSStat{
		Type:            0x01021997, // V9FS_MAGIC, as QEMU and diod answer
		BlockSize:       s.Frsize,
		Blocks:          s.Blocks,
		BlocksFree:      s.Bfree,
		BlocksAvailable: s.Bavail,
		Files:           s.Files,
		FilesFree:       s.Ffree,
		NameLength:      s.Namemax,
	}, nil
}

func tsplit(t time.Time) (uint64, uint64) {
	if t.IsZero() {
		return 0, 0
	}
	return uint64(t.Unix()), uint64(t.Nanosecond())
}

// GetAttr implements p9.File.
func (f *file) GetAttr(req p9.AttrMask) (p9.QID, p9.AttrMask, p9.Attr, error) {
	ex := f.ex()
	if !ex.rlock() {
		return p9.QID{}, p9.AttrMask{}, p9.Attr{}, syscall.EIO
	}
	defer ex.runlock()
	a, err := f.attr()
	if err != nil {
		return p9.QID{}, p9.AttrMask{}, p9.Attr{}, err
	}
	q, mask, pa := p9attr(&a)
	return q, mask, pa, nil
}

// p9attr is a vfs.Attr in 9P2000.L's terms.
func p9attr(a *vfs.Attr) (p9.QID, p9.AttrMask, p9.Attr) {
	pa := p9.Attr{
		Mode: p9.FileMode(a.Mode), UID: p9.UID(a.Uid), GID: p9.GID(a.Gid), NLink: p9.NLink(a.Nlink),
		RDev: p9.Dev(a.Rdev), Size: a.Size, BlockSize: uint64(a.Blksize), Blocks: a.Blocks, Gen: a.Gen,
	}
	pa.ATimeSeconds, pa.ATimeNanoSeconds = tsplit(a.Atime)
	pa.MTimeSeconds, pa.MTimeNanoSeconds = tsplit(a.Mtime)
	pa.CTimeSeconds, pa.CTimeNanoSeconds = tsplit(a.Ctime)
	pa.BTimeSeconds, pa.BTimeNanoSeconds = tsplit(a.Btime)
	mask := p9.AttrMask{Mode: true, NLink: true, UID: true, GID: true, RDev: true, ATime: true, MTime: true,
		CTime: true, INo: true, Size: true, Blocks: true, BTime: !a.Btime.IsZero(), Gen: true}
	return qidOf(a), mask, pa
}

func ptime(sec, nsec uint64) time.Time { return time.Unix(int64(sec), int64(nsec)) }

// SetAttr implements p9.File: chmod, chown, truncate and utimes, checked
// as the syscall layer checks them (vfs.CheckSetattr, CheckUtimes).
func (f *file) SetAttr(valid p9.SetAttrMask, attr p9.SetAttr) error {
	ex, err := f.change()
	if err != nil {
		return err
	}
	defer ex.wunlock()
	a, err := f.attr()
	if err != nil {
		return err
	}
	cred := f.c.cred()
	sa := &vfs.SetAttr{}
	if valid.Permissions {
		sa.Valid |= vfs.SetMode
		sa.Mode = uint32(attr.Permissions) & 07777
	}
	if valid.UID {
		sa.Valid |= vfs.SetUid
		sa.Uid = uint32(attr.UID)
	}
	if valid.GID {
		sa.Valid |= vfs.SetGid
		sa.Gid = uint32(attr.GID)
	}
	if sa.Valid != 0 {
		if err := vfs.CheckSetattr(&a, cred, sa); err != nil {
			return errno(err)
		}
	}
	if valid.Size {
		if a.IsDir() {
			return syscall.EISDIR
		}
		if err := vfs.Access(&a, cred, vfs.AccessWrite); err != nil {
			return errno(err)
		}
		sa.Valid |= vfs.SetSize
		sa.Size = attr.Size
	}
	if valid.ATime || valid.MTime {
		now := ex.now()
		explicit := (valid.ATime && valid.ATimeNotSystemTime) || (valid.MTime && valid.MTimeNotSystemTime)
		if err := vfs.CheckUtimes(&a, cred, !explicit); err != nil {
			return errno(err)
		}
		if valid.ATime {
			sa.Valid |= vfs.SetAtime
			sa.Atime = now
			if valid.ATimeNotSystemTime {
				sa.Atime = ptime(attr.ATimeSeconds, attr.ATimeNanoSeconds)
			}
		}
		if valid.MTime {
			sa.Valid |= vfs.SetMtime
			sa.Mtime = now
			if valid.MTimeNotSystemTime {
				sa.Mtime = ptime(attr.MTimeSeconds, attr.MTimeNanoSeconds)
			}
		}
	}
	if sa.Valid == 0 {
		return nil // a ctime-only request: nothing the vfs can set
	}
	// With the attach's credentials: a size that grows the last fragment
	// is judged by them against FFS's minfree reserve.
	return errno(vfs.VOP_SETATTRCRED(ex.m, f.vn, cred, sa))
}

// Close implements p9.File: the fid is gone, give back its reference.
func (f *file) Close() error {
	ex := f.ex()
	ex.wlockForce()
	defer ex.wunlock()
	f.mu.Lock()
	closed, opened := f.closed, f.opened
	f.closed = true
	f.mu.Unlock()
	if closed {
		return nil
	}
	if opened {
		vfs.VOP_CLOSE(f.vn)
	}
	f.ref.n--
	if f.ref.n == 0 {
		f.vn.Rele()
	}
	f.c.track(-1)
	return nil
}

// Open implements p9.File, checking access as open(2) does.
func (f *file) Open(mode p9.OpenFlags) (p9.QID, uint32, error) {
	ex := f.ex()
	trunc := int(mode)&syscall.O_TRUNC != 0
	wants := uint32(0)
	switch mode.Mode() {
	case p9.ReadOnly:
		wants = vfs.AccessRead
	case p9.WriteOnly:
		wants = vfs.AccessWrite
	case p9.ReadWrite:
		wants = vfs.AccessRead | vfs.AccessWrite
	}
	if trunc {
		wants |= vfs.AccessWrite
	}
	if wants&vfs.AccessWrite != 0 && ex.readOnly() {
		return p9.QID{}, 0, syscall.EROFS
	}
	if trunc {
		if !ex.wlock() {
			return p9.QID{}, 0, syscall.EIO
		}
		defer ex.wunlock()
	} else {
		if !ex.rlock() {
			return p9.QID{}, 0, syscall.EIO
		}
		defer ex.runlock()
	}
	a, err := f.attr()
	if err != nil {
		return p9.QID{}, 0, err
	}
	if err := vfs.Access(&a, f.c.cred(), wants); err != nil {
		return p9.QID{}, 0, errno(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.opened {
		return p9.QID{}, 0, syscall.EINVAL // as p9 answers a second Tlopen
	}
	if err := vfs.VOP_OPEN(f.vn, int(mode)); err != nil {
		return p9.QID{}, 0, errno(err)
	}
	f.opened = true
	if trunc && a.Type() == vfs.S_IFREG && a.Size != 0 {
		if err := vfs.VOP_SETATTR(ex.m, f.vn, &vfs.SetAttr{Valid: vfs.SetSize}); err != nil {
			return p9.QID{}, 0, errno(err)
		}
	}
	return qidOf(&a), ioUnit, nil
}

// ioUnit is the largest read or write the client should send in one
// message; 0 lets it use msize.
const ioUnit = 0

// ReadAt implements p9.File.
func (f *file) ReadAt(p []byte, off int64) (int, error) {
	ex := f.ex()
	if off < 0 {
		return 0, syscall.EINVAL
	}
	if !ex.rlock() {
		return 0, syscall.EIO
	}
	defer ex.runlock()
	n, err := f.vn.Read(p, off)
	if err != nil {
		return n, errno(err)
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

// WriteAt implements p9.File.
func (f *file) WriteAt(p []byte, off int64) (int, error) {
	ex := f.ex()
	if ex.readOnly() {
		return 0, syscall.EROFS
	}
	if off < 0 {
		return 0, syscall.EINVAL
	}
	if !ex.wlock() {
		return 0, syscall.EIO
	}
	defer ex.wunlock()
	// The attach's credentials are the opener's (NetBSD's vn_write hands
	// fp->f_cred down): FFS judges its minfree reserve by them.
	n, err := vfs.VOP_WRITECRED(ex.m, f.vn, f.c.cred(), p, off)
	return n, errno(err)
}

// FSync implements p9.File.
func (f *file) FSync() error {
	ex := f.ex()
	if ex.readOnly() {
		return nil
	}
	if !ex.wlock() {
		return syscall.EIO
	}
	defer ex.wunlock()
	return errno(vfs.VOP_FSYNC(f.vn, false))
}

// SetXattr implements p9.File.
func (f *file) SetXattr(name string, data []byte, flags p9.XattrFlags) error {
	ex, err := f.change()
	if err != nil {
		return err
	}
	defer ex.wunlock()
	if err := f.xattrAccess(name, vfs.AccessWrite); err != nil {
		return err
	}
	return errno(vfs.VOP_SETXATTR(ex.m, f.vn, name, data, int(flags)))
}

// xattrAccess applies Linux's rule for user.* attributes (file permission
// bits) and keeps trusted.* and security.* for root.
func (f *file) xattrAccess(name string, mode uint32) error {
	a, err := f.attr()
	if err != nil {
		return err
	}
	cred := f.c.cred()
	switch {
	case len(name) > 5 && name[:5] == "user.":
		return errno(vfs.Access(&a, cred, mode))
	case cred.IsRoot():
		return nil
	case mode == vfs.AccessRead && len(name) > 9 && name[:9] == "security.":
		return nil
	}
	return syscall.EPERM
}

// GetXattr implements p9.File.
func (f *file) GetXattr(name string) ([]byte, error) {
	ex := f.ex()
	if !ex.rlock() {
		return nil, syscall.EIO
	}
	defer ex.runlock()
	if err := f.xattrAccess(name, vfs.AccessRead); err != nil {
		return nil, err
	}
	v, err := vfs.VOP_GETXATTR(f.vn, name)
	return v, errno(err)
}

// ListXattrs implements p9.File.
func (f *file) ListXattrs() ([]string, error) {
	ex := f.ex()
	if !ex.rlock() {
		return nil, syscall.EIO
	}
	defer ex.runlock()
	v, err := vfs.VOP_LISTXATTR(f.vn)
	return v, errno(err)
}

// RemoveXattr implements p9.File.
func (f *file) RemoveXattr(name string) error {
	ex, err := f.change()
	if err != nil {
		return err
	}
	defer ex.wunlock()
	if err := f.xattrAccess(name, vfs.AccessWrite); err != nil {
		return err
	}
	return errno(vfs.VOP_REMOVEXATTR(ex.m, f.vn, name))
}

// Lock implements p9.File. Byte-range locks are advisory and local to
// the server process: granting every request is what a server without a
// lock manager can honestly do for clients that each hold their own data
// (diod's default behaves the same way).
func (f *file) Lock(pid int, locktype p9.LockType, flags p9.LockFlags, start, length uint64, client string) (p9.LockStatus, error) {
	return p9.LockStatusOK, nil
}

// dirWrite enters a change to directory f: read-only export, writer lock,
// f must be a directory the caller may write and search.
func (f *file) dirWrite() (*vfs.Attr, error) {
	ex := f.ex()
	if ex.readOnly() {
		return nil, syscall.EROFS
	}
	if !ex.wlock() {
		return nil, syscall.EIO
	}
	a, err := f.attr()
	if err == nil && !a.IsDir() {
		err = syscall.ENOTDIR
	}
	if err == nil {
		err = errno(vfs.Access(&a, f.c.cred(), vfs.AccessWrite|vfs.AccessExec))
	}
	if err != nil {
		ex.wunlock()
		return nil, err
	}
	return &a, nil
}

func checkName(name string) error {
	if name == "" || name == "." || name == ".." {
		return syscall.EINVAL
	}
	if len(name) > vfs.NameMax {
		return syscall.ENAMETOOLONG
	}
	for i := 0; i < len(name); i++ {
		if name[i] == '/' || name[i] == 0 {
			return syscall.EINVAL
		}
	}
	return nil
}

// newCred is the credential an object is made with: the connection's
// user and the group the client asked for (subject to the export's
// squashing), as an NFS server takes the gid from AUTH_SYS.
func (f *file) newCred(gid p9.GID) *vfs.Cred {
	c := *f.c.cred()
	if gid.Ok() {
		c.Gid = f.c.mapGid(uint32(gid))
	}
	return &c
}

// Create implements p9.File.
func (f *file) Create(name string, flags p9.OpenFlags, perm p9.FileMode, _ p9.UID, gid p9.GID) (p9.File, p9.QID, uint32, error) {
	if err := checkName(name); err != nil {
		return nil, p9.QID{}, 0, err
	}
	ex := f.ex()
	if _, err := f.dirWrite(); err != nil {
		return nil, p9.QID{}, 0, err
	}
	defer ex.wunlock()
	vn, err := vfs.VOP_CREATE(ex.m, f.vn, f.newCred(gid), name, uint32(perm)&07777)
	if err != nil {
		return nil, p9.QID{}, 0, errno(err)
	}
	a, err := vn.Getattr()
	if err != nil {
		vn.Rele()
		return nil, p9.QID{}, 0, errno(err)
	}
	if err := vfs.VOP_OPEN(vn, int(flags)); err != nil {
		vn.Rele()
		return nil, p9.QID{}, 0, errno(err)
	}
	nf := f.newFile(vn, false)
	nf.opened = true // not yet shared
	return nf, qidOf(&a), ioUnit, nil
}

// made finishes an operation that returned a new vnode: its qid, and the
// reference given back.
func made(vn vfs.Vnode, err error) (p9.QID, error) {
	if err != nil {
		return p9.QID{}, errno(err)
	}
	defer vn.Rele()
	a, err := vn.Getattr()
	if err != nil {
		return p9.QID{}, errno(err)
	}
	return qidOf(&a), nil
}

// Mkdir implements p9.File.
func (f *file) Mkdir(name string, perm p9.FileMode, _ p9.UID, gid p9.GID) (p9.QID, error) {
	if err := checkName(name); err != nil {
		return p9.QID{}, err
	}
	ex := f.ex()
	if _, err := f.dirWrite(); err != nil {
		return p9.QID{}, err
	}
	defer ex.wunlock()
	return made(vfs.VOP_MKDIR(ex.m, f.vn, f.newCred(gid), name, uint32(perm)&07777))
}

// Symlink implements p9.File. The target is stored as given and never
// resolved by the server.
func (f *file) Symlink(target, name string, _ p9.UID, gid p9.GID) (p9.QID, error) {
	if err := checkName(name); err != nil {
		return p9.QID{}, err
	}
	if len(target) >= vfs.PathMax {
		return p9.QID{}, syscall.ENAMETOOLONG
	}
	ex := f.ex()
	if _, err := f.dirWrite(); err != nil {
		return p9.QID{}, err
	}
	defer ex.wunlock()
	return made(vfs.VOP_SYMLINK(ex.m, f.vn, f.newCred(gid), name, target))
}

// Link implements p9.File.
func (f *file) Link(target p9.File, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	t, ok := target.(*file)
	if !ok || t.c.ex != f.c.ex {
		return syscall.EXDEV
	}
	ex := f.ex()
	if _, err := f.dirWrite(); err != nil {
		return err
	}
	defer ex.wunlock()
	ta, err := t.attr()
	if err != nil {
		return err
	}
	if ta.IsDir() {
		return syscall.EPERM
	}
	return errno(vfs.VOP_LINK(ex.m, f.vn, name, t.vn))
}

// Mknod implements p9.File.
func (f *file) Mknod(name string, mode p9.FileMode, major, minor uint32, _ p9.UID, gid p9.GID) (p9.QID, error) {
	if err := checkName(name); err != nil {
		return p9.QID{}, err
	}
	cred := f.newCred(gid)
	typ := uint32(mode) & vfs.S_IFMT
	if (typ == vfs.S_IFCHR || typ == vfs.S_IFBLK) && !f.c.cred().IsRoot() {
		return p9.QID{}, syscall.EPERM
	}
	ex := f.ex()
	if _, err := f.dirWrite(); err != nil {
		return p9.QID{}, err
	}
	defer ex.wunlock()
	rdev := mkdev(major, minor)
	if typ == vfs.S_IFREG || typ == 0 {
		return made(vfs.VOP_CREATE(ex.m, f.vn, cred, name, uint32(mode)&07777))
	}
	return made(vfs.VOP_MKNOD(ex.m, f.vn, cred, name, uint32(mode)&(vfs.S_IFMT|07777), rdev))
}

// mkdev is Linux's device-number encoding (unix.Mkdev).
func mkdev(major, minor uint32) uint64 {
	ma, mi := uint64(major), uint64(minor)
	return (ma&0x00000fff)<<8 | (ma&0xfffff000)<<32 | (mi & 0x000000ff) | (mi&0xffffff00)<<12
}

// Rename implements p9.File; the p9 server always uses RenameAt.
func (f *file) Rename(p9.File, string) error { return syscall.ENOSYS }

// RenameAt implements p9.File.
func (f *file) RenameAt(oldName string, newDir p9.File, newName string) error {
	if err := checkName(oldName); err != nil {
		return err
	}
	if err := checkName(newName); err != nil {
		return err
	}
	nd, ok := newDir.(*file)
	if !ok || nd.c.ex != f.c.ex {
		return syscall.EXDEV
	}
	ex := f.ex()
	da, err := f.dirWrite()
	if err != nil {
		return err
	}
	defer ex.wunlock()
	cred := f.c.cred()
	na, err := nd.attr()
	if err != nil {
		return err
	}
	if !na.IsDir() {
		return syscall.ENOTDIR
	}
	if err := vfs.Access(&na, cred, vfs.AccessWrite|vfs.AccessExec); err != nil {
		return errno(err)
	}
	if err := f.sticky(da, oldName); err != nil {
		return err
	}
	if err := nd.sticky(&na, newName); err != nil && err != syscall.ENOENT {
		return err
	}
	return errno(vfs.VOP_RENAME(ex.m, f.vn, oldName, nd.vn, newName))
}

// sticky applies the sticky-directory rule to name in directory f.
func (f *file) sticky(da *vfs.Attr, name string) error {
	if da.Mode&vfs.S_ISVTX == 0 {
		return nil
	}
	vn, err := f.vn.Lookup(name)
	if err != nil {
		return errno(err)
	}
	defer vn.Rele()
	va, err := vn.Getattr()
	if err != nil {
		return errno(err)
	}
	return errno(vfs.CheckSticky(da, &va, f.c.cred()))
}

// atRemoveDir is unlinkat(2)'s AT_REMOVEDIR.
const atRemoveDir = 0x200

// UnlinkAt implements p9.File.
func (f *file) UnlinkAt(name string, flags uint32) error {
	if err := checkName(name); err != nil {
		return err
	}
	ex := f.ex()
	da, err := f.dirWrite()
	if err != nil {
		return err
	}
	defer ex.wunlock()
	if err := f.sticky(da, name); err != nil {
		return err
	}
	if flags&atRemoveDir != 0 {
		return errno(vfs.VOP_RMDIR(ex.m, f.vn, name))
	}
	return errno(vfs.VOP_REMOVE(ex.m, f.vn, name))
}

// Readdir implements p9.File. Offsets are the file system's own resume
// cookies (vfs.Dirent.Next), so a listing survives changes between calls.
func (f *file) Readdir(offset uint64, count uint32) (p9.Dirents, error) {
	ex := f.ex()
	if !ex.rlock() {
		return nil, syscall.EIO
	}
	defer ex.runlock()
	var out p9.Dirents
	// Each entry costs 24 bytes of header plus its name on the wire
	// (qid[13] offset[8] type[1] name[s]).
	budget := int(count)
	err := f.vn.Readdir(offset, func(d vfs.Dirent) bool {
		sz := 24 + len(d.Name)
		if sz > budget && len(out) > 0 {
			return false
		}
		budget -= sz
		// The entry's type byte is d_type (DT_*), as QEMU sends and
		// Linux's v9fs hands to getdents unchanged; the qid's type is
		// the 9P one.
		qt := p9.FileMode(uint32(d.Type) << 12).QIDType()
		out = append(out, p9.Dirent{QID: p9.QID{Type: qt, Path: d.Ino}, Offset: d.Next, Type: p9.QIDType(d.Type), Name: d.Name})
		return budget > 0
	})
	if err != nil {
		return nil, errno(err)
	}
	return out, nil
}

// Readlink implements p9.File.
func (f *file) Readlink() (string, error) {
	ex := f.ex()
	if !ex.rlock() {
		return "", syscall.EIO
	}
	defer ex.runlock()
	s, err := f.vn.Readlink()
	return s, errno(err)
}

// Renamed implements p9.File; vnodes do not know their names.
func (f *file) Renamed(p9.File, string) {}
