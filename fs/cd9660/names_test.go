package cd9660

import (
	"github.com/rumpfs/rumpfs/fs/cd9660/layout"
	"strings"
	"testing"
)

func utf16be(s string) []byte {
	var b []byte
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			hi, lo := 0xD800+(r>>10), 0xDC00+(r&0x3FF)
			b = append(b, byte(hi>>8), byte(hi), byte(lo>>8), byte(lo))
			continue
		}
		b = append(b, byte(r>>8), byte(r))
	}
	return b
}

func TestIsoName(t *testing.T) {
	for _, c := range []struct {
		raw                        []byte
		joliet                     int
		original, casetrans, assoc bool
		want                       string
	}{
		{[]byte("README.TXT;1"), 0, false, true, false, "readme.txt"},
		{[]byte("README.;1"), 0, false, true, false, "readme"},
		{[]byte("README.;1"), 0, true, true, false, "readme.;1"},
		{[]byte("README.TXT;1"), 0, false, false, false, "README.TXT"},
		{[]byte("DIR"), 0, false, true, false, "dir"},
		{[]byte("ASSOC;1"), 0, false, true, true, "=assoc"},
		{utf16be("Mixed Case.txt;1"), 3, false, true, false, "Mixed Case.txt"},
		{utf16be("emoji-😀.txt"), 3, false, true, false, "emoji-😀.txt"},
		{utf16be("日本語"), 1, false, true, false, "日本語"},
		{append(utf16be("odd"), 'x'), 3, false, true, false, "odd"},
		{utf16be("\U0001F600")[:2], 3, false, true, false, "\uFFFD"}, // lone surrogate
	} {
		if got := isoName(c.raw, c.joliet, c.original, c.casetrans, c.assoc); got != c.want {
			t.Errorf("isoName(%q) = %q, want %q", c.raw, got, c.want)
		}
	}
	long := isoName(utf16be(strings.Repeat("日", 200)), 3, false, false, false)
	if len(long) > 255 || len(long)%3 != 0 {
		t.Errorf("long name cut badly: %d bytes", len(long))
	}
	if foldName("abcÄz") != "ABCÄZ" {
		t.Errorf("foldName: %q", foldName("abcÄz"))
	}
}

func TestSLBuilder(t *testing.T) {
	type comp = struct {
		f byte
		s string
	}
	for _, c := range []struct {
		comps []comp
		want  string
	}{
		{[]comp{{8, ""}, {0, "usr"}, {0, "bin"}}, "/usr/bin"},
		{[]comp{{8, ""}}, "/"},
		{[]comp{{4, ""}, {0, "x"}}, "../x"},
		{[]comp{{2, ""}, {0, "x"}}, "./x"},
		{[]comp{{1, "abc"}, {0, "def"}, {0, "g"}}, "abcdef/g"},
	} {
		var b slBuilder
		for _, x := range c.comps {
			b.add(slComp(x.f, x.s))
		}
		if got, bad := b.result(); bad || got != c.want {
			t.Errorf("%v: %q %v, want %q", c.comps, got, bad, c.want)
		}
	}
	var b slBuilder
	b.add(slComp(0x40, "x"))
	if _, bad := b.result(); !bad {
		t.Error("unknown component flag accepted")
	}
}

func slComp(f byte, s string) (c slCompT) { c.Flags, c.Content = f, []byte(s); return }

type slCompT = layout.SLComponent
