package dev

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Image locking.
//
// NetBSD's ukfs takes a POSIX fcntl lock over the partition window. POSIX
// locks belong to the process, so two opens in one process (two ukfs mounts
// of the same image) would not conflict, and closing any descriptor of the
// file drops them all. Open-file-description locks (F_OFD_SETLK, Linux
// 3.15) belong to the open file: they conflict between two opens in one
// process too, and live exactly as long as our descriptor.
//
// The kernel does not tell who holds an OFD lock (F_OFD_GETLK and
// /proc/locks report pid -1), but /proc/PID/fdinfo/FD lists the locks held
// through each descriptor, so on a conflict we look there for the holder.

// lock takes the image lock over [start, start+size); size 0 means to the
// end of the file and beyond.
func (d *fileDevice) lock(start, size int64) error {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: start, Len: size}
	if d.ro {
		lk.Type = unix.F_RDLCK
	}
	req := lk
	err := unix.FcntlFlock(d.f.Fd(), unix.F_OFD_SETLK, &req)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EACCES) {
		return fmt.Errorf("%s: cannot lock the image: %w", d.name, err)
	}
	if pid := d.lockHolder(lk); pid > 0 {
		return fmt.Errorf("%s: image is in use by pid %d", d.name, pid)
	}
	return fmt.Errorf("%s: image is in use by another process", d.name)
}

// lockHolder finds the pid of a process holding a lock that conflicts with
// lk on our file, or -1.
func (d *fileDevice) lockHolder(lk unix.Flock_t) int {
	fd := d.f.Fd()
	probe := lk
	probe.Pid = 0
	lo, hi := lk.Start, int64(-1) // hi -1: unbounded
	if lk.Len > 0 {
		hi = lk.Start + lk.Len - 1
	}
	if err := unix.FcntlFlock(fd, unix.F_OFD_GETLK, &probe); err == nil && probe.Type != unix.F_UNLCK {
		if probe.Pid > 0 { // a POSIX lock: the kernel names its owner
			return int(probe.Pid)
		}
		lo, hi = probe.Start, -1
		if probe.Len > 0 {
			hi = probe.Start + probe.Len - 1
		}
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(fd), &st); err != nil {
		return -1
	}
	key := fmt.Sprintf("%02x:%02x:%d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	self := os.Getpid()
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return -1
	}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		dir := "/proc/" + p.Name() + "/fdinfo/"
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, f := range fds {
			if pid == self && f.Name() == strconv.Itoa(int(fd)) {
				continue
			}
			data, err := os.ReadFile(dir + f.Name())
			if err != nil || !bytes.Contains(data, []byte(key)) {
				continue
			}
			if fdinfoConflicts(data, key, lk.Type == unix.F_WRLCK, lo, hi) {
				return pid
			}
		}
	}
	return -1
}

// fdinfoConflicts reports whether an fdinfo text lists a granted lock on
// key (maj:min:ino) over a range meeting [lo, hi] (hi -1: unbounded) that
// conflicts with a lock we want (a write lock conflicts with every lock, a
// read lock with write locks). A line looks like
//
//	lock:	1: OFDLCK ADVISORY  WRITE -1 fe:00:9978393 0 EOF
func fdinfoConflicts(data []byte, key string, wantWrite bool, lo, hi int64) bool {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "lock:") || strings.Contains(line, "->") {
			continue
		}
		f := strings.Fields(line)
		i := 0
		for i < len(f) && f[i] != key {
			i++
		}
		if i < 2 || i+2 >= len(f) {
			continue
		}
		typ := f[i-2]
		if !wantWrite && typ != "WRITE" {
			continue
		}
		start, err := strconv.ParseInt(f[i+1], 10, 64)
		if err != nil {
			continue
		}
		end := int64(-1)
		if f[i+2] != "EOF" {
			if end, err = strconv.ParseInt(f[i+2], 10, 64); err != nil {
				continue
			}
		}
		if (hi < 0 || start <= hi) && (end < 0 || end >= lo) {
			return true
		}
	}
	return false
}
