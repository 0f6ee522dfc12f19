package main

// Read-write sections (ext2, fat, ffs): the issues of the writable file
// systems ask for five operations, each on a fresh mount with the page
// cache dropped: a cold sequential read of the large file (MB/s), a
// sequential write of -size bytes ending in fsync (MB/s), a cold `find`
// over the small files with an lstat of each (`-printf %s`; ms), a cold
// `tar` of them piped to a reader (ms), and copying them in (`cp -r` then
// `sync -f` on the mount; ms). Writes go to a fresh empty image made by
// the format's own tool for every run, so that no run profits from an
// earlier one's allocation. Each section has its own targets (from its
// issue's "Speed" part), printed after the shared ratios by rwVerdicts.

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/rumpfs/rumpfs/internal/treetest"
)

var rwOps = []op{
	{"read", "MB/s", nil},
	{"write", "MB/s", nil},
	{"walk", "ms", nil},
	{"tar", "ms", nil},
	{"copyin", "ms", nil},
}

// peerCopyFiles bounds the number of small files a slow peer (fusefat)
// copies in; its time is scaled up to -files and the output says so.
var peerCopyFiles = flag.Int("peer-copy-files", 1000, "fat section: fusefat copies in only this many small files, its time scaled to -files (0: all)")

// rwImage is one image format of a section: how to build it from the
// source tree (read image) and empty (for writes).
type rwImage struct {
	name  string
	from  func(e *env, src, img string, size int64) error
	empty func(e *env, img string, size int64) error
	read  string // the read image, once built
}

// rwTool is one driver of a section.
type rwTool struct {
	name   string
	rump   bool
	kernel bool // a loop mount: root only
	need   []string
	pkgs   []string
	image  string   // rwImage name
	ops    []string // the ops it runs (nil: all)
	scale  bool     // copy-in of at most -peer-copy-files files, scaled
	mount  func(e *env, img, mnt string, rw bool) (*target, error)
}

// rwTarget is a goal of an issue: tool's op at least min times better
// (throughput ratio, or inverse time ratio) than peer's.
type rwTarget struct {
	op, tool, peer string
	min            float64
	text           string
}

// rwSection describes a read-write section.
type rwSection struct {
	name    string
	need    []string
	pkgs    []string
	build   []string // rumpfs commands it needs (cmd/NAME)
	images  []*rwImage
	tools   []rwTool
	targets []rwTarget
	maxRSS  int64 // daemon memory goal for the rump tools
}

// rwSections are the sections whose targets rwVerdicts prints; the
// shared report gives them no cd9660 verdicts.
var rwSections = map[string]*rwSection{}

// rwNotes are lines printed with the verdicts (scaling, skipped tools).
var rwNotes []string

// rwUnmountMs are the unmount times after each copy-in, by section and
// tool (NUL-separated), printed as one note per tool.
var rwUnmountMs = map[string][]float64{}

func (s *rwSection) section() section {
	rwSections[s.name] = s
	return section{name: s.name, need: s.need, pkgs: s.pkgs, custom: s.run}
}

func (s *rwSection) image(name string) *rwImage {
	for _, im := range s.images {
		if im.name == name {
			return im
		}
	}
	panic("bench: no image " + name)
}

// rwData is the source tree of a section on the host.
type rwData struct {
	src   string   // host directory: big.bin and small/dNNN/fNNNNN.txt
	dirs  []string // the small/dNNN directories, in order
	files int
}

