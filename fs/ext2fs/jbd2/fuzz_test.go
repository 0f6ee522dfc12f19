package jbd2

import (
	"bytes"
	"testing"
)

// journalBytes flattens the journal blocks of fs into one byte string,
// trailing zero blocks trimmed (the fuzz input format).
func journalBytes(fs *memFS) []byte {
	var out []byte
	for l := uint32(0); l < fs.jlen; l++ {
		out = append(out, fs.block(fs.jstart+uint64(l))...)
	}
	return bytes.TrimRight(out, "\x00")
}

// FuzzReplay opens and replays a journal given as raw bytes (1 KiB
// blocks, journal block 0 first). Nothing may panic or loop; whatever is
// replayed lands inside the file system; a journal emptied after a
// successful replay needs no more recovery.
func FuzzReplay(f *testing.F) {
	for _, v := range variants {
		fs := newMemFS(tBsize, tBlocks, tJstart, 24)
		b := newBuilder(fs, v.compat, v.incompat)
		b.start, b.pos = 18, 18 // wraps
		esc := fill(tBsize, "E")
		be.PutUint32(esc, Magic)
		b.tx([]logged{{dataBase, fill(tBsize, "a1")}, {dataBase + 1, esc}}, nil)
		b.tx([]logged{{dataBase, fill(tBsize, "a2")}}, []uint64{dataBase + 1})
		b.tx([]logged{{dataBase + 2, fill(tBsize, "c3")}}, []uint64{dataBase})
		b.writeSB()
		f.Add(journalBytes(fs))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 256*tBsize {
			return
		}
		jlen := uint32((len(data) + tBsize - 1) / tBsize)
		if jlen < 2 {
			jlen = 2
		}
		fs := newMemFS(tBsize, tBlocks, tJstart, jlen)
		for l := uint32(0); l < jlen; l++ {
			p := make([]byte, tBsize)
			if int(l)*tBsize < len(data) {
				copy(p, data[int(l)*tBsize:])
			}
			fs.blocks[tJstart+uint64(l)] = p
		}
		j, err := Open(fs, fs, tBsize, jlen, tBlocks)
		if err != nil {
			return
		}
		info, err := j.Recover(fs)
		for _, w := range fs.writes {
			if w >= tBlocks {
				t.Fatalf("wrote block %d past the end", w)
			}
		}
		if err != nil {
			return
		}
		if info.Replayed != len(fs.writes) {
			t.Fatalf("Replayed %d, %d writes", info.Replayed, len(fs.writes))
		}
		fs.blocks[tJstart] = j.EmptySuperblock(info)
		j2, err := Open(fs, fs, tBsize, jlen, tBlocks)
		if err != nil {
			t.Fatalf("reopening the emptied journal: %v", err)
		}
		if j2.NeedsRecovery() {
			t.Fatal("emptied journal still needs recovery")
		}
	})
}
