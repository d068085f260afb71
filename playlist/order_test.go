package playlist

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

func seeded(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("t%02d.mp3", i)
	}
	return out
}

// take calls Next n times.
func take(t *testing.T, o *Order, n int) []string {
	t.Helper()
	out := make([]string, 0, n)
	for range n {
		tr, ok := o.Next()
		if !ok {
			t.Fatalf("Next returned false after %d tracks", len(out))
		}
		out = append(out, tr.Rel)
	}
	return out
}

func TestOrderShuffledCycles(t *testing.T) {
	const n, cycles = 7, 50
	lib, _ := newTestLibrary(t, names(n)...)
	o := NewOrder(lib, true, seeded(1))
	all := sorted(names(n))
	distinct := map[string]bool{}
	prevLast := ""
	for c := range cycles {
		cyc := take(t, o, n)
		if got := sorted(cyc); !slices.Equal(got, all) {
			t.Fatalf("cycle %d is not a permutation: %q", c, cyc)
		}
		if cyc[0] == prevLast {
			t.Fatalf("cycle %d starts with the previous cycle's last track %q", c, prevLast)
		}
		prevLast = cyc[n-1]
		distinct[fmt.Sprint(cyc)] = true
	}
	if len(distinct) < cycles/2 {
		t.Fatalf("only %d distinct orders in %d cycles: not shuffling", len(distinct), cycles)
	}
}

func TestOrderDeterministicWithSeed(t *testing.T) {
	lib, _ := newTestLibrary(t, names(10)...)
	a := take(t, NewOrder(lib, true, seeded(42)), 40)
	b := take(t, NewOrder(lib, true, seeded(42)), 40)
	c := take(t, NewOrder(lib, true, seeded(43)), 40)
	if !slices.Equal(a, b) {
		t.Fatal("same seed, different order")
	}
	if slices.Equal(a, c) {
		t.Fatal("different seeds, same 40-track order")
	}
}

func TestOrderNameOrder(t *testing.T) {
	lib, _ := newTestLibrary(t, "b.mp3", "a.mp3", "c/d.mp3", "c d.mp3")
	o := NewOrder(lib, false, nil)
	want := []string{"a.mp3", "b.mp3", "c d.mp3", "c/d.mp3"}
	for c := range 3 {
		if got := take(t, o, 4); !slices.Equal(got, want) {
			t.Fatalf("cycle %d: %q, want %q", c, got, want)
		}
	}
}

func TestOrderOneTrackLoops(t *testing.T) {
	lib, _ := newTestLibrary(t, "only.mp3")
	o := NewOrder(lib, true, seeded(1))
	for _, r := range take(t, o, 5) {
		if r != "only.mp3" {
			t.Fatalf("got %q", r)
		}
	}
}

func TestOrderTwoTracksAlternate(t *testing.T) {
	lib, _ := newTestLibrary(t, "a.mp3", "b.mp3")
	o := NewOrder(lib, true, seeded(7))
	got := take(t, o, 100)
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Fatalf("repeat at %d: %q", i, got)
		}
	}
}

func TestOrderEmptyLibrary(t *testing.T) {
	lib := NewLibrary(t.TempDir(), LibraryOptions{})
	if _, err := lib.Scan(); !errors.Is(err, ErrNoPlayableFiles) {
		t.Fatalf("Scan of an empty folder: %v", err)
	}
	o := NewOrder(lib, true, seeded(1))
	if tr, ok := o.Next(); ok {
		t.Fatalf("Next on empty library = %+v", tr)
	}
}

func TestOrderReconcileAddShuffled(t *testing.T) {
	lib, dir := newTestLibrary(t, names(10)...)
	o := NewOrder(lib, true, seeded(5))
	played := take(t, o, 4)

	writeTracks(t, dir, "new1.mp3", "new2.mp3", "new3.mp3")
	mustScan(t, lib)

	rest := take(t, o, 9) // 6 left of the old cycle + 3 new, no restart
	want := append(slices.Clone(rest), played...)
	if got, all := sorted(want), sorted(rels(lib.Tracks())); !slices.Equal(got, all) {
		t.Fatalf("cycle after add = %q + %q, want each of %q once", played, rest, all)
	}
	// The next cycle holds everything once.
	if got := sorted(take(t, o, 13)); !slices.Equal(got, sorted(rels(lib.Tracks()))) {
		t.Fatalf("next cycle %q", got)
	}
}

