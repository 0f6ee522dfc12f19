package ninep

import (
	"encoding/binary"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rumpfs/rumpfs/internal/fixture"
	"github.com/rumpfs/rumpfs/kern"
	"github.com/rumpfs/rumpfs/vfs"
)

// 9P2000.L message types of the xattr calls (Linux net/9p, diod's
// protocol.md), which p9's client does not offer.
const (
	tXattrwalk   = 30
	rXattrwalk   = 31
	tXattrcreate = 32
	rXattrcreate = 33
	rLerror      = 7
	rRead        = 117
	rWrite       = 119
	rClunk       = 121
	rWalk        = 111
	rVersion     = 101
	rAttach      = 105

	xattrReplace = 2 // XATTR_REPLACE; with size 0 it is removexattr (Linux v9fs_xattr_set)
)

// rawConn speaks 9P frames over a socket, by hand.
type rawConn struct {
	t  *testing.T
	nc net.Conn
}

func (c *rawConn) send(frames ...[]byte) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	for _, f := range frames {
		if _, err := c.nc.Write(f); err != nil {
			c.t.Fatalf("send: %v", err)
		}
	}
}

// recv reads one reply: its type, tag and body.
func (c *rawConn) recv() (byte, uint16, []byte) {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var hdr [7]byte
	if _, err := io.ReadFull(c.nc, hdr[:]); err != nil {
		c.t.Fatalf("recv: %v", err)
	}
	n := binary.LittleEndian.Uint32(hdr[:4])
	if n < 7 || n > 1<<20 {
		c.t.Fatalf("recv: frame size %d", n)
	}
	body := make([]byte, n-7)
	if _, err := io.ReadFull(c.nc, body); err != nil {
		c.t.Fatalf("recv: %v", err)
	}
	return hdr[4], binary.LittleEndian.Uint16(hdr[5:7]), body
}

// rpc sends one request and wants a reply of type want; an Rlerror is
// returned as its errno (0 when the reply is want).
func (c *rawConn) rpc(req []byte, want byte) ([]byte, uint32) {
	c.t.Helper()
	c.send(req)
	typ, tag, body := c.recv()
	if reqTag := binary.LittleEndian.Uint16(req[5:7]); tag != reqTag {
		c.t.Fatalf("reply tag %d to request tag %d", tag, reqTag)
	}
	if typ == rLerror && len(body) >= 4 {
		return nil, binary.LittleEndian.Uint32(body)
	}
	if typ != want {
		c.t.Fatalf("reply type %d, want %d", typ, want)
	}
	return body, 0
}

// getXattr is Linux's v9fs_xattr_get: Txattrwalk to a new fid, which
// answers the value's size, then Tread of that many bytes, then Tclunk.
// name "" lists the names, NUL-separated.
func (c *rawConn) getXattr(fid, newFid uint32, name string) (string, uint32) {
	c.t.Helper()
	body, e := c.rpc(msg(tXattrwalk, 1, fid, newFid, name), rXattrwalk)
	if e != 0 {
		return "", e
	}
	size := binary.LittleEndian.Uint64(body)
	body, e = c.rpc(msg(tRead, 2, newFid, uint64(0), uint32(size)), rRead)
	if e != 0 {
		c.t.Fatalf("read of xattr fid: errno %d", e)
	}
	n := binary.LittleEndian.Uint32(body)
	if uint64(n) != size || int(n) > len(body)-4 {
		c.t.Fatalf("xattr read: %d bytes of %d", n, size)
	}
	if _, e := c.rpc(msg(tClunk, 3, newFid), rClunk); e != 0 {
		c.t.Fatalf("clunk of xattr fid: errno %d", e)
	}
	return string(body[4 : 4+n]), 0
}

// setXattr is Linux's v9fs_xattr_set: walk a new fid to the file,
// Txattrcreate on it with the value's size and flags, Twrite the value
// (here in two pieces, sent without waiting: pipelined on one fid), and
// Tclunk, whose reply says whether the attribute was set.
func (c *rawConn) setXattr(dirFid, fid uint32, file, name, value string, flags uint32) uint32 {
	c.t.Helper()
	if _, e := c.rpc(msg(tWalk, 4, dirFid, fid, uint16(1), file), rWalk); e != 0 {
		c.t.Fatalf("walk %s: errno %d", file, e)
	}
	if _, e := c.rpc(msg(tXattrcreate, 5, fid, name, uint64(len(value)), flags), rXattrcreate); e != 0 {
		c.rpc(msg(tClunk, 6, fid), rClunk)
		return e
	}
	half := len(value) / 2
	frames := [][]byte{}
	if len(value) > 0 {
		frames = append(frames,
			msg(tWrite, 7, fid, uint64(0), uint32(half), []byte(value[:half])),
			msg(tWrite, 8, fid, uint64(half), uint32(len(value)-half), []byte(value[half:])))
	}
	frames = append(frames, msg(tClunk, 9, fid))
	c.send(frames...)
	var clunkErr uint32
	for range frames {
		typ, tag, body := c.recv()
		switch {
		case typ == rLerror && tag == 9:
			clunkErr = binary.LittleEndian.Uint32(body)
		case typ == rLerror:
			c.t.Fatalf("xattr write (tag %d): errno %d", tag, binary.LittleEndian.Uint32(body))
		case tag == 7 || tag == 8:
			if typ != rWrite {
				c.t.Fatalf("reply type %d to Twrite", typ)
			}
		case tag == 9 && typ != rClunk:
			c.t.Fatalf("reply type %d to Tclunk", typ)
		}
	}
	return clunkErr
}

