package cd9660

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// assocChar prefixes the names of associated files (flag bit 2) in a
// listing without Rock Ridge, as NetBSD's ASSOCCHAR.
const assocChar = '='

// isoName translates a plain ISO 9660 or Joliet file identifier the way
// NetBSD's isofntrans does:
//   - Joliet identifiers are UCS-2 (UTF-16 here, so that surrogate pairs
//     written by newer tools decode) big-endian, converted to UTF-8;
//   - unless original (the "gens" option) the ";version" suffix is cut,
//     and a '.' just before it dropped ("README.;1" is "README");
//   - with casetrans (the default; "nocasetrans" / "nomaplcase" turn it
//     off) plain ISO upper-case letters become lower case; Joliet names
//     keep their case;
//   - an associated file gets a leading '='.
//
// The result is cut to vfs.NameMax bytes on a character boundary.
func isoName(raw []byte, joliet int, original, casetrans, assoc bool) string {
	var sb strings.Builder
	if assoc {
		sb.WriteByte(assocChar)
	}
	if joliet > 0 {
		u := make([]uint16, 0, len(raw)/2)
		for i := 0; i+1 < len(raw); i += 2 {
			u = append(u, uint16(raw[i])<<8|uint16(raw[i+1]))
		}
		runes := utf16.Decode(u)
		if !original {
			for i, r := range runes {
				if r == ';' {
					if i > 0 && runes[i-1] == '.' {
						i--
					}
					runes = runes[:i]
					break
				}
			}
		}
		for _, r := range runes {
			sb.WriteRune(r)
		}
	} else {
		b := raw
		if !original {
			if i := strings.IndexByte(string(b), ';'); i >= 0 {
				if i > 0 && b[i-1] == '.' {
					i--
				}
				b = b[:i]
			}
		}
		for _, c := range b {
			if casetrans && c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			sb.WriteByte(c)
		}
	}
	return clipName(sb.String())
}

// clipName cuts s to 255 bytes without splitting a UTF-8 sequence.
func clipName(s string) string {
	const max = 255
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// foldName is the key of a case-insensitive lookup: ASCII letters folded to
// upper case, as NetBSD's isofncmp (plain names) and strncasecmp
// (rrcaseins) compare; other bytes are compared as they are.
func foldName(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'a' && c <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'a' && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// validName reports whether a name read from disk can be handed up: not
// empty, not "." or "..", no '/' or NUL.
func validName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "/\x00")
}
