package main

// The 9p section (issue #8, "net: export a mounted fs over 9P2000.L"):
// the same ext2 image (mkfs.ext2 -d of the shared source tree) served by
// rump_ext2fs two ways, measured side by side in one run: as a 9P2000.L
// export (`rump_ext2fs -f --serve unix:///sock image`, read by the p9
// client ukfs uses for 9p+unix:// addresses, in this process, msize
// 1 MiB + header) and as a FUSE mount (`rump_ext2fs image mnt`, read by
// the kernel). This machine's kernel has no 9p client, so the 9P side is
// ukfs's client; it keeps one request in flight at a time, as a program
// reading a file with read(2) does.
//
// Three operations, each on a fresh daemon with the page cache dropped:
// a sequential read of the -size file (MB/s), a sequential write of -size
// bytes to a fresh empty image ending in fsync (MB/s), and a walk of the
// whole tree (-files small files) with an lstat of every name (ms; the
// same fs.WalkDir loop on both, through ukfs on 9P and os.DirFS on FUSE).
// The target: 9P read throughput at least 0.5× the FUSE mount's.

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/rumpfs/rumpfs/ukfs"
)

func ninepSection() section {
	return section{
		name:   "9p",
		need:   []string{"mke2fs", "fusermount3"},
		pkgs:   []string{"e2fsprogs", "fuse3"},
		custom: run9p,
	}
}

// ninepTarget is the goal: 9P read ≥ 0.5× the FUSE mount's.
const ninepTarget = 0.5

func run9p(e *env) ([]*result, error) {
	if err := e.buildCmd("rump_ext2fs"); err != nil {
		return nil, err
	}
	start := time.Now()
	data, err := e.writeSource("9p")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(data.src)
	im := ext2Image()
	imgSize := e.cfg.size + int64(e.cfg.files)*24<<10 + 96<<20
	im.read = filepath.Join(e.cfg.work, "9p-ext2.img")
	if err := im.from(e, data.src, im.read, imgSize); err != nil {
		return nil, fmt.Errorf("building the ext2 image: %v", err)
	}
	defer os.Remove(im.read)
	e.logf("9p: source tree and image ready in %v", time.Since(start).Round(time.Millisecond))

	tools := []string{"rump_ext2fs 9p", "rump_ext2fs fuse"}
	var results []*result
	for _, o := range []op{{"read", "MB/s", nil}, {"write", "MB/s", nil}, {"walk", "ms", nil}} {
		rs := make([]*result, len(tools))
		for i, tl := range tools {
			// The 9P export is "ours" and the FUSE mount the peer, so
			// the shared report prints 9P/FUSE ratios.
			rs[i] = &result{section: "9p", tool: tl, op: o.name, unit: o.unit, rump: i == 0}
			results = append(results, rs[i])
		}
		for run := 0; run < e.cfg.runs; run++ {
			// The order alternates from run to run: the first reader of
			// the image after a drop of the guest's caches can still
			// find it cold in the host's, and pays for the second.
			for j := range tools {
				i := j
				if run%2 == 1 {
					i = len(tools) - 1 - j
				}
				if rs[i].err != nil {
					continue
				}
				v, hwm, err := measure9p(e, i == 0, o.name, im, data, imgSize)
				if err != nil {
					rs[i].err = err
					e.logf("9p/%s/%s: %v", tools[i], o.name, err)
					continue
				}
				e.logf("9p/%s/%s: %.1f %s", tools[i], o.name, v, o.unit)
				rs[i].values = append(rs[i].values, v)
				rs[i].hwm = max(rs[i].hwm, hwm)
			}
		}
	}
	// The verdict, printed with the read-write sections' notes.
	var r, p *result
	for _, x := range results {
		if x.op == "read" && x.err == nil && len(x.values) > 0 {
			if x.rump {
				r = x
			} else {
				p = x
			}
		}
	}
	if r != nil && p != nil {
		var q []float64
		for i := 0; i < len(r.values) && i < len(p.values); i++ {
			q = append(q, r.values[i]/p.values[i])
		}
		sort.Float64s(q)
		rwNotes = append(rwNotes, fmt.Sprintf("9p target read ≥ %.1f× the FUSE mount's: %.2fx -> %s",
			ninepTarget, q[len(q)/2], metStr(q[len(q)/2] >= ninepTarget)))
	} else {
		rwNotes = append(rwNotes, "9p target read ≥ 0.5× the FUSE mount's: not measured")
	}
	return results, nil
}

