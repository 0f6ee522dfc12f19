package ffs

import (
	"fmt"
	"math/rand"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/rumpfs/rumpfs/fs/ffs/layout"
	"github.com/rumpfs/rumpfs/vfs"
)

// dhSide is one mount of the dirhash model test: the same operations go
// to a mount with dirhash on and to one with it off (the scan).
type dhSide struct {
	name string
	img  string
	m    *mount
	dirs map[string]*node // model directory path -> its vnode, held
}

// dhModel is what the directories should hold: path -> name -> is a
// directory; and per side the inode number each path got.
type dhModel struct {
	ents map[string]map[string]bool
	ino  [2]map[string]uint64
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// TestDirhashModel runs random creates, removes, renames, mkdirs and
// rmdirs in a few directories (three grown to hundreds of entries, so
// that they are hashed, and over a hundred small subdirectories, scanned
// in the first run, moved between them) on two mounts, dirhash on and off, checking every
// lookup and, now and then, every readdir against a model, and the hash's
// own tables against a scan; then both images against the checker and,
// UFS1, sleuthkit's fls. The second run squeezes the memory budget so that
// hashes are recycled all the time.
func TestDirhashModel(t *testing.T) {
	needTool(t, "makefs")
	ops := 4000
	if testing.Short() {
		ops = 2500
	}
	cases := []struct {
		v         variant
		maxMem    int64
		minChunks int64
	}{
		// One-chunk directories scanned, bigger ones hashed.
		{variant{1, "le", 4096, 512}, 2 << 20, 2},
		// All hashed, under a budget that keeps recycling them.
		{variant{2, "be", 8192, 1024}, 96 << 10, 1},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%v-maxmem%d-min%d", tc.v, tc.maxMem, tc.minChunks), func(t *testing.T) {
			oldMax, oldMin := dirhashMaxMem, dirhashMinChunks
			dirhashMaxMem, dirhashMinChunks = tc.maxMem, tc.minChunks
			t.Cleanup(func() { dirhashMaxMem, dirhashMinChunks = oldMax, oldMin })
			seed := int64(len(tc.v.String())) + tc.maxMem
			t.Logf("seed %d", seed)
			dhList.mu.Lock()
			recycled0 := dhList.recycled
			dhList.mu.Unlock()
			dhRun(t, tc.v, rand.New(rand.NewSource(seed)), ops)
			dhList.mu.Lock()
			recycled := dhList.recycled - recycled0
			dhList.mu.Unlock()
			t.Logf("%d hashes recycled", recycled)
			if tc.maxMem < 100<<10 && recycled == 0 {
				t.Error("no hash recycled under a small budget")
			}
		})
	}
}

