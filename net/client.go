package ninep

import (
	clist "container/list"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hugelgupf/p9/linux"
	"github.com/hugelgupf/p9/p9"

	"github.com/rumpfs/rumpfs/vfs"
)

// IsRemote reports whether spec names a 9P export rather than an image:
// 9p://host:port or 9p+unix:///path/sock.
func IsRemote(spec string) bool {
	return strings.HasPrefix(spec, "9p://") || strings.HasPrefix(spec, "9p+unix://")
}

// Dial connects to the 9P export spec (9p://host:port, 9p+unix:///path)
// and returns it as a vfs.Mount, so that the layers above (kern, ukfs)
// work on a remote file system as on an image. The server checks
// permissions and squashes; on a unix socket it knows the client by its
// SO_PEERCRED (p9's client names no user in Tattach).
//
// Like a FUSE or NFS client it caches: names it walked and attributes it
// read are trusted for cacheTTL (1 s), and a listing's names are walked
// ahead in the background. Its own changes show at once; other clients'
// changes to the export within cacheTTL.
func Dial(spec string, readOnly bool) (vfs.Mount, error) {
	var network, addr string
	switch {
	case strings.HasPrefix(spec, "9p+unix://"):
		network, addr = "unix", strings.TrimPrefix(spec, "9p+unix://")
	case strings.HasPrefix(spec, "9p://"):
		network, addr = "tcp", strings.TrimPrefix(spec, "9p://")
		if !strings.Contains(addr, ":") {
			addr += ":564" // the 9P port
		}
	default:
		return nil, fmt.Errorf("%s: not a 9p:// or 9p+unix:// address", spec)
	}
	nc, err := net.DialTimeout(network, addr, 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", spec, err)
	}
	c, err := p9.NewClient(nc, p9.WithMessageSize(clientMsize))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("%s: 9P version: %v", spec, err)
	}
	root, err := c.Attach("")
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("%s: attach: %v", spec, err)
	}
	m := &remote{spec: spec, c: c, ro: readOnly, closer: make(chan clunkReq, 1024), closerDone: make(chan struct{}),
		prefetchSem: make(chan struct{}, maxPrefetch), stopSweep: make(chan struct{})}
	m.root = &rnode{m: m, f: root, refs: 1}
	m.root.parent = m.root
	go m.closeLoop()
	go m.sweepLoop(m.stopSweep)
	return m, nil
}

// clientMsize is the message size the client asks for: 1 MiB of payload
// plus room for the largest fixed part of a message. p9's client cuts a
// read or write into pieces of msize less that room, rounded down to 512;
// asking for exactly 1 MiB would send every 1 MiB read as two messages
// (1 MiB - 512 bytes, then 512 bytes). The server caps msize at 4 MiB.
const clientMsize = 1<<20 + 4096

// cacheTTL is how long the client trusts what it learnt from the server
// (a name's walk, a file's attributes) without asking again, as the
// Linux FUSE kernel module trusts a daemon's entries and attributes for
// their timeouts (1 s in go-fuse and p2k) and NFS clients for actimeo. A
// change made through this client forgets everything at once (remote.gen);
// changes made by other clients of the export show within cacheTTL.
// Without it every lstat of a/b/c walked and stat'ed each component again:
// ten round trips per name of a tree walk.
var cacheTTL = time.Second

// maxIdle bounds the nodes kept walked (each holding a fid on the
// server) after their last reference went: directories for the names
// below them, files for their attributes.
const maxIdle = 4096

// Prefetching: a directory listing is followed by walks of its names,
// maxPrefetch in flight at once, so that the lstat of each name a tree
// walk makes next finds it already walked (the round trips overlap
// instead of adding up; NFS's READDIRPLUS does the same in one call).
// At most maxPrefetchNames names of one Readdir call are walked.
const (
	maxPrefetch      = 8
	maxPrefetchNames = 1024
)

// remote is a vfs.Mount over a p9 client.
type remote struct {
	spec string
	c    *p9.Client
	root *rnode
	ro   bool

	// cmu guards every rnode's refs, kids, idle element and attribute
	// cache, and gen, idle and closed.
	cmu    sync.Mutex
	gen    uint64     // bumped by every change made through this client
	idle   clist.List // of *rnode: unreferenced named nodes, oldest first
	closed bool

	prefetchSem chan struct{}
	prefetchWG  sync.WaitGroup
	stopSweep   chan struct{}

	// Fids no longer needed are clunked by closeLoop, off the caller's
	// path (a clunk is a round trip that nobody waits for).
	closer     chan clunkReq
	closerDone chan struct{}
}

