// Command bench compares rumpfs with the programs users would otherwise
// use, on the same machine in one run. `make bench` runs it; by hand:
//
//	go run ./bench [-sections cd9660,ukfs,ext2,ext4,fat,ffs,9p] [-size 512MiB] [-files 10000] [-runs 3] [-work DIR] [-keep]
//
// Each section builds its images once with the format's own tool (cd9660:
// `xorriso -as mkisofs -R -J` of one large file of pseudo-random bytes and
// a tree of small files), then measures every (tool, operation) pair the
// same way: a fresh mount, the page cache dropped (echo 3 >
// /proc/sys/vm/drop_caches, when root), the operation timed, the serving
// daemon's peak memory (VmHWM) read, and unmount. The operations are a cold
// sequential read of the large file (MB/s), a cold walk of the whole tree
// with lstat of every entry (ms), and a cold `tar` of the small files piped
// to a reader (ms; GNU tar skips reading when the archive is /dev/null).
// Medians over -runs are printed with the ratio rumpfs/peer, and the
// targets of the core issue (read ≥ 1.5× fuseiso, walk and tar faster).
//
// Peers it installs with apt-get when missing and running as root:
// fuseiso (cd9660). Later sections (ext2: fuse2fs and the kernel driver on
// a loop device; msdos: fusefat; ffs) add rows to the same table by adding
// a section to the sections list below.
//
// A benchmark never gates tests: bench exits non-zero only when it could
// not measure, not when a target is missed.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	_ "github.com/rumpfs/rumpfs/fs/cd9660"
	"github.com/rumpfs/rumpfs/internal/treetest"
	"github.com/rumpfs/rumpfs/ukfs"
)

// config is the command line.
type config struct {
	sections []string
	size     int64
	files    int
	runs     int
	work     string
	keep     bool
	binDir   string
}

// env is what sections and tools share during a run.
type env struct {
	cfg    config
	root   bool
	bin    string // directory of the built rumpfs commands
	module string // module root
	logf   func(format string, args ...any)
}

// dataset is what a section built: an image and where its parts are.
type dataset struct {
	image    string
	bigFile  string // path of the large file inside the image
	bigSize  int64
	smallDir string // directory of the small files inside the image
	entries  int    // names in the tree, for the walk
}

// target is one mounted (or opened) dataset a measurement runs on: a
// directory (FUSE or kernel mount) or an in-process fs.FS (ukfs).
type target struct {
	dir   string
	fsys  fs.FS
	pid   int // serving process, for VmHWM; 0 for in-process
	close func() error
}

// tool is one way of reading a section's images.
type tool struct {
	name  string
	rump  bool     // ours: ratios are rumpfs/peer
	need  []string // commands it needs
	pkgs  []string // Debian packages providing them
	open  func(e *env, d *dataset, mnt string) (*target, error)
	noTar bool // in-process tools cannot run tar
}

// section is a file system with its dataset and tools.
type section struct {
	name    string
	need    []string
	pkgs    []string
	prepare func(e *env) (*dataset, error)
	tools   []tool
	// custom, if set, measures the section its own way (ukfs.go) and
	// returns its results; prepare, tools and ops are then unused.
	custom func(e *env) ([]*result, error)
}

// op is one timed operation.
type op struct {
	name string
	unit string // "MB/s" (higher is better) or "ms" (lower is better)
	run  func(d *dataset, t *target) (float64, error)
}

var ops = []op{
	{"read", "MB/s", opRead},
	{"walk", "ms", opWalk},
	{"tar", "ms", opTar},
}

// Targets of the core issue, as ratios rumpfs/peer in "better" terms.
var targets = map[string]float64{"read": 1.5, "walk": 1.0, "tar": 1.0}

func sections() []section {
	return []section{cd9660Section(), ukfsSection(), ext2Section(), ext4Section(), fatSection(), ffsSection(), ninepSection()}
}

