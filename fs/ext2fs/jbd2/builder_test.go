package jbd2

import (
	"bytes"
	"fmt"
)

// memFS is a file system of bsize-byte blocks in memory whose journal
// occupies blocks jstart..jstart+jlen-1 (journal block l at jstart+l).
type memFS struct {
	bsize   int
	nblocks uint64
	jstart  uint64
	jlen    uint32
	blocks  map[uint64][]byte
	writes  []uint64
}

func newMemFS(bsize int, nblocks, jstart uint64, jlen uint32) *memFS {
	return &memFS{bsize: bsize, nblocks: nblocks, jstart: jstart, jlen: jlen, blocks: map[uint64][]byte{}}
}

func (m *memFS) MapBlock(l uint32) (uint64, error) {
	if l >= m.jlen {
		return 0, fmt.Errorf("journal block %d past the inode", l)
	}
	return m.jstart + uint64(l), nil
}

func (m *memFS) ReadBlock(b uint64, p []byte) error {
	if b >= m.nblocks {
		return fmt.Errorf("read past the end: %d", b)
	}
	if d, ok := m.blocks[b]; ok {
		copy(p, d)
	} else {
		clear(p)
	}
	return nil
}

func (m *memFS) WriteBlock(b uint64, p []byte) error {
	if b >= m.nblocks {
		return fmt.Errorf("write past the end: %d", b)
	}
	m.blocks[b] = append([]byte(nil), p...)
	m.writes = append(m.writes, b)
	return nil
}

func (m *memFS) block(b uint64) []byte {
	p := make([]byte, m.bsize)
	m.ReadBlock(b, p)
	return p
}

func (m *memFS) clone() *memFS {
	c := *m
	c.blocks = map[uint64][]byte{}
	for k, v := range m.blocks {
		c.blocks[k] = append([]byte(nil), v...)
	}
	c.writes = nil
	return &c
}

// builder writes a journal the way jbd2's commit code lays it out.
type builder struct {
	fs                *memFS
	compat, incompat  uint32
	uuid              [16]byte
	seed              uint32
	first, maxlen     uint32
	start, pos        uint32
	startSeq, seq     uint32
	time              uint64
	badCommit         map[uint32]bool // transactions whose commit checksum is wrong
	sameUUIDOff       bool            // write a UUID after every tag
	descrBadCsumTx    map[uint32]bool
	tagBadCsumTx      map[uint32]bool
	noCommitLastTx    bool
	uncommittedWrites int
}

func newBuilder(fs *memFS, compat, incompat uint32) *builder {
	b := &builder{fs: fs, compat: compat, incompat: incompat, first: 1, maxlen: fs.jlen,
		start: 1, pos: 1, startSeq: 100, seq: 100, time: 1700000000,
		badCommit: map[uint32]bool{}, descrBadCsumTx: map[uint32]bool{}, tagBadCsumTx: map[uint32]bool{}}
	copy(b.uuid[:], "0123456789abcdef")
	b.seed = crc32c(^uint32(0), b.uuid[:])
	return b
}

func (b *builder) csum() bool { return b.incompat&(IncompatCsumV2|IncompatCsumV3) != 0 }

func (b *builder) put(p []byte) uint32 {
	at := b.pos
	b.fs.blocks[b.fs.jstart+uint64(at)] = append([]byte(nil), p...)
	b.pos++
	if b.pos >= b.maxlen {
		b.pos = b.first
	}
	return at
}

func (b *builder) header(typ uint32) []byte {
	p := make([]byte, b.fs.bsize)
	be.PutUint32(p, Magic)
	be.PutUint32(p[4:], typ)
	be.PutUint32(p[8:], b.seq)
	return p
}

func (b *builder) tail(p []byte) {
	if !b.csum() {
		return
	}
	at := len(p) - TailSize
	be.PutUint32(p[at:], 0)
	be.PutUint32(p[at:], crc32c(b.seed, p))
}

type logged struct {
	blk  uint64
	data []byte
}