func dhRun(t *testing.T, v variant, rng *rand.Rand, ops int) {
	var sides [2]*dhSide
	for i, on := range []bool{true, false} {
		img := emptyImage(t, v, "16m")
		m := mountImg(t, img, false, "")
		m.dirhash = on
		warn := m.warnf
		m.warnf = func(f string, a ...any) {
			t.Errorf("unexpected warning: "+f, a...)
			warn(f, a...)
		}
		s := &dhSide{name: map[bool]string{true: "dirhash", false: "scan"}[on], img: img, m: m, dirs: map[string]*node{}}
		root, err := m.Root()
		if err != nil {
			t.Fatal(err)
		}
		s.dirs[""] = root.(*node)
		sides[i] = s
	}
	md := &dhModel{ents: map[string]map[string]bool{"": {}}, ino: [2]map[string]uint64{{}, {}}}
	must := func(err error, what string) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	mkdir := func(dir, name string) {
		for i, s := range sides {
			vn, err := s.dirs[dir].Mkdir(vfs.RootCred, name, 0755)
			must(err, s.name+": mkdir "+join(dir, name))
			s.dirs[join(dir, name)] = vn.(*node)
			md.ino[i][join(dir, name)] = vn.(*node).ino
		}
		md.ents[dir][name] = true
		md.ents[join(dir, name)] = map[string]bool{}
	}
	for _, d := range []string{"big0", "big1", "third"} {
		mkdir("", d)
	}
	tops := []string{"big0", "big1", "third"}

	// name makes a name of random length, now and then a long one, so
	// that entries of all sizes come and go and chunks get compacted.
	name := func() string {
		n := 1 + rng.Intn(20)
		if rng.Intn(10) == 0 {
			n = 40 + rng.Intn(layout.MAXNAMLEN-40)
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = "abcdefghijklmnopqrstuvwxyz0123456789-_."[rng.Intn(39)]
		}
		s := string(b)
		if s == "." || s == ".." {
			s += "x"
		}
		return s
	}
	// pickDir: the big ones most of the time.
	dirList := func() []string {
		var l []string
		for d := range md.ents {
			l = append(l, d)
		}
		sort.Strings(l)
		return l
	}
	pickDir := func() string {
		switch r := rng.Intn(10); {
		case r < 7:
			return tops[rng.Intn(2)]
		case r < 8:
			return "third"
		default:
			l := dirList()
			return l[rng.Intn(len(l))]
		}
	}
	pickEnt := func(dir string, wantDir bool) (string, bool) {
		var l []string
		for n, isDir := range md.ents[dir] {
			if isDir == wantDir {
				l = append(l, n)
			}
		}
		if len(l) == 0 {
			return "", false
		}
		sort.Strings(l)
		return l[rng.Intn(len(l))], true
	}
	// lookup checks one name in one directory on both sides.
	lookup := func(dir, nm string) {
		t.Helper()
		isDir, exists := md.ents[dir][nm]
		for i, s := range sides {
			d := s.dirs[dir]
			s.m.mu.RLock()
			ino, err := d.lookupIno(nm)
			s.m.mu.RUnlock()
			switch {
			case !exists && err != syscall.ENOENT:
				t.Fatalf("%s: lookup %s: %d, %v; want ENOENT", s.name, join(dir, nm), ino, err)
			case exists && err != nil:
				t.Fatalf("%s: lookup %s: %v", s.name, join(dir, nm), err)
			case exists && uint64(ino) != md.ino[i][join(dir, nm)]:
				t.Fatalf("%s: lookup %s: inode %d, want %d", s.name, join(dir, nm), ino, md.ino[i][join(dir, nm)])
			}
			_ = isDir
		}
	}
	readdirs := func() {
		t.Helper()
		for _, dir := range dirList() {
			for i, s := range sides {
				want := map[string]uint64{}
				for nm := range md.ents[dir] {
					want[nm] = md.ino[i][join(dir, nm)]
				}
				got := map[string]uint64{}
				err := s.dirs[dir].Readdir(0, func(e vfs.Dirent) bool {
					if e.Name == "." || e.Name == ".." {
						return true
					}
					if _, dup := got[e.Name]; dup {
						t.Errorf("%s: readdir %q: %q twice", s.name, dir, e.Name)
					}
					got[e.Name] = e.Ino
					return true
				})
				must(err, s.name+": readdir "+dir)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("%s: readdir %q:\n got %v\nwant %v", s.name, dir, got, want)
				}
				dhCheckExact(t, s.name+" "+dir, s.dirs[dir])
			}
		}
	}
	move := func(from, to string, isDir bool) {
		// Model paths under a moved directory follow it.
		for i, s := range sides {
			for p, ino := range md.ino[i] {
				if p == from || strings.HasPrefix(p, from+"/") {
					delete(md.ino[i], p)
					md.ino[i][to+strings.TrimPrefix(p, from)] = ino
				}
			}
			if isDir {
				for p, n := range s.dirs {
					if p == from || strings.HasPrefix(p, from+"/") {
						delete(s.dirs, p)
						s.dirs[to+strings.TrimPrefix(p, from)] = n
					}
				}
			}
		}
		if isDir {
			for p, e := range md.ents {
				if p == from || strings.HasPrefix(p, from+"/") {
					delete(md.ents, p)
					md.ents[to+strings.TrimPrefix(p, from)] = e
				}
			}
		}
	}

	hashed := 0
	for op := 0; op < ops; op++ {
		dir := pickDir()
		r := rng.Intn(100)
		grow := op < ops/2
		switch {
		case r < 40 || (grow && r < 60):
			nm := name()
			if _, ok := md.ents[dir][nm]; ok {
				lookup(dir, nm)
				for _, s := range sides {
					if _, err := s.dirs[dir].Create(vfs.RootCred, nm, 0644); err != syscall.EEXIST {
						t.Fatalf("%s: create of existing %s: %v", s.name, join(dir, nm), err)
					}
				}
				continue
			}
			for i, s := range sides {
				vn, err := s.dirs[dir].Create(vfs.RootCred, nm, 0644)
				must(err, s.name+": create "+join(dir, nm))
				md.ino[i][join(dir, nm)] = vn.(*node).ino
				vn.Rele()
			}
			md.ents[dir][nm] = false
		case r < 65:
			nm, ok := pickEnt(dir, false)
			if !ok {
				continue
			}
			for i, s := range sides {
				must(s.dirs[dir].Remove(nm), s.name+": remove "+join(dir, nm))
				delete(md.ino[i], join(dir, nm))
			}
			delete(md.ents[dir], nm)
		case r < 80:
			// Rename a file, to a new name or over another file, in
			// the same or another directory.
			nm, ok := pickEnt(dir, false)
			if !ok {
				continue
			}
			to := pickDir()
			nn := name()
			if rng.Intn(3) == 0 {
				if o, ok := pickEnt(to, false); ok {
					nn = o
				}
			}
			if isDir, ok := md.ents[to][nn]; ok && isDir {
				continue
			}
			if to == dir && nn == nm {
				continue
			}
			for i, s := range sides {
				must(s.dirs[dir].Rename(nm, s.dirs[to], nn), s.name+": rename "+join(dir, nm)+" "+join(to, nn))
				delete(md.ino[i], join(to, nn))
			}
			delete(md.ents[to], nn)
			move(join(dir, nm), join(to, nn), false)
			delete(md.ents[dir], nm)
			md.ents[to][nn] = false
		case r < 88:
			if strings.Count(dir, "/") > 2 {
				continue
			}
			nm := name()
			if _, ok := md.ents[dir][nm]; ok {
				continue
			}
			mkdir(dir, nm)
		case r < 94:
			// rmdir: ENOTEMPTY unless empty.
			nm, ok := pickEnt(dir, true)
			if !ok || dir == "" {
				continue
			}
			p := join(dir, nm)
			empty := len(md.ents[p]) == 0
			for i, s := range sides {
				err := s.dirs[dir].Rmdir(nm)
				if !empty {
					if err != syscall.ENOTEMPTY {
						t.Fatalf("%s: rmdir non-empty %s: %v", s.name, p, err)
					}
					continue
				}
				must(err, s.name+": rmdir "+p)
				s.dirs[p].Rele()
				delete(s.dirs, p)
				delete(md.ino[i], p)
			}
			if empty {
				delete(md.ents, p)
				delete(md.ents[dir], nm)
			}
		default:
			// Move a subdirectory to another top directory.
			nm, ok := pickEnt(dir, true)
			if !ok || dir == "" {
				continue
			}
			to := tops[rng.Intn(3)]
			from := join(dir, nm)
			if to == dir || strings.HasPrefix(to, from) {
				continue
			}
			nn := nm
			if _, ok := md.ents[to][nn]; ok {
				continue
			}
			for _, s := range sides {
				must(s.dirs[dir].Rename(nm, s.dirs[to], nn), s.name+": rename dir "+from+" "+join(to, nn))
			}
			move(from, join(to, nn), true)
			delete(md.ents[dir], nm)
			md.ents[to][nn] = true
		}
		// Lookups after every change: an existing name and an absent one.
		if nm, ok := pickEnt(dir, rng.Intn(4) == 0); ok {
			lookup(dir, nm)
		}
		lookup(dir, name())
		if op%500 == 499 {
			readdirs()
		}
		if sides[0].dirs["big0"].dh.Load() != nil {
			hashed++
		}
	}
	readdirs()
	t.Logf("big0 %d entries, big1 %d, third %d; %d directories; %d hashes listed, %d bytes",
		len(md.ents["big0"]), len(md.ents["big1"]), len(md.ents["third"]), len(md.ents), len(dhList.all), dhList.mem)
	// The point is to exercise the hash: it must have been there.
	if hashed < ops/4 {
		t.Errorf("big0 hashed after only %d of %d operations", hashed, ops)
	}
	for _, s := range sides {
		for _, d := range s.dirs {
			d.Rele()
		}
		if err := s.m.Unmount(); err != nil {
			t.Fatal(err)
		}
		checkClean(t, s.img)
		if v.version == 1 {
			dhFls(t, s.name, s.img, md)
		}
	}
}

