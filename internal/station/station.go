// Package station builds stations from their configured settings. It is the
// one place that decides how a station's files open (MP3 frames directly or
// through ffmpeg), which folder plays (the bundled demo stands in for an
// empty default folder), how titles are encoded and what limits apply. The
// server, `audio-streamer check` and every test harness build stations here,
// so they cannot disagree.
package station

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/demo"
	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/loudness"
	"github.com/aposazhennikov/stream-audio-to-web/internal/programme"
	"github.com/aposazhennikov/stream-audio-to-web/internal/transcode"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// Reporter receives errors worth a human's attention (Sentry).
type Reporter interface {
	Error(err error, tags map[string]string)
	Panic(v any, tags map[string]string)
}

// Deps are what stations need from the process around them. The zero value
// works: ffmpeg is assumed to run, nothing is reported, logs are discarded,
// the demo is extracted below os.TempDir().
type Deps struct {
	// FFmpeg is why ffmpeg cannot run (transcode.Available), nil when it can.
	FFmpeg   error
	Reporter Reporter
	Logger   *slog.Logger
	// DemoDir is where the bundled demo is extracted when it is needed
	// ("" = os.TempDir()).
	DemoDir string
	// OnTrack, if set, is told when a station starts a track on its live
	// edge (tests wait on it instead of polling).
	OnTrack func(route string, t *mount.TrackInfo)
	// OnUnplayable, if set, is told about every file the station skips (a
	// broken file once per route) or cuts short (tests wait on it).
	OnUnplayable func(route, path string)
	// WallClock is the wall clock of schedules and jingle intervals, and
	// the programme's timer (nil: the system clock). Tests pass a fake.
	WallClock mount.Clock
	// Loudness measures the files of stations that level or trim them.
	// Nil: BuildAll (or Build) makes one when a station needs it, and the
	// first such station runs it.
	Loudness *loudness.Analyzer
	// Encoders counts and caps the ffmpeg processes of all stations
	// (max_encoders); each station's own limiter (its max_encoders) is a
	// child of it. Nil: BuildAll makes one from the configuration, and
	// Build one per station.
	Encoders *transcode.Limiter
}

// Profile is what listeners and status pages are told about a station: no
// folder paths, nothing private.
type Profile struct {
	Route       string
	Name        string
	Description string
	Genre       string
	URL         string
	Public      bool
	Mode        config.Mode
	// Bitrate, SampleRate and Channels are the stream's nominal format
	// (what transcoded tracks are encoded to); a playing MP3 track's own
	// format wins in the response head.
	Bitrate, SampleRate, Channels int
	Metaint                       int
	LegacyICYStatus               bool
	MaxListeners                  int // 0 = unlimited
	// LiveOnly: the station has no folder; it plays only while a live
	// source, its relay or its fallback does.
	LiveOnly bool
	// OnDemand: the station relays only while someone listens, so a new
	// listener waits for the relay to connect (WaitReady starts it).
	OnDemand bool
	// MaxPrivateStreams caps this station's private streams in individual
	// mode, ServerMaxPrivateStreams those of all individual-mode stations
	// together (the server applies it); 0 = unlimited.
	MaxPrivateStreams, ServerMaxPrivateStreams int
	// Image is the file of the station's picture for the listener page
	// ("" = none): the one path here, which the server serves by content
	// hash and never shows.
	Image string
}

// Station is one configured route, built and ready to Start.
type Station struct {
	// settings are the settings the station was built with; a reload
	// changes only the soft ones (reload.go), in current and profile.
	settings config.Station
	current  atomic.Pointer[config.Station]
	profile  atomic.Pointer[Profile]
	demo     bool
	mount    *mount.Mountpoint
	live     *liveSources
	program  *programming
	levels   *levelling // nil: tracks play at their own level
	rescan   time.Duration
	log      *slog.Logger
	wg       sync.WaitGroup // the relay's and the programme's goroutines
	// encoders counts the station's ffmpeg processes; a child of the
	// server's limiter.
	encoders *transcode.Limiter

	encodeMu sync.Mutex // guards the cache of mayEncode
	encodeAt uint64     // library version the cache is for (0: none)
	encodes  bool
}