// xattrs set, read, listed and removed with hand-made 9P2000.L messages
// on a served ext2 image; after unmount e2fsck -fn is clean and debugfs
// (e2fsprogs' own reader of the on-disk attribute blocks) sees exactly
// what was left.
func TestXattrRaw9P(t *testing.T) {
	fixture.Require(t, "mkfs.ext2", "e2fsck", "debugfs")
	dir := t.TempDir()
	img := filepath.Join(dir, "ext2.img")
	fixture.MkfsExt(t, img, "ext2", 16, "")
	mp, err := kern.New().Mount(img, "ext2fs", vfs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "s")
	stop := exportMount(t, mp, sock, Options{})

	// The file, made through the p9 client.
	pc, root, _ := dial(t, sock)
	writeFile(t, root, "f", []byte("data"), 0644)
	root.Close()
	pc.Close()

	nc, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := &rawConn{t: t, nc: nc}
	if _, e := c.rpc(msg(tVersion, 0xffff, uint32(65536), "9P2000.L"), rVersion); e != 0 {
		t.Fatalf("version: errno %d", e)
	}
	// n_uname 0: root (a unix socket squashes nobody by default).
	if _, e := c.rpc(msg(tAttach, 1, uint32(0), uint32(0xffffffff), "root", "", uint32(0)), rAttach); e != 0 {
		t.Fatalf("attach: errno %d", e)
	}
	if _, e := c.rpc(msg(tWalk, 1, uint32(0), uint32(1), uint16(1), "f"), rWalk); e != 0 {
		t.Fatalf("walk f: errno %d", e)
	}

	if e := c.setXattr(0, 10, "f", "user.color", "green", 0); e != 0 {
		t.Fatalf("set user.color: errno %d", e)
	}
	long := strings.Repeat("0123456789", 30)
	if e := c.setXattr(0, 11, "f", "user.shape", long, 0); e != 0 {
		t.Fatalf("set user.shape: errno %d", e)
	}
	if e := c.setXattr(0, 12, "f", "user.temp", "gone soon", 0); e != 0 {
		t.Fatalf("set user.temp: errno %d", e)
	}
	if v, e := c.getXattr(1, 20, "user.color"); e != 0 || v != "green" {
		t.Errorf("get user.color: %q errno %d", v, e)
	}
	if v, e := c.getXattr(1, 21, "user.shape"); e != 0 || v != long {
		t.Errorf("get user.shape: %d bytes, errno %d", len(v), e)
	}
	// Replacing needs the attribute to exist (XATTR_REPLACE), creating
	// needs it not to (XATTR_CREATE).
	if e := c.setXattr(0, 13, "f", "user.color", "blue", xattrReplace); e != 0 {
		t.Errorf("replace user.color: errno %d", e)
	}
	if e := c.setXattr(0, 14, "f", "user.color", "red", 1); e != 17 { // EEXIST
		t.Errorf("XATTR_CREATE of an existing name: errno %d, want EEXIST", e)
	}
	// removexattr: Txattrcreate of size 0 with XATTR_REPLACE.
	if e := c.setXattr(0, 15, "f", "user.temp", "", xattrReplace); e != 0 {
		t.Errorf("remove user.temp: errno %d", e)
	}
	if _, e := c.getXattr(1, 22, "user.temp"); e == 0 {
		t.Errorf("user.temp still readable after removal")
	}
	list, e := c.getXattr(1, 23, "")
	if e != 0 {
		t.Fatalf("list: errno %d", e)
	}
	names := strings.Split(strings.TrimRight(list, "\x00"), "\x00")
	if strings.Join(names, ",") != "user.color,user.shape" && strings.Join(names, ",") != "user.shape,user.color" {
		t.Errorf("list: %q, want user.color and user.shape", list)
	}
	if v, e := c.getXattr(1, 24, "user.color"); e != 0 || v != "blue" {
		t.Errorf("get user.color after replace: %q errno %d", v, e)
	}
	c.rpc(msg(tClunk, 1, uint32(1)), rClunk)
	c.rpc(msg(tClunk, 1, uint32(0)), rClunk)
	nc.Close()
	stop()

	fixture.E2fsck(t, img)
	out, err := exec.Command("debugfs", "-R", "ea_list /f", img).CombinedOutput()
	if err != nil {
		t.Fatalf("debugfs ea_list: %v\n%s", err, out)
	}
	s := string(out)
	if !strings.Contains(s, "user.color") || !strings.Contains(s, "user.shape") || strings.Contains(s, "user.temp") {
		t.Errorf("debugfs ea_list /f: %s", s)
	}
	for name, want := range map[string]string{"user.color": "blue", "user.shape": long} {
		out, err := exec.Command("debugfs", "-R", "ea_get -V /f "+name, img).CombinedOutput()
		if err != nil {
			t.Fatalf("debugfs ea_get %s: %v\n%s", name, err, out)
		}
		// debugfs prints its banner first; the value is the last line.
		lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
		if got := lines[len(lines)-1]; got != want {
			t.Errorf("debugfs ea_get %s: %q, want %q", name, got, want)
		}
	}
}
