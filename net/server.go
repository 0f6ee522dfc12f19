// Package ninep exports a mounted file system (any vfs.Mount) over
// 9P2000.L, the protocol the Linux kernel (mount -t 9p), QEMU, gVisor and
// WSL speak: NetBSD's rump kernels reach remote clients through rumpclient;
// rumpfs uses an existing wire protocol instead of a home-made one.
//
// The directory is net/ (DESIGN.md) but the package is named ninep: a
// package called net would shadow the standard library's net, which this
// package and most of its callers import too.
//
// The wire protocol is github.com/hugelgupf/p9 (gVisor's 9P server). Every
// fid holds one vnode reference, given back on clunk and when the client's
// connection ends. Changes are serialised by one writer lock per export, as
// p2k does for FUSE; reads share it. Permissions are checked with
// vfs.Access against the connection's user, after the export's uid map and
// squashing (NFS exports' root_squash, all_squash, anonuid).
package ninep

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hugelgupf/p9/p9"

	"github.com/rumpfs/rumpfs/vfs"
)

// Squash says whose requests are mapped to the anonymous user, as the
// root_squash / all_squash / no_root_squash options of exports(5).
type Squash int

const (
	SquashDefault Squash = iota // root on TCP, none on a unix socket
	SquashNone
	SquashRoot
	SquashAll
)

// Options tune one export.
type Options struct {
	// ReadOnly refuses every change with EROFS, whatever the mount allows.
	ReadOnly bool
	Squash   Squash
	// AnonUID/AnonGID are who squashed users become (default 65534,
	// "nobody", as NFS's anonuid).
	AnonUID, AnonGID *uint32
	// UIDMap maps client uids to server uids before squashing; GIDMap the
	// same for gids.
	UIDMap, GIDMap map[uint32]uint32
	// Logf, if set, reports connection errors.
	Logf func(format string, args ...any)
	// Now is the clock for utimes-to-now; nil means time.Now.
	Now func() time.Time
	// Lock, if set, is the mount's writer lock shared with another front
	// (p2k's FUSE bridge, p2k.Config.Lock) serving the same mount.
	Lock *sync.RWMutex
}

// export is one exported mount shared by all its connections.
type export struct {
	m    vfs.Mount
	opts Options

	lock   *sync.RWMutex
	closed bool

	wg    sync.WaitGroup
	cmu   sync.Mutex
	conns map[*conn]struct{}
}

func (ex *export) readOnly() bool { return ex.opts.ReadOnly || ex.m.ReadOnly() }

func (ex *export) now() time.Time {
	if ex.opts.Now != nil {
		return ex.opts.Now()
	}
	return time.Now()
}

func (ex *export) rlock() bool {
	ex.lock.RLock()
	if ex.closed {
		ex.lock.RUnlock()
		return false
	}
	return true
}

func (ex *export) runlock() { ex.lock.RUnlock() }

func (ex *export) wlock() bool {
	ex.lock.Lock()
	if ex.closed {
		ex.lock.Unlock()
		return false
	}
	return true
}

// wlockForce takes the writer lock even after shutdown: giving back
// references must still happen.
func (ex *export) wlockForce() { ex.lock.Lock() }

func (ex *export) wunlock() { ex.lock.Unlock() }

func (ex *export) logf(format string, args ...any) {
	if ex.opts.Logf != nil {
		ex.opts.Logf(format, args...)
	}
}

func (ex *export) squash(tcp bool) Squash {
	if ex.opts.Squash != SquashDefault {
		return ex.opts.Squash
	}
	if tcp {
		return SquashRoot
	}
	return SquashNone
}

func (ex *export) anon() (uint32, uint32) {
	u, g := uint32(65534), uint32(65534)
	if ex.opts.AnonUID != nil {
		u = *ex.opts.AnonUID
	}
	if ex.opts.AnonGID != nil {
		g = *ex.opts.AnonGID
	}
	return u, g
}

