package server

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/station"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// countingStats is a statsCache whose reads count per station and return
// the count as Sessions, so a caller can tell which read it got.
func countingStats() (*statsCache, map[Station]*atomic.Uint64) {
	reads := map[Station]*atomic.Uint64{}
	var mu sync.Mutex
	c := &statsCache{read: func(st Station) mount.Stats {
		mu.Lock()
		n := reads[st]
		if n == nil {
			n = new(atomic.Uint64)
			reads[st] = n
		}
		mu.Unlock()
		return mount.Stats{Sessions: n.Add(1)}
	}}
	return c, reads
}

func TestStatsCacheAge(t *testing.T) {
	c, reads := countingStats()
	a, b := Station(&station.Station{}), Station(&station.Station{})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		st    Station
		at    time.Duration
		want  uint64 // the read the caller gets
		reads uint64 // reads of st so far
	}{
		{a, 0, 1, 1},
		{a, 100 * time.Millisecond, 1, 1},
		{a, statsMaxAge - time.Nanosecond, 1, 1},
		{b, statsMaxAge - time.Nanosecond, 1, 1}, // each station has its own age
		{a, statsMaxAge, 2, 2},
		{a, statsMaxAge + 10*time.Millisecond, 2, 2},
		{b, statsMaxAge + 10*time.Millisecond, 1, 1},
		{a, -time.Second, 2, 2}, // a caller whose clock reading is older than the read
		{a, 2*statsMaxAge + time.Millisecond, 3, 3},
		{b, 2 * statsMaxAge, 2, 2},
	}
	for i, s := range steps {
		got := c.get(s.st, t0.Add(s.at)).Sessions
		if got != s.want || reads[s.st].Load() != s.reads {
			t.Errorf("step %d (+%v): read #%d, %d reads; want read #%d, %d reads", i, s.at, got, reads[s.st].Load(), s.want, s.reads)
		}
	}
}

// TestStatsCacheOneReadForConcurrentCallers: callers that find the entry
// stale together share one read instead of each walking the listeners.
func TestStatsCacheOneReadForConcurrentCallers(t *testing.T) {
	c, reads := countingStats()
	st := &station.Station{}
	now := time.Now()
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if got := c.get(st, now).Sessions; got != 1 {
				t.Errorf("caller got read #%d, want #1", got)
			}
		})
	}
	wg.Wait()
	if n := reads[st].Load(); n != 1 {
		t.Errorf("%d reads for 50 concurrent callers at one moment, want 1", n)
	}
}
