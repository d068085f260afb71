package programme

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/schedule"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// fakeClock is a wall clock the test sets. Each SleepUntil that has to
// wait announces its deadline on asleep, so a test knows Run is waiting
// (and has finished what it did before) without sleeping itself.
type fakeClock struct {
	asleep chan time.Time

	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

type waiter struct {
	until time.Time
	wake  chan struct{}
}

func newFakeClock(now time.Time) *fakeClock {
	return &fakeClock{now: now, asleep: make(chan time.Time)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) error {
	c.mu.Lock()
	if !c.now.Before(t) {
		c.mu.Unlock()
		return ctx.Err()
	}
	w := waiter{until: t, wake: make(chan struct{})}
	c.waiters = append(c.waiters, w)
	c.mu.Unlock()
	select {
	case c.asleep <- t:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-w.wake:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// set moves the clock to t and wakes the sleepers whose deadline it
// reached; it returns how many it woke.
func (c *fakeClock) set(t time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	kept := c.waiters[:0]
	woken := 0
	for _, w := range c.waiters {
		if t.Before(w.until) {
			kept = append(kept, w)
			continue
		}
		close(w.wake)
		woken++
	}
	c.waiters = kept
	return woken
}

// controls records the programme's flush and skip calls with the clock's
// time.
type controls struct {
	clock *fakeClock
	mu    sync.Mutex
	calls []string
}

func (c *controls) record(what string) {
	at := c.clock.Now().UTC().Format(time.RFC3339)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, what+"@"+at)
}

// take returns the calls so far and forgets them.
func (c *controls) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = nil
	return out
}

func (c *controls) attach(p *Programme) {
	p.SetControls(func() { c.record("flush") }, func() { c.record("skip") })
}

// runner runs a programme's Run with a fake clock.
type runner struct {
	t     *testing.T
	clock *fakeClock
}

// start runs p.Run until the test ends and returns its first deadline.
func start(t *testing.T, p *Programme, clock *fakeClock) (*runner, time.Time) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return &runner{t: t, clock: clock}, <-clock.asleep
}

// at moves the clock to when; if that woke Run, it waits for Run to sleep
// again (having done what it does at when) and returns its new deadline,
// else the zero time.
func (r *runner) at(when time.Time) time.Time {
	r.t.Helper()
	if r.clock.set(when) == 0 {
		return time.Time{}
	}
	return <-r.clock.asleep
}

// lib writes a folder of tiny MP3 files named names (with ID3 titles
// "Title of <name>") and scans it.
func lib(t *testing.T, names ...string) *playlist.Library {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		testmedia.WriteFile(t, dir, n, testmedia.ID3v2("", "Title of "+n, 0), testmedia.Frames(2))
	}
	l := playlist.NewLibrary(dir, playlist.LibraryOptions{})
	if _, err := l.Scan(); err != nil && len(names) > 0 {
		t.Fatal(err)
	}
	return l
}

// files returns n names with a prefix: "m1.mp3" … in name order.
func files(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%02d.mp3", prefix, i+1)
	}
	return out
}

// station is the station's music as the mountpoint makes it: the library
// in name order.
func station(l *playlist.Library) *mount.OrderProgramme {
	return &mount.OrderProgramme{Library: l, Order: playlist.NewOrder(l, false, nil)}
}

func newProgramme(t *testing.T, opt Options) *Programme {
	t.Helper()
	p, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// next calls p.Next, failing the test when nothing is playable.
func next(t *testing.T, p *Programme) mount.Pick {
	t.Helper()
	pick, ok := p.Next()
	if !ok {
		t.Fatal("Next: nothing playable")
	}
	return pick
}

func slot(t testing.TB, sp schedule.Spec) schedule.Slot {
	t.Helper()
	s, err := sp.Slot()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustSchedule(t *testing.T, def string, slots ...schedule.Slot) *schedule.Schedule {
	t.Helper()
	s, err := schedule.New(def, slots)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ts(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func queuePath(t *testing.T) string { return filepath.Join(t.TempDir(), "queue.json") }
