package layout

import "encoding/binary"

// CG is the fixed header of struct cg (fs.h); the inode bitmap, free
// fragment bitmap, cluster summary and cluster bitmap follow it at the
// offsets it gives, all inside one cylinder-group block of fs_cgsize
// bytes.
type CG struct {
	FirstField    int32
	Magic         int32
	OldTime       int32
	Cgx           uint32 // this cg's index
	OldNcyl       int16
	OldNiblk      int16
	Ndblk         uint32 // frags in this cg
	Cs            Csum
	Rotor         uint32
	Frotor        uint32
	Irotor        uint32
	Frsum         [MAXFRAG]uint32 // counts of free runs of 1..frag-1 frags
	OldBtotoff    int32
	OldBoff       int32
	Iusedoff      uint32 // byte offset of the used-inode bitmap
	Freeoff       uint32 // byte offset of the free-fragment bitmap
	Nextfreeoff   uint32
	Clustersumoff uint32 // byte offset of the cluster counts (int32)
	Clusteroff    uint32 // byte offset of the free-cluster bitmap
	Nclusterblks  uint32
	Niblk         uint32 // inodes in this cg
	Initediblk    uint32 // UFS2: inodes initialised so far
	Sparecon32    [3]int32
	Time          int64
	Sparecon64    [3]int64
}

// CGHeaderSize is the size of the fixed part of struct cg.
const CGHeaderSize = 168

// DecodeCG decodes the cg header at the start of b.
func DecodeCG(b []byte, bo binary.ByteOrder) (*CG, error) {
	cg := new(CG)
	if err := decode(b, bo, cg, CGHeaderSize); err != nil {
		return nil, err
	}
	return cg, nil
}

// Encode writes the header into b.
func (cg *CG) Encode(b []byte, bo binary.ByteOrder) error { return encode(b, bo, cg, CGHeaderSize) }
