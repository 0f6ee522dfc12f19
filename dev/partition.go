package dev

import (
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Partition schemes, as they appear in suffixes.
const (
	SchemeDisklabel = "DISKLABEL"
	SchemeMBR       = "MBR"
	SchemeGPT       = "GPT"
	SchemeOffset    = "OFFSET"
)

// Partition is one entry of a partition table found on an image.
type Partition struct {
	Scheme string // SchemeDisklabel, SchemeMBR or SchemeGPT
	// Index is the 1-based partition number for MBR (1-4 primary, 5 and up
	// logical) and GPT, and the slot (0 for 'a') for a disklabel.
	Index int
	Start int64  // byte offset from the start of the image
	Size  int64  // bytes; -1 (with Start -1) if the table's range is invalid
	Type  string // e.g. "0x83 Linux", "Linux filesystem (0FC63DAF-...)", "4.2BSD"
	Label string // GPT partition name, "" otherwise

	mbrType uint8
}

// Suffix is the image-path suffix that selects p: "%MBR:2%", "%GPT:1%",
// "%DISKLABEL:e%".
func (p Partition) Suffix() string {
	if p.Scheme == SchemeDisklabel {
		return "%" + p.Scheme + ":" + string(rune('a'+p.Index)) + "%"
	}
	return fmt.Sprintf("%%%s:%d%%", p.Scheme, p.Index)
}

// String describes p for a listing: "%MBR:5% start 1048576 size 2097152 0x83 Linux".
func (p Partition) String() string {
	s := fmt.Sprintf("%s start %d size %d %s", p.Suffix(), p.Start, p.Size, p.Type)
	if p.Label != "" {
		s += fmt.Sprintf(" %q", p.Label)
	}
	return s
}

// errNoTable says a partition table of the asked kind is not there.
var errNoTable = errors.New("no partition table")

// Partitions lists every partition table found on d (the whole image): the
// disklabel, the MBR (primary and logical partitions) and the GPT, in that
// order. Corrupt or absent tables are left out; the error is for I/O
// failures only. The protective MBR entry of a valid GPT is not listed.
func Partitions(d Device) ([]Partition, error) {
	var all []Partition
	dl, err := readDisklabel(d)
	if err != nil && !isTableErr(err) {
		return nil, err
	}
	gpt, gerr := readGPT(d)
	if gerr != nil && !isTableErr(gerr) {
		return nil, gerr
	}
	mbr, merr := readMBR(d)
	if merr != nil && !isTableErr(merr) && len(mbr) == 0 {
		return nil, merr
	}
	all = append(all, dl...)
	for _, p := range mbr {
		if gerr == nil && p.mbrType == mbrTypeProtGPT {
			continue
		}
		all = append(all, p)
	}
	all = append(all, gpt...)
	return all, nil
}

// isTableErr reports whether err describes a missing or corrupt table, as
// opposed to an I/O error.
func isTableErr(err error) bool {
	var ioe *ioError
	return !errors.As(err, &ioe)
}

// ioError marks a failed read of the image.
type ioError struct{ err error }

func (e *ioError) Error() string { return e.err.Error() }
func (e *ioError) Unwrap() error { return e.err }

// readFull reads len(b) bytes at off; a short image is errNoTable (the
// table cannot be there), any other failure an ioError.
func readFull(d Device, b []byte, off int64) error {
	if off < 0 || off > d.Size() || int64(len(b)) > d.Size()-off {
		return errNoTable
	}
	n, err := d.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || isEOF(err) {
		return errNoTable
	}
	return &ioError{err}
}

func isEOF(err error) bool { return err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) }

// suffixRE matches a partition suffix at the end of an image spec.
var suffixRE = regexp.MustCompile(`%([A-Za-z]+):([^%]*)%$`)

// SplitSpec splits an image spec into the image path and its partition
// suffix ("%MBR:2%"), which is "" when there is none. A spec ending in
// %WORD:...% always has a suffix, even when WORD is not a known scheme
// (Select then refuses it by name).
func SplitSpec(spec string) (path, suffix string) {
	loc := suffixRE.FindStringIndex(spec)
	if loc == nil || loc[0] == 0 {
		return spec, ""
	}
	return spec[:loc[0]], spec[loc[0]:]
}

// window locates the byte range [start, start+size) that suffix selects in
// d (the whole image). It checks that the range lies inside d.
func window(d Device, suffix string) (start, size int64, err error) {
	name := d.Name()
	m := suffixRE.FindStringSubmatch(suffix)
	if m == nil || len(m[0]) != len(suffix) {
		return 0, 0, fmt.Errorf("%s: bad partition suffix %q (want %%DISKLABEL:a%%, %%MBR:n%%, %%GPT:n%%, or %%OFFSET:start,size%%)", name, suffix)
	}
	scheme, arg := strings.ToUpper(m[1]), m[2]
	var p Partition
	switch scheme {
	case SchemeOffset:
		start, size, err = parseOffset(arg)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %s: %v", name, suffix, err)
		}
		if start > d.Size() {
			return 0, 0, fmt.Errorf("%s: %s: start %d is past the end of the image (%d bytes)", name, suffix, start, d.Size())
		}
		if size == 0 {
			size = d.Size() - start
		}
		p = Partition{Scheme: SchemeOffset, Start: start, Size: size}
	case SchemeMBR, SchemeGPT:
		n, perr := strconv.Atoi(arg)
		if perr != nil || n < 1 {
			return 0, 0, fmt.Errorf("%s: bad %s partition number %q (want 1, 2, ...)", name, scheme, arg)
		}
		if p, err = findPartition(d, scheme, n); err != nil {
			return 0, 0, err
		}
	case SchemeDisklabel:
		if len(arg) != 1 || arg[0] < 'a' || arg[0] >= 'a'+dlMaxPartitions {
			return 0, 0, fmt.Errorf("%s: bad disklabel partition %q (want a letter a-%c)", name, arg, 'a'+dlMaxPartitions-1)
		}
		if p, err = findPartition(d, scheme, int(arg[0]-'a')); err != nil {
			return 0, 0, err
		}
	default:
		return 0, 0, fmt.Errorf("%s: unknown partition scheme %q in %s (want DISKLABEL, MBR, GPT or OFFSET)", name, m[1], suffix)
	}
	what := "partition " + suffix
	if p.Size < 0 {
		return 0, 0, fmt.Errorf("%s: %s has an invalid range in the partition table", name, what)
	}
	if p.Size == 0 {
		return 0, 0, fmt.Errorf("%s: %s is empty", name, what)
	}
	if p.Start < 0 || p.Start > d.Size() || p.Size > d.Size()-p.Start {
		return 0, 0, fmt.Errorf("%s: %s (start %d, size %d) extends past the end of the image (%d bytes)", name, what, p.Start, p.Size, d.Size())
	}
	return p.Start, p.Size, nil
}

