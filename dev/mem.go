package dev

import (
	"fmt"
	"io"
	"sync"
)

// NewMem returns a Device over b, named "mem", with 512-byte sectors. The
// device uses b itself (no copy), so a test can look at what was written.
// It is for unit tests and fuzz targets.
func NewMem(b []byte, readOnly bool) Device {
	return &memDevice{b: b, ro: readOnly}
}

type memDevice struct {
	mu sync.RWMutex
	b  []byte
	ro bool
}

func (m *memDevice) ReadAt(p []byte, off int64) (int, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if off < 0 {
		return 0, fmt.Errorf("mem: negative offset %d", off)
	}
	if off >= int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *memDevice) WriteAt(p []byte, off int64) (int, error) {
	if m.ro {
		return 0, ErrReadOnly
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if off < 0 || off > int64(len(m.b)) || int64(len(p)) > int64(len(m.b))-off {
		return 0, ErrOutOfRange
	}
	return copy(m.b[off:], p), nil
}

func (m *memDevice) Size() int64     { return int64(len(m.b)) }
func (m *memDevice) SectorSize() int { return 512 }
func (m *memDevice) ReadOnly() bool  { return m.ro }
func (m *memDevice) Sync() error     { return nil }
func (m *memDevice) Close() error    { return nil }
func (m *memDevice) Name() string    { return "mem" }