// measure9p runs one operation on a fresh daemon, over 9P (ninep) or
// over its FUSE mount.
func measure9p(e *env, ninep bool, opName string, im *rwImage, data *rwData, imgSize int64) (float64, int64, error) {
	img, rw := im.read, false
	if opName == "write" {
		rw = true
		img = filepath.Join(e.cfg.work, "9p-w.img")
		os.Remove(img)
		defer os.Remove(img)
		if err := im.empty(e, img, imgSize); err != nil {
			return 0, 0, fmt.Errorf("empty ext2 image: %v", err)
		}
	}
	mode := "ro"
	if rw {
		mode = "rw"
	}
	bin := filepath.Join(e.bin, "rump_ext2fs")
	var t *target
	var err error
	if ninep {
		t, err = serve9p(e, bin, mode, img)
	} else {
		mnt := filepath.Join(e.cfg.work, "mnt-9p-fuse")
		if err := os.MkdirAll(mnt, 0755); err != nil {
			return 0, 0, err
		}
		t, err = fuseMount(bin, []string{"-o", mode, img, mnt}, mnt)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("mount: %v", err)
	}
	e.dropCaches()
	var v float64
	switch opName {
	case "read":
		// 1 MiB read(2)s on both sides: one 9P message each (msize),
		// as a 9P client's own read-ahead would ask.
		v, err = opReadBuf(&dataset{bigFile: "big.bin", bigSize: e.cfg.size}, t, 1<<20)
	case "write":
		if t.fsys != nil {
			v, err = opWriteTo(func() (syncWriter, error) {
				return t.fsys.(*ukfs.FS).OpenFile("written.bin", os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0644)
			}, e.cfg.size)
		} else {
			v, err = opWrite(t.dir, e.cfg.size)
		}
	case "walk":
		v, err = opWalk(&dataset{entries: data.files}, t)
	}
	hwm := vmHWM(t.pid)
	if cerr := t.close(); cerr != nil && err == nil {
		err = fmt.Errorf("unmount: %v", cerr)
	}
	return v, hwm, err
}

// serve9p starts `rump_ext2fs -f -o MODE --serve unix://SOCK IMG` (no
// mount point: an export only) and opens it with ukfs.
func serve9p(e *env, bin, mode, img string) (*target, error) {
	sock := filepath.Join(e.cfg.work, "9p.sock")
	os.Remove(sock)
	cmd := exec.Command(bin, "-f", "-o", mode, "--serve", "unix://"+sock, img)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := func() error {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("%s: %v: %s", bin, err, firstLines(stderr.Bytes()))
			}
			return nil
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			<-done
			return fmt.Errorf("%s did not end on SIGTERM", bin)
		}
	}
	for i := 0; ; i++ {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		if i == 400 {
			stop()
			return nil, fmt.Errorf("%s did not listen on %s: %s", bin, sock, firstLines(stderr.Bytes()))
		}
		time.Sleep(25 * time.Millisecond)
	}
	var opts []ukfs.Option
	if mode == "ro" {
		opts = append(opts, ukfs.ReadOnly())
	}
	u, err := ukfs.Mount("9p+unix://"+sock, opts...)
	if err != nil {
		stop()
		return nil, err
	}
	return &target{fsys: u, pid: cmd.Process.Pid, close: func() error {
		uerr := u.Unmount()
		if err := stop(); err != nil {
			return err
		}
		return uerr
	}}, nil
}