// sweepLoop drops idle nodes that are no longer fresh, every cacheTTL,
// so that fids kept for the cache are given back even when the client
// goes quiet (one may hold a file another client has since removed).
func (m *remote) sweepLoop(stop <-chan struct{}) {
	t := time.NewTicker(cacheTTL)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		m.cmu.Lock()
		var fs []p9.File
		for e := m.idle.Front(); e != nil; {
			next := e.Next()
			if k := e.Value.(*rnode); !m.fresh(k.lookGen, k.lookAt) {
				fs = append(fs, m.drop(k)...)
			}
			e = next
		}
		m.cmu.Unlock()
		m.clunk(fs)
	}
}

// clunkReq is a fid for closeLoop to clunk, or (done set) a marker whose
// done it closes once every clunk queued before it has been answered.
type clunkReq struct {
	f    p9.File
	done chan struct{}
}

// flushClunks waits until every clunk queued so far has been answered.
func (m *remote) flushClunks() {
	m.cmu.Lock()
	if m.closed {
		m.cmu.Unlock()
		return
	}
	done := make(chan struct{})
	m.closer <- clunkReq{done: done}
	m.cmu.Unlock()
	<-done
}

func (m *remote) closeLoop() {
	defer close(m.closerDone)
	for r := range m.closer {
		if r.f != nil {
			r.f.Close()
		}
		if r.done != nil {
			close(r.done)
		}
	}
}

// clunk gives fids back to the server, asynchronously.
func (m *remote) clunk(fs []p9.File) {
	m.cmu.Lock()
	if !m.closed {
		// Sent under cmu: Unmount closes the channel only after setting
		// closed under it. closeLoop needs no lock to drain it.
		for _, f := range fs {
			if f != nil {
				m.closer <- clunkReq{f: f}
			}
		}
		m.cmu.Unlock()
		return
	}
	m.cmu.Unlock()
	for _, f := range fs {
		if f != nil {
			f.Close()
		}
	}
}

// changed forgets every cached name and attribute: called after each
// change made through this client.
func (m *remote) changed() {
	m.cmu.Lock()
	m.gen++
	m.cmu.Unlock()
}

func (m *remote) Root() (vfs.Vnode, error) {
	m.root.ref()
	return m.root, nil
}

func (m *remote) Statfs() (vfs.StatFS, error) {
	s, err := m.root.f.StatFS()
	if err != nil {
		return vfs.StatFS{}, cerr(err)
	}
	return vfs.StatFS{Bsize: s.BlockSize, Frsize: s.BlockSize, Blocks: s.Blocks, Bfree: s.BlocksFree,
		Bavail: s.BlocksAvailable, Files: s.Files, Ffree: s.FilesFree, Namemax: s.NameLength}, nil
}

func (m *remote) Sync() error    { return nil } // every write is sent at once
func (m *remote) ReadOnly() bool { return m.ro }
func (m *remote) Info() vfs.Info {
	return vfs.Info{Type: "9p", Clean: true, Extra: []vfs.KV{{Key: "export", Value: m.spec}}}
}

func (m *remote) Unmount() error {
	m.cmu.Lock()
	m.closed = true
	m.cmu.Unlock()
	m.prefetchWG.Wait()
	close(m.stopSweep)
	close(m.closer)
	<-m.closerDone
	// The idle nodes' fids are not clunked one by one: the server
	// clunks every fid of a connection when it ends (version(5)).
	m.root.f.Close()
	return m.c.Close()
}

// cerr converts a p9 client error to the errno the vfs boundary wants.
func cerr(err error) error {
	if err == nil {
		return nil
	}
	if err == io.EOF {
		return nil
	}
	if e := linux.ExtractErrno(err); e != 0 {
		return syscall.Errno(e)
	}
	return syscall.EIO
}

