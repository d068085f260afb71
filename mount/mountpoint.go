package mount

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// Mountpoint is one configured route: its library, play order, history and
// the station playing it. In radio mode one station plays from boot for
// everyone; in individual mode each listener gets a private station with
// its own shuffled order, started at connect and stopped at disconnect.
type Mountpoint struct {
	Route      string
	Individual bool
	Shuffle    bool
	// Station is the template for the station(s): Tracks, OnTrack and
	// Logger are filled in here.
	Station Config
	// RescanInterval rescans the folder periodically (0: only on Reload).
	RescanInterval time.Duration
	// StatePath, if set, keeps the radio position across restarts.
	StatePath string
	Library   *playlist.Library
	History   *playlist.History
	Logger    *slog.Logger

	radio *Station
	wg    sync.WaitGroup
	ctx   context.Context

	// Individual mode keeps route-wide counters across private stations.
	mu         sync.Mutex
	private    map[*Station]struct{}
	listeners  atomic.Int64
	peak       atomic.Int64
	sessions   atomic.Uint64
	lastTrack  atomic.Pointer[TrackInfo]
	doneStats  Stats // counters of private stations that ended
	scanned    atomic.Bool
	lastScanOK atomic.Bool
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
	m.ctx = ctx
	m.private = map[*Station]struct{}{}
	m.scan()
	if !m.Individual {
		cfg := m.Station
		cfg.Tracks = orderTracks{lib: m.Library, order: playlist.NewOrder(m.Library, m.Shuffle, nil)}
		cfg.OnTrack = m.onTrack(cfg.OnTrack, cfg.Burst)
		if m.StatePath != "" {
			cfg.Resume = m.restore(cfg.Tracks.(orderTracks).order)
		}
		m.radio = New(cfg)
		m.wg.Go(func() { m.radio.Run(ctx) })
		if m.StatePath != "" {
			m.wg.Go(func() { m.saveLoop(ctx, cfg.Tracks.(orderTracks).order) })
		}
	}
	if m.RescanInterval > 0 {
		m.wg.Go(func() { m.rescanLoop(ctx) })
	}
}

// Wait returns when every goroutine of the mountpoint has ended.
func (m *Mountpoint) Wait() { m.wg.Wait() }

func (m *Mountpoint) onTrack(next func(*TrackInfo), burst time.Duration) func(*TrackInfo) {
	return func(t *TrackInfo) {
		m.lastTrack.Store(t)
		// History lists when listeners hear the track, one burst later.
		heard := t.Started
		if m.radio != nil {
			heard = heard.Add(m.radio.BurstDelay())
		} else {
			heard = heard.Add(burst)
		}
		m.History.Add(playlist.Entry{Rel: t.Rel, Title: t.Display, Start: heard})
		if next != nil {
			next(t)
		}
	}
}

// Reload rescans the folder now; new files join the order, removed files
// are never opened, the playing track is not cut.
func (m *Mountpoint) Reload() (playlist.ScanResult, error) {
	res, err := m.scan()
	if m.radio != nil {
		m.radio.Poke()
	}
	return res, err
}

func (m *Mountpoint) scan() (playlist.ScanResult, error) {
	res, err := m.Library.Scan()
	m.scanned.Store(true)
	m.lastScanOK.Store(err == nil && res.Tracks > 0)
	if err != nil {
		m.Logger.Warn("station has nothing to play yet", "route", m.Route, "dir", m.Library.Dir(), "reason", err.Error())
	} else if res.Changed {
		m.Logger.Info("playlist scanned", "route", m.Route, "tracks", res.Tracks, "skipped", len(res.Skipped))
	}
	return res, err
}

func (m *Mountpoint) rescanLoop(ctx context.Context) {
	t := time.NewTicker(m.RescanInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if res, err := m.scan(); err == nil && res.Changed && m.radio != nil {
				m.radio.Poke()
			}
		}
	}
}

// restore loads the saved position; a missing or corrupt file starts fresh.
func (m *Mountpoint) restore(order *playlist.Order) Position {
	st, err := playlist.LoadState(m.StatePath)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return Position{}
	case err != nil:
		m.Logger.Warn("ignoring saved station state", "route", m.Route, "path", m.StatePath, "reason", err.Error())
		return Position{}
	}
	order.Restore(st)
	m.Logger.Info("resuming station", "route", m.Route, "track", st.Current, "offset", st.OffsetBytes)
	return Position{Rel: st.Current, Offset: st.OffsetBytes}
}

func (m *Mountpoint) saveLoop(ctx context.Context, order *playlist.Order) {
	if err := os.MkdirAll(filepath.Dir(m.StatePath), 0o755); err != nil {
		m.Logger.Warn("cannot keep station state", "path", m.StatePath, "reason", err.Error())
		return
	}
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			m.saveState(order)
			return
		case <-t.C:
			m.saveState(order)
		}
	}
}

