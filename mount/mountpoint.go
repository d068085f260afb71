package mount

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// Mountpoint is one configured route: its library, play order, history and
// the station playing it. In radio mode one station plays from boot for
// everyone. In individual mode each listener gets a private station, whose
// folder source is its own shuffled FolderSource over the shared library,
// started at connect and stopped at disconnect. Every station the
// mountpoint makes plays the sources Sources returns (a live push, a
// relay) ahead of its folder source, so a new kind of source needs no
// change here. Both modes join listeners through Station.Join and report
// the same Stats.
type Mountpoint struct {
	Route      string
	Individual bool
	Shuffle    bool
	// Station is the template for the station(s); OnTrack is wrapped here
	// to keep the history.
	Station Config
	// Sources are the sources played ahead of the folder, highest priority
	// first (see Source). It is called once for each station the
	// mountpoint makes (the radio station at Start, or each listener's
	// private station at Join), and each call returns sources of their own:
	// a Source belongs to one station. Nil: the folder only.
	Sources func() []Source
	// Decoder opens the files; Charset encodes their titles for ICY.
	Decoder Decoder
	Charset icy.Charset
	// Preload is how many upcoming tracks each folder source keeps opened
	// and checked ahead (FolderSource.Preload; 0 opens the next track only
	// when the current one ends).
	Preload int
	// OpenTimeout bounds opening one track (FolderSource.OpenTimeout).
	OpenTimeout time.Duration
	// ResumeInterrupted resumes a folder track that a live show
	// interrupted where it was cut, instead of playing the next one
	// (FolderSource.ResumeInterrupted).
	ResumeInterrupted bool
	// Programme, if set, makes the programme of each folder source the
	// mountpoint makes (the radio station's, or each private station's)
	// from the plain one: the Library in its play order. Nil plays that.
	Programme func(music *OrderProgramme) Programme
	// Level, if set, is every folder source's FolderSource.Level.
	Level func(path string) Level
	// Scanned, if set, is called after every scan of the folder that
	// changed it (and after the first), from the scanning goroutine.
	Scanned func()
	// RescanInterval rescans the folder periodically (0: only on Reload).
	RescanInterval time.Duration
	// StatePath, if set, keeps the radio position across restarts.
	StatePath string
	// Library is the folder's scanned files. Nil: the route has no folder
	// (a station for live shows and relays) and plays only its Sources;
	// it must then be in radio mode.
	Library *playlist.Library
	History *playlist.History
	Logger  *slog.Logger

	hooks folderHooks // tests only: given to every FolderSource made here
	bad   badFiles    // shared by every FolderSource made here
	// privateEnded, if set, is called when a private station has ended
	// and released everything (tests synchronise on it).
	privateEnded func()

	ctx        context.Context
	wg         sync.WaitGroup
	started    time.Time
	radio      *Station
	published  atomic.Pointer[Station] // radio, for other goroutines (Radio)
	folder     *FolderSource           // the radio station's source
	scans      broadcast               // fired after every scan
	lastScanOK atomic.Bool
	scanCount  atomic.Int64
	burst      atomic.Pointer[burstSetting] // SetBurst's, for private stations

	// Individual mode: the private stations running (and their sources,
	// to poke after a rescan), and the route's counters: its listeners and
	// the totals of the private stations that ended.
	mu      sync.Mutex
	private map[*Station]*privateStream
	count   counters
	drops   *dropLog // the private stations' "listener dropped" lines
}

