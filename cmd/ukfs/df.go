package main

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

type dfOpts struct{ human bool }

func init() {
	register(&command{
		name: "df", args: "[-h] IMAGE", short: "show the file system's space and inode usage, as df(1)",
		readOnly: true, maxArgs: 0, json: true,
		flags: func(fs *pflag.FlagSet) any {
			o := &dfOpts{}
			fs.BoolVarP(&o.human, "human-readable", "h", false, "sizes in powers of 1024 (K, M, G)")
			return o
		},
		run: runDf,
	})
}

func runDf(e *env, opts any, _ []string) error {
	o := opts.(*dfOpts)
	st, err := e.fs.Statfs()
	if err != nil {
		return err
	}
	unit := uint64(st.Frsize)
	if unit == 0 {
		unit = uint64(st.Bsize)
	}
	size := st.Blocks * unit
	used := (st.Blocks - min(st.Bfree, st.Blocks)) * unit
	avail := st.Bavail * unit
	// df(1) rounds the percentage up, over used+available (the blocks
	// reserved for root are not offered to users).
	pct := uint64(0)
	if used+avail > 0 {
		pct = (used*100 + used + avail - 1) / (used + avail)
	}
	if e.json {
		return e.printJSON([]any{struct {
			Filesystem string `json:"filesystem"`
			Type       string `json:"type"`
			Size       uint64 `json:"size"`
			Used       uint64 `json:"used"`
			Available  uint64 `json:"available"`
			UsePercent uint64 `json:"use_percent"`
			Inodes     uint64 `json:"inodes"`
			InodesFree uint64 `json:"inodes_free"`
			MountedOn  string `json:"mounted_on"`
		}{e.image, e.fs.Type(), size, used, avail, pct, st.Files, st.Ffree, "/"}})
	}
	head := []string{"Filesystem", "Type", "1K-blocks", "Used", "Available", "Use%", "Mounted on"}
	row := []string{e.image, e.fs.Type(), fmt.Sprint(size / 1024), fmt.Sprint(used / 1024), fmt.Sprint(avail / 1024), fmt.Sprintf("%d%%", pct), "/"}
	if o.human {
		head[2], head[4] = "Size", "Avail"
		row[2], row[3], row[4] = humanBytes(size), humanBytes(used), humanBytes(avail)
	}
	// Names left-aligned, numbers right-aligned, as df(1).
	for i := range head {
		w := max(len(head[i]), len(row[i]))
		if i < 2 || i == 6 {
			head[i], row[i] = fmt.Sprintf("%-*s", w, head[i]), fmt.Sprintf("%-*s", w, row[i])
		} else {
			head[i], row[i] = fmt.Sprintf("%*s", w, head[i]), fmt.Sprintf("%*s", w, row[i])
		}
	}
	fmt.Fprintln(e.stdout, strings.TrimRight(strings.Join(head, " "), " "))
	fmt.Fprintln(e.stdout, strings.TrimRight(strings.Join(row, " "), " "))
	return nil
}

// humanBytes renders n as df -h and du -h do: powers of 1024, one
// decimal below 10 ("4.0K", "1.5M"), none above ("12M"), rounded up.
func humanBytes(n uint64) string {
	const units = "BKMGTPE"
	if n < 1024 {
		return fmt.Sprintf("%d", n)
	}
	v := float64(n)
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if v < 10 {
		// Round up to one decimal, as coreutils does.
		t := float64(int64(v*10+0.9999999)) / 10
		if t < 10 {
			return fmt.Sprintf("%.1f%c", t, units[i])
		}
		v = t
	}
	r := int64(v)
	if float64(r) < v {
		r++
	}
	if r >= 1024 && i < len(units)-1 {
		return fmt.Sprintf("1.0%c", units[i+1])
	}
	return fmt.Sprintf("%d%c", r, units[i])
}
