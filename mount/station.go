// Package mount is a station: it turns a play order of files into MPEG
// frames (Source), releases them on a real-time clock (Pacer) into a shared
// buffer of immutable blocks (Ring), and writes that buffer to every
// listener from a few shard goroutines, with no goroutine per listener.
package mount

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
)

// Tracks supplies a station's play order.
type Tracks interface {
	// Next returns the next track to play (absolute path and the path
	// relative to the station folder); ok is false when nothing is playable.
	Next() (path, rel string, ok bool)
	// Bad marks a track that could not be played, so it is not offered
	// again until the library changes.
	Bad(rel string)
}

// Opener opens a track for frame reading from byte offset (non-zero only
// when resuming after a restart; encoders may ignore it). The Closer
// releases the file or reaps the encoder.
type Opener func(ctx context.Context, path string, offset int64) (*FrameReader, io.Closer, error)

// Position is where the live edge is in the current track's file.
type Position struct {
	Rel    string
	Offset int64
}

// TitleReader reads a track's tags (lazily, when the track is preloaded).
type TitleReader func(path string) (artist, title, display string)

// Config is a station's settings and dependencies. Zero values are noted.
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
	// MaxPreload is how many upcoming tracks are opened and checked ahead
	// (0 still opens the next one while the current one plays).
	MaxPreload int
	// Shards is the number of writer goroutines (0: 1).
	Shards int
	// Prefill releases this much audio at once at start: an individual
	// listener's own station fills its burst this way.
	Prefill time.Duration
	// StopWhenEmpty ends the station when its last listener leaves.
	StopWhenEmpty bool
	// Resume starts the first track, if it is Resume.Rel, at Resume.Offset.
	Resume Position

	Tracks Tracks
	Open   Opener      // nil: OpenMP3
	Titles TitleReader // nil: the file name
	// MetaBlock encodes a title as an ICY metadata block (nil: UTF-8).
	MetaBlock func(title string) []byte
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

