// Package dev is the bottom layer of rumpfs: a block device over an image
// file or a real block device.
//
// A Device is a window of bytes [0, Size) with bounded ReadAt and WriteAt: a
// request that reaches past the window fails with io.EOF (reads) or
// ErrOutOfRange (writes) instead of touching bytes outside it, so a file
// system that trusts a corrupt block pointer can never read or damage data
// beyond its partition. Partition suffixes on the image path
// (%DISKLABEL:e%, %MBR:2%, %GPT:1%, %OFFSET:start,size%) choose the window.
//
// Entry points:
//
//   - Open opens an image path (regular file or block device) with an
//     optional partition suffix and locks the window (see lock.go);
//   - Select picks a window of an already open Device by suffix, and
//     SplitSpec separates a spec into path and suffix;
//   - Partitions lists the disklabel, MBR and GPT partitions of a whole
//     image, so that an image holding partitions and no file system at
//     offset 0 can be refused with the list (Partition.Suffix names each);
//   - NewMem is a Device over a byte slice, for tests and fuzzing;
//   - Cache is a bounded write-back block cache for file-system metadata.
//
// The on-disk partition structures are decoded in mbr.go, gpt.go and
// disklabel.go, with their sizes pinned by a test.
//
// dev knows nothing of file systems.
package dev

import (
	"errors"
	"io"
)

// Device is what a file system mounts: a bounded, random-access byte range.
//
// ReadAt must be safe for concurrent use (file systems read in parallel).
// WriteAt on a read-only device returns ErrReadOnly and writes nothing.
type Device interface {
	io.ReaderAt
	io.WriterAt
	// Size is the length of the window in bytes.
	Size() int64
	// SectorSize is the device's logical sector size (512 for image files).
	SectorSize() int
	// ReadOnly reports whether the device was opened without write access.
	ReadOnly() bool
	// Sync makes every completed WriteAt durable (fsync of the image).
	Sync() error
	// Close releases the lock and the file. It does not Sync.
	Close() error
	// Name names the device in messages: the image path with its suffix.
	Name() string
}

var (
	// ErrReadOnly is returned by WriteAt on a device opened read-only.
	ErrReadOnly = errors.New("device is read-only")
	// ErrOutOfRange is returned by WriteAt for a range past the window.
	ErrOutOfRange = errors.New("access beyond the end of the device")
)
