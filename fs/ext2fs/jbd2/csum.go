package jbd2

import "hash/crc32"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32c is the kernel's crc32c(seed, buf, len): the reflected Castagnoli
// CRC without the final inversion, which is what jbd2_chksum computes.
func crc32c(seed uint32, b []byte) uint32 {
	return ^crc32.Update(^seed, castagnoli, b)
}

// crc32be is the kernel's crc32_be(seed, buf, len): the big-endian
// (MSB-first, not reflected) CRC-32, polynomial 0x04C11DB7, without
// inversions. JBD2_FEATURE_COMPAT_CHECKSUM sums transactions with it.
var crc32beTable = func() (t [256]uint32) {
	for i := range t {
		c := uint32(i) << 24
		for range 8 {
			if c&0x80000000 != 0 {
				c = c<<1 ^ 0x04C11DB7
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return
}()

func crc32be(crc uint32, b []byte) uint32 {
	for _, x := range b {
		crc = crc<<8 ^ crc32beTable[byte(crc>>24)^x]
	}
	return crc
}
