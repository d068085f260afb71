// Package mount is a station: it takes MPEG frames from a chain of sources
// in priority order (Source; FolderSource plays a folder), releases them on
// a real-time clock (Pacer) into a shared buffer of immutable blocks
// (Ring), and writes that buffer to every listener from a few shard
// goroutines, with no goroutine per listener. A Mountpoint is a configured
// route: its folder, play order, history and the station(s) playing it.
package mount

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Config is a station's settings and hooks. Zero values are noted.
type Config struct {
	Route string
	// BufferSize is the ring size in bytes (0: 2 MiB). A listener more than
	// this far behind is dropped.
	BufferSize int
	// Burst is how far behind live new listeners start: Burst if non-zero,
	// else BurstBytes converted at the current bitrate; both 0: live edge.
	Burst      time.Duration
	BurstBytes int
	// PublishInterval is how much audio goes into one block (0: 400 ms);
	// each block is one write per listener.
	PublishInterval time.Duration
	// WriteTimeout drops a listener that accepts no byte for this long
	// (0: 30 s).
	WriteTimeout time.Duration
	// Shards is the number of writer goroutines (0: 1).
	Shards int

	// OnSkip is told about every file that could not be played (Sentry).
	OnSkip func(path string, err error)
	// OnTrack is told when a track starts on the live edge (history).
	OnTrack func(*TrackInfo)
	// OnPanic is told about a recovered panic in one of the station's
	// goroutines (Sentry); the goroutine is then restarted.
	OnPanic func(v any, stack []byte)
	Clock   Clock        // nil: SystemClock
	Logger  *slog.Logger // nil: discard
}