// rnode is one remote file: a walked (unopened) fid, plus fids opened for
// reading and writing when first needed.
type rnode struct {
	m      *remote
	f      p9.File
	parent *rnode // for ".." (9P walks never carry it: the client resolves)
	name   string // its name in parent.kids; "" once it is no longer there
	dir    bool

	// Guarded by m.cmu.
	refs    int // references given out, plus one per child (for "..")
	kids    map[string]*rnode
	loading map[string]chan struct{} // names being prefetched
	idleEl  *clist.Element
	lookGen uint64 // gen and time of the walk that found it
	lookAt  time.Time
	attrOK  bool
	attr    vfs.Attr
	attrGen uint64
	attrAt  time.Time

	mu     sync.Mutex // guards rf, wf
	rf, wf p9.File
}

func (n *rnode) ref() {
	n.m.cmu.Lock()
	n.refs++
	n.m.cmu.Unlock()
}

// fresh says whether what was learnt at (gen, at) may still be used;
// m.cmu held.
func (m *remote) fresh(gen uint64, at time.Time) bool {
	return gen == m.gen && time.Since(at) < cacheTTL
}

func (n *rnode) Rele() {
	m := n.m
	m.cmu.Lock()
	fs := m.release(n)
	m.cmu.Unlock()
	m.clunk(fs)
}

// release drops one reference to n; a directory still named in its
// parent goes on the idle list (the oldest there beyond maxIdleDirs is
// dropped), anything else is dropped. It returns the fids to clunk;
// m.cmu held.
func (m *remote) release(n *rnode) []p9.File {
	var fs []p9.File
	n.refs--
	if n.refs > 0 || n == m.root {
		return nil
	}
	if n.name != "" && !m.closed && m.fresh(n.lookGen, n.lookAt) {
		// Kept for its name and attributes; opened fids go back now.
		n.mu.Lock()
		fs = append(fs, n.rf, n.wf)
		n.rf, n.wf = nil, nil
		n.mu.Unlock()
		n.idleEl = m.idle.PushBack(n)
		for m.idle.Len() > maxIdle {
			fs = append(fs, m.drop(m.idle.Front().Value.(*rnode))...)
		}
		return fs
	}
	return m.drop(n)
}

// drop forgets an unreferenced node: out of its parent's names and the
// idle list, its fids returned for clunking, its parent released.
func (m *remote) drop(n *rnode) []p9.File {
	if n.idleEl != nil {
		m.idle.Remove(n.idleEl)
		n.idleEl = nil
	}
	m.unname(n)
	n.mu.Lock()
	fs := []p9.File{n.f, n.rf, n.wf}
	n.rf, n.wf = nil, nil
	n.mu.Unlock()
	if n.parent != n {
		fs = append(fs, m.release(n.parent)...)
	}
	return fs
}

// unname takes n out of its parent's names; m.cmu held.
func (m *remote) unname(n *rnode) {
	if n.name != "" && n.parent.kids[n.name] == n {
		delete(n.parent.kids, n.name)
	}
	n.name = ""
}

func (n *rnode) Getattr() (vfs.Attr, error) {
	m := n.m
	m.cmu.Lock()
	if n.attrOK && m.fresh(n.attrGen, n.attrAt) {
		a := n.attr
		m.cmu.Unlock()
		return a, nil
	}
	gen := m.gen
	m.cmu.Unlock()
	q, _, a, err := n.f.GetAttr(p9.AttrMaskAll)
	if err != nil {
		return vfs.Attr{}, cerr(err)
	}
	va := vattr(q, a)
	m.cmu.Lock()
	n.attrOK, n.attr, n.attrGen, n.attrAt = true, va, gen, time.Now()
	m.cmu.Unlock()
	return va, nil
}

func vattr(q p9.QID, a p9.Attr) vfs.Attr {
	return vfs.Attr{
		Ino: q.Path, Gen: a.Gen, Mode: uint32(a.Mode), Nlink: uint32(a.NLink), Uid: uint32(a.UID), Gid: uint32(a.GID),
		Rdev: uint64(a.RDev), Size: a.Size, Blocks: a.Blocks, Blksize: uint32(a.BlockSize),
		Atime: ttime(a.ATimeSeconds, a.ATimeNanoSeconds), Mtime: ttime(a.MTimeSeconds, a.MTimeNanoSeconds),
		Ctime: ttime(a.CTimeSeconds, a.CTimeNanoSeconds), Btime: ttime(a.BTimeSeconds, a.BTimeNanoSeconds),
	}
}

func ttime(s, ns uint64) time.Time {
	if s == 0 && ns == 0 {
		return time.Time{}
	}
	return time.Unix(int64(s), int64(ns))
}

