package mount

import (
	"sync/atomic"
	"time"
)

// Stats are a station's counters: the same fields, with the same meaning,
// for a radio route and for an individual route, whose figures add up its
// listeners' private stations, running and ended.
type Stats struct {
	Listeners int
	Peak      int
	Sessions  uint64
	// BytesSent is every byte written to listeners, connected or gone; it
	// never goes down (a Prometheus counter).
	BytesSent uint64
	// TracksPlayed counts a track once the station is done with it, if at
	// least one of its frames went on the air: it played to its end, a
	// read error ended it early, or a higher-priority source cut it short
	// (a cut track is not resumed, so it counts once, whatever part of it
	// played). Not counted: a track that gave no frame at all, and the one
	// playing when the station stops.
	TracksPlayed  uint64
	FilesSkipped  uint64
	SlowDropped   uint64
	TimeoutDrops  uint64
	Panics        uint64        // recovered panics (the goroutine was restarted)
	AudioPlayed   time.Duration // audio released since start
	AvgDelay      time.Duration
	MaxDelay      time.Duration
	StreamStarted time.Time
}

// counters are the running totals behind Stats, updated without locks by
// the player, the shards and joins. Every Station has one; an individual
// Mountpoint has one more for the route: its listeners, and what its
// ended private stations did.
type counters struct {
	listeners atomic.Int64
	peak      atomic.Int64
	sessions  atomic.Uint64
	bytesSent atomic.Uint64 // by listeners that have left
	tracks    atomic.Uint64
	skipped   atomic.Uint64
	slow      atomic.Uint64
	timeouts  atomic.Uint64
	panics    atomic.Uint64
	played    atomic.Int64 // audio released, in nanoseconds
}

// join counts a listener in and raises the peak.
func (c *counters) join() {
	n := c.listeners.Add(1)
	for p := c.peak.Load(); n > p && !c.peak.CompareAndSwap(p, n); p = c.peak.Load() {
	}
	c.sessions.Add(1)
}

// absorb adds the totals of an ended station to c (listeners, peak and
// sessions are the route's own).
func (c *counters) absorb(o *counters) {
	c.bytesSent.Add(o.bytesSent.Load())
	c.tracks.Add(o.tracks.Load())
	c.skipped.Add(o.skipped.Load())
	c.slow.Add(o.slow.Load())
	c.timeouts.Add(o.timeouts.Load())
	c.panics.Add(o.panics.Load())
	c.played.Add(o.played.Load())
}

// tally adds up Stats over one or more stations.
type tally struct {
	Stats
	delaySum time.Duration
	delays   int
}

// audience sets the listener figures from c.
func (t *tally) audience(c *counters) {
	t.Listeners = int(c.listeners.Load())
	t.Peak = int(c.peak.Load())
	t.Sessions = c.sessions.Load()
}

// totals adds c's totals (all but the listener figures).
func (t *tally) totals(c *counters) {
	t.BytesSent += c.bytesSent.Load()
	t.TracksPlayed += c.tracks.Load()
	t.FilesSkipped += c.skipped.Load()
	t.SlowDropped += c.slow.Load()
	t.TimeoutDrops += c.timeouts.Load()
	t.Panics += c.panics.Load()
	t.AudioPlayed += time.Duration(c.played.Load())
}

// listener adds a connected listener: what it has been sent so far and
// how far behind it is.
func (t *tally) listener(l *listener) {
	d := l.Delay()
	t.BytesSent += uint64(l.sent.Load())
	t.delaySum += d
	t.delays++
	t.MaxDelay = max(t.MaxDelay, d)
}

func (t *tally) result() Stats {
	if t.delays > 0 {
		t.AvgDelay = t.delaySum / time.Duration(t.delays)
	}
	return t.Stats
}
