package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// startProfile writes a CPU profile of the whole command to the file
// named by RUMPFS_CPUPROFILE, when set: the way to see where a ukfs
// command spends its time on a real image (go tool pprof ukfs FILE).
// The returned function stops it.
func startProfile() func() {
	name := os.Getenv("RUMPFS_CPUPROFILE")
	if name == "" {
		return func() {}
	}
	f, err := os.Create(name)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ukfs: RUMPFS_CPUPROFILE: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "ukfs: RUMPFS_CPUPROFILE: %v\n", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
