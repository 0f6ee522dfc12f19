package treetest

import (
	"encoding/binary"
	"io"
	"sort"
)

// Content is a file's data, generated on demand so that multi-gigabyte
// files never sit in memory. ReadAt follows io.ReaderAt (io.EOF at the
// end).
type Content interface {
	Size() int64
	ReadAt(p []byte, off int64) (int, error)
}

// Regioner is implemented by contents with holes: Regions lists the byte
// ranges [off, off+len) that hold data; the rest reads as zeros. Write
// leaves the holes unallocated, and Compare may check only around the
// regions of a huge file (Options.MaxFullRead).
type Regioner interface {
	Regions() [][2]int64
}

// Bytes is content held in memory.
type Bytes []byte

// String is a convenience for Bytes([]byte(s)).
func String(s string) Bytes { return Bytes(s) }

func (b Bytes) Size() int64 { return int64(len(b)) }

func (b Bytes) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, io.ErrUnexpectedEOF
	}
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Pattern is N bytes of deterministic pseudo-random data: each 8-byte word
// is splitmix64 of (Seed, word index), so any offset can be generated
// without the ones before it and different seeds give different files.
type Pattern struct {
	N    int64
	Seed uint64
}

func (c Pattern) Size() int64 { return c.N }

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (c Pattern) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, io.ErrUnexpectedEOF
	}
	if off >= c.N {
		return 0, io.EOF
	}
	want := len(p)
	if rem := c.N - off; int64(want) > rem {
		want = int(rem)
	}
	var w [8]byte
	n := 0
	for n < want {
		pos := off + int64(n)
		word := uint64(pos / 8)
		binary.LittleEndian.PutUint64(w[:], splitmix(c.Seed*0x100000001b3+word))
		n += copy(p[n:want], w[pos%8:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Chunk is a data region of a Sparse content.
type Chunk struct {
	Off  int64
	Data Content
}

// Sparse is N bytes of zeros with data chunks at given offsets: a file with
// holes. Chunks must not overlap.
type Sparse struct {
	N      int64
	Chunks []Chunk
}

func (c Sparse) Size() int64 { return c.N }

func (c Sparse) sorted() []Chunk {
	cs := append([]Chunk(nil), c.Chunks...)
	sort.Slice(cs, func(i, j int) bool { return cs[i].Off < cs[j].Off })
	return cs
}

// Regions lists the data chunks' ranges.
func (c Sparse) Regions() [][2]int64 {
	var rs [][2]int64
	for _, ch := range c.sorted() {
		rs = append(rs, [2]int64{ch.Off, ch.Data.Size()})
	}
	return rs
}

func (c Sparse) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, io.ErrUnexpectedEOF
	}
	if off >= c.N {
		return 0, io.EOF
	}
	want := len(p)
	if rem := c.N - off; int64(want) > rem {
		want = int(rem)
	}
	q := p[:want]
	clear(q)
	for _, ch := range c.Chunks {
		cs, ce := ch.Off, ch.Off+ch.Data.Size()
		s, e := max(cs, off), min(ce, off+int64(want))
		if s >= e {
			continue
		}
		if _, err := ch.Data.ReadAt(q[s-off:e-off], s-cs); err != nil && err != io.EOF {
			return 0, err
		}
	}
	if want < len(p) {
		return want, io.EOF
	}
	return want, nil
}

// Reader returns a sequential reader over c.
func Reader(c Content) io.Reader {
	if c == nil {
		return io.NewSectionReader(Bytes(nil), 0, 0)
	}
	return io.NewSectionReader(c, 0, c.Size())
}
