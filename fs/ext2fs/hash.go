package ext2fs

// Checksums and hashes of the format: crc32c for metadata_csum, crc16 for
// gdt_csum/uninit_bg, the directory-index name hashes (legacy, half-MD4,
// TEA; fs/ext4/hash.c describes them) and the xattr entry/block hashes.

import (
	"encoding/binary"
	"hash/crc32"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32c is the kernel's crc32c(seed, data): the raw CRC register without
// the final inversion, which is what ext4_chksum stores. Go's crc32.Update
// inverts on entry and exit, hence the complements.
func crc32c(seed uint32, b []byte) uint32 {
	return ^crc32.Update(^seed, castagnoli, b)
}

func crc32cU32(seed, v uint32) uint32 {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	return crc32c(seed, b[:])
}

// crc16 is the CRC-16 (poly 0x8005, reflected) that gdt_csum uses.
var crc16Table = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i)
		for j := 0; j < 8; j++ {
			if c&1 != 0 {
				c = c>>1 ^ 0xA001
			} else {
				c >>= 1
			}
		}
		t[i] = c
	}
	return
}()

func crc16(crc uint16, b []byte) uint16 {
	for _, x := range b {
		crc = crc>>8 ^ crc16Table[byte(crc)^x]
	}
	return crc
}

// dirHash computes the (major, minor) hash of name for a hash tree of the
// given version, seeded with s_hash_seed (all-zero seed means the default).
func dirHash(name []byte, version uint8, seed [4]uint32) (uint32, uint32) {
	buf := [4]uint32{0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476}
	if seed != [4]uint32{} {
		buf = seed
	}
	var hash, minor uint32
	unsigned := false
	switch version {
	case DxHashLegacyUnsigned:
		hash = dxHackHash(name, false)
	case DxHashLegacy:
		hash = dxHackHash(name, true)
	case DxHashHalfMD4Unsigned:
		unsigned = true
		fallthrough
	case DxHashHalfMD4:
		var in [8]uint32
		for p := name; ; p = p[32:] {
			str2hashbuf(p, in[:], unsigned)
			halfMD4(&buf, &in)
			if len(p) <= 32 {
				break
			}
		}
		hash, minor = buf[1], buf[2]
	case DxHashTeaUnsigned:
		unsigned = true
		fallthrough
	case DxHashTea:
		var in [4]uint32
		for p := name; ; p = p[16:] {
			str2hashbuf(p, in[:], unsigned)
			teaTransform(&buf, &in)
			if len(p) <= 16 {
				break
			}
		}
		hash, minor = buf[0], buf[1]
	default:
		return 0, 0
	}
	hash &^= 1
	if hash == DxHtreeEOF32<<1 {
		hash = (DxHtreeEOF32 - 1) << 1
	}
	return hash, minor
}

func dxHackHash(name []byte, signed bool) uint32 {
	h0, h1 := uint32(0x12a3fe2d), uint32(0x37abe8f9)
	for _, c := range name {
		v := uint32(c)
		if signed {
			v = uint32(int32(int8(c)))
		}
		h := h1 + (h0 ^ v*7152373)
		if h&0x80000000 != 0 {
			h -= 0x7fffffff
		}
		h1, h0 = h0, h
	}
	return h0 << 1
}

// str2hashbuf packs up to 4*len(out) bytes of msg into out, padding with a
// value derived from the length, signed or unsigned chars as the variant
// says.
func str2hashbuf(msg []byte, out []uint32, unsigned bool) {
	n := len(msg)
	pad := uint32(n) | uint32(n)<<8
	pad |= pad << 16
	val := pad
	num := len(out)
	if n > num*4 {
		n = num * 4
	}
	o := 0
	for i := 0; i < n; i++ {
		c := uint32(msg[i])
		if !unsigned {
			c = uint32(int32(int8(msg[i])))
		}
		val = c + val<<8
		if i%4 == 3 {
			out[o] = val
			o++
			val = pad
			num--
		}
	}
	num--
	if num >= 0 {
		out[o] = val
		o++
	}
	for num--; num >= 0; num-- {
		out[o] = pad
		o++
	}
}

