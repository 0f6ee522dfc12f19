package kern

import (
	"sync"
	"syscall"

	"github.com/rumpfs/rumpfs/vfs"
)

// Proc is a process context: credentials, root and working directory,
// umask and file descriptor table. Its methods are the syscall layer. A
// Proc is safe for concurrent use.
type Proc struct {
	mp *MountPoint

	mu    sync.Mutex
	cred  *vfs.Cred
	umask uint32
	root  vfs.Vnode // one reference each, given back by Exit
	cwd   vfs.Vnode
	fds   map[int]*file
	dead  bool
}

// file is an open file description.
type file struct {
	vn    vfs.Vnode
	flags int
	mu    sync.Mutex // guards off
	off   int64      // byte offset, or readdir cookie for directories
	dir   bool
	// special marks a device node, fifo or socket.
	special bool
}

// NewProc makes a process whose root and working directory are the root of
// mp, running as cred (nil means root) with umask 022.
func (mp *MountPoint) NewProc(cred *vfs.Cred) (*Proc, error) {
	if cred == nil {
		cred = vfs.RootCred
	}
	mp.mu.Lock()
	defer mp.mu.Unlock()
	if mp.unmount {
		return nil, syscall.EIO
	}
	root, err := mp.Mount.Root()
	if err != nil {
		return nil, err
	}
	cwd, err := root.Lookup(".")
	if err != nil {
		root.Rele()
		return nil, err
	}
	c := *cred
	c.Groups = append([]uint32(nil), cred.Groups...)
	p := &Proc{mp: mp, cred: &c, umask: 022, root: root, cwd: cwd, fds: map[int]*file{}}
	if mp.procs == nil {
		mp.procs = map[*Proc]struct{}{}
	}
	mp.procs[p] = struct{}{}
	return p, nil
}

// Mount returns the process's mount.
func (p *Proc) Mount() *MountPoint { return p.mp }

// Cred returns the process's credentials.
func (p *Proc) Cred() *vfs.Cred {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cred
}

// SetCred changes the process's credentials.
func (p *Proc) SetCred(c *vfs.Cred) {
	cc := *c
	cc.Groups = append([]uint32(nil), c.Groups...)
	p.mu.Lock()
	p.cred = &cc
	p.mu.Unlock()
}

// Umask sets the file mode creation mask and returns the old one.
func (p *Proc) Umask(mask uint32) uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.umask
	p.umask = mask & 0777
	return old
}

// Exit closes every descriptor and gives back the root and working
// directory. The Proc may not be used afterwards (EBADF/EIO).
func (p *Proc) Exit() {
	p.mu.Lock()
	if p.dead {
		p.mu.Unlock()
		return
	}
	p.dead = true
	fds := p.fds
	p.fds = map[int]*file{}
	root, cwd := p.root, p.cwd
	p.mu.Unlock()
	for _, f := range fds {
		f.close()
	}
	root.Rele()
	cwd.Rele()
	p.mp.mu.Lock()
	delete(p.mp.procs, p)
	p.mp.mu.Unlock()
}

// ctx is a snapshot of what a syscall needs from the process, with its own
// references on root and cwd so that a concurrent Chdir cannot pull them
// away.
type ctx struct {
	cred      *vfs.Cred
	umask     uint32
	root, cwd vfs.Vnode
}

func (p *Proc) enter() (*ctx, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead {
		return nil, syscall.EIO
	}
	root, err := p.root.Lookup(".")
	if err != nil {
		return nil, err
	}
	cwd, err := p.cwd.Lookup(".")
	if err != nil {
		root.Rele()
		return nil, err
	}
	return &ctx{cred: p.cred, umask: p.umask, root: root, cwd: cwd}, nil
}

func (c *ctx) exit() {
	c.root.Rele()
	c.cwd.Rele()
}

func (c *ctx) namei(path string, flags vfs.NameiFlags) (*vfs.Nameidata, error) {
	return vfs.Namei(c.root, c.cwd, path, flags, c.cred)
}

// getfile returns the open file for fd.
func (p *Proc) getfile(fd int) (*file, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, ok := p.fds[fd]
	if !ok {
		return nil, syscall.EBADF
	}
	return f, nil
}

// install puts f in the lowest free descriptor slot.
func (p *Proc) install(f *file) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead {
		return -1, syscall.EIO
	}
	for fd := 0; ; fd++ {
		if _, used := p.fds[fd]; !used {
			p.fds[fd] = f
			return fd, nil
		}
	}
}

func (f *file) close() error {
	err := vfs.VOP_CLOSE(f.vn)
	f.vn.Rele()
	return err
}

// Close closes fd, giving back its vnode reference.
func (p *Proc) Close(fd int) error {
	p.mu.Lock()
	f, ok := p.fds[fd]
	delete(p.fds, fd)
	p.mu.Unlock()
	if !ok {
		return syscall.EBADF
	}
	return errno(f.close())
}

// errno makes sure an error leaving the syscall layer is a syscall.Errno:
// anything else a file system let through becomes EIO.
func errno(err error) error {
	if err == nil {
		return nil
	}
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	var e syscall.Errno
	if asErrno(err, &e) {
		return e
	}
	return syscall.EIO
}
