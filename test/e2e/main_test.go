// Package e2e holds the end-to-end proofs of the rump kernel core, run with
// rump_cd9660 and the ukfs API: images built by the oracle tools (xorriso,
// genisoimage, sfdisk, sgdisk) from trees the tests write, compared through
// a real FUSE mount served by the daemon in a subprocess and through ukfs
// without FUSE; read-only POSIX behaviour of the mount; partition suffixes;
// and hand-made corruptions.
//
// Tests needing root, /dev/fuse or an oracle tool skip when those are
// missing, and fail when CI=true. RUMPFS_BIG=1 makes the >4 GiB test read
// the whole file instead of sampling it.
package e2e

import (
	"fmt"
	"os"
	"testing"

	"github.com/rumpfs/rumpfs/internal/fixture"
)

// workDir holds the fixture images shared by the tests of this process.
var workDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "rumpfs-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	workDir = d
	code := fixture.Main(m)
	os.RemoveAll(workDir)
	os.Exit(code)
}
