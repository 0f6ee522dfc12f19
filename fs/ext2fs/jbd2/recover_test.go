package jbd2

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const (
	tBsize   = 1024
	tBlocks  = 4096
	tJstart  = 2048
	tJlen    = 64
	dataBase = 100
)

type variant struct {
	name             string
	compat, incompat uint32
}

var variants = []variant{
	{"plain32", 0, 0},
	{"plain64", 0, Incompat64bit},
	{"crc32", CompatChecksum, 0},
	{"v2-32", 0, IncompatCsumV2},
	{"v2-64", 0, IncompatCsumV2 | Incompat64bit},
	{"v3-32", 0, IncompatCsumV3},
	{"v3-64", 0, IncompatCsumV3 | Incompat64bit},
	{"v3-async", 0, IncompatCsumV3 | IncompatAsyncCommit},
	{"crc32-async", CompatChecksum, IncompatAsyncCommit},
}

func open(t *testing.T, fs *memFS) *Journal {
	t.Helper()
	j, err := Open(fs, fs, fs.bsize, fs.jlen, fs.nblocks)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func wantBlock(t *testing.T, fs *memFS, blk uint64, want []byte) {
	t.Helper()
	if got := fs.block(blk); !bytes.Equal(got, want) {
		t.Errorf("block %d = %q..., want %q...", blk, got[:8], want[:8])
	}
}

// Three transactions: the latest copy of a block wins, a revoke in a
// later transaction cancels earlier copies but not later ones, an
// escaped block gets its magic number back.
func TestReplayVariants(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			fs := newMemFS(tBsize, tBlocks, tJstart, tJlen)
			b := newBuilder(fs, v.compat, v.incompat)
			esc := fill(tBsize, "E")
			be.PutUint32(esc, Magic)
			b.tx([]logged{{dataBase, fill(tBsize, "a1")}, {dataBase + 1, fill(tBsize, "b1")}, {dataBase + 2, fill(tBsize, "c1")}}, nil)
			b.tx([]logged{{dataBase, fill(tBsize, "a2")}, {dataBase + 3, esc}}, []uint64{dataBase + 1, dataBase + 2})
			b.tx([]logged{{dataBase + 2, fill(tBsize, "c3")}}, nil)
			b.writeSB()
			j := open(t, fs)
			if !j.NeedsRecovery() {
				t.Fatal("journal should need recovery")
			}
			info, err := j.Recover(fs)
			if err != nil {
				t.Fatal(err)
			}
			if info.Transactions != 3 || info.EndSeq != 103 || info.Revokes != 2 || info.RevokeHits != 2 || info.Replayed != 4 {
				t.Errorf("info = %+v", info)
			}
			wantBlock(t, fs, dataBase, fill(tBsize, "a2"))
			wantBlock(t, fs, dataBase+1, make([]byte, tBsize)) // revoked, never written
			wantBlock(t, fs, dataBase+2, fill(tBsize, "c3"))
			wantBlock(t, fs, dataBase+3, esc)
			// The journal, emptied, needs nothing more and still verifies.
			sb := j.EmptySuperblock(info)
			fs.blocks[tJstart] = sb
			j2 := open(t, fs)
			if j2.NeedsRecovery() || j2.SB.Sequence != 104 {
				t.Errorf("after EmptySuperblock: start %d sequence %d", j2.SB.Start, j2.SB.Sequence)
			}
		})
	}
}

// A bad commit checksum ends the replay before that transaction, with
// and without async_commit (the kernel's chksum_error path).
func TestBadCommitEndsReplay(t *testing.T) {
	for _, v := range variants {
		if v.compat == 0 && v.incompat&(IncompatCsumV2|IncompatCsumV3) == 0 {
			continue
		}
		t.Run(v.name, func(t *testing.T) {
			fs := newMemFS(tBsize, tBlocks, tJstart, tJlen)
			b := newBuilder(fs, v.compat, v.incompat)
			b.badCommit[101] = true
			b.tx([]logged{{dataBase, fill(tBsize, "a1")}}, nil)
			b.tx([]logged{{dataBase, fill(tBsize, "a2")}, {dataBase + 1, fill(tBsize, "b2")}}, nil)
			b.writeSB()
			info, err := open(t, fs).Recover(fs)
			if err != nil {
				t.Fatal(err)
			}
			if info.EndSeq != 101 || info.Replayed != 1 {
				t.Errorf("info = %+v", info)
			}
			if v.incompat&IncompatAsyncCommit == 0 && info.FailedCommit != 101 {
				t.Errorf("sync commit: FailedCommit = %d, want 101", info.FailedCommit)
			}
			wantBlock(t, fs, dataBase, fill(tBsize, "a1"))
			wantBlock(t, fs, dataBase+1, make([]byte, tBsize))
		})
	}
}

