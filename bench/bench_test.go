package main

import "testing"

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"512MiB": 512 << 20, "1GiB": 1 << 30, "100M": 100 << 20, "4096": 4096, "8K": 8192} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "MiB", "-1", "1.5G", "x"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
}

func TestMedian(t *testing.T) {
	r := &result{values: []float64{5, 1, 3}}
	if m := r.median(); m != 3 {
		t.Errorf("median = %v", m)
	}
}