// Lookup walks to name with one Twalkgetattr (walk and attributes in one
// round trip), or reuses a fresh earlier walk.
func (n *rnode) Lookup(name string) (vfs.Vnode, error) {
	m := n.m
	switch name {
	case ".":
		n.ref()
		return n, nil
	case "..":
		n.parent.ref()
		return n.parent, nil
	}
	m.cmu.Lock()
	if ch := n.loading[name]; ch != nil {
		// Being prefetched: its walk is already on the wire.
		m.cmu.Unlock()
		<-ch
		m.cmu.Lock()
	}
	var fs []p9.File
	if k := n.kids[name]; k != nil {
		if m.fresh(k.lookGen, k.lookAt) {
			if k.idleEl != nil {
				m.idle.Remove(k.idleEl)
				k.idleEl = nil
			}
			k.refs++
			m.cmu.Unlock()
			return k, nil
		}
		if k.idleEl != nil {
			fs = m.drop(k)
		} else {
			m.unname(k)
		}
	}
	gen := m.gen
	m.cmu.Unlock()
	m.clunk(fs)
	qids, f, _, a, err := n.f.WalkGetAttr([]string{name})
	if err != nil {
		return nil, cerr(err)
	}
	m.cmu.Lock()
	c, fs := n.adopt(name, qids, f, a, gen, 1)
	m.cmu.Unlock()
	m.clunk(fs)
	return c, nil
}

// adopt makes the node for a walk of name from n (learnt at gen) with
// refs references, in n's names in place of any earlier one; an
// unreferenced one goes on the idle list. m.cmu held; it returns fids
// to clunk.
func (n *rnode) adopt(name string, qids []p9.QID, f p9.File, a p9.Attr, gen uint64, refs int) (*rnode, []p9.File) {
	m := n.m
	now := time.Now()
	q := p9.QID{}
	if len(qids) > 0 {
		q = qids[len(qids)-1]
	}
	c := &rnode{m: m, f: f, parent: n, refs: refs, dir: a.Mode.IsDir(), lookGen: gen, lookAt: now,
		attrOK: true, attr: vattr(q, a), attrGen: gen, attrAt: now}
	var fs []p9.File
	n.refs++ // the child holds its parent, for ".."
	if old := n.kids[name]; old != nil {
		if old.idleEl != nil {
			fs = m.drop(old)
		} else {
			m.unname(old)
		}
	}
	if n.kids == nil {
		n.kids = map[string]*rnode{}
	}
	c.name = name
	n.kids[name] = c
	if refs == 0 {
		c.refs = 1
		fs = append(fs, m.release(c)...)
	}
	return c, fs
}

// prefetch walks names of directory n in the background, maxPrefetch at
// a time, leaving each on the idle list for the Lookup that follows.
func (n *rnode) prefetch(names []string) {
	m := n.m
	if len(names) > maxPrefetchNames {
		names = names[:maxPrefetchNames]
	}
	m.cmu.Lock()
	if m.closed {
		m.cmu.Unlock()
		return
	}
	var todo []string
	var chans []chan struct{}
	for _, name := range names {
		if k := n.kids[name]; (k != nil && m.fresh(k.lookGen, k.lookAt)) || n.loading[name] != nil {
			continue
		}
		if n.loading == nil {
			n.loading = map[string]chan struct{}{}
		}
		ch := make(chan struct{})
		n.loading[name] = ch
		todo = append(todo, name)
		chans = append(chans, ch)
	}
	if len(todo) == 0 {
		m.cmu.Unlock()
		return
	}
	n.refs++ // held until the last prefetch is done
	gen := m.gen
	m.prefetchWG.Add(1)
	m.cmu.Unlock()
	go func() {
		defer m.prefetchWG.Done()
		var wg sync.WaitGroup
		for i, name := range todo {
			m.prefetchSem <- struct{}{}
			wg.Add(1)
			go func(name string, ch chan struct{}) {
				defer wg.Done()
				qids, f, _, a, err := n.f.WalkGetAttr([]string{name})
				<-m.prefetchSem
				m.cmu.Lock()
				var fs []p9.File
				if err == nil {
					if m.closed || gen != m.gen {
						fs = []p9.File{f} // outdated before it arrived
					} else {
						_, fs = n.adopt(name, qids, f, a, gen, 0)
					}
				}
				delete(n.loading, name)
				close(ch)
				m.cmu.Unlock()
				m.clunk(fs)
			}(name, chans[i])
		}
		wg.Wait()
		m.cmu.Lock()
		fs := m.release(n)
		m.cmu.Unlock()
		m.clunk(fs)
	}()
}

