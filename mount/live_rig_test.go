package mount

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// simClock is a fake clock with any number of sleepers (the station's
// pacer, a live stream's timeout watchdog): it moves only when the test
// advances it, and the test can wait until a given number of goroutines
// sleep on it, i.e. until everything due so far has happened.
type simClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*simWaiter
	changed broadcast // fired when a sleeper comes or goes
}

type simWaiter struct {
	until time.Time
	wake  chan struct{}
}

func newSimClock() *simClock { return &simClock{now: time.Unix(2_000_000, 0)} }

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *simClock) SleepUntil(ctx context.Context, t time.Time) error {
	c.mu.Lock()
	if !t.After(c.now) {
		c.mu.Unlock()
		return ctx.Err()
	}
	w := &simWaiter{until: t, wake: make(chan struct{})}
	c.waiters = append(c.waiters, w)
	c.mu.Unlock()
	c.changed.fire()
	select {
	case <-w.wake:
	case <-ctx.Done():
		c.mu.Lock()
		if i := slices.Index(c.waiters, w); i >= 0 {
			c.waiters = slices.Delete(c.waiters, i, i+1)
		}
		c.mu.Unlock()
		c.changed.fire()
	}
	return ctx.Err()
}

// sleepers waits until at least n goroutines sleep (or stop is closed:
// ok false) and returns the earliest time one of them waits for.
func (c *simClock) sleepers(t *testing.T, n int, stop <-chan struct{}) (earliest time.Time, ok bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		ch := c.changed.wait()
		c.mu.Lock()
		if len(c.waiters) >= n {
			earliest = c.waiters[0].until
			for _, w := range c.waiters[1:] {
				if w.until.Before(earliest) {
					earliest = w.until
				}
			}
			c.mu.Unlock()
			return earliest, true
		}
		got := len(c.waiters)
		c.mu.Unlock()
		select {
		case <-ch:
		case <-stop:
			return time.Time{}, false
		case <-deadline:
			t.Fatalf("only %d goroutines sleep on the clock, want %d", got, n)
		}
	}
}

// advance sets the clock to to and wakes everyone due by then.
func (c *simClock) advance(to time.Time) {
	c.mu.Lock()
	if to.After(c.now) {
		c.now = to
	}
	kept := c.waiters[:0]
	var woken []*simWaiter
	for _, w := range c.waiters {
		if w.until.After(c.now) {
			kept = append(kept, w)
		} else {
			woken = append(woken, w)
		}
	}
	clear(c.waiters[len(kept):])
	c.waiters = kept
	c.mu.Unlock()
	for _, w := range woken {
		close(w.wake)
	}
	if len(woken) > 0 {
		c.changed.fire()
	}
}

// liveRig is a station playing a LiveSource ahead of a folder, on a
// simClock, fed by the test through a pipe. Everything is driven from
// the test goroutine: the rig advances the clock only when the station's
// pacer (and, while a stream is on, its watchdog) sleep and the stream
// goroutine waits for bytes, so a run is the same every time.
type liveRig struct {
	t      *testing.T
	clk    *simClock
	st     *Station
	live   *LiveSource
	folder *FolderSource

	readTotal atomic.Int64 // the stream goroutine wants bytes after this many
	readSig   broadcast

	sess    *Session
	pw      *io.PipeWriter
	written int64
	result  chan error
	ended   chan struct{}
	started chan string // OnTrack titles
}

// liveFolder is the rig's folder: two 400-frame tracks.
func liveFolder(t *testing.T) *playlist.Library {
	dir := t.TempDir()
	testmedia.WriteFile(t, dir, "a.mp3", testmedia.ID3v2("Folder", "A", 0), testmedia.FramesFrom(0, 400))
	testmedia.WriteFile(t, dir, "b.mp3", testmedia.ID3v2("Folder", "B", 0), testmedia.FramesFrom(1000, 400))
	lib := playlist.NewLibrary(dir, playlist.LibraryOptions{})
	if _, err := lib.Scan(); err != nil {
		t.Fatal(err)
	}
	return lib
}

func newLiveRig(t *testing.T, setup func(*LiveSource, *FolderSource)) *liveRig {
	return newLiveRigJoined(t, setup, nil)
}

// newLiveRigJoined is newLiveRig calling beforeRun (joining listeners)
// before the station runs.
func newLiveRigJoined(t *testing.T, setup func(*LiveSource, *FolderSource), beforeRun func(*Station)) *liveRig {
	r := &liveRig{t: t, clk: newSimClock(), started: make(chan string, 64)}
	r.live = &LiveSource{Clock: r.clk}
	r.live.hooks.read = func(total int64) {
		r.readTotal.Store(total)
		r.readSig.fire()
	}
	r.folder = &FolderSource{Library: liveFolder(t), Preload: 1}
	if setup != nil {
		setup(r.live, r.folder)
	}
	r.st = New(Config{
		Clock: r.clk, BufferSize: 64 << 20, WriteTimeout: time.Hour,
		OnTrack: func(ti *TrackInfo) {
			select {
			case r.started <- ti.Display:
			default:
			}
		},
	}, r.live, r.folder)
	if beforeRun != nil {
		beforeRun(r.st)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.st.Run(ctx); close(done) }()
	t.Cleanup(func() {
		if r.pw != nil {
			r.pw.Close()
		}
		cancel()
		<-done
	})
	return r
}

