package layout

import "time"

// unset is what an absent or unusable time stamp becomes: the epoch, as
// NetBSD's cd9660_tstamp_conv7 gives tv_sec 0.
var unset = time.Unix(0, 0).UTC()

// tzOffset converts a signed offset from GMT in 15-minute intervals. As
// NetBSD ("timezone offset is unreliable on some disks") an offset outside
// -48..+52 (-12h..+13h, the range ECMA-119 allows) is ignored.
func tzOffset(b byte) time.Duration {
	tz := int(int8(b))
	if tz < -48 || tz > 52 {
		return 0
	}
	return time.Duration(tz) * 15 * time.Minute
}

// DirTime is the 7-byte recording date and time of a directory record
// (ECMA-119 9.1.5): years since 1900, month, day, hour, minute, second and
// the offset from GMT in 15-minute units.
type DirTime [DirTimeSize]byte

// Time converts the stamp to UTC. An all-zero stamp (not specified) or one
// with impossible fields gives the epoch.
func (t DirTime) Time() time.Time {
	if t == (DirTime{}) {
		return unset
	}
	y, mo, d, h, mi, s := int(t[0])+1900, int(t[1]), int(t[2]), int(t[3]), int(t[4]), int(t[5])
	if mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 {
		return unset
	}
	return time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC).Add(-tzOffset(t[6]))
}

// DecTime is the 17-byte "dec-datetime" of volume descriptors, extended
// attributes and long-form RRIP TF entries (ECMA-119 8.4.26.1): 16 ASCII
// digits YYYYMMDDHHMMSScc and the GMT offset byte.
type DecTime [DecTimeSize]byte

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// Time converts the stamp to UTC; ok is false when it is not specified
// (all zero digits, as the standard says) or malformed.
func (t DecTime) Time() (time.Time, bool) {
	var v [7]int
	spans := [7][2]int{{0, 4}, {4, 6}, {6, 8}, {8, 10}, {10, 12}, {12, 14}, {14, 16}}
	for i, sp := range spans {
		n, ok := digits(t[sp[0]:sp[1]])
		if !ok {
			return unset, false
		}
		v[i] = n
	}
	if v[0] == 0 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60 {
		return unset, false
	}
	tm := time.Date(v[0], time.Month(v[1]), v[2], v[3], v[4], v[5], v[6]*10_000_000, time.UTC)
	return tm.Add(-tzOffset(t[16])), true
}
