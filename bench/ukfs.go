package main

// The ukfs section: extracting files from an image to the host, `ukfs get`
// against the tool each format's users reach for today (issue "ukfs:
// every image operation without a mount"): debugfs for ext2, mtools'
// mcopy for FAT, xorriso's osirrox for ISO 9660. Each tool is a separate
// process, run the same way: output directory emptied, page cache dropped
// (when root), the command timed to its exit, its peak RSS taken from
// rusage. Two operations: a tree of -files small files (`get -R`) and the
// -size large file.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rumpfs/rumpfs/internal/treetest"
)

// extractTool is one way of copying a path out of an image into a host
// directory.
type extractTool struct {
	name string
	rump bool
	need []string
	pkgs []string
	// cmd returns the command copying the image path src (a directory
	// for "small", a file for "big") into the existing directory out.
	cmd func(e *env, img, src, out string, dir bool) *exec.Cmd
}

// extractFormat is an image format with its peer tool.
type extractFormat struct {
	name  string // section name in the report
	need  []string
	pkgs  []string
	build func(e *env, src, img string, size int64) error
	peer  extractTool
}

func ukfsSection() section {
	return section{
		name:   "ukfs",
		custom: runUkfsSection,
	}
}

var ukfsTool = extractTool{name: "ukfs get", rump: true, cmd: func(e *env, img, src, out string, dir bool) *exec.Cmd {
	if dir {
		return exec.Command(filepath.Join(e.bin, "ukfs"), "get", "-R", img, src, out)
	}
	return exec.Command(filepath.Join(e.bin, "ukfs"), "get", img, src, out)
}}

var extractFormats = []extractFormat{
	{
		name: "ukfs-ext2", need: []string{"mkfs.ext2", "debugfs"}, pkgs: []string{"e2fsprogs"},
		build: func(e *env, src, img string, size int64) error {
			// -d copies the tree in; 4 KiB blocks and enough inodes.
			return runTool("mkfs.ext2", "-q", "-F", "-b", "4096", "-N", fmt.Sprint(e.cfg.files+1000), "-d", src, img, fmt.Sprintf("%dk", size/1024))
		},
		peer: extractTool{name: "debugfs", cmd: func(e *env, img, src, out string, dir bool) *exec.Cmd {
			if dir {
				return exec.Command("debugfs", "-R", fmt.Sprintf("rdump %s %s", src, out), img)
			}
			return exec.Command("debugfs", "-R", fmt.Sprintf("dump %s %s", src, filepath.Join(out, filepath.Base(src))), img)
		}},
	},
	{
		name: "ukfs-fat", need: []string{"mkfs.fat", "mcopy"}, pkgs: []string{"dosfstools", "mtools"},
		build: func(e *env, src, img string, size int64) error {
			if err := runTool("mkfs.fat", "-F", "32", "-C", img, fmt.Sprint(size/1024)); err != nil {
				return err
			}
			ents, err := os.ReadDir(src)
			if err != nil {
				return err
			}
			args := []string{"-s", "-Q", "-i", img}
			for _, de := range ents {
				args = append(args, filepath.Join(src, de.Name()))
			}
			return runTool("mcopy", append(args, "::/")...)
		},
		peer: extractTool{name: "mcopy", cmd: func(e *env, img, src, out string, dir bool) *exec.Cmd {
			args := []string{"-n", "-Q", "-i", img}
			if dir {
				args = append(args, "-s")
			}
			return exec.Command("mcopy", append(args, "::"+src, out+"/")...)
		}},
	},
	{
		name: "ukfs-iso", need: []string{"xorriso"}, pkgs: []string{"xorriso"},
		build: func(e *env, src, img string, size int64) error {
			return runTool("xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-o", img, src)
		},
		peer: extractTool{name: "xorriso", cmd: func(e *env, img, src, out string, dir bool) *exec.Cmd {
			return exec.Command("xorriso", "-osirrox", "on", "-indev", img, "-extract", src, filepath.Join(out, filepath.Base(src)))
		}},
	},
}

func runTool(name string, args ...string) error {
	b, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, b)
	}
	return nil
}