func (n *rnode) Readdir(cookie uint64, fn func(vfs.Dirent) bool) error {
	_, d, err := n.f.Walk(nil)
	if err != nil {
		return cerr(err)
	}
	defer n.m.clunk([]p9.File{d})
	if _, _, err := d.Open(p9.ReadOnly); err != nil {
		return cerr(err)
	}
	// The names handed out are walked in the background: whoever lists a
	// directory usually stats its names next (ls -l, find, du, tar).
	var names []string
	defer func() { n.prefetch(names) }()
	for {
		ents, err := d.Readdir(cookie, 64<<10)
		if err != nil {
			return cerr(err)
		}
		if len(ents) == 0 {
			return nil
		}
		for _, e := range ents {
			if !fn(vfs.Dirent{Name: e.Name, Ino: e.QID.Path, Type: uint8(e.Type), Next: e.Offset}) {
				return nil
			}
			if e.Name != "." && e.Name != ".." {
				names = append(names, e.Name)
			}
			cookie = e.Offset
		}
	}
}

// opened returns the fid opened for reading (write false) or writing.
func (n *rnode) opened(write bool) (p9.File, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !write && n.rf != nil {
		return n.rf, nil
	}
	if write && n.wf != nil {
		return n.wf, nil
	}
	_, f, err := n.f.Walk(nil)
	if err != nil {
		return nil, cerr(err)
	}
	mode := p9.ReadOnly
	if write {
		mode = p9.WriteOnly
	}
	if _, _, err := f.Open(mode); err != nil {
		f.Close()
		return nil, cerr(err)
	}
	if write {
		n.wf = f
	} else {
		n.rf = f
	}
	return f, nil
}

func (n *rnode) Read(p []byte, off int64) (int, error) {
	f, err := n.opened(false)
	if err != nil {
		return 0, err
	}
	done := 0
	for done < len(p) {
		k, err := f.ReadAt(p[done:], off+int64(done))
		done += k
		if err == io.EOF || (err == nil && k == 0) {
			break
		}
		if err != nil {
			return done, cerr(err)
		}
	}
	return done, nil
}

func (n *rnode) Write(p []byte, off int64) (int, error) {
	defer n.m.changed()
	f, err := n.opened(true)
	if err != nil {
		return 0, err
	}
	done := 0
	for done < len(p) {
		k, err := f.WriteAt(p[done:], off+int64(done))
		done += k
		if err != nil {
			return done, cerr(err)
		}
		if k == 0 {
			return done, syscall.EIO
		}
	}
	return done, nil
}

func (n *rnode) Readlink() (string, error) {
	s, err := n.f.Readlink()
	return s, cerr(err)
}

func (n *rnode) Setattr(sa *vfs.SetAttr) error {
	var v p9.SetAttrMask
	var a p9.SetAttr
	if sa.Valid&vfs.SetMode != 0 {
		v.Permissions, a.Permissions = true, p9.FileMode(sa.Mode)
	}
	if sa.Valid&vfs.SetUid != 0 {
		v.UID, a.UID = true, p9.UID(sa.Uid)
	}
	if sa.Valid&vfs.SetGid != 0 {
		v.GID, a.GID = true, p9.GID(sa.Gid)
	}
	if sa.Valid&vfs.SetSize != 0 {
		v.Size, a.Size = true, sa.Size
	}
	if sa.Valid&vfs.SetAtime != 0 {
		v.ATime, v.ATimeNotSystemTime = true, true
		a.ATimeSeconds, a.ATimeNanoSeconds = uint64(sa.Atime.Unix()), uint64(sa.Atime.Nanosecond())
	}
	if sa.Valid&vfs.SetMtime != 0 {
		v.MTime, v.MTimeNotSystemTime = true, true
		a.MTimeSeconds, a.MTimeNanoSeconds = uint64(sa.Mtime.Unix()), uint64(sa.Mtime.Nanosecond())
	}
	if sa.Valid&vfs.SetFlags != 0 && sa.Flags != 0 {
		return syscall.EOPNOTSUPP // 9P2000.L carries no BSD flags
	}
	defer n.m.changed()
	return cerr(n.f.SetAttr(v, a))
}

