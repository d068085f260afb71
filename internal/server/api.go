package server

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"path"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/relay"
	"github.com/aposazhennikov/stream-audio-to-web/internal/schedule"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// stationJSON is one station in /streams, /now-playing and /events.
type stationJSON struct {
	Route        string  `json:"route"`
	URL          string  `json:"url"`
	HLS          string  `json:"hls,omitempty"` // the HLS media playlist; radio stations only
	Name         string  `json:"name"`
	Description  string  `json:"description"`
	Genre        string  `json:"genre"`
	Mode         string  `json:"mode"`
	Ready        bool    `json:"ready"`         // a listener connecting now gets audio
	OnAir        bool    `json:"on_air"`        // something is playing: the title fields are set only then
	CurrentTrack string  `json:"current_track"` // "Artist - Title" as listeners hear it
	Title        string  `json:"title"`
	Artist       string  `json:"artist"`
	File         string  `json:"file"`
	StartedAt    string  `json:"started_at,omitempty"`
	ElapsedS     float64 `json:"elapsed_s"`
	DurationS    float64 `json:"duration_s,omitempty"` // the track's length when known (folder MP3s)
	Listeners    int     `json:"listeners"`
	Peak         int     `json:"listener_peak"`
	Sessions     uint64  `json:"sessions"`
	DelayS       float64 `json:"delay_s"` // how far behind live listeners hear
	Bitrate      int     `json:"bitrate"`
	// Source is what plays: "folder", "live", "relay", "fallback"; "" off the air.
	Source string      `json:"source"`
	Live   *streamJSON `json:"live,omitempty"`  // the live or relayed stream on the air
	Relay  *relayJSON  `json:"relay,omitempty"` // the relay's state, on the air or not
	// Kind is why the current track plays: "" (music), "jingle", "request".
	Kind string `json:"kind,omitempty"`
	// Show and NextShow are the scheduled shows (a radio station with a
	// schedule); NextUp is the next track when it is known.
	Show     *schedule.Info `json:"show,omitempty"`
	NextShow *schedule.Info `json:"next_show,omitempty"`
	NextUp   *trackJSON     `json:"next_up,omitempty"`
	// Art is the path from the server root of the picture the station
	// shows now: the cover of the track listeners hear, else the
	// station's image, else a generated one (art.go). It changes when the
	// title does.
	Art string `json:"art"`
	// Position is the station's place in the configuration, 0 first:
	// pages list stations in this order.
	Position int `json:"position"`
}

// streamJSON is a live or relayed stream as its client announced it.
type streamJSON struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Genre       string `json:"genre,omitempty"`
	URL         string `json:"url,omitempty"`
	Since       string `json:"since"`
	BytesIn     int64  `json:"bytes_in"`
}

// relayJSON is a relay's state; the upstream is shown without credentials.
type relayJSON struct {
	Upstream   string `json:"upstream"`
	State      string `json:"state"`
	Since      string `json:"since,omitempty"`
	Reconnects int64  `json:"reconnects"`
	BytesIn    int64  `json:"bytes_in"`
	LastError  string `json:"last_error,omitempty"`
}

func (s *Server) describe(st Station, scheme, host string, now time.Time) stationJSON {
	set := st.Profile()
	stats := s.stats.get(st, now)
	j := stationJSON{
		Route: set.Route, URL: s.streamURL(scheme, host, set.Route), HLS: s.hlsURL(st, scheme, host),
		Name: set.Name, Description: set.Description, Genre: set.Genre, Mode: string(set.Mode),
		Ready: st.Ready(), Listeners: stats.Listeners, Peak: stats.Peak, Sessions: stats.Sessions,
		DelayS: round3(st.BurstDelay().Seconds()),
	}
	if stats.Listeners > 0 && stats.AvgDelay > 0 {
		j.DelayS = round3(stats.AvgDelay.Seconds())
	}
	j.Art = artPath(s.stationArt(st))
	j.Position = slices.IndexFunc(s.stationList(), func(o Station) bool { return o.Profile().Route == set.Route })
	j.OnAir = onAir(st)
	air := st.OnAir()
	j.Source = air.Source
	if air.Source == "live" || air.Source == "relay" {
		in := air.Stream
		j.Live = &streamJSON{Name: in.Name, Description: in.Description, Genre: in.Genre, URL: in.URL,
			Since: air.Since.UTC().Format(time.RFC3339), BytesIn: air.BytesIn}
	}
	if r := air.Relay; r != nil {
		j.Relay = relayStatusJSON(r)
	}
	if prog := st.Programme(); prog != nil {
		status := prog.Status()
		j.Show, j.NextShow = status.Show, status.NextShow
		if up := upcoming(st, status); len(up) > 0 {
			j.NextUp = &up[0]
		}
	}
	if t := nowPlaying(st); t != nil {
		j.Kind = t.Kind
		j.CurrentTrack, j.Title, j.Artist, j.File, j.Bitrate = t.Display, t.Title, t.Artist, path.Base(t.Rel), t.Bitrate
		if j.Title == "" {
			j.Title = t.Display
		}
		// Listeners hear the track one burst after it was on the live edge.
		heard := t.Started.Add(st.BurstDelay())
		j.StartedAt = heard.UTC().Format(time.RFC3339Nano)
		j.ElapsedS = round3(max(now.Sub(heard), 0).Seconds())
		j.DurationS = round3(t.Duration.Seconds())
	}
	return j
}