func main() {
	var cfg config
	var secs, size string
	flag.StringVar(&secs, "sections", strings.Join(sectionNames(), ","), "comma-separated sections to run")
	flag.StringVar(&size, "size", "512MiB", "size of the large file")
	flag.IntVar(&cfg.files, "files", 10000, "number of small files")
	flag.IntVar(&cfg.runs, "runs", 3, "cold runs per measurement (the median is reported)")
	flag.StringVar(&cfg.work, "work", "", "work directory for images and mountpoints (default: a fresh one under $TMPDIR, or $TMPDIR/rumpfs-bench with -keep)")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the images for the next run (rebuilt when -size or -files change)")
	flag.StringVar(&cfg.binDir, "bin", "", "directory holding prebuilt rump_* commands (default: go build them)")
	flag.Parse()
	n, err := parseSize(size)
	if err != nil {
		fatalf("-size: %v", err)
	}
	cfg.size = n
	cfg.sections = strings.Split(secs, ",")
	// Without -keep each run gets a directory of its own, so two runs at
	// once never share (and then remove) each other's images and binaries.
	if cfg.work == "" && cfg.keep {
		cfg.work = filepath.Join(os.TempDir(), "rumpfs-bench")
	} else if cfg.work == "" {
		d, err := os.MkdirTemp("", "rumpfs-bench-")
		if err != nil {
			fatalf("%v", err)
		}
		cfg.work = d
	}
	if cfg.runs < 1 {
		cfg.runs = 1
	}
	if err := run(cfg); err != nil {
		fatalf("%v", err)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	os.Exit(1)
}

func sectionNames() []string {
	var n []string
	for _, s := range sections() {
		n = append(n, s.name)
	}
	return n
}

// result is the measurements of one (section, tool, op).
type result struct {
	section, tool, op, unit string
	rump                    bool
	values                  []float64
	hwm                     int64 // max VmHWM over runs, bytes
	inproc                  bool  // hwm is bench's own (in-process tool)
	err                     error
}

func (r *result) median() float64 {
	if len(r.values) == 0 {
		return 0
	}
	v := append([]float64(nil), r.values...)
	sort.Float64s(v)
	return v[len(v)/2]
}

func run(cfg config) error {
	e := &env{cfg: cfg, root: os.Geteuid() == 0, logf: func(f string, a ...any) {
		fmt.Fprintf(os.Stderr, "bench: "+f+"\n", a...)
	}}
	if err := os.MkdirAll(cfg.work, 0755); err != nil {
		return err
	}
	if !cfg.keep {
		defer os.RemoveAll(cfg.work)
	}
	if err := e.buildBinaries(); err != nil {
		return err
	}
	if !e.root {
		e.logf("not root: page cache cannot be dropped, runs are warm; peers cannot be installed")
	}
	var results []*result
	want := map[string]bool{}
	for _, s := range cfg.sections {
		want[strings.TrimSpace(s)] = true
	}
	for _, s := range sections() {
		if !want[s.name] {
			continue
		}
		delete(want, s.name)
		if err := e.ensure(s.need, s.pkgs); err != nil {
			return fmt.Errorf("%s: %v", s.name, err)
		}
		if s.custom != nil {
			rs, err := s.custom(e)
			if err != nil {
				return fmt.Errorf("%s: %v", s.name, err)
			}
			results = append(results, rs...)
			continue
		}
		start := time.Now()
		d, err := s.prepare(e)
		if err != nil {
			return fmt.Errorf("%s: preparing images: %v", s.name, err)
		}
		e.logf("%s: images ready in %v (%s)", s.name, time.Since(start).Round(time.Millisecond), d.image)
		var tools []tool
		for _, tl := range s.tools {
			if err := e.ensure(tl.need, tl.pkgs); err != nil {
				e.logf("%s/%s: skipped: %v", s.name, tl.name, err)
				continue
			}
			tools = append(tools, tl)
		}
		// Runs are interleaved (run 1 of every tool, then run 2, ...) so
		// that a change in machine load between runs hits every tool
		// alike; ratios are then taken run by run.
		for _, o := range ops {
			var rs []*result
			for _, tl := range tools {
				if o.name == "tar" && tl.noTar {
					rs = append(rs, nil)
					continue
				}
				r := &result{section: s.name, tool: tl.name, op: o.name, unit: o.unit, rump: tl.rump, inproc: tl.noTar}
				rs = append(rs, r)
				results = append(results, r)
			}
			for i := 0; i < cfg.runs; i++ {
				for j, tl := range tools {
					r := rs[j]
					if r == nil || r.err != nil {
						continue
					}
					v, hwm, err := e.measure(s.name, tl, d, o)
					if err != nil {
						r.err = err
						e.logf("%s/%s/%s: %v", s.name, tl.name, o.name, err)
						continue
					}
					r.values = append(r.values, v)
					r.hwm = max(r.hwm, hwm)
				}
			}
		}
	}
	for s := range want {
		return fmt.Errorf("unknown section %q (have %s)", s, strings.Join(sectionNames(), ", "))
	}
	report(os.Stdout, e, results)
	return nil
}

// measure mounts, drops caches, times one op, reads the daemon's VmHWM
// and unmounts.
func (e *env) measure(sec string, tl tool, d *dataset, o op) (float64, int64, error) {
	mnt := filepath.Join(e.cfg.work, "mnt-"+sec+"-"+tl.name)
	if err := os.MkdirAll(mnt, 0755); err != nil {
		return 0, 0, err
	}
	t, err := tl.open(e, d, mnt)
	if err != nil {
		return 0, 0, fmt.Errorf("mount: %v", err)
	}
	e.dropCaches()
	v, err := o.run(d, t)
	var hwm int64
	if t.pid > 0 {
		hwm = vmHWM(t.pid)
	} else {
		hwm = vmHWM(os.Getpid())
	}
	if cerr := t.close(); cerr != nil && err == nil {
		err = fmt.Errorf("unmount: %v", cerr)
	}
	return v, hwm, err
}

// dropCaches empties the page, dentry and inode caches (when root), so
// that every run reads from the image file on disk.
func (e *env) dropCaches() {
	if !e.root {
		return
	}
	exec.Command("sync").Run()
	os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0)
}

