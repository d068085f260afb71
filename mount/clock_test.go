package mount

import (
	"hash/fnv"
	"math/big"
	"slices"
	"testing"
	"time"
)

// exactFrame is the frame playing at t, computed with exact rationals.
func exactFrame(c FrameClock, t time.Time) int64 {
	ns := new(big.Int).Mul(big.NewInt(t.Unix()), big.NewInt(int64(time.Second)))
	ns.Add(ns, big.NewInt(int64(t.Nanosecond())))
	num := new(big.Int).Mul(ns, big.NewInt(int64(c.SampleRate)))
	den := new(big.Int).Mul(big.NewInt(int64(time.Second)), big.NewInt(int64(c.Samples)))
	q, _ := new(big.Int).DivMod(num, den, new(big.Int)) // Euclidean: floors for den > 0
	return q.Int64()
}

func TestFrameClockMatchesExactArithmetic(t *testing.T) {
	for _, c := range []FrameClock{FrameClockFor(44100), FrameClockFor(48000), FrameClockFor(22050), FrameClockFor(32000)} {
		for _, at := range []time.Time{
			time.Unix(0, 0),
			time.Unix(-1, 0),
			time.Unix(-86400*365, 123),
			time.Date(2026, 12, 6, 8, 30, 0, 0, time.UTC),
			time.Date(2026, 12, 6, 8, 30, 0, 999_999_999, time.UTC),
			time.Date(2200, 1, 1, 0, 0, 0, 1, time.UTC),
		} {
			if got, want := c.FrameAt(at), exactFrame(c, at); got != want {
				t.Errorf("%+v FrameAt(%v) = %d, want %d", c, at, got, want)
			}
		}
	}
}

// Time(f) is the first nanosecond of frame f: the frame is on the air from
// it, and the nanosecond before belongs to the frame before.
func TestFrameClockTimeIsTheFrameStart(t *testing.T) {
	c := FrameClockFor(44100)
	now := c.FrameAt(time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC))
	for _, f := range []int64{0, 1, 2, 153, -1, -154, now, now + 1, now + 44100} {
		start := c.Time(f)
		if got := c.FrameAt(start); got != f {
			t.Errorf("FrameAt(Time(%d)) = %d", f, got)
		}
		if got := c.FrameAt(start.Add(-1)); got != f-1 {
			t.Errorf("FrameAt(Time(%d) - 1ns) = %d, want %d", f, got, f-1)
		}
		if d := c.Time(f + 1).Sub(start); d != c.Duration() && d != c.Duration()+1 {
			t.Errorf("frame %d lasts %v, want %v (+1ns)", f, d, c.Duration())
		}
		if start.Location() != time.UTC {
			t.Errorf("Time(%d) is in %v, want UTC", f, start.Location())
		}
	}
	// 1152 × 25 samples are exactly 0.653061... s: 441 frames are 11.52 s.
	if d := c.Time(now + 441).Sub(c.Time(now)); d != 11520*time.Millisecond {
		t.Errorf("441 frames last %v, want 11.52s", d)
	}
}

func TestFrameClockNearest(t *testing.T) {
	c := FrameClockFor(44100)
	f := int64(67_000_000_000)
	start := c.Time(f)
	for _, tc := range []struct {
		at   time.Time
		want int64
	}{
		{start, f},
		{start.Add(c.Duration() / 3), f},
		{start.Add(c.Duration() * 2 / 3), f + 1},
		{start.Add(-c.Duration() / 3), f},
		{start.Add(-c.Duration() * 2 / 3), f - 1},
	} {
		if got := c.Nearest(tc.at); got != tc.want {
			t.Errorf("Nearest(start%+v) = %d, want %d", tc.at.Sub(start), got, tc.want)
		}
	}
}