// BuildAll builds every configured station, in configuration order. When
// the default audio folder was not chosen by the user and has nothing to
// play (the Docker image ships it empty), the stations playing it play the
// bundled demo instead.
func BuildAll(cfg *config.Config, deps Deps) ([]*Station, error) {
	demoDir, err := demoFor(cfg, deps)
	if err != nil {
		return nil, err
	}
	if deps.Encoders == nil {
		deps.Encoders = transcode.NewLimiter(cfg.MaxEncoders)
	}
	an, owned := analyzerFor(cfg, deps, cfg.Stations)
	deps.Loudness = an
	out := make([]*Station, 0, len(cfg.Stations))
	for _, set := range cfg.Stations {
		usesDemo := demoDir != "" && set.Dir == cfg.AudioDir
		if usesDemo {
			set.Dir = demoDir
		}
		st, err := Build(cfg, set, deps)
		if err != nil {
			return nil, err
		}
		st.demo = usesDemo
		if owned && st.levels != nil {
			st.levels.runs, owned = true, false
		}
		out = append(out, st)
	}
	linkFallbacks(out)
	return out, nil
}

// demoFor extracts the demo and returns its folder when a station plays
// the default audio folder, unconfigured and empty (or missing); ""
// otherwise.
func demoFor(cfg *config.Config, deps Deps) (string, error) {
	if cfg.AudioDirSet || !slices.ContainsFunc(cfg.Stations, func(s config.Station) bool { return s.Dir == cfg.AudioDir }) {
		return "", nil
	}
	if res, err := playlist.NewLibrary(cfg.AudioDir, playlist.LibraryOptions{}).Scan(); err == nil && res.Tracks > 0 {
		return "", nil
	}
	parent := deps.DemoDir
	if parent == "" {
		parent = os.TempDir()
	}
	dir, err := demo.Extract(parent)
	if err != nil {
		return "", fmt.Errorf("cannot prepare the demo station: %w", err)
	}
	return dir, nil
}

