package main

import (
	"io"
	"os"
)

func init() {
	register(&command{
		name: "cat", args: "IMAGE PATH...", short: "write files to standard output",
		readOnly: true, minArgs: 1, maxArgs: -1,
		run: runCat,
	})
}

func runCat(e *env, _ any, args []string) error {
	for _, p := range args {
		f, err := e.fs.OpenFile(p, os.O_RDONLY, 0)
		if err != nil {
			e.warn(err)
			continue
		}
		if _, err := io.Copy(e.stdout, f); err != nil {
			e.warn(err)
		}
		f.Close()
	}
	return nil
}
