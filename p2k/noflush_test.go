package p2k

import (
	"syscall"
	"testing"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// TestNoFlush: CREATE and OPEN replies carry FOPEN_NOFLUSH, so that
// close(2) of a file costs no FLUSH round trip (Flush has nothing to do:
// writes reach the vnode when made). Writing many small files, as cp -r
// does, sends one request fewer per file.
func TestNoFlush(t *testing.T) {
	for _, cfg := range []Config{{KeepCache: true}, {DirectIO: true}} {
		b, err := NewBridge(newCountFS(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		caller := fuse.Caller{Owner: fuse.Owner{Uid: 0, Gid: 0}}
		cin := &fuse.CreateIn{InHeader: fuse.InHeader{NodeId: fuse.FUSE_ROOT_ID, Caller: caller}, Flags: syscall.O_WRONLY | syscall.O_CREAT, Mode: 0644}
		var cout fuse.CreateOut
		if st := b.Create(nil, cin, "f", &cout); !st.Ok() {
			t.Fatalf("create: %v", st)
		}
		if cout.OpenFlags&fuse.FOPEN_NOFLUSH == 0 {
			t.Errorf("DirectIO=%v: CREATE reply flags %#x lack FOPEN_NOFLUSH", cfg.DirectIO, cout.OpenFlags)
		}
		oin := &fuse.OpenIn{InHeader: fuse.InHeader{NodeId: cout.NodeId, Caller: caller}, Flags: syscall.O_RDONLY}
		var oout fuse.OpenOut
		if st := b.Open(nil, oin, &oout); !st.Ok() {
			t.Fatalf("open: %v", st)
		}
		if oout.OpenFlags&fuse.FOPEN_NOFLUSH == 0 {
			t.Errorf("DirectIO=%v: OPEN reply flags %#x lack FOPEN_NOFLUSH", cfg.DirectIO, oout.OpenFlags)
		}
		b.Release(nil, &fuse.ReleaseIn{InHeader: fuse.InHeader{NodeId: cout.NodeId}, Fh: cout.Fh})
		b.Release(nil, &fuse.ReleaseIn{InHeader: fuse.InHeader{NodeId: cout.NodeId}, Fh: oout.Fh})
		b.Forget(cout.NodeId, 1)
		b.Shutdown()
	}
}
