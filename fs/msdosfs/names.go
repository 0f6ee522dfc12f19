package msdosfs

// File names: decoding of 8.3 short names (code page 850, the NT
// lower-case flags, 0x05 for 0xE5), VFAT long names (UTF-16 with surrogate
// pairs) and the Windows basis-name algorithm with numeric tails (FAT spec
// §7 "Basis-Name Generation Algorithm", as NetBSD's unix2dosfn and
// uniqdosname do).

import (
	"strconv"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// oemToRune decodes one byte of a short name.
func oemToRune(c byte) rune {
	if c < 0x80 {
		return rune(c)
	}
	return cp850[c-0x80]
}

// decodeShort turns an 11-byte short name into its display form. lowerBase
// and lowerExt apply the NT flags (or the shortnames mount's lower-casing).
func decodeShort(n [11]byte, lowerBase, lowerExt bool) string {
	if n[0] == slotE5 {
		n[0] = 0xE5
	}
	// The common all-ASCII name is built in one buffer: it is decoded
	// for every entry each time a directory is parsed (twice for most),
	// and a rune at a time through a strings.Builder per part was most
	// of parsing a directory of files with long names.
	ascii := true
	for _, c := range n {
		ascii = ascii && c < 0x80
	}
	if ascii {
		var out [12]byte
		k := 0
		put := func(b []byte, lower bool) {
			end := len(b)
			for end > 0 && b[end-1] == ' ' {
				end--
			}
			for _, c := range b[:end] {
				if lower && 'A' <= c && c <= 'Z' {
					c += 'a' - 'A' // unicode.ToLower of an ASCII letter
				}
				out[k] = c
				k++
			}
		}
		put(n[:8], lowerBase)
		if n[8] != ' ' || n[9] != ' ' || n[10] != ' ' {
			out[k] = '.'
			k++
			put(n[8:], lowerExt)
		}
		return string(out[:k])
	}
	part := func(b []byte, lower bool) string {
		end := len(b)
		for end > 0 && b[end-1] == ' ' {
			end--
		}
		var sb strings.Builder
		for _, c := range b[:end] {
			r := oemToRune(c)
			if lower {
				// The flag lower-cases every letter of the part, not
				// only ASCII: Windows NT down-cases the whole name, Linux
				// vfat through the code page's lower table, NetBSD
				// through its Latin-1 u2l table ("ÜBER" flagged shows
				// "über"; mtools, writing it, means the same).
				r = unicode.ToLower(r)
			}
			sb.WriteRune(r)
		}
		return sb.String()
	}
	base := part(n[:8], lowerBase)
	ext := part(n[8:], lowerExt)
	if ext == "" {
		return base
	}
	return base + "." + ext
}

// fold is the key of case-insensitive lookup: FAT compares names
// upper-cased (Windows' upcase table; Unicode simple upper case here).
func fold(s string) string { return strings.ToUpper(s) }

// invalidLong are the characters Windows refuses in long names (besides
// control characters): " * / : < > ? \ |.
const invalidLong = "\"*/:<>?\\|"

// invalidShort are further characters not allowed in a short name; the
// basis-name algorithm replaces them with '_'.
const invalidShort = "+,;=[]"

// cleanName applies NetBSD's and Windows' rules to a name given by a user:
// trailing dots and spaces are dropped (unix2winfn), characters invalid on
// FAT give EINVAL and names over 255 UTF-16 units ENAMETOOLONG. It returns
// the name to store and its UTF-16 form.
func cleanName(name string) (string, []uint16, error) {
	if !utf8.ValidString(name) {
		return "", nil, syscall.EINVAL
	}
	name = strings.TrimRight(name, ". ")
	if name == "" {
		return "", nil, syscall.EINVAL
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7F || strings.ContainsRune(invalidLong, r) {
			return "", nil, syscall.EINVAL
		}
	}
	u := utf16.Encode([]rune(name))
	if len(u) > lfnMaxUnits {
		return "", nil, syscall.ENAMETOOLONG
	}
	return name, u, nil
}

func isShortChar(r rune) bool {
	switch {
	case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	case strings.ContainsRune("!#$%&'()-@^_`{}~", r):
		return true
	}
	return false
}

// exactShort reports whether name can be stored as a short entry alone:
// an 8.3 name of ASCII short-name characters whose base and extension are
// each all upper or all lower case (the NT flags record the latter, as
// Windows NT and mtools do). It returns the stored name and NT flags.
func exactShort(name string) (sn [11]byte, nt uint8, ok bool) {
	base, ext, hasDot := strings.Cut(name, ".")
	if strings.Contains(ext, ".") || len(base) == 0 || len(base) > 8 || len(ext) > 3 || (hasDot && ext == "") {
		return sn, 0, false
	}
	part := func(s string, dst []byte, flag uint8) bool {
		upper, lower := false, false
		for i := 0; i < len(s); i++ {
			c := rune(s[i])
			if c >= 'a' && c <= 'z' {
				lower = true
				c -= 'a' - 'A'
			} else if c >= 'A' && c <= 'Z' {
				upper = true
			}
			if !isShortChar(c) {
				return false
			}
			dst[i] = byte(c)
		}
		if upper && lower {
			return false
		}
		if lower {
			nt |= flag
		}
		return true
	}
	for i := range sn {
		sn[i] = ' '
	}
	if !part(base, sn[:8], ntLowerBase) || !part(ext, sn[8:], ntLowerExt) {
		return sn, 0, false
	}
	if sn[0] == 0xE5 {
		sn[0] = slotE5
	}
	return sn, nt, true
}

// basisName is the FAT spec's basis name of a long name: upper-cased,
// characters not representable replaced by '_', spaces and leading
// periods removed, up to 8 characters before the first period and 3 after
// the last. lossy says a character was replaced.
func basisName(name string) (sn [11]byte, lossy bool) {
	for i := range sn {
		sn[i] = ' '
	}
	conv := func(r rune) (byte, bool) {
		r = []rune(strings.ToUpper(string(r)))[0]
		if r < 0x80 && (isShortChar(r)) {
			return byte(r), false
		}
		return '_', true
	}
	s := strings.TrimLeft(strings.ReplaceAll(name, " ", ""), ".")
	if s != strings.TrimLeft(name, ".") {
		lossy = true // spaces removed: not an exact copy
	}
	lastDot := strings.LastIndexByte(s, '.')
	base, ext := s, ""
	if lastDot >= 0 {
		base, ext = s[:lastDot], s[lastDot+1:]
	}
	n := 0
	for _, r := range base {
		if r == '.' {
			lossy = true
			continue
		}
		if n == 8 {
			lossy = true
			break
		}
		c, l := conv(r)
		lossy = lossy || l
		sn[n] = c
		n++
	}
	if n == 0 {
		sn[0] = '_'
		lossy = true
	}
	n = 0
	for _, r := range ext {
		if n == 3 {
			lossy = true
			break
		}
		c, l := conv(r)
		lossy = lossy || l
		sn[8+n] = c
		n++
	}
	return sn, lossy
}

// withTail puts the numeric tail "~n" into a basis name, shortening the
// base so that base+tail fits in 8 characters.
func withTail(sn [11]byte, n int) [11]byte {
	tail := "~" + strconv.Itoa(n)
	end := 8
	for end > 0 && sn[end-1] == ' ' {
		end--
	}
	if end > 8-len(tail) {
		end = 8 - len(tail)
	}
	copy(sn[end:], tail)
	for i := end + len(tail); i < 8; i++ {
		sn[i] = ' '
	}
	return sn
}

// lfnUnits decodes the UTF-16 units of a long name set into a string,
// stopping at the 0x0000 terminator (0xFFFF is padding).
func lfnString(u []uint16) string {
	for i, c := range u {
		if c == 0 {
			u = u[:i]
			break
		}
	}
	return string(utf16.Decode(u))
}