// ensure checks for commands and installs their packages with apt-get
// when root.
func (e *env) ensure(cmds, pkgs []string) error {
	var missing []string
	for _, c := range cmds {
		if _, err := exec.LookPath(c); err != nil {
			missing = append(missing, c)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if !e.root || len(pkgs) == 0 {
		return fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	e.logf("installing %s", strings.Join(pkgs, " "))
	cmd := exec.Command("apt-get", append([]string{"install", "-y", "--no-install-recommends"}, pkgs...)...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		// The package lists may be missing in a fresh container.
		exec.Command("apt-get", "update").Run()
		cmd = exec.Command("apt-get", append([]string{"install", "-y", "--no-install-recommends"}, pkgs...)...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out2, err2 := cmd.CombinedOutput(); err2 != nil {
			return fmt.Errorf("apt-get install %s: %v\n%s%s", strings.Join(pkgs, " "), err, out, out2)
		}
	}
	for _, c := range cmds {
		if _, err := exec.LookPath(c); err != nil {
			return fmt.Errorf("%s still missing after installing %s", c, strings.Join(pkgs, " "))
		}
	}
	return nil
}

// buildBinaries builds the rumpfs commands (or takes -bin).
func (e *env) buildBinaries() error {
	if e.cfg.binDir != "" {
		e.bin = e.cfg.binDir
		return nil
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return errors.New("run bench inside the rumpfs module, or give -bin")
	}
	e.module = filepath.Dir(gomod)
	e.bin = filepath.Join(e.cfg.work, "bin")
	cmd := exec.Command("go", "build", "-o", e.bin+"/", "./cmd/rump_cd9660")
	cmd.Dir = e.module
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, b)
	}
	return nil
}

// --- operations ---

// readBuf is the size of opRead's read(2)s: 128 KiB, what cat and cp use
// (coreutils' io_blksize), so the figure is what a user copying the file
// sees. (Until 2026-12-03 the reads were 8 KiB: io.CopyBuffer into
// io.Discard ignored its buffer for io.Discard's ReadFrom. The README's
// figures say which.)
const readBuf = 128 << 10

func opRead(d *dataset, t *target) (float64, error) { return opReadBuf(d, t, readBuf) }

// opReadBuf reads the large file through read(2)s of bufSize bytes.
func opReadBuf(d *dataset, t *target, bufSize int) (float64, error) {
	start := time.Now()
	var r io.ReadCloser
	var err error
	if t.fsys != nil {
		r, err = t.fsys.Open(d.bigFile)
	} else {
		r, err = os.Open(filepath.Join(t.dir, d.bigFile))
	}
	if err != nil {
		return 0, err
	}
	defer r.Close()
	// Both sides are wrapped: io.Discard's ReadFrom would otherwise take
	// over and read in 8 KiB pieces, whatever buffer is given.
	n, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, struct{ io.Reader }{r}, make([]byte, bufSize))
	if err != nil {
		return 0, err
	}
	if n != d.bigSize {
		return 0, fmt.Errorf("read %d bytes of %s, want %d", n, d.bigFile, d.bigSize)
	}
	return float64(n) / 1e6 / time.Since(start).Seconds(), nil
}

func opWalk(d *dataset, t *target) (float64, error) {
	start := time.Now()
	n := 0
	fsys := t.fsys
	if fsys == nil {
		fsys = os.DirFS(t.dir)
	}
	err := fs.WalkDir(fsys, ".", func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if _, err := de.Info(); err != nil { // lstat, as find -ls and du do
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return 0, err
	}
	if n < d.entries {
		return 0, fmt.Errorf("walk saw %d names, want at least %d", n, d.entries)
	}
	return float64(time.Since(start).Microseconds()) / 1000, nil
}

func opTar(d *dataset, t *target) (float64, error) {
	start := time.Now()
	cmd := exec.Command("tar", "cf", "-", "-C", t.dir, d.smallDir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	n, cerr := io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil || cerr != nil {
		return 0, fmt.Errorf("tar: %v %v %s", err, cerr, stderr.String())
	}
	if n == 0 {
		return 0, errors.New("tar wrote nothing")
	}
	return float64(time.Since(start).Microseconds()) / 1000, nil
}

// --- mounting ---

// fuseMount runs a FUSE daemon that detaches once mounted, waits for the
// mount, and finds the serving process.
func fuseMount(name string, args []string, mnt string) (*target, error) {
	cmd := exec.Command(name, args...)
	b, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(b)))
	}
	deadline := time.Now().Add(10 * time.Second)
	for !mounted(mnt) {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s: %s did not appear in /proc/self/mountinfo", name, mnt)
		}
		time.Sleep(10 * time.Millisecond)
	}
	pid := serverPID(mnt)
	return &target{dir: mnt, pid: pid, close: func() error { return fuseUnmount(mnt, pid) }}, nil
}

