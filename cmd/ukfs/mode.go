package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/rumpfs/rumpfs/vfs"
)

// modeChange is a chmod(1) mode: an octal number, or symbolic clauses
// "[ugoa]*([-+=]([rwxXst]*|[ugo]))+" separated by commas (POSIX chmod).
type modeChange struct {
	octal   bool
	abs     uint32
	clauses []modeClause
}

type modeClause struct {
	who uint32 // 0: none given (a, less the umask)
	ops []modeOp
}

type modeOp struct {
	op    byte   // '+', '-', '='
	perm  uint32 // from rwxst
	bigX  bool   // X: execute if a directory or already executable by someone
	copyf byte   // 'u', 'g', 'o': copy that class's bits; 0 otherwise
}

var whoBits = map[byte]uint32{'u': vfs.S_ISUID | 0700, 'g': vfs.S_ISGID | 0070, 'o': vfs.S_ISVTX | 0007, 'a': 07777}

func parseMode(s string) (*modeChange, error) {
	if s == "" {
		return nil, fmt.Errorf("invalid mode %q", s)
	}
	if s[0] >= '0' && s[0] <= '7' {
		n, err := strconv.ParseUint(s, 8, 32)
		if err != nil || n > 07777 {
			return nil, fmt.Errorf("invalid mode %q", s)
		}
		return &modeChange{octal: true, abs: uint32(n)}, nil
	}
	m := &modeChange{}
	for _, cl := range strings.Split(s, ",") {
		var c modeClause
		i := 0
		for ; i < len(cl) && strings.IndexByte("ugoa", cl[i]) >= 0; i++ {
			c.who |= whoBits[cl[i]]
		}
		if i == len(cl) {
			return nil, fmt.Errorf("invalid mode %q", s)
		}
		for i < len(cl) {
			op := modeOp{op: cl[i]}
			if strings.IndexByte("+-=", op.op) < 0 {
				return nil, fmt.Errorf("invalid mode %q", s)
			}
			i++
			if i < len(cl) && strings.IndexByte("ugo", cl[i]) >= 0 {
				op.copyf = cl[i]
				i++
			} else {
				for ; i < len(cl) && strings.IndexByte("rwxXst", cl[i]) >= 0; i++ {
					switch cl[i] {
					case 'r':
						op.perm |= 0444
					case 'w':
						op.perm |= 0222
					case 'x':
						op.perm |= 0111
					case 'X':
						op.bigX = true
					case 's':
						op.perm |= vfs.S_ISUID | vfs.S_ISGID
					case 't':
						op.perm |= vfs.S_ISVTX
					}
				}
			}
			c.ops = append(c.ops, op)
		}
		m.clauses = append(m.clauses, c)
	}
	return m, nil
}

// apply gives the new permission bits of a file with mode (type bits
// ignored); umask limits clauses without a who, as chmod(1).
func (m *modeChange) apply(mode uint32, isDir bool, umask uint32) uint32 {
	if m.octal {
		return m.abs
	}
	cur := mode & 07777
	for _, c := range m.clauses {
		who, mask := c.who, uint32(07777)
		if who == 0 {
			who, mask = 07777, ^umask&07777
		}
		for _, op := range c.ops {
			perm := op.perm
			if op.bigX && (isDir || cur&0111 != 0) {
				perm |= 0111
			}
			if op.copyf != 0 {
				var v uint32
				switch op.copyf {
				case 'u':
					v = cur >> 6 & 7
				case 'g':
					v = cur >> 3 & 7
				case 'o':
					v = cur & 7
				}
				perm = v<<6 | v<<3 | v
			}
			perm &= who & mask
			switch op.op {
			case '+':
				cur |= perm
			case '-':
				cur &^= perm
			case '=':
				// = clears the who bits (set-ID bits of directories
				// are kept unless named, as GNU chmod does).
				clear := who &^ (vfs.S_ISUID | vfs.S_ISGID | vfs.S_ISVTX)
				if !isDir {
					clear = who
				}
				cur = cur&^clear | perm
			}
		}
	}
	return cur
}