// conn is one client connection.
type conn struct {
	ex *export
	// peerUID/peerGID: SO_PEERCRED of a unix-socket client, used when the
	// client names no user in Tattach; -1 when unknown.
	peerUID, peerGID int64
	tcp              bool

	mu     sync.Mutex
	uids   []uint32 // n_uname of Tattach messages read, not yet attached
	c      *vfs.Cred
	squash bool // this connection's user was squashed
	files  int
}

func (c *conn) track(d int) {
	c.mu.Lock()
	c.files += d
	c.mu.Unlock()
}

// cred is the connection's credential, set at attach.
func (c *conn) cred() *vfs.Cred {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c == nil {
		u, g := c.ex.anon()
		return &vfs.Cred{Uid: u, Gid: g}
	}
	return c.c
}

func (c *conn) mapGid(gid uint32) uint32 {
	c.mu.Lock()
	sq := c.squash
	c.mu.Unlock()
	if sq {
		_, g := c.ex.anon()
		return g
	}
	if v, ok := c.ex.opts.GIDMap[gid]; ok {
		return v
	}
	return gid
}

// Attach implements p9.Attacher: the export's root, as the user of the
// Tattach just read (or the socket's peer, or the anonymous user).
func (c *conn) Attach() (p9.File, error) {
	ex := c.ex
	c.mu.Lock()
	uid, gid := uint32(p9.NoUID), uint32(p9.NoUID)
	if len(c.uids) > 0 {
		uid = c.uids[0]
		c.uids = c.uids[1:]
	}
	if uid == uint32(p9.NoUID) && c.peerUID >= 0 {
		uid, gid = uint32(c.peerUID), uint32(c.peerGID)
	}
	au, ag := ex.anon()
	if v, ok := ex.opts.UIDMap[uid]; ok {
		uid = v
	}
	if v, ok := ex.opts.GIDMap[gid]; ok {
		gid = v
	}
	sq := false
	switch {
	case uid == uint32(p9.NoUID):
		sq = true
	case ex.squash(c.tcp) == SquashAll:
		sq = true
	case ex.squash(c.tcp) == SquashRoot && uid == 0:
		sq = true
	}
	if sq {
		uid, gid = au, ag
	}
	if gid == uint32(p9.NoUID) {
		gid = ag
	}
	c.c = &vfs.Cred{Uid: uid, Gid: gid}
	c.squash = sq
	c.mu.Unlock()

	if !ex.wlock() {
		return nil, syscall.EIO
	}
	defer ex.wunlock()
	root, err := ex.m.Root()
	if err != nil {
		return nil, errno(err)
	}
	c.track(1)
	return &file{c: c, ref: &vref{vn: root, n: 1}, vn: root, isRoot: true}, nil
}

// sniffer passes a connection's bytes to the p9 server while picking the
// n_uname out of each Tattach: p9's Attacher is not told who attaches.
// It follows the 9P framing (size[4] type[1] tag[2] ...) and never trusts
// a size: oversized frames are skipped, not buffered.
type sniffer struct {
	r io.Reader
	w *firstWrite
	c *conn
	// frames counts complete frames; versionPending is set once the
	// first frame, a Tversion, has been read and not yet answered.
	frames         int
	versionPending bool
	hdr            []byte // bytes of the current frame kept (at most maxKeep)
	left           int64  // bytes of the current frame still to come; 0 between frames

	// barrier is set after a barrier request (see fidBarrier) has been
	// handed to p9: nothing more is read until it has been answered.
	// xattrFids are the fids with a Txattrcreate pending, xattrAll is
	// set when there were too many to track.
	barrier   bool
	xattrFids map[uint32]bool
	xattrAll  bool
}

const (
	msgTversion     = 100
	msgTattach      = 104
	msgTlopen       = 12
	msgTxattrcreate = 32
	msgTwrite       = 118
	msgTclunk       = 120
	maxKeep         = 4096 // a Tattach: 4+1+2+4+4+2+uname+2+aname+4, names bounded by us
	maxXattrFids    = 1024
)

