package p2k

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/rumpfs/rumpfs/vfs"
)

// Config tunes a Bridge. The zero value checks permissions in p2k, caches
// nothing and logs nothing; ConfigFromEnv gives the daemon defaults.
type Config struct {
	// DefaultPermissions says the kernel checks permissions itself
	// (-o default_permissions), so the bridge does not.
	DefaultPermissions bool
	// EntryTimeout is how long the kernel may cache a name (and a
	// negative lookup); AttrTimeout, attributes.
	EntryTimeout time.Duration
	AttrTimeout  time.Duration
	// KeepCache lets the kernel keep file pages across opens
	// (FOPEN_KEEP_CACHE): safe because the daemon holds the image's lock
	// and every change comes through this kernel.
	KeepCache bool
	// DirectIO bypasses the page cache (P2K_NOCACHE_PAGE).
	DirectIO bool
	// WizardUID, when HasWizard, replaces the caller's uid in every
	// operation (NetBSD p2k's P2K_WIZARDUID); gid and groups stay.
	HasWizard bool
	WizardUID uint32
	// SyncInterval, if not zero, makes Serve flush the mount that often
	// after a change (FUSE has no sync(2) request; DESIGN.md wants dirty
	// metadata no older than a few seconds).
	SyncInterval time.Duration
	// Debug logs one line per operation through Logf.
	Debug bool
	// Logf reports errors that are not errnos (logged once each) and,
	// with Debug, every operation. nil discards.
	Logf func(format string, args ...any)
	// Lock, if set, is the mount's writer lock shared with another front
	// serving the same mount (a 9P export beside the FUSE mount), so that
	// the two serialise their changes; nil gives the bridge its own.
	Lock *sync.RWMutex
}

// Bridge serves FUSE requests with the vnodes of one vfs.Mount: it is the
// go-fuse RawFileSystem of a rump daemon, as NetBSD's libp2k turns puffs
// requests into VOP_* calls. FUSE without default_permissions checks
// nothing in the kernel, so the bridge checks access with the caller's
// credentials before each operation, as NetBSD's kernel calls VOP_ACCESS.
type Bridge struct {
	fuse.RawFileSystem // ENOSYS for what is not below (locks, ioctl, ...)

	m     vfs.Mount
	cfg   Config
	nodes *nodeTable

	hmu     sync.Mutex
	handles map[uint64]*handle
	nextFh  uint64

	// lock is the mount's writer lock (DESIGN.md: changes to one mount
	// are serialised, reads run together). Shutdown takes it to wait for
	// operations in flight; closed then refuses new ones.
	lock   *sync.RWMutex
	closed bool
	dirty  atomic.Bool // changed since the last Sync

	logged  sync.Map // error strings already logged
	nlogged atomic.Int32

	// noXattr: the file system has no extended attributes at all (its
	// root vnode lacks vfs.Xattrer).
	noXattr bool
}

// handle is an open file or directory.
type handle struct {
	n     *node
	flags uint32
	dir   bool
	// cred is whom the file was opened by: writes through the handle run
	// with it, as NetBSD's vn_write passes fp->f_cred to VOP_WRITE (FFS
	// keeps its minfree reserve from non-root openers by it). A FUSE
	// WRITE's own caller is not the writer for page-cache writebacks.
	cred *vfs.Cred
}

// NewBridge makes a bridge for m. It takes one reference on the root,
// given back by Shutdown.
func NewBridge(m vfs.Mount, cfg Config) (*Bridge, error) {
	root, err := m.Root()
	if err != nil {
		return nil, err
	}
	a, err := root.Getattr()
	if err != nil {
		root.Rele()
		return nil, err
	}
	if !a.IsDir() {
		root.Rele()
		return nil, fmt.Errorf("root is not a directory")
	}
	b := &Bridge{
		RawFileSystem: fuse.NewDefaultRawFileSystem(),
		m:             m,
		cfg:           cfg,
		nodes:         newNodeTable(root, &a),
		handles:       map[uint64]*handle{},
		nextFh:        1,
		lock:          cfg.Lock,
	}
	if b.lock == nil {
		b.lock = new(sync.RWMutex)
	}
	_, hasX := root.(vfs.Xattrer)
	b.noXattr = !hasX
	return b, nil
}

// String names the file system for go-fuse.
func (b *Bridge) String() string { return "p2k" }

// Shutdown waits for operations in flight, refuses new ones with EIO and
// gives back every vnode reference, the root's included. The caller then
// syncs and unmounts the vfs.Mount.
func (b *Bridge) Shutdown() {
	b.lock.Lock()
	b.closed = true
	b.lock.Unlock()
	b.hmu.Lock()
	clear(b.handles)
	b.hmu.Unlock()
	b.nodes.releaseAll()
}

// Nodes reports how many inodes the kernel holds (each one vfs reference).
func (b *Bridge) Nodes() int { return b.nodes.count() }

// rlock enters an operation that only reads the file system.
func (b *Bridge) rlock() bool {
	b.lock.RLock()
	if b.closed {
		b.lock.RUnlock()
		return false
	}
	return true
}

func (b *Bridge) runlock() { b.lock.RUnlock() }

// wlock enters an operation that changes the file system (releasing a
// vnode counts: the last reference to an unlinked file frees it).
func (b *Bridge) wlock() bool {
	b.lock.Lock()
	if b.closed {
		b.lock.Unlock()
		return false
	}
	return true
}

func (b *Bridge) wunlock() {
	b.dirty.Store(true)
	b.lock.Unlock()
}

// Sync flushes the mount if anything changed since the last Sync, under
// the writer lock so that no change is half done.
func (b *Bridge) Sync() error {
	if !b.dirty.Load() || b.m.ReadOnly() {
		return nil
	}
	b.lock.Lock()
	defer b.lock.Unlock()
	if b.closed {
		return nil
	}
	b.dirty.Store(false)
	return b.m.Sync()
}

// rele gives back a reference the node table dropped; the caller holds
// the writer lock.
func rele(vn vfs.Vnode) {
	if vn != nil {
		vn.Rele()
	}
}

func (b *Bridge) logf(format string, args ...any) {
	if b.cfg.Logf != nil {
		b.cfg.Logf(format, args...)
	}
}

