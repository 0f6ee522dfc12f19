//go:build !race

package ninep

// raceBuild: the race detector is on (see disconnectGrace).
const raceBuild = false
