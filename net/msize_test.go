package ninep

import (
	"bytes"
	"sync"
	"testing"

	"github.com/rumpfs/rumpfs/internal/memfs"
	"github.com/rumpfs/rumpfs/vfs"
)

// sizeMount wraps a mount to record the sizes of the reads and writes the
// server makes on its files: one per Tread or Twrite.
type sizeMount struct {
	vfs.Mount
	mu            *sync.Mutex
	reads, writes *[]int
}

func (m sizeMount) Root() (vfs.Vnode, error) {
	vn, err := m.Mount.Root()
	if err != nil {
		return nil, err
	}
	return sizeVnode{vn, m}, nil
}

type sizeVnode struct {
	vfs.Vnode
	m sizeMount
}

func (v sizeVnode) Lookup(name string) (vfs.Vnode, error) {
	c, err := v.Vnode.Lookup(name)
	if err != nil {
		return nil, err
	}
	return sizeVnode{c, v.m}, nil
}

func (v sizeVnode) Read(p []byte, off int64) (int, error) {
	v.m.mu.Lock()
	*v.m.reads = append(*v.m.reads, len(p))
	v.m.mu.Unlock()
	return v.Vnode.Read(p, off)
}

func (v sizeVnode) Write(p []byte, off int64) (int, error) {
	v.m.mu.Lock()
	*v.m.writes = append(*v.m.writes, len(p))
	v.m.mu.Unlock()
	return vfs.VOP_WRITE(v.m.Mount, v.Vnode, p, off)
}

// The client (ukfs's, for 9p+unix://) moves a 1 MiB read or write in one
// message of 1 MiB: its msize leaves room for the header, so p9 does not
// cut it in two.
func TestClientBigMessages(t *testing.T) {
	m := memfs.New()
	root, _ := m.Root()
	f, err := vfs.VOP_CREATE(m, root, &vfs.Cred{}, "f", 0666)
	if err != nil {
		t.Fatal(err)
	}
	data := pattern("f", 4<<20)
	if _, err := vfs.VOP_WRITE(m, f, data, 0); err != nil {
		t.Fatal(err)
	}
	f.Rele()
	root.Rele()
	var reads, writes []int
	sm := sizeMount{Mount: m, mu: new(sync.Mutex), reads: &reads, writes: &writes}
	sock := serveTest(t, sm, Options{})
	rm, err := Dial("9p+unix://"+sock, false)
	if err != nil {
		t.Fatal(err)
	}
	defer rm.Unmount()
	r, _ := rm.Root()
	defer r.Rele()
	vn, err := r.Lookup("f")
	if err != nil {
		t.Fatal(err)
	}
	defer vn.Rele()
	got := make([]byte, 0, len(data))
	buf := make([]byte, 1<<20)
	for off := int64(0); ; {
		n, err := vn.Read(buf, off)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		got = append(got, buf[:n]...)
		off += int64(n)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, differing from the %d written", len(got), len(data))
	}
	for off := 0; off < len(data); off += 1 << 20 {
		if _, err := vfs.VOP_WRITE(rm, vn, data[off:off+1<<20], int64(off)); err != nil {
			t.Fatal(err)
		}
	}
	sm.mu.Lock()
	defer sm.mu.Unlock()
	// Four reads of 1 MiB, and the one that finds the end.
	if len(reads) != 5 {
		t.Errorf("server reads %v: want 5 (4 MiB in 1 MiB reads, then end of file)", reads)
	}
	for _, n := range reads {
		if n != 1<<20 {
			t.Errorf("a Tread asked for %d bytes, want 1 MiB: %v", n, reads)
			break
		}
	}
	if len(writes) != 4 {
		t.Errorf("server writes %v: want 4 of 1 MiB", writes)
	}
	for _, n := range writes {
		if n != 1<<20 {
			t.Errorf("a Twrite carried %d bytes, want 1 MiB: %v", n, writes)
			break
		}
	}
}