// The timeline runs on UTC instants: a zone, or a daylight saving change
// in it, moves nothing.
func TestFrameClockIgnoresZonesAndDST(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	c := FrameClockFor(44100)
	// 2026-03-29 01:30 UTC is 03:30 CEST, an hour after 01:30 CET (00:30 UTC).
	before := time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC)
	after := before.Add(time.Hour)
	if c.FrameAt(before.In(berlin)) != c.FrameAt(before) || c.FrameAt(after.In(berlin)) != c.FrameAt(after) {
		t.Fatal("the frame depends on the zone")
	}
	if n := c.FrameAt(after) - c.FrameAt(before); n != 137812 && n != 137813 { // 3600 s × 44100 / 1152
		t.Errorf("an hour across the DST change is %d frames, want 137812 or 137813", n)
	}
}

func TestTimelineAtWrapsAround(t *testing.T) {
	tl := Timeline{Frames: []int64{3, 5, 2}}
	for _, tc := range []struct {
		f          int64
		file       int
		offset     int64
		wantPasses int64
	}{
		{0, 0, 0, 0}, {2, 0, 2, 0}, {3, 1, 0, 0}, {7, 1, 4, 0}, {8, 2, 0, 0}, {9, 2, 1, 0},
		{10, 0, 0, 1}, {13, 1, 0, 1}, {1_000_000_009, 2, 1, 100_000_000},
		{-1, 2, 1, -1}, {-10, 0, 0, -1}, {-11, 2, 1, -2},
	} {
		file, off := tl.At(tc.f)
		if file != tc.file || off != tc.offset {
			t.Errorf("At(%d) = file %d frame %d, want file %d frame %d", tc.f, file, off, tc.file, tc.offset)
		}
	}
	if file, _ := (Timeline{}).At(5); file != -1 {
		t.Errorf("an empty loop gives file %d, want -1", file)
	}
}

func TestTimelineShuffleIsSeededPerPass(t *testing.T) {
	frames := []int64{10, 20, 30, 40, 50, 60, 70, 80}
	a := Timeline{Frames: frames, Shuffle: true, Seed: SeedOf("/radio")}
	b := Timeline{Frames: frames, Shuffle: true, Seed: SeedOf("/radio")}
	other := Timeline{Frames: frames, Shuffle: true, Seed: SeedOf("/other")}
	passesDiffer, seedsDiffer := false, false
	for p := int64(-3); p < 20; p++ {
		order := a.Order(p)
		if !slices.Equal(order, b.Order(p)) {
			t.Fatalf("pass %d: the same seed gives %v and %v", p, order, b.Order(p))
		}
		sorted := slices.Clone(order)
		slices.Sort(sorted)
		if !slices.Equal(sorted, []int{0, 1, 2, 3, 4, 5, 6, 7}) {
			t.Fatalf("pass %d: %v is not a permutation", p, order)
		}
		passesDiffer = passesDiffer || !slices.Equal(order, a.Order(p+1))
		seedsDiffer = seedsDiffer || !slices.Equal(order, other.Order(p))
		// At walks the pass in that order.
		base := p * a.Total()
		for _, i := range order {
			if file, off := a.At(base); file != i || off != 0 {
				t.Fatalf("pass %d: At(%d) = file %d frame %d, want file %d frame 0", p, base, file, off, i)
			}
			if file, off := a.At(base + frames[i] - 1); file != i || off != frames[i]-1 {
				t.Fatalf("pass %d: the last frame of file %d is at file %d frame %d", p, i, file, off)
			}
			base += frames[i]
		}
	}
	if !passesDiffer || !seedsDiffer {
		t.Errorf("passes differ: %v, seeds differ: %v; want both", passesDiffer, seedsDiffer)
	}
	// Pinned: a change here reorders every clock-synced station on its
	// upgrade, out of step with instances still on the old version.
	if got, want := a.Order(0), []int{4, 1, 2, 3, 7, 5, 6, 0}; !slices.Equal(got, want) {
		t.Errorf("pass 0 of seed %q is %v, was %v", "/radio", got, want)
	}
	h := fnv.New64a()
	h.Write([]byte("/radio"))
	if got := SeedOf("/radio"); got != h.Sum64() {
		t.Errorf("SeedOf(/radio) = %#x, want FNV-1a %#x", got, h.Sum64())
	}
}