// Build makes one station from its settings and the server-wide ones in
// cfg. It starts nothing; call Start.
func Build(cfg *config.Config, set config.Station, deps Deps) (*Station, error) {
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	route := set.Route
	server := deps.Encoders
	if server == nil {
		server = transcode.NewLimiter(cfg.MaxEncoders)
	}
	encoders := server.Child(route, set.MaxEncoders)
	decoder := mount.Decoder{
		Transcode: transcode.Options{
			FFmpegPath: cfg.FFmpegPath, Bitrate: set.Bitrate, SampleRate: set.SampleRate,
			Channels: set.Channels, Logger: log, Limiter: encoders,
		},
		Always:      set.Transcode == "always",
		Unavailable: deps.FFmpeg,
	}
	mc := mount.Config{
		Route: route, BufferSize: cfg.BufferSize, Burst: set.Burst.Duration, BurstBytes: set.Burst.Bytes,
		PublishInterval: cfg.PublishInterval, WriteTimeout: cfg.WriteTimeout,
		Shards: min(runtime.GOMAXPROCS(0), 4),
		Logger: log,
	}
	rep := deps.Reporter
	mc.OnSkip = func(path string, err error) {
		if deps.OnUnplayable != nil {
			deps.OnUnplayable(route, path)
		}
		if rep == nil || deps.FFmpeg != nil && errors.Is(err, deps.FFmpeg) {
			return // said once at startup (WarnUnplayable)
		}
		rep.Error(fmt.Errorf("skipped %s: %w", path, err), map[string]string{"route": route, "path": path})
	}
	if rep != nil {
		mc.OnPanic = func(v any, _ []byte) { rep.Panic(v, map[string]string{"route": route}) }
	}
	if deps.OnTrack != nil {
		mc.OnTrack = func(t *mount.TrackInfo) { deps.OnTrack(route, t) }
	}
	live := buildLive(cfg, set, deps, encoders, log)
	mp := &mount.Mountpoint{
		Route: route, Individual: set.Mode == config.ModeIndividual, Shuffle: set.Shuffle,
		Station: mc, RescanInterval: cfg.RescanInterval,
		History: playlist.NewHistory(set.HistorySize),
		Decoder: decoder,
		Preload: cfg.MaxPreloadTracks,
		// After a live show or relay: the folder's next track, or the
		// interrupted one where it stopped.
		ResumeInterrupted: set.AfterLive == "resume",
		Charset:           set.ICYCharset,
		Logger:            log,
	}
	if set.HasFolder() {
		mp.Library = playlist.NewLibrary(set.Dir, playlist.LibraryOptions{Extensions: set.Extensions, Logger: log})
	}
	if r := live.relay; r != nil {
		r.Listeners = func() int { return mp.Listeners() + live.pending() }
	}
	if sources := live.list(); len(sources) > 0 {
		mp.Sources = func() []mount.Source { return sources } // radio mode: called once
	}
	if cfg.StateDir != "" && set.HasFolder() {
		mp.StatePath = filepath.Join(cfg.StateDir, stateName(route))
	}
	var program *programming
	var err error
	if set.Sync == config.SyncClock {
		program = buildSync(set, mp, live.list())
	} else if program, err = buildProgramming(cfg, set, mp, deps, log); err != nil {
		return nil, err
	}
	an, owned := analyzerFor(cfg, deps, []config.Station{set})
	levels := newLevelling(set, an, decoder)
	if levels != nil {
		levels.runs = owned
		mp.Level = levels.level
		libs := append([]*playlist.Library{mp.Library}, program.libraries...)
		mp.Scanned = func() { levels.measure(libs) }
	}
	st := &Station{
		settings: set,
		mount:    mp,
		live:     live,
		program:  program,
		levels:   levels,
		rescan:   cfg.RescanInterval,
		log:      log.With("route", route),
		encoders: encoders,
	}
	st.current.Store(&set)
	st.profile.Store(&Profile{
		Route: route, Name: set.Name, Description: set.Description, Genre: set.Genre, URL: set.URL,
		Image: set.Image, Public: set.Public, Mode: set.Mode, Bitrate: set.Bitrate, SampleRate: set.SampleRate,
		Channels: set.Channels, Metaint: set.Metaint, LegacyICYStatus: set.LegacyICYStatus,
		OnDemand: set.OnDemand, LiveOnly: !set.HasFolder(),
		MaxListeners: set.MaxListeners, MaxPrivateStreams: set.MaxPrivateStreams,
		ServerMaxPrivateStreams: cfg.MaxPrivateStreams,
	})
	return st, nil
}

// stateName is the file name of a route's resume state, distinct for
// distinct routes. The route without its leading "/" is percent-encoded
// (everything but ASCII letters, digits and "-._~"), so simple routes keep
// the names they always had ("/humor" → station-humor.json, "/" →
// station-root.json) while "/a/b" becomes station-a%2Fb.json next to
// "/a_b"'s station-a_b.json. Older versions wrote "/" inside a route as
// "_"; a nested route's file under that name is no longer read, so such a
// station starts its folder from the top once. The route "/root" had
// shared "/"'s file; it now escapes its first letter and starts fresh too.
// Names too long for a file system keep a readable prefix and end in a
// hash of the whole route after a "=", which the escaping never emits.
func stateName(route string) string {
	name := escapeStateName(strings.TrimPrefix(route, "/"))
	switch name {
	case "":
		name = "root"
	case "root":
		name = "%72oot"
	}
	if len(name) > maxStateName {
		sum := sha256.Sum256([]byte(route))
		name = name[:maxStateName-2*len(sum)-1] + "=" + hex.EncodeToString(sum[:])
	}
	return "station-" + name + ".json"
}

