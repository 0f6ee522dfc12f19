package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	progs := map[string]func(){
		"ukfs": func() { os.Exit(realMain()) },
	}
	// The fs-utils names run the same binary, which looks at its name.
	for _, t := range fsuTools {
		progs["fsu_"+t] = func() { os.Exit(realMain()) }
	}
	testscript.Main(m, progs)
}

// oracles are the conditions [tool] of the scripts: the formats' own
// tools that build fixture images and check them after changes.
var oracles = map[string]bool{
	"xorriso": true, "sfdisk": true, "makefs": true, "mkfs.ext2": true, "e2fsck": true,
	"mkfs.fat": true, "mcopy": true, "fsck.fat": true, "tar": true,
	"debugfs": true, "mattrib": true,
}

// TestScripts runs testdata/*.txtar against the real ukfs binary. Fixture
// images are built inside the scripts by the formats' own tools; a script
// guarded by [!xorriso] is skipped when xorriso is missing, except in CI
// (CI=true), where a missing tool fails the test.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("TZ", "UTC")
			// Under -race every program exits through the race
			// runtime's atexit sleep (1 s by default); the scripts run
			// hundreds of ukfs commands.
			env.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch {
			case cond == "root":
				return os.Geteuid() == 0, nil
			case oracles[cond]:
				if _, err := exec.LookPath(cond); err != nil {
					if os.Getenv("CI") == "true" {
						return false, fmt.Errorf("%s is required in CI: %v", cond, err)
					}
					return false, nil
				}
				return true, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"ffscorrupt": ffsCorrupt, // fsck_test.go
			"cmptree":    cmpTree,    // tree_test.go
			// status N CMD ARGS... runs CMD and checks its exit status is N.
			"status": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 2 {
					ts.Fatalf("usage: status N command [args...]")
				}
				want, err := strconv.Atoi(args[0])
				if err != nil {
					ts.Fatalf("status: %v", err)
				}
				err = ts.Exec(args[1], args[2:]...)
				got := 0
				if err != nil {
					ee, ok := err.(*exec.ExitError)
					if !ok {
						ts.Fatalf("status: %v", err)
					}
					got = ee.ExitCode()
				}
				if got != want {
					ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
				}
			},
		},
	})
}
