package main

import (
	"archive/tar"
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/rumpfs/rumpfs/ukfs"
	"github.com/rumpfs/rumpfs/vfs"
)

func init() {
	register(&command{
		name: "tar", args: "IMAGE [PATH]", short: "write a POSIX tar stream of a tree to standard output",
		readOnly: true, maxArgs: 1,
		run: runTar,
	})
}

// runTar writes the tree at PATH (default the root) as a pax archive
// (POSIX.1-2001, archive/tar): owners as numbers (an image's ids mean
// nothing on this host, so no user names are looked up), modes with the
// set-ID and sticky bits, modification and access times to the
// nanosecond, hard links as links to the first name, symlinks, device
// nodes and fifos. Names are relative to PATH, "./" being PATH itself, as
// `tar -C PATH -cf - .` would write them.
func runTar(e *env, _ any, args []string) error {
	root := "/"
	if len(args) == 1 {
		root = args[0]
	}
	a, err := e.fs.Proc().Lstat(root)
	if err != nil {
		_, err = e.fs.Lstat(root)
		return err
	}
	bw := bufio.NewWriterSize(e.stdout, 1<<20)
	t := &tarrer{e: e, tw: tar.NewWriter(bw), links: map[uint64]string{}}
	t.prog = e.newProgress("tar", func() int64 { return treeBytes(e, root) })
	defer t.prog.finish()
	if a.IsDir() {
		t.add(root, "./", &a)
	} else {
		t.add(root, baseName(root), &a)
	}
	if t.err != nil {
		return t.err
	}
	if err := t.tw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

type tarrer struct {
	e     *env
	tw    *tar.Writer
	links map[uint64]string
	prog  *progress
	err   error // a write error on stdout ends everything
}

func (t *tarrer) add(p, name string, a *ukfs.Stat) {
	if t.err != nil {
		return
	}
	e := t.e
	h := &tar.Header{
		Name: name, Mode: int64(a.Mode & 07777), Uid: int(a.Uid), Gid: int(a.Gid),
		ModTime: a.Mtime, AccessTime: a.Atime, Format: tar.FormatPAX,
	}
	switch a.Type() {
	case vfs.S_IFDIR:
		h.Typeflag = tar.TypeDir
		if !strings.HasSuffix(h.Name, "/") {
			h.Name += "/"
		}
	case vfs.S_IFREG:
		if a.Nlink > 1 {
			if first, ok := t.links[a.Ino]; ok {
				h.Typeflag, h.Linkname = tar.TypeLink, first
				break
			}
			t.links[a.Ino] = name
		}
		h.Typeflag, h.Size = tar.TypeReg, int64(a.Size)
	case vfs.S_IFLNK:
		target, err := e.fs.Readlink(p)
		if err != nil {
			e.warn(err)
			return
		}
		h.Typeflag, h.Linkname = tar.TypeSymlink, target
	case vfs.S_IFCHR, vfs.S_IFBLK:
		h.Typeflag = tar.TypeChar
		if a.Type() == vfs.S_IFBLK {
			h.Typeflag = tar.TypeBlock
		}
		h.Devmajor, h.Devminor = int64(major(a.Rdev)), int64(minor(a.Rdev))
	case vfs.S_IFIFO:
		h.Typeflag = tar.TypeFifo
	default:
		e.warn(fmt.Errorf("%s: %s: %s not archived", e.image, p, fileType(a)))
		return
	}
	if h.Typeflag == tar.TypeReg {
		// Open first: a file that cannot be read is reported and left
		// out, rather than leaving a header without its data.
		f, err := e.fs.OpenFile(p, os.O_RDONLY, 0)
		if err != nil {
			e.warn(err)
			return
		}
		defer f.Close()
		if t.err = t.tw.WriteHeader(h); t.err != nil {
			return
		}
		n, err := copyData(t.tw, f, t.prog)
		if err != nil || n != h.Size {
			// The header promised Size bytes; a short file would
			// corrupt the archive, so this ends it.
			if err == nil {
				err = fmt.Errorf("%s: %s: file changed size while archived", e.image, p)
			}
			t.err = err
		}
		return
	}
	if t.err = t.tw.WriteHeader(h); t.err != nil {
		return
	}
	if a.Type() != vfs.S_IFDIR {
		return
	}
	ents, err := e.fs.ReadDir(p)
	if err != nil {
		e.warn(err)
		return
	}
	prefix := h.Name // ends in "/"
	if prefix == "./" {
		prefix = ""
	}
	for _, de := range ents {
		fi, err := de.Info()
		if err != nil {
			e.warn(err)
			continue
		}
		t.add(join(p, de.Name()), prefix+de.Name(), fi.Sys().(*ukfs.Stat))
	}
}

// treeBytes is the size of the regular files under p, for progress bars.
func treeBytes(e *env, p string) int64 {
	a, err := e.fs.Proc().Lstat(p)
	if err != nil {
		return 0
	}
	if !a.IsDir() {
		if a.Type() == vfs.S_IFREG {
			return int64(a.Size)
		}
		return 0
	}
	var n int64
	ents, _ := e.fs.ReadDir(p)
	for _, de := range ents {
		n += treeBytes(e, join(p, de.Name()))
	}
	return n
}
