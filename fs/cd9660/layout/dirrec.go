package layout

// File flags of a directory record (ECMA-119 9.1.6).
const (
	FlagHidden      = 0x01 // "existence": may be hidden from the user
	FlagDirectory   = 0x02
	FlagAssociated  = 0x04
	FlagRecord      = 0x08
	FlagProtection  = 0x10
	FlagMultiExtent = 0x80 // not the final record of a file
)

// DirectoryRecordHeader is the fixed part of a directory record (ECMA-119
// 9.1). The file identifier (NameLen bytes) follows, then a padding byte if
// NameLen is even, then the System Use area up to Length.
type DirectoryRecordHeader struct {
	Length        uint8
	ExtAttrLength uint8 // extended attribute record length in logical blocks
	Extent        Both32
	DataLength    Both32
	Recorded      DirTime
	Flags         uint8
	FileUnitSize  uint8 // interleaving; 0 for ordinary files
	InterleaveGap uint8
	VolumeSeq     Both16
	NameLen       uint8
}

// DirectoryRecord is a decoded record with its variable parts as slices of
// the buffer it came from.
type DirectoryRecord struct {
	DirectoryRecordHeader
	Name      []byte // file identifier, NameLen bytes
	SystemUse []byte // System Use area (SUSP entries), may be empty
}

// DecodeDirectoryRecord decodes the record at the start of b. b may be
// longer than the record; the record's Length must fit in b, be at least
// DirectoryRecordSize and hold the name, or ok is false.
func DecodeDirectoryRecord(b []byte) (r DirectoryRecord, ok bool) {
	if len(b) < DirectoryRecordSize {
		return r, false
	}
	if decode(b, &r.DirectoryRecordHeader) != nil {
		return r, false
	}
	n := int(r.Length)
	if n < DirectoryRecordSize || n > len(b) {
		return r, false
	}
	nameEnd := DirectoryRecordSize + int(r.NameLen)
	if nameEnd > n {
		return r, false
	}
	r.Name = b[DirectoryRecordSize:nameEnd]
	su := nameEnd
	if r.NameLen%2 == 0 {
		su++ // padding byte so the System Use area starts even
	}
	if su < n {
		r.SystemUse = b[su:n]
	}
	return r, true
}

// IsDot reports whether the record is a directory's "." (identifier 0x00).
func (r *DirectoryRecord) IsDot() bool { return len(r.Name) == 1 && r.Name[0] == 0 }

// IsDotDot reports whether the record is a directory's ".." (identifier 0x01).
func (r *DirectoryRecord) IsDotDot() bool { return len(r.Name) == 1 && r.Name[0] == 1 }

// ExtAttr is the fixed part of an extended attribute record (ECMA-119
// 9.5), read by NetBSD with the extatt mount option.
type ExtAttr struct {
	Owner             Both16
	Group             Both16
	Permissions       [2]byte
	Created           DecTime
	Modified          DecTime
	Expires           DecTime
	Effective         DecTime
	RecordFormat      uint8
	RecordAttributes  uint8
	RecordLength      Both16
	SystemID          [32]byte
	SystemUse         [64]byte
	Version           uint8
	EscapeSeqLength   uint8
	_                 [64]byte
	ApplicationUseLen Both16
}

// DecodeExtAttr decodes an extended attribute record.
func DecodeExtAttr(b []byte) (*ExtAttr, error) {
	var x ExtAttr
	if err := decode(b, &x); err != nil {
		return nil, err
	}
	return &x, nil
}