// maxStateName keeps "station-" + name + ".json" under the 255 bytes most
// file systems allow in one name.
const maxStateName = 200

// escapeStateName percent-encodes every byte of s except ASCII letters,
// digits and "-._~".
func escapeStateName(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := range len(s) {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("-._~", c) >= 0:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// Profile is what the station tells listeners about itself. While a DJ is
// live, the name, description, genre and URL their client announced
// (ice-name and friends) stand in for the configured ones, as on Icecast.
func (s *Station) Profile() Profile {
	var p Profile
	if cur := s.profile.Load(); cur != nil { // nil: a zero Station
		p = *cur
	}
	if l := s.live.live; l != nil {
		if st := l.Status(); st.OnAir {
			in := st.Info
			p.Name, p.Description = cmp.Or(in.Name, p.Name), cmp.Or(in.Description, p.Description)
			p.Genre, p.URL = cmp.Or(in.Genre, p.Genre), cmp.Or(in.URL, p.URL)
		}
	}
	return p
}

// Settings are the station's resolved settings (with the demo folder in
// Dir when Demo is true). For logs and `check`, never for the wire.
func (s *Station) Settings() config.Station {
	if cur := s.current.Load(); cur != nil { // nil: a zero Station
		return *cur
	}
	return s.settings
}

// Demo reports whether the station plays the bundled demo tracks.
func (s *Station) Demo() bool { return s.demo }

// Library is the station's scanned folder; nil for a station without one.
func (s *Station) Library() *playlist.Library { return s.mount.Library }

// Decoder is how the station opens its files.
func (s *Station) Decoder() mount.Decoder { return s.mount.Decoder }

// Start scans the folder and starts playing (radio mode); it returns at
// once. Everything stops when ctx ends; Wait waits for that.
func (s *Station) Start(ctx context.Context) {
	s.levels.start(ctx, s)
	var measure func()
	if s.levels != nil {
		measure = s.mount.Scanned
	}
	// Before the folder's first scan, which measures every library.
	s.program.start(ctx, s, s.rescan, measure)
	s.mount.Start(ctx)
	if r := s.live.relay; r != nil {
		s.wg.Go(func() { r.Run(ctx) })
	}
}

// Wait returns when everything Start started has ended.
func (s *Station) Wait() {
	s.mount.Wait()
	s.wg.Wait()
}

// WaitReady returns nil once a new listener would get audio, or ctx's
// error. Waiting counts as demand for an on-demand relay, which connects.
func (s *Station) WaitReady(ctx context.Context) error {
	defer s.live.demand()()
	return s.mount.WaitReady(ctx)
}

// Ready reports whether a new listener would get audio now (an
// individual-mode station whose every file fails is not ready: its
// listeners would get silence).
func (s *Station) Ready() bool { return s.mount.Ready() }

// Join hands a listener's connection to the station, which owns it from
// then on (see mount.JoinRequest).
func (s *Station) Join(req mount.JoinRequest) error {
	if r := s.live.relay; r != nil && r.OnDemand {
		leave := req.OnLeave
		req.OnLeave = func() {
			if leave != nil {
				leave()
			}
			r.Wake()
		}
		defer r.Wake()
	}
	return s.mount.Join(req)
}

// NowPlaying is the track listeners hear now; nil before the first.
func (s *Station) NowPlaying() *mount.TrackInfo { return s.mount.NowPlaying() }

// BurstDelay is how far behind live listeners hear.
func (s *Station) BurstDelay() time.Duration { return s.mount.BurstDelay() }

// Listeners is the number of connected listeners (cheap: no walk).
func (s *Station) Listeners() int { return s.mount.Listeners() }

// Stats are the station's counters, the same in radio and individual mode.
func (s *Station) Stats() mount.Stats { return s.mount.Stats() }

// History lists recently played tracks, newest first.
func (s *Station) History() []playlist.Entry { return s.mount.History.List() }

// Reload rescans the folder now, and the libraries of shows and jingles;
// the playing track is not cut. The result is the station folder's.
func (s *Station) Reload() (playlist.ScanResult, error) {
	if s.program.scan(s.log) && s.levels != nil {
		defer s.mount.Scanned()
	}
	return s.mount.Reload()
}

// Programme is the radio station's programme (shows, jingles, requests);
// nil for a station without a folder and in individual mode.
func (s *Station) Programme() *programme.Programme { return s.program.radio }

// Skip ends the folder track on the air at its next frame boundary and
// returns it (listeners hear the cut one burst delay later); nil when a
// live source, a relay or nothing plays, and in individual mode.
func (s *Station) Skip() *mount.TrackInfo { return s.mount.Skip() }

// Upcoming lists the folder tracks listeners will hear after the current
// one, in order: the one already on the live edge (heard one burst delay
// later) if it is another, then those opened to play next. Radio mode;
// nil otherwise.
func (s *Station) Upcoming() []*mount.TrackInfo {
	next := s.mount.Upcoming()
	if p := s.mount.Playing(); p != nil && p != s.mount.NowPlaying() {
		next = append([]*mount.TrackInfo{p}, next...)
	}
	return next
}

// Encoders is the limiter counting the station's ffmpeg processes; its
// Parent counts those of the whole server.
func (s *Station) Encoders() *transcode.Limiter { return s.encoders }

// encoderLeaseTTL is how long an encoder held for a new private listener
// waits for its first track to start one: the track's open timeout. A
// lease its listener's station did not use (an MP3 came first) is given
// back then, or when the listener leaves.
const encoderLeaseTTL = 10 * time.Second

// ReserveEncoder holds an encoder for a new individual-mode listener
// whose private station may need one (ffmpeg runs and the folder has
// files it plays through ffmpeg), so a flood of listeners is refused at
// the door instead of each starting a station that then waits for an
// encoder. The error is a *transcode.BusyError ("server is busy: 16
// encoders running") when a cap is full or stations wait for an encoder.
// A nil lease (nothing held) means no encoder is needed; Cancel the
// lease when the listener leaves.
func (s *Station) ReserveEncoder() (*transcode.Lease, error) {
	if s.settings.Mode != config.ModeIndividual || !s.mayEncode() {
		return nil, nil
	}
	return s.encoders.Reserve(encoderLeaseTTL)
}

// mayEncode reports whether a track of the station can need ffmpeg. It
// walks the library once per scan that changed it.
func (s *Station) mayEncode() bool {
	dec := s.mount.Decoder
	lib := s.mount.Library
	switch {
	case dec.Unavailable != nil || lib == nil:
		return false
	case dec.Always:
		return true
	}
	s.encodeMu.Lock()
	defer s.encodeMu.Unlock()
	if v := lib.Version(); v != s.encodeAt || v == 0 {
		s.encodeAt = v
		s.encodes = slices.ContainsFunc(lib.Tracks(), func(t playlist.Track) bool { return dec.NeedsFFmpeg(t.Rel) })
	}
	return s.encodes
}

// WarnUnplayable says once, when ffmpeg is missing, how many files of all
// stations will not play because they need it.
func WarnUnplayable(stations []*Station, ffmpegErr error, log *slog.Logger) {
	if ffmpegErr == nil {
		return
	}
	n := 0
	for _, st := range stations {
		dec := st.Decoder()
		lib := st.Library()
		if lib == nil {
			continue
		}
		for _, t := range lib.Tracks() {
			if dec.NeedsFFmpeg(t.Rel) {
				n++
			}
		}
	}
	if n > 0 {
		log.Warn(fmt.Sprintf("ffmpeg is not available, so %d WAV (or other non-MP3) files will not play; install it (apt-get install ffmpeg) or set ffmpeg_path", n), "reason", ffmpegErr.Error())
	}
}
