package transcode

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// ErrBusy is wrapped by the *BusyError an encoder start returns when a
// Limiter has no encoder free (test with errors.Is). It is never the
// file's fault: the start may be tried again once an encoder is free.
var ErrBusy = errors.New("too many encoders running")

// BusyError says which cap was full.
type BusyError struct {
	// Station is the route whose own cap was full; "" for the server's.
	Station string
	// Running is the number of encoders running (or about to start)
	// under that cap; Max is the cap.
	Running, Max int
}

// Error reads "server is busy: 16 encoders running".
func (e *BusyError) Error() string {
	if e.Station != "" {
		return fmt.Sprintf("station %s is busy: %d encoders running", e.Station, e.Running)
	}
	return fmt.Sprintf("server is busy: %d encoders running", e.Running)
}

// Is makes errors.Is(err, ErrBusy) true.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// Limiter counts the ffmpeg processes of a station (a child) or of the
// whole server (a root, the parent of every station's limiter) and caps
// them. Start and StartReader take an encoder from Options.Limiter (and
// so from every limiter above it) before ffmpeg starts and give it back
// once ffmpeg has been reaped, so Running is the number of processes
// alive, never more than any cap in the chain.
//
// Who gets a freed encoder, in this order:
//
//  1. a Lease taken for a start about to happen in that station (Reserve:
//     an admitted private listener's first track; Await: a waiter's
//     retry);
//  2. whoever waits in Await (a radio station's next track, an admitted
//     listener's next track), first come first served;
//  3. anyone else (a plain start, a new listener's Reserve) only while
//     nobody waits.
//
// So a flood of new listeners is refused while stations that already
// play keep getting encoders. All methods are safe for concurrent use;
// a nil *Limiter counts nothing and never refuses.
type Limiter struct {
	tree   *limiterTree
	parent *Limiter
	route  string // the station's; "" for the server's
	max    int    // 0: no cap, only counting

	// Under tree.mu.
	running  int      // encoders started and not yet reaped
	peak     int      // most running at once
	reserved int      // leases not yet used, here and below
	waiting  int      // Await calls queued here and below
	leases   []*Lease // leases of this limiter, oldest first
}

// limiterTree is what a root and its children share: one mutex makes a
// check against every cap of a chain and the count atomic.
type limiterTree struct {
	mu      sync.Mutex
	waiters []*waiter // oldest first
	leases  []*Lease  // every unused lease that can expire
	now     func() time.Time
	// queued, if set, is called when Await has queued a waiter that got
	// no encoder at once (tests synchronise on it).
	queued func()
}

// Lease is an encoder held for a start about to happen under one
// Limiter: the next start there uses it instead of competing for a free
// encoder. Cancel gives back a lease that was not used (a no-op after).
type Lease struct {
	l       *Limiter
	expires time.Time // zero: never
	done    bool
}

type waiter struct {
	l     *Limiter
	grant chan *Lease // buffered: the lease handed over
}

// NewLimiter returns a server-wide limiter capping its encoders (and
// those of every Child) at max; 0 only counts.
func NewLimiter(max int) *Limiter {
	return &Limiter{tree: &limiterTree{now: time.Now}, max: max}
}

// Child returns a limiter for one station under l: its encoders count
// against both, and max (0: only l's cap) caps the station's own. On a
// nil l the child is a root of its own.
func (l *Limiter) Child(route string, max int) *Limiter {
	if l == nil {
		c := NewLimiter(max)
		c.route = route
		return c
	}
	return &Limiter{tree: l.tree, parent: l, route: route, max: max}
}

// Peak is the most ffmpeg processes that were alive under l at once.
func (l *Limiter) Peak() int {
	if l == nil {
		return 0
	}
	l.tree.mu.Lock()
	defer l.tree.mu.Unlock()
	return l.peak
}

// Parent is the limiter above l (the server's, for a station's); nil for
// a root.
func (l *Limiter) Parent() *Limiter {
	if l == nil {
		return nil
	}
	return l.parent
}

// Max is the cap of l itself (0: none).
func (l *Limiter) Max() int {
	if l == nil {
		return 0
	}
	return l.max
}

// Running is the number of ffmpeg processes alive under l.
func (l *Limiter) Running() int {
	if l == nil {
		return 0
	}
	l.tree.mu.Lock()
	defer l.tree.mu.Unlock()
	return l.running
}

// full returns the first limiter of l's chain with no encoder left, nil
// if every one has one.
func (l *Limiter) full() *Limiter {
	for x := l; x != nil; x = x.parent {
		if x.max > 0 && x.running+x.reserved >= x.max {
			return x
		}
	}
	return nil
}

// queued returns the first limiter of l's chain that someone waits on.
func (l *Limiter) queued() *Limiter {
	for x := l; x != nil; x = x.parent {
		if x.waiting > 0 {
			return x
		}
	}
	return nil
}

func (l *Limiter) add(running, reserved, waiting int) {
	for x := l; x != nil; x = x.parent {
		x.running += running
		x.peak = max(x.peak, x.running)
		x.reserved += reserved
		x.waiting += waiting
	}
}

// busy is the refusal of l's cap. Under tree.mu.
func (l *Limiter) busy() *BusyError {
	return &BusyError{Station: l.route, Running: l.running + l.reserved, Max: l.max}
}

