package jbd2

import (
	"errors"
	"fmt"
)

// BlockMapper maps journal block lblk (0 is the journal superblock) to
// the file-system block that holds it: the journal inode's block map.
type BlockMapper interface {
	MapBlock(lblk uint32) (uint64, error)
}

// BlockReader reads file-system block blk into p (one block).
type BlockReader interface {
	ReadBlock(blk uint64, p []byte) error
}

// BlockWriter receives replayed blocks (one block each; p is not kept).
type BlockWriter interface {
	WriteBlock(blk uint64, p []byte) error
}

// ErrCorrupt is wrapped by every error about the journal's contents (as
// opposed to an I/O error of the device).
var ErrCorrupt = errors.New("corrupt journal")

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// Journal is an opened internal journal.
type Journal struct {
	SB       Superblock
	raw      []byte // journal block 0, as read
	bsize    int
	m        BlockMapper
	r        BlockReader
	fsBlocks uint64
	first    uint32 // j_first
	last     uint32 // j_last: one past the log's last block
	tagBytes int
	csum     bool   // checksum v2 or v3
	seed     uint32 // j_csum_seed
}

// Peek reads the journal superblock and checks only what identifies it
// (magic number, block type): enough to see whether the log is empty
// without judging features that matter only to a replay.
func Peek(m BlockMapper, r BlockReader, bsize int, fsBlocks uint64) (Superblock, error) {
	if bsize < SuperblockSize || bsize > 1<<16 || bsize&(bsize-1) != 0 {
		return Superblock{}, fmt.Errorf("jbd2: bad block size %d", bsize)
	}
	j := &Journal{m: m, r: r, fsBlocks: fsBlocks}
	b := make([]byte, bsize)
	if err := j.read(0, b); err != nil {
		return Superblock{}, fmt.Errorf("jbd2: reading the journal superblock: %w", err)
	}
	s := DecodeSuperblock(b)
	if s.Magic != Magic {
		return s, corrupt("bad journal superblock magic %#x", s.Magic)
	}
	if s.BlockType != TypeSuperblockV1 && s.BlockType != TypeSuperblockV2 {
		return s, corrupt("unknown journal superblock type %d", s.BlockType)
	}
	return s, nil
}

// Open reads and checks the journal superblock. bsize is the file
// system's block size (JBD2 in ext3/4 uses the same), nblocks the length
// of the journal inode in blocks, fsBlocks the file system's block count
// (the bound of every block number in the log). Anything the code does not
// understand is refused by name.
func Open(m BlockMapper, r BlockReader, bsize int, nblocks uint32, fsBlocks uint64) (*Journal, error) {
	if bsize < SuperblockSize || bsize > 1<<16 || bsize&(bsize-1) != 0 {
		return nil, fmt.Errorf("jbd2: bad block size %d", bsize)
	}
	j := &Journal{raw: make([]byte, bsize), bsize: bsize, m: m, r: r, fsBlocks: fsBlocks}
	if err := j.read(0, j.raw); err != nil {
		return nil, fmt.Errorf("jbd2: reading the journal superblock: %w", err)
	}
	s := DecodeSuperblock(j.raw)
	j.SB = s
	if s.Magic != Magic {
		return nil, corrupt("bad journal superblock magic %#x", s.Magic)
	}
	if s.BlockType != TypeSuperblockV1 && s.BlockType != TypeSuperblockV2 {
		return nil, corrupt("unknown journal superblock type %d", s.BlockType)
	}
	if int(s.BlockSize) != bsize {
		return nil, corrupt("journal block size %d differs from the file system's %d", s.BlockSize, bsize)
	}
	if s.MaxLen > nblocks {
		return nil, corrupt("journal length %d blocks exceeds its inode (%d blocks)", s.MaxLen, nblocks)
	}
	if s.First == 0 || s.First >= s.MaxLen {
		return nil, corrupt("journal first block %d outside 1..%d", s.First, s.MaxLen)
	}
	if bad := s.FeatureIncomp &^ incompatKnown; bad != 0 {
		return nil, fmt.Errorf("jbd2: unsupported journal features: %s", incompatString(bad))
	}
	if s.FeatureIncomp&IncompatCsumV2 != 0 && s.FeatureIncomp&IncompatCsumV3 != 0 {
		return nil, corrupt("journal has both checksum v2 and v3")
	}
	j.csum = s.FeatureIncomp&(IncompatCsumV2|IncompatCsumV3) != 0
	if j.csum && s.FeatureCompat&CompatChecksum != 0 {
		return nil, corrupt("journal has both checksum v1 and v2/v3")
	}
	if j.csum {
		// jbd2_journal_load: only crc32c is defined for v2/v3.
		if s.ChecksumType != ChecksumCRC32C {
			return nil, fmt.Errorf("jbd2: unknown journal checksum type %d", s.ChecksumType)
		}
		if c := j.sbCsum(j.raw); c != s.Checksum {
			return nil, corrupt("journal superblock checksum mismatch (%#x, computed %#x)", s.Checksum, c)
		}
		j.seed = crc32c(^uint32(0), s.UUID[:])
	}
	j.first, j.last = s.First, s.MaxLen
	if s.Start != 0 && (s.Start < j.first || s.Start >= j.last) {
		return nil, corrupt("journal log start %d outside %d..%d", s.Start, j.first, j.last-1)
	}
	j.tagBytes = tagBytes(s.FeatureIncomp)
	return j, nil
}

