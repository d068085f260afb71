package mount

import (
	"log/slog"
	"sync"
	"time"
)

// dropLogInterval is how often at most one reason for dropping listeners
// gets a log line: a network blip drops thousands at once.
const dropLogInterval = 10 * time.Second

// dropReason is why listeners were dropped, for their log lines.
type dropReason int

const (
	dropTooSlow dropReason = iota
	dropWriteTimeout
	dropWriteFailed
	dropReasons
)

// dropLog writes the "listener dropped" lines of a station (or of all the
// private stations of an individual route): the first drop for a reason
// is logged at once, later ones within dropLogInterval are counted and
// written as one line with their count when the interval is over, at the
// next drop or tick. The counters in Stats stay exact; only the log folds.
type dropLog struct {
	log         *slog.Logger
	bufferBytes int
	timeout     time.Duration

	mu      sync.Mutex
	batches [dropReasons]dropBatch
}

// dropBatch is one reason's current interval.
type dropBatch struct {
	open       bool // a line was written at since; drops until since+interval fold
	since      time.Time
	folded     int
	lastRemote string
	lastErr    string
}

func newDropLog(log *slog.Logger, cfg *Config) *dropLog {
	return &dropLog{log: log, bufferBytes: cfg.BufferSize, timeout: cfg.WriteTimeout}
}

// add records one dropped listener.
func (d *dropLog) add(now time.Time, reason dropReason, remote string, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	b := &d.batches[reason]
	b.folded++
	b.lastRemote, b.lastErr = remote, err.Error()
	if !b.open || now.Sub(b.since) >= dropLogInterval {
		d.emit(reason, b, now)
	}
}

// flush writes the lines of intervals that are over; with force (the
// station stops) every pending count is written.
func (d *dropLog) flush(now time.Time, force bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for reason := range dropReasons {
		b := &d.batches[reason]
		if !b.open || (!force && now.Sub(b.since) < dropLogInterval) {
			continue
		}
		if b.folded == 0 {
			b.open = false // quiet for an interval: the next drop is logged at once
			continue
		}
		d.emit(reason, b, now)
	}
}

// emit writes b's line and starts a new interval. Caller holds d.mu.
func (d *dropLog) emit(reason dropReason, b *dropBatch, now time.Time) {
	count := b.folded
	b.open, b.since, b.folded = true, now, 0
	switch reason {
	case dropTooSlow:
		d.log.Info("listener dropped: too slow", "count", count, "remote", b.lastRemote, "buffer_bytes", d.bufferBytes)
	case dropWriteTimeout:
		d.log.Info("listener dropped: write timeout", "count", count, "remote", b.lastRemote, "timeout", d.timeout)
	default:
		d.log.Warn("listener write failed", "count", count, "remote", b.lastRemote, "error", b.lastErr)
	}
}
