package dev

import (
	"encoding/binary"
	"testing"
)

// The on-disk structures must have exactly their specified sizes.
func TestLayoutSizes(t *testing.T) {
	for _, c := range []struct {
		name string
		v    any
		size int
	}{
		{"mbrEntry", mbrEntry{}, 16},
		{"mbrSector", mbrSector{}, 512},
		{"gptHeader", gptHeader{}, gptHeaderMinSize},
		{"gptEntry", gptEntry{}, gptEntryMinSize},
		{"disklabelHeader", disklabelHeader{}, dlHeaderSize},
		{"disklabelPartition", disklabelPartition{}, dlPartitionSize},
	} {
		if got := binary.Size(c.v); got != c.size {
			t.Errorf("binary.Size(%s) = %d, want %d", c.name, got, c.size)
		}
	}
}