func incompatString(bits uint32) string {
	names := []struct {
		b uint32
		n string
	}{{IncompatRevoke, "revoke"}, {Incompat64bit, "64bit"}, {IncompatAsyncCommit, "async_commit"},
		{IncompatCsumV2, "checksum_v2"}, {IncompatCsumV3, "checksum_v3"}, {IncompatFastCommit, "fast_commit"}}
	out := ""
	for _, x := range names {
		if bits&x.b != 0 {
			if out != "" {
				out += ", "
			}
			out += x.n
			bits &^= x.b
		}
	}
	for b := uint32(1); bits != 0; b <<= 1 {
		if bits&b != 0 {
			if out != "" {
				out += ", "
			}
			out += fmt.Sprintf("unknown_%#x", b)
			bits &^= b
		}
	}
	return out
}

// sbCsum is jbd2_superblock_csum: crc32c over the 1024-byte superblock
// with s_checksum taken as zero.
func (j *Journal) sbCsum(b []byte) uint32 {
	var tmp [SuperblockSize]byte
	copy(tmp[:], b[:SuperblockSize])
	be.PutUint32(tmp[superblockCsumAt:], 0)
	return crc32c(^uint32(0), tmp[:])
}

// NeedsRecovery reports whether the log holds transactions (s_start != 0).
func (j *Journal) NeedsRecovery() bool { return j.SB.Start != 0 }

func (j *Journal) read(lblk uint32, p []byte) error {
	pb, err := j.m.MapBlock(lblk)
	if err != nil {
		return err
	}
	if pb == 0 || pb >= j.fsBlocks {
		return corrupt("journal block %d maps to block %d, outside the file system", lblk, pb)
	}
	return j.r.ReadBlock(pb, p)
}

// wrap is the kernel's wrap(): the log is circular over [first, last).
func (j *Journal) wrap(b uint32) uint32 {
	if b >= j.last {
		b -= j.last - j.first
	}
	return b
}

// Info reports what a recovery found and did.
type Info struct {
	StartSeq     uint32 // first transaction in the log
	EndSeq       uint32 // first transaction not replayed
	Transactions int    // EndSeq - StartSeq
	Replayed     int    // blocks written
	Revokes      int    // revoke records read
	RevokeHits   int    // journalled blocks skipped because revoked
	// FailedCommit is the transaction whose commit block checksum failed
	// (ending the replay there), 0 if none.
	FailedCommit uint32
}

type pass int

const (
	passScan pass = iota
	passRevoke
	passReplay
)

// tidGeq is tid_geq: sequence numbers compare modulo 2^32.
func tidGeq(x, y uint32) bool { return int32(x-y) >= 0 }

// Recover replays the log into w in the kernel's three passes: find the
// end of the log (checking commit checksums), collect the revoke records,
// then write every logged block that no later-or-same transaction
// revoked, in log order, so the latest copy of a block wins. It does not
// change the journal itself: see EmptySuperblock.
func (j *Journal) Recover(w BlockWriter) (Info, error) {
	info := Info{StartSeq: j.SB.Sequence}
	if !j.NeedsRecovery() {
		info.EndSeq = j.SB.Sequence
		return info, nil
	}
	revoked := map[uint64]uint32{}
	for _, p := range []pass{passScan, passRevoke, passReplay} {
		if err := j.onePass(p, &info, revoked, w); err != nil {
			return info, err
		}
	}
	info.Transactions = int(info.EndSeq - info.StartSeq)
	return info, nil
}