// walkNew gives the vnode of a name just made in directory n.
func (n *rnode) walkNew(name string, err error) (vfs.Vnode, error) {
	n.m.changed()
	if err != nil {
		return nil, cerr(err)
	}
	return n.Lookup(name)
}

func (n *rnode) Create(cred *vfs.Cred, name string, mode uint32) (vfs.Vnode, error) {
	_, d, err := n.f.Walk(nil)
	if err != nil {
		return nil, cerr(err)
	}
	// A client-side Create turns d into the new, open file: keep it as the
	// new vnode's write fid.
	nf, _, _, err := d.Create(name, p9.WriteOnly, p9.FileMode(mode&07777), p9.NoUID, p9.GID(cred.Gid))
	if err != nil {
		d.Close()
		n.m.changed()
		return nil, cerr(err)
	}
	n.m.changed()
	vn, err := n.Lookup(name)
	if err != nil {
		nf.Close()
		return nil, err
	}
	r := vn.(*rnode)
	r.mu.Lock()
	r.wf = nf
	r.mu.Unlock()
	return r, nil
}

func (n *rnode) Mkdir(cred *vfs.Cred, name string, mode uint32) (vfs.Vnode, error) {
	_, err := n.f.Mkdir(name, p9.FileMode(mode&07777), p9.NoUID, p9.GID(cred.Gid))
	return n.walkNew(name, err)
}

func (n *rnode) Mknod(cred *vfs.Cred, name string, mode uint32, rdev uint64) (vfs.Vnode, error) {
	major := uint32((rdev>>8)&0xfff | (rdev>>32)&^0xfff)
	minor := uint32(rdev&0xff | (rdev>>12)&^0xff)
	_, err := n.f.Mknod(name, p9.FileMode(mode), major, minor, p9.NoUID, p9.GID(cred.Gid))
	return n.walkNew(name, err)
}

func (n *rnode) Symlink(cred *vfs.Cred, name, target string) (vfs.Vnode, error) {
	_, err := n.f.Symlink(target, name, p9.NoUID, p9.GID(cred.Gid))
	return n.walkNew(name, err)
}

func (n *rnode) Link(name string, target vfs.Vnode) error {
	t, ok := target.(*rnode)
	if !ok || t.m != n.m {
		return syscall.EXDEV
	}
	defer n.m.changed()
	return cerr(n.f.Link(t.f, name))
}

func (n *rnode) Remove(name string) error {
	n.forget(name)
	defer n.m.changed()
	return cerr(n.f.UnlinkAt(name, 0))
}

func (n *rnode) Rmdir(name string) error {
	n.forget(name)
	defer n.m.changed()
	return cerr(n.f.UnlinkAt(name, atRemoveDir))
}

// forget drops the idle node of name before it is unlinked or renamed
// over, clunking its fid first: a fid kept only for the cache must not
// keep the server from freeing the file.
func (n *rnode) forget(name string) {
	m := n.m
	m.cmu.Lock()
	if ch := n.loading[name]; ch != nil {
		// A prefetch of it is on the wire: let it land first.
		m.cmu.Unlock()
		<-ch
		m.cmu.Lock()
	}
	var fs []p9.File
	if k := n.kids[name]; k != nil {
		if k.idleEl != nil {
			fs = m.drop(k)
		} else {
			m.unname(k)
		}
	}
	m.cmu.Unlock()
	for _, f := range fs {
		if f != nil {
			f.Close()
		}
	}
	// Clunks queued earlier (a released node's opened fids) may be of
	// this file too.
	m.flushClunks()
}

func (n *rnode) Rename(oldName string, newDir vfs.Vnode, newName string) error {
	d, ok := newDir.(*rnode)
	if !ok || d.m != n.m {
		return syscall.EXDEV
	}
	n.forget(oldName)
	d.forget(newName)
	defer n.m.changed()
	return cerr(n.f.RenameAt(oldName, d.f, newName))
}

func (n *rnode) Fsync(dataOnly bool) error {
	n.mu.Lock()
	f := n.wf
	n.mu.Unlock()
	if f == nil {
		return nil
	}
	return cerr(f.FSync())
}
