package dev

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOpenFile(t *testing.T) {
	data := make([]byte, 8192)
	for i := range data {
		data[i] = byte(i)
	}
	img := writeImage(t, data)
	d, err := Open(img, false)
	if err != nil {
		t.Fatal(err)
	}
	if d.Size() != 8192 || d.SectorSize() != 512 || d.ReadOnly() || d.Name() != img {
		t.Errorf("size %d sector %d ro %v name %q", d.Size(), d.SectorSize(), d.ReadOnly(), d.Name())
	}
	b := make([]byte, 100)
	if n, err := d.ReadAt(b, 8150); n != 42 || err != io.EOF || b[0] != byte(8150%256) {
		t.Errorf("read across the end: %d, %v", n, err)
	}
	if n, err := d.WriteAt(b, 8150); n != 0 || !errors.Is(err, ErrOutOfRange) {
		t.Errorf("write across the end: %d, %v", n, err)
	}
	if n, err := d.WriteAt([]byte("hello"), 8187); n != 5 || err != nil {
		t.Errorf("write at the end: %d, %v", n, err)
	}
	if err := d.Sync(); err != nil {
		t.Error(err)
	}
	if err := d.Close(); err != nil {
		t.Error(err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	got, _ := os.ReadFile(img)
	if len(got) != 8192 || string(got[8187:]) != "hello" {
		t.Errorf("image after writes: %d bytes, tail %q", len(got), got[8187:])
	}

	// A window's writes land in the right place of the file.
	w, err := Open(img+"%OFFSET:1024,1024%", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteAt([]byte("XY"), 1022); err != nil {
		t.Error(err)
	}
	if _, err := w.WriteAt([]byte("XYZ"), 1022); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("write past the window: %v", err)
	}
	w.Close()
	got, _ = os.ReadFile(img)
	if string(got[2046:2049]) != "XY"+string(rune(2048%256)) {
		t.Errorf("window write: %q", got[2046:2049])
	}
}

func TestOpenErrors(t *testing.T) {
	img := writeImage(t, make([]byte, 4096))
	for _, c := range []struct{ spec, want string }{
		{img + ".missing", "no such file"},
		{img + "%MBR:1%", img + ": no MBR found"},
		{img + "%GPT:1%", img + ": no GPT found"},
		{img + "%OFFSET:2048,4096%", img + ": partition %OFFSET:2048,4096% (start 2048, size 4096) extends past the end of the image (4096 bytes)"},
		{img + "%ZZZ:1%", "unknown partition scheme"},
		{t.TempDir(), "is a directory"},
		{"/dev/null", "not a regular file or block device"},
	} {
		d, err := Open(c.spec, true)
		if err == nil {
			d.Close()
		}
		wantErr(t, err, c.want)
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("multi-line error %q", err)
		}
	}
}

// A read-only open never writes a byte and refuses WriteAt.
func TestOpenReadOnly(t *testing.T) {
	img := writeImage(t, bytes.Repeat([]byte("x"), 4096))
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	os.Chtimes(img, old, old)
	sum := func() [32]byte { b, _ := os.ReadFile(img); return sha256.Sum256(b) }
	before := sum()
	d, err := Open(img+"%OFFSET:0%", true)
	if err != nil {
		t.Fatal(err)
	}
	if !d.ReadOnly() {
		t.Error("not read-only")
	}
	if n, err := d.WriteAt([]byte("y"), 0); n != 0 || !errors.Is(err, ErrReadOnly) {
		t.Errorf("WriteAt: %d, %v", n, err)
	}
	c := NewCache(d, 1024, 1<<20)
	if err := c.Write(0, make([]byte, 1024)); !errors.Is(err, ErrReadOnly) {
		t.Errorf("cache Write: %v", err)
	}
	if _, err := c.Get(1); err != nil {
		t.Error(err)
	}
	if err := c.Flush(); err != nil {
		t.Error(err)
	}
	d.Sync()
	d.Close()
	fi, _ := os.Stat(img)
	if sum() != before || !fi.ModTime().Equal(old) {
		t.Errorf("read-only open changed the image (mtime %v, want %v)", fi.ModTime(), old)
	}
	// A file we may only read opens read-only.
	if os.Getuid() != 0 {
		os.Chmod(img, 0o444)
		d, err := Open(img, true)
		if err != nil {
			t.Fatal(err)
		}
		d.Close()
	}
}

func TestConcurrentReads(t *testing.T) {
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	img := writeImage(t, data)
	d, err := Open(img+"%OFFSET:4096%", true)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			b := make([]byte, 4096)
			for i := 0; i < 100; i++ {
				off := int64((g*100+i)*997) % (d.Size() - 4096)
				if _, err := d.ReadAt(b, off); err != nil || !bytes.Equal(b, data[4096+off:4096+off+4096]) {
					t.Errorf("read at %d: %v", off, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}

// Two opens in one process conflict as two processes would.
func TestLockSameProcess(t *testing.T) {
	img := writeImage(t, make([]byte, 1<<20))
	inUse := fmt.Sprintf("%s: image is in use by pid %d", img, os.Getpid())

	rw, err := Open(img, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(img, false)
	wantErr(t, err, inUse)
	_, err = Open(img, true)
	wantErr(t, err, inUse)
	_, err = Open(img+"%OFFSET:4096,4096%", true)
	wantErr(t, err, inUse)
	// A failed open must not have dropped the first open's lock.
	_, err = Open(img, false)
	wantErr(t, err, inUse)
	rw.Close()

	// Read-only opens share; a writer is refused while they are open.
	r1, err := Open(img, true)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := Open(img, true)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(img, false)
	wantErr(t, err, inUse)
	r1.Close()
	r2.Close()

	// Disjoint windows can be written at once; overlapping ones cannot.
	a, err := Open(img+"%OFFSET:0,4096%", false)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(img+"%OFFSET:4096,4096%", false)
	if err != nil {
		t.Fatalf("disjoint window: %v", err)
	}
	defer b.Close()
	_, err = Open(img+"%OFFSET:4000,200%", true)
	wantErr(t, err, inUse)
	_, err = Open(img, true)
	wantErr(t, err, inUse)
	c, err := Open(img+"%OFFSET:8192%", false)
	if err != nil {
		t.Fatalf("window after both: %v", err)
	}
	c.Close()
}

// The helper process: opens DEV_LOCK_HELPER read-write, says "locked" and
// holds the lock until its stdin closes.
func TestLockHelperProcess(t *testing.T) {
	img := os.Getenv("DEV_LOCK_HELPER")
	if img == "" {
		t.Skip("helper process only")
	}
	d, err := Open(img, os.Getenv("DEV_LOCK_HELPER_RO") != "")
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	d.Close()
	os.Exit(0)
}

func startHolder(t *testing.T, img string, ro bool) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$")
	cmd.Env = append(os.Environ(), "DEV_LOCK_HELPER="+img)
	if ro {
		cmd.Env = append(cmd.Env, "DEV_LOCK_HELPER_RO=1")
	}
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "locked\n" {
		t.Fatalf("helper: %q", line)
	}
	return cmd, stdin
}

func TestLockOtherProcess(t *testing.T) {
	img := writeImage(t, make([]byte, 1<<20))
	cmd, stdin := startHolder(t, img, false)
	_, err := Open(img, true)
	wantErr(t, err, fmt.Sprintf("%s: image is in use by pid %d", img, cmd.Process.Pid))
	_, err = Open(img+"%OFFSET:512,512%", false)
	wantErr(t, err, fmt.Sprintf("%s: image is in use by pid %d", img, cmd.Process.Pid))
	stdin.Close()
	cmd.Wait()
	d, err := Open(img, false)
	if err != nil {
		t.Fatalf("after the holder exited: %v", err)
	}
	d.Close()

	// A read-only holder lets readers in and keeps writers out.
	cmd, _ = startHolder(t, img, true)
	d, err = Open(img, true)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	_, err = Open(img, false)
	wantErr(t, err, fmt.Sprintf("%s: image is in use by pid %d", img, cmd.Process.Pid))
}
