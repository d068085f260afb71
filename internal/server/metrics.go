package server

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/station"
	"github.com/aposazhennikov/stream-audio-to-web/internal/transcode"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// metrics writes the Prometheus text format by hand: a dozen series do not
// justify a client library. Names keep the audio_stream_* ones of the Go server this one replaces.
func (s *Server) metrics(ctx *fasthttp.RequestCtx) {
	if !methodIs(ctx, "GET") {
		return
	}
	var b strings.Builder
	// One snapshot per station: Stats walks every listener, and all series
	// of a scrape should describe the same moment.
	type sample struct {
		route      string
		individual bool
		st         mount.Stats
		ready      bool
		refused    *refusalCounts
		air        station.OnAir
		encoders   int
	}
	var samples []sample
	// The server-wide encoder count: the parent of the stations' limiters
	// (one for stations built together; each counted once).
	var servers []*transcode.Limiter
	for _, st := range s.sortedStations() {
		p := st.Profile()
		x := sample{p.Route, p.Mode == config.ModeIndividual, st.Stats(), st.Ready(), s.refusalsOf(st), st.OnAir(), 0}
		if es, ok := st.(encoderStation); ok {
			x.encoders = es.Encoders().Running()
			if root := es.Encoders().Parent(); root != nil && !slices.Contains(servers, root) {
				servers = append(servers, root)
			}
		}
		samples = append(samples, x)
	}
	type series struct {
		name, typ, help string
		value           func(sample) float64
	}
	all := []series{
		{"audio_stream_listeners", "gauge", "Listeners connected now.", func(x sample) float64 { return float64(x.st.Listeners) }},
		{"audio_stream_listener_peak", "gauge", "Most listeners at once since start.", func(x sample) float64 { return float64(x.st.Peak) }},
		{"audio_stream_sessions_total", "counter", "Listener connections accepted.", func(x sample) float64 { return float64(x.st.Sessions) }},
		{"audio_stream_bytes_sent_total", "counter", "Bytes written to listeners.", func(x sample) float64 { return float64(x.st.BytesSent) }},
		{"audio_stream_listener_seconds_total", "counter", "Time listeners spent on the station: ended sessions and, so far, connected listeners.", func(x sample) float64 { return x.st.ListenTime.Seconds() }},
		{"audio_stream_track_seconds_total", "counter", "Seconds of audio played.", func(x sample) float64 { return x.st.AudioPlayed.Seconds() }},
		{"audio_stream_tracks_played_total", "counter", "Tracks that went on air, counted once when they ended, failed, or were cut short by a higher-priority source.", func(x sample) float64 { return float64(x.st.TracksPlayed) }},
		{"audio_stream_files_skipped_total", "counter", "Files skipped as unplayable.", func(x sample) float64 { return float64(x.st.FilesSkipped) }},
		{"audio_stream_slow_listeners_dropped_total", "counter", "Listeners dropped for falling behind the buffer.", func(x sample) float64 { return float64(x.st.SlowDropped) }},
		{"audio_stream_write_timeouts_total", "counter", "Listeners dropped for accepting no data within the write timeout.", func(x sample) float64 { return float64(x.st.TimeoutDrops) }},
		{"audio_stream_panics_total", "counter", "Station goroutines that panicked and were restarted (reported to Sentry).", func(x sample) float64 { return float64(x.st.Panics) }},
		{"audio_stream_private_streams", "gauge", "Private streams running now (individual mode: one per listener; 0 in radio mode).", func(x sample) float64 {
			if x.individual {
				return float64(x.st.Listeners)
			}
			return 0
		}},
		{"audio_stream_encoders", "gauge", "ffmpeg processes running now (transcoded tracks playing and opened ahead, converted live streams).", func(x sample) float64 { return float64(x.encoders) }},
		{"audio_stream_live_bytes_in", "gauge", "Bytes received from the live source or relay on the air now, in its current session (0 while none is).", func(x sample) float64 { return float64(x.air.BytesIn) }},
		{"audio_stream_relay_reconnects_total", "counter", "Connections of the relay to its upstream after the first.", func(x sample) float64 {
			if x.air.Relay == nil {
				return 0
			}
			return float64(x.air.Relay.Reconnects)
		}},
		{"audio_stream_ready", "gauge", "1 when the station is playing audio.", func(x sample) float64 {
			if x.ready {
				return 1
			}
			return 0
		}},
	}
	for _, m := range all {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", m.name, m.help, m.name, m.typ)
		for _, x := range samples {
			fmt.Fprintf(&b, "%s{stream=%s} %s\n", m.name, strconv.Quote(x.route), strconv.FormatFloat(m.value(x), 'g', -1, 64))
		}
	}
	const sessionName = "audio_stream_session_duration_seconds"
	fmt.Fprintf(&b, "# HELP %s Listener sessions that ended, by length (connect to close).\n# TYPE %s histogram\n", sessionName, sessionName)
	// Buckets, sums and counts each stand together (one series name each).
	for _, x := range samples {
		h := x.st.SessionLengths
		var cum uint64
		for i, bound := range mount.SessionBounds() {
			cum += h.Counts[i]
			fmt.Fprintf(&b, "%s_bucket{stream=%s,le=\"%s\"} %d\n", sessionName, strconv.Quote(x.route), strconv.FormatFloat(bound.Seconds(), 'g', -1, 64), cum)
		}
		fmt.Fprintf(&b, "%s_bucket{stream=%s,le=\"+Inf\"} %d\n", sessionName, strconv.Quote(x.route), h.Count())
	}
	for _, x := range samples {
		fmt.Fprintf(&b, "%s_sum{stream=%s} %s\n", sessionName, strconv.Quote(x.route), strconv.FormatFloat(x.st.SessionLengths.Sum.Seconds(), 'g', -1, 64))
	}
	for _, x := range samples {
		fmt.Fprintf(&b, "%s_count{stream=%s} %d\n", sessionName, strconv.Quote(x.route), x.st.SessionLengths.Count())
	}
	const sourceName = "audio_stream_source_on_air"
	fmt.Fprintf(&b, "# HELP %s 1 for the source the station plays now: folder, live, relay or fallback.\n# TYPE %s gauge\n", sourceName, sourceName)
	for _, x := range samples {
		for _, kind := range []string{"folder", "live", "relay", "fallback"} {
			v := 0
			if x.air.Source == kind {
				v = 1
			}
			fmt.Fprintf(&b, "%s{stream=%s,source=%q} %d\n", sourceName, strconv.Quote(x.route), kind, v)
		}
	}
	const refusedName = "audio_stream_listeners_refused_total"
	fmt.Fprintf(&b, "# HELP %s Listeners turned away with a 503, by reason.\n# TYPE %s counter\n", refusedName, refusedName)
	for _, x := range samples {
		for reason := range refusalKinds {
			fmt.Fprintf(&b, "%s{stream=%s,reason=%q} %d\n", refusedName, strconv.Quote(x.route), reason.String(), x.refused[reason].Load())
		}
	}
	gauge := func(name, help string, v float64) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n", name, help, name, name, strconv.FormatFloat(v, 'g', -1, 64))
	}
	counter := func(name, help string, v uint64) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
	}
	counter("audio_stream_tls_probes_total", "TLS handshakes sent to the plain HTTP port.", s.tlsProbe.Load())
	counter("audio_stream_accept_errors_total", "Connections not accepted for lack of file descriptors or memory (retried).", s.acceptErrs.Load())
	counter("audio_stream_bad_requests_total", "Requests refused before routing: malformed (400), headers too large (431) or too slow (408).", s.badReqs.Load())
	encoders := 0
	for _, l := range servers {
		encoders += l.Running()
	}
	gauge("audio_streamer_encoders", "ffmpeg processes of all stations running now (capped by max_encoders).", float64(encoders))
	const buildName = "audio_streamer_build_info"
	version, revision := buildVersion()
	fmt.Fprintf(&b, "# HELP %s The running build: always 1.\n# TYPE %s gauge\n%s{version=%q,revision=%q,go_version=%q} 1\n",
		buildName, buildName, buildName, version, revision, runtime.Version())
	gauge("go_goroutines", "Number of goroutines that currently exist.", float64(runtime.NumGoroutine()))
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gauge("go_memstats_heap_inuse_bytes", "Heap bytes in use.", float64(ms.HeapInuse))
	if rss, ok := residentBytes(); ok {
		gauge("process_resident_memory_bytes", "Resident memory size in bytes.", float64(rss))
	}
	ctx.SetContentType("text/plain; version=0.0.4; charset=utf-8")
	ctx.SetBodyString(b.String())
}

// buildVersion is the module version ("devel" for a build from a work
// tree) and the VCS revision ("" if not recorded) the binary was built
// from.
func buildVersion() (version, revision string) {
	version = "devel"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return version, ""
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		version = v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			revision = s.Value
		}
	}
	return version, revision
}

// residentBytes reads the resident set size from /proc (Linux).
func residentBytes() (uint64, bool) {
	raw, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(raw))
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * uint64(os.Getpagesize()), true
}