// barrierWait bounds a barrier's wait for the replies to the requests
// before it: p9 sends none for a request whose tag is already in flight,
// and answers one it cannot decode with the tag NOTAG instead of its own
// (both from broken clients), and the connection must not stall for
// ever on them.
var barrierWait = 10 * time.Second

func (s *sniffer) Read(p []byte) (int, error) {
	if s.versionPending {
		// p9 v0.3.0 resets per-connection state in its Tversion
		// handler while other requests of the same connection may run:
		// no request is read until Rversion has gone out (clients wait
		// for it anyway, as version(5) says).
		select {
		case <-s.w.done:
		case <-time.After(10 * time.Second):
			return 0, errVersionOrder
		}
		s.versionPending = false
	}
	if s.barrier {
		s.drain()
		s.barrier = false
	}
	// A read never crosses a frame boundary (p9 reads frame by frame
	// anyway), so that nothing after a barrier request reaches p9
	// before that request's reply.
	if s.left > 0 && int64(len(p)) > s.left {
		p = p[:s.left]
	} else if s.left == 0 && len(p) > 4-len(s.hdr) {
		p = p[:4-len(s.hdr)]
	}
	n, err := s.r.Read(p)
	if s.feed(p[:n]) {
		return 0, errVersionOrder
	}
	if err != nil && n == 0 {
		// p9 v0.3.0 starts a new receiving goroutine (which then joins
		// its pending WaitGroup) after each message; if the connection
		// ends at once, Handle may already wait on that group. Holding
		// the end back briefly lets such goroutines register first
		// (otherwise Add races with Wait: harmless, since the late
		// goroutine finds the connection shut down, but the race
		// detector reports it). The client is gone; nobody waits.
		for i := 0; i < 10; i++ {
			runtime.Gosched()
		}
		time.Sleep(disconnectGrace)
	}
	return n, err
}

// disconnectGrace is how long a connection's end is held back (see
// sniffer.Read).
var disconnectGrace = 100 * time.Millisecond

// feed follows the framing; it reports a Tversion that is not the
// connection's first message, which ends the connection: version(5)
// aborts everything outstanding, which p9 v0.3.0 cannot do safely.
func (s *sniffer) feed(b []byte) (bad bool) {
	for len(b) > 0 {
		if s.left == 0 {
			// Gathering the 4-byte size of a new frame.
			need := 4 - len(s.hdr)
			if need > len(b) {
				need = len(b)
			}
			s.hdr = append(s.hdr, b[:need]...)
			b = b[need:]
			if len(s.hdr) < 4 {
				return false
			}
			size := int64(binary.LittleEndian.Uint32(s.hdr))
			if size <= 4 {
				s.hdr = s.hdr[:0]
				continue // the p9 server will refuse it
			}
			s.left = size - 4
			continue
		}
		take := int64(len(b))
		if take > s.left {
			take = s.left
		}
		if room := maxKeep - len(s.hdr); room > 0 {
			k := take
			if k > int64(room) {
				k = int64(room)
			}
			s.hdr = append(s.hdr, b[:k]...)
		}
		b = b[take:]
		s.left -= take
		if len(s.hdr) >= 5 && s.hdr[4] == msgTversion && s.frames > 0 {
			return true
		}
		if s.left == 0 {
			if s.hdr[4] == msgTversion {
				s.versionPending = true
			}
			if len(s.hdr) >= 7 {
				if s.fidBarrier(s.hdr) {
					s.drain()
					s.barrier = true
				}
				s.w.sent(binary.LittleEndian.Uint16(s.hdr[5:7]))
			}
			s.frame(s.hdr)
			s.hdr = s.hdr[:0]
			s.frames++
		}
	}
	return false
}

var errVersionOrder = errors.New("9p: Tversion is only allowed as a connection's first message")

