package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/creack/pty"

	"github.com/rumpfs/rumpfs/internal/fixture"
)

// TestProgressBar runs the real ukfs binary (the test binary under its
// name, on PATH through testscript.Main) on a pseudo-terminal: a get
// that runs past the bar's delay draws a bar with the bytes copied and
// the rate on standard error, a short one draws nothing, and with
// standard error not a terminal nothing is drawn either.
func TestProgressBar(t *testing.T) {
	fixture.Require(t, "mkfs.fat", "mcopy")
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0755); err != nil {
		t.Fatal(err)
	}
	// 6 MiB: several 256 KiB copy buffers, so the bar has something to
	// count, and still quick to copy.
	data := bytes.Repeat([]byte("0123456789abcdef"), 6<<20/16)
	if err := os.WriteFile(filepath.Join(src, "big.bin"), data, 0644); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "f.img")
	fixture.MkfsFAT(t, img, 16384)
	fixture.MCopyIn(t, img, src)

	get := func(t *testing.T, delay string) *exec.Cmd {
		out := t.TempDir()
		cmd := exec.Command("ukfs", "get", img, "/big.bin", out)
		cmd.Env = append(os.Environ(), "UKFS_TEST_PROGRESS_DELAY="+delay, "GORACE=atexit_sleep_ms=0")
		t.Cleanup(func() {
			if b, err := os.ReadFile(filepath.Join(out, "big.bin")); err != nil || !bytes.Equal(b, data) {
				t.Errorf("the copy is not the file (%v)", err)
			}
		})
		return cmd
	}

	t.Run("terminal", func(t *testing.T) {
		// A zero delay stands for a copy longer than the real one
		// (a second): the bar appears with the first bytes.
		out := runOnPty(t, get(t, "0s"))
		// The bar's first state (later ones are throttled, and the
		// last is cleared): its description, the bytes copied of the
		// file's 6 MiB, in IEC units, and the rate.
		if !strings.HasPrefix(strings.TrimLeft(out, "\r"), "get ") {
			t.Errorf("the bar does not start with its description; got %q", out)
		}
		if !regexp.MustCompile(`[0-9.]+ [KM]iB/6\.0 MiB`).MatchString(out) {
			t.Errorf("the bar does not show the bytes copied of 6.0 MiB; got %q", out)
		}
		if !regexp.MustCompile(`[0-9.]+ [KMGT]?i?B/s`).MatchString(out) {
			t.Errorf("the bar does not show a rate; got %q", out)
		}
		// Cleared at the end: the last thing written is a blank line.
		if !regexp.MustCompile(`\r +\r$`).MatchString(out) {
			t.Errorf("the bar is not cleared at the end; got %q", out)
		}
	})
	t.Run("short", func(t *testing.T) {
		// The real delay: a copy this small ends before a bar is due.
		if out := runOnPty(t, get(t, "1m")); out != "" {
			t.Errorf("a short copy drew on the terminal: %q", out)
		}
	})
	t.Run("not a terminal", func(t *testing.T) {
		cmd := get(t, "0s")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("ukfs get: %v\n%s", err, stderr.String())
		}
		if stdout.Len() != 0 || stderr.Len() != 0 {
			t.Errorf("output without a terminal: stdout %q, stderr %q", stdout.String(), stderr.String())
		}
	})
}

// runOnPty runs cmd with a pseudo-terminal of 100 columns as its standard
// input, output and error, and returns what it wrote there.
func runOnPty(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	var buf bytes.Buffer
	_, err = io.Copy(&buf, ptmx)
	// Linux reports the end of a pty whose other side is closed as EIO.
	if err != nil && !errors.Is(err, syscall.EIO) {
		t.Errorf("reading the terminal: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ukfs get on a terminal: %v\n%s", err, buf.String())
	}
	return buf.String()
}