// status turns a vnode error into a FUSE status. vnode errors are
// syscall.Errno; anything else is a bug or a corrupt image and becomes
// EIO, logged once per distinct message so that a bad image cannot flood
// the log.
func (b *Bridge) status(op string, err error) fuse.Status {
	if err == nil {
		return fuse.OK
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return fuse.Status(e)
	}
	msg := err.Error()
	if _, dup := b.logged.LoadOrStore(msg, true); !dup && b.nlogged.Add(1) <= 1000 {
		b.logf("p2k: %s: %s (returning EIO)", op, msg)
	}
	return fuse.EIO
}

// trace logs one operation with P2K_DEBUG.
func (b *Bridge) trace(op string, id uint64, name string, st *fuse.Status) {
	if !b.cfg.Debug {
		return
	}
	if name != "" {
		b.logf("%s i%d %q: %v", op, id, name, *st)
	} else {
		b.logf("%s i%d: %v", op, id, *st)
	}
}

// cred builds the credentials of the calling process.
func (b *Bridge) cred(c *fuse.Caller) *credential {
	cr := &credential{pid: c.Pid}
	cr.Uid, cr.Gid = c.Uid, c.Gid
	if b.cfg.HasWizard {
		cr.Uid = b.cfg.WizardUID
	}
	return cr
}

// credential is a vfs.Cred whose supplementary groups are read from /proc
// only when a check needs them.
type credential struct {
	vfs.Cred
	pid    uint32
	loaded bool
}

func (c *credential) loadGroups() {
	if !c.loaded {
		c.loaded = true
		c.Groups = procGroups(c.pid)
	}
}

// access checks cred's right to use a file with attributes a in mode;
// a refusal by the primary group alone is retried with the supplementary
// groups.
func (b *Bridge) access(a *vfs.Attr, c *credential, mode uint32) error {
	if b.cfg.DefaultPermissions {
		return nil
	}
	err := vfs.Access(a, &c.Cred, mode)
	if err != nil && !c.loaded {
		c.loadGroups()
		if len(c.Groups) > 0 {
			err = vfs.Access(a, &c.Cred, mode)
		}
	}
	return err
}

// accessNode is access on a node's current attributes.
func (b *Bridge) accessNode(n *node, c *credential, mode uint32) error {
	if b.cfg.DefaultPermissions {
		return nil
	}
	a, err := n.vn.Getattr()
	if err != nil {
		return err
	}
	return b.access(&a, c, mode)
}

func (b *Bridge) node(id uint64) (*node, fuse.Status) {
	n := b.nodes.get(id)
	if n == nil {
		return nil, fuse.Status(syscall.ESTALE)
	}
	return n, fuse.OK
}

// entry fills out for vn (which carries one reference, handed to the node
// table) and counts the kernel's lookup.
func (b *Bridge) entry(vn vfs.Vnode, out *fuse.EntryOut) (*node, error) {
	a, err := vn.Getattr()
	if err != nil {
		vn.Rele()
		return nil, err
	}
	n := b.nodes.add(vn, &a)
	b.fillEntry(n, &a, out)
	return n, nil
}

func (b *Bridge) fillEntry(n *node, a *vfs.Attr, out *fuse.EntryOut) {
	out.NodeId = n.id
	out.Generation = a.Gen
	out.SetEntryTimeout(b.cfg.EntryTimeout)
	out.SetAttrTimeout(b.cfg.AttrTimeout)
	fillAttr(&out.Attr, a)
}

func checkName(name string) error {
	if len(name) > vfs.NameMax {
		return syscall.ENAMETOOLONG
	}
	if name == "" || strings.IndexByte(name, '/') >= 0 {
		return syscall.EINVAL
	}
	return nil
}

// ---- lookup and attributes ----

func (b *Bridge) Lookup(cancel <-chan struct{}, h *fuse.InHeader, name string, out *fuse.EntryOut) (st fuse.Status) {
	defer b.trace("LOOKUP", h.NodeId, name, &st)
	if !b.rlock() {
		return fuse.EIO
	}
	defer b.runlock()
	dir, st := b.node(h.NodeId)
	if !st.Ok() {
		return st
	}
	if err := checkName(name); err != nil {
		return b.status("lookup", err)
	}
	c := b.cred(&h.Caller)
	if err := b.accessNode(dir, c, vfs.AccessExec); err != nil {
		return b.status("lookup", err)
	}
	vn, err := dir.vn.Lookup(name)
	if err == syscall.ENOENT && b.cfg.EntryTimeout > 0 {
		// A negative entry: the kernel remembers the name is absent until
		// it creates it itself.
		*out = fuse.EntryOut{}
		out.SetEntryTimeout(b.cfg.EntryTimeout)
		return fuse.OK
	}
	if err != nil {
		return b.status("lookup", err)
	}
	_, err = b.entry(vn, out)
	return b.status("lookup", err)
}

func (b *Bridge) Forget(nodeid, nlookup uint64) {
	if b.cfg.Debug {
		b.logf("FORGET i%d %d", nodeid, nlookup)
	}
	if !b.wlock() {
		return
	}
	defer b.wunlock()
	rele(b.nodes.forget(nodeid, nlookup))
}

func (b *Bridge) GetAttr(cancel <-chan struct{}, in *fuse.GetAttrIn, out *fuse.AttrOut) (st fuse.Status) {
	defer b.trace("GETATTR", in.NodeId, "", &st)
	if !b.rlock() {
		return fuse.EIO
	}
	defer b.runlock()
	n, st := b.node(in.NodeId)
	if !st.Ok() {
		return st
	}
	a, err := n.vn.Getattr()
	if err != nil {
		return b.status("getattr", err)
	}
	out.SetTimeout(b.cfg.AttrTimeout)
	fillAttr(&out.Attr, &a)
	return fuse.OK
}

