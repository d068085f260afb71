package server

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
	"github.com/aposazhennikov/stream-audio-to-web/internal/endpoint"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// audienceStation is a station whose listeners admin commands can list,
// remove and move: *station.Station gives its mountpoint for that.
type audienceStation interface {
	Mountpoint() *mount.Mountpoint
}

// icecastAdmin answers Icecast's admin commands with Icecast 2.4's XML
// shapes and status codes, so its admin tools and dashboards work: a
// failure is a 400 HTML page, a listener or source not found an
// <iceresponse> with return 0 and HTTP 200. Credentials are the admin
// token's (see admin).
func (s *Server) icecastAdmin(ctx *fasthttp.RequestCtx, path string) {
	if !methodIs(ctx, "GET", "POST") || !s.admin(ctx) {
		return
	}
	args := ctx.QueryArgs()
	mountArg := string(args.Peek("mount"))
	var st Station
	if mountArg != "" {
		if st = s.stationFor(mountArg); st == nil {
			adminFail(ctx, "Source does not exist")
			return
		}
	}
	switch path {
	case endpoint.AdminStats:
		s.adminStats(ctx, st)
		return
	case endpoint.AdminListMounts:
		s.adminListMounts(ctx)
		return
	}
	if st == nil {
		adminFail(ctx, "Missing parameter")
		return
	}
	route := st.Profile().Route
	switch path {
	case endpoint.AdminListClients:
		var clients []icy.Client
		now := s.clock()
		if as, ok := st.(audienceStation); ok {
			for _, l := range as.Mountpoint().ListListeners() {
				clients = append(clients, icy.Client{ID: l.ID, IP: hostOf(l.Remote), UserAgent: l.UserAgent, Connected: seconds(now.Sub(l.Connected))})
			}
		}
		adminXML(ctx, icy.ListClients(route, clients))
	case endpoint.AdminKillClient:
		raw := string(args.Peek("id"))
		if raw == "" {
			adminFail(ctx, "Missing parameter")
			return
		}
		id, _ := strconv.ParseUint(raw, 10, 64) // not a number: not found, as Icecast
		as, ok := st.(audienceStation)
		if ok && as.Mountpoint().KickListener(id) {
			s.Logger.Info("listener removed by admin", "route", route, "id", id, "remote", ctx.RemoteIP().String())
			adminXML(ctx, icy.AdminResponse(fmt.Sprintf("Client %s removed", raw), true))
			return
		}
		adminXML(ctx, icy.AdminResponse(fmt.Sprintf("Client %s not found", raw), false))
	case endpoint.AdminKillSource:
		live, _ := st.LiveSource()
		if live == nil || !live.Kick() {
			// A folder plays (or nothing): there is no source client to
			// end, and the folder is the station's own programme.
			adminXML(ctx, icy.AdminResponse("No live source on "+route+" to remove", false))
			return
		}
		s.Logger.Info("live source removed by admin", "route", route, "remote", ctx.RemoteIP().String())
		adminXML(ctx, icy.AdminResponse("Source Removed", true))
	case endpoint.AdminMoveClients:
		s.adminMove(ctx, st, string(args.Peek("destination")))
	}
}

// adminMove moves a station's listeners to another without a reconnect
// (mount.Station.MoveListeners).
func (s *Server) adminMove(ctx *fasthttp.RequestCtx, from Station, dest string) {
	if dest == "" {
		adminFail(ctx, "Missing parameter")
		return
	}
	to := s.stationFor(dest)
	if to == nil {
		adminFail(ctx, "No such destination")
		return
	}
	fromRoute, toRoute := from.Profile().Route, to.Profile().Route
	if to == from {
		adminFail(ctx, "supplied mountpoints are identical")
		return
	}
	a, okA := from.(audienceStation)
	b, okB := to.(audienceStation)
	if !okA || !okB {
		adminFail(ctx, "Listeners of this station cannot be moved")
		return
	}
	n, err := a.Mountpoint().MoveListeners(b.Mountpoint())
	switch {
	case errors.Is(err, mount.ErrNotRunning):
		adminFail(ctx, "Destination not running")
		return
	case err != nil:
		adminFail(ctx, err.Error())
		return
	}
	s.Logger.Info("listeners moved by admin", "from", fromRoute, "to", toRoute, "count", n, "remote", ctx.RemoteIP().String())
	adminXML(ctx, icy.AdminResponse(fmt.Sprintf("Clients moved from %s to %s", fromRoute, toRoute), true))
}

