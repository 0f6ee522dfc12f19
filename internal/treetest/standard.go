package treetest

import (
	"fmt"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Caps says what a format can hold, so that Standard builds the richest tree
// it can store. The same tree then runs through every front (FUSE, ukfs)
// and, as later file systems arrive, through every format.
type Caps struct {
	// NameMax is the longest name in bytes (a file and a directory of
	// exactly this length are added); 0 adds none.
	NameMax int
	// Depth is the deepest directory nesting (deep/d02/.../dNN, with a file
	// in the last); 0 means 3.
	Depth int
	// Short83 restricts every name to lower-case ASCII 8.3 (ISO 9660 level
	// 1, FAT without long names).
	Short83 bool
	// UTF8 adds non-ASCII names within Unicode's BMP; NonBMP adds names
	// outside it (which UCS-2 formats such as Joliet cannot hold).
	UTF8, NonBMP bool
	// Symlinks, Hardlinks and Specials (fifo, character and block device)
	// add those entries. Hard links are added for formats that store them
	// as copies too; Options.NoLinkIdentity then relaxes Compare.
	Symlinks, Hardlinks, Specials bool
	// Many is the size of the many-entry directory "many" (0: none).
	Many int
	// Large is the size of the generated file "large.bin" (0: none).
	Large int64
}

// Times used by Standard, chosen to cross interesting boundaries.
var (
	T1980     = time.Date(1980, 1, 2, 0, 0, 0, 0, time.UTC)                // FAT's and many formats' first years
	T2001     = time.Unix(1000000000, 0)                                   // a plain date
	T2038     = time.Unix(1<<31, 0)                                        // one second past 32-bit time_t
	T2099     = time.Date(2099, 12, 31, 23, 59, 58, 0, time.UTC)           // far future
	TFraction = time.Date(2010, 3, 4, 5, 6, 7, 500_000_000, time.UTC)      // half a second: formats truncate
	TLocal    = time.Date(2015, 7, 1, 23, 30, 0, 0, time.FixedZone("", 0)) // near midnight: time-zone offsets show
)

// Standard builds the common test tree for a format with capabilities c.
func Standard(c Caps) *Tree {
	t := New()
	depth := c.Depth
	if depth <= 0 {
		depth = 3
	}

	t.File("a", String("a\n"))
	t.File("empty", nil)
	e := t.File("small.txt", String("hello, world\n"))
	e.Uid, e.Gid, e.Mtime = 1000, 1000, T2001
	e = t.File("exec", String("#!/bin/sh\necho hi\n"))
	e.Perm, e.Uid, e.Gid = 0755, 4242, 4343
	e = t.File("secret", String("s3cr3t\n"))
	e.Perm, e.Uid, e.Gid = 0600, 65534, 65534
	e = t.File("readonly", String("ro\n"))
	e.Perm, e.Mtime = 0444, T1980
	e = t.File("suid", String("suid\n"))
	e.Perm = 04755
	e = t.File("sgid", String("sgid\n"))
	e.Perm, e.Gid = 02755, 100
	t.File("y2038", String("2038\n")).Mtime = T2038
	t.File("future", String("future\n")).Mtime = T2099
	t.File("frac", String("fraction\n")).Mtime = TFraction
	t.File("midnight", String("tz\n")).Mtime = TLocal
	// Sizes around a 2 KiB / 4 KiB block.
	t.File("odd.bin", Pattern{N: 2049, Seed: 2})
	t.File("blocks.bin", Pattern{N: 65536, Seed: 3})
	if c.Large > 0 {
		t.File("large.bin", Pattern{N: c.Large, Seed: 1})
	}

	e = t.Dir("dir")
	e.Perm, e.Uid, e.Gid, e.Mtime = 0750, 1000, 100, T2001
	t.File("dir/sub/file", String("in a subdirectory\n"))
	e = t.Dir("sticky")
	e.Perm = 01777
	t.File("sticky/tmpfile", String("x\n"))
	t.Dir("emptydir").Mtime = T1980

	// Deep nesting: past Rock Ridge's relocation depth (8) when asked.
	p := "deep"
	for i := 2; i <= depth; i++ {
		p += fmt.Sprintf("/d%02d", i)
	}
	t.Dir(p)
	t.File(p+"/leaf", String(fmt.Sprintf("depth %d\n", depth+1)))

	if !c.Short83 {
		t.File("with space", String("space\n"))
		t.File("dots.in.the.name.txt", String("dots\n"))
		t.File(".hidden", String("hidden\n"))
		t.File("MixedCase.TXT", String("case\n"))
		t.File("semi;colon", String("semicolon\n"))
	}
	if c.NameMax > 0 && !c.Short83 {
		t.File(longName("f", c.NameMax), String("long name\n"))
		d := longName("d", c.NameMax)
		t.File(d+"/"+longName("g", c.NameMax), String("long name in long dir\n"))
	}
	if c.UTF8 && !c.Short83 {
		t.File("ünïcødé.txt", String("latin\n"))
		t.File("日本語のファイル", String("japanese\n"))
		t.File("ελληνικά/файл", String("greek dir, russian file\n"))
	}
	if c.NonBMP && !c.Short83 {
		t.File("emoji-😀", String("astral\n"))
	}
	if c.Symlinks {
		t.Symlink("link-short", "a")
		t.Symlink("link-dir", "dir")
		t.Symlink("link-abs", "/etc/passwd")
		t.Symlink("link-dangling", "nowhere/at/all")
		t.Symlink("link-dotdot", "../outside")
		t.Symlink("link-long", strings.Repeat("component/", 40)+"end")
		e = t.Symlink("dir/sub/up", "../../a")
		e.Uid, e.Gid, e.Mtime = 1000, 1000, T2038
	}
	if c.Hardlinks {
		t.File("hl/orig", Pattern{N: 10000, Seed: 4})
		t.Link("hl/link1", "hl/orig")
		t.Link("hl/sub/link2", "hl/orig")
	}
	if c.Specials {
		t.Fifo("fifo")
		t.Device("chr", true, unix.Mkdev(1, 3))
		e = t.Device("blk", false, unix.Mkdev(7, 200))
		e.Perm, e.Uid, e.Gid = 0660, 0, 6
	}
	if c.Many > 0 {
		t.Dir("many")
		for i := 0; i < c.Many; i++ {
			t.File(fmt.Sprintf("many/f%04d", i), String(fmt.Sprintf("%d\n", i)))
		}
	}
	return t
}

// longName is a name of exactly n bytes starting with prefix.
func longName(prefix string, n int) string {
	if n <= len(prefix) {
		return prefix[:n]
	}
	return prefix + strings.Repeat("x", n-len(prefix))
}
