package kern

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/rumpfs/rumpfs/dev"
)

// openDevice opens spec with dev.Open, turning the os package's
// "stat IMAGE: reason" into "IMAGE: reason" for one-line messages.
func openDevice(spec string, readOnly bool) (dev.Device, error) {
	d, err := dev.Open(spec, readOnly)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s: %w", spec, pe.Err)
		}
		return nil, err
	}
	return d, nil
}

// listPartitions describes the partitions of the tables found on d, one
// line each ("%MBR:1% start 1048576 size ... 0x83 Linux"), or nothing.
func listPartitions(d dev.Device) []string {
	parts, err := dev.Partitions(d)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		out = append(out, "  "+p.String())
	}
	return out
}