// adminStats is /admin/stats: Icecast's global statistics and one
// <source> per station (only st's with ?mount=).
func (s *Server) adminStats(ctx *fasthttp.RequestCtx, only Station) {
	var listeners, sessions, sources int
	var out []icy.SourceStats
	for _, st := range s.sortedStations() {
		stats := st.Stats()
		listeners += stats.Listeners
		sessions += int(stats.Sessions)
		air := st.OnAir()
		live := air.Source == "live" || air.Source == "relay"
		if live {
			sources++
		}
		if only != nil && st != only {
			continue
		}
		out = append(out, icy.SourceStats{Mount: st.Profile().Route, Stats: s.sourceStats(ctx, st, stats)})
	}
	global := []icy.Stat{
		stat("admin", s.Admin), stat("host", s.host(ctx)), stat("location", s.Location),
		stat("server_id", s.ServerID),
		stat("server_start", s.started.Format(time.RFC1123Z)),
		stat("server_start_iso8601", s.started.Format("2006-01-02T15:04:05-0700")),
		stat("clients", strconv.Itoa(listeners+sources)),
		stat("client_connections", strconv.Itoa(sessions)),
		stat("connections", strconv.Itoa(sessions)),
		stat("file_connections", "0"),
		stat("listener_connections", strconv.Itoa(sessions)),
		stat("listeners", strconv.Itoa(listeners)),
		stat("source_client_connections", strconv.Itoa(sources)),
		stat("source_relay_connections", "0"),
		stat("source_total_connections", strconv.Itoa(sources)),
		stat("sources", strconv.Itoa(len(s.stationList()))),
		stat("stats", "0"), stat("stats_connections", "0"),
	}
	adminXML(ctx, icy.AdminStats(global, out))
}

// sourceStats are one station's <source> statistics, named as Icecast
// names them.
func (s *Server) sourceStats(ctx *fasthttp.RequestCtx, st Station, stats mount.Stats) []icy.Stat {
	set := st.Profile()
	maxListeners := "unlimited"
	if set.MaxListeners > 0 {
		maxListeners = strconv.Itoa(set.MaxListeners)
	}
	public := "0"
	if set.Public {
		public = "1"
	}
	list := []icy.Stat{
		stat("genre", set.Genre), stat("listener_peak", strconv.Itoa(stats.Peak)),
		stat("listeners", strconv.Itoa(stats.Listeners)),
		stat("listenurl", s.streamURL(s.scheme(ctx), s.host(ctx), set.Route)),
		stat("max_listeners", maxListeners), stat("public", public),
		stat("server_description", set.Description), stat("server_name", set.Name),
		stat("server_type", "audio/mpeg"), stat("server_url", set.URL),
		stat("slow_listeners", strconv.FormatUint(stats.SlowDropped, 10)),
		stat("total_bytes_read", "0"),
		stat("total_bytes_sent", strconv.FormatUint(stats.BytesSent, 10)),
		stat("bitrate", strconv.Itoa(set.Bitrate)),
	}
	if !stats.StreamStarted.IsZero() {
		list = append(list,
			icy.Stat{Name: "stream_start", Value: stats.StreamStarted.Format(time.RFC1123Z)},
			icy.Stat{Name: "stream_start_iso8601", Value: stats.StreamStarted.Format("2006-01-02T15:04:05-0700")})
	}
	if t := st.NowPlaying(); t != nil {
		list = append(list, icy.Stat{Name: "title", Value: t.Display})
	}
	air := st.OnAir()
	if air.Source == "live" || air.Source == "relay" {
		list = append(list,
			icy.Stat{Name: "source_ip", Value: hostOf(air.Stream.RemoteAddr)},
			icy.Stat{Name: "user_agent", Value: air.Stream.UserAgent},
			icy.Stat{Name: "total_bytes_read", Value: strconv.FormatInt(air.BytesIn, 10)})
		if air.Stream.AudioInfo != "" {
			list = append(list, icy.Stat{Name: "audio_info", Value: air.Stream.AudioInfo})
		}
		list = dropFirst(list, "total_bytes_read")
	}
	return list
}

// stat is one statistic.
func stat(name, value string) icy.Stat { return icy.Stat{Name: name, Value: value} }

// dropFirst removes the first stat named name (one given again later).
func dropFirst(list []icy.Stat, name string) []icy.Stat {
	for i, s := range list {
		if s.Name == name {
			return append(list[:i], list[i+1:]...)
		}
	}
	return list
}

// adminListMounts is /admin/listmounts: every station, with how long its
// current source has played.
func (s *Server) adminListMounts(ctx *fasthttp.RequestCtx) {
	now := s.clock()
	var mounts []icy.MountEntry
	for _, st := range s.sortedStations() {
		m := icy.MountEntry{Mount: st.Profile().Route, Listeners: st.Listeners(), Running: st.Ready(), ContentType: "audio/mpeg"}
		if m.Running {
			since := st.OnAir().Since
			if since.IsZero() {
				since = st.Stats().StreamStarted
			}
			if !since.IsZero() {
				m.Connected = seconds(now.Sub(since))
			}
		}
		mounts = append(mounts, m)
	}
	adminXML(ctx, icy.ListMounts(mounts))
}

// adminXML answers an admin command's document.
func adminXML(ctx *fasthttp.RequestCtx, body []byte) {
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("text/xml; charset=utf-8")
	ctx.Response.Header.Set("Cache-Control", "no-cache, no-store")
	ctx.SetBody(body)
}

// adminFail answers a failed admin command as Icecast 2.4 does: a 400
// HTML page saying why.
func adminFail(ctx *fasthttp.RequestCtx, msg string) {
	ctx.SetStatusCode(fasthttp.StatusBadRequest)
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.Response.Header.Set("Cache-Control", "no-cache, no-store")
	ctx.SetBody(icy.AdminError(fasthttp.StatusBadRequest, msg))
}

// hostOf is the address part of host:port ("" stays "").
func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// seconds is d in whole seconds, never negative.
func seconds(d time.Duration) int64 { return int64(max(d, 0) / time.Second) }
