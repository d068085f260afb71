package mount

import (
	"context"
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

// run serves the shard until ctx ends, then closes its listeners. The
// ticker lets timeouts fire while the station has nothing to publish.
func (sh *shard) run(ctx context.Context) {
	sc := newScratch()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			sh.mu.Lock()
			sh.closed = true
			all := slices.Concat(sh.listeners, sh.pending)
			sh.listeners, sh.pending = nil, nil
			sh.mu.Unlock()
			for _, l := range all {
				sh.st.drop(l, errShutdown)
			}
			return
		case <-sh.wake:
		case <-tick.C:
		}
		sh.writeAll(sc)
	}
}

func (sh *shard) writeAll(sc *scratch) {
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
		if err := l.flush(st.ring, sc, now, st.cfg.WriteTimeout); err != nil {
			st.drop(l, err)
			l.dropped = true
			dead++
		}
	}
	if dead == 0 {
		return
	}
	sh.mu.Lock()
	kept := sh.listeners[:0]
	for _, l := range sh.listeners {
		if !l.dropped {
			kept = append(kept, l)
		}
	}
	clear(sh.listeners[len(kept):])
	sh.listeners = kept
	sh.mu.Unlock()
	if st.log.Enabled(context.Background(), slog.LevelDebug) {
		st.log.Debug("listeners dropped", "count", dead)
	}
}