func (s *rwSection) run(e *env) ([]*result, error) {
	for _, c := range s.build {
		if err := e.buildCmd(c); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	data, err := e.writeSource(s.name)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(data.src)
	var tools []rwTool
	for _, tl := range s.tools {
		if tl.kernel && !e.root {
			s.note("%s/%s: skipped: loop mounts need root", s.name, tl.name)
			continue
		}
		if err := e.ensure(tl.need, tl.pkgs); err != nil {
			s.note("%s/%s: skipped: %v", s.name, tl.name, err)
			continue
		}
		tools = append(tools, tl)
	}
	imgSize := e.cfg.size + int64(e.cfg.files)*24<<10 + 96<<20
	for _, im := range s.images {
		used := false
		for _, tl := range tools {
			used = used || tl.image == im.name
		}
		if !used {
			continue
		}
		im.read = filepath.Join(e.cfg.work, s.name+"-"+im.name+".img")
		if err := im.from(e, data.src, im.read, imgSize); err != nil {
			return nil, fmt.Errorf("building %s image: %v", im.name, err)
		}
		defer os.Remove(im.read)
	}
	e.logf("%s: source tree and images ready in %v", s.name, time.Since(start).Round(time.Millisecond))
	var results []*result
	for _, o := range rwOps {
		var rs []*result
		for _, tl := range tools {
			if tl.ops != nil && !contains(tl.ops, o.name) {
				rs = append(rs, nil)
				continue
			}
			r := &result{section: s.name, tool: tl.name, op: o.name, unit: o.unit, rump: tl.rump}
			rs = append(rs, r)
			results = append(results, r)
		}
		// Interleaved runs, as the shared loop does.
		for i := 0; i < e.cfg.runs; i++ {
			for j, tl := range tools {
				r := rs[j]
				if r == nil || r.err != nil {
					continue
				}
				v, hwm, err := s.measure(e, tl, data, o.name, imgSize)
				if err != nil {
					r.err = err
					e.logf("%s/%s/%s: %v", s.name, tl.name, o.name, err)
					continue
				}
				e.logf("%s/%s/%s: %.1f %s", s.name, tl.name, o.name, v, o.unit)
				r.values = append(r.values, v)
				r.hwm = max(r.hwm, hwm)
			}
		}
	}
	return results, nil
}

func (s *rwSection) note(format string, args ...any) {
	rwNotes = append(rwNotes, fmt.Sprintf(format, args...))
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// measure runs one op of one tool on a fresh mount.
func (s *rwSection) measure(e *env, tl rwTool, data *rwData, opName string, imgSize int64) (float64, int64, error) {
	im := s.image(tl.image)
	mnt := filepath.Join(e.cfg.work, "mnt-"+s.name+"-"+tl.name)
	if err := os.MkdirAll(mnt, 0755); err != nil {
		return 0, 0, err
	}
	img, rw := im.read, false
	if opName == "write" || opName == "copyin" {
		rw = true
		img = filepath.Join(e.cfg.work, s.name+"-"+tl.name+"-w.img")
		os.Remove(img)
		defer os.Remove(img)
		if err := im.empty(e, img, imgSize); err != nil {
			return 0, 0, fmt.Errorf("empty %s image: %v", im.name, err)
		}
	}
	t, err := tl.mount(e, img, mnt, rw)
	if err != nil {
		return 0, 0, fmt.Errorf("mount: %v", err)
	}
	e.dropCaches()
	var v float64
	switch opName {
	case "read":
		v, err = opRead(&dataset{bigFile: "big.bin", bigSize: e.cfg.size}, t)
	case "write":
		v, err = opWrite(t.dir, e.cfg.size)
	case "walk":
		v, err = opFind(t.dir, data.files)
	case "tar":
		v, err = opTar(&dataset{smallDir: "small"}, t)
	case "copyin":
		dirs := data.dirs
		n := data.files
		if tl.scale && *peerCopyFiles > 0 && *peerCopyFiles < data.files {
			// Directories hold 100 files each (writeSource).
			k := max(1, (*peerCopyFiles+99)/100)
			dirs, n = dirs[:k], min(k*100, data.files)
		}
		v, err = opCopyIn(t.dir, dirs)
		if err == nil && n < data.files {
			s.note("%s copyin: %s copied %d of %d files in %.0f ms; its figure is scaled ×%.1f to %d files",
				s.name, tl.name, n, data.files, v, float64(data.files)/float64(n), data.files)
			v *= float64(data.files) / float64(n)
		}
	}
	var hwm int64
	if t.pid > 0 {
		hwm = vmHWM(t.pid)
	}
	closeStart := time.Now()
	if cerr := t.close(); cerr != nil && err == nil {
		err = fmt.Errorf("unmount: %v", cerr)
	}
	if opName == "copyin" && err == nil {
		// sync -f is not passed to every FUSE daemon (the kernel sends
		// FUSE_SYNCFS only to servers that ask), so what a daemon still
		// held is written at unmount: shown beside the figure.
		k := s.name + "\x00" + tl.name
		rwUnmountMs[k] = append(rwUnmountMs[k], float64(time.Since(closeStart).Microseconds())/1000)
	}
	return v, hwm, err
}

// opWrite writes size bytes of pseudo-random data to a new file and
// fsyncs it; the time includes the fsync and close.
func opWrite(dir string, size int64) (float64, error) {
	return opWriteTo(func() (syncWriter, error) {
		return os.OpenFile(filepath.Join(dir, "written.bin"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0644)
	}, size)
}

// syncWriter is a file opened for writing: a host file, or one in ukfs.
type syncWriter interface {
	io.Writer
	Sync() error
	Close() error
}

// opWriteTo writes -size bytes in 1 MiB writes to the file open creates,
// then fsyncs it; the time includes the open, the fsync and the close.
func opWriteTo(open func() (syncWriter, error), size int64) (float64, error) {
	buf := make([]byte, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i+8 <= len(buf); i += 8 {
		v := r.Uint64()
		for k := 0; k < 8; k++ {
			buf[i+k] = byte(v >> (8 * k))
		}
	}
	start := time.Now()
	f, err := open()
	if err != nil {
		return 0, err
	}
	for left := size; left > 0; {
		n := min(left, int64(len(buf)))
		if _, err := f.Write(buf[:n]); err != nil {
			f.Close()
			return 0, err
		}
		buf[0]++ // no two blocks alike
		left -= n
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return 0, fmt.Errorf("fsync: %v", err)
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	return float64(size) / 1e6 / time.Since(start).Seconds(), nil
}

// opFind runs `find DIR -printf '%s\n'`: the size makes find lstat every
// name, as `find -ls` and `du` do.
func opFind(dir string, files int) (float64, error) {
	start := time.Now()
	cmd := exec.Command("find", dir, "-printf", "%s\n")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	n := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		n++
	}
	if err := cmd.Wait(); err != nil {
		return 0, fmt.Errorf("find: %v: %s", err, firstLines([]byte(stderr.String())))
	}
	el := time.Since(start)
	if n < files {
		return 0, fmt.Errorf("find saw %d names, want at least %d", n, files)
	}
	return float64(el.Microseconds()) / 1000, nil
}

// opCopyIn copies directories of small files into DIR/small with `cp -r`
// and ends with `sync -f` (syncfs) on the mount.
func opCopyIn(dir string, dirs []string) (float64, error) {
	dst := filepath.Join(dir, "small")
	start := time.Now()
	if err := os.Mkdir(dst, 0755); err != nil {
		return 0, err
	}
	args := append([]string{"-r"}, dirs...)
	if b, err := exec.Command("cp", append(args, dst+"/")...).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("cp -r: %v: %s", err, firstLines(b))
	}
	if b, err := exec.Command("sync", "-f", dir).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("sync -f: %v: %s", err, firstLines(b))
	}
	return float64(time.Since(start).Microseconds()) / 1000, nil
}

func firstLines(b []byte) string {
	s := strings.TrimSpace(string(b))
	l := strings.SplitN(s, "\n", 4)
	if len(l) > 3 {
		l = append(l[:3], "...")
	}
	return strings.Join(l, "; ")
}

// writeSource writes the tree every image of a section is built from:
// big.bin (-size bytes) and -files small files in directories of 100,
// the same shapes as the cd9660 section's.
func (e *env) writeSource(name string) (*rwData, error) {
	d := &rwData{src: filepath.Join(e.cfg.work, name+"-src"), files: e.cfg.files}
	os.RemoveAll(d.src)
	tree := treetest.New()
	tree.File("big.bin", treetest.Pattern{N: e.cfg.size, Seed: 1})
	seen := map[string]bool{}
	for i := 0; i < e.cfg.files; i++ {
		sz := int64((i * 7919) % 4096)
		if i%10 == 0 {
			sz = int64((i * 104729) % 16384)
		}
		sub := fmt.Sprintf("small/d%03d", i/100)
		if !seen[sub] {
			seen[sub] = true
			d.dirs = append(d.dirs, filepath.Join(d.src, sub))
		}
		tree.File(fmt.Sprintf("%s/f%05d.txt", sub, i), treetest.Pattern{N: sz, Seed: uint64(i + 2)})
	}
	if err := os.MkdirAll(d.src, 0755); err != nil {
		return nil, err
	}
	if err := writeTree(d.src, tree); err != nil {
		return nil, err
	}
	return d, nil
}

// buildCmd builds cmd/NAME into e.bin, unless -bin gave prebuilt ones.
func (e *env) buildCmd(name string) error {
	if e.module == "" {
		if _, err := os.Stat(filepath.Join(e.bin, name)); err != nil {
			return fmt.Errorf("%s not in -bin %s", name, e.bin)
		}
		return nil
	}
	cmd := exec.Command("go", "build", "-o", e.bin+"/", "./cmd/"+name)
	cmd.Dir = e.module
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/%s: %v\n%s", name, err, b)
	}
	return nil
}

// runCmd runs a command and names it in its error.
func runCmd(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, firstLines(b))
	}
	return nil
}

