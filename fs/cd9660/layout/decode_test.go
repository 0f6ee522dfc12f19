package layout

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// TestDecodeFastPaths checks that the field-by-field decoders of the
// per-entry records give what binary.Decode gives, and refuse the same
// short buffers.
func TestDecodeFastPaths(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	check := func(name string, fast, slow any, size int) {
		t.Helper()
		for n := 0; n < 50; n++ {
			b := make([]byte, size+r.IntN(4))
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			if err := decode(b, fast); err != nil {
				t.Fatalf("%s: decode: %v", name, err)
			}
			if _, err := binary.Decode(b, binary.LittleEndian, slow); err != nil {
				t.Fatal(err)
			}
			if binary.Size(fast) != size {
				t.Fatalf("%s: size %d, want %d", name, binary.Size(fast), size)
			}
			fb, _ := binary.Append(nil, binary.LittleEndian, fast)
			sb, _ := binary.Append(nil, binary.LittleEndian, slow)
			if string(fb) != string(sb) {
				t.Fatalf("%s: fast decode %x, binary.Decode %x", name, fb, sb)
			}
			if decode(b[:size-1], fast) != ErrShort {
				t.Fatalf("%s: %d bytes decoded", name, size-1)
			}
		}
	}
	check("DirectoryRecordHeader", &DirectoryRecordHeader{}, &DirectoryRecordHeader{}, DirectoryRecordSize)
	check("SUSPHeader", &SUSPHeader{}, &SUSPHeader{}, 4)
	check("PX", &PX{}, &PX{}, PXSize110)
	check("PXSerial", &PXSerial{}, &PXSerial{}, 8)
}