// fidBarrier reports whether request f is a barrier: one that p9 v0.3.0
// must handle alone, because its handler changes the fid's state outside
// the fid's lock. Pipelined requests on one fid otherwise race in p9 (the
// race detector shows it: TestPipelinedOneFid):
//
//   - Tlopen's handler sets the fid's opened flag and open mode after
//     its locked section, while Tread, Twrite and Treaddir of the same
//     fid read them under the fid's lock, and two pipelined Tlopens of a
//     fid can both pass the "already open" check;
//   - Twrite to a fid with a Txattrcreate pending appends to the
//     pending value under the fid's read lock only, as does Tclunk
//     (which then sets the attribute) when reading it.
//
// A barrier is handed to p9 only once every earlier request of the
// connection has been answered, and nothing after it until it has been.
// The barrier is per connection, not per fid (telling fids apart would
// mean decoding every message type): it costs a pipelining client a
// round trip per open. Other connections are not held.
func (s *sniffer) fidBarrier(f []byte) bool {
	if len(f) < 11 || !wellFormed(f) {
		// p9 answers a frame it cannot decode with the tag NOTAG, and
		// runs no handler for it: no barrier, which would wait for a
		// reply with the frame's tag.
		return false
	}
	fid := binary.LittleEndian.Uint32(f[7:11])
	switch f[4] {
	case msgTlopen:
		return true
	case msgTxattrcreate:
		if len(s.xattrFids) >= maxXattrFids {
			s.xattrAll = true
		} else {
			if s.xattrFids == nil {
				s.xattrFids = map[uint32]bool{}
			}
			s.xattrFids[fid] = true
		}
		return true
	case msgTwrite:
		return s.xattrAll || s.xattrFids[fid]
	case msgTclunk:
		bar := s.xattrAll || s.xattrFids[fid]
		delete(s.xattrFids, fid)
		return bar
	}
	return false
}

// wellFormed checks the size of a frame of the types fidBarrier looks at
// against their encoding (version(5)-style: Tlopen fid[4] flags[4];
// Tclunk fid[4]; Txattrcreate fid[4] name[s] attr_size[8] flags[4];
// Twrite fid[4] offset[8] count[4] data[count]). f may be cut at maxKeep
// bytes; size[4] gives the whole length.
func wellFormed(f []byte) bool {
	size := int64(binary.LittleEndian.Uint32(f[:4]))
	switch f[4] {
	case msgTlopen:
		return size == 7+8
	case msgTclunk:
		return size == 7+4
	case msgTxattrcreate:
		if len(f) < 13 {
			return false
		}
		return size == 7+4+2+int64(binary.LittleEndian.Uint16(f[11:13]))+8+4
	case msgTwrite:
		if len(f) < 23 {
			return false
		}
		return size == 7+4+8+4+int64(binary.LittleEndian.Uint32(f[19:23]))
	}
	return true
}

// drain waits until every request handed to p9 has been answered, or
// the connection's writes fail, or barrierWait has passed (p9 answers no
// request whose tag is already in flight: a broken client must not stall
// its connection for ever).
func (s *sniffer) drain() {
	select {
	case <-s.w.idle():
	case <-s.w.dead:
	case <-time.After(barrierWait):
		s.c.ex.logf("9p: requests unanswered after %v; reading on", barrierWait)
	}
}

// firstWrite closes done at the connection's first reply, and follows
// the framing of the replies (p9 writes them one at a time, under its
// send lock) to know which requests are still unanswered.
type firstWrite struct {
	w    io.WriteCloser
	once sync.Once
	done chan struct{}

	mu       sync.Mutex
	dead     chan struct{} // closed when a write fails: nothing more is sent
	deadOnce sync.Once
	inflight map[uint16]struct{} // tags handed to p9 and not yet answered
	idleCh   chan struct{}       // closed when inflight empties
	hdr      [7]byte             // size[4] type[1] tag[2] of the reply being written
	nhdr     int
	left     int64 // bytes of the reply being written still to come
}

func newFirstWrite(w io.WriteCloser) *firstWrite {
	return &firstWrite{w: w, done: make(chan struct{}), dead: make(chan struct{}), inflight: map[uint16]struct{}{}}
}

// sent records a request handed to p9.
func (f *firstWrite) sent(tag uint16) {
	f.mu.Lock()
	f.inflight[tag] = struct{}{}
	f.mu.Unlock()
}