// Start scans the folder and, in radio mode, starts the station; it
// returns at once. Everything started stops when ctx ends; Wait waits.
func (m *Mountpoint) Start(ctx context.Context) {
	if m.Logger == nil {
		m.Logger = slog.New(slog.DiscardHandler)
	}
	if m.History == nil {
		m.History = playlist.NewHistory(100)
	}
	if m.Station.Route == "" {
		m.Station.Route = m.Route
	}
	m.ctx = ctx
	m.started = m.Station.withDefaults().Clock.Now()
	m.private = map[*Station]*privateStream{}
	privateCfg := m.privateConfig()
	m.drops = newDropLog(privateCfg.Logger.With("route", m.Route), &privateCfg)
	if m.Library == nil {
		cfg := m.Station
		cfg.OnTrack = m.onTrack(cfg.OnTrack)
		m.radio = New(cfg, m.Sources()...)
		m.published.Store(m.radio)
		m.wg.Go(func() { m.radio.Run(ctx) })
		return
	}
	_, _ = m.scan() // logged; Ready and WaitReady tell the outcome
	if !m.Individual {
		order := playlist.NewOrder(m.Library, m.Shuffle, nil)
		m.folder = m.newFolder(order)
		if m.StatePath != "" {
			m.folder.resume = m.restore(order)
		}
		cfg := m.Station
		cfg.OnTrack = m.onTrack(cfg.OnTrack)
		m.radio = New(cfg, m.sources(m.folder)...)
		m.published.Store(m.radio)
		m.wg.Go(func() { m.radio.Run(ctx) })
		if m.StatePath != "" {
			m.wg.Go(func() { m.saveLoop(ctx, order) })
		}
	}
	if m.RescanInterval > 0 {
		m.wg.Go(func() { m.rescanLoop(ctx) })
	}
}

// Radio is the radio station, nil before Start and in individual mode
// (another station's MirrorSource plays it).
func (m *Mountpoint) Radio() *Station { return m.published.Load() }

// Wait returns when every goroutine of the mountpoint has ended.
func (m *Mountpoint) Wait() { m.wg.Wait() }

func (m *Mountpoint) newFolder(order *playlist.Order) *FolderSource {
	f := &FolderSource{
		Library: m.Library, Order: order, Decoder: m.Decoder, Charset: m.Charset,
		Preload: m.Preload, OpenTimeout: m.OpenTimeout, ResumeInterrupted: m.ResumeInterrupted,
		Level: m.Level, hooks: m.hooks, bad: &m.bad,
	}
	if m.Programme != nil {
		f.Programme = m.Programme(&OrderProgramme{Library: m.Library, Order: order})
	}
	return f
}

// SetBurst changes how far behind live new listeners start, for the radio
// station (Station.SetBurst) or the private stations started from now on.
func (m *Mountpoint) SetBurst(d time.Duration, bytes int) {
	m.burst.Store(&burstSetting{d: d, bytes: bytes})
	if st := m.Radio(); st != nil {
		st.SetBurst(d, bytes)
	}
}

// Skip ends the radio station's folder track at its next frame boundary
// (see Station.Skip) and returns it; nil when no folder track plays, and
// in individual mode.
func (m *Mountpoint) Skip() *TrackInfo {
	if m.folder == nil {
		return nil
	}
	return m.radio.Skip()
}

// Flush makes the radio station's folder source drop the tracks it opened
// ahead and ask its programme again (FolderSource.Flush).
func (m *Mountpoint) Flush() {
	if m.folder != nil {
		m.folder.Flush()
	}
}

// Playing is the radio station's folder track on the live edge (see
// Station.Playing); nil in individual mode.
func (m *Mountpoint) Playing() *TrackInfo {
	if m.folder == nil {
		return nil
	}
	return m.radio.Playing()
}

// Upcoming lists the radio station's folder tracks opened ahead, in the
// order they will play; nil in individual mode.
func (m *Mountpoint) Upcoming() []*TrackInfo {
	if m.folder == nil {
		return nil
	}
	return m.folder.Upcoming()
}

// sources is the source list of a new station: Sources, then folder.
func (m *Mountpoint) sources(folder *FolderSource) []Source {
	var list []Source
	if m.Sources != nil {
		list = m.Sources()
	}
	return append(list, folder)
}

func (m *Mountpoint) onTrack(next func(*TrackInfo)) func(*TrackInfo) {
	return func(t *TrackInfo) {
		// History lists when listeners hear the track, one burst later.
		m.History.Add(playlist.Entry{Rel: t.Rel, Title: t.Display, Start: t.Started.Add(m.radio.BurstDelay())})
		if next != nil {
			next(t)
		}
	}
}

// Reload rescans the folder now; new files join the order, removed files
// are never opened, the playing track is not cut.
func (m *Mountpoint) Reload() (playlist.ScanResult, error) {
	if m.Library == nil {
		return playlist.ScanResult{}, nil // no folder: nothing to rescan
	}
	res, err := m.scan()
	m.poke()
	return res, err
}

