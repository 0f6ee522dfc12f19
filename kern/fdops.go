package kern

import (
	"math"
	"syscall"

	"github.com/rumpfs/rumpfs/vfs"
)

func (f *file) readable() bool { return f.flags&syscall.O_ACCMODE != syscall.O_WRONLY }
func (f *file) writable() bool { return f.flags&syscall.O_ACCMODE != syscall.O_RDONLY }

// Read reads from fd at its offset and advances it; 0, nil at end of file.
func (p *Proc) Read(fd int, b []byte) (int, error) {
	f, err := p.getfile(fd)
	if err != nil {
		return 0, err
	}
	if !f.readable() {
		return 0, syscall.EBADF
	}
	if f.dir {
		return 0, syscall.EISDIR
	}
	if f.special {
		return 0, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.vn.Read(b, f.off)
	if n > 0 {
		f.off += int64(n)
	}
	return n, errno(err)
}

// Pread reads from fd at off without moving its offset.
func (p *Proc) Pread(fd int, b []byte, off int64) (int, error) {
	f, err := p.getfile(fd)
	if err != nil {
		return 0, err
	}
	if !f.readable() {
		return 0, syscall.EBADF
	}
	if f.dir {
		return 0, syscall.EISDIR
	}
	if off < 0 {
		return 0, syscall.EINVAL
	}
	if f.special {
		return 0, nil
	}
	n, err := f.vn.Read(b, off)
	return n, errno(err)
}

// Write writes to fd at its offset (at the end with O_APPEND) and advances
// it.
func (p *Proc) Write(fd int, b []byte) (int, error) {
	f, err := p.getfile(fd)
	if err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n, end, err := p.write(f, b, f.off)
	if n > 0 {
		f.off = end
	}
	return n, err
}

// Pwrite writes to fd at off without moving its offset. As on Linux, an
// O_APPEND descriptor still appends.
func (p *Proc) Pwrite(fd int, b []byte, off int64) (int, error) {
	f, err := p.getfile(fd)
	if err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, syscall.EINVAL
	}
	n, _, err := p.write(f, b, off)
	return n, err
}

// write writes b at off (the end with O_APPEND) and returns the count and
// the offset just past what was written.
func (p *Proc) write(f *file, b []byte, off int64) (int, int64, error) {
	if !f.writable() {
		return 0, off, syscall.EBADF
	}
	if f.special {
		return 0, off, syscall.ENXIO
	}
	if err := p.rofs(); err != nil {
		return 0, off, err
	}
	cred := p.Cred()
	p.mp.lock.Lock()
	defer p.mp.lock.Unlock()
	a, err := f.vn.Getattr()
	if err != nil {
		return 0, off, errno(err)
	}
	if f.flags&syscall.O_APPEND != 0 {
		off = int64(a.Size)
	}
	if int64(len(b)) > math.MaxInt64-off {
		return 0, off, syscall.EFBIG
	}
	if len(b) == 0 {
		return 0, off, nil
	}
	// The writer's credentials go down for FFS's minfree reserve. NetBSD
	// uses the opener's (fp->f_cred); a Proc's fd is used by the process
	// that opened it, whose credentials are these.
	n, err := vfs.VOP_WRITECRED(p.mp.Mount, f.vn, cred, b, off)
	if n > 0 && !cred.IsRoot() && a.Mode&(vfs.S_ISUID|vfs.S_ISGID) != 0 {
		// Writing by an unprivileged process drops set-user-ID and
		// set-group-ID (when group-executable), so a modified program
		// cannot keep its privilege (Linux's file_remove_privs).
		m := a.Mode & 07777 &^ vfs.S_ISUID
		if a.Mode&0010 != 0 {
			m &^= vfs.S_ISGID
		}
		vfs.VOP_SETATTR(p.mp.Mount, f.vn, &vfs.SetAttr{Valid: vfs.SetMode, Mode: m})
	}
	if err == nil && f.flags&(syscall.O_SYNC|syscall.O_DSYNC) != 0 {
		err = vfs.VOP_FSYNC(f.vn, f.flags&syscall.O_SYNC != syscall.O_SYNC)
	}
	return n, off + int64(n), errno(err)
}

// Seek whence values.
const (
	SeekSet = 0
	SeekCur = 1
	SeekEnd = 2
)