var closedCh = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// idle returns a channel closed once no request is unanswered.
func (f *firstWrite) idle() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.inflight) == 0 {
		return closedCh
	}
	if f.idleCh == nil {
		f.idleCh = make(chan struct{})
	}
	return f.idleCh
}

func (f *firstWrite) Write(p []byte) (int, error) {
	// Followed before it goes out: once a client has a reply it may use
	// the tag again, and the new request must not be taken for the old.
	f.follow(p)
	n, err := f.w.Write(p)
	f.once.Do(func() { close(f.done) })
	if err != nil {
		f.deadOnce.Do(func() { close(f.dead) })
	}
	return n, err
}

// follow tracks reply frames in the bytes just written.
func (f *firstWrite) follow(b []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(b) > 0 {
		if f.left > 0 {
			k := min(int64(len(b)), f.left)
			b, f.left = b[k:], f.left-k
			continue
		}
		k := copy(f.hdr[f.nhdr:], b)
		b, f.nhdr = b[k:], f.nhdr+k
		if f.nhdr < len(f.hdr) {
			return
		}
		f.nhdr = 0
		f.left = max(int64(binary.LittleEndian.Uint32(f.hdr[:4]))-int64(len(f.hdr)), 0)
		// The reply's header is out: its handler has returned, and
		// with it every change it made to its fid.
		delete(f.inflight, binary.LittleEndian.Uint16(f.hdr[5:7]))
		if len(f.inflight) == 0 && f.idleCh != nil {
			close(f.idleCh)
			f.idleCh = nil
		}
	}
}

func (f *firstWrite) Close() error { return f.w.Close() }

// frame looks at one complete (possibly truncated to maxKeep) frame.
func (s *sniffer) frame(f []byte) {
	if len(f) < 7 || f[4] != msgTattach {
		return
	}
	b := f[7:]
	if len(b) < 8 {
		return
	}
	b = b[8:]                // fid, afid
	for i := 0; i < 2; i++ { // uname, aname
		if len(b) < 2 {
			return
		}
		l := int(binary.LittleEndian.Uint16(b))
		if len(b) < 2+l {
			return
		}
		b = b[2+l:]
	}
	uid := uint32(p9.NoUID)
	if len(b) >= 4 {
		uid = binary.LittleEndian.Uint32(b)
	}
	s.c.mu.Lock()
	if len(s.c.uids) < 64 {
		s.c.uids = append(s.c.uids, uid)
	}
	s.c.mu.Unlock()
}

// Server exports one mount on any number of listeners.
type Server struct{ ex *export }

// NewServer makes a server for m, for callers that accept connections
// themselves (ServeConn).
func NewServer(m vfs.Mount, opts Options) *Server {
	return &Server{ex: newExport(m, opts)}
}

func newExport(m vfs.Mount, opts Options) *export {
	ex := &export{m: m, opts: opts, lock: opts.Lock, conns: map[*conn]struct{}{}}
	if ex.lock == nil {
		ex.lock = new(sync.RWMutex)
	}
	return ex
}

// ServeConn serves one client connection until it ends. tcp says whether
// the client is remote (root is squashed by default).
func (s *Server) ServeConn(nc io.ReadWriteCloser, tcp bool) {
	ex := s.ex
	c := &conn{ex: ex, peerUID: -1, peerGID: -1, tcp: tcp}
	if uc, ok := nc.(*net.UnixConn); ok {
		if cred := peerCred(uc); cred != nil {
			c.peerUID, c.peerGID = int64(cred.Uid), int64(cred.Gid)
		}
	}
	ex.cmu.Lock()
	ex.conns[c] = struct{}{}
	ex.cmu.Unlock()
	defer func() {
		ex.cmu.Lock()
		delete(ex.conns, c)
		ex.cmu.Unlock()
	}()
	srv := p9.NewServer(c)
	// Handle returns once the connection is gone and every fid of it has
	// been clunked (p9's connState.stop), so all references are back.
	defer func() {
		if r := recover(); r != nil {
			ex.logf("9p: connection ended by a fault: %v", r)
			nc.Close()
		}
	}()
	fw := newFirstWrite(nc)
	srv.Handle(&readCloser{&sniffer{r: nc, w: fw, c: c}, nc}, fw)
}

