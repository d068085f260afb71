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
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/reporting"
	"github.com/aposazhennikov/stream-audio-to-web/internal/server"
	"github.com/aposazhennikov/stream-audio-to-web/internal/station"
	"github.com/aposazhennikov/stream-audio-to-web/internal/transcode"
	"github.com/aposazhennikov/stream-audio-to-web/internal/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
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
	sentryRep, err := reporting.New(cfg.SentryDSN, release(), cfg.Environment)
	if err != nil {
		fmt.Fprintln(stderr, "config: sentry_dsn:", err)
		return 2
	}
	defer sentryRep.Flush(2 * time.Second)
	var rep station.Reporter // stays a nil interface when reporting is off
	if sentryRep != nil {
		rep = sentryRep
	}

	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Error("cannot listen", "addr", addr, "error", err)
		sentryRep.Error(fmt.Errorf("startup: listen %s: %w", addr, err), nil)
		return 1
	}
	defer ln.Close()

	var tlsLn net.Listener
	if cfg.TLSCert != "" {
		// Check the pair before anything starts: a bad file is a config error.
		if _, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey); err != nil {
			fmt.Fprintf(stderr, "config: tls_cert/tls_key: %q, %q: %v\n", cfg.TLSCert, cfg.TLSKey, err)
			return 2
		}
		tlsAddr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.TLSPort))
		if tlsLn, err = net.Listen("tcp", tlsAddr); err != nil {
			log.Error("cannot listen", "addr", tlsAddr, "error", err)
			sentryRep.Error(fmt.Errorf("startup: listen %s: %w", tlsAddr, err), nil)
			return 1
		}
		log.Info("HTTPS listening", "addr", tlsLn.Addr().String())
	}

	ffmpegErr := transcode.Available(cfg.FFmpegPath)
	deps := station.Deps{FFmpeg: ffmpegErr, Reporter: rep, Logger: log}
	stations, err := station.BuildAll(cfg, deps)
	if err != nil {
		log.Error("cannot build the stations", "error", err)
		return 1
	}
	for _, st := range stations {
		if st.Demo() {
			log.Info("default audio folder is missing or empty; playing the bundled demo station (give --audio-dir to play your own)",
				"route", st.Profile().Route, "folder", cfg.AudioDir)
		}
	}
	mctx, stopStations := context.WithCancel(context.Background())
	runner := station.Run(mctx, cfg, stations, deps)
	station.WarnUnplayable(stations, ffmpegErr, log)

	views := serverViews(stations)
	var accessLog *server.AccessLog
	if cfg.AccessLog != "" {
		if accessLog, err = server.OpenAccessLog(cfg.AccessLog, os.Stdout); err != nil {
			log.Error("cannot open the access log", "path", cfg.AccessLog, "error", err)
			stopStations()
			return 1
		}
		defer accessLog.Close()
	}
	srv := &server.Server{
		Stations: views, AdminToken: cfg.AdminToken, MaxListeners: cfg.MaxListeners,
		MaxConnsPerIP: cfg.MaxConnsPerIP, HeaderTimeout: cfg.HeaderTimeout, ServerID: "audio-streamer",
		Admin: cfg.Admin, Location: cfg.Location, Logger: log, Reporter: rep,
		TLSListener: tlsLn, TLSCertFile: cfg.TLSCert, TLSKeyFile: cfg.TLSKey,
		ShoutcastMount: cfg.ShoutcastMount, AccessLog: accessLog, TrustedProxies: cfg.TrustedProxies,
		Branding: web.Branding{Name: cfg.ServerName, Description: cfg.ServerDescription, Accent: cfg.AccentColor,
			HideListeners: !cfg.ShowListeners},
		LogoFile: cfg.Logo,
	}
	if cfg.PublicURL != "" {
		// config checked it: an http(s) URL with a host and at most a path.
		srv.PublicURL, _ = url.Parse(cfg.PublicURL)
	}
	reloadConfig := configReloader(args, env, runner, srv, log)
	srv.ReloadConfig = reloadConfig
	// SIGHUP stays handled until run returns: a reload while the stations
	// stop must not kill the process.
	hupCtx, stopHangups := context.WithCancel(context.Background())
	reloads := reloadOnHangup(hupCtx, runner, reloadConfig, accessLog, env, log)
	defer func() { stopHangups(); <-reloads }()

	log.Info("audio-streamer listening", "addr", ln.Addr().String(), "stations", len(stations))
	for _, st := range stations {
		set := st.Settings()
		log.Info("station", "url", "http://"+displayHost(cfg.Host, ln)+set.Route, "dir", set.Dir, "mode", set.Mode)
	}
	// Serve at once, so health probes get an answer while stations start;
	// the service manager hears READY=1 once they play.
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ctx, ln) }()
	readyCtx, stopReadiness := context.WithCancel(ctx)
	readinessSent := make(chan struct{})
	go func() {
		defer close(readinessSent)
		notifyWhenReady(readyCtx, stations, env, log)
	}()
	shoutcastDone := serveShoutcast(ctx, cfg, stations, srv, log)
	err = <-serveErr
	<-shoutcastDone
	stopReadiness()
	<-readinessSent
	notify(env, "STOPPING=1") //nolint:errcheck // best effort while stopping
	// Stop the stations (closing every listener and encoder), bounded so a
	// stuck goroutine cannot keep the process from exiting.
	stopStations()
	done := make(chan struct{})
	go func() {
		runner.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(4 * time.Second):
		log.Warn("stations did not stop within 4s; exiting anyway")
	}
	if err != nil {
		log.Error("server stopped", "error", err)
		sentryRep.Error(err, nil)
		return 1
	}
	log.Info("audio-streamer stopped")
	return 0
}

