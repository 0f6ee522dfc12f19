package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/rumpfs/rumpfs/kern"
)

type touchOpts struct {
	noCreate, atime, mtime bool
	stamp, date            string
}

func init() {
	register(&command{
		name: "touch", args: "[-c] [-a] [-m] [-t STAMP | -d DATE] IMAGE PATH...", short: "create files or set their times, as touch(1)",
		minArgs: 1, maxArgs: -1,
		flags: func(fs *pflag.FlagSet) any {
			o := &touchOpts{}
			fs.BoolVarP(&o.noCreate, "no-create", "c", false, "do not create missing files")
			fs.BoolVarP(&o.atime, "atime", "a", false, "change the access time only")
			fs.BoolVarP(&o.mtime, "mtime", "m", false, "change the modification time only")
			fs.StringVarP(&o.stamp, "time", "t", "", "use `[[CC]YY]MMDDhhmm[.SS]` instead of now")
			fs.StringVarP(&o.date, "date", "d", "", "use `DATE` (2006-01-02T15:04:05[.nnn][Z07:00], \"2006-01-02 15:04:05\", 2006-01-02, @UNIX)")
			return o
		},
		run: runTouch,
	})
}

func runTouch(e *env, opts any, args []string) error {
	o := opts.(*touchOpts)
	t := kern.UtimeNow
	switch {
	case o.stamp != "" && o.date != "":
		return &usageError{msg: "-t and -d are exclusive"}
	case o.stamp != "":
		tm, err := parseStamp(o.stamp)
		if err != nil {
			return &usageError{msg: err.Error()}
		}
		t = kern.Timespec{Time: tm}
	case o.date != "":
		tm, err := parseDate(o.date)
		if err != nil {
			return &usageError{msg: err.Error()}
		}
		t = kern.Timespec{Time: tm}
	}
	at, mt := t, t
	if o.atime && !o.mtime {
		mt = kern.UtimeOmit
	}
	if o.mtime && !o.atime {
		at = kern.UtimeOmit
	}
	for _, p := range args {
		err := e.fs.Proc().Utimes(p, at, mt)
		if errors.Is(err, syscall.ENOENT) && !o.noCreate {
			var f interface{ Close() error }
			f, err = e.fs.OpenFile(p, os.O_WRONLY|os.O_CREATE, 0666)
			if err != nil {
				e.warn(err)
				continue
			}
			f.Close()
			if t != kern.UtimeNow || at != mt {
				err = e.fs.Proc().Utimes(p, at, mt)
			}
		} else if errors.Is(err, syscall.ENOENT) {
			continue // -c: missing files are no error
		}
		if err != nil {
			e.warn(fmt.Errorf("%s: %s: %w", e.image, p, err))
		}
		if e.fileDone() {
			return errInterrupted
		}
	}
	return nil
}

// parseStamp reads touch -t: [[CC]YY]MMDDhhmm[.SS], local time.
func parseStamp(s string) (time.Time, error) {
	bad := fmt.Errorf("invalid date format %q", s)
	main, secs, hasSecs := strings.Cut(s, ".")
	for _, c := range main + secs {
		if c < '0' || c > '9' {
			return time.Time{}, bad
		}
	}
	now := time.Now()
	year := now.Year()
	switch len(main) {
	case 8:
	case 10:
		yy, _ := strconv.Atoi(main[:2])
		// POSIX: 69-99 are 19xx, 00-68 are 20xx.
		if yy >= 69 {
			year = 1900 + yy
		} else {
			year = 2000 + yy
		}
		main = main[2:]
	case 12:
		year, _ = strconv.Atoi(main[:4])
		main = main[4:]
	default:
		return time.Time{}, bad
	}
	n := func(i int) int { v, _ := strconv.Atoi(main[i : i+2]); return v }
	sec := 0
	if hasSecs {
		if len(secs) != 2 {
			return time.Time{}, bad
		}
		sec, _ = strconv.Atoi(secs)
	}
	mon, day, hh, mm := n(0), n(2), n(4), n(6)
	t := time.Date(year, time.Month(mon), day, hh, mm, sec, 0, time.Local)
	if mon < 1 || mon > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || sec > 60 || t.Day() != day {
		return time.Time{}, bad
	}
	return t, nil
}

// parseDate reads touch -d in a few unambiguous forms.
func parseDate(s string) (time.Time, error) {
	if rest, ok := strings.CutPrefix(s, "@"); ok {
		if sec, err := strconv.ParseInt(rest, 10, 64); err == nil {
			return time.Unix(sec, 0), nil
		}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999 -0700",
		"2006-01-02 15:04:05.999999999", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid date %q", s)
}
