package vfs

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/rumpfs/rumpfs/dev"
)

// The registry holds the file systems linked into the program. A file
// system's package registers itself in init, so linking it in (a blank
// import) is what makes it known, as NetBSD's rump component libraries do.
var (
	regMu    sync.RWMutex
	registry = map[string]FileSystem{}
)

// Register adds a file system type. Registering a name twice panics: it is
// a programming error.
func Register(fs FileSystem) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[fs.Name()]; dup {
		panic("vfs: file system registered twice: " + fs.Name())
	}
	registry[fs.Name()] = fs
}

// Lookup returns the registered file system called name.
func LookupFS(name string) (FileSystem, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	fs, ok := registry[name]
	return fs, ok
}

// FileSystems lists the registered names, sorted.
func FileSystems() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Probe names the file system on d: the first registered type, in name
// order, whose Probe accepts it.
func Probe(d dev.Device) (FileSystem, error) {
	for _, n := range FileSystems() {
		fs, _ := LookupFS(n)
		if fs.Probe(d) {
			return fs, nil
		}
	}
	return nil, fmt.Errorf("%s: no known file system found (tried %s)", d.Name(), strings.Join(FileSystems(), ", "))
}