func (j *Journal) onePass(p pass, info *Info, revoked map[uint64]uint32, w BlockWriter) error {
	next := j.SB.Start
	seq := j.SB.Sequence
	crcSum := ^uint32(0)
	var lastCommit uint64
	needCheckCommitTime := false
	// In the scan: whether a failed async commit has fixed the end
	// (the kernel's info->end_transaction != 0); the scan goes on, to
	// tell corruption (a later commit) from an interrupted commit.
	endSet := false
	// A log never holds more blocks than the journal: beyond that the
	// scan has gone round, which only a corrupt log can make it do.
	budget := int64(j.last - j.first)
	buf := make([]byte, j.bsize)
	data := make([]byte, j.bsize)
	take := func() (uint32, error) {
		if budget--; budget < 0 {
			return 0, corrupt("log runs past the journal's length")
		}
		b := next
		next = j.wrap(next + 1)
		return b, nil
	}
	descrTail := 0
	if j.csum {
		descrTail = TailSize
	}
loop:
	for {
		if p != passScan && tidGeq(seq, info.EndSeq) {
			break
		}
		blk, err := take()
		if err != nil {
			return err
		}
		if err := j.read(blk, buf); err != nil {
			return fmt.Errorf("jbd2: reading log block %d: %w", blk, err)
		}
		h := DecodeHeader(buf)
		if h.Magic != Magic || h.Sequence != seq {
			break
		}
		switch h.BlockType {
		case TypeDescriptor:
			if j.csum && !j.tailCsumOK(buf) {
				// Lazy journal init can leave stale blocks: in the
				// scan this only means the commit time decides.
				if p != passScan {
					return corrupt("descriptor block %d checksum mismatch", blk)
				}
				needCheckCommitTime = true
			}
			if p != passReplay {
				if p == passScan && j.SB.FeatureCompat&CompatChecksum != 0 && !needCheckCommitTime && !endSet {
					crcSum = crc32be(crcSum, buf)
					n := j.countTags(buf, descrTail)
					for range n {
						db, err := take()
						if err != nil {
							return err
						}
						if err := j.read(db, data); err != nil {
							return fmt.Errorf("jbd2: reading log block %d: %w", db, err)
						}
						crcSum = crc32be(crcSum, data)
					}
					continue
				}
				n := j.countTags(buf, descrTail)
				for range n {
					if _, err := take(); err != nil {
						return err
					}
				}
				continue
			}
			if err := j.replayDescriptor(buf, data, descrTail, h.Sequence, seq, take, info, revoked, w); err != nil {
				return err
			}
		case TypeCommit:
			ch := DecodeCommit(buf)
			if needCheckCommitTime {
				if ch.CommitSec >= lastCommit {
					return corrupt("checksum mismatch in transaction %d", seq)
				}
				break loop // stale blocks of an older log: the end
			}
			if p == passScan {
				bad := false
				if j.SB.FeatureCompat&CompatChecksum != 0 {
					if endSet {
						// A commit after a failed async one: the
						// failed one was corrupt, not interrupted.
						info.FailedCommit = info.EndSeq
						break loop
					}
					ok := crcSum == ch.Chksum0 && ch.ChksumType == ChecksumCRC32 && ch.ChksumSize == crc32ChksumSize ||
						ch.ChksumType == 0 && ch.ChksumSize == 0 && ch.Chksum0 == 0
					bad = !ok
					crcSum = ^uint32(0)
				}
				if !bad && j.csum && !j.commitCsumOK(buf) {
					bad = true
				}
				if bad {
					if ch.CommitSec < lastCommit {
						break loop // stale
					}
					info.EndSeq, endSet = seq, true
					if j.SB.FeatureIncomp&IncompatAsyncCommit == 0 {
						info.FailedCommit = seq
						break loop
					}
				}
				lastCommit = ch.CommitSec
			}
			seq++
		case TypeRevoke:
			if p == passScan && j.csum && !j.tailCsumOK(buf) {
				needCheckCommitTime = true
			}
			if p != passRevoke {
				continue
			}
			if err := j.scanRevoke(buf, seq, info, revoked); err != nil {
				return err
			}
		default:
			break loop
		}
	}
	if p == passScan {
		if !endSet {
			info.EndSeq = seq
		}
	} else if seq != info.EndSeq {
		return corrupt("recovery pass %d ended at transaction %d, expected %d", p, seq, info.EndSeq)
	}
	return nil
}

// tailCsumOK is jbd2_descriptor_block_csum_verify: crc32c of the block
// with its 4-byte tail (the checksum) taken as zero.
func (j *Journal) tailCsumOK(b []byte) bool {
	at := j.bsize - TailSize
	want := be.Uint32(b[at:])
	c := crc32c(j.seed, b[:at])
	c = crc32c(c, []byte{0, 0, 0, 0})
	return c == want
}

// commitCsumOK is jbd2_commit_block_csum_verify: crc32c of the block with
// h_chksum[0] taken as zero.
func (j *Journal) commitCsumOK(b []byte) bool {
	want := be.Uint32(b[0x10:])
	c := crc32c(j.seed, b[:0x10])
	c = crc32c(c, []byte{0, 0, 0, 0})
	c = crc32c(c, b[0x14:])
	return c == want
}

