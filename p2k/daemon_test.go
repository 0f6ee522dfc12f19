package p2k

import (
	"errors"
	"testing"

	"github.com/rumpfs/rumpfs/vfs"
)

// TestDaemonParse: -o options merge, a command's own flags become mount
// options (as mount_msdos -u and -9 would), and a read-only file system
// ignores rw.
func TestDaemonParse(t *testing.T) {
	d := &Daemon{FS: "msdos", Flags: []OptionFlag{
		{Name: "uid", Shorthand: "u", Option: "uid", Arg: "uid", Usage: "owner"},
		{Name: "nowin95", Shorthand: "9", Option: "nowin95", Usage: "ignore long names"},
		{Name: "mask", Shorthand: "m", Option: "mask", Arg: "mask"},
	}}
	inv, err := d.parse("rump_msdos", []string{"-u", "1000", "-9", "-o", "rw,foo=bar", "img%MBR:1%", "-o", "noatime,ro", "mnt"})
	if err != nil {
		t.Fatal(err)
	}
	if inv.image != "img%MBR:1%" || inv.mountpoint != "mnt" || inv.foreground {
		t.Errorf("parsed %+v", inv)
	}
	if got := inv.opts.String(); got != "foo=bar,noatime,nowin95,ro,uid=1000" {
		t.Errorf("options %q", got)
	}

	d.ReadOnly = true
	d.Adjust = func(o vfs.Options) error {
		if v, _ := o.Get("uid"); v == "nobody" {
			o["uid"] = "65534"
		}
		if o.Has("bad") {
			return errors.New("bad option")
		}
		return nil
	}
	inv, err = d.parse("rump_msdos", []string{"-f", "-o", "rw", "--uid=nobody", "img", "mnt"})
	if err != nil {
		t.Fatal(err)
	}
	if got := inv.opts.String(); got != "ro,uid=65534" || !inv.foreground {
		t.Errorf("read-only fs: options %q foreground %v", got, inv.foreground)
	}
	for _, args := range [][]string{{"img"}, {"-o", "bad", "img", "mnt"}, {"-x", "img", "mnt"}, {"-u"}} {
		if _, err := d.parse("rump_msdos", args); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}