func parseOffset(arg string) (start, size int64, err error) {
	a, b, _ := strings.Cut(arg, ",")
	start, err = strconv.ParseInt(strings.TrimSpace(a), 10, 64)
	if err != nil || start < 0 {
		return 0, 0, fmt.Errorf("bad start offset %q (want bytes)", a)
	}
	if strings.TrimSpace(b) != "" {
		size, err = strconv.ParseInt(strings.TrimSpace(b), 10, 64)
		if err != nil || size < 0 {
			return 0, 0, fmt.Errorf("bad size %q (want bytes, 0 for the rest of the image)", b)
		}
	}
	if size > math.MaxInt64-start {
		return 0, 0, fmt.Errorf("start %d + size %d overflows", start, size)
	}
	return start, size, nil
}

// findPartition finds partition index of scheme on d.
func findPartition(d Device, scheme string, index int) (Partition, error) {
	name := d.Name()
	var parts []Partition
	var err error
	var what string
	switch scheme {
	case SchemeMBR:
		parts, err = readMBR(d)
		what = "MBR"
		if err != nil && len(parts) > 0 && isTableErr(err) {
			err = nil
		}
	case SchemeGPT:
		parts, err = readGPT(d)
		what = "GPT"
	case SchemeDisklabel:
		parts, err = readDisklabel(d)
		what = "disklabel"
	}
	if errors.Is(err, errNoTable) {
		return Partition{}, fmt.Errorf("%s: no %s found", name, what)
	}
	if err != nil && !isTableErr(err) {
		return Partition{}, fmt.Errorf("%s: reading the %s: %w", name, what, err)
	}
	if err != nil {
		return Partition{}, fmt.Errorf("%s: %w", name, err)
	}
	var have []string
	for _, p := range parts {
		if p.Index == index {
			return p, nil
		}
		if scheme == SchemeDisklabel {
			have = append(have, string(rune('a'+p.Index)))
		} else {
			have = append(have, strconv.Itoa(p.Index))
		}
	}
	sort.Slice(have, func(i, j int) bool {
		if len(have[i]) != len(have[j]) {
			return len(have[i]) < len(have[j])
		}
		return have[i] < have[j]
	})
	label := strconv.Itoa(index)
	if scheme == SchemeDisklabel {
		label = string(rune('a' + index))
	}
	list := "none"
	if len(have) > 0 {
		list = strings.Join(have, " ")
	}
	return Partition{}, fmt.Errorf("%s: %s partition %s does not exist (partitions: %s)", name, what, label, list)
}

// Select returns the window of d (a whole image) that suffix names, e.g.
// "%MBR:5%"; an empty suffix returns d itself. The window's Name is
// d.Name()+suffix, and closing it closes d. A window reaching past the end
// of d is refused.
func Select(d Device, suffix string) (Device, error) {
	if suffix == "" {
		return d, nil
	}
	start, size, err := window(d, suffix)
	if err != nil {
		return nil, err
	}
	return &sub{parent: d, start: start, size: size, name: d.Name() + suffix}, nil
}

// sub is a window [start, start+size) of its parent device.
type sub struct {
	parent      Device
	start, size int64
	name        string
}

func (s *sub) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%s: negative offset %d", s.name, off)
	}
	if off >= s.size {
		return 0, io.EOF
	}
	want := len(p)
	if int64(want) > s.size-off {
		p = p[:s.size-off]
	}
	n, err := s.parent.ReadAt(p, s.start+off)
	if err == nil && n < want {
		err = io.EOF
	}
	return n, err
}

func (s *sub) WriteAt(p []byte, off int64) (int, error) {
	if s.parent.ReadOnly() {
		return 0, ErrReadOnly
	}
	if off < 0 || off > s.size || int64(len(p)) > s.size-off {
		return 0, ErrOutOfRange
	}
	return s.parent.WriteAt(p, s.start+off)
}

func (s *sub) Size() int64     { return s.size }
func (s *sub) SectorSize() int { return s.parent.SectorSize() }
func (s *sub) ReadOnly() bool  { return s.parent.ReadOnly() }
func (s *sub) Sync() error     { return s.parent.Sync() }
func (s *sub) Close() error    { return s.parent.Close() }
func (s *sub) Name() string    { return s.name }
func (s *sub) Offset() int64   { return s.start }