// serveShoutcast opens port+1 for SHOUTcast v1 source clients (old DJ
// tools) when the shoutcast_mount station takes live sources, as Icecast
// does; a port that cannot be opened is a warning, not a failed start.
// The returned channel closes when that listener has stopped (at ctx's end).
func serveShoutcast(ctx context.Context, cfg *config.Config, stations []*station.Station, srv *server.Server, log *slog.Logger) <-chan struct{} {
	done := make(chan struct{})
	open, anyLive := false, false
	for _, st := range stations {
		live, _ := st.LiveSource()
		anyLive = anyLive || live != nil
		if live != nil && st.Profile().Route == cfg.ShoutcastMount {
			open = true
		}
	}
	if !open || cfg.Port >= 65535 {
		if anyLive && cfg.ShoutcastMount != "" {
			log.Info("SHOUTcast v1 source port not opened: its station takes no live sources (set its source_password, or shoutcast_mount)",
				"station", cfg.ShoutcastMount)
		}
		close(done)
		return done
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port+1))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Warn("cannot open the SHOUTcast source port; SHOUTcast v1 DJ tools cannot connect (Icecast clients can)", "addr", addr, "error", err)
		close(done)
		return done
	}
	log.Info("SHOUTcast v1 sources listening", "addr", ln.Addr().String(), "station", cfg.ShoutcastMount)
	go func() {
		defer close(done)
		if err := srv.ServeShoutcast(ctx, ln); err != nil {
			log.Error("SHOUTcast source port stopped", "error", err)
		}
	}()
	return done
}

// waitReady waits, at most limit, until every station that has files is
// ready to play. A station with nothing to play is not waited for.
func waitReady(ctx context.Context, stations []*station.Station, limit time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for _, st := range stations {
		if lib := st.Library(); lib != nil && lib.Len() > 0 {
			st.WaitReady(ctx) //nolint:errcheck // a slow station is served anyway
		}
	}
}

// notifyWhenReady sends READY=1 once every station that has files plays,
// or after 3 s with some still starting (they are served anyway); not if
// ctx ends first (the server stopped or failed).
func notifyWhenReady(ctx context.Context, stations []*station.Station, env func(string) (string, bool), log *slog.Logger) {
	waitReady(ctx, stations, 3*time.Second)
	if ctx.Err() != nil {
		return
	}
	if err := notify(env, "READY=1"); err != nil {
		log.Warn("cannot tell the service manager we are ready", "error", err)
	}
}

// reloadOnHangup, on SIGHUP until ctx ends, reads the configuration
// again and applies it (reloadConfig), rescans every station and reopens
// the access log file (after logrotate moved it); a service manager is
// told RELOADING=1 before and READY=1 after. The returned channel is
// closed when it has stopped (and SIGHUP has its default action again).
func reloadOnHangup(ctx context.Context, runner *station.Runner, reloadConfig func() (server.ReloadSummary, error),
	accessLog *server.AccessLog, env func(string) (string, bool), log *slog.Logger) <-chan struct{} {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				notify(env, "RELOADING=1") //nolint:errcheck // best effort, as READY=1
				reloadConfig()             //nolint:errcheck // logged by reloadConfig
				for _, st := range runner.Stations() {
					st.Reload() //nolint:errcheck // each station logs its own scan result
				}
				if err := accessLog.Reopen(); err != nil {
					log.Warn("cannot reopen the access log", "error", err)
				}
				log.Info("playlists reloaded (SIGHUP)")
				if err := notify(env, "READY=1"); err != nil {
					log.Warn("cannot tell the service manager the reload is done", "error", err)
				}
			}
		}
	}()
	return done
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
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