func (b *Bridge) SetAttr(cancel <-chan struct{}, in *fuse.SetAttrIn, out *fuse.AttrOut) (st fuse.Status) {
	defer b.trace("SETATTR", in.NodeId, "", &st)
	if !b.wlock() {
		return fuse.EIO
	}
	defer b.wunlock()
	n, st := b.node(in.NodeId)
	if !st.Ok() {
		return st
	}
	a, err := n.vn.Getattr()
	if err != nil {
		return b.status("setattr", err)
	}
	c := b.cred(&in.Caller)
	var sa vfs.SetAttr
	if in.Valid&fuse.FATTR_MODE != 0 {
		sa.Valid |= vfs.SetMode
		sa.Mode = in.Mode & 07777
	}
	if in.Valid&fuse.FATTR_UID != 0 {
		sa.Valid |= vfs.SetUid
		sa.Uid = in.Uid
	}
	if in.Valid&fuse.FATTR_GID != 0 {
		sa.Valid |= vfs.SetGid
		sa.Gid = in.Gid
	}
	if in.Valid&fuse.FATTR_SIZE != 0 {
		sa.Valid |= vfs.SetSize
		sa.Size = in.Size
	}
	now := time.Now()
	allNow := true
	if in.Valid&fuse.FATTR_ATIME != 0 {
		sa.Valid |= vfs.SetAtime
		if in.Valid&fuse.FATTR_ATIME_NOW != 0 {
			sa.Atime = now
		} else {
			sa.Atime = time.Unix(int64(in.Atime), int64(in.Atimensec))
			allNow = false
		}
	}
	if in.Valid&fuse.FATTR_MTIME != 0 {
		sa.Valid |= vfs.SetMtime
		if in.Valid&fuse.FATTR_MTIME_NOW != 0 {
			sa.Mtime = now
		} else {
			sa.Mtime = time.Unix(int64(in.Mtime), int64(in.Mtimensec))
			allNow = false
		}
	}
	if sa.Valid == 0 {
		// ctime alone, or a lock owner: nothing the vnode layer sets.
		out.SetTimeout(b.cfg.AttrTimeout)
		fillAttr(&out.Attr, &a)
		return fuse.OK
	}
	if err := b.checkSetattr(&a, c, &sa, in, allNow); err != nil {
		return b.status("setattr", err)
	}
	// ftruncate runs with the opener's credentials, truncate(2) with the
	// caller's (NetBSD's sys_ftruncate passes fp->f_cred): FFS judges a
	// growing tail against its minfree reserve by them.
	cred := &c.Cred
	if in.Valid&fuse.FATTR_FH != 0 {
		if h := b.handle(in.Fh); h != nil && h.cred != nil {
			cred = h.cred
		}
	}
	if err := vfs.VOP_SETATTRCRED(b.m, n.vn, cred, &sa); err != nil {
		return b.status("setattr", err)
	}
	a, err = n.vn.Getattr()
	if err != nil {
		return b.status("setattr", err)
	}
	out.SetTimeout(b.cfg.AttrTimeout)
	fillAttr(&out.Attr, &a)
	return fuse.OK
}

