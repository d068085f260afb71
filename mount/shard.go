package mount

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// shard writes to a share of a station's listeners. Each publish wakes
// every shard; a shard walks its listeners and makes one non-blocking
// write to each. Listeners have no goroutines of their own.
type shard struct {
	st   *Station
	wake chan struct{}

	mu        sync.Mutex
	pending   []*listener // joined, not yet adopted
	listeners []*listener // owned by the shard goroutine; changed under mu
	closed    bool

	// leaving are listeners taken out of the shard, their bytes counted,
	// still to be closed. Shard goroutine only.
	leaving []*listener
}

func newShard(st *Station) *shard {
	return &shard{st: st, wake: make(chan struct{}, 1)}
}

func (sh *shard) notify() {
	select {
	case sh.wake <- struct{}{}:
	default:
	}
}

func (sh *shard) add(l *listener) bool {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.closed {
		return false
	}
	sh.pending = append(sh.pending, l)
	return true
}

func (sh *shard) each(fn func(*listener)) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for _, l := range sh.listeners {
		fn(l)
	}
	for _, l := range sh.pending {
		fn(l)
	}
}

// idleCheck is the period of a shard's round (see tick) and of a writer
// goroutine's hang-up check: a client that leaves an idle station is
// released within two of them.
const idleCheck = time.Second

// run serves the shard until ctx ends, then closes its listeners. The
// ticker lets timeouts fire while the station has nothing to publish. Run
// again after a panic (see Station.guard), it first closes the listeners
// the panicked run had taken out; run with ctx ended, it only closes.
func (sh *shard) run(ctx context.Context) {
	sh.closeLeaving()
	sc := newScratch()
	tick := time.NewTicker(idleCheck)
	defer tick.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-sh.wake:
			sh.writeAll(sc, false)
		case <-tick.C:
			sh.tick(sc)
		}
	}
	sh.shutdown()
}

// tick is the shard's once-a-second round: timeouts fire while nothing is
// published, idle listeners' sockets are checked for a hang-up (see
// flush), and folded "listener dropped" lines whose interval is over are
// written.
func (sh *shard) tick(sc *scratch) {
	sh.writeAll(sc, true)
	sh.st.drops.flush(sh.st.clock.Now(), false)
}

// shutdown refuses new listeners and closes every one the shard has.
func (sh *shard) shutdown() {
	st := sh.st
	st.mu.Lock()
	sh.mu.Lock()
	sh.closed = true
	for _, l := range slices.Concat(sh.listeners, sh.pending) {
		l.dropErr = errShutdown
		st.retire(l)
		sh.leaving = append(sh.leaving, l)
	}
	sh.listeners, sh.pending = nil, nil
	sh.mu.Unlock()
	st.mu.Unlock()
	sh.closeLeaving()
}

// closeLeaving closes the listeners taken out of the shard, one at a time:
// if one's OnLeave panics, the rest stay in leaving for the next run.
func (sh *shard) closeLeaving() {
	for n := len(sh.leaving); n > 0; n = len(sh.leaving) {
		l := sh.leaving[n-1]
		sh.leaving[n-1] = nil
		sh.leaving = sh.leaving[:n-1]
		sh.st.leave(l, l.dropErr)
	}
}

// writeAll flushes every listener; check is listener.flush's.
func (sh *shard) writeAll(sc *scratch, check bool) {
	sh.mu.Lock()
	if len(sh.pending) > 0 {
		sh.listeners = append(sh.listeners, sh.pending...)
		clear(sh.pending)
		sh.pending = sh.pending[:0]
	}
	ls := sh.listeners
	sh.mu.Unlock()

	st := sh.st
	now := st.clock.Now()
	dead := 0
	for _, l := range ls {
		if l.kicked.Load() {
			l.dropErr = errKicked
			dead++
			continue
		}
		moving := l.moveTo.Load() != nil
		if moving && l.movable() {
			l.dropErr = errMoved
			dead++
			continue
		}
		if err := l.flush(st.ring, sc, now, st.cfg.WriteTimeout, check); err != nil {
			l.dropErr = err
			dead++
		} else if moving && l.movable() { // the flush reached the frame boundary
			l.dropErr = errMoved
			dead++
		}
	}
	if dead == 0 {
		return
	}
	var moved []*listener
	// Out of the shard and into the total in one step (see retire), then
	// closed.
	st.mu.Lock()
	sh.mu.Lock()
	kept := sh.listeners[:0]
	for _, l := range sh.listeners {
		switch {
		case l.dropErr == nil:
			kept = append(kept, l)
		case errors.Is(l.dropErr, errMoved):
			st.retire(l)
			moved = append(moved, l)
		default:
			st.retire(l)
			sh.leaving = append(sh.leaving, l)
		}
	}
	clear(sh.listeners[len(kept):])
	sh.listeners = kept
	sh.mu.Unlock()
	st.mu.Unlock()
	// Moved listeners go to their new station with no lock of this one
	// held: two stations moving listeners to each other cannot deadlock.
	for _, l := range moved {
		l.dropErr = nil
		st.depart(l, now)
		l.moveTo.Swap(nil).arrive(l, now)
	}
	sh.closeLeaving()
	if dropped := dead - len(moved); dropped > 0 && st.log.Enabled(context.Background(), slog.LevelDebug) {
		st.log.Debug("listeners dropped", "count", dropped)
	}
}
