package main

import (
	"fmt"
	"strings"
)

func init() {
	register(&command{
		name: "info", args: "IMAGE", short: "show the file system's type, label, size, usage and state",
		readOnly: true, maxArgs: 0,
		run: runInfo,
	})
}

// humanSize renders n bytes as "372736 (364.0 KiB)".
func humanSize(n int64) string {
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB"}
	v := float64(n)
	u := ""
	for _, name := range units {
		if v < 1024 {
			break
		}
		v /= 1024
		u = name
	}
	if u == "" {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%d bytes (%.1f %s)", n, v, u)
}

func runInfo(e *env, _ any, _ []string) error {
	info := e.fs.Info()
	st, err := e.fs.Statfs()
	if err != nil {
		return err
	}
	w := e.stdout
	kv := func(k, v string) { fmt.Fprintf(w, "%-13s %s\n", k+":", v) }
	kv("type", info.Type)
	kv("label", info.Label)
	if info.UUID != "" {
		kv("uuid", info.UUID)
	}
	if n := e.fs.Size(); n >= 0 {
		kv("device size", humanSize(n))
	}
	unit := int64(st.Frsize)
	if unit == 0 {
		unit = int64(st.Bsize)
	}
	kv("block size", fmt.Sprint(st.Bsize))
	kv("size", humanSize(int64(st.Blocks)*unit))
	kv("free", humanSize(int64(st.Bfree)*unit))
	kv("available", humanSize(int64(st.Bavail)*unit))
	kv("files", fmt.Sprintf("%d (%d free)", st.Files, st.Ffree))
	kv("name max", fmt.Sprint(st.Namemax))
	feats := strings.Join(info.Features, " ")
	if feats == "" {
		feats = "-"
	}
	kv("features", feats)
	clean := "no"
	if info.Clean {
		clean = "yes"
	}
	kv("clean", clean)
	for _, x := range info.Extra {
		kv(x.Key, x.Value)
	}
	return nil
}
