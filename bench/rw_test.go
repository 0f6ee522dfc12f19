package main

import (
	"strings"
	"testing"
)

// rwVerdicts takes the median of per-run ratios in "times better" terms:
// throughput divided for MB/s, inverted for ms.
func TestRWVerdicts(t *testing.T) {
	old, oldNotes := rwSections, rwNotes
	defer func() { rwSections, rwNotes = old, oldNotes }()
	rwSections = map[string]*rwSection{"x": {
		name:  "x",
		tools: []rwTool{{name: "rump_x", rump: true}, {name: "peer"}},
		targets: []rwTarget{
			{op: "read", tool: "rump_x", peer: "peer", min: 2, text: "read ≥ 2× peer"},
			{op: "walk", tool: "rump_x", peer: "peer", min: 1 / 0.7, text: "walk ≤ 0.7× peer"},
			{op: "tar", tool: "rump_x", peer: "peer", min: 1, text: "tar faster"},
		},
		maxRSS: 200 << 20,
	}}
	rwNotes = []string{"scaled"}
	res := []*result{
		{section: "x", tool: "rump_x", op: "read", unit: "MB/s", rump: true, values: []float64{100, 300, 500}, hwm: 300 << 20},
		{section: "x", tool: "peer", op: "read", unit: "MB/s", values: []float64{100, 100, 100}},
		{section: "x", tool: "rump_x", op: "walk", unit: "ms", rump: true, values: []float64{70}},
		{section: "x", tool: "peer", op: "walk", unit: "ms", values: []float64{100}},
	}
	var b strings.Builder
	rwVerdicts(&b, res)
	out := b.String()
	for _, want := range []string{
		"x target read ≥ 2× peer: 3.00x -> met",
		"x target walk ≤ 0.7× peer: 1.43x -> met",
		"x target tar faster: not measured",
		"x target rump_x max RSS < 200MiB: 300MiB -> MISSED",
		"note: scaled",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("verdicts lack %q:\n%s", want, out)
		}
	}
}

func TestFirstLines(t *testing.T) {
	if got := firstLines([]byte("a\nb\nc\nd\ne\n")); got != "a; b; c; ..." {
		t.Errorf("firstLines = %q", got)
	}
}
