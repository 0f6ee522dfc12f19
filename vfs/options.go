package vfs

import (
	"fmt"
	"sort"
	"strings"
)

// Options are mount options as given to -o: "ro,noatime,uid=1000" becomes
// {"ro": "", "noatime": "", "uid": "1000"}. Later ones win, except that
// "ro" and "rw" cancel each other as in mount(8).
type Options map[string]string

// ParseOptions parses a comma-separated option list into o (merging with
// what is there) and returns o. Empty items are ignored.
func ParseOptions(o Options, s string) Options {
	if o == nil {
		o = Options{}
	}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, _ := strings.Cut(item, "=")
		switch k {
		case "ro":
			delete(o, "rw")
		case "rw":
			delete(o, "ro")
		}
		o[k] = v
	}
	return o
}

// Has reports whether the flag k was given.
func (o Options) Has(k string) bool { _, ok := o[k]; return ok }

// Get returns the value of k.
func (o Options) Get(k string) (string, bool) { v, ok := o[k]; return v, ok }

// Check returns an error naming every option not in known, for a file
// system that refuses what it does not understand (as mount(8) does).
func (o Options) Check(fsname string, known ...string) error {
	var bad []string
	for k := range o {
		found := false
		for _, kn := range known {
			if k == kn {
				found = true
				break
			}
		}
		if !found {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return fmt.Errorf("%s: unknown mount option %s", fsname, strings.Join(bad, ", "))
}

// String gives the options back in -o form, sorted.
func (o Options) String() string {
	items := make([]string, 0, len(o))
	for k, v := range o {
		if v == "" {
			items = append(items, k)
		} else {
			items = append(items, k+"="+v)
		}
	}
	sort.Strings(items)
	return strings.Join(items, ",")
}