// An uncommitted transaction at the end of the log is not replayed.
func TestUncommittedTail(t *testing.T) {
	fs := newMemFS(tBsize, tBlocks, tJstart, tJlen)
	b := newBuilder(fs, 0, IncompatCsumV3)
	b.tx([]logged{{dataBase, fill(tBsize, "a1")}}, nil)
	b.tx([]logged{{dataBase, fill(tBsize, "a2")}}, nil)
	// Remove the second commit block (the last block written).
	delete(fs.blocks, tJstart+uint64(b.pos-1))
	b.writeSB()
	info, err := open(t, fs).Recover(fs)
	if err != nil {
		t.Fatal(err)
	}
	if info.Transactions != 1 {
		t.Errorf("info = %+v", info)
	}
	wantBlock(t, fs, dataBase, fill(tBsize, "a1"))
}

// A log that starts near the end of the journal wraps round to s_first.
func TestWrap(t *testing.T) {
	fs := newMemFS(tBsize, tBlocks, tJstart, 16)
	b := newBuilder(fs, 0, IncompatCsumV3|Incompat64bit)
	b.start, b.pos = 13, 13
	b.tx([]logged{{dataBase, fill(tBsize, "a1")}, {dataBase + 1, fill(tBsize, "b1")}, {dataBase + 2, fill(tBsize, "c1")}}, nil)
	b.tx([]logged{{dataBase + 1, fill(tBsize, "b2")}}, nil)
	b.writeSB()
	info, err := open(t, fs).Recover(fs)
	if err != nil {
		t.Fatal(err)
	}
	if info.Transactions != 2 || info.Replayed != 4 {
		t.Errorf("info = %+v", info)
	}
	wantBlock(t, fs, dataBase+1, fill(tBsize, "b2"))
	wantBlock(t, fs, dataBase+2, fill(tBsize, "c1"))
}

// Tags with a UUID after each (no SAME_UUID) are walked correctly.
func TestTagsWithUUID(t *testing.T) {
	fs := newMemFS(tBsize, tBlocks, tJstart, tJlen)
	b := newBuilder(fs, 0, IncompatCsumV2)
	b.sameUUIDOff = true
	b.tx([]logged{{dataBase, fill(tBsize, "a")}, {dataBase + 1, fill(tBsize, "b")}, {dataBase + 2, fill(tBsize, "c")}}, nil)
	b.writeSB()
	info, err := open(t, fs).Recover(fs)
	if err != nil || info.Replayed != 3 {
		t.Fatalf("%+v %v", info, err)
	}
	wantBlock(t, fs, dataBase+2, fill(tBsize, "c"))
}