// dhCheckExact compares a directory's hash, if it has one, with a scan:
// every name at its offset with its inode, no others, and every chunk's
// free space.
func dhCheckExact(t *testing.T, what string, n *node) {
	t.Helper()
	m := n.m
	m.mu.RLock()
	defer m.mu.RUnlock()
	dh := n.dh.Load()
	if dh == nil {
		return
	}
	names := map[string]dhEnt{}
	free := make([]int, n.size/layout.DIRBLKSIZ)
	err := n.scanDir(0, func(e dirent) bool {
		used := 0
		if e.ino != 0 {
			names[e.name] = dhEnt{off: e.off, ino: e.ino}
			used = layout.DirSize(len(e.name))
		}
		free[e.off/layout.DIRBLKSIZ] += e.reclen - used
		return true
	})
	if err != nil {
		t.Fatalf("%s: scan: %v", what, err)
	}
	if fmt.Sprint(names) != fmt.Sprint(dh.names) {
		t.Fatalf("%s: hash names differ from the scan:\n hash %v\n scan %v", what, dh.names, names)
	}
	if len(free) != len(dh.free) {
		t.Fatalf("%s: hash has %d chunks, directory %d", what, len(dh.free), len(free))
	}
	for i := range free {
		if int(dh.free[i]) != free[i] {
			t.Fatalf("%s: chunk %d: hash says %d free, scan %d", what, i, dh.free[i], free[i])
		}
	}
	for need := 12; need <= 512; need += 100 {
		want := int64(-1)
		for i := range free {
			if free[i] >= need {
				want = int64(i)
				break
			}
		}
		if got := dh.findFree(need); got != want {
			t.Fatalf("%s: findFree(%d) = %d, want %d", what, need, got, want)
		}
	}
}