func (m *Mountpoint) saveState(order *playlist.Order) {
	pos, ok := m.radio.Position()
	if !ok {
		return
	}
	st := order.Snapshot()
	// The order has moved on to preloaded tracks; what matters is the
	// track on the air and where in it.
	st.Current, st.OffsetBytes = pos.Rel, pos.Offset
	if i := indexOf(st.Order, pos.Rel); i >= 0 {
		st.Pos = i + 1
	}
	if err := playlist.SaveState(m.StatePath, st); err != nil {
		m.Logger.Warn("saving station state failed", "route", m.Route, "reason", err.Error())
	}
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// Ready reports whether a new listener would get audio now.
func (m *Mountpoint) Ready() bool {
	if m.radio != nil {
		return m.radio.Ready()
	}
	return m.lastScanOK.Load()
}

// Join hands a listener's connection to the station (see Station.Join and
// Station.JoinConn: plain TCP is written without a goroutine, TLS with one).
func (m *Mountpoint) Join(conn net.Conn, head []byte, metaint int, remote, userAgent string, onLeave func()) error {
	if m.radio != nil {
		return m.radio.JoinConn(conn, head, metaint, remote, userAgent, onLeave)
	}
	return m.joinPrivate(conn, head, metaint, remote, userAgent, onLeave)
}

func (m *Mountpoint) joinPrivate(conn net.Conn, head []byte, metaint int, remote, userAgent string, onLeave func()) error {
	cfg := m.Station
	cfg.Tracks = orderTracks{lib: m.Library, order: playlist.NewOrder(m.Library, true, rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())))}
	cfg.OnTrack = func(t *TrackInfo) { m.lastTrack.Store(t) }
	cfg.StopWhenEmpty = true
	cfg.Prefill = max(cfg.Burst, time.Duration(int64(cfg.BurstBytes)*8*int64(time.Second)/128000))
	cfg.Shards = 1
	// A private ring needs only the burst and some slack for a slow reader.
	if cfg.BufferSize <= 0 {
		cfg.BufferSize = 2 << 20
	}
	cfg.BufferSize = min(cfg.BufferSize, 512<<10)
	st := New(cfg)
	m.mu.Lock()
	if m.ctx.Err() != nil {
		m.mu.Unlock()
		conn.Close()
		if onLeave != nil {
			onLeave()
		}
		return ErrStopped
	}
	m.private[st] = struct{}{}
	m.mu.Unlock()
	n := m.listeners.Add(1)
	for p := m.peak.Load(); n > p && !m.peak.CompareAndSwap(p, n); p = m.peak.Load() {
	}
	m.sessions.Add(1)
	m.wg.Go(func() {
		st.Run(m.ctx)
		final := st.Stats()
		m.mu.Lock()
		delete(m.private, st)
		m.doneStats.BytesSent += final.BytesSent
		m.doneStats.TracksPlayed += final.TracksPlayed
		m.doneStats.FilesSkipped += final.FilesSkipped
		m.doneStats.SlowDropped += final.SlowDropped
		m.doneStats.TimeoutDrops += final.TimeoutDrops
		m.mu.Unlock()
		m.listeners.Add(-1)
	})
	return st.JoinConn(conn, head, metaint, remote, userAgent, onLeave)
}

// NowPlaying is what listeners hear now (radio), or the track most recently
// started by any listener (individual).
func (m *Mountpoint) NowPlaying() *TrackInfo {
	if m.radio != nil {
		return m.radio.NowPlaying()
	}
	return m.lastTrack.Load()
}

// BurstDelay is how far behind live listeners hear.
func (m *Mountpoint) BurstDelay() time.Duration {
	if m.radio != nil {
		return m.radio.BurstDelay()
	}
	return m.Station.Burst
}

// Listeners is the number of connected listeners, without the walk over
// them that Stats makes: for limit checks on every new connection.
func (m *Mountpoint) Listeners() int {
	if m.radio != nil {
		return m.radio.Listeners()
	}
	return int(m.listeners.Load())
}

// Stats returns the route's counters.
func (m *Mountpoint) Stats() Stats {
	if m.radio != nil {
		return m.radio.Stats()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.doneStats
	s.Listeners = int(m.listeners.Load())
	s.Peak = int(m.peak.Load())
	s.Sessions = m.sessions.Load()
	var sum time.Duration
	for st := range m.private {
		ps := st.Stats()
		s.BytesSent += ps.BytesSent
		s.TracksPlayed += ps.TracksPlayed
		s.FilesSkipped += ps.FilesSkipped
		sum += ps.AvgDelay
		s.MaxDelay = max(s.MaxDelay, ps.MaxDelay)
	}
	if n := len(m.private); n > 0 {
		s.AvgDelay = sum / time.Duration(n)
	}
	return s
}

// orderTracks adapts a playlist order to the station: only files the
// library still lists are ever opened, and only below its folder.
type orderTracks struct {
	lib   *playlist.Library
	order *playlist.Order
}

func (o orderTracks) Next() (string, string, bool) {
	for range 3 { // a track removed since the order was made: take the next
		t, ok := o.order.Next()
		if !ok {
			return "", "", false
		}
		// Abs is "" for a path that would leave the folder.
		if p := o.lib.Abs(t); p != "" && o.lib.Contains(t.Rel) {
			return p, t.Rel, true
		}
	}
	return "", "", false
}

func (o orderTracks) Bad(rel string) { o.order.Skip(rel) }
