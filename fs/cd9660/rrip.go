package cd9660

import (
	"errors"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rumpfs/rumpfs/fs/cd9660/layout"
	"github.com/rumpfs/rumpfs/vfs"
)

// Bounds on SUSP continuation areas: a record's chain of CE areas may not
// revisit an area, have more than maxCEHops links or more than maxCEBytes
// in all; one area is at most maxCEArea bytes. Parsing one directory may
// read at most maxDirCEBytes of continuation areas in all, so that a
// hostile directory of many records with long chains stays cheap.
const (
	maxCEHops     = 1024
	maxCEBytes    = 4 << 20
	maxCEArea     = 64 << 10
	maxDirCEBytes = 64 << 20
)

var (
	errCELoop  = errors.New("SUSP continuation areas loop")
	errCELimit = errors.New("SUSP continuation chain too long")
	errCEBad   = errors.New("SUSP continuation area outside the image")
)

// walkSUSP calls fn for each SUSP entry of area and of the continuation
// areas CE entries chain to. ST ends an area; PD is padding. As NetBSD's
// cd9660_rrip_loop only version-1 entries are used. budget, if not nil, is
// decreased by the continuation bytes read and must stay positive.
func (m *mnt) walkSUSP(area []byte, budget *int64, fn func(e *layout.Entry)) error {
	var visited map[int64]bool
	hops, total := 0, 0
	for {
		var ce *layout.CE
	entries:
		for len(area) > 0 {
			e, ok := layout.NextEntry(area)
			if !ok {
				break
			}
			area = area[e.Length:]
			if e.Version != 1 {
				continue
			}
			switch e.Signature() {
			case "CE":
				if c, ok := layout.DecodeCE(e.Data); ok {
					ce = &c
				}
			case "ST":
				break entries
			case "PD":
			default:
				fn(&e)
			}
		}
		if ce == nil {
			return nil
		}
		blk, off, n := int64(ce.Block.LE()), int64(ce.Offset.LE()), int64(ce.Size.LE())
		if n == 0 {
			return nil
		}
		if n > maxCEArea || off >= m.bs {
			return errCEBad
		}
		pos := blk*m.bs + off
		if blk >= int64(m.blocks) || pos+n > m.devSize {
			return errCEBad
		}
		if visited == nil {
			visited = map[int64]bool{}
		}
		if visited[pos] {
			return errCELoop
		}
		visited[pos] = true
		hops++
		total += int(n)
		if hops > maxCEHops || total > maxCEBytes {
			return errCELimit
		}
		if budget != nil {
			if *budget -= n; *budget < 0 {
				return errCELimit
			}
		}
		buf := make([]byte, n)
		if err := m.readFull(buf, pos); err != nil {
			return err
		}
		area = buf
	}
}

// rrInfo is what the RRIP entries of one directory record say.
type rrInfo struct {
	hasPX                 bool
	mode, nlink, uid, gid uint32
	serial                uint32
	hasSerial             bool

	hasPN bool
	rdev  uint64

	name    string
	hasName bool

	isLink  bool
	target  string
	linkBad bool

	hasTF                      bool
	mtime, atime, ctime, btime time.Time
	hasM, hasA, hasC, hasB     bool

	cl, pl       uint32
	hasCL, hasPL bool
	re           bool
	zf           bool
}