// acquire takes an encoder for a process about to start and returns the
// function that gives it back (call it once the process is reaped).
func (l *Limiter) acquire() (release func(), err error) {
	if l == nil {
		return func() {}, nil
	}
	t := l.tree
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expire()
	if i := slices.IndexFunc(l.leases, func(ls *Lease) bool { return !ls.done }); i >= 0 {
		ls := l.leases[i]
		l.drop(ls)
		l.add(1, -1, 0)
	} else {
		if x := l.full(); x != nil {
			return nil, x.busy()
		}
		if x := l.queued(); x != nil {
			return nil, x.busy()
		}
		l.add(1, 0, 0)
	}
	var once sync.Once
	return func() { once.Do(l.release) }, nil
}

func (l *Limiter) release() {
	t := l.tree
	t.mu.Lock()
	defer t.mu.Unlock()
	l.add(-1, 0, 0)
	t.grant()
}

// Reserve holds an encoder for a start about to happen under l (a new
// private listener's first track) and returns its lease, or a
// *BusyError when a cap is full or stations wait for an encoder. An
// unused lease gives itself back after ttl (0: never); Cancel it once the
// start cannot happen any more.
func (l *Limiter) Reserve(ttl time.Duration) (*Lease, error) {
	if l == nil {
		return nil, nil
	}
	t := l.tree
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expire()
	if x := l.full(); x != nil {
		return nil, x.busy()
	}
	if x := l.queued(); x != nil {
		return nil, x.busy()
	}
	var expires time.Time
	if ttl > 0 {
		expires = t.now().Add(ttl)
	}
	return l.lease(expires), nil
}

// lease records a new lease under l. Under tree.mu.
func (l *Limiter) lease(expires time.Time) *Lease {
	ls := &Lease{l: l, expires: expires}
	l.leases = append(l.leases, ls)
	if !expires.IsZero() {
		l.tree.leases = append(l.tree.leases, ls)
	}
	l.add(0, 1, 0)
	return ls
}

// drop marks ls used or cancelled and forgets it. Under tree.mu.
func (l *Limiter) drop(ls *Lease) {
	ls.done = true
	l.leases = slices.DeleteFunc(l.leases, func(x *Lease) bool { return x == ls })
	if !ls.expires.IsZero() {
		l.tree.leases = slices.DeleteFunc(l.tree.leases, func(x *Lease) bool { return x == ls })
	}
}

// Cancel gives back the encoder ls holds unless a start has used it.
// Safe on nil and more than once.
func (ls *Lease) Cancel() {
	if ls == nil {
		return
	}
	t := ls.l.tree
	t.mu.Lock()
	defer t.mu.Unlock()
	if ls.done {
		return
	}
	ls.l.drop(ls)
	ls.l.add(0, -1, 0)
	t.grant()
}

// expire gives back the leases whose time is up. Under mu.
func (t *limiterTree) expire() {
	if len(t.leases) == 0 {
		return
	}
	now := t.now()
	freed := false
	for _, ls := range slices.Clone(t.leases) {
		if now.After(ls.expires) {
			ls.l.drop(ls)
			ls.l.add(0, -1, 0)
			freed = true
		}
	}
	if freed {
		t.grant()
	}
}

// grant hands free encoders to the waiters, oldest first, each as a
// lease on its limiter. Under mu.
func (t *limiterTree) grant() {
	for i := 0; i < len(t.waiters); {
		w := t.waiters[i]
		if w.l.full() != nil {
			i++ // its station (or the server) is full; a later one may fit
			continue
		}
		t.waiters = slices.Delete(t.waiters, i, i+1)
		w.l.add(0, 0, -1)
		w.grant <- w.l.lease(time.Time{})
	}
}

// awaitRecheck is how often a waiter looks again without being woken: a
// lease that expired frees its encoder without anyone releasing one.
const awaitRecheck = time.Second

// Await waits until an encoder under l is free and holds it for the
// caller: the lease it returns is used by the caller's next start under
// l (Cancel it if that start does not happen). While anyone waits, plain
// starts and Reserve elsewhere under the same caps are refused, so the
// waiters are served first. It returns ctx's error when ctx ends first.
func (l *Limiter) Await(ctx context.Context) (*Lease, error) {
	if l == nil {
		return nil, ctx.Err()
	}
	t := l.tree
	w := &waiter{l: l, grant: make(chan *Lease, 1)}
	t.mu.Lock()
	l.add(0, 0, 1)
	t.waiters = append(t.waiters, w)
	t.expire()
	t.grant()
	queued := t.queued
	t.mu.Unlock()
	if queued != nil && len(w.grant) == 0 {
		queued()
	}
	tick := time.NewTicker(awaitRecheck)
	defer tick.Stop()
	for {
		select {
		case ls := <-w.grant:
			return ls, nil
		case <-tick.C:
			t.mu.Lock()
			t.expire()
			t.grant()
			t.mu.Unlock()
		case <-ctx.Done():
			t.mu.Lock()
			if i := slices.Index(t.waiters, w); i >= 0 {
				t.waiters = slices.Delete(t.waiters, i, i+1)
				l.add(0, 0, -1)
			}
			t.mu.Unlock()
			select {
			case ls := <-w.grant:
				ls.Cancel()
			default:
			}
			return nil, ctx.Err()
		}
	}
}
