package layout

// VolumeDescriptorHeader starts every volume descriptor (ECMA-119 8.1).
type VolumeDescriptorHeader struct {
	Type    uint8
	ID      [5]byte // "CD001"
	Version uint8
}

// DecodeVolumeDescriptorHeader decodes the first 7 bytes of b.
func DecodeVolumeDescriptorHeader(b []byte) (VolumeDescriptorHeader, error) {
	var h VolumeDescriptorHeader
	err := decode(b, &h)
	return h, err
}

// IsISO reports whether the header carries the standard identifier.
func (h *VolumeDescriptorHeader) IsISO() bool { return h.ID == StandardID }

// PrimaryVolumeDescriptor is the primary (type 1) or supplementary (type 2)
// volume descriptor; they share one layout (ECMA-119 8.4 and 8.5), the
// supplementary one using Flags and EscapeSequences, which are zero in a
// primary.
type PrimaryVolumeDescriptor struct {
	VolumeDescriptorHeader
	Flags                uint8 // SVD volume flags; bit 0: escape sequences not all registered
	SystemID             [32]byte
	VolumeID             [32]byte
	_                    [8]byte
	VolumeSpaceSize      Both32
	EscapeSequences      [32]byte // SVD only: Joliet's %/@ %/C %/E
	VolumeSetSize        Both16
	VolumeSequenceNumber Both16
	LogicalBlockSize     Both16
	PathTableSize        Both32
	TypeLPathTable       uint32 // little-endian
	OptTypeLPathTable    uint32
	TypeMPathTable       [4]byte // big-endian
	OptTypeMPathTable    [4]byte
	RootDirectoryRecord  [RootRecordSize]byte
	VolumeSetID          [128]byte
	PublisherID          [128]byte
	DataPreparerID       [128]byte
	ApplicationID        [128]byte
	CopyrightFileID      [37]byte
	AbstractFileID       [37]byte
	BibliographicFileID  [37]byte
	CreationTime         DecTime
	ModificationTime     DecTime
	ExpirationTime       DecTime
	EffectiveTime        DecTime
	FileStructureVersion uint8
	_                    uint8
	ApplicationUse       [512]byte
	_                    [653]byte
}

// DecodePrimaryVolumeDescriptor decodes a 2048-byte descriptor.
func DecodePrimaryVolumeDescriptor(b []byte) (*PrimaryVolumeDescriptor, error) {
	var p PrimaryVolumeDescriptor
	if err := decode(b, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// JolietLevel returns the Joliet UCS-2 level (1, 2 or 3) a supplementary
// descriptor announces, or 0. As NetBSD's iso_mountfs, a descriptor whose
// flags bit 0 is set (unregistered escape sequences) is not Joliet, and the
// escape sequence is matched on its first three bytes.
func (p *PrimaryVolumeDescriptor) JolietLevel() int {
	if p.Type != VDSupplementary || p.Flags&1 != 0 {
		return 0
	}
	switch string(p.EscapeSequences[:3]) {
	case "%/@":
		return 1
	case "%/C":
		return 2
	case "%/E":
		return 3
	}
	return 0
}

// BootRecord is a type-0 volume descriptor (ECMA-119 8.2); El Torito puts
// "EL TORITO SPECIFICATION" in BootSystemID.
type BootRecord struct {
	VolumeDescriptorHeader
	BootSystemID  [32]byte
	BootID        [32]byte
	BootSystemUse [1977]byte
}

// DecodeBootRecord decodes a boot record descriptor.
func DecodeBootRecord(b []byte) (*BootRecord, error) {
	var r BootRecord
	if err := decode(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// IsElTorito reports whether the boot record is an El Torito one.
func (r *BootRecord) IsElTorito() bool {
	return TrimID(r.BootSystemID[:]) == "EL TORITO SPECIFICATION"
}
