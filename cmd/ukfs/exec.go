package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"syscall"

	"github.com/rumpfs/rumpfs/vfs"
)

// exec is fs-utils' fsu_exec (fsu_exec.c): "fsu_exec IMAGE COMMAND
// [ARGS...] FILE" copies FILE, the last argument, out of the image, runs
// the host command with the copy's path in its place, and copies the
// result back. As there, a FILE the image does not have yet is created
// when the command leaves one (fsu_exec img vi /new.txt), and the exit
// status is the command's. Unlike fsu_exec, which unlinks and recreates
// the file, the copy goes back only when its contents changed, and into
// the same file (its inode, links, owner, mode and flags are kept); a
// copy the command removed leaves the image's file as it was. The copy
// is named as in the image (FILE's last component), in a private
// temporary directory, so tools that look at names or extensions see
// the real one.
func init() {
	register(&command{
		name: "exec", args: "IMAGE COMMAND [ARGS...] FILE", short: "run a host command on a copy of an image file, copied back if changed (fsu_exec)",
		minArgs: 2, maxArgs: -1,
		// Everything after IMAGE is the command line, its flags included.
		parse: func(args []string) (any, []string, error) {
			if len(args) > 0 && args[0] == "--" {
				args = args[1:]
			}
			return nil, args, nil
		},
		run: runExec,
	})
}

// exitStatus ends ukfs with a given status (the command's, for exec).
type exitStatus int

func (s exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(s)) }

func runExec(e *env, _ any, args []string) error {
	name, argv := args[len(args)-1], args[:len(args)-1]
	p := e.fs.Proc()
	perr := func(op string, err error) error {
		return &fs.PathError{Op: op, Path: e.image + ": " + name, Err: err}
	}
	base := path.Base(path.Clean("/" + name))
	if base == "/" {
		return perr("exec", syscall.EISDIR)
	}
	a, err := p.Stat(name)
	existed := err == nil
	switch {
	case err != nil && !errors.Is(err, syscall.ENOENT):
		return perr("stat", err)
	case existed && a.IsDir():
		return perr("exec", syscall.EISDIR)
	case existed && a.Type() != vfs.S_IFREG:
		return fmt.Errorf("%s: %s: not a regular file", e.image, name)
	}
	dir, err := os.MkdirTemp("", "ukfs-exec-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	host := filepath.Join(dir, base)
	var before []byte
	if existed {
		// Readable and writable by the caller whatever the image's mode:
		// the command edits a copy, and the mode stays the image's.
		if before, err = copyOut(e, name, host, a.Mode&0777|0600); err != nil {
			return err
		}
	}
	cmd := exec.Command(argv[0], append(argv[1:], host)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = e.stdin, e.stdout, e.stderr
	runErr := cmd.Run()
	var ee *exec.ExitError
	if runErr != nil && !errors.As(runErr, &ee) {
		return fmt.Errorf("%s: %w", argv[0], runErr) // not started
	}
	if err := copyBack(e, name, host, existed, before); err != nil {
		return err
	}
	if ee != nil {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return exitStatus(128 + int(ws.Signal())) // as a shell reports it
		}
		return exitStatus(ee.ExitCode())
	}
	return nil
}

// copyOut copies the image file name to the new host file host and
// returns the SHA-256 of its contents.
func copyOut(e *env, name, host string, mode uint32) ([]byte, error) {
	in, err := e.fs.OpenPath(name)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	out, err := os.OpenFile(host, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fs.FileMode(mode))
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	_, err = copyData(io.MultiWriter(out, h), in, nil)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return h.Sum(nil), err
}

// copyBack writes the host copy into the image if the command changed
// it (or made it, for a file the image did not have).
func copyBack(e *env, name, host string, existed bool, before []byte) error {
	in, err := os.Open(host)
	if errors.Is(err, fs.ErrNotExist) {
		if existed {
			e.warn(fmt.Errorf("%s: %s: the command removed its copy; the file in the image is left as it was", e.image, name))
		}
		return nil
	}
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file, not copied back", host)
	}
	if existed {
		h := sha256.New()
		if _, err := io.Copy(h, in); err != nil {
			return err
		}
		if bytes.Equal(h.Sum(nil), before) {
			return nil
		}
		if _, err := in.Seek(0, io.SeekStart); err != nil {
			return err
		}
	}
	// In place: O_TRUNC keeps the inode; a new file gets the copy's
	// permissions less the umask, as put does.
	out, err := e.fs.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return err
	}
	_, err = copyData(out, in, nil)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
