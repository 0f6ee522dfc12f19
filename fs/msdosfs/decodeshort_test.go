package msdosfs

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
)

// TestDecodeShortASCIIFastPath checks the all-ASCII short-name decoder
// against the rune-by-rune rule (trailing spaces dropped from each part,
// the NT flags lower-casing every letter, a dot only before a non-empty
// extension), on random ASCII names with every flag combination.
func TestDecodeShortASCIIFastPath(t *testing.T) {
	ref := func(n [11]byte, lb, lx bool) string {
		part := func(b []byte, lower bool) string {
			s := strings.TrimRight(string(b), " ")
			if lower {
				s = strings.Map(unicode.ToLower, s)
			}
			return s
		}
		base, ext := part(n[:8], lb), part(n[8:], lx)
		if ext == "" {
			return base
		}
		return base + "." + ext
	}
	r := rand.New(rand.NewPCG(5, 6))
	const chars = "ABCXYZ019_-~!$ abcz"
	for range 2000 {
		var n [11]byte
		for i := range n {
			n[i] = chars[r.IntN(len(chars))]
		}
		if r.IntN(4) == 0 {
			copy(n[8:], "   ")
		}
		for _, f := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			if got, want := decodeShort(n, f[0], f[1]), ref(n, f[0], f[1]); got != want {
				t.Fatalf("decodeShort(%q, %v, %v) = %q, want %q", n[:], f[0], f[1], got, want)
			}
		}
	}
}