func TestOrderReconcileAddNameOrder(t *testing.T) {
	lib, dir := newTestLibrary(t, "a.mp3", "c.mp3", "e.mp3", "g.mp3")
	o := NewOrder(lib, false, nil)
	if got := take(t, o, 2); !slices.Equal(got, []string{"a.mp3", "c.mp3"}) {
		t.Fatalf("start %q", got)
	}
	writeTracks(t, dir, "b.mp3", "f.mp3", "h.mp3")
	mustScan(t, lib)
	// b sorts before what was played: it still joins this cycle, next.
	want := []string{"b.mp3", "e.mp3", "f.mp3", "g.mp3", "h.mp3", "a.mp3", "b.mp3"}
	if got := take(t, o, len(want)); !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestOrderReconcileRemove(t *testing.T) {
	for _, shuffle := range []bool{false, true} {
		t.Run(fmt.Sprint("shuffle=", shuffle), func(t *testing.T) {
			lib, dir := newTestLibrary(t, names(8)...)
			o := NewOrder(lib, shuffle, seeded(9))
			played := take(t, o, 3)
			pending := upcoming(o)
			// Remove one played and two pending tracks.
			gone := []string{played[1], pending[0], pending[3]}
			for _, g := range gone {
				if err := os.Remove(filepath.Join(dir, g)); err != nil {
					t.Fatal(err)
				}
			}
			mustScan(t, lib)
			rest := take(t, o, 3)
			wantRest := slices.DeleteFunc(slices.Clone(pending), func(r string) bool { return slices.Contains(gone, r) })
			if !slices.Equal(rest, wantRest) {
				t.Fatalf("rest of cycle %q, want %q (removed %q)", rest, wantRest, gone)
			}
			next := take(t, o, 5)
			if got, want := sorted(next), sorted(rels(lib.Tracks())); !slices.Equal(got, want) {
				t.Fatalf("next cycle %q, want %q", next, want)
			}
		})
	}
}

func TestOrderAllRemovedThenBack(t *testing.T) {
	lib, dir := newTestLibrary(t, "a.mp3", "b.mp3")
	o := NewOrder(lib, true, seeded(1))
	take(t, o, 1)
	for _, n := range []string{"a.mp3", "b.mp3"} {
		os.Remove(filepath.Join(dir, n))
	}
	if _, err := lib.Scan(); !errors.Is(err, ErrNoPlayableFiles) {
		t.Fatalf("Scan with every track removed: %v", err)
	}
	if _, ok := o.Next(); ok {
		t.Fatal("Next with all tracks removed returned a track")
	}
	writeTracks(t, dir, "c.mp3")
	mustScan(t, lib)
	if got := take(t, o, 2); !slices.Equal(got, []string{"c.mp3", "c.mp3"}) {
		t.Fatalf("got %q", got)
	}
}

func TestOrderSkipEveryTrack(t *testing.T) {
	lib, dir := newTestLibrary(t, names(4)...)
	o := NewOrder(lib, true, seeded(2))
	for i, n := range names(4) {
		remain := o.Skip(n)
		if want := i < 3; remain != want {
			t.Fatalf("Skip(%s) = %v, want %v", n, remain, want)
		}
	}
	if tr, ok := o.Next(); ok {
		t.Fatalf("Next after skipping all = %q", tr.Rel)
	}
	// A rescan that changes nothing keeps them out.
	mustScan(t, lib)
	if _, ok := o.Next(); ok {
		t.Fatal("unchanged rescan brought skipped tracks back")
	}
	// Replacing one file brings that one (only) back.
	if err := os.WriteFile(filepath.Join(dir, "t02.mp3"), []byte("fixed"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustScan(t, lib)
	for _, r := range take(t, o, 3) {
		if r != "t02.mp3" {
			t.Fatalf("got %q, only t02.mp3 was fixed", r)
		}
	}
}

func TestOrderSkippedNotOffered(t *testing.T) {
	lib, _ := newTestLibrary(t, names(5)...)
	o := NewOrder(lib, true, seeded(4))
	take(t, o, 1)
	bad := upcoming(o)[2] // still pending in this cycle
	if !o.Skip(bad) {
		t.Fatal("Skip reported nothing left")
	}
	if o.Skip("not-a-track.mp3") != true {
		t.Fatal("Skip of an unknown path changed the answer")
	}
	for _, r := range take(t, o, 4*20) {
		if r == bad {
			t.Fatalf("skipped track %q offered again", bad)
		}
	}
}

func TestOrderConcurrent(t *testing.T) {
	lib, dir := newTestLibrary(t, names(20)...)
	o := NewOrder(lib, true, seeded(6))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				switch (g + i) % 4 {
				case 0, 1:
					if _, ok := o.Next(); !ok {
						t.Error("Next returned false")
						return
					}
				case 2, 3:
					o.Snapshot()
				}
			}
		}()
	}
	for i := range 10 {
		writeTracks(t, dir, fmt.Sprintf("extra%02d.mp3", i))
		mustScan(t, lib)
	}
	wg.Wait()
	// Whatever happened, the order still covers the final library.
	st := o.Snapshot()
	if got, want := sorted(st.Order), sorted(rels(lib.Tracks())); !slices.Equal(got, want) {
		t.Fatalf("cycle %q\nlibrary %q", got, want)
	}
}