// showName names a show for the status JSON: its name, else what it
// plays; "" for the music between shows.
func showName(in *schedule.Info) string {
	if in == nil || in.Default {
		return ""
	}
	if in.Name != "" {
		return in.Name
	}
	return in.Plays
}

// onAir reports whether the station is playing to someone now: a radio
// station that publishes (Ready), an individual station while it has a
// listener. Its last title means nothing otherwise.
func onAir(st Station) bool {
	if !st.Ready() {
		return false
	}
	return st.Profile().Mode != config.ModeIndividual || st.Listeners() > 0
}

// nowPlaying is the station's track while it is on the air, else nil, so
// no page shows an old title with a growing elapsed time.
func nowPlaying(st Station) *mount.TrackInfo {
	if !onAir(st) {
		return nil
	}
	return st.NowPlaying()
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

// isHostStart reports whether c can begin a host[:port] (a reg-name,
// IPv4 address or [IPv6]); icy.URLFromHost would cut a host that starts
// with anything else down to nothing.
func isHostStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '['
}

func writeJSON(ctx *fasthttp.RequestCtx, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		ctx.Error("internal error\n", fasthttp.StatusInternalServerError)
		return
	}
	ctx.SetStatusCode(code)
	ctx.SetContentType("application/json; charset=utf-8")
	ctx.Response.Header.Set("Cache-Control", "no-cache, no-store")
	ctx.Response.Header.Set("Access-Control-Allow-Origin", "*")
	ctx.SetBody(append(b, '\n'))
}

func jsonError(ctx *fasthttp.RequestCtx, code int, msg string) {
	writeJSON(ctx, code, map[string]string{"status": "error", "message": msg})
}

// streams lists every station (the original servers' /streams, as a superset).
func (s *Server) streams(ctx *fasthttp.RequestCtx) {
	if !methodIs(ctx, "GET", "HEAD") {
		return
	}
	now := time.Now()
	list := make([]stationJSON, 0, len(s.stationList()))
	for _, st := range s.sortedStations() {
		list = append(list, s.describe(st, s.scheme(ctx), s.host(ctx), now))
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"status": "success", "message": "Available audio streams", "streams": list})
}

// routeArg returns the station named by ?route= (slash optional), the
// default station when absent, or nil after answering 404.
func (s *Server) routeArg(ctx *fasthttp.RequestCtx) (Station, bool) {
	arg := string(ctx.QueryArgs().Peek("route"))
	if arg == "" {
		return nil, true
	}
	st := s.stationFor(arg)
	if st == nil {
		jsonError(ctx, fasthttp.StatusNotFound, fmt.Sprintf("Stream %s not found", arg))
		return nil, false
	}
	return st, true
}