// checkSetattr applies the rules of chmod, chown, truncate and utimes.
func (b *Bridge) checkSetattr(a *vfs.Attr, c *credential, sa *vfs.SetAttr, in *fuse.SetAttrIn, allNow bool) error {
	if b.m.ReadOnly() {
		return syscall.EROFS
	}
	if b.cfg.DefaultPermissions {
		return nil
	}
	if sa.Valid&vfs.SetGid != 0 {
		c.loadGroups() // chgrp to a supplementary group
	}
	if sa.Valid&(vfs.SetMode|vfs.SetUid|vfs.SetGid) != 0 {
		// Without FUSE_HANDLE_KILLPRIV the kernel clears set-id bits after
		// a write or truncate by sending a chmod as the writer, who may
		// not own the file. Dropping S_ISUID/S_ISGID never grants anything,
		// so that chmod is allowed to anyone.
		old := a.Mode & 07777
		killpriv := sa.Valid == vfs.SetMode && sa.Mode&^old == 0 && (old&^sa.Mode)&^(vfs.S_ISUID|vfs.S_ISGID) == 0
		if !killpriv {
			if err := vfs.CheckSetattr(a, &c.Cred, sa); err != nil {
				return err
			}
		}
	}
	if sa.Valid&vfs.SetSize != 0 {
		writable := false
		if fh, ok := in.GetFh(); ok {
			if h := b.handle(fh); h != nil && h.flags&syscall.O_ACCMODE != syscall.O_RDONLY {
				writable = true // ftruncate on a descriptor open for writing
			}
		}
		if !writable {
			if err := b.access(a, c, vfs.AccessWrite); err != nil {
				return err
			}
		}
	}
	if sa.Valid&(vfs.SetAtime|vfs.SetMtime) != 0 {
		err := vfs.CheckUtimes(a, &c.Cred, allNow)
		if err == syscall.EACCES && !c.loaded {
			c.loadGroups()
			err = vfs.CheckUtimes(a, &c.Cred, allNow)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (b *Bridge) Access(cancel <-chan struct{}, in *fuse.AccessIn) (st fuse.Status) {
	defer b.trace("ACCESS", in.NodeId, "", &st)
	if !b.rlock() {
		return fuse.EIO
	}
	defer b.runlock()
	n, st := b.node(in.NodeId)
	if !st.Ok() {
		return st
	}
	a, err := n.vn.Getattr()
	if err != nil {
		return b.status("access", err)
	}
	if in.Mask&fuse.W_OK != 0 && b.m.ReadOnly() && a.Type() != vfs.S_IFCHR && a.Type() != vfs.S_IFBLK && a.Type() != vfs.S_IFIFO && a.Type() != vfs.S_IFSOCK {
		return fuse.Status(syscall.EROFS)
	}
	mode := in.Mask & (fuse.R_OK | fuse.W_OK | fuse.X_OK)
	if mode == 0 {
		return fuse.OK
	}
	c := b.cred(&in.Caller)
	if b.cfg.DefaultPermissions {
		// Not normally asked with default_permissions; answer anyway.
		err = vfs.Access(&a, &c.Cred, mode)
	} else {
		err = b.access(&a, c, mode)
	}
	return b.status("access", err)
}

func (b *Bridge) Readlink(cancel <-chan struct{}, h *fuse.InHeader) (out []byte, st fuse.Status) {
	defer b.trace("READLINK", h.NodeId, "", &st)
	if !b.rlock() {
		return nil, fuse.EIO
	}
	defer b.runlock()
	n, st := b.node(h.NodeId)
	if !st.Ok() {
		return nil, st
	}
	target, err := n.vn.Readlink()
	if err != nil {
		return nil, b.status("readlink", err)
	}
	return []byte(target), fuse.OK
}

func (b *Bridge) StatFs(cancel <-chan struct{}, h *fuse.InHeader, out *fuse.StatfsOut) (st fuse.Status) {
	defer b.trace("STATFS", h.NodeId, "", &st)
	if !b.rlock() {
		return fuse.EIO
	}
	defer b.runlock()
	s, err := b.m.Statfs()
	if err != nil {
		return b.status("statfs", err)
	}
	out.Blocks = s.Blocks
	out.Bfree = s.Bfree
	out.Bavail = s.Bavail
	out.Files = s.Files
	out.Ffree = s.Ffree
	out.Bsize = s.Bsize
	out.Frsize = s.Frsize
	if out.Frsize == 0 {
		out.Frsize = out.Bsize
	}
	out.NameLen = s.Namemax
	if out.NameLen == 0 {
		out.NameLen = vfs.NameMax
	}
	return fuse.OK
}

// ---- making and removing names ----

// dirWrite checks that c may add or remove names in dir.
func (b *Bridge) dirWrite(dir *node, c *credential) (vfs.Attr, error) {
	a, err := dir.vn.Getattr()
	if err != nil {
		return a, err
	}
	if !a.IsDir() {
		return a, syscall.ENOTDIR
	}
	if b.m.ReadOnly() {
		return a, syscall.EROFS
	}
	return a, b.access(&a, c, vfs.AccessWrite|vfs.AccessExec)
}

// newEntry finishes a create-type operation: vn carries one reference.
func (b *Bridge) newEntry(op string, vn vfs.Vnode, err error, out *fuse.EntryOut) fuse.Status {
	if err != nil {
		return b.status(op, err)
	}
	_, err = b.entry(vn, out)
	return b.status(op, err)
}

// addingName is the common start of every operation that adds name to the
// directory id (mkdir, mknod, symlink, link, create): the name is valid and
// the caller may write in the directory. The caller holds the write lock.
func (b *Bridge) addingName(op string, id uint64, name string, caller *fuse.Caller) (*node, *credential, fuse.Status) {
	dir, st := b.node(id)
	if !st.Ok() {
		return nil, nil, st
	}
	if err := checkName(name); err != nil {
		return nil, nil, b.status(op, err)
	}
	c := b.cred(caller)
	if _, err := b.dirWrite(dir, c); err != nil {
		return nil, nil, b.status(op, err)
	}
	return dir, c, fuse.OK
}

func (b *Bridge) Mkdir(cancel <-chan struct{}, in *fuse.MkdirIn, name string, out *fuse.EntryOut) (st fuse.Status) {
	defer b.trace("MKDIR", in.NodeId, name, &st)
	if !b.wlock() {
		return fuse.EIO
	}
	defer b.wunlock()
	dir, c, st := b.addingName("mkdir", in.NodeId, name, &in.Caller)
	if !st.Ok() {
		return st
	}
	vn, err := vfs.VOP_MKDIR(b.m, dir.vn, &c.Cred, name, in.Mode&07777)
	return b.newEntry("mkdir", vn, err, out)
}

func (b *Bridge) Mknod(cancel <-chan struct{}, in *fuse.MknodIn, name string, out *fuse.EntryOut) (st fuse.Status) {
	defer b.trace("MKNOD", in.NodeId, name, &st)
	if !b.wlock() {
		return fuse.EIO
	}
	defer b.wunlock()
	dir, c, st := b.addingName("mknod", in.NodeId, name, &in.Caller)
	if !st.Ok() {
		return st
	}
	mode := in.Mode
	var vn vfs.Vnode
	var err error
	switch mode & vfs.S_IFMT {
	case 0, vfs.S_IFREG:
		vn, err = vfs.VOP_CREATE(b.m, dir.vn, &c.Cred, name, mode&07777)
	case vfs.S_IFCHR, vfs.S_IFBLK, vfs.S_IFIFO, vfs.S_IFSOCK:
		vn, err = vfs.VOP_MKNOD(b.m, dir.vn, &c.Cred, name, mode, decodeDev(in.Rdev))
	default:
		err = syscall.EINVAL
	}
	return b.newEntry("mknod", vn, err, out)
}

func (b *Bridge) Symlink(cancel <-chan struct{}, h *fuse.InHeader, target string, name string, out *fuse.EntryOut) (st fuse.Status) {
	defer b.trace("SYMLINK", h.NodeId, name, &st)
	if !b.wlock() {
		return fuse.EIO
	}
	defer b.wunlock()
	if len(target) >= vfs.PathMax {
		return fuse.Status(syscall.ENAMETOOLONG)
	}
	dir, c, st := b.addingName("symlink", h.NodeId, name, &h.Caller)
	if !st.Ok() {
		return st
	}
	vn, err := vfs.VOP_SYMLINK(b.m, dir.vn, &c.Cred, name, target)
	return b.newEntry("symlink", vn, err, out)
}

func (b *Bridge) Link(cancel <-chan struct{}, in *fuse.LinkIn, name string, out *fuse.EntryOut) (st fuse.Status) {
	defer b.trace("LINK", in.NodeId, name, &st)
	if !b.wlock() {
		return fuse.EIO
	}
	defer b.wunlock()
	target, st := b.node(in.Oldnodeid)
	if !st.Ok() {
		return st
	}
	dir, _, st := b.addingName("link", in.NodeId, name, &in.Caller)
	if !st.Ok() {
		return st
	}
	if err := vfs.VOP_LINK(b.m, dir.vn, name, target.vn); err != nil {
		return b.status("link", err)
	}
	a, err := target.vn.Getattr()
	if err != nil {
		return b.status("link", err)
	}
	// The kernel counts the answer as a lookup of the linked inode.
	b.nodes.addLookup(target)
	b.fillEntry(target, &a, out)
	return fuse.OK
}

// checkSticky applies the sticky-directory rule to removing name from dir
// (whose attributes are da).
func (b *Bridge) checkSticky(dir *node, da *vfs.Attr, name string, c *credential) error {
	if b.cfg.DefaultPermissions || da.Mode&vfs.S_ISVTX == 0 || c.IsRoot() || c.Uid == da.Uid {
		return nil
	}
	vn, err := dir.vn.Lookup(name)
	if err != nil {
		return err
	}
	defer vn.Rele()
	va, err := vn.Getattr()
	if err != nil {
		return err
	}
	return vfs.CheckSticky(da, &va, &c.Cred)
}

func (b *Bridge) Unlink(cancel <-chan struct{}, h *fuse.InHeader, name string) (st fuse.Status) {
	defer b.trace("UNLINK", h.NodeId, name, &st)
	return b.remove(h, name, false)
}

func (b *Bridge) Rmdir(cancel <-chan struct{}, h *fuse.InHeader, name string) (st fuse.Status) {
	defer b.trace("RMDIR", h.NodeId, name, &st)
	return b.remove(h, name, true)
}

func (b *Bridge) remove(h *fuse.InHeader, name string, isDir bool) fuse.Status {
	if !b.wlock() {
		return fuse.EIO
	}
	defer b.wunlock()
	dir, st := b.node(h.NodeId)
	if !st.Ok() {
		return st
	}
	op := "unlink"
	if isDir {
		op = "rmdir"
	}
	if err := checkName(name); err != nil {
		return b.status(op, err)
	}
	c := b.cred(&h.Caller)
	da, err := b.dirWrite(dir, c)
	if err != nil {
		return b.status(op, err)
	}
	if err := b.checkSticky(dir, &da, name, c); err != nil {
		return b.status(op, err)
	}
	if isDir {
		err = vfs.VOP_RMDIR(b.m, dir.vn, name)
	} else {
		err = vfs.VOP_REMOVE(b.m, dir.vn, name)
	}
	return b.status(op, err)
}

// Linux renameat2 flags (include/uapi/linux/fs.h).
const (
	renameNoReplace = 1 << 0
	renameExchange  = 1 << 1
	renameWhiteout  = 1 << 2
)

func (b *Bridge) Rename(cancel <-chan struct{}, in *fuse.RenameIn, oldName string, newName string) (st fuse.Status) {
	defer b.trace("RENAME", in.NodeId, oldName+" -> "+newName, &st)
	if !b.wlock() {
		return fuse.EIO
	}
	defer b.wunlock()
	if in.Flags&^renameNoReplace != 0 {
		// RENAME_EXCHANGE and RENAME_WHITEOUT need support in the file
		// system that the vfs interface does not offer; rename(2) says
		// EINVAL for flags the file system does not implement.
		return fuse.EINVAL
	}
	odir, st := b.node(in.NodeId)
	if !st.Ok() {
		return st
	}
	ndir, st := b.node(in.Newdir)
	if !st.Ok() {
		return st
	}
	if err := checkName(oldName); err != nil {
		return b.status("rename", err)
	}
	if err := checkName(newName); err != nil {
		return b.status("rename", err)
	}
	c := b.cred(&in.Caller)
	oa, err := b.dirWrite(odir, c)
	if err != nil {
		return b.status("rename", err)
	}
	na := oa
	if ndir != odir {
		if na, err = b.dirWrite(ndir, c); err != nil {
			return b.status("rename", err)
		}
	}
	if err := b.checkRename(odir, &oa, oldName, ndir, &na, newName, in.Flags, c); err != nil {
		return b.status("rename", err)
	}
	return b.status("rename", vfs.VOP_RENAME(b.m, odir.vn, oldName, ndir.vn, newName))
}

// checkRename applies RENAME_NOREPLACE and, without default_permissions,
// the sticky rule on both names and NetBSD's rule that moving a directory
// to another parent needs write permission on it (its ".." changes).
func (b *Bridge) checkRename(odir *node, oa *vfs.Attr, oldName string, ndir *node, na *vfs.Attr, newName string, flags uint32, c *credential) error {
	if flags&renameNoReplace != 0 {
		vn, err := ndir.vn.Lookup(newName)
		if err == nil {
			vn.Rele()
			return syscall.EEXIST
		}
		if err != syscall.ENOENT {
			return err
		}
	}
	if b.cfg.DefaultPermissions {
		return nil
	}
	src, err := odir.vn.Lookup(oldName)
	if err != nil {
		return err
	}
	defer src.Rele()
	sa, err := src.Getattr()
	if err != nil {
		return err
	}
	if err := vfs.CheckSticky(oa, &sa, &c.Cred); err != nil {
		return err
	}
	if sa.IsDir() && odir != ndir {
		if err := b.access(&sa, c, vfs.AccessWrite); err != nil {
			return err
		}
	}
	if na.Mode&vfs.S_ISVTX != 0 {
		if dst, err := ndir.vn.Lookup(newName); err == nil {
			da, err := dst.Getattr()
			dst.Rele()
			if err != nil {
				return err
			}
			if err := vfs.CheckSticky(na, &da, &c.Cred); err != nil {
				return err
			}
		}
	}
	return nil
}

// ---- files ----

func (b *Bridge) newHandle(n *node, flags uint32, dir bool, c *credential) uint64 {
	b.nodes.open(n)
	h := &handle{n: n, flags: flags, dir: dir}
	if c != nil && !dir {
		cr := c.Cred // a copy: the credential is the request's
		h.cred = &cr
	}
	b.hmu.Lock()
	fh := b.nextFh
	b.nextFh++
	b.handles[fh] = h
	b.hmu.Unlock()
	return fh
}

func (b *Bridge) handle(fh uint64) *handle {
	b.hmu.Lock()
	h := b.handles[fh]
	b.hmu.Unlock()
	return h
}

func (b *Bridge) dropHandle(fh uint64) *handle {
	b.hmu.Lock()
	h := b.handles[fh]
	delete(b.handles, fh)
	b.hmu.Unlock()
	return h
}

func (b *Bridge) openFlags() uint32 {
	// FOPEN_NOFLUSH: Flush does nothing (every write reached the vnode
	// when it was made, and locks are the kernel's own), so close(2) need
	// not wait for a FLUSH round trip: one request fewer per file written
	// (Linux 5.16 and later honour it; older kernels ignore the bit).
	f := uint32(fuse.FOPEN_NOFLUSH)
	if b.cfg.DirectIO {
		f |= fuse.FOPEN_DIRECT_IO
	} else if b.cfg.KeepCache {
		f |= fuse.FOPEN_KEEP_CACHE
	}
	return f
}

// openMode is the access an open with flags needs.
func openMode(flags uint32) uint32 {
	var mode uint32
	switch flags & syscall.O_ACCMODE {
	case syscall.O_RDONLY:
		mode = vfs.AccessRead
	case syscall.O_WRONLY:
		mode = vfs.AccessWrite
	default:
		mode = vfs.AccessRead | vfs.AccessWrite
	}
	if flags&syscall.O_TRUNC != 0 {
		mode |= vfs.AccessWrite
	}
	return mode
}

// openNode checks and performs an open of an existing file.
func (b *Bridge) openNode(n *node, flags uint32, c *credential) (uint64, error) {
	a, err := n.vn.Getattr()
	if err != nil {
		return 0, err
	}
	mode := openMode(flags)
	if mode&vfs.AccessWrite != 0 {
		if a.IsDir() {
			return 0, syscall.EISDIR
		}
		if t := a.Type(); b.m.ReadOnly() && (t == vfs.S_IFREG || t == vfs.S_IFLNK) {
			return 0, syscall.EROFS
		}
	}
	if err := b.access(&a, c, mode); err != nil {
		return 0, err
	}
	if flags&syscall.O_TRUNC != 0 && a.Type() == vfs.S_IFREG {
		// FUSE_ATOMIC_O_TRUNC: the truncation is ours to do.
		if err := vfs.VOP_SETATTR(b.m, n.vn, &vfs.SetAttr{Valid: vfs.SetSize}); err != nil {
			return 0, err
		}
	}
	if err := vfs.VOP_OPEN(n.vn, int(flags)); err != nil {
		return 0, err
	}
	return b.newHandle(n, flags, false, c), nil
}

func (b *Bridge) Open(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) (st fuse.Status) {
	defer b.trace("OPEN", in.NodeId, "", &st)
	if in.Flags&syscall.O_TRUNC != 0 {
		if !b.wlock() {
			return fuse.EIO
		}
		defer b.wunlock()
	} else {
		if !b.rlock() {
			return fuse.EIO
		}
		defer b.runlock()
	}
	n, st := b.node(in.NodeId)
	if !st.Ok() {
		return st
	}
	fh, err := b.openNode(n, in.Flags, b.cred(&in.Caller))
	if err != nil {
		return b.status("open", err)
	}
	out.Fh = fh
	out.OpenFlags = b.openFlags()
	return fuse.OK
}

func (b *Bridge) Create(cancel <-chan struct{}, in *fuse.CreateIn, name string, out *fuse.CreateOut) (st fuse.Status) {
	defer b.trace("CREATE", in.NodeId, name, &st)
	if !b.wlock() {
		return fuse.EIO
	}
	defer b.wunlock()
	dir, c, st := b.addingName("create", in.NodeId, name, &in.Caller)
	if !st.Ok() {
		return st
	}
	vn, err := vfs.VOP_CREATE(b.m, dir.vn, &c.Cred, name, in.Mode&07777)
	if err == syscall.EEXIST && in.Flags&syscall.O_EXCL == 0 {
		// Made by someone else since the kernel looked: open it instead,
		// as open(2) without O_EXCL does.
		vn, err = dir.vn.Lookup(name)
		if err != nil {
			return b.status("create", err)
		}
		n, err := b.entry(vn, &out.EntryOut)
		if err != nil {
			return b.status("create", err)
		}
		fh, err := b.openNode(n, in.Flags, c)
		if err != nil {
			rele(b.nodes.forget(n.id, 1)) // the kernel will not learn of it
			return b.status("create", err)
		}
		out.Fh = fh
		out.OpenFlags = b.openFlags()
		return fuse.OK
	}
	if err != nil {
		return b.status("create", err)
	}
	n, err := b.entry(vn, &out.EntryOut)
	if err != nil {
		return b.status("create", err)
	}
	// The creator may write a file whose mode forbids it (open(2) with
	// O_CREAT|O_WRONLY and mode 0444): no access check here.
	if err := vfs.VOP_OPEN(n.vn, int(in.Flags)); err != nil {
		rele(b.nodes.forget(n.id, 1))
		return b.status("create", err)
	}
	out.Fh = b.newHandle(n, in.Flags, false, c)
	out.OpenFlags = b.openFlags()
	return fuse.OK
}

func (b *Bridge) Read(cancel <-chan struct{}, in *fuse.ReadIn, buf []byte) (res fuse.ReadResult, st fuse.Status) {
	defer b.trace("READ", in.NodeId, "", &st)
	if !b.rlock() {
		return nil, fuse.EIO
	}
	defer b.runlock()
	n, st := b.node(in.NodeId)
	if !st.Ok() {
		return nil, st
	}
	size := int(in.Size)
	if size > len(buf) {
		size = len(buf)
	}
	p := buf[:size]
	off := int64(in.Offset)
	if off < 0 {
		return nil, fuse.EINVAL
	}
	// A short answer means end of file to FUSE, so fill the buffer.
	total := 0
	for total < len(p) {
		k, err := n.vn.Read(p[total:], off+int64(total))
		total += k
		if err != nil {
			if total > 0 {
				break
			}
			return nil, b.status("read", err)
		}
		if k == 0 {
			break
		}
	}
	return fuse.ReadResultData(p[:total]), fuse.OK
}

func (b *Bridge) Write(cancel <-chan struct{}, in *fuse.WriteIn, data []byte) (written uint32, st fuse.Status) {
	defer b.trace("WRITE", in.NodeId, "", &st)
	if !b.wlock() {
		return 0, fuse.EIO
	}
	defer b.wunlock()
	n, st := b.node(in.NodeId)
	if !st.Ok() {
		return 0, st
	}
	off := int64(in.Offset)
	h := b.handle(in.Fh)
	if h != nil && h.flags&syscall.O_APPEND != 0 && in.WriteFlags&fuse.WRITE_CACHE == 0 {
		// O_APPEND: the end of file is ours to know (the kernel's idea of
		// the size may be stale); the writer lock makes "find the end,
		// write there" atomic. Page-cache writebacks keep their offset.
		a, err := n.vn.Getattr()
		if err != nil {
			return 0, b.status("write", err)
		}
		off = int64(a.Size)
	}
	if off < 0 {
		return 0, fuse.EINVAL
	}
	cred := b.writeCred(h, &in.Caller)
	total := 0
	for total < len(data) {
		k, err := vfs.VOP_WRITECRED(b.m, n.vn, cred, data[total:], off+int64(total))
		total += k
		if err != nil {
			if total > 0 {
				break
			}
			return 0, b.status("write", err)
		}
		if k == 0 {
			return uint32(total), fuse.EIO
		}
	}
	return uint32(total), fuse.OK
}

// writeCred is whom a write through h runs as: the opener (NetBSD's
// fp->f_cred), or, for a request without a known handle, its caller.
func (b *Bridge) writeCred(h *handle, caller *fuse.Caller) *vfs.Cred {
	if h != nil && h.cred != nil {
		return h.cred
	}
	return &b.cred(caller).Cred
}

func (b *Bridge) Flush(cancel <-chan struct{}, in *fuse.FlushIn) (st fuse.Status) {
	// close(2): data went to the vnode at write time; nothing is
	// buffered here.
	return fuse.OK
}

func (b *Bridge) Fsync(cancel <-chan struct{}, in *fuse.FsyncIn) (st fuse.Status) {
	defer b.trace("FSYNC", in.NodeId, "", &st)
	return b.fsync(in)
}

func (b *Bridge) FsyncDir(cancel <-chan struct{}, in *fuse.FsyncIn) (st fuse.Status) {
	defer b.trace("FSYNCDIR", in.NodeId, "", &st)
	return b.fsync(in)
}

func (b *Bridge) fsync(in *fuse.FsyncIn) fuse.Status {
	if !b.wlock() {
		return fuse.EIO
	}
	defer b.wunlock()
	n, st := b.node(in.NodeId)
	if !st.Ok() {
		return st
	}
	return b.status("fsync", vfs.VOP_FSYNC(n.vn, in.FsyncFlags&1 != 0))
}

func (b *Bridge) Release(cancel <-chan struct{}, in *fuse.ReleaseIn) {
	var st fuse.Status
	defer b.trace("RELEASE", in.NodeId, "", &st)
	b.release(in)
}

func (b *Bridge) ReleaseDir(in *fuse.ReleaseIn) {
	var st fuse.Status
	defer b.trace("RELEASEDIR", in.NodeId, "", &st)
	b.release(in)
}

func (b *Bridge) release(in *fuse.ReleaseIn) {
	if !b.wlock() {
		return
	}
	defer b.wunlock()
	h := b.dropHandle(in.Fh)
	if h == nil {
		return
	}
	if err := vfs.VOP_CLOSE(h.n.vn); err != nil {
		b.status("close", err)
	}
	rele(b.nodes.close(h.n))
}

// Fallocate supports mode 0 by writing zeros past the end of file (the
// vfs layer has no allocation call) and FALLOC_FL_KEEP_SIZE inside the
// file as a no-op; anything else is EOPNOTSUPP, on which glibc's
// posix_fallocate falls back to writing.
func (b *Bridge) Fallocate(cancel <-chan struct{}, in *fuse.FallocateIn) (st fuse.Status) {
	defer b.trace("FALLOCATE", in.NodeId, "", &st)
	if !b.wlock() {
		return fuse.EIO
	}
	defer b.wunlock()
	n, st := b.node(in.NodeId)
	if !st.Ok() {
		return st
	}
	const keepSize = 0x01 // FALLOC_FL_KEEP_SIZE
	if in.Mode&^keepSize != 0 {
		return fuse.Status(syscall.EOPNOTSUPP)
	}
	end := in.Offset + in.Length
	if end < in.Offset || end > 1<<62 {
		return fuse.Status(syscall.EFBIG)
	}
	a, err := n.vn.Getattr()
	if err != nil {
		return b.status("fallocate", err)
	}
	if a.Type() != vfs.S_IFREG {
		return fuse.Status(syscall.ENODEV)
	}
	if end <= a.Size {
		return fuse.OK
	}
	if in.Mode&keepSize != 0 {
		return fuse.Status(syscall.EOPNOTSUPP)
	}
	cred := b.writeCred(b.handle(in.Fh), &in.Caller)
	zero := make([]byte, min(end-a.Size, 1<<20))
	for off := a.Size; off < end; {
		chunk := zero[:min(uint64(len(zero)), end-off)]
		k, err := vfs.VOP_WRITECRED(b.m, n.vn, cred, chunk, int64(off))
		if err != nil {
			return b.status("fallocate", err)
		}
		if k == 0 {
			return fuse.EIO
		}
		off += uint64(k)
	}
	return fuse.OK
}

// ---- directories ----

func (b *Bridge) OpenDir(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) (st fuse.Status) {
	defer b.trace("OPENDIR", in.NodeId, "", &st)
	if !b.rlock() {
		return fuse.EIO
	}
	defer b.runlock()
	n, st := b.node(in.NodeId)
	if !st.Ok() {
		return st
	}
	a, err := n.vn.Getattr()
	if err != nil {
		return b.status("opendir", err)
	}
	if !a.IsDir() {
		return fuse.Status(syscall.ENOTDIR)
	}
	c := b.cred(&in.Caller)
	if err := b.access(&a, c, vfs.AccessRead); err != nil {
		return b.status("opendir", err)
	}
	if err := vfs.VOP_OPEN(n.vn, int(in.Flags)); err != nil {
		return b.status("opendir", err)
	}
	out.Fh = b.newHandle(n, in.Flags, true, nil)
	if b.cfg.KeepCache && !b.cfg.DirectIO {
		// The kernel may cache listings: it invalidates them itself on
		// every change it makes, and it makes them all.
		out.OpenFlags = fuse.FOPEN_CACHE_DIR | fuse.FOPEN_KEEP_CACHE
	}
	return fuse.OK
}

func (b *Bridge) ReadDir(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) (st fuse.Status) {
	defer b.trace("READDIR", in.NodeId, "", &st)
	return b.readdir(in, out, false)
}

func (b *Bridge) ReadDirPlus(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) (st fuse.Status) {
	defer b.trace("READDIRPLUS", in.NodeId, "", &st)
	return b.readdir(in, out, true)
}

// readdir lists from the kernel's offset, which is the vnode's cookie
// (vfs.Dirent.Next of the last entry it took): listings resume exactly,
// seekdir included.
func (b *Bridge) readdir(in *fuse.ReadIn, out *fuse.DirEntryList, plus bool) fuse.Status {
	if !b.rlock() {
		return fuse.EIO
	}
	defer b.runlock()
	n, st := b.node(in.NodeId)
	if !st.Ok() {
		return st
	}
	if plus && !b.cfg.DefaultPermissions {
		// Attributes come with a lookup, which needs search permission.
		if b.accessNode(n, b.cred(&in.Caller), vfs.AccessExec) != nil {
			plus = false
		}
	}
	var ferr error
	count := 0
	err := n.vn.Readdir(in.Offset, func(d vfs.Dirent) bool {
		e := fuse.DirEntry{Name: d.Name, Ino: d.Ino, Mode: uint32(d.Type) << 12, Off: d.Next}
		if !plus {
			if !out.AddDirEntry(e) {
				return false
			}
			count++
			return true
		}
		eo := out.AddDirLookupEntry(e)
		if eo == nil {
			return false
		}
		count++
		if d.Name == "." || d.Name == ".." {
			return true // the kernel takes no lookup for these
		}
		vn, err := n.vn.Lookup(d.Name)
		if err != nil {
			return true // node id 0: a plain entry
		}
		if _, err := b.entry(vn, eo); err != nil {
			*eo = fuse.EntryOut{}
			ferr = err
		}
		return true
	})
	if err != nil && count == 0 {
		return b.status("readdir", err)
	}
	if ferr != nil {
		b.status("readdir", ferr) // log it; the listing itself is good
	}
	return fuse.OK
}

// ---- extended attributes ----

// xattrCheck applies Linux's namespace rules (fs/xattr.c
// xattr_permission): trusted.* is the super-user's, user.* exists only on
// files and directories and follows their permissions.
func (b *Bridge) xattrCheck(n *node, c *credential, name string, write bool) error {
	if b.cfg.DefaultPermissions {
		return nil
	}
	switch {
	case strings.HasPrefix(name, "trusted."):
		if !c.IsRoot() {
			if write {
				return syscall.EPERM
			}
			return syscall.ENODATA
		}
		return nil
	case strings.HasPrefix(name, "user."):
		a, err := n.vn.Getattr()
		if err != nil {
			return err
		}
		if t := a.Type(); t != vfs.S_IFREG && t != vfs.S_IFDIR {
			if write {
				return syscall.EPERM
			}
			return syscall.ENODATA
		}
		mode := uint32(vfs.AccessRead)
		if write {
			mode = vfs.AccessWrite
		}
		return b.access(&a, c, mode)
	}
	return nil
}

func (b *Bridge) GetXAttr(cancel <-chan struct{}, h *fuse.InHeader, attr string, dest []byte) (sz uint32, st fuse.Status) {
	defer b.trace("GETXATTR", h.NodeId, attr, &st)
	if !b.rlock() {
		return 0, fuse.EIO
	}
	defer b.runlock()
	n, st := b.node(h.NodeId)
	if !st.Ok() {
		return 0, st
	}
	if b.noXattr {
		// ENOSYS makes the kernel stop asking for the whole mount (it
		// answers EOPNOTSUPP itself), which spares a round trip per write
		// for security.capability on file systems without attributes.
		return 0, fuse.ENOSYS
	}
	if err := b.xattrCheck(n, b.cred(&h.Caller), attr, false); err != nil {
		return 0, b.status("getxattr", err)
	}
	val, err := vfs.VOP_GETXATTR(n.vn, attr)
	if err != nil {
		return 0, b.status("getxattr", err)
	}
	if len(dest) == 0 {
		return uint32(len(val)), fuse.OK
	}
	if len(dest) < len(val) {
		return uint32(len(val)), fuse.ERANGE
	}
	return uint32(copy(dest, val)), fuse.OK
}

func (b *Bridge) ListXAttr(cancel <-chan struct{}, h *fuse.InHeader, dest []byte) (sz uint32, st fuse.Status) {
	defer b.trace("LISTXATTR", h.NodeId, "", &st)
	if !b.rlock() {
		return 0, fuse.EIO
	}
	defer b.runlock()
	n, st := b.node(h.NodeId)
	if !st.Ok() {
		return 0, st
	}
	names, err := vfs.VOP_LISTXATTR(n.vn)
	if err != nil {
		return 0, b.status("listxattr", err)
	}
	c := b.cred(&h.Caller)
	var buf bytes.Buffer
	for _, name := range names {
		if strings.HasPrefix(name, "trusted.") && !c.IsRoot() && !b.cfg.DefaultPermissions {
			continue // invisible to others, as on Linux
		}
		buf.WriteString(name)
		buf.WriteByte(0)
	}
	if len(dest) == 0 {
		return uint32(buf.Len()), fuse.OK
	}
	if len(dest) < buf.Len() {
		return uint32(buf.Len()), fuse.ERANGE
	}
	return uint32(copy(dest, buf.Bytes())), fuse.OK
}

// setxattr(2) flags.
const (
	xattrCreate  = 1
	xattrReplace = 2
)

// changingXattr is the common start of setxattr and removexattr: the node
// exists, the mount is writable and the caller may change attr on it. The
// caller holds the write lock.
func (b *Bridge) changingXattr(op string, id uint64, caller *fuse.Caller, attr string) (*node, fuse.Status) {
	n, st := b.node(id)
	if !st.Ok() {
		return nil, st
	}
	if b.m.ReadOnly() {
		return nil, fuse.Status(syscall.EROFS)
	}
	if err := b.xattrCheck(n, b.cred(caller), attr, true); err != nil {
		return nil, b.status(op, err)
	}
	return n, fuse.OK
}

func (b *Bridge) SetXAttr(cancel <-chan struct{}, in *fuse.SetXAttrIn, attr string, data []byte) (st fuse.Status) {
	defer b.trace("SETXATTR", in.NodeId, attr, &st)
	if !b.wlock() {
		return fuse.EIO
	}
	defer b.wunlock()
	n, st := b.changingXattr("setxattr", in.NodeId, &in.Caller, attr)
	if !st.Ok() {
		return st
	}
	if len(attr) > 255 {
		return fuse.ERANGE
	}
	if in.Flags&(xattrCreate|xattrReplace) != 0 {
		// Enforced here as well, so every file system honours them.
		_, err := vfs.VOP_GETXATTR(n.vn, attr)
		switch {
		case err == nil && in.Flags&xattrCreate != 0:
			return fuse.Status(syscall.EEXIST)
		case err == syscall.ENODATA && in.Flags&xattrReplace != 0:
			return fuse.ENODATA
		}
	}
	return b.status("setxattr", vfs.VOP_SETXATTR(b.m, n.vn, attr, data, int(in.Flags)))
}

func (b *Bridge) RemoveXAttr(cancel <-chan struct{}, h *fuse.InHeader, attr string) (st fuse.Status) {
	defer b.trace("REMOVEXATTR", h.NodeId, attr, &st)
	if !b.wlock() {
		return fuse.EIO
	}
	defer b.wunlock()
	n, st := b.changingXattr("removexattr", h.NodeId, &h.Caller, attr)
	if !st.Ok() {
		return st
	}
	return b.status("removexattr", vfs.VOP_REMOVEXATTR(b.m, n.vn, attr))
}