// tx writes one transaction: revoke records, then the blocks (one
// descriptor block), then the commit block.
func (b *builder) tx(writes []logged, revokes []uint64) {
	if len(revokes) > 0 {
		p := b.header(TypeRevoke)
		off := RevokeHeaderSize
		for _, r := range revokes {
			if b.incompat&Incompat64bit != 0 {
				be.PutUint64(p[off:], r)
				off += 8
			} else {
				be.PutUint32(p[off:], uint32(r))
				off += 4
			}
		}
		be.PutUint32(p[HeaderSize:], uint32(off))
		b.tail(p)
		b.put(p)
	}
	crc := ^uint32(0)
	if len(writes) > 0 {
		d := b.header(TypeDescriptor)
		off := HeaderSize
		tb := tagBytes(b.incompat)
		var stored [][]byte
		for i, w := range writes {
			data := append([]byte(nil), w.data...)
			t := Tag{Block: w.blk}
			if be.Uint32(data) == Magic {
				t.Flags |= FlagEscape
				be.PutUint32(data, 0)
			}
			if i > 0 && !b.sameUUIDOff {
				t.Flags |= FlagSameUUID
			}
			if i == len(writes)-1 {
				t.Flags |= FlagLastTag
			}
			if b.csum() {
				var sq [4]byte
				be.PutUint32(sq[:], b.seq)
				c := crc32c(crc32c(b.seed, sq[:]), data)
				if b.tagBadCsumTx[b.seq] {
					c++
				}
				t.Checksum = c
				if b.incompat&IncompatCsumV2 != 0 {
					t.Checksum &= 0xFFFF
				}
			}
			encodeTag(d[off:], t, b.incompat)
			off += tb
			if t.Flags&FlagSameUUID == 0 {
				copy(d[off:], b.uuid[:])
				off += 16
			}
			stored = append(stored, data)
		}
		b.tail(d)
		if b.descrBadCsumTx[b.seq] {
			d[len(d)-1] ^= 0xFF
		}
		b.put(d)
		crc = crc32be(crc, d)
		for _, s := range stored {
			b.put(s)
			crc = crc32be(crc, s)
		}
	}
	c := b.header(TypeCommit)
	b.time++
	be.PutUint64(c[0x30:], b.time)
	if b.compat&CompatChecksum != 0 {
		c[0x0C], c[0x0D] = ChecksumCRC32, crc32ChksumSize
		be.PutUint32(c[0x10:], crc)
		if b.badCommit[b.seq] {
			be.PutUint32(c[0x10:], crc+1)
		}
	}
	if b.csum() {
		c[0x0C], c[0x0D] = ChecksumCRC32C, 4
		be.PutUint32(c[0x10:], 0)
		v := crc32c(b.seed, c)
		if b.badCommit[b.seq] {
			v++
		}
		be.PutUint32(c[0x10:], v)
	}
	b.put(c)
	b.seq++
}

// writeSB writes the journal superblock (v2) describing the log.
func (b *builder) writeSB() {
	p := make([]byte, b.fs.bsize)
	be.PutUint32(p, Magic)
	be.PutUint32(p[4:], TypeSuperblockV2)
	be.PutUint32(p[0x0C:], uint32(b.fs.bsize))
	be.PutUint32(p[0x10:], b.maxlen)
	be.PutUint32(p[0x14:], b.first)
	be.PutUint32(p[0x18:], b.startSeq)
	be.PutUint32(p[0x1C:], b.start)
	be.PutUint32(p[0x24:], b.compat)
	be.PutUint32(p[0x28:], b.incompat|IncompatRevoke)
	copy(p[0x30:], b.uuid[:])
	be.PutUint32(p[0x40:], 1)
	if b.csum() {
		p[0x50] = ChecksumCRC32C
		var tmp [SuperblockSize]byte
		copy(tmp[:], p)
		be.PutUint32(p[superblockCsumAt:], crc32c(^uint32(0), tmp[:]))
	}
	b.fs.blocks[b.fs.jstart] = p
}

func fill(bsize int, tag string) []byte {
	return bytes.Repeat([]byte(tag), bsize/len(tag)+1)[:bsize]
}
