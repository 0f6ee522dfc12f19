package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/rumpfs/rumpfs/internal/treetest"
)

// quietTB lets bench use treetest.Write, which reports through a
// testing.TB, outside a test: the first fatal error is kept and ends the
// writing goroutine's work.
type quietTB struct {
	testing.TB
	err string
}

func (q *quietTB) Helper() {}
func (q *quietTB) Fatalf(format string, args ...any) {
	if q.err == "" {
		q.err = fmt.Sprintf(format, args...)
	}
	panic(q)
}
func (q *quietTB) Errorf(format string, args ...any) {
	if q.err == "" {
		q.err = fmt.Sprintf(format, args...)
	}
}

// writeTree runs treetest.Write and turns its failure into an error.
func writeTree(dir string, tree *treetest.Tree) (err error) {
	tb := &quietTB{}
	defer func() {
		if r := recover(); r != nil {
			if r != any(tb) {
				panic(r)
			}
			err = errors.New(tb.err)
		}
	}()
	treetest.Write(tb, dir, tree)
	if tb.err != "" {
		return errors.New(tb.err)
	}
	return nil
}
