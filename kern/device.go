package kern

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rumpfs/rumpfs/dev"
)

// openDevice is a stand-in for dev.Open until the dev package provides it:
// a whole image file, no partition suffixes, no lock.
func openDevice(spec string, readOnly bool) (dev.Device, error) {
	if strings.Contains(spec, "%") {
		return nil, fmt.Errorf("%s: partition suffixes are not supported yet", spec)
	}
	flag := os.O_RDWR
	if readOnly {
		flag = os.O_RDONLY
	}
	f, err := os.OpenFile(spec, flag, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &fileDevice{f: f, size: fi.Size(), ro: readOnly, name: spec}, nil
}

type fileDevice struct {
	f    *os.File
	size int64
	ro   bool
	name string
}

func (d *fileDevice) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= d.size {
		return 0, io.EOF
	}
	if rem := d.size - off; int64(len(p)) > rem {
		n, err := d.f.ReadAt(p[:rem], off)
		if err == nil {
			err = io.EOF
		}
		return n, err
	}
	return d.f.ReadAt(p, off)
}

func (d *fileDevice) WriteAt(p []byte, off int64) (int, error) {
	if d.ro {
		return 0, dev.ErrReadOnly
	}
	if off < 0 || off+int64(len(p)) > d.size {
		return 0, dev.ErrOutOfRange
	}
	return d.f.WriteAt(p, off)
}

func (d *fileDevice) Size() int64     { return d.size }
func (d *fileDevice) SectorSize() int { return 512 }
func (d *fileDevice) ReadOnly() bool  { return d.ro }
func (d *fileDevice) Sync() error     { return d.f.Sync() }
func (d *fileDevice) Close() error    { return d.f.Close() }
func (d *fileDevice) Name() string    { return d.name }

// listPartitions describes the partitions of a table at the start of d,
// one line each, or nothing if there is none.
func listPartitions(d dev.Device) []string {
	return nil
}