// dhFls lists a UFS1 image with sleuthkit's fls and compares the tree
// with the model.
func dhFls(t *testing.T, side, img string, md *dhModel) {
	t.Helper()
	needTool(t, "fls")
	out, err := exec.Command("fls", "-r", "-p", "-f", "ufs1", img).Output()
	if err != nil {
		t.Fatalf("fls: %v\n%s", err, out)
	}
	got := map[string]byte{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		meta, p, ok := strings.Cut(line, "\t")
		if !ok || strings.Contains(meta, "*") || strings.HasPrefix(p, "$Orphan") {
			continue
		}
		got[p] = meta[0]
	}
	want := map[string]byte{}
	for dir, ents := range md.ents {
		for nm, isDir := range ents {
			want[join(dir, nm)] = map[bool]byte{true: 'd', false: 'r'}[isDir]
		}
	}
	for p, c := range want {
		if got[p] != c {
			t.Errorf("%s: fls: %s is %q, want %q", side, p, got[p], c)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: fls: unexpected %s", side, p)
		}
	}
}

// TestDirhashConcurrent runs lookups (mu shared) in several directories
// of one mount while another mount creates and removes files, under a
// memory budget so small that every build recycles other hashes, the
// other mount's included: with -race this checks that recycling from one
// goroutine never races with another reading or changing a hash.
func TestDirhashConcurrent(t *testing.T) {
	needTool(t, "makefs")
	oldMax, oldMin := dirhashMaxMem, dirhashMinChunks
	dirhashMaxMem, dirhashMinChunks = 8<<10, 1
	t.Cleanup(func() { dirhashMaxMem, dirhashMinChunks = oldMax, oldMin })
	v := variant{2, "le", 8192, 1024}
	var ms [2]*mount
	var imgs [2]string
	var dirs [2][]*node
	for i := range ms {
		imgs[i] = emptyImage(t, v, "16m")
		ms[i] = mountImg(t, imgs[i], false, "")
		root, _ := ms[i].Root()
		for d := 0; d < 4; d++ {
			vn, err := root.(*node).Mkdir(vfs.RootCred, fmt.Sprintf("d%d", d), 0755)
			if err != nil {
				t.Fatal(err)
			}
			for f := 0; f < 60; f++ {
				c, err := vn.(*node).Create(vfs.RootCred, fmt.Sprintf("f%03d", f), 0644)
				if err != nil {
					t.Fatal(err)
				}
				c.Rele()
			}
			dirs[i] = append(dirs[i], vn.(*node))
		}
		root.Rele()
	}
	dhList.mu.Lock()
	recycled0 := dhList.recycled
	dhList.mu.Unlock()
	iters := 300
	done := make(chan error, 6)
	for g := 0; g < 4; g++ {
		go func() {
			for k := 0; k < iters; k++ {
				d := dirs[0][(g+k)%4]
				vn, err := d.Lookup(fmt.Sprintf("f%03d", k%60))
				if err != nil {
					done <- fmt.Errorf("lookup: %v", err)
					return
				}
				vn.Rele()
				if _, err := d.Lookup(fmt.Sprintf("absent%d", k)); err != syscall.ENOENT {
					done <- fmt.Errorf("lookup of absent name: %v", err)
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 2; g++ {
		go func() {
			for k := 0; k < iters; k++ {
				d := dirs[1][(2*g+k)%4]
				nm := fmt.Sprintf("g%d-%d", g, k)
				c, err := d.Create(vfs.RootCred, nm, 0644)
				if err != nil {
					done <- fmt.Errorf("create: %v", err)
					return
				}
				c.Rele()
				if k%2 == 0 {
					if err := d.Remove(nm); err != nil {
						done <- fmt.Errorf("remove: %v", err)
						return
					}
				}
			}
			done <- nil
		}()
	}
	for range 6 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	dhList.mu.Lock()
	recycled := dhList.recycled - recycled0
	dhList.mu.Unlock()
	if recycled == 0 {
		t.Error("no hash recycled")
	}
	t.Logf("%d hashes recycled", recycled)
	for i := range ms {
		for _, d := range dirs[i] {
			dhCheckExact(t, "after", d)
			d.Rele()
		}
		if err := ms[i].Unmount(); err != nil {
			t.Fatal(err)
		}
		checkClean(t, imgs[i])
	}
}

// TestDirhashRefused covers the directories left to the scan: one whose
// hash would pass half the memory budget (ufsdirhash_build's limit), and
// one holding a name twice (corrupt), where the scan finds the first as
// it always did. Neither is tried again at the same size.
func TestDirhashRefused(t *testing.T) {
	needTool(t, "makefs")
	oldMax, oldMin := dirhashMaxMem, dirhashMinChunks
	dirhashMaxMem, dirhashMinChunks = 8<<10, 1
	t.Cleanup(func() { dirhashMaxMem, dirhashMinChunks = oldMax, oldMin })
	img := emptyImage(t, variant{1, "le", 4096, 512}, "16m")
	m := mountImg(t, img, false, "")
	defer m.Unmount()
	root, _ := m.Root()
	defer root.Rele()
	r := root.(*node)
	vn, err := r.Mkdir(vfs.RootCred, "big", 0755)
	if err != nil {
		t.Fatal(err)
	}
	big := vn.(*node)
	defer big.Rele()
	inos := map[string]uint64{}
	for i := 0; i < 150; i++ {
		nm := fmt.Sprintf("file-%03d", i)
		c, err := big.Create(vfs.RootCred, nm, 0644)
		if err != nil {
			t.Fatal(err)
		}
		inos[nm] = c.(*node).ino
		c.Rele()
	}
	for nm, ino := range inos {
		c, err := big.Lookup(nm)
		if err != nil || c.(*node).ino != ino {
			t.Fatalf("lookup %s: %v", nm, err)
		}
		c.Rele()
	}
	if _, err := big.Lookup("absent"); err != syscall.ENOENT {
		t.Fatalf("lookup absent: %v", err)
	}
	if big.dh.Load() != nil || big.dhNoBuild.Load() != big.size+1 {
		t.Errorf("150 entries under a 4 KiB half budget: hash %v, refused at %d (size %d)", big.dh.Load() != nil, big.dhNoBuild.Load()-1, big.size)
	}

	// A second "x" made by renaming "y" on disk, behind the file
	// system's back: the index would have to pick one.
	dirhashMaxMem = 2 << 20
	vn, err = r.Mkdir(vfs.RootCred, "dup", 0755)
	if err != nil {
		t.Fatal(err)
	}
	dup := vn.(*node)
	defer dup.Rele()
	var first uint64
	for _, nm := range []string{"x", "y"} {
		c, err := dup.Create(vfs.RootCred, nm, 0644)
		if err != nil {
			t.Fatal(err)
		}
		if nm == "x" {
			first = c.(*node).ino
		}
		c.Rele()
	}
	dup.dropDirhash()
	m.mu.Lock()
	chunk, err := dup.readChunk(0)
	if err != nil {
		t.Fatal(err)
	}
	var yoff int64 = -1
	dup.parseChunk(chunk, 0, func(e dirent) bool {
		if e.name == "y" {
			yoff = e.off
		}
		return true
	})
	chunk[yoff+8] = 'x'
	if err := dup.writeDirBytes(chunk, 0); err != nil {
		t.Fatal(err)
	}
	m.mu.Unlock()
	c, err := dup.Lookup("x")
	if err != nil || c.(*node).ino != first {
		t.Fatalf("lookup of the doubled name: %v, want the first entry (inode %d)", err, first)
	}
	c.Rele()
	if dup.dh.Load() != nil || dup.dhNoBuild.Load() != dup.size+1 {
		t.Error("a directory with a name twice got a hash")
	}
}
