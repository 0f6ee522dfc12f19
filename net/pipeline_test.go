package ninep

import (
	"sync"
	"testing"

	"github.com/hugelgupf/p9/p9"

	"github.com/rumpfs/rumpfs/internal/memfs"
)

// Requests on one fid sent without waiting for each other's replies (the
// p9 client sends concurrent calls at once; so may any client) must not
// race in the server. p9 v0.3.0 sets a fid's opened state and open flags
// after its Tlopen handler returns, outside the fid's lock, while Tread,
// Twrite and Treaddir handlers of the same fid read them under it; and
// two pipelined Tlopens of one fid can both pass its "already opened"
// check. Run under -race, this test is what shows it (race_on_test.go).
func TestPipelinedOneFid(t *testing.T) {
	m := memfs.New()
	sock := serveTest(t, m, Options{})
	c, root, _ := dial(t, sock)
	defer c.Close()
	defer root.Close()
	writeFile(t, root, "f", pattern("f", 100000), 0644)
	mkdir(t, root, "d")
	rounds := 200
	if testing.Short() {
		rounds = 50
	}
	for i := 0; i < rounds; i++ {
		name := "f"
		if i%2 == 1 {
			name = "d"
		}
		f, err := walkTo(root, name)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		opens := 0
		for g := 0; g < 6; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				switch g % 3 {
				case 0:
					if _, _, err := f.Open(p9.ReadOnly); err == nil {
						mu.Lock()
						opens++
						mu.Unlock()
					}
				case 1:
					if name == "f" {
						f.ReadAt(make([]byte, 4096), int64(g)*4096)
					} else {
						f.Readdir(0, 4096)
					}
				case 2:
					f.GetAttr(p9.AttrMaskAll)
					f.WriteAt([]byte("x"), 0) // refused: opened read-only or not at all
				}
			}(g)
		}
		wg.Wait()
		if opens != 1 {
			t.Errorf("round %d (%s): %d of 2 pipelined Tlopens of one fid succeeded, want exactly 1", i, name, opens)
		}
		// Once open, reads on the fid work.
		if name == "f" {
			if n, err := f.ReadAt(make([]byte, 10), 0); err != nil || n != 10 {
				t.Errorf("round %d: read after open: %d %v", i, n, err)
			}
		}
		f.Close()
	}
	if got := readFile(t, root, "f"); len(got) != 100000 || got[0] != pattern("f", 1)[0] {
		t.Errorf("file changed by refused writes: %d bytes, first %q", len(got), got[:1])
	}
}
