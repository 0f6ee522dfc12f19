package main

import (
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/rumpfs/rumpfs/internal/fixture"
)

// ffsCorrupt is the testscript command `ffscorrupt IMAGE WHAT`: it
// damages an FFS image in place (fixture.CorruptFFS: cgmagic[:N], ncg,
// ptr:INO) for the fsck scripts.
func ffsCorrupt(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: ffscorrupt IMAGE cgmagic[:N]|ncg|ptr:INO")
	}
	if err := fixture.CorruptFFS(ts.MkAbs(args[0]), args[1]); err != nil {
		ts.Fatalf("ffscorrupt: %v", err)
	}
}