// nowPlaying answers what listeners hear now: with ?route= one station,
// without it the default station plus every station's title in "tracks",
// a shape the pages of both original servers (Python and Go) read.
func (s *Server) nowPlaying(ctx *fasthttp.RequestCtx) {
	if !methodIs(ctx, "GET", "HEAD") {
		return
	}
	st, ok := s.routeArg(ctx)
	if !ok {
		return
	}
	now := time.Now()
	if st != nil {
		d := s.describe(st, s.scheme(ctx), s.host(ctx), now)
		resp := map[string]any{
			"status": "success", "route": d.Route, "track": d.CurrentTrack, "title": d.Title, "artist": d.Artist,
			"file": d.File, "listeners": d.Listeners, "started_at": d.StartedAt, "elapsed_s": d.ElapsedS,
			"delay_s": d.DelayS, "ready": d.Ready, "on_air": d.OnAir, "history": historyJSON(st.History(), 10),
		}
		if d.DurationS > 0 {
			resp["duration_s"] = d.DurationS
		}
		// Only where there is something to say, so the seed's shape stays.
		for key, v := range map[string]any{"kind": d.Kind, "show": d.Show, "next_show": d.NextShow, "next_up": d.NextUp} {
			if !reflect.ValueOf(v).IsZero() {
				resp[key] = v
			}
		}
		writeJSON(ctx, fasthttp.StatusOK, resp)
		return
	}
	tracks := map[string]string{}
	for _, st := range s.stationList() {
		if t := nowPlaying(st); t != nil {
			tracks[st.Profile().Route] = t.Display
		}
	}
	resp := map[string]any{"status": "success", "tracks": tracks, "route": "/", "track": ""}
	if def := s.defaultStation(); def != nil {
		resp["route"] = def.Profile().Route
		resp["track"] = tracks[def.Profile().Route]
	}
	writeJSON(ctx, fasthttp.StatusOK, resp)
}

type historyEntry struct {
	Title     string `json:"title"`
	File      string `json:"file"`
	StartedAt string `json:"started_at"`
}

// historyJSON lists up to n (0: all) tracks listeners have heard, newest
// first. Tracks on the live edge but not heard yet are left out before
// counting, so n is not cut short by them.
func historyJSON(list []playlist.Entry, n int) []historyEntry {
	out := make([]historyEntry, 0, len(list))
	now := time.Now()
	for _, e := range list {
		if n > 0 && len(out) == n {
			break
		}
		if e.Start.After(now) {
			continue // on the live edge already, not heard yet
		}
		out = append(out, historyEntry{Title: e.Title, File: e.Rel, StartedAt: e.Start.UTC().Format(time.RFC3339)})
	}
	return out
}

func (s *Server) history(ctx *fasthttp.RequestCtx) {
	if !methodIs(ctx, "GET", "HEAD") {
		return
	}
	st, ok := s.routeArg(ctx)
	if !ok {
		return
	}
	if st == nil {
		st = s.defaultStation()
	}
	if st == nil {
		jsonError(ctx, fasthttp.StatusNotFound, "no stations configured")
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"status": "success", "route": st.Profile().Route, "history": historyJSON(st.History(), 0)})
}

// statusJSON is Icecast 2.4's /status-json.xsl, so existing widgets work.
func (s *Server) statusJSON(ctx *fasthttp.RequestCtx) {
	if !methodIs(ctx, "GET", "HEAD") {
		return
	}
	var sources []icy.SourceInfo
	now := time.Now()
	for _, st := range s.sortedStations() {
		set := st.Profile()
		stats := s.stats.get(st, now)
		src := icy.SourceInfo{
			Bitrate: set.Bitrate, Genre: set.Genre, ListenerPeak: stats.Peak, Listeners: stats.Listeners,
			ListenURL: s.streamURL(s.scheme(ctx), s.host(ctx), set.Route), ServerDescription: set.Description,
			ServerName: set.Name, ServerType: "audio/mpeg", ServerURL: set.URL, StreamStart: stats.StreamStarted,
			// The configured format until a track says what is on the air;
			// zero (omitted, as Icecast does) when neither knows.
			Channels: set.Channels, SampleRate: set.SampleRate,
		}
		src.HLS = s.hlsURL(st, s.scheme(ctx), s.host(ctx))
		if prog := st.Programme(); prog != nil {
			status := prog.Status()
			src.Show = showName(status.Show)
			if status.NextShow != nil {
				src.NextShow, src.NextShowStart = showName(status.NextShow), status.NextShow.Start
			}
		}
		if t := nowPlaying(st); t != nil {
			src.Title, src.Artist = t.Display, t.Artist
			if t.Bitrate > 0 {
				src.Bitrate, src.Channels, src.SampleRate = t.Bitrate, t.Channels, t.SampleRate
				src.AudioInfo = fmt.Sprintf("channels=%d;samplerate=%d;bitrate=%d", t.Channels, t.SampleRate, t.Bitrate)
			}
		}
		sources = append(sources, src)
	}
	h, _, err := net.SplitHostPort(s.host(ctx))
	if err != nil {
		h = s.host(ctx)
	}
	body := icy.StatusJSON(icy.ServerInfo{Admin: s.Admin, Host: h, Location: s.Location, ServerID: s.ServerID, Start: s.started}, sources)
	ctx.SetContentType("application/json; charset=utf-8")
	ctx.Response.Header.Set("Cache-Control", "no-cache, no-store")
	ctx.Response.Header.Set("Access-Control-Allow-Origin", "*")
	ctx.SetBody(body)
}

