package main

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/rumpfs/rumpfs/ukfs"
	"github.com/rumpfs/rumpfs/vfs"
)

func init() {
	register(&command{
		name: "diff", args: "IMAGE PATH1 PATH2", short: "compare two trees of the image, as fs-utils' fsu_diff",
		readOnly: true, minArgs: 2, maxArgs: 2,
		run: runDiff,
	})
}

// runDiff walks both trees in name order, as fsu_diff does, and reports
// in diff -rq's words: names only on one side, files whose type,
// contents, symlink target or device number differ. Exit status 1 when
// anything differs (fsu_diff and diff(1)); modes, owners and times are
// not compared, as neither compares them.
func runDiff(e *env, _ any, args []string) error {
	var a1, a2 ukfs.Stat
	var err error
	if a1, err = e.fs.Proc().Stat(args[0]); err != nil {
		_, err = e.fs.Stat(args[0])
		return err
	}
	if a2, err = e.fs.Proc().Stat(args[1]); err != nil {
		_, err = e.fs.Stat(args[1])
		return err
	}
	d := &differ{e: e}
	d.compare(args[0], args[1], &a1, &a2)
	if d.differ {
		return errFailed
	}
	return nil
}

type differ struct {
	e      *env
	differ bool
}

func (d *differ) report(format string, args ...any) {
	d.differ = true
	fmt.Fprintf(d.e.stdout, format+"\n", args...)
}

func (d *differ) compare(p1, p2 string, a1, a2 *ukfs.Stat) {
	if a1.Ino == a2.Ino && p1 == p2 {
		return
	}
	if a1.Type() != a2.Type() {
		d.report("File %s is a %s while file %s is a %s", p1, fileType(a1), p2, fileType(a2))
		return
	}
	switch a1.Type() {
	case vfs.S_IFDIR:
		d.compareDirs(p1, p2)
	case vfs.S_IFREG:
		if a1.Size != a2.Size || !d.sameContents(p1, p2) {
			d.report("Files %s and %s differ", p1, p2)
		}
	case vfs.S_IFLNK:
		t1, err1 := d.e.fs.Readlink(p1)
		t2, err2 := d.e.fs.Readlink(p2)
		if err1 != nil || err2 != nil {
			d.warn(err1, err2)
			return
		}
		if t1 != t2 {
			d.report("Symbolic links %s and %s differ", p1, p2)
		}
	case vfs.S_IFCHR, vfs.S_IFBLK:
		if a1.Rdev != a2.Rdev {
			d.report("Devices %s and %s differ", p1, p2)
		}
	}
}

func (d *differ) warn(errs ...error) {
	for _, err := range errs {
		if err != nil {
			d.e.warn(err)
		}
	}
}

func (d *differ) compareDirs(p1, p2 string) {
	e1, err1 := d.e.fs.ReadDir(p1)
	e2, err2 := d.e.fs.ReadDir(p2)
	if err1 != nil || err2 != nil {
		d.warn(err1, err2)
		return
	}
	i, j := 0, 0
	for i < len(e1) || j < len(e2) {
		switch {
		case j == len(e2) || i < len(e1) && e1[i].Name() < e2[j].Name():
			d.report("Only in %s: %s", p1, e1[i].Name())
			i++
		case i == len(e1) || e2[j].Name() < e1[i].Name():
			d.report("Only in %s: %s", p2, e2[j].Name())
			j++
		default:
			f1, err1 := e1[i].Info()
			f2, err2 := e2[j].Info()
			if err1 != nil || err2 != nil {
				d.warn(err1, err2)
			} else {
				d.compare(join(p1, e1[i].Name()), join(p2, e2[j].Name()), f1.Sys().(*ukfs.Stat), f2.Sys().(*ukfs.Stat))
			}
			i++
			j++
		}
	}
}

func (d *differ) sameContents(p1, p2 string) bool {
	f1, err1 := d.e.fs.OpenFile(p1, os.O_RDONLY, 0)
	f2, err2 := d.e.fs.OpenFile(p2, os.O_RDONLY, 0)
	if err1 != nil || err2 != nil {
		d.warn(err1, err2)
		if f1 != nil {
			f1.Close()
		}
		if f2 != nil {
			f2.Close()
		}
		return false
	}
	defer f1.Close()
	defer f2.Close()
	b1, b2 := make([]byte, 256<<10), make([]byte, 256<<10)
	for {
		n1, err1 := io.ReadFull(f1, b1)
		n2, err2 := io.ReadFull(f2, b2)
		if n1 != n2 || !bytes.Equal(b1[:n1], b2[:n2]) {
			return false
		}
		if err1 != nil || err2 != nil {
			if (err1 == io.EOF || err1 == io.ErrUnexpectedEOF) && (err2 == io.EOF || err2 == io.ErrUnexpectedEOF) {
				return true
			}
			d.warn(ignoreEOF(err1), ignoreEOF(err2))
			return false
		}
	}
}

func ignoreEOF(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return nil
	}
	return err
}