// asleep is how many goroutines sleep on the clock when all is quiet.
func (r *liveRig) asleep() int {
	if r.ended != nil {
		select {
		case <-r.ended:
		default:
			return 2 // the pacer and the stream's watchdog
		}
	}
	return 1
}

// stepTo moves the clock to at, stopping at every wake-up on the way and
// waiting each time for the woken goroutines to go back to sleep.
func (r *liveRig) stepTo(at time.Time) {
	r.t.Helper()
	for {
		next, ok := r.clk.sleepers(r.t, r.asleep(), r.ended)
		if !ok {
			continue // the stream just ended: one sleeper fewer
		}
		if next.After(at) {
			r.clk.advance(at)
			return
		}
		r.clk.advance(next)
	}
}

// step moves the clock by d.
func (r *liveRig) step(d time.Duration) { r.stepTo(r.clk.Now().Add(d)) }

// attach claims the source and streams a pipe into it.
func (r *liveRig) attach(info StreamInfo) {
	r.t.Helper()
	r.sleepQuiet()
	sess, err := r.live.Claim(info)
	if err != nil {
		r.t.Fatal(err)
	}
	pr, pw := io.Pipe()
	r.sess, r.pw, r.written = sess, pw, 0
	r.readTotal.Store(-1)
	r.result, r.ended = make(chan error, 1), make(chan struct{})
	result, ended := r.result, r.ended
	go func() {
		err := sess.Stream(context.Background(), pr)
		pr.CloseWithError(errors.New("stream returned"))
		result <- err
		close(ended)
	}()
	r.clk.sleepers(r.t, 2, nil) // the watchdog is on
	r.waitRead(0)
}

// sleepQuiet waits until everything due now has happened.
func (r *liveRig) sleepQuiet() {
	r.t.Helper()
	for {
		if _, ok := r.clk.sleepers(r.t, r.asleep(), r.ended); ok {
			return
		}
	}
}

// waitRead waits until the stream goroutine has handled the first total
// bytes and asks for more.
func (r *liveRig) waitRead(total int64) {
	r.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		ch := r.readSig.wait()
		if r.readTotal.Load() >= total {
			return
		}
		select {
		case <-ch:
		case <-r.ended:
			return
		case <-deadline:
			r.t.Fatalf("the stream goroutine never read past byte %d (at %d)", total, r.readTotal.Load())
		}
	}
}

// send writes b to the stream at the clock's current time and waits
// until the stream goroutine has queued what it can of it.
func (r *liveRig) send(b []byte) {
	r.t.Helper()
	if _, err := r.pw.Write(b); err != nil {
		r.t.Fatal(err)
	}
	r.written += int64(len(b))
	r.waitRead(r.written)
}

// hangUp ends the stream cleanly and returns Stream's result, with the
// clock standing still: an end of stream needs no time to pass.
func (r *liveRig) hangUp() error {
	r.t.Helper()
	r.pw.Close()
	select {
	case err := <-r.result:
		return err
	case <-time.After(20 * time.Second):
		r.t.Fatal("Stream did not return at the end of its stream")
		return nil
	}
}

// wait returns Stream's result, stepping the clock while it runs.
func (r *liveRig) wait() error {
	r.t.Helper()
	for {
		select {
		case err := <-r.result:
			return err
		default:
		}
		next, ok := r.clk.sleepers(r.t, r.asleep(), r.ended)
		if ok {
			r.clk.advance(next)
		}
	}
}

// liveFrameNs is one 128 kbps 44.1 kHz frame's exact length in ns.
var liveFrameNs float64 = 1152 * 1e9 / 44100

// sendPaced sends frames first..first+n-1 of a source whose clock runs
// speed times real time, frame k at from + k frames/speed (burst: the
// first burst frames all at from). It returns each frame's send time.
func (r *liveRig) sendPaced(from time.Time, first uint32, n, burst int, speed float64) []time.Time {
	r.t.Helper()
	at := make([]time.Time, n)
	for k := range n {
		when := from
		if k >= burst {
			when = from.Add(time.Duration(float64(k-burst) * liveFrameNs / speed))
		}
		r.stepTo(when)
		r.send(testmedia.FramesFrom(first+uint32(k), 1))
		at[k] = r.clk.Now()
	}
	return at
}

// ringFrames lists every frame on the ring with its due time and track.
type ringFrame struct {
	data  []byte
	due   time.Time
	track *TrackInfo
}

func (r *liveRig) ringFrames() []ringFrame {
	var out []ringFrame
	for b := r.st.ring.Head(); b != nil; b = b.Next() {
		for i, off := range b.Frames {
			end := len(b.Data)
			if i+1 < len(b.Frames) {
				end = int(b.Frames[i+1])
			}
			out = append(out, ringFrame{data: b.Data[off:end], due: b.Due.Add(time.Duration(i) * b.FrameDur), track: b.Track})
		}
	}
	return out
}

// waitTrack steps the clock until a track titled title starts on the
// live edge.
func (r *liveRig) waitTrack(title string) {
	r.t.Helper()
	for range 100_000 {
		select {
		case got := <-r.started:
			if got == title {
				return
			}
			continue
		default:
		}
		next, ok := r.clk.sleepers(r.t, r.asleep(), r.ended)
		if ok {
			r.clk.advance(next)
		}
	}
	r.t.Fatalf("%q never started", title)
}