// playlistFile serves /<route>.m3u|.pls|.xspf and /listen.* for "/".
func (s *Server) playlistFile(ctx *fasthttp.RequestCtx, p string) bool {
	ext := path.Ext(p)
	var render func([]icy.Entry) []byte
	var mime string
	switch ext {
	case ".m3u":
		render, mime = icy.M3U, icy.MIMEM3U
	case ".pls":
		render, mime = icy.PLS, icy.MIMEPLS
	case ".xspf":
		render, mime = icy.XSPF, icy.MIMEXSPF
	default:
		return false
	}
	route := strings.TrimSuffix(p, ext)
	if route == "/listen" {
		if _, taken := s.current().byRoute["/listen"]; !taken {
			route = "/"
		}
	}
	st := s.current().byRoute[route]
	if st == nil {
		return false
	}
	set := st.Profile()
	e := icy.Entry{URL: s.streamURL(s.scheme(ctx), s.host(ctx), set.Route), Name: set.Name, Description: set.Description,
		Genre: set.Genre, InfoURL: set.URL, Bitrate: set.Bitrate, Listeners: s.stats.get(st, time.Now()).Listeners}
	if t := nowPlaying(st); t != nil {
		e.Title = t.Display
	}
	ctx.SetContentType(mime)
	name := strings.TrimPrefix(route, "/")
	if name == "" {
		name = "listen"
	}
	ctx.Response.Header.Set("Content-Disposition", playlistDisposition(path.Base(name)+ext, "listen"+ext))
	ctx.SetBody(render([]icy.Entry{e}))
	return true
}

// playlistDisposition names the file a browser saves. Header values are
// ASCII, so a name in another script ("юмор.m3u") goes percent-encoded in
// filename*, with fallback in filename for clients that know only that.
// Route names hold only letters, digits and "._~-", so neither needs quoting.
func playlistDisposition(name, fallback string) string {
	for i := range len(name) {
		if name[i] >= utf8.RuneSelf {
			return `inline; filename="` + fallback + `"; filename*=UTF-8''` + url.PathEscape(name)
		}
	}
	return `inline; filename="` + name + `"`
}

func (s *Server) healthz(ctx *fasthttp.RequestCtx) {
	if !methodIs(ctx, "GET", "HEAD") {
		return
	}
	ctx.Response.Header.Set("Cache-Control", "no-cache, no-store")
	ctx.SetContentType("text/plain; charset=utf-8")
	ctx.SetBodyString("OK")
}

// readyz is 200 when every station is playing, else 503 naming the silent ones.
func (s *Server) readyz(ctx *fasthttp.RequestCtx) {
	if !methodIs(ctx, "GET", "HEAD") {
		return
	}
	var silent []string
	for _, st := range s.sortedStations() {
		if !st.Ready() {
			silent = append(silent, st.Profile().Route)
		}
	}
	ctx.SetContentType("text/plain; charset=utf-8")
	ctx.Response.Header.Set("Cache-Control", "no-cache, no-store")
	if len(silent) > 0 {
		ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
		ctx.SetBodyString(fmt.Sprintf("Not ready - no playable audio on %s\n", strings.Join(silent, ", ")))
		return
	}
	ctx.SetBodyString(fmt.Sprintf("Ready - %d streams registered\n", len(s.stationList())))
}

func relayStatusJSON(r *relay.Status) *relayJSON {
	j := &relayJSON{Upstream: r.Upstream, State: string(r.State), Reconnects: r.Reconnects, BytesIn: r.BytesIn, LastError: r.LastError}
	if !r.Since.IsZero() {
		j.Since = r.Since.UTC().Format(time.RFC3339)
	}
	return j
}