func (m *Mountpoint) scan() (playlist.ScanResult, error) {
	res, err := m.Library.Scan()
	m.lastScanOK.Store(err == nil && res.Tracks > 0)
	m.scans.fire()
	if m.Scanned != nil && (res.Changed || m.scanCount.Add(1) == 1) {
		m.Scanned()
	}
	if err != nil {
		m.Logger.Warn("station has nothing to play yet", "route", m.Route, "dir", m.Library.Dir(), "reason", err.Error())
	} else if res.Changed {
		m.Logger.Info("playlist scanned", "route", m.Route, "tracks", res.Tracks, "skipped", len(res.Skipped))
	}
	return res, err
}

// poke makes every folder source that found nothing playable look again.
func (m *Mountpoint) poke() {
	if m.folder != nil {
		m.folder.Poke()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.private {
		p.src.Poke()
	}
}

func (m *Mountpoint) rescanLoop(ctx context.Context) {
	t := time.NewTicker(m.RescanInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if res, err := m.scan(); err == nil && res.Changed {
				m.poke()
			}
		}
	}
}

// restore loads the saved position; a missing or corrupt file starts fresh.
func (m *Mountpoint) restore(order *playlist.Order) resumePoint {
	st, err := playlist.LoadState(m.StatePath)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return resumePoint{}
	case err != nil:
		m.Logger.Warn("ignoring saved station state", "route", m.Route, "path", m.StatePath, "reason", err.Error())
		return resumePoint{}
	}
	order.Restore(st)
	m.Logger.Info("resuming station", "route", m.Route, "track", st.Current, "offset", st.OffsetBytes)
	return resumePoint{Rel: st.Current, Offset: st.OffsetBytes}
}

func (m *Mountpoint) saveLoop(ctx context.Context, order *playlist.Order) {
	if err := os.MkdirAll(filepath.Dir(m.StatePath), 0o755); err != nil {
		m.Logger.Warn("cannot keep station state", "path", m.StatePath, "reason", err.Error())
		return
	}
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	saver := stateSaver{m: m, order: order}
	for {
		select {
		case <-ctx.Done():
			saver.save()
			return
		case <-t.C:
			saver.save()
		}
	}
}

// stateSaver saves the radio position and logs a failure once, and again
// only when the failure changes: a read-only state dir would otherwise
// log a warning every 5 s for as long as the server runs.
type stateSaver struct {
	m       *Mountpoint
	order   *playlist.Order
	failing string // what went wrong at the last save; "" if it worked
}

func (sv *stateSaver) save() {
	err := sv.m.saveState(sv.order)
	failing := ""
	if err != nil {
		failing = failureKind(err)
	}
	switch {
	case err != nil && failing != sv.failing:
		sv.m.Logger.Warn("saving station state failed", "route", sv.m.Route, "reason", err.Error())
	case err == nil && sv.failing != "":
		sv.m.Logger.Info("saving station state works again", "route", sv.m.Route)
	}
	sv.failing = failing
}

// failureKind is err without the names of temporary files, which differ
// at every attempt: the same failure gives the same kind.
func failureKind(err error) string {
	var pathErr *os.PathError
	var linkErr *os.LinkError
	switch {
	case errors.As(err, &linkErr):
		return linkErr.Op + ": " + linkErr.Err.Error()
	case errors.As(err, &pathErr):
		return pathErr.Op + ": " + pathErr.Err.Error()
	}
	return err.Error()
}