func fuseUnmount(mnt string, pid int) error {
	var err error
	for i := 0; i < 50; i++ {
		if err = exec.Command("fusermount3", "-u", mnt).Run(); err == nil || !mounted(mnt) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if mounted(mnt) {
		exec.Command("fusermount3", "-u", "-z", mnt).Run()
		return fmt.Errorf("fusermount3 -u %s: %v (unmounted lazily)", mnt, err)
	}
	// Wait for the daemon to go, so runs do not overlap.
	for i := 0; pid > 0 && i < 500; i++ {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
			break
		}
		if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); strings.Contains(string(st), ") Z ") {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

func mounted(mnt string) bool {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fl := strings.Fields(sc.Text()); len(fl) > 4 && fl[4] == mnt {
			return true
		}
	}
	return false
}

// serverPID finds the process whose arguments include mnt.
func serverPID(mnt string) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		for _, a := range strings.Split(string(b), "\x00") {
			if a == mnt {
				return pid
			}
		}
	}
	return 0
}

// vmHWM is the peak resident set of pid, from /proc/PID/status.
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

// --- the cd9660 section ---

func cd9660Section() section {
	return section{
		name:    "cd9660",
		need:    []string{"xorriso", "fusermount3", "tar"},
		pkgs:    []string{"xorriso", "fuse3", "tar"},
		prepare: prepareISO,
		tools: []tool{
			{name: "rump_cd9660", rump: true, open: func(e *env, d *dataset, mnt string) (*target, error) {
				return fuseMount(filepath.Join(e.bin, "rump_cd9660"), []string{d.image, mnt}, mnt)
			}},
			{name: "fuseiso", need: []string{"fuseiso"}, pkgs: []string{"fuseiso"}, open: func(e *env, d *dataset, mnt string) (*target, error) {
				// -n: no ~/.mtab.fuseiso bookkeeping.
				return fuseMount("fuseiso", []string{"-n", d.image, mnt}, mnt)
			}},
			{name: "ukfs", rump: true, noTar: true, open: func(e *env, d *dataset, mnt string) (*target, error) {
				fsys, err := ukfs.Mount(d.image, ukfs.ReadOnly())
				if err != nil {
					return nil, err
				}
				return &target{fsys: fsys, close: fsys.Unmount}, nil
			}},
		},
	}
}

