package ext2fs

// Journal recovery at mount time (issue #7), as Linux's ext4_load_journal
// and e2fsck's e2fsck_run_ext3_journal do it: when needs_recovery is set
// and the journal's log is not empty, the committed transactions are
// replayed (package jbd2), then the file system is read again from the
// start, since any of its blocks (the superblock and group descriptors
// included) may have been among those replayed.
//
// Read-write: the blocks are written to the image, the image is synced,
// the journal superblock is marked empty (s_start 0, s_sequence past the
// last transaction, as jbd2_mark_journal_empty does), synced, and only
// then needs_recovery is cleared in the superblock; a crash at any point
// leaves either the whole log or an empty one, and replay is idempotent.
//
// Read-only (-o ro, or a read-only device): the blocks go into an
// in-memory overlay of the device, never to the image, and the superblock
// as this mount sees it has needs_recovery cleared.
//
// Not done here: orphan inodes left by the crash (s_last_orphan) are not
// released; the kernel's ext4_orphan_cleanup and e2fsck do that, this code
// leaves them to e2fsck (and to the normal code of the file system).

import (
	"fmt"

	"github.com/rumpfs/rumpfs/dev"
	"github.com/rumpfs/rumpfs/fs/ext2fs/jbd2"
	"github.com/rumpfs/rumpfs/vfs"
)

// journalMap maps journal blocks through the journal inode's block map.
type journalMap struct{ ip *inode }

func (m journalMap) MapBlock(l uint32) (uint64, error) {
	p, _, err := m.ip.mapBlock(uint64(l))
	if err != nil {
		return 0, err
	}
	if p == 0 {
		return 0, fmt.Errorf("journal block %d is a hole", l)
	}
	return p, nil
}

// blockIO reads and writes whole file-system blocks of a device.
type blockIO struct {
	d     dev.Device
	bsize int
}

func (b blockIO) ReadBlock(blk uint64, p []byte) error {
	_, err := b.d.ReadAt(p[:b.bsize], int64(blk)*int64(b.bsize))
	return err
}

func (b blockIO) WriteBlock(blk uint64, p []byte) error {
	_, err := b.d.WriteAt(p[:b.bsize], int64(blk)*int64(b.bsize))
	return err
}

// recoverJournal opens the internal journal and, if the superblock says so,
// replays it; a journal the code does not understand is refused by name.
func (fs *fsys) recoverJournal() error {
	ji := fs.sb.JournalInum
	if ji == 0 || ji > fs.sb.InodesCount {
		return fs.errorf("bad journal inode number %d", ji)
	}
	ip, err := fs.vc.Get(uint64(ji))
	if err != nil {
		return fs.errorf("cannot read the journal inode: %v", err)
	}
	nblocks := ip.size() / uint64(fs.bsize)
	if nblocks > 1<<32-1 {
		nblocks = 1<<32 - 1
	}
	needs := fs.sb.FeatureIncompat&IncompatRecover != 0
	if !needs {
		// Nothing to replay: the journal only has to be one (its
		// features, fast_commit say, matter to a replay only).
		js, err := jbd2.Peek(journalMap{ip}, blockIO{fs.d, fs.bsize}, fs.bsize, fs.sb.BlocksCount())
		fs.vc.Rele(uint64(ji))
		if err != nil {
			return fs.errorf("journal: %v", err)
		}
		if js.Start != 0 {
			// The kernel would wipe such a log (jbd2_journal_wipe) and
			// e2fsck asks whether to run it: neither is safe unasked.
			if fs.ro {
				fs.warnf("journal holds transactions but needs_recovery is clear; ignoring them")
				return nil
			}
			return fs.errorf("journal holds transactions but needs_recovery is clear: run e2fsck")
		}
		return nil
	}
	j, err := jbd2.Open(journalMap{ip}, blockIO{fs.d, fs.bsize}, fs.bsize, uint32(nblocks), fs.sb.BlocksCount())
	if err != nil {
		fs.vc.Rele(uint64(ji))
		return fs.errorf("journal: %v", err)
	}
	jsbBlk, err := j.SuperblockBlock()
	fs.vc.Rele(uint64(ji))
	if err != nil {
		return fs.errorf("journal: %v", err)
	}
	if j.SB.Errno != 0 {
		fs.warnf("journal records error %d", j.SB.Errno)
	}
	var info jbd2.Info
	if fs.ro {
		ov := newOverlay(fs.d, fs.bsize)
		if info, err = j.Recover(ov); err != nil {
			return fs.errorf("journal recovery failed: %v (run e2fsck)", err)
		}
		fs.d = ov
	} else {
		if info, err = j.Recover(blockIO{fs.d, fs.bsize}); err != nil {
			// What was written is a replay of committed transactions,
			// and the log is still marked: e2fsck can run it again.
			return fs.errorf("journal recovery failed: %v (run e2fsck)", err)
		}
		if j.NeedsRecovery() {
			// The replayed blocks are durable before the log is let go.
			if err := fs.d.Sync(); err != nil {
				return fs.errorf("journal recovery: %v", err)
			}
			if _, err := fs.d.WriteAt(j.EmptySuperblock(info), int64(jsbBlk)*int64(fs.bsize)); err != nil {
				return fs.errorf("journal recovery: marking the journal empty: %v", err)
			}
			if err := fs.d.Sync(); err != nil {
				return fs.errorf("journal recovery: %v", err)
			}
		}
	}
	if info.FailedCommit != 0 {
		fs.warnf("journal transaction %d is corrupt; replay stopped before it", info.FailedCommit)
	}
	if err := fs.reload(); err != nil {
		return err
	}
	if info.Transactions > 0 {
		fs.warnf("recovered %d journal transactions (%d blocks)", info.Transactions, info.Replayed)
	}
	if !fs.ro {
		fs.sbDirty = true
		if err := fs.flush(true); err != nil {
			return fs.errorf("journal recovery: clearing needs_recovery: %v", err)
		}
	}
	return nil
}