// sparseFile makes an empty file of size bytes for mkfs.
func sparseFile(img string, size int64) error {
	os.Remove(img)
	f, err := os.Create(img)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// --- shared images and mounts ---

// ext2Image is an ext2 file system with 4 KiB blocks, made by mkfs.ext2
// (-d copies the tree in).
func ext2Image() *rwImage { return extImage("ext2") }

// extImage makes an image with mke2fs -t typ: "ext2", or "ext4" with
// mkfs.ext4's default features (extents, flex_bg, 64bit, metadata_csum,
// the journal).
func extImage(typ string) *rwImage {
	mk := func(img string, size int64, src string) error {
		if err := sparseFile(img, size); err != nil {
			return err
		}
		args := []string{"-F", "-q", "-t", typ, "-b", "4096"}
		if src != "" {
			args = append(args, "-d", src)
		}
		return runCmd("mke2fs", append(args, img)...)
	}
	return &rwImage{
		name:  typ,
		from:  func(e *env, src, img string, size int64) error { return mk(img, size, src) },
		empty: func(e *env, img string, size int64) error { return mk(img, size, "") },
	}
}

// kernelExt2 mounts an ext2 image with the Linux kernel's driver on a
// loop device of its own (detached at unmount).
func kernelExt2() rwTool { return kernelExt("ext2") }

// kernelExt mounts an image of type typ ("ext2", "ext4") with the Linux
// kernel's driver of that name on a loop device of its own.
func kernelExt(typ string) rwTool {
	return rwTool{name: "kernel-" + typ, kernel: true, image: typ, need: []string{"losetup", "mount", "umount"},
		mount: func(e *env, img, mnt string, rw bool) (*target, error) {
			largs := []string{"-f", "--show"}
			opts := "rw"
			if !rw {
				largs = append(largs, "-r")
				opts = "ro"
			}
			out, err := exec.Command("losetup", append(largs, img)...).CombinedOutput()
			if err != nil {
				return nil, fmt.Errorf("losetup: %v: %s", err, firstLines(out))
			}
			loop := strings.TrimSpace(string(out))
			if err := runCmd("mount", "-t", typ, "-o", opts, loop, mnt); err != nil {
				exec.Command("losetup", "-d", loop).Run()
				return nil, err
			}
			return &target{dir: mnt, close: func() error {
				err := runCmd("umount", mnt)
				if err != nil {
					exec.Command("umount", "-l", mnt).Run()
				}
				if derr := runCmd("losetup", "-d", loop); err == nil {
					err = derr
				}
				return err
			}}, nil
		}}
}

// rumpTool mounts with a rumpfs daemon (it detaches once the mount is
// live).
func rumpTool(cmd, image string) rwTool {
	return rwTool{name: cmd, rump: true, image: image, need: []string{"fusermount3"}, pkgs: []string{"fuse3"},
		mount: func(e *env, img, mnt string, rw bool) (*target, error) {
			opt := "ro"
			if rw {
				opt = "rw"
			}
			return fuseMount(filepath.Join(e.bin, cmd), []string{"-o", opt, img, mnt}, mnt)
		}}
}

// --- verdicts ---

// rwVerdicts prints each read-write section's targets against its
// results: the median of per-run ratios, as the shared report computes.
func rwVerdicts(w io.Writer, results []*result) {
	printed := false
	for _, name := range sortedKeys(rwSections) {
		s := rwSections[name]
		find := func(tool, op string) *result {
			for _, r := range results {
				if r.section == name && r.tool == tool && r.op == op && r.err == nil && len(r.values) > 0 {
					return r
				}
			}
			return nil
		}
		any := false
		for _, r := range results {
			any = any || r.section == name
		}
		if !any {
			continue
		}
		if !printed {
			fmt.Fprintln(w)
			printed = true
		}
		for _, tg := range s.targets {
			r, p := find(tg.tool, tg.op), find(tg.peer, tg.op)
			var q float64
			ok := r != nil && p != nil
			if ok {
				q, ok = medianRatio(r, p)
			}
			if !ok {
				fmt.Fprintf(w, "%s target %s: not measured\n", name, tg.text)
				continue
			}
			fmt.Fprintf(w, "%s target %s: %.2fx -> %s\n", name, tg.text, q, metStr(q >= tg.min))
		}
		if s.maxRSS > 0 {
			for _, tl := range s.tools {
				if !tl.rump {
					continue
				}
				var hwm int64
				for _, r := range results {
					if r.section == name && r.tool == tl.name {
						hwm = max(hwm, r.hwm)
					}
				}
				if hwm > 0 {
					fmt.Fprintf(w, "%s target %s max RSS < %s: %s -> %s\n", name, tl.name, fmtSize(s.maxRSS), fmtSize(hwm), metStr(hwm < s.maxRSS))
				}
			}
		}
	}
	for _, k := range sortedKeys(rwUnmountMs) {
		st, v := strings.SplitN(k, "\x00", 2), rwUnmountMs[k]
		var ms []string
		for _, x := range v {
			ms = append(ms, fmt.Sprintf("%.0f", x))
		}
		fmt.Fprintf(w, "note: %s copyin: %s: unmount after it (flush; daemon exit) took a further %s ms (not in the figure)\n", st[0], st[1], strings.Join(ms, " "))
	}
	for _, n := range rwNotes {
		fmt.Fprintln(w, "note: "+n)
	}
}

func metStr(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func sortedKeys[V any](m map[string]V) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}