type readCloser struct {
	io.Reader
	io.Closer
}

func peerCred(uc *net.UnixConn) *syscall.Ucred {
	raw, err := uc.SyscallConn()
	if err != nil {
		return nil
	}
	var cred *syscall.Ucred
	raw.Control(func(fd uintptr) {
		cred, _ = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	})
	return cred
}

// ParseAddr splits a --serve address: unix:///path/sock, tcp://host:port,
// tcp://:port or a bare port (loopback only, as the safety rule).
func ParseAddr(addr string) (network, address string, err error) {
	switch {
	case strings.HasPrefix(addr, "unix://"):
		p := strings.TrimPrefix(addr, "unix://")
		if p == "" {
			return "", "", fmt.Errorf("%s: no socket path", addr)
		}
		return "unix", p, nil
	case strings.HasPrefix(addr, "tcp://"):
		u, err := url.Parse(addr)
		if err != nil {
			return "", "", fmt.Errorf("%s: %v", addr, err)
		}
		host, port := u.Hostname(), u.Port()
		if port == "" {
			return "", "", fmt.Errorf("%s: no port", addr)
		}
		if host == "" {
			host = "127.0.0.1"
		}
		return "tcp", net.JoinHostPort(host, port), nil
	}
	if _, err := fmt.Sscanf(addr, "%d", new(int)); err == nil && !strings.ContainsAny(addr, ":/") {
		return "tcp", net.JoinHostPort("127.0.0.1", addr), nil
	}
	return "", "", fmt.Errorf("%s: want unix:///path or tcp://host:port", addr)
}

// Listen opens the listener for addr. A unix socket is created mode 0600
// (only its owner may connect); a stale socket file is replaced.
func Listen(addr string) (net.Listener, error) {
	network, a, err := ParseAddr(addr)
	if err != nil {
		return nil, err
	}
	if network == "unix" {
		if fi, err := os.Lstat(a); err == nil && fi.Mode()&os.ModeSocket != 0 {
			os.Remove(a)
		}
		old := syscall.Umask(0177)
		l, err := net.Listen("unix", a)
		syscall.Umask(old)
		if err != nil {
			return nil, err
		}
		if err := os.Chmod(a, 0600); err != nil {
			l.Close()
			return nil, err
		}
		return l, nil
	}
	return net.Listen(network, a)
}

// Serve exports m on addr until ctx ends, then closes every connection
// and returns once each has given back its vnode references; the caller
// then syncs and unmounts m.
func Serve(ctx context.Context, addr string, m vfs.Mount, opts Options) error {
	l, err := Listen(addr)
	if err != nil {
		return err
	}
	return ServeListener(ctx, l, m, opts)
}

// ServeListener is Serve on a listener the caller opened.
func ServeListener(ctx context.Context, l net.Listener, m vfs.Mount, opts Options) error {
	s := NewServer(m, opts)
	_, tcp := l.Addr().(*net.TCPAddr)
	var wg sync.WaitGroup
	var mu sync.Mutex
	open := map[net.Conn]struct{}{}
	stop := context.AfterFunc(ctx, func() {
		l.Close()
		mu.Lock()
		for c := range open {
			c.Close()
		}
		mu.Unlock()
	})
	defer stop()
	var result error
	for {
		nc, err := l.Accept()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				result = err
			}
			break
		}
		mu.Lock()
		if ctx.Err() != nil {
			mu.Unlock()
			nc.Close()
			break
		}
		open[nc] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.ServeConn(nc, tcp)
			nc.Close()
			mu.Lock()
			delete(open, nc)
			mu.Unlock()
		}()
	}
	l.Close()
	mu.Lock()
	for c := range open {
		c.Close()
	}
	mu.Unlock()
	wg.Wait()
	if ua, ok := l.Addr().(*net.UnixAddr); ok {
		os.Remove(ua.Name)
	}
	return result
}
