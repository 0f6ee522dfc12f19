package e2e

import "os"

func isRoot() bool { return os.Geteuid() == 0 }

func canFUSE() bool {
	f, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}