// tagCsumOK is jbd2_block_tag_csum_verify: crc32c of the big-endian
// sequence then the logged block as stored (escaped); v2 keeps 16 bits.
func (j *Journal) tagCsumOK(t Tag, data []byte, seq uint32) bool {
	if !j.csum {
		return true
	}
	var sb [4]byte
	be.PutUint32(sb[:], seq)
	c := crc32c(j.seed, sb[:])
	c = crc32c(c, data)
	if j.SB.FeatureIncomp&IncompatCsumV3 != 0 {
		return t.Checksum == c
	}
	return t.Checksum == c&0xFFFF
}

// forTags calls f for each tag of descriptor block b, as the kernel walks
// them: a tag must fit before the tail; a UUID follows unless SAME_UUID;
// LAST_TAG ends the block. The walk is bounded by the block size.
func (j *Journal) forTags(b []byte, tail int, f func(Tag) error) error {
	off := HeaderSize
	for off+j.tagBytes <= j.bsize-tail {
		t := decodeTag(b[off:off+j.tagBytes], j.SB.FeatureIncomp)
		if err := f(t); err != nil {
			return err
		}
		off += j.tagBytes
		if t.Flags&FlagSameUUID == 0 {
			off += tagUUIDSize
		}
		if t.Flags&FlagLastTag != 0 {
			break
		}
	}
	return nil
}

func (j *Journal) countTags(b []byte, tail int) int {
	n := 0
	j.forTags(b, tail, func(Tag) error { n++; return nil })
	return n
}

func (j *Journal) replayDescriptor(b, data []byte, tail int, hseq, seq uint32, take func() (uint32, error),
	info *Info, revoked map[uint64]uint32, w BlockWriter) error {
	return j.forTags(b, tail, func(t Tag) error {
		lb, err := take()
		if err != nil {
			return err
		}
		if err := j.read(lb, data); err != nil {
			return fmt.Errorf("jbd2: reading log block %d: %w", lb, err)
		}
		// jbd2_journal_test_revoke: revoked by this or a later transaction.
		if rs, ok := revoked[t.Block]; ok && tidGeq(rs, seq) {
			info.RevokeHits++
			return nil
		}
		if !j.tagCsumOK(t, data, hseq) {
			return corrupt("checksum mismatch of logged block %d (log block %d) in transaction %d", t.Block, lb, seq)
		}
		if t.Block >= j.fsBlocks {
			return corrupt("transaction %d logs block %d, past the end of the file system (%d blocks)", seq, t.Block, j.fsBlocks)
		}
		if t.Flags&FlagEscape != 0 {
			be.PutUint32(data, Magic)
		}
		if err := w.WriteBlock(t.Block, data); err != nil {
			return fmt.Errorf("jbd2: replaying block %d: %w", t.Block, err)
		}
		info.Replayed++
		return nil
	})
}

// scanRevoke is scan_revoke_records: r_count bytes of the block (header
// included) hold 4- or 8-byte block numbers; the latest revoking
// transaction of each block is kept.
func (j *Journal) scanRevoke(b []byte, seq uint32, info *Info, revoked map[uint64]uint32) error {
	count := be.Uint32(b[HeaderSize:])
	limit := uint32(j.bsize)
	if j.csum {
		limit -= TailSize
	}
	if count > limit {
		return corrupt("revoke block of transaction %d claims %d bytes", seq, count)
	}
	rl := uint32(4)
	if j.SB.FeatureIncomp&Incompat64bit != 0 {
		rl = 8
	}
	for off := uint32(RevokeHeaderSize); off+rl <= count; off += rl {
		var blk uint64
		if rl == 4 {
			blk = uint64(be.Uint32(b[off:]))
		} else {
			blk = be.Uint64(b[off:])
		}
		if old, ok := revoked[blk]; !ok || tidGeq(seq, old) {
			revoked[blk] = seq
		}
		info.Revokes++
	}
	return nil
}

// EmptySuperblock returns journal block 0 rewritten as the kernel's
// jbd2_mark_journal_empty and e2fsck leave it after recovery: s_start 0
// (empty), s_sequence the transaction after the last one replayed, and
// the checksum recomputed for v2/v3. The caller writes it to journal
// block 0 (MapBlock(0)).
func (j *Journal) EmptySuperblock(info Info) []byte {
	b := append([]byte(nil), j.raw...)
	if j.SB.Start != 0 {
		// jbd2_journal_recover: j_transaction_sequence = ++end_transaction.
		be.PutUint32(b[0x18:], info.EndSeq+1)
	}
	be.PutUint32(b[0x1C:], 0)
	if j.csum {
		be.PutUint32(b[superblockCsumAt:], j.sbCsum(b))
	}
	return b
}

// SuperblockBlock returns the file-system block of journal block 0.
func (j *Journal) SuperblockBlock() (uint64, error) { return j.m.MapBlock(0) }