// Stats are a station's counters.
type Stats struct {
	Listeners     int
	Peak          int
	Sessions      uint64
	BytesSent     uint64
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

// Station is one route's broadcast. Create it with New, run it with Run.
type Station struct {
	cfg    Config
	clock  Clock
	log    *slog.Logger
	ring   *Ring
	pacer  Pacer
	shards []*shard
	ready  chan *openTrack
	poke   chan struct{}
	empty  chan struct{} // closed when the last listener leaves (StopWhenEmpty)
	once   sync.Once

	listeners atomic.Int64
	peak      atomic.Int64
	sessions  atomic.Uint64
	bytesSent atomic.Uint64
	tracks    atomic.Uint64
	skipped   atomic.Uint64
	slow      atomic.Uint64
	timeouts  atomic.Uint64
	panics    atomic.Uint64
	live      atomic.Pointer[TrackInfo]
	idle      atomic.Bool
	started   atomic.Pointer[time.Time]
	nextShard atomic.Uint64
	position  atomic.Pointer[Position]
	// joinScratch lends write scratch to Join: a join at 500 per second
	// would otherwise leave a few KiB of garbage each.
	joinScratch sync.Pool

	// Listeners on non-TCP connections (see JoinConn).
	mu       sync.Mutex
	closed   bool
	done     chan struct{}
	blocking sync.WaitGroup
	signal   atomic.Pointer[chan struct{}]

	played atomic.Int64 // pts, readable by status pages
	// pts is the stream position of the next frame; rem keeps the
	// sub-nanosecond rest so long streams do not drift.
	pts time.Duration
	rem int64
}

// ErrStopped is returned by Join after the station has stopped.
var ErrStopped = errors.New("station stopped")

// New builds a station from cfg, filling in defaults.
func New(cfg Config) *Station {
	if cfg.BufferSize <= 0 {
		cfg.BufferSize = 2 << 20
	}
	if cfg.PublishInterval <= 0 {
		cfg.PublishInterval = 400 * time.Millisecond
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 30 * time.Second
	}
	if cfg.Shards <= 0 {
		cfg.Shards = 1
	}
	if cfg.Open == nil {
		cfg.Open = func(_ context.Context, path string, offset int64) (*FrameReader, io.Closer, error) {
			return OpenMP3At(path, offset)
		}
	}
	if cfg.Titles == nil {
		cfg.Titles = func(path string) (string, string, string) { return "", "", baseName(path) }
	}
	if cfg.MetaBlock == nil {
		cfg.MetaBlock = func(t string) []byte { return icy.MetaBlock(t, icy.UTF8) }
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Station{
		cfg:   cfg,
		clock: cfg.Clock,
		log:   cfg.Logger.With("route", cfg.Route),
		ring:  NewRing(cfg.BufferSize),
		ready: make(chan *openTrack, max(cfg.MaxPreload-1, 0)),
		poke:  make(chan struct{}, 1),
		empty: make(chan struct{}),
		done:  make(chan struct{}),
	}
	first := make(chan struct{})
	s.signal.Store(&first)
	// Catching up after a stall may release up to one burst at once.
	s.pacer = Pacer{Clock: cfg.Clock, MaxCatchup: max(s.nominalBurst(), cfg.Prefill, time.Second)}
	for range cfg.Shards {
		s.shards = append(s.shards, newShard(s))
	}
	s.idle.Store(true)
	return s
}

// nominalBurst is the burst as time before the bitrate is known (128 kbps).
func (s *Station) nominalBurst() time.Duration {
	if s.cfg.Burst > 0 {
		return s.cfg.Burst
	}
	return time.Duration(int64(s.cfg.BurstBytes) * 8 * int64(time.Second) / 128000)
}

// Run plays until ctx ends (or, with StopWhenEmpty, the last listener
// leaves), then closes every listener and waits for its goroutines.
func (s *Station) Run(ctx context.Context) {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	if s.cfg.StopWhenEmpty {
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
	wg.Go(func() { s.guard(ctx, "preloader", s.preload) })
	now := s.clock.Now()
	s.started.Store(&now)
	if s.cfg.Prefill > 0 {
		s.pacer.Restart(s.cfg.Prefill)
	}
	s.guard(ctx, "player", s.loop)
	stop()
	wg.Wait()
	s.shutdownBlocking()
	// Tracks preloaded but never played still hold files or encoders.
	for {
		select {
		case ot := <-s.ready:
			ot.closer.Close()
		default:
			return
		}
	}
}

// guard runs fn until ctx ends, restarting it after a panic (reported,
// then a pause so a panic on every run cannot become a hot loop). The
// station's state survives: listeners keep their place in the ring.
func (s *Station) guard(ctx context.Context, name string, fn func(context.Context)) {
	for {
		panicked := func() (p bool) {
			defer func() {
				if v := recover(); v != nil {
					p = true
					stack := debug.Stack()
					s.panics.Add(1)
					s.log.Error("station goroutine panicked; restarting it", "goroutine", name, "panic", fmt.Sprint(v))
					if s.cfg.OnPanic != nil {
						s.cfg.OnPanic(v, stack)
					}
				}
			}()
			fn(ctx)
			return false
		}()
		if !panicked || ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// Poke asks the preloader to look for tracks now (after a rescan).
func (s *Station) Poke() {
	select {
	case s.poke <- struct{}{}:
	default:
	}
}

func (s *Station) loop(ctx context.Context) {
	for {
		var ot *openTrack
		select {
		case ot = <-s.ready:
		default:
			s.idle.Store(true)
			waitStart := s.clock.Now()
			select {
			case ot = <-s.ready:
			case <-ctx.Done():
				return
			}
			s.idle.Store(false)
			// A long wait (no playable file) restarts the schedule: catching
			// up on silence would only flood listeners. A short one (a slow
			// disk or encoder) is caught up, so listeners hear no gap.
			if s.clock.Now().Sub(waitStart) > s.pacer.MaxCatchup {
				s.pacer.Restart(s.pts)
			}
		}
		s.idle.Store(false)
		if err := s.play(ctx, ot); err != nil {
			return
		}
	}
}

// openTrack is a preloaded track: opened, its first frame decoded.
type openTrack struct {
	info   *TrackInfo
	fr     *FrameReader
	closer io.Closer
	first  Frame
}

// preload opens upcoming tracks ahead of time and hands them to the play
// loop in order. Broken files are skipped with their reason; when nothing
// is playable it retries with a growing pause (never a hot loop) or when
// poked after a rescan.
func (s *Station) preload(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		path, rel, ok := s.cfg.Tracks.Next()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-s.poke:
			case <-time.After(backoff):
				backoff = min(backoff*2, 30*time.Second)
			}
			continue
		}
		ot, err := s.open(ctx, path, rel)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.skipped.Add(1)
			s.cfg.Tracks.Bad(rel)
			s.log.Warn("skipping file", "path", path, "reason", err.Error())
			if s.cfg.OnSkip != nil {
				s.cfg.OnSkip(path, err)
			}
			continue
		}
		backoff = time.Second
		select {
		case s.ready <- ot:
		case <-ctx.Done():
			ot.closer.Close()
			return
		}
	}
}

func (s *Station) open(ctx context.Context, path, rel string) (*openTrack, error) {
	var offset int64
	if s.cfg.Resume.Rel != "" {
		if rel == s.cfg.Resume.Rel {
			offset = s.cfg.Resume.Offset
		}
		s.cfg.Resume = Position{} // only the first track resumes
	}
	fr, closer, err := s.cfg.Open(ctx, path, offset)
	if err != nil {
		return nil, err
	}
	f, err := fr.Next()
	if err != nil {
		closer.Close()
		return nil, err
	}
	first := f
	first.Data = append([]byte(nil), f.Data...)
	artist, title, display := s.cfg.Titles(path)
	info := &TrackInfo{
		Rel: rel, Path: path, Artist: artist, Title: title, Display: display, Meta: s.cfg.MetaBlock(display),
		Bitrate: f.Bitrate / 1000, SampleRate: f.SampleRate, Channels: f.Channels,
	}
	return &openTrack{info: info, fr: fr, closer: closer, first: first}, nil
}

// builder collects a block's frames.
type builder struct {
	data     []byte
	frames   []int32
	frameDur time.Duration
	firstPTS time.Duration
	lastPTS  time.Duration
	offset   int64 // file offset after the last frame
}

func (s *Station) play(ctx context.Context, ot *openTrack) error {
	defer ot.closer.Close()
	var b builder
	first := true
	f := ot.first
	for {
		dur := f.Duration()
		if len(b.frames) > 0 && dur != b.frameDur {
			if err := s.publish(ctx, &b, ot.info, &first); err != nil {
				return err
			}
		}
		if len(b.frames) == 0 {
			b.frameDur, b.firstPTS = dur, s.pts
			b.data = make([]byte, 0, s.blockCap(f))
			b.frames = make([]int32, 0, s.blockFrames(f))
		}
		b.frames = append(b.frames, int32(len(b.data)))
		b.data = append(b.data, f.Data...)
		b.lastPTS = s.pts
		b.offset = ot.fr.Offset()
		s.advance(f)
		if time.Duration(len(b.frames))*b.frameDur >= s.cfg.PublishInterval {
			if err := s.publish(ctx, &b, ot.info, &first); err != nil {
				return err
			}
		}
		var err error
		if f, err = ot.fr.Next(); err != nil {
			if !errors.Is(err, io.EOF) {
				s.log.Warn("track ended early", "path", ot.info.Path, "reason", err.Error())
				if s.cfg.OnSkip != nil {
					s.cfg.OnSkip(ot.info.Path, err)
				}
			}
			break
		}
	}
	if len(b.frames) > 0 {
		if err := s.publish(ctx, &b, ot.info, &first); err != nil {
			return err
		}
	}
	s.tracks.Add(1)
	return nil
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
// the ring and wakes the writers.
func (s *Station) publish(ctx context.Context, b *builder, info *TrackInfo, first *bool) error {
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
	s.position.Store(&Position{Rel: info.Rel, Offset: b.offset})
	*b = builder{}
	started := *first
	if started {
		*first = false
		info.Started = blk.Due
		s.live.Store(info)
	}
	s.ring.Append(blk)
	s.played.Store(int64(s.pts))
	if started {
		// Logged after the append: once this line is out, listeners can join.
		s.log.Info("track started", "title", info.Display, "path", info.Path)
		if s.cfg.OnTrack != nil {
			s.cfg.OnTrack(info)
		}
	}
	for _, sh := range s.shards {
		sh.notify()
	}
	s.announce()
	return nil
}

// Join hands a connection to the station. head (the HTTP response head)
// is sent first, then the burst, right away from the caller's goroutine so
// playback starts at once; afterwards a shard takes over. The station owns
// conn from here on and closes it; onLeave (may be nil) runs when it does.
// A listener that fails to join is counted and dropped like any other, so
// an individual listener's station sees it leave and stops.
func (s *Station) Join(conn *net.TCPConn, head []byte, metaint int, remote, userAgent string, onLeave func()) (l *Listener, err error) {
	now := s.clock.Now()
	delay := s.BurstDelay()
	blk, off := s.ring.JoinPoint(now, delay)
	l = &Listener{
		head: head, blk: blk, off: off,
		icy: icy.NewInterleave(metaint), joined: now, lastProgress: now,
		joinDelay: delay, Remote: remote, onLeave: onLeave,
	}
	if blk != nil && off < len(blk.Data) {
		l.joinDelay = now.Sub(blk.Due.Add(time.Duration(frameIndex(blk, off)) * blk.FrameDur))
	}
	n := s.listeners.Add(1)
	for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
	}
	s.sessions.Add(1)
	settled := false // dropped, or handed to a shard
	defer func() {
		if v := recover(); v != nil {
			if !settled {
				s.drop(l, fmt.Errorf("panic while joining: %v", v))
			}
			panic(v)
		}
	}()
	if l.sock, err = detach(conn); err != nil {
		// Mostly EMFILE: the process is out of descriptors.
		err = fmt.Errorf("taking over the connection: %w", err)
		settled = true
		s.drop(l, err)
		return nil, err
	}
	sc, _ := s.joinScratch.Get().(*scratch)
	if sc == nil {
		sc = newScratch()
	}
	err = l.flush(s.ring, sc, now, s.cfg.WriteTimeout)
	s.joinScratch.Put(sc)
	if err != nil {
		settled = true
		s.drop(l, err)
		return nil, err
	}
	sh := s.shards[s.nextShard.Add(1)%uint64(len(s.shards))]
	settled = true
	if !sh.add(l) {
		s.drop(l, ErrStopped)
		return nil, ErrStopped
	}
	s.log.Debug("listener connected", "remote", remote, "user_agent", userAgent, "delay", l.joinDelay)
	return l, nil
}

func frameIndex(b *Block, off int) int {
	for i, o := range b.Frames {
		if int(o) >= off {
			return i
		}
	}
	return len(b.Frames)
}

// drop closes a listener and counts why it left.
func (s *Station) drop(l *Listener, err error) {
	l.sock.close()
	s.bytesSent.Add(uint64(l.sent.Load()))
	switch {
	case errors.Is(err, errFellBehind):
		s.slow.Add(1)
		s.log.Info("listener dropped: too slow", "remote", l.Remote, "buffer_bytes", s.cfg.BufferSize)
	case errors.Is(err, errWriteTimeout):
		s.timeouts.Add(1)
		s.log.Info("listener dropped: write timeout", "remote", l.Remote, "timeout", s.cfg.WriteTimeout)
	case isDisconnect(err):
		s.log.Debug("listener disconnected", "remote", l.Remote, "reason", err.Error(), "seconds", s.clock.Now().Sub(l.joined).Seconds())
	default:
		s.log.Warn("listener write failed", "remote", l.Remote, "error", err.Error())
	}
	if l.onLeave != nil {
		l.onLeave()
	}
	if s.listeners.Add(-1) == 0 && s.cfg.StopWhenEmpty {
		s.once.Do(func() { close(s.empty) })
	}
}

// BurstDelay is how far behind live a listener joining now starts: the
// burst plus one publish interval. The published edge trails the clock by
// up to an interval, so without it the ring would hold up to one block less
// than the burst at join time and the rest would wait for the next tick;
// with it every listener gets the whole burst in its first write and all
// are still the same time behind live.
func (s *Station) BurstDelay() time.Duration {
	var d time.Duration
	switch {
	case s.cfg.Burst > 0:
		d = s.cfg.Burst
	case s.cfg.BurstBytes == 0:
		return 0
	default:
		if d = s.ring.BurstDelay(s.cfg.BurstBytes); d <= 0 {
			d = s.nominalBurst()
		}
	}
	return d + s.cfg.PublishInterval
}

// Ready reports whether the station is producing audio now; listeners of a
// station that is not get a 503.
func (s *Station) Ready() bool {
	t := s.ring.Tail()
	if t == nil {
		return false
	}
	return !s.idle.Load() || s.clock.Now().Before(t.End().Add(2*s.cfg.PublishInterval))
}

// NowPlaying is the track listeners hear now: the one that was on the live
// edge one burst delay ago. Nil before the first track.
func (s *Station) NowPlaying() *TrackInfo {
	if t := s.ring.TrackAt(s.clock.Now().Add(-s.BurstDelay())); t != nil {
		return t
	}
	return s.live.Load()
}

// Position is where the live edge is (for resuming after a restart).
func (s *Station) Position() (Position, bool) {
	p := s.position.Load()
	if p == nil {
		return Position{}, false
	}
	return *p, true
}

// Live is the track on the live edge (what the station has just read).
func (s *Station) Live() *TrackInfo { return s.live.Load() }

// Listeners is the number of connected listeners (Stats without the walk).
func (s *Station) Listeners() int { return int(s.listeners.Load()) }

// Stats returns the station's counters.
func (s *Station) Stats() Stats {
	st := Stats{
		Listeners:    int(s.listeners.Load()),
		Peak:         int(s.peak.Load()),
		Sessions:     s.sessions.Load(),
		BytesSent:    s.bytesSent.Load(),
		TracksPlayed: s.tracks.Load(),
		FilesSkipped: s.skipped.Load(),
		SlowDropped:  s.slow.Load(),
		TimeoutDrops: s.timeouts.Load(),
		Panics:       s.panics.Load(),
		AudioPlayed:  time.Duration(s.played.Load()),
	}
	if p := s.started.Load(); p != nil {
		st.StreamStarted = *p
	}
	var sum time.Duration
	n := 0
	for _, sh := range s.shards {
		sh.each(func(l *Listener) {
			d := l.Delay()
			st.BytesSent += uint64(l.sent.Load())
			sum += d
			st.MaxDelay = max(st.MaxDelay, d)
			n++
		})
	}
	if n > 0 {
		st.AvgDelay = sum / time.Duration(n)
	}
	return st
}

func baseName(path string) string {
	i := len(path) - 1
	for i >= 0 && path[i] != '/' {
		i--
	}
	name := path[i+1:]
	for j := len(name) - 1; j > 0; j-- {
		if name[j] == '.' {
			return name[:j]
		}
	}
	return name
}