// saveState writes the radio position; nil if there is none yet.
func (m *Mountpoint) saveState(order *playlist.Order) error {
	pos, ok := m.radio.resumeAt()
	if !ok {
		return nil
	}
	st := order.Snapshot()
	// The order has moved on to preloaded tracks; what matters is the
	// track on the air and where in it.
	st.Current, st.OffsetBytes = pos.Rel, pos.Offset
	if i := indexOf(st.Order, pos.Rel); i >= 0 {
		st.Pos = i + 1
	}
	return playlist.SaveState(m.StatePath, st)
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// Ready reports whether a new listener would get audio now: the radio
// station is playing, or (individual) the last scan found files and at
// least one of them is not known to fail (nor needs a missing ffmpeg).
func (m *Mountpoint) Ready() bool {
	if m.radio != nil {
		return m.radio.Ready()
	}
	return m.lastScanOK.Load() && m.bad.anyPlayable(m.Library, m.Decoder)
}

// WaitReady returns nil as soon as Ready is true, or ctx's error. It wakes
// at every publish (radio) or scan (individual), never on a timer. Call it
// after Start.
func (m *Mountpoint) WaitReady(ctx context.Context) error {
	for {
		var wake <-chan struct{}
		if m.radio != nil {
			wake = m.radio.published.wait()
		} else {
			wake = m.scans.wait()
		}
		if m.Ready() {
			return nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Join hands a listener to the route: the radio station, or a private
// station started for it (see Station.Join). A private listener gets its
// response head only once its station has audio: if the station finds
// none, the listener is answered req.NoAudio and Join returns ErrNoAudio.
func (m *Mountpoint) Join(req JoinRequest) error {
	if m.radio != nil {
		return m.radio.Join(req)
	}
	return m.joinPrivate(req)
}

// privateConfig is the configuration of a listener's private station. Its
// burst is a time: a burst in bytes is taken at the nominal 128 kbit/s, as
// the station prefills it before knowing the bitrate, so its listener
// joins at the start of the prefill whatever the bitrate, and every
// private station has the same burst delay.
func (m *Mountpoint) privateConfig() Config {
	cfg := m.Station.withDefaults()
	if b := m.burst.Load(); b != nil {
		cfg.Burst, cfg.BurstBytes = b.d, b.bytes
	}
	cfg.Burst, cfg.BurstBytes = cfg.nominalBurst(), 0
	cfg.OnTrack = nil // a listener's private tracks are not the route's history
	cfg.Shards = 1
	// A private ring needs only the burst and some slack for a slow reader.
	cfg.BufferSize = min(cfg.BufferSize, 512<<10)
	return cfg
}

// privateStream is a listener's private station as its mountpoint keeps
// it. Under m.mu.
type privateStream struct {
	src *FolderSource
	// joined: its listener got the stream and is counted in the route's
	// listeners (a refused one never is).
	joined bool
}

// ErrNoAudio is returned by Join when a listener's private station found
// nothing to play (every file of the route fails): the listener was
// answered JoinRequest.NoAudio instead of a stream of silence.
var ErrNoAudio = errors.New("no playable audio")

func (m *Mountpoint) joinPrivate(req JoinRequest) error {
	src := m.newFolder(playlist.NewOrder(m.Library, true, rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))))
	// A private stream opens no more than the next track ahead: each open
	// may be an encoder, and one listener must not cost several.
	src.Preload = min(src.Preload, 1)
	dry := make(chan struct{})
	var dryOnce sync.Once
	src.dry = func() { dryOnce.Do(func() { close(dry) }) }
	cfg := m.privateConfig()
	st := New(cfg, m.sources(src)...)
	st.stopWhenEmpty = true
	st.prefill = cfg.nominalBurst()
	st.drops, st.ownDropLines = m.drops, false
	// Its own context: a station whose listener is refused has nobody to
	// leave it, so it is stopped here.
	ctx, stop := context.WithCancel(m.ctx)
	ps := &privateStream{src: src}
	m.mu.Lock()
	if m.ctx.Err() != nil {
		m.mu.Unlock()
		stop()
		refuse(req, ErrStopped)
		return ErrStopped
	}
	m.private[st] = ps
	m.mu.Unlock()
	m.wg.Go(func() {
		defer stop()
		st.Run(ctx)
		m.mu.Lock()
		delete(m.private, st)
		m.count.absorb(&st.count)
		joined := ps.joined
		m.mu.Unlock()
		if joined && m.count.listeners.Add(-1) == 0 {
			// No private station is left to tick: write what was folded.
			m.drops.flush(cfg.Clock.Now(), true)
		}
		if m.privateEnded != nil {
			m.privateEnded()
		}
	})
	if err := m.firstAudio(st, dry); err != nil {
		stop()
		refuse(req, err)
		return err
	}
	m.mu.Lock()
	_, running := m.private[st]
	if running {
		ps.joined = true
		m.count.join()
	}
	m.mu.Unlock()
	if !running { // the mountpoint stopped meanwhile
		refuse(req, ErrStopped)
		return ErrStopped
	}
	return st.Join(req)
}

// firstAudio waits until a new private station has published its first
// block, so its listener gets the response head with audio right behind
// it, or is refused (ErrNoAudio) when the station's play order runs out
// with no file of the route left playable, or after firstAudioWait.
func (m *Mountpoint) firstAudio(st *Station, dry <-chan struct{}) error {
	wait := m.firstAudioWait()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		wake := st.published.wait()
		if st.ring.Tail() != nil {
			return nil
		}
		select {
		case <-wake:
		case <-dry:
			if st.ring.Tail() == nil && !m.Ready() {
				return ErrNoAudio
			}
			dry = nil // ran out for another reason (files removed): the bound decides
		case <-timer.C:
			return fmt.Errorf("%w within %v", ErrNoAudio, wait)
		case <-m.ctx.Done():
			return ErrStopped
		}
	}
}

// firstAudioWait bounds the wait for a private station's first audio:
// one open may take up to the open timeout before the source moves on,
// and a second more covers the first block.
func (m *Mountpoint) firstAudioWait() time.Duration {
	open := m.OpenTimeout
	if open <= 0 {
		open = defaultOpenTimeout
	}
	return open + time.Second
}

// refusalWriteTimeout bounds writing a refusal to a new connection.
const refusalWriteTimeout = 5 * time.Second

// refuse closes the connection of a listener that is not joined, after
// answering req.NoAudio's reply (a plain 503 if nil) when err is
// ErrNoAudio, and runs OnLeave, as Join promises.
func refuse(req JoinRequest, err error) {
	if errors.Is(err, ErrNoAudio) {
		var resp []byte
		if req.NoAudio != nil {
			resp = req.NoAudio()
		} else {
			resp = icy.ErrorResponse(nil, 503, "503 Service Unavailable: no playable audio")
		}
		req.Conn.SetWriteDeadline(time.Now().Add(refusalWriteTimeout))
		_, _ = req.Conn.Write(resp) // best effort: a client that left is told nothing
	}
	req.Conn.Close()
	if req.OnLeave != nil {
		req.OnLeave()
	}
}

// NowPlaying is what listeners hear now (radio), or the most recently
// started of the tracks private stations play now (individual). Nil while
// nothing is on the air: an idle radio station, or no private station.
func (m *Mountpoint) NowPlaying() *TrackInfo {
	if m.radio != nil {
		return m.radio.NowPlaying()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var newest *TrackInfo
	for st := range m.private {
		if st.Listeners() == 0 { // its listener left; the station is stopping
			continue
		}
		if t := st.NowPlaying(); t != nil && (newest == nil || t.Started.After(newest.Started)) {
			newest = t
		}
	}
	return newest
}

// BurstDelay is how far behind live listeners hear: the radio station's,
// or in individual mode the one every private station has, running or not
// (see privateConfig): the burst, plus one publish interval.
func (m *Mountpoint) BurstDelay() time.Duration {
	if m.radio != nil {
		return m.radio.BurstDelay()
	}
	cfg := m.privateConfig()
	return burstDelay(&cfg, nil)
}

// Listeners is the number of connected listeners, without the walk over
// them that Stats makes: for limit checks on every new connection.
func (m *Mountpoint) Listeners() int {
	if m.radio != nil {
		return m.radio.Listeners()
	}
	return int(m.count.listeners.Load())
}

// Stats returns the route's counters. In individual mode they add up the
// private stations, running and ended, the way a station adds up its
// listeners.
func (m *Mountpoint) Stats() Stats {
	if m.radio != nil {
		return m.radio.Stats()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	t := tally{now: m.Station.withDefaults().Clock.Now()}
	t.audience(&m.count)
	t.totals(&m.count)
	for st := range m.private {
		st.tally(&t)
	}
	t.StreamStarted = m.started
	return t.result()
}