// Lseek moves fd's offset. For a directory the offset is a readdir cookie
// and only an absolute seek to a cookie returned earlier (or 0) is
// meaningful.
func (p *Proc) Lseek(fd int, off int64, whence int) (int64, error) {
	f, err := p.getfile(fd)
	if err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var base int64
	switch whence {
	case SeekSet:
	case SeekCur:
		base = f.off
	case SeekEnd:
		if f.dir {
			return 0, syscall.EINVAL
		}
		a, err := f.vn.Getattr()
		if err != nil {
			return 0, errno(err)
		}
		base = int64(a.Size)
	default:
		return 0, syscall.EINVAL
	}
	if (off > 0 && base > math.MaxInt64-off) || base+off < 0 {
		return 0, syscall.EINVAL
	}
	f.off = base + off
	return f.off, nil
}

// Fstat returns the attributes of fd's file.
func (p *Proc) Fstat(fd int) (vfs.Attr, error) {
	f, err := p.getfile(fd)
	if err != nil {
		return vfs.Attr{}, err
	}
	a, err := f.vn.Getattr()
	return a, errno(err)
}

// Ftruncate sets the size of fd's file, which must be open for writing.
func (p *Proc) Ftruncate(fd int, size int64) error {
	f, err := p.getfile(fd)
	if err != nil {
		return err
	}
	if !f.writable() || f.dir {
		return syscall.EINVAL
	}
	c, err := p.enter()
	if err != nil {
		return err
	}
	defer c.exit()
	p.mp.lock.Lock()
	defer p.mp.lock.Unlock()
	return errno(p.setattrVn(c, f.vn, truncAttr(size)))
}

// Fchmod is Chmod on an open file.
func (p *Proc) Fchmod(fd int, mode uint32) error {
	return p.fsetattr(fd, chmodAttr(mode))
}

// Fchown is Chown on an open file.
func (p *Proc) Fchown(fd int, uid, gid int) error {
	return p.fsetattr(fd, chownAttr(uid, gid))
}

// Futimes is Utimes on an open file.
func (p *Proc) Futimes(fd int, atime, mtime Timespec) error {
	return p.fsetattr(fd, utimesAttr(p.mp.k, atime, mtime))
}

func (p *Proc) fsetattr(fd int, mk func(c *ctx, a *vfs.Attr) (*vfs.SetAttr, error)) error {
	f, err := p.getfile(fd)
	if err != nil {
		return err
	}
	c, err := p.enter()
	if err != nil {
		return err
	}
	defer c.exit()
	p.mp.lock.Lock()
	defer p.mp.lock.Unlock()
	return errno(p.setattrVn(c, f.vn, mk))
}

// Fsync flushes fd's file to the device.
func (p *Proc) Fsync(fd int) error {
	f, err := p.getfile(fd)
	if err != nil {
		return err
	}
	if p.mp.ReadOnly() {
		return nil
	}
	p.mp.lock.Lock()
	defer p.mp.lock.Unlock()
	err = vfs.VOP_FSYNC(f.vn, false)
	if err == nil && p.mp.Dev != nil {
		err = p.mp.Dev.Sync()
	}
	return errno(err)
}

// Fchdir makes fd's directory the working directory.
func (p *Proc) Fchdir(fd int) error {
	f, err := p.getfile(fd)
	if err != nil {
		return err
	}
	if !f.dir {
		return syscall.ENOTDIR
	}
	a, err := f.vn.Getattr()
	if err != nil {
		return errno(err)
	}
	if err := vfs.Access(&a, p.Cred(), vfs.AccessExec); err != nil {
		return err
	}
	vn, err := f.vn.Lookup(".")
	if err != nil {
		return errno(err)
	}
	p.mu.Lock()
	old := p.cwd
	p.cwd = vn
	p.mu.Unlock()
	old.Rele()
	return nil
}

// Getdents returns up to max entries (all that remain if max <= 0) of the
// directory fd from its current cookie, "." and ".." included, and moves
// the cookie past them. An empty result means the end.
func (p *Proc) Getdents(fd int, max int) ([]vfs.Dirent, error) {
	f, err := p.getfile(fd)
	if err != nil {
		return nil, err
	}
	if !f.dir {
		return nil, syscall.ENOTDIR
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []vfs.Dirent
	err = f.vn.Readdir(uint64(f.off), func(d vfs.Dirent) bool {
		out = append(out, d)
		return max <= 0 || len(out) < max
	})
	if len(out) > 0 {
		f.off = int64(out[len(out)-1].Next)
	}
	return out, errno(err)
}
