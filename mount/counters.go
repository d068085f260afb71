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
	// ListenTime is the time listeners spent on the station: the ended
	// stays in full and the connected listeners' so far. A listener moved
	// away counts here until the move, then at its new station. It never
	// goes down (a Prometheus counter).
	ListenTime time.Duration
	// SessionLengths are the connections that ended here, by how long
	// they lasted (from connect to close, across moves).
	SessionLengths SessionHistogram
}

// SessionBounds are the upper bounds of SessionHistogram's buckets, fit
// for radio: from a listener who tuned in and left to one who stayed all
// day. A fresh array each call.
func SessionBounds() [11]time.Duration {
	return [...]time.Duration{
		10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 24 * time.Hour,
	}
}

// SessionHistogram counts ended sessions by length. Counts[i] are those
// no longer than SessionBounds()[i] and longer than the bound before (not
// cumulative); Counts[len(bounds)] are the longer ones. Sum is their total
// length.
type SessionHistogram struct {
	Counts [12]uint64
	Sum    time.Duration
}

// Count is the number of sessions counted.
func (h *SessionHistogram) Count() uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
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
	// listened is the time listeners that left (or moved away) spent
	// here, in nanoseconds; sessions holds the ended connections' lengths.
	listened    atomic.Int64
	sessionLens [12]atomic.Uint64
	sessionSum  atomic.Int64
}

// ended counts a listener out: its connection lasted length, of which it
// spent stay here.
func (c *counters) ended(length, stay time.Duration) {
	c.listened.Add(int64(stay))
	c.sessionSum.Add(int64(length))
	bounds := SessionBounds()
	i := 0
	for i < len(bounds) && length > bounds[i] {
		i++
	}
	c.sessionLens[i].Add(1)
}

// arrive counts in a listener moved here: a listener more, no new session.
func (c *counters) arrive() {
	n := c.listeners.Add(1)
	for p := c.peak.Load(); n > p && !c.peak.CompareAndSwap(p, n); p = c.peak.Load() {
	}
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
	c.listened.Add(o.listened.Load())
	c.sessionSum.Add(o.sessionSum.Load())
	for i := range c.sessionLens {
		c.sessionLens[i].Add(o.sessionLens[i].Load())
	}
}

// tally adds up Stats over one or more stations.
type tally struct {
	Stats
	delaySum time.Duration
	delays   int
	// now is when the connected listeners' time is taken (ListenTime);
	// zero leaves it out.
	now time.Time
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
	t.ListenTime += time.Duration(c.listened.Load())
	t.SessionLengths.Sum += time.Duration(c.sessionSum.Load())
	for i := range c.sessionLens {
		t.SessionLengths.Counts[i] += c.sessionLens[i].Load()
	}
}

// listener adds a connected listener: what it has been sent so far and
// how far behind it is.
func (t *tally) listener(l *listener) {
	d := l.Delay()
	t.BytesSent += uint64(l.sent.Load() - l.counted)
	if !t.now.IsZero() {
		t.ListenTime += max(t.now.Sub(l.joined.Add(l.arrived)), 0)
	}
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