// reload reads the superblock and group descriptors again after a replay
// and starts with empty caches. needs_recovery is cleared in memory; the
// free counts are summed from the group descriptors, as the kernel does
// at every mount (ext4_count_free_clusters): the superblock's copies are
// not kept current by a journalling kernel.
func (fs *fsys) reload() error {
	if err := fs.readSuper(); err != nil {
		return err
	}
	fs.sb.FeatureIncompat &^= IncompatRecover
	if err := fs.checkFeatures(); err != nil {
		return err
	}
	if err := fs.readGroups(); err != nil {
		return err
	}
	var fb, fi uint64
	for g := range fs.gds {
		fb += uint64(fs.gds[g].FreeBlocks())
		fi += uint64(fs.gds[g].FreeInodes())
	}
	// (With bigalloc the descriptors count clusters; leave those alone.)
	if fs.sb.RoCompat()&RoCompatBigalloc == 0 && fb <= fs.sb.BlocksCount() && fi <= uint64(fs.sb.InodesCount) {
		fs.sb.SetFreeBlocksCount(fb)
		fs.sb.FreeInodesCount = uint32(fi)
	}
	fs.cache = newBcache(fs.d, fs.bsize, cacheBlocks(fs.bsize))
	// Only the journal inode was loaded, from the image as it was before
	// the replay: start the inode cache afresh, with Mount's settings.
	v := &fs.vc
	load, inactive, reclaim, maxIdle := v.Load, v.Inactive, v.Reclaim, v.MaxIdle
	fs.vc = vfs.VCache[*inode]{Load: load, Inactive: inactive, Reclaim: reclaim, MaxIdle: maxIdle}
	return nil
}

// overlay is a read-only view of a device with replayed blocks on top:
// reads of those blocks return the journal's copy.
type overlay struct {
	dev.Device
	bsize  int
	blocks map[uint64][]byte
}

func newOverlay(d dev.Device, bsize int) *overlay {
	return &overlay{Device: d, bsize: bsize, blocks: map[uint64][]byte{}}
}

func (o *overlay) WriteBlock(blk uint64, p []byte) error {
	o.blocks[blk] = append([]byte(nil), p[:o.bsize]...)
	return nil
}

func (o *overlay) ReadAt(p []byte, off int64) (int, error) {
	n, err := o.Device.ReadAt(p, off)
	if err != nil || len(o.blocks) == 0 {
		return n, err
	}
	bs := int64(o.bsize)
	for b := off / bs; b*bs < off+int64(len(p)); b++ {
		src, ok := o.blocks[uint64(b)]
		if !ok {
			continue
		}
		lo, hi := max(b*bs, off), min((b+1)*bs, off+int64(len(p)))
		copy(p[lo-off:hi-off], src[lo-b*bs:hi-b*bs])
	}
	return n, nil
}

func (o *overlay) WriteAt([]byte, int64) (int, error) { return 0, dev.ErrReadOnly }
func (o *overlay) ReadOnly() bool                     { return true }
func (o *overlay) Sync() error                        { return nil }
