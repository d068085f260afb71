// Command audio-streamer serves folders of audio files as internet radio
// stations (Icecast/SHOUTcast compatible). See README.md.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/demo"
	"github.com/aposazhennikov/stream-audio-to-web/icy"
	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/reporting"
	"github.com/aposazhennikov/stream-audio-to-web/internal/server"
	"github.com/aposazhennikov/stream-audio-to-web/internal/transcode"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}

// run is the whole program; it returns the exit status: 0 after a clean
// shutdown, 2 for a bad configuration, 1 when the server cannot start.
func run(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "check" {
		return check(ctx, args[1:], env, stdout, stderr)
	}
	cfg, err := config.Load(args, env)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, config.Usage())
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	log := newLogger(cfg, stderr)
	if _, set := env("GOGC"); !set {
		// The live heap is small (rings and listener cursors) and churns
		// with every join; collecting at +25 % instead of +100 % keeps RSS
		// per listener near Icecast's for a negligible CPU cost
		// (docs/benchmarks.md). GOGC still overrides.
		debug.SetGCPercent(25)
	}
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	if err := useDemoIfNeeded(cfg, log); err != nil {
		log.Error("cannot prepare the demo station", "error", err)
		return 1
	}
	rep, err := reporting.New(cfg.SentryDSN, release(), cfg.Environment)
	if err != nil {
		fmt.Fprintln(stderr, "config: sentry_dsn:", err)
		return 2
	}
	defer rep.Flush(2 * time.Second)

	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Error("cannot listen", "addr", addr, "error", err)
		rep.Error(fmt.Errorf("startup: listen %s: %w", addr, err), nil)
		return 1
	}

	var tlsLn net.Listener
	if cfg.TLSCert != "" {
		// Check the pair before anything starts: a bad file is a config error.
		if _, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey); err != nil {
			ln.Close()
			fmt.Fprintf(stderr, "config: tls_cert/tls_key: %q, %q: %v\n", cfg.TLSCert, cfg.TLSKey, err)
			return 2
		}
		tlsAddr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.TLSPort))
		if tlsLn, err = net.Listen("tcp", tlsAddr); err != nil {
			ln.Close()
			log.Error("cannot listen", "addr", tlsAddr, "error", err)
			rep.Error(fmt.Errorf("startup: listen %s: %w", tlsAddr, err), nil)
			return 1
		}
		log.Info("HTTPS listening", "addr", tlsLn.Addr().String())
	}

	ffmpegErr := transcode.Available(cfg.FFmpegPath)
	stations := buildStations(cfg, ffmpegErr, rep, log)
	mctx, stopMounts := context.WithCancel(context.Background())
	for _, st := range stations {
		st.Mount.Start(mctx)
	}
	if ffmpegErr != nil {
		warnUnplayable(stations, ffmpegErr, log)
	}

	srv := &server.Server{
		Stations: stations, AdminToken: cfg.AdminToken, MaxListeners: cfg.MaxListeners,
		MaxConnsPerIP: cfg.MaxConnsPerIP, HeaderTimeout: cfg.HeaderTimeout, ServerID: "audio-streamer",
		Logger: log, Reporter: rep,
		TLSListener: tlsLn, TLSCertFile: cfg.TLSCert, TLSKeyFile: cfg.TLSKey,
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			for _, st := range stations {
				st.Mount.Reload()
			}
			log.Info("playlists reloaded (SIGHUP)")
		}
	}()

	log.Info("audio-streamer listening", "addr", ln.Addr().String(), "stations", len(stations))
	for _, st := range stations {
		log.Info("station", "url", "http://"+displayHost(cfg.Host, ln)+st.Settings.Route, "dir", st.Settings.Dir, "mode", st.Settings.Mode)
	}
	// Let stations with files publish their first audio before accepting,
	// so an early listener is not refused with "no playable audio yet".
	deadline := time.Now().Add(3 * time.Second)
	for _, st := range stations {
		for st.Mount.Library.Len() > 0 && !st.Mount.Ready() && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond) // no readiness event to wait on
		}
	}
	serveErr := srv.Serve(ctx, ln)
	// Stop the stations (closing every listener and encoder), bounded so a
	// stuck goroutine cannot keep the process from exiting.
	stopMounts()
	done := make(chan struct{})
	go func() {
		for _, st := range stations {
			st.Mount.Wait()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(4 * time.Second):
		log.Warn("stations did not stop within 4s; exiting anyway")
	}
	if serveErr != nil {
		log.Error("server stopped", "error", serveErr)
		rep.Error(serveErr, nil)
		return 1
	}
	log.Info("audio-streamer stopped")
	return 0
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// useDemoIfNeeded plays the bundled demo tracks when the default audio
// folder (/app/audio, the Docker layout) is missing and none was given.
func useDemoIfNeeded(cfg *config.Config, log *slog.Logger) error {
	if cfg.AudioDirSet {
		return nil
	}
	// The Docker image creates /app/audio; with no music mounted there it
	// is empty, which deserves the demo as much as a missing folder.
	if res, err := playlist.NewLibrary(cfg.AudioDir, playlist.LibraryOptions{}).Scan(); err == nil && res.Tracks > 0 {
		return nil
	}
	dir, err := demo.Extract(os.TempDir())
	if err != nil {
		return err
	}
	for i := range cfg.Stations {
		if cfg.Stations[i].Dir == cfg.AudioDir {
			cfg.Stations[i].Dir = dir
		}
	}
	log.Info("default audio folder is missing or empty; playing the bundled demo station (give --audio-dir to play your own)", "folder", cfg.AudioDir, "demo", dir)
	return nil
}

func buildStations(cfg *config.Config, ffmpegErr error, rep *reporting.Reporter, log *slog.Logger) []*server.Station {
	var out []*server.Station
	for _, set := range cfg.Stations {
		charset, _ := icy.ParseCharset(set.ICYCharset)
		route := set.Route
		opts := transcode.Options{FFmpegPath: cfg.FFmpegPath, Bitrate: set.Bitrate, SampleRate: set.SampleRate, Channels: set.Channels, Logger: log}
		always := set.Transcode == "always"
		open := func(ctx context.Context, path string, offset int64) (*mount.FrameReader, io.Closer, error) {
			ext := strings.ToLower(filepath.Ext(path))
			if ext == ".mp3" && !always {
				return mount.OpenMP3At(path, offset)
			}
			if ffmpegErr != nil {
				return nil, nil, fmt.Errorf("cannot play %s files without ffmpeg: %w", ext, ffmpegErr)
			}
			st, err := transcode.Start(ctx, path, opts)
			if err != nil {
				return nil, nil, err
			}
			return mount.NewFrameReader(st), st, nil
		}
		mc := mount.Config{
			Route: route, BufferSize: cfg.BufferSize, Burst: set.Burst.Duration, BurstBytes: set.Burst.Bytes,
			PublishInterval: cfg.PublishInterval, WriteTimeout: cfg.WriteTimeout, MaxPreload: cfg.MaxPreloadTracks,
			Shards: min(runtime.GOMAXPROCS(0), 4),
			Open:   open,
			Titles: func(path string) (string, string, string) {
				t := playlist.ReadTitle(path)
				return t.Artist, t.Title, t.Display
			},
			MetaBlock: func(title string) []byte { return icy.MetaBlock(title, charset) },
			OnSkip: func(path string, err error) {
				if ffmpegErr != nil && errors.Is(err, ffmpegErr) {
					return // said once at startup
				}
				rep.Error(fmt.Errorf("skipped %s: %w", path, err), map[string]string{"route": route, "path": path})
			},
			OnPanic: func(v any, _ []byte) { rep.Panic(v, map[string]string{"route": route}) },
			Logger:  log,
		}
		mp := &mount.Mountpoint{
			Route: route, Individual: set.Mode == config.ModeIndividual, Shuffle: set.Shuffle,
			Station: mc, RescanInterval: cfg.RescanInterval,
			Library: playlist.NewLibrary(set.Dir, playlist.LibraryOptions{Extensions: set.Extensions, Logger: log}),
			History: playlist.NewHistory(100),
			Logger:  log,
		}
		if cfg.StateDir != "" {
			mp.StatePath = filepath.Join(cfg.StateDir, stateName(route))
		}
		out = append(out, &server.Station{Settings: set, Mount: mp})
	}
	return out
}

// stateName is a file name for a route's resume state.
func stateName(route string) string {
	name := strings.ReplaceAll(strings.Trim(route, "/"), "/", "_")
	if name == "" {
		name = "root"
	}
	return "station-" + name + ".json"
}

// warnUnplayable says once how many tracks need ffmpeg that is missing.
func warnUnplayable(stations []*server.Station, ffmpegErr error, log *slog.Logger) {
	n := 0
	for _, st := range stations {
		for _, t := range st.Mount.Library.Tracks() {
			if !strings.EqualFold(filepath.Ext(t.Rel), ".mp3") || st.Settings.Transcode == "always" {
				n++
			}
		}
	}
	if n > 0 {
		log.Warn(fmt.Sprintf("ffmpeg is not available, so %d WAV (or other non-MP3) files will not play; install it (apt-get install ffmpeg) or set ffmpeg_path", n), "reason", ffmpegErr.Error())
	}
}

func displayHost(host string, ln net.Listener) string {
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// release names the build for Sentry: the module version or VCS revision.
func release() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return "audio-streamer@" + s.Value
			}
		}
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			return "audio-streamer@" + v
		}
	}
	return "audio-streamer@dev"
}
