package mount

import (
	"time"
)

// FrameClock is the timeline of clock-synced stations (see ClockSource):
// global frame F, counted from the Unix epoch, starts F × Samples /
// SampleRate seconds after it. The arithmetic is in integers on UTC
// instants, so it neither drifts nor knows time zones or daylight saving,
// and every instance computes the same frame for the same instant. The
// zero FrameClock is not usable.
type FrameClock struct {
	// Samples is the number of samples per channel in one frame: 1152 for
	// MPEG-1 Layer II/III, 576 for Layer III at MPEG-2 and 2.5 rates.
	Samples int
	// SampleRate in Hz; every frame on the timeline has it.
	SampleRate int
}

// FrameClockFor is the timeline of Layer III frames at rate Hz: 1152
// samples per frame from 32 kHz up (MPEG-1), 576 below (MPEG-2 and 2.5).
func FrameClockFor(rate int) FrameClock {
	if rate >= 32000 {
		return FrameClock{Samples: 1152, SampleRate: rate}
	}
	return FrameClock{Samples: 576, SampleRate: rate}
}

// Time is the first nanosecond at which frame f is playing: the exact
// start, rounded up to a whole nanosecond, so FrameAt(Time(f)) == f.
func (c FrameClock) Time(f int64) time.Time {
	rate := int64(c.SampleRate)
	sec, rem := floorDivMod(f*int64(c.Samples), rate)
	return time.Unix(sec, (rem*int64(time.Second)+rate-1)/rate).UTC()
}

// FrameAt is the frame playing at t.
func (c FrameClock) FrameAt(t time.Time) int64 {
	rate := int64(c.SampleRate)
	// Whole samples since the epoch; sec×rate is exact, so flooring the
	// nanoseconds' part floors the whole.
	samples := t.Unix()*rate + int64(t.Nanosecond())*rate/int64(time.Second)
	f, _ := floorDivMod(samples, int64(c.Samples))
	return f
}

// Nearest is the frame whose start is nearest to t (the later one on a
// tie).
func (c FrameClock) Nearest(t time.Time) int64 {
	f := c.FrameAt(t)
	if t.Sub(c.Time(f)) >= c.Time(f+1).Sub(t) {
		f++
	}
	return f
}

// Duration is one frame's playing time, rounded down to a nanosecond (as
// Frame.Duration).
func (c FrameClock) Duration() time.Duration {
	return time.Duration(int64(c.Samples) * int64(time.Second) / int64(c.SampleRate))
}

// floorDivMod divides rounding towards minus infinity: m is in [0, d).
func floorDivMod(n, d int64) (q, m int64) {
	q, m = n/d, n%d
	if m < 0 {
		q, m = q-1, m+d
	}
	return q, m
}

// Timeline is the loop a clock-synced station plays: its files, each
// Frames[i] frames long, one after another, again and again. Pass p of the
// loop (p counted from the epoch, so negative before it) covers the global
// frames p×Total() up to (p+1)×Total(); in each pass the files play in
// name order, or with Shuffle in an order drawn from Seed and p alone.
// Where a frame lies is a pure function of these fields: instances with
// the same files, seed and setting agree without talking to each other.
type Timeline struct {
	// Frames holds each file's length in frames, in name order.
	Frames  []int64
	Shuffle bool
	Seed    uint64
}

// Total is the length of one pass in frames.
func (tl Timeline) Total() int64 {
	var n int64
	for _, f := range tl.Frames {
		n += f
	}
	return n
}

// Order is the play order of pass p: indices into Frames.
func (tl Timeline) Order(p int64) []int {
	order := make([]int, len(tl.Frames))
	for i := range order {
		order[i] = i
	}
	if !tl.Shuffle {
		return order
	}
	// Fisher-Yates with splitmix64, written out here rather than taken
	// from math/rand, so no library change can reorder a station.
	state := tl.Seed ^ mix64(uint64(p)+0x9e3779b97f4a7c15)
	for i := len(order) - 1; i > 0; i-- {
		state += 0x9e3779b97f4a7c15
		j := int(mix64(state) % uint64(i+1))
		order[i], order[j] = order[j], order[i]
	}
	return order
}

// At is where global frame f lies: the file (an index into Frames) and
// the frame within it. file is -1 when the loop is empty.
func (tl Timeline) At(f int64) (file int, offset int64) {
	total := tl.Total()
	if total <= 0 {
		return -1, 0
	}
	pass, pos := floorDivMod(f, total)
	for _, i := range tl.Order(pass) {
		if pos < tl.Frames[i] {
			return i, pos
		}
		pos -= tl.Frames[i]
	}
	return -1, 0 // not reached: pos < total
}

// mix64 is splitmix64's finaliser: a bijection that spreads every input
// bit over the output.
func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// SeedOf turns a sync seed given as text (a setting, or a route) into a
// Timeline seed: FNV-1a, stable across versions and machines.
func SeedOf(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := range len(s) {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
