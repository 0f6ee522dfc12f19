package main

import (
	"errors"
	"os"
	"strings"
)

// fs-utils compatibility. NetBSD's fs-utils install one program per
// command (fsu_ls, fsu_cat, fsu_get, ...), all taking the image first:
//
//	fsu_ls [-t TYPE] [-o OPTS] [-f] IMAGE [--] [ls flags] [paths]
//
// (lib/fsu_mount.c: getopt stops at the first unknown option or the image;
// a "--" after the image ends fsu_mount's options.) FSU_TYPE, FSU_MNTOPTS
// and FSU_DEVICE stand for -t, -o and the image. ukfs behaves the same
// when it is invoked through a link of one of those names (make install
// creates them): fsu_X runs "ukfs X".

// fsuTools are fs-utils' programs (README "Utilities", plus fsu_ecp and
// fsu_write); every ukfs command is accepted under fsu_ too.
var fsuTools = []string{
	"cat", "chflags", "chmod", "chown", "cp", "df", "diff", "du", "ecp", "exec", "find", "get", "ln", "ls",
	"mkdir", "mkfifo", "mknod", "mv", "put", "rm", "rmdir", "stat", "touch", "write",
}

// fsuCommand maps a program name to the ukfs command it stands for.
func fsuCommand(prog string) (string, bool) {
	name, ok := strings.CutPrefix(prog, "fsu_")
	if !ok {
		return "", false
	}
	if name == "ecp" {
		return name, true
	}
	_, ok = commands[name]
	return name, ok
}

// fsuArgs turns fs-utils' argument order into ukfs's.
func fsuArgs(cmd string, args []string) ([]string, error) {
	var global []string
	if t := os.Getenv("FSU_TYPE"); t != "" {
		global = append(global, "-t", t)
	}
	if o := os.Getenv("FSU_MNTOPTS"); o != "" {
		global = append(global, "-o", o)
	}
	image := os.Getenv("FSU_DEVICE")
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-t" || a == "-o" || a == "-s":
			if i+1 >= len(args) {
				return nil, errors.New("option " + a + " needs an argument")
			}
			if a != "-s" { // -s: file-system specific mount flags, none here
				global = append(global, a, args[i+1])
			}
			i++
			continue
		case strings.HasPrefix(a, "-t") || strings.HasPrefix(a, "-o"):
			global = append(global, a[:2], a[2:])
			continue
		case a == "-f" || a == "-v":
			continue
		}
		break
	}
	rest := args[i:]
	if image == "" {
		if len(rest) == 0 || rest[0] == "--" {
			return nil, errors.New("missing IMAGE")
		}
		image, rest = rest[0], rest[1:]
	}
	if len(rest) > 0 && rest[0] == "--" {
		rest = rest[1:]
	}
	if cmd == "ecp" {
		// fsu_ecp [-gpRLv] IMAGE SRC... DEST: -g copies out (get), -p in
		// (put); ukfs's own -p of get/put means "preserve".
		cmd = ""
		var flags []string
		for len(rest) > 0 && strings.HasPrefix(rest[0], "-") && rest[0] != "-" {
			f := rest[0]
			rest = rest[1:]
			if f == "--" {
				break
			}
			keep := "-"
			for _, c := range f[1:] {
				switch c {
				case 'g':
					cmd = "get"
				case 'p':
					cmd = "put"
				case 'L': // follow symlinks: not supported, copy them as links
				default:
					keep += string(c)
				}
			}
			if keep != "-" {
				flags = append(flags, keep)
			}
		}
		if cmd == "" {
			return nil, errors.New("-g or -p should be specified")
		}
		rest = append(flags, rest...)
	}
	out := append(global, cmd, image)
	// After the image, flags and arguments come as the command takes
	// them; "--" keeps a leading "-name" from being read as a flag.
	return append(out, rest...), nil
}