// analyzeRR gathers the Rock Ridge entries of a record. rootDot says the
// record is the root's "." (whose SP skip is rrSkip0 rather than rrSkip).
// A continuation-chain error is returned with what was gathered. budget is
// walkSUSP's.
func (m *mnt) analyzeRR(rec *layout.DirectoryRecord, rootDot bool, budget *int64) (rrInfo, error) {
	var ri rrInfo
	su := rec.SystemUse
	skip := m.rrSkip
	if rootDot {
		skip = m.rrSkip0
	}
	if skip >= len(su) {
		return ri, nil
	}
	su = su[skip:]

	var name []byte
	nameDone, nameBad := false, false
	var sl slBuilder
	slDone := false
	err := m.walkSUSP(su, budget, func(e *layout.Entry) {
		switch e.Signature() {
		case "PX":
			if p, serial, hasSerial, ok := layout.DecodePX(e.Data); ok && !ri.hasPX {
				ri.hasPX = true
				ri.mode, ri.nlink, ri.uid, ri.gid = p.Mode.LE(), p.Nlink.LE(), p.Uid.LE(), p.Gid.LE()
				ri.serial, ri.hasSerial = serial, hasSerial
			}
		case "PN":
			if p, ok := layout.DecodePN(e.Data); ok && !ri.hasPN {
				ri.hasPN = true
				ri.rdev = pnDev(p.High.LE(), p.Low.LE())
			}
		case "NM":
			flags, part, ok := layout.DecodeNM(e.Data)
			if !ok || nameDone {
				return
			}
			switch {
			case flags&layout.CompCurrent != 0:
				name = append(name[:0], '.')
				nameDone = true
			case flags&layout.CompParent != 0:
				name = append(name[:0], '.', '.')
				nameDone = true
			default:
				name = append(name, part...)
				if flags&layout.CompContinue == 0 {
					nameDone = true
				}
			}
			// NetBSD: a name over NAME_MAX is treated as no NM at all.
			if len(name) > vfs.NameMax {
				nameBad, nameDone = true, true
			}
		case "SL":
			if slDone {
				return
			}
			ri.isLink = true
			flags, comps, ok := layout.DecodeSL(e.Data)
			if !ok {
				sl.bad = true
				slDone = true
				return
			}
			for _, c := range comps {
				sl.add(c)
			}
			if flags&layout.CompContinue == 0 {
				slDone = true
			}
		case "TF":
			flags, stamps, ok := layout.DecodeTF(e.Data)
			if !ok || ri.hasTF {
				return
			}
			ri.hasTF = true
			conv := func(b []byte) (time.Time, bool) {
				if len(b) == layout.DecTimeSize {
					return layout.DecTime(b).Time()
				}
				return layout.DirTime(b).Time(), true
			}
			if flags&layout.TFCreation != 0 {
				ri.btime, ri.hasB = conv(stamps[0])
			}
			if flags&layout.TFModify != 0 {
				ri.mtime, ri.hasM = conv(stamps[1])
			}
			if flags&layout.TFAccess != 0 {
				ri.atime, ri.hasA = conv(stamps[2])
			}
			if flags&layout.TFAttributes != 0 {
				ri.ctime, ri.hasC = conv(stamps[3])
			}
		case "CL", "PL":
			c, ok := layout.DecodeCL(e.Data)
			if !ok {
				return
			}
			if e.Sig[0] == 'C' {
				ri.cl, ri.hasCL = c.Location.LE(), true
			} else {
				ri.pl, ri.hasPL = c.Location.LE(), true
			}
		case "RE":
			ri.re = true
		case "ZF":
			ri.zf = true
		}
	})
	if len(name) > 0 && !nameBad {
		ri.name, ri.hasName = string(name), true
	}
	if ri.isLink {
		ri.target, ri.linkBad = sl.result()
	}
	return ri, err
}

// pnDev converts a PN entry to a Linux device number the way NetBSD's
// cd9660_rrip_device reads it: with high 0, low is a whole 32-bit dev_t
// (major in bits 8-19, minor in bits 0-7 and 20-31; NetBSD's and Linux's
// encodings agree there, which is what xorriso writes); otherwise high is
// the major and low the minor. For the latter NetBSD takes minor(low),
// which equals low below 256 but drops bits 8-19 of the larger minors
// genisoimage writes (it splits a 64-bit dev_t into major and minor), so
// low is taken whole, as Linux's isofs does.
func pnDev(high, low uint32) uint64 {
	if high == 0 {
		major := (low & 0x000fff00) >> 8
		minor := (low & 0x000000ff) | ((low & 0xfff00000) >> 12)
		return unix.Mkdev(major, minor)
	}
	return unix.Mkdev(high, low)
}

// slBuilder assembles a symlink target from SL component records (RRIP
// 4.1.3): components are joined with '/', a CONTINUE component runs on
// into the next one, ROOT starts over from "/", CURRENT and PARENT are
// "." and "..". VOLROOT (the mount point, in NetBSD) is taken as ROOT
// since a userspace file system does not know where it is mounted; HOST is
// the host name as NetBSD inserts it.
type slBuilder struct {
	parts []string
	abs   bool
	cont  bool // the last component asked to be continued
	bad   bool
	n     int
}

func (s *slBuilder) add(c layout.SLComponent) {
	if s.bad {
		return
	}
	var text string
	switch c.Flags &^ layout.CompContinue {
	case 0:
		text = string(c.Content)
	case layout.CompCurrent:
		text = "."
	case layout.CompParent:
		text = ".."
	case layout.CompRoot, layout.CompVolRoot:
		s.parts, s.abs, s.cont = nil, true, false
		return
	case layout.CompHost:
		text, _ = os.Hostname()
	default:
		s.bad = true
		return
	}
	if s.cont && len(s.parts) > 0 {
		s.parts[len(s.parts)-1] += text
	} else {
		s.parts = append(s.parts, text)
	}
	s.cont = c.Flags&layout.CompContinue != 0
	s.n += len(text) + 1
	if s.n > vfs.PathMax {
		s.bad = true
	}
}

func (s *slBuilder) result() (string, bool) {
	if s.bad {
		return "", true
	}
	t := strings.Join(s.parts, "/")
	if s.abs {
		t = "/" + t
	}
	if t == "" || strings.IndexByte(t, 0) >= 0 {
		return "", true
	}
	return t, false
}
