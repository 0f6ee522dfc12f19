package dev

import (
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Open opens spec, an image path (regular file or block device) optionally
// followed by a partition suffix (%DISKLABEL:e%, %MBR:2%, %GPT:1%,
// %OFFSET:start,size%), and returns the selected window of it.
//
// The image is opened O_RDONLY when readOnly is set (nothing is ever
// written to it) and O_RDWR otherwise; a block device opened read-write is
// opened O_EXCL as well, so the Linux kernel refuses it while it is mounted.
// The window is locked with an open-file-description byte-range lock (a
// read lock when readOnly, a write lock otherwise; the whole image without
// a suffix), so a second read-write open of an overlapping window, from
// this process or another, fails with "IMAGE: image is in use by pid N",
// while read-only opens can share an image. The lock goes with Close.
func Open(spec string, readOnly bool) (Device, error) {
	path, suffix := SplitSpec(spec)
	f, err := openImage(path, readOnly)
	if err != nil {
		return nil, err
	}
	var start, size int64
	if suffix != "" {
		start, size, err = window(f, suffix)
		if err != nil {
			f.Close()
			return nil, err
		}
	}
	// Without a suffix the lock runs to "end of file and beyond" (length
	// 0), as NetBSD's ukfs does, so it also covers every partition.
	if err := f.lock(start, size); err != nil {
		f.Close()
		return nil, err
	}
	if suffix == "" {
		return f, nil
	}
	return &sub{parent: f, start: start, size: size, name: f.name + suffix}, nil
}

// fileDevice is a whole image file or block device.
type fileDevice struct {
	f         *os.File
	name      string
	size      int64
	sector    int
	ro        bool
	ra        *raCache // read-ahead windows of a read-only image (readahead.go)
	closeOnce sync.Once
	closeErr  error
}

func openImage(path string, readOnly bool) (*fileDevice, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	mode := fi.Mode()
	isBlock := mode&os.ModeDevice != 0 && mode&os.ModeCharDevice == 0
	switch {
	case mode.IsDir():
		return nil, fmt.Errorf("%s: is a directory, not an image", path)
	case !mode.IsRegular() && !isBlock:
		return nil, fmt.Errorf("%s: not a regular file or block device", path)
	}
	flags := os.O_RDONLY
	if !readOnly {
		flags = os.O_RDWR
		if isBlock {
			flags |= unix.O_EXCL
		}
	}
	f, err := os.OpenFile(path, flags, 0)
	if err != nil {
		return nil, err
	}
	d := &fileDevice{f: f, name: path, ro: readOnly, sector: 512}
	if readOnly {
		d.ra = &raCache{}
	}
	if isBlock {
		sz, err := unix.IoctlGetUint64(int(f.Fd()), unix.BLKGETSIZE64)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: cannot get the device size: %w", path, err)
		}
		d.size = int64(sz)
		if ss, err := unix.IoctlGetInt(int(f.Fd()), unix.BLKSSZGET); err == nil && ss >= 512 && ss <= 65536 {
			d.sector = ss
		}
	} else {
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		d.size = st.Size()
	}
	return d, nil
}

func (d *fileDevice) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%s: negative offset %d", d.name, off)
	}
	if off >= d.size {
		return 0, io.EOF
	}
	want := len(p)
	if int64(want) > d.size-off {
		p = p[:d.size-off]
	}
	if d.ra != nil {
		if n, ok, err := d.ra.read(p, off, d.size, d.f.ReadAt); ok {
			if err == nil && n < want {
				err = io.EOF
			}
			return n, err
		}
	}
	n, err := d.f.ReadAt(p, off) // pread: safe for concurrent use
	if err == nil && n < want {
		err = io.EOF
	}
	return n, err
}

func (d *fileDevice) WriteAt(p []byte, off int64) (int, error) {
	if d.ro {
		return 0, ErrReadOnly
	}
	if off < 0 || off > d.size || int64(len(p)) > d.size-off {
		return 0, ErrOutOfRange
	}
	return d.f.WriteAt(p, off)
}

func (d *fileDevice) Size() int64     { return d.size }
func (d *fileDevice) SectorSize() int { return d.sector }
func (d *fileDevice) ReadOnly() bool  { return d.ro }
func (d *fileDevice) Name() string    { return d.name }

func (d *fileDevice) Sync() error {
	if d.ro {
		return nil
	}
	return d.f.Sync()
}

// Close closes the image, which drops its lock. Closing twice is harmless.
func (d *fileDevice) Close() error {
	d.closeOnce.Do(func() { d.closeErr = d.f.Close() })
	return d.closeErr
}
