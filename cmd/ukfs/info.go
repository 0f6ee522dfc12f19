package main

import (
	"fmt"
	"strings"
)

func init() {
	register(&command{
		name: "info", args: "IMAGE", short: "show the file system's type, label, size, usage and state",
		readOnly: true, maxArgs: 0, json: true,
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
	unit := int64(st.Frsize)
	if unit == 0 {
		unit = int64(st.Bsize)
	}
	if e.json {
		extra := map[string]string{}
		for _, x := range info.Extra {
			extra[x.Key] = x.Value
		}
		feats := info.Features
		if feats == nil {
			feats = []string{}
		}
		return e.printJSON(struct {
			Image      string            `json:"image"`
			Type       string            `json:"type"`
			Label      string            `json:"label"`
			UUID       string            `json:"uuid,omitempty"`
			DeviceSize int64             `json:"device_size"`
			BlockSize  uint32            `json:"block_size"`
			Size       int64             `json:"size"`
			Free       int64             `json:"free"`
			Available  int64             `json:"available"`
			Files      uint64            `json:"files"`
			FilesFree  uint64            `json:"files_free"`
			NameMax    uint32            `json:"name_max"`
			Features   []string          `json:"features"`
			Clean      bool              `json:"clean"`
			ReadOnly   bool              `json:"read_only_format"`
			Extra      map[string]string `json:"extra,omitempty"`
		}{e.image, info.Type, info.Label, info.UUID, e.fs.Size(), st.Bsize,
			int64(st.Blocks) * unit, int64(st.Bfree) * unit, int64(st.Bavail) * unit,
			st.Files, st.Ffree, st.Namemax, feats, info.Clean, info.Type == "cd9660", extra})
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
