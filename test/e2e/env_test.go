package e2e

import (
	"crypto/sha256"
	"hash"
	"os"
)

func isRoot() bool { return os.Geteuid() == 0 }

func canFUSE() bool {
	f, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// newHasher returns the hash used to compare streams.
func newHasher() hash.Hash { return sha256.New() }