func rol32(x uint32, s uint) uint32 { return x<<s | x>>(32-s) }

func halfMD4(buf *[4]uint32, in *[8]uint32) {
	a, b, c, d := buf[0], buf[1], buf[2], buf[3]
	f := func(x, y, z uint32) uint32 { return z ^ (x & (y ^ z)) }
	g := func(x, y, z uint32) uint32 { return (x & y) + ((x ^ y) & z) }
	h := func(x, y, z uint32) uint32 { return x ^ y ^ z }
	const k2, k3 = 013240474631, 015666365641
	type rf func(x, y, z uint32) uint32
	round := func(fn rf, a *uint32, b, c, d, x uint32, s uint) {
		*a = rol32(*a+fn(b, c, d)+x, s)
	}
	round(f, &a, b, c, d, in[0], 3)
	round(f, &d, a, b, c, in[1], 7)
	round(f, &c, d, a, b, in[2], 11)
	round(f, &b, c, d, a, in[3], 19)
	round(f, &a, b, c, d, in[4], 3)
	round(f, &d, a, b, c, in[5], 7)
	round(f, &c, d, a, b, in[6], 11)
	round(f, &b, c, d, a, in[7], 19)

	round(g, &a, b, c, d, in[1]+k2, 3)
	round(g, &d, a, b, c, in[3]+k2, 5)
	round(g, &c, d, a, b, in[5]+k2, 9)
	round(g, &b, c, d, a, in[7]+k2, 13)
	round(g, &a, b, c, d, in[0]+k2, 3)
	round(g, &d, a, b, c, in[2]+k2, 5)
	round(g, &c, d, a, b, in[4]+k2, 9)
	round(g, &b, c, d, a, in[6]+k2, 13)

	round(h, &a, b, c, d, in[3]+k3, 3)
	round(h, &d, a, b, c, in[7]+k3, 9)
	round(h, &c, d, a, b, in[2]+k3, 11)
	round(h, &b, c, d, a, in[6]+k3, 15)
	round(h, &a, b, c, d, in[1]+k3, 3)
	round(h, &d, a, b, c, in[5]+k3, 9)
	round(h, &c, d, a, b, in[0]+k3, 11)
	round(h, &b, c, d, a, in[4]+k3, 15)

	buf[0] += a
	buf[1] += b
	buf[2] += c
	buf[3] += d
}

func teaTransform(buf *[4]uint32, in *[4]uint32) {
	var sum uint32
	b0, b1 := buf[0], buf[1]
	a, b, c, d := in[0], in[1], in[2], in[3]
	for n := 0; n < 16; n++ {
		sum += 0x9E3779B9
		b0 += ((b1 << 4) + a) ^ (b1 + sum) ^ ((b1 >> 5) + b)
		b1 += ((b0 << 4) + c) ^ (b0 + sum) ^ ((b0 >> 5) + d)
	}
	buf[0] += b0
	buf[1] += b1
}

// xattrEntryHash is ext4_xattr_hash_entry: the name (unsigned chars) then
// the value in 32-bit little-endian words, zero padded.
func xattrEntryHash(name, value []byte) uint32 {
	var h uint32
	for _, c := range name {
		h = h<<5 ^ h>>27 ^ uint32(c)
	}
	for i := 0; i < len(value); i += 4 {
		var w [4]byte
		copy(w[:], value[i:])
		h = h<<16 ^ h>>16 ^ binary.LittleEndian.Uint32(w[:])
	}
	return h
}

// xattrBlockHash is ext4_xattr_rehash over the entry hashes.
func xattrBlockHash(hashes []uint32) uint32 {
	var h uint32
	for _, e := range hashes {
		if e == 0 {
			return 0
		}
		h = h<<16 ^ h>>16 ^ e
	}
	return h
}
