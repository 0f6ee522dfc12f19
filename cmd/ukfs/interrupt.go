package main

import (
	"errors"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Interruption of changing commands. A Ctrl-C in the middle of a put or
// rm -r must not leave a half-written image: the signal only raises a
// flag, the copy and removal loops look at it between files (a file is
// always finished, so no inode is left half-built), and ukfsMain then
// unmounts, which flushes everything, as NetBSD's fs-utils do at exit
// (fsu_unmount through atexit).

var (
	sigFlag   atomic.Bool
	sigOnce   sync.Once
	sigClosed chan struct{} // closed on the first signal
)

// errInterrupted ends a command that stopped because of a signal.
var errInterrupted = errors.New("interrupted")

// catchInterrupts starts catching SIGINT and SIGTERM; the returned
// function stops.
func catchInterrupts() func() {
	sigFlag.Store(false)
	sigOnce = sync.Once{}
	sigClosed = make(chan struct{})
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-ch:
				sigFlag.Store(true)
				sigOnce.Do(func() { close(sigClosed) })
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}

// interrupted reports whether a signal asked the command to stop.
func interrupted() bool { return sigFlag.Load() }

// interruptC is closed when a signal arrives (nil, blocking forever, for
// read-only commands that do not catch signals).
func interruptC() <-chan struct{} { return sigClosed }

// testInterruptAfter is UKFS_TEST_SIGINT_AFTER: the test suite's way of
// pressing Ctrl-C at a known point. After that many files a changing
// command sends itself SIGINT and waits until the handler saw it, so the
// scripts check the real signal path deterministically.
var (
	testInterruptAfter = func() int {
		n, _ := strconv.Atoi(os.Getenv("UKFS_TEST_SIGINT_AFTER"))
		return n
	}()
	filesDone int
)

// fileDone is called by the copy and removal loops after each file; it
// reports whether the command must stop now.
func (e *env) fileDone() bool {
	filesDone++
	if testInterruptAfter > 0 && filesDone == testInterruptAfter && sigClosed != nil {
		syscall.Kill(os.Getpid(), syscall.SIGINT)
		select {
		case <-sigClosed:
		case <-time.After(5 * time.Second):
		}
	}
	return interrupted()
}