// Corruption inside a committed transaction is an error, and nothing of
// that pass is trusted past it.
func TestCorruptionRefused(t *testing.T) {
	cases := []struct {
		name string
		mod  func(b *builder)
		want string
	}{
		{"tag checksum", func(b *builder) { b.tagBadCsumTx[100] = true }, "checksum mismatch of logged block"},
		{"descriptor checksum", func(b *builder) { b.descrBadCsumTx[100] = true }, "checksum mismatch in transaction"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := newMemFS(tBsize, tBlocks, tJstart, tJlen)
			b := newBuilder(fs, 0, IncompatCsumV3)
			c.mod(b)
			b.tx([]logged{{dataBase, fill(tBsize, "a1")}}, nil)
			b.writeSB()
			_, err := open(t, fs).Recover(fs)
			if err == nil || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
	t.Run("block past the end", func(t *testing.T) {
		fs := newMemFS(tBsize, tBlocks, tJstart, tJlen)
		b := newBuilder(fs, 0, Incompat64bit)
		b.tx([]logged{{1 << 40, fill(tBsize, "a1")}}, nil)
		b.writeSB()
		if _, err := open(t, fs).Recover(fs); err == nil || !strings.Contains(err.Error(), "past the end") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("revoke count", func(t *testing.T) {
		fs := newMemFS(tBsize, tBlocks, tJstart, tJlen)
		b := newBuilder(fs, 0, 0)
		b.tx(nil, []uint64{5})
		be.PutUint32(fs.blocks[tJstart+1][HeaderSize:], 5000)
		b.writeSB()
		if _, err := open(t, fs).Recover(fs); err == nil || !strings.Contains(err.Error(), "revoke block") {
			t.Fatalf("err = %v", err)
		}
	})
}

// Journals the code does not understand are refused by name.
func TestOpenRefuses(t *testing.T) {
	cases := []struct {
		name string
		mod  func(p []byte)
		want string
	}{
		{"magic", func(p []byte) { be.PutUint32(p, 1) }, "bad journal superblock magic"},
		{"type", func(p []byte) { be.PutUint32(p[4:], 9) }, "unknown journal superblock type"},
		{"blocksize", func(p []byte) { be.PutUint32(p[0x0C:], 4096) }, "block size 4096"},
		{"fast_commit", func(p []byte) { be.PutUint32(p[0x28:], IncompatFastCommit) }, "fast_commit"},
		{"unknown incompat", func(p []byte) { be.PutUint32(p[0x28:], 0x400) }, "unknown_0x400"},
		{"maxlen", func(p []byte) { be.PutUint32(p[0x10:], tJlen+1) }, "exceeds its inode"},
		{"first", func(p []byte) { be.PutUint32(p[0x14:], 0) }, "first block"},
		{"start", func(p []byte) { be.PutUint32(p[0x1C:], tJlen) }, "log start"},
		{"csum type", func(p []byte) { be.PutUint32(p[0x28:], IncompatCsumV3); p[0x50] = ChecksumSHA1 }, "unknown journal checksum type 3"},
		{"csum", func(p []byte) { be.PutUint32(p[0x28:], IncompatCsumV3); p[0x50] = ChecksumCRC32C }, "superblock checksum mismatch"},
		{"v2 and v3", func(p []byte) { be.PutUint32(p[0x28:], IncompatCsumV3|IncompatCsumV2) }, "both checksum v2 and v3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := newMemFS(tBsize, tBlocks, tJstart, tJlen)
			b := newBuilder(fs, 0, 0)
			b.writeSB()
			c.mod(fs.blocks[tJstart])
			_, err := Open(fs, fs, tBsize, tJlen, tBlocks)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
	if _, err := Open(newMemFS(tBsize, tBlocks, tJstart, tJlen), nil, 1000, 1, 1); err == nil {
		t.Error("block size 1000 accepted")
	}
}

// A v1 superblock has no features: whatever is in those fields is
// ignored, as the kernel does for j_format_version 1.
func TestV1Superblock(t *testing.T) {
	fs := newMemFS(tBsize, tBlocks, tJstart, tJlen)
	b := newBuilder(fs, 0, 0)
	b.tx([]logged{{dataBase, fill(tBsize, "a1")}}, nil)
	b.writeSB()
	p := fs.blocks[tJstart]
	be.PutUint32(p[4:], TypeSuperblockV1)
	be.PutUint32(p[0x28:], 0xFFFF0000)
	info, err := open(t, fs).Recover(fs)
	if err != nil || info.Replayed != 1 {
		t.Fatalf("%+v %v", info, err)
	}
}

// An empty journal (s_start 0) replays nothing.
func TestEmptyJournal(t *testing.T) {
	fs := newMemFS(tBsize, tBlocks, tJstart, tJlen)
	b := newBuilder(fs, 0, IncompatCsumV3)
	b.tx([]logged{{dataBase, fill(tBsize, "a1")}}, nil)
	b.start = 0
	b.writeSB()
	j := open(t, fs)
	info, err := j.Recover(fs)
	if err != nil || info.Replayed != 0 || len(fs.writes) != 0 || j.NeedsRecovery() {
		t.Fatalf("%+v %v %v", info, err, fs.writes)
	}
}

func TestCrc32be(t *testing.T) {
	// CRC-32/MPEG-2 (MSB-first, init ~0, no final xor) of "123456789".
	if c := crc32be(^uint32(0), []byte("123456789")); c != 0x0376E6E7 {
		t.Errorf("crc32be = %#x", c)
	}
	_ = fmt.Sprint
}

// async_commit: a bad commit followed by more transactions. The replay
// still ends before the bad one; with crc32 (v1) checksums the kernel
// then knows it was corrupt, not interrupted (j_failed_commit).
func TestAsyncBadCommitThenMore(t *testing.T) {
	for _, v := range []variant{{"v3-async", 0, IncompatCsumV3 | IncompatAsyncCommit}, {"crc32-async", CompatChecksum, IncompatAsyncCommit}} {
		t.Run(v.name, func(t *testing.T) {
			fs := newMemFS(tBsize, tBlocks, tJstart, tJlen)
			b := newBuilder(fs, v.compat, v.incompat)
			b.badCommit[101] = true
			b.tx([]logged{{dataBase, fill(tBsize, "a1")}}, nil)
			b.tx([]logged{{dataBase, fill(tBsize, "a2")}}, nil)
			b.tx([]logged{{dataBase, fill(tBsize, "a3")}}, nil)
			b.writeSB()
			info, err := open(t, fs).Recover(fs)
			if err != nil {
				t.Fatal(err)
			}
			wantFailed := uint32(0)
			if v.compat != 0 {
				wantFailed = 101
			}
			if info.EndSeq != 101 || info.Replayed != 1 || info.FailedCommit != wantFailed {
				t.Errorf("info = %+v, want EndSeq 101, 1 block, FailedCommit %d", info, wantFailed)
			}
			wantBlock(t, fs, dataBase, fill(tBsize, "a1"))
		})
	}
}

func TestPeek(t *testing.T) {
	fs := newMemFS(tBsize, tBlocks, tJstart, tJlen)
	b := newBuilder(fs, 0, IncompatFastCommit|0x400)
	b.writeSB()
	s, err := Peek(fs, fs, tBsize, tBlocks)
	if err != nil || s.Start != 1 || s.FeatureIncomp&IncompatFastCommit == 0 {
		t.Fatalf("Peek: %+v, %v", s, err)
	}
	if _, err := Open(fs, fs, tBsize, tJlen, tBlocks); err == nil {
		t.Error("Open accepted fast_commit")
	}
	be.PutUint32(fs.blocks[tJstart], 7)
	if _, err := Peek(fs, fs, tBsize, tBlocks); err == nil {
		t.Error("Peek accepted a bad magic number")
	}
}