func runUkfsSection(e *env) ([]*result, error) {
	if e.cfg.binDir == "" {
		cmd := exec.Command("go", "build", "-o", e.bin+"/", "./cmd/ukfs")
		cmd.Dir = e.module
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build ./cmd/ukfs: %v\n%s", err, b)
		}
	}
	// One source tree for every image: the large file and -files small
	// ones in directories of 100, sizes as in the cd9660 section.
	src := filepath.Join(e.cfg.work, "ukfs-src")
	stamp := fmt.Sprintf("size=%d files=%d\n", e.cfg.size, e.cfg.files)
	if b, err := os.ReadFile(src + ".stamp"); err != nil || string(b) != stamp {
		os.RemoveAll(src)
		tree := treetest.New()
		tree.File("big.bin", treetest.Pattern{N: e.cfg.size, Seed: 1})
		for i := 0; i < e.cfg.files; i++ {
			sz := int64((i * 7919) % 4096)
			if i%10 == 0 {
				sz = int64((i * 104729) % 16384)
			}
			tree.File(fmt.Sprintf("small/d%03d/f%05d.txt", i/100, i), treetest.Pattern{N: sz, Seed: uint64(i + 2)})
		}
		if err := os.MkdirAll(src, 0755); err != nil {
			return nil, err
		}
		if err := writeTree(src, tree); err != nil {
			return nil, err
		}
		if err := os.WriteFile(src+".stamp", []byte(stamp), 0644); err != nil {
			return nil, err
		}
	}
	if !e.cfg.keep {
		defer os.RemoveAll(src)
	}
	// Room for the data, a block per small file and the metadata.
	size := e.cfg.size + int64(e.cfg.files)*8192 + 64<<20
	var results []*result
	for _, f := range extractFormats {
		if err := e.ensure(append(f.need, f.peer.need...), f.pkgs); err != nil {
			e.logf("%s: skipped: %v", f.name, err)
			continue
		}
		img := filepath.Join(e.cfg.work, f.name+".img")
		if b, err := os.ReadFile(img + ".stamp"); err != nil || string(b) != stamp {
			start := time.Now()
			os.Remove(img)
			if err := f.build(e, src, img, size); err != nil {
				return nil, fmt.Errorf("%s: building the image: %v", f.name, err)
			}
			os.WriteFile(img+".stamp", []byte(stamp), 0644)
			e.logf("%s: image ready in %v", f.name, time.Since(start).Round(time.Millisecond))
		}
		for _, o := range []struct {
			name, src string
			dir       bool
		}{{"small", "/small", true}, {"big", "/big.bin", false}} {
			tools := []extractTool{ukfsTool, f.peer}
			rs := make([]*result, len(tools))
			for i, t := range tools {
				rs[i] = &result{section: f.name, tool: t.name, op: o.name, unit: "ms", rump: t.rump}
				results = append(results, rs[i])
			}
			// One untimed extraction first: the first one after the
			// previous operation's outputs were removed is slow
			// whichever tool it is (a 512 MiB get or mcopy right after
			// the small-file runs took 0.6-0.7 s, the next ones
			// 0.25-0.3 s, on the project's test machine).
			if _, _, err := e.extract(f.peer, img, o.src, o.dir); err != nil {
				e.logf("%s/%s/%s warm-up: %v", f.name, f.peer.name, o.name, err)
			}
			for run := 0; run < e.cfg.runs; run++ {
				// Each run swaps which tool goes first: a run can be
				// slowed by what the one before it left (the host file
				// system's bookkeeping of the output just removed), and
				// that must not always fall on the same tool.
				order := []int{0, 1}
				if run%2 == 1 {
					order = []int{1, 0}
				}
				for _, i := range order {
					t := tools[i]
					if rs[i].err != nil {
						continue
					}
					ms, rss, err := e.extract(t, img, o.src, o.dir)
					if err != nil {
						rs[i].err = err
						e.logf("%s/%s/%s: %v", f.name, t.name, o.name, err)
						continue
					}
					rs[i].values = append(rs[i].values, ms)
					rs[i].hwm = max(rs[i].hwm, rss)
				}
			}
		}
		if !e.cfg.keep {
			os.Remove(img)
			os.Remove(img + ".stamp")
		}
	}
	return results, nil
}

// extract runs one extraction into an empty directory, cold, and checks
// that the output has the expected size.
func (e *env) extract(t extractTool, img, src string, dir bool) (float64, int64, error) {
	out := filepath.Join(e.cfg.work, "ukfs-out")
	os.RemoveAll(out)
	if err := os.MkdirAll(out, 0755); err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(out)
	e.dropCaches()
	cmd := t.cmd(e, img, src, out, dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	ms := float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %v: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(stderr.String()))
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss * 1024
	}
	// Every tool must have produced everything: a fast tool that copied
	// nothing would win.
	var files int
	var bytes int64
	filepath.Walk(out, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			files++
			bytes += fi.Size()
		}
		return nil
	})
	if dir && files != e.cfg.files {
		return 0, 0, fmt.Errorf("%s: %d files extracted, want %d", strings.Join(cmd.Args, " "), files, e.cfg.files)
	}
	if !dir && bytes != e.cfg.size {
		return 0, 0, fmt.Errorf("%s: %d bytes extracted, want %d", strings.Join(cmd.Args, " "), bytes, e.cfg.size)
	}
	return ms, rss, nil
}