// prepareISO writes the source tree (one large file, -files small ones in
// directories of 100) and builds the ISO with xorriso, reusing an image
// built with the same parameters when -keep left one.
func prepareISO(e *env) (*dataset, error) {
	d := &dataset{
		image:    filepath.Join(e.cfg.work, "cd9660.iso"),
		bigFile:  "big.bin",
		bigSize:  e.cfg.size,
		smallDir: "small",
		entries:  e.cfg.files + 2,
	}
	stamp := fmt.Sprintf("size=%d files=%d\n", e.cfg.size, e.cfg.files)
	stampPath := d.image + ".stamp"
	if b, err := os.ReadFile(stampPath); err == nil && string(b) == stamp {
		if _, err := os.Stat(d.image); err == nil {
			return d, nil
		}
	}
	src := filepath.Join(e.cfg.work, "cd9660-src")
	os.RemoveAll(src)
	defer os.RemoveAll(src)
	tree := treetest.New()
	tree.File(d.bigFile, treetest.Pattern{N: e.cfg.size, Seed: 1})
	for i := 0; i < e.cfg.files; i++ {
		// Sizes from 0 to 16 KiB, most small, as source trees are.
		sz := int64((i * 7919) % 4096)
		if i%10 == 0 {
			sz = int64((i * 104729) % 16384)
		}
		tree.File(fmt.Sprintf("%s/d%03d/f%05d.txt", d.smallDir, i/100, i), treetest.Pattern{N: sz, Seed: uint64(i + 2)})
	}
	if err := os.MkdirAll(src, 0755); err != nil {
		return nil, err
	}
	if err := writeTree(src, tree); err != nil {
		return nil, err
	}
	d.entries = len(tree.Entries)
	cmd := exec.Command("xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-o", d.image, src)
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("xorriso: %v\n%s", err, b)
	}
	if err := os.WriteFile(stampPath, []byte(stamp), 0644); err != nil {
		return nil, err
	}
	return d, nil
}

// --- report ---

func report(w io.Writer, e *env, results []*result) {
	cold := "cold (page cache dropped before each run)"
	if !e.root {
		cold = "WARM (not root: caches not dropped)"
	}
	fmt.Fprintf(w, "\nrumpfs bench: %d run(s) each, median; %s; large file %s, %d small files\n\n",
		e.cfg.runs, cold, fmtSize(e.cfg.size), e.cfg.files)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "section\ttool\top\tmedian\tunit\truns\tdaemon max RSS\t")
	for _, r := range results {
		if r.err != nil {
			fmt.Fprintf(tw, "%s\t%s\t%s\tFAILED\t\t\t\t %v\n", r.section, r.tool, r.op, r.err)
			continue
		}
		var runs []string
		for _, v := range r.values {
			runs = append(runs, fmt.Sprintf("%.0f", v))
		}
		rss := fmtSize(r.hwm)
		if r.inproc {
			rss += " (bench itself)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f\t%s\t%s\t%s\t\n", r.section, r.tool, r.op, r.median(), r.unit, strings.Join(runs, " "), rss)
	}
	tw.Flush()

	// Ratios: each rumpfs tool against each peer of its section, in
	// "times better" (throughput ratio, or inverse time ratio).
	fmt.Fprintln(w)
	for _, r := range results {
		if !r.rump || r.err != nil {
			continue
		}
		for _, p := range results {
			if p.rump || p.err != nil || p.section != r.section || p.op != r.op {
				continue
			}
			better, ok := medianRatio(r, p)
			if !ok {
				continue
			}
			verdict := ""
			if tgt, ok := targets[r.op]; ok && r.tool == "rump_"+r.section && rwSections[r.section] == nil {
				met := better > tgt || (tgt > 1 && better == tgt)
				verdict = fmt.Sprintf("  [target %.1fx: %s]", tgt, map[bool]string{true: "met", false: "MISSED"}[met])
			}
			fmt.Fprintf(w, "%s %-5s %s vs %s: %.2fx (median of per-run ratios, >1 is better)%s\n", r.section, r.op, r.tool, p.tool, better, verdict)
		}
	}
	rwVerdicts(w, results) // rw.go: targets of the ext2, fat and ffs sections
}

func fmtSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%.0fMiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0fKiB", float64(n)/(1<<10))
	case n == 0:
		return "-"
	}
	return fmt.Sprintf("%dB", n)
}

// parseSize reads "512MiB", "1GiB", "100M", "4096".
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if strings.HasSuffix(s, u.suf) {
			mult, s = u.m, strings.TrimSuffix(s, u.suf)
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

// medianRatio is the median of the run-by-run ratios of r against its
// peer p (runs were interleaved), oriented so that above 1 is better for
// r: rates are divided, times inverted. ok is false when no run pairs up.
func medianRatio(r, p *result) (q float64, ok bool) {
	var ratios []float64
	for i := 0; i < len(r.values) && i < len(p.values); i++ {
		q := r.values[i] / p.values[i]
		if r.unit == "ms" {
			q = p.values[i] / r.values[i]
		}
		ratios = append(ratios, q)
	}
	if len(ratios) == 0 {
		return 0, false
	}
	sort.Float64s(ratios)
	return ratios[len(ratios)/2], true
}