func (c Config) withDefaults() Config {
	if c.BufferSize <= 0 {
		c.BufferSize = 2 << 20
	}
	if c.PublishInterval <= 0 {
		c.PublishInterval = 400 * time.Millisecond
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 30 * time.Second
	}
	if c.Shards <= 0 {
		c.Shards = 1
	}
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// nominalBurst is the burst as time before the bitrate is known (128 kbps).
func (c *Config) nominalBurst() time.Duration {
	if c.Burst > 0 {
		return c.Burst
	}
	return time.Duration(int64(c.BurstBytes) * 8 * int64(time.Second) / 128000)
}

// burstDelay is how far behind live a listener joining now starts: the
// burst plus one publish interval. The published edge trails the clock by
// up to an interval, so without it the ring would hold up to one block less
// than the burst at join time and the rest would wait for the next tick;
// with it every listener gets the whole burst in its first write and all
// are still the same time behind live. A burst in bytes is converted at
// the rate of the newest block in r, or at 128 kbit/s before there is one.
func burstDelay(c *Config, r *Ring) time.Duration {
	var d time.Duration
	switch {
	case c.Burst > 0:
		d = c.Burst
	case c.BurstBytes == 0:
		return 0
	default:
		if r != nil {
			d = r.BurstDelay(c.BurstBytes)
		}
		if d <= 0 {
			d = c.nominalBurst()
		}
	}
	return d + c.PublishInterval
}

// burstSetting is a burst set while the station runs (SetBurst).
type burstSetting struct {
	d     time.Duration
	bytes int
}

// Station is one broadcast. Create it with New, run it with Run.
type Station struct {
	cfg     Config
	clock   Clock
	log     *slog.Logger
	ring    *Ring
	pacer   Pacer
	shards  []*shard
	sources []Source
	wake    chan struct{} // Feed.Ready: a source has a track
	count   counters
	// drops writes the "listener dropped" lines, folded per interval;
	// shared by the private stations of an individual route, whose
	// mountpoint then writes what is left when its last one ends.
	drops        *dropLog
	ownDropLines bool

	// A listener's private station (Mountpoint, individual mode) releases
	// its burst at once and ends when its listener leaves. Set before Run.
	prefill       time.Duration
	stopWhenEmpty bool
	empty         chan struct{}
	emptyOnce     sync.Once

	idle atomic.Bool
	// burst, once SetBurst is called, replaces cfg's Burst and BurstBytes.
	burst atomic.Pointer[burstSetting]
	// onAir is the track on the live edge when its source lets it be
	// skipped (a folder's); skipping is the one Skip asked to end.
	onAir    atomic.Pointer[TrackInfo]
	skipping atomic.Pointer[TrackInfo]
	// epoch is the clock at New; lastAppend is when the newest block was
	// appended, in nanoseconds since epoch (see Ready).
	epoch      time.Time
	lastAppend atomic.Int64
	started    atomic.Pointer[time.Time]
	nextShard  atomic.Uint64
	position   atomic.Pointer[resumePoint]
	published  broadcast // fired after every append and on going idle
	// joinScratch lends write scratch to Join: a join at 500 per second
	// would otherwise leave a few KiB of garbage each.
	joinScratch sync.Pool

	// Listeners written by goroutines of their own (see Join). mu also
	// keeps BytesSent exact: Stats holds it while it adds up, and a
	// listener leaving a shard or the writers has its bytes moved into the
	// total under it (retire); lock order mu, then a shard's mu.
	mu      sync.Mutex
	closed  bool
	done    chan struct{}
	writers map[*listener]struct{}
	running sync.WaitGroup

	// pts is the stream position of the next frame; rem keeps the
	// sub-nanosecond rest so long streams do not drift. Player only.
	pts time.Duration
	rem int64
	// prerolled is set once the schedule has started with a burst in the
	// past (see preroll). Player only.
	prerolled bool
	// lastTrackLine and foldedTracks rate-limit "track started": a folder
	// of tiny files would otherwise log many lines a second. Player only.
	lastTrackLine time.Time
	foldedTracks  int
}

// trackLineInterval is the least time between two "track started" lines
// of one station; the tracks started in between are counted in the next.
const trackLineInterval = time.Second

// ErrStopped is returned by Join after the station has stopped.
var ErrStopped = errors.New("station stopped")

// New builds a station that plays from sources, the first one first (see
// Source), filling in cfg's defaults.
func New(cfg Config, sources ...Source) *Station {
	cfg = cfg.withDefaults()
	s := &Station{
		cfg:     cfg,
		clock:   cfg.Clock,
		log:     cfg.Logger.With("route", cfg.Route),
		ring:    NewRing(cfg.BufferSize),
		pacer:   Pacer{Clock: cfg.Clock},
		sources: slices.Clone(sources),
		wake:    make(chan struct{}, 1),
		empty:   make(chan struct{}),
		done:    make(chan struct{}),
		writers: map[*listener]struct{}{},
	}
	s.epoch = cfg.Clock.Now()
	s.drops, s.ownDropLines = newDropLog(s.log, &cfg), true
	for range cfg.Shards {
		s.shards = append(s.shards, newShard(s))
	}
	s.idle.Store(true)
	return s
}

// Run plays until ctx ends (or, for a private station, its listener
// leaves), then closes every listener and waits for its goroutines and
// its sources' Run.
func (s *Station) Run(ctx context.Context) {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	if s.stopWhenEmpty {
		wg.Go(func() {
			select {
			case <-s.empty:
				stop()
			case <-ctx.Done():
			}
		})
	}
	for _, sh := range s.shards {
		wg.Go(func() { s.guard(ctx, "writer", sh.run) })
	}
	for i, src := range s.sources {
		feed := &Feed{st: s}
		name := fmt.Sprintf("source %d (%T)", i, src)
		wg.Go(func() { s.guard(ctx, name, func(ctx context.Context) { src.Run(ctx, feed) }) })
	}
	now := s.clock.Now()
	s.started.Store(&now)
	// Catching up after a stall may release up to one burst at once.
	s.pacer.MaxCatchup = max(s.cfg.nominalBurst(), s.prefill, time.Second)
	if s.prefill > 0 {
		s.pacer.Restart(s.prefill)
	}
	s.guard(ctx, "player", s.loop)
	stop()
	wg.Wait()
	s.stopWriters()
	if s.ownDropLines {
		s.drops.flush(s.clock.Now(), true)
	}
}

// guard runs fn, and runs it again after a panic (recovered, logged,
// counted and passed to Config.OnPanic), after a pause of a second so a
// panic on every run cannot become a hot loop. The station's state
// survives: listeners keep their place in the ring. When ctx ends during
// the pause, or ended during the run that panicked, fn still runs once
// more, at once and with ctx ended, so it gets to release what it holds
// (a source's opened tracks, a shard's listeners): every guarded function
// cleans up when it runs or returns with ctx ended. guard returns when fn
// returns, or when a run that began with ctx already ended panics.
func (s *Station) guard(ctx context.Context, name string, fn func(context.Context)) {
	for {
		late := ctx.Err() != nil
		if !s.protect(ctx, name, fn) || late {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// protect runs fn once, reporting whether it panicked.
func (s *Station) protect(ctx context.Context, name string, fn func(context.Context)) (panicked bool) {
	defer func() {
		if v := recover(); v != nil {
			panicked = true
			stack := debug.Stack()
			s.count.panics.Add(1)
			s.log.Error("station goroutine panicked; restarting it", "goroutine", name, "panic", fmt.Sprint(v))
			if s.cfg.OnPanic != nil {
				s.cfg.OnPanic(v, stack)
			}
		}
	}()
	fn(ctx)
	return false
}

// Skip ends the folder track on the live edge at its next frame boundary
// (listeners hear the cut one burst delay later) and returns it; the
// folder's next track follows, or a higher source's. It does nothing and
// returns nil while a live source, a relay or nothing plays.
func (s *Station) Skip() *TrackInfo {
	t := s.onAir.Load()
	if t != nil {
		s.skipping.Store(t)
	}
	return t
}

// Playing is the folder track on the live edge, which listeners hear one
// burst delay later (NowPlaying); nil while another source or nothing
// plays.
func (s *Station) Playing() *TrackInfo { return s.onAir.Load() }

// take returns a ready track of the first of the first n sources that has
// one, and that source's index.
func (s *Station) take(n int) (*Track, int) {
	for i, src := range s.sources[:n] {
		if t := src.Next(); t != nil {
			return t, i
		}
	}
	return nil, 0
}

func (s *Station) loop(ctx context.Context) {
	var t *Track
	var prio int
	for {
		if t == nil {
			if ctx.Err() != nil { // run again after a panic: nothing to clean up
				return
			}
			t, prio = s.take(len(s.sources))
		}
		if t == nil {
			s.idle.Store(true)
			s.published.fire() // Ready may turn false: waiters look again
			waitStart := s.clock.Now()
			for t == nil {
				select {
				case <-s.wake:
				case <-ctx.Done():
					return
				}
				t, prio = s.take(len(s.sources))
			}
			s.idle.Store(false)
			// A long wait (nothing to play) restarts the schedule: catching
			// up on silence would only flood listeners. A short one (a slow
			// disk or encoder) is caught up, so listeners hear no gap.
			if s.clock.Now().Sub(waitStart) > s.pacer.MaxCatchup {
				s.pacer.Restart(s.pts)
			}
		}
		s.idle.Store(false)
		var err error
		if t, prio, err = s.play(ctx, t, prio); err != nil {
			return
		}
	}
}

// builder collects a block's frames.
type builder struct {
	data     []byte
	frames   []int32
	frameDur time.Duration
	firstPTS time.Duration
	lastPTS  time.Duration
	offset   int64 // position in the source after the last frame
	// sync is the timeline of a clock-synced track's block, whose first
	// frame is global frame syncFrame; zero for other tracks.
	sync      FrameClock
	syncFrame int64
}

// offsetter is a track's Frames that knows its position in a file.
type offsetter interface{ Offset() int64 }

// play plays t, the track of source prio, until it ends or a source
// before prio has a track ready: then that track (and its source) is
// returned, to be played next. Blocks hold whole frames, so a switch is
// always on a frame boundary.
func (s *Station) play(ctx context.Context, t *Track, prio int) (next *Track, nextPrio int, err error) {
	kept := false // t's source took it back to resume it later (see interrupter)
	defer func() {
		if !kept {
			closeTrack(t)
		}
	}()
	handedOver := false // next goes to the caller; on an error or a panic it is closed here
	defer func() {
		if !handedOver && next != nil {
			closeTrack(next)
			next = nil
		}
	}()
	info := t.Info
	if _, ok := t.Frames.(realTimeFrames); ok {
		s.startRealTime()
	}
	offsets, _ := t.Frames.(offsetter)
	// A clock-synced track: frame syncAt plays at syncClock.Time(syncAt).
	clocked, _ := t.Frames.(clockedFrames)
	var syncAt int64
	var syncClock FrameClock
	forgiven := s.pacer.Forgiven
	if clocked != nil {
		syncAt, syncClock = s.startClock(clocked)
		forgiven = s.pacer.Forgiven
	}
	if _, ok := s.sources[prio].(*FolderSource); ok {
		s.onAir.Store(info)
		defer s.onAir.CompareAndSwap(info, nil)
	}
	var b builder
	first := true
	played := 0
	for {
		f, ferr := t.Frames.Next()
		if ferr != nil {
			// A stopping station (its listener left, or shutdown) kills
			// its encoder: that error is the cancellation, not the file's.
			if !errors.Is(ferr, io.EOF) && ctx.Err() == nil {
				s.log.Warn("track ended early", "path", info.Path, "title", info.Display, "reason", ferr.Error())
				if s.cfg.OnSkip != nil {
					s.cfg.OnSkip(info.Path, ferr)
				}
			}
			break
		}
		dur := f.Duration()
		if len(b.frames) > 0 && dur != b.frameDur {
			if err := s.publish(ctx, &b, info, &first, offsets != nil); err != nil {
				return next, 0, err
			}
		}
		if len(b.frames) == 0 {
			b.frameDur, b.firstPTS = dur, s.pts
			b.sync, b.syncFrame = syncClock, syncAt
			b.data = make([]byte, 0, s.blockCap(f))
			b.frames = make([]int32, 0, s.blockFrames(f))
		}
		b.frames = append(b.frames, int32(len(b.data)))
		b.data = append(b.data, f.Data...)
		b.lastPTS = s.pts
		if offsets != nil {
			b.offset = offsets.Offset()
		}
		s.advance(f)
		played++
		if clocked != nil {
			syncAt++
			if s.offClock(b.lastPTS, forgiven) {
				b = builder{} // dropped: the track starts again where the clock is
				break
			}
		}
		if time.Duration(len(b.frames))*b.frameDur >= s.cfg.PublishInterval {
			if err := s.publish(ctx, &b, info, &first, offsets != nil); err != nil {
				return next, 0, err
			}
		}
		// Between two frames: has a source before this one got a track?
		// Mostly the wake is a preloader of this or a later source; one
		// non-blocking receive per frame tells.
		select {
		case <-s.wake:
			if next, nextPrio = s.take(prio); next != nil {
				s.log.Info("source switched", "from", info.Display, "to", next.Info.Display)
			}
		default:
		}
		if next != nil {
			break
		}
		if s.skipping.Load() == info {
			s.log.Info("track skipped", "title", info.Display)
			break
		}
	}
	if len(b.frames) > 0 {
		if err := s.publish(ctx, &b, info, &first, offsets != nil); err != nil {
			return next, 0, err
		}
	}
	if played > 0 {
		s.count.tracks.Add(1)
	}
	if next != nil && ctx.Err() == nil {
		if src, ok := s.sources[prio].(interrupter); ok {
			kept = src.Interrupted(t)
		}
	}
	handedOver = true
	return next, nextPrio, nil
}

// blockCap sizes a block's buffer from the frame at hand, so appends do
// not reallocate.
func (s *Station) blockCap(f Frame) int {
	return s.blockFrames(f) * (len(f.Data) + 1) // +1: a padded frame
}

// blockFrames is how many frames make one block: publish waits for a full
// interval of audio, so exactly this many unless the track ends first.
func (s *Station) blockFrames(f Frame) int {
	d := f.Duration()
	return int((s.cfg.PublishInterval + d - 1) / d)
}

// advance moves the stream position past frame f, keeping the exact
// fraction of a nanosecond so the schedule never drifts.
func (s *Station) advance(f Frame) {
	num := int64(f.Samples)*int64(time.Second) + s.rem
	s.pts += time.Duration(num / int64(f.SampleRate))
	s.rem = num % int64(f.SampleRate)
}

// publish waits for the block's last frame to be due, appends the block to
// the ring and wakes the writers. keepPosition records where in its file
// the block ends, for resuming after a restart.
func (s *Station) publish(ctx context.Context, b *builder, info *TrackInfo, first *bool, keepPosition bool) error {
	if !s.prerolled {
		s.prerolled = true
		s.preroll(b)
	}
	due, err := s.pacer.Release(ctx, b.lastPTS)
	if err != nil {
		return err
	}
	blk := &Block{
		Data:     b.data,
		Frames:   b.frames,
		FrameDur: b.frameDur,
		Due:      due.Add(-(b.lastPTS - b.firstPTS)),
		Track:    info,
	}
	if b.sync.SampleRate > 0 { // exact, and the same on every instance
		blk.Due, blk.SyncFrame = b.sync.Time(b.syncFrame), b.syncFrame
	}
	if keepPosition {
		s.position.Store(&resumePoint{Rel: info.Rel, Offset: b.offset})
	}
	*b = builder{}
	started := *first
	if started {
		*first = false
		info.Started = blk.Due
	}
	s.ring.Append(blk)
	s.lastAppend.Store(int64(s.clock.Now().Sub(s.epoch)))
	s.count.played.Store(int64(s.pts))
	if started {
		s.logTrackStarted(info)
		if s.cfg.OnTrack != nil {
			s.cfg.OnTrack(info)
		}
	}
	for _, sh := range s.shards {
		sh.notify()
	}
	s.published.fire()
	return nil
}

// realTimeFrames are a track's frames that arrive in real time (a live
// stream, another station's): they cannot be taken ahead of their time.
type realTimeFrames interface{ realTime() }

// startRealTime puts the schedule on the live edge for a real-time track:
// no pre-roll (nothing could fill it), and no catching up on a schedule
// left behind, which would drain a live source's jitter buffer at once and
// play silence in its place.
func (s *Station) startRealTime() {
	if !s.prerolled {
		s.prerolled = true
		return
	}
	if s.pacer.Behind(s.pts) > s.cfg.PublishInterval {
		s.pacer.Restart(s.pts)
	}
}

// preroll starts the schedule with one burst delay of audio in the past,
// as if the station had been playing already, so a listener joining in
// its first seconds starts as far behind live as one joining later, and
// no track's heard start (Started plus the burst delay) is in the future.
// b is the first block, whose rate converts a burst in bytes. A private
// station has prefilled its burst at Run already.
func (s *Station) preroll(b *builder) {
	if s.prefill > 0 {
		return
	}
	var burst time.Duration
	switch {
	case s.cfg.Burst > 0:
		burst = s.cfg.Burst
	case s.cfg.BurstBytes == 0 || len(b.data) == 0:
		return // listeners start on the live edge: nothing to be ahead of
	default:
		burst = framesTime(s.cfg.BurstBytes, len(b.frames), len(b.data), b.frameDur)
	}
	s.pacer.StartAhead(b.firstPTS, burst+s.cfg.PublishInterval)
}

// logTrackStarted writes "track started" at most once per
// trackLineInterval; a line after a quiet spell says how many tracks
// started unlogged since the previous one.
func (s *Station) logTrackStarted(info *TrackInfo) {
	now := s.clock.Now()
	if !s.lastTrackLine.IsZero() && now.Sub(s.lastTrackLine) < trackLineInterval {
		s.foldedTracks++
		return
	}
	if s.foldedTracks > 0 {
		s.log.Info("track started", "title", info.Display, "path", info.Path, "unlogged_since_last_line", s.foldedTracks)
	} else {
		s.log.Info("track started", "title", info.Display, "path", info.Path)
	}
	s.lastTrackLine, s.foldedTracks = now, 0
}

// BurstDelay is how far behind live a listener joining now starts (see
// burstDelay).
func (s *Station) BurstDelay() time.Duration {
	b := s.burst.Load()
	if b == nil {
		return burstDelay(&s.cfg, s.ring)
	}
	c := Config{Burst: b.d, BurstBytes: b.bytes, PublishInterval: s.cfg.PublishInterval}
	return burstDelay(&c, s.ring)
}

// SetBurst changes how far behind live new listeners start (Config.Burst
// and BurstBytes) while the station runs: listeners already connected keep
// their place, so for a while they are not all the same time behind live.
// The ring holds at most BufferSize bytes: a burst beyond that starts at
// the oldest block.
func (s *Station) SetBurst(d time.Duration, bytes int) {
	s.burst.Store(&burstSetting{d: d, bytes: bytes})
}

// Ready reports whether the station is producing audio now; listeners of a
// station that is not get a 503. Between two tracks the station is idle
// while the next one opens, which can take longer than a short track lasts
// (an encoder starting), and its live edge may lie well behind the clock
// (the pre-roll, catching up, a source slower than real time): so an idle
// station stays ready for readyGrace after its last append or its live
// edge, whichever is later, and readiness does not flap while audio plays.
func (s *Station) Ready() bool {
	t := s.ring.Tail()
	if t == nil {
		return false
	}
	if !s.idle.Load() {
		return true
	}
	last := t.End()
	if appended := s.epoch.Add(time.Duration(s.lastAppend.Load())); appended.After(last) {
		last = appended
	}
	return s.clock.Now().Before(last.Add(s.readyGrace()))
}

// readyGrace is how long an idle station still counts as playing: as long
// as listeners, one burst delay behind, still hear what it published, and
// at least as long as the pacer catches up a gap without a break (a second
// at least; see Run), so a station that resumes within it never seemed off
// the air. Two publish intervals at the least.
func (s *Station) readyGrace() time.Duration {
	return max(2*s.cfg.PublishInterval, time.Second, s.prefill, s.BurstDelay())
}

// NowPlaying is the track listeners hear now: the one that was on the live
// edge one burst delay ago. Nil before the first track and while the
// station is off the air (not Ready: nothing to play), so status pages do
// not show a title nobody hears.
func (s *Station) NowPlaying() *TrackInfo {
	if !s.Ready() {
		return nil
	}
	return s.ring.TrackAt(s.clock.Now().Add(-s.BurstDelay()))
}

// resumeAt is where in its file the live edge is, for resuming after a
// restart: the last block published from a file.
func (s *Station) resumeAt() (resumePoint, bool) {
	p := s.position.Load()
	if p == nil {
		return resumePoint{}, false
	}
	return *p, true
}

// Listeners is the number of connected listeners (Stats without the walk).
func (s *Station) Listeners() int { return int(s.count.listeners.Load()) }

// Stats returns the station's counters.
func (s *Station) Stats() Stats {
	t := tally{now: s.clock.Now()}
	t.audience(&s.count)
	s.tally(&t)
	if p := s.started.Load(); p != nil {
		t.StreamStarted = *p
	}
	return t.result()
}

// tally adds the station's totals and its connected listeners' figures to
// t. It holds s.mu throughout: a leaving listener's bytes move into the
// total under s.mu too (see retire), so each byte is counted exactly once
// and BytesSent never goes down.
func (s *Station) tally(t *tally) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.totals(&s.count)
	for _, sh := range s.shards {
		sh.each(t.listener)
	}
	for l := range s.writers {
		t.listener(l)
	}
}
