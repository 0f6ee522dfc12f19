package ext2fs

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// TestDecodeInodeMatchesLayout checks the hand decoder of inodes against
// binary.Decode of the Inode struct (the layout the encoder writes), on
// random bytes: every field at its offset.
func TestDecodeInodeMatchesLayout(t *testing.T) {
	if n := binary.Size(Inode{}); n != InodeFullSize {
		t.Fatalf("Inode is %d bytes, want %d", n, InodeFullSize)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 100 {
		b := make([]byte, InodeFullSize)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		var fast, slow Inode
		decodeInode(b, &fast)
		decodeStruct(b, &slow)
		if fast != slow {
			t.Fatalf("decodeInode %+v\nbinary.Decode %+v", fast, slow)
		}
	}
}
