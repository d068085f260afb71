// Package endpoint names the URL paths the server answers itself. It is the
// one list: the HTTP router dispatches on these names and configuration
// refuses a station route that would shadow one of them.
package endpoint

import "strings"

// The server's own paths. A station route may be none of them, nor lie
// below one ("/web/x").
const (
	Streams        = "/streams"
	NowPlaying     = "/now-playing"
	History        = "/history"
	ReloadPlaylist = "/reload-playlist"
	StatusJSON     = "/status.json"
	StatusXSL      = "/status-json.xsl" // Icecast's name for the same JSON
	Healthz        = "/healthz"
	Readyz         = "/readyz"
	Metrics        = "/metrics"
	Web            = "/web"
	Embed          = "/embed" // the small player for other sites
	Art            = "/art"   // pictures: covers, station images, the logo
	Events         = "/events"
	ListenM3U      = "/listen.m3u"
	ListenPLS      = "/listen.pls"
	ListenXSPF     = "/listen.xspf"
	Stream         = "/stream"        // alias of the default station
	DirectStream   = "/direct-stream" // alias of the default station
	// HLS holds the stations' HLS segments: /hls/<route>/<name>.mp3.
	HLS = "/hls"
	// Admin is Icecast's admin tree (/admin/metadata for title updates
	// from source clients); AdminCGI is SHOUTcast's title update.
	Admin         = "/admin"
	AdminMetadata = Admin + "/metadata"
	// Icecast's admin commands (admin credentials): statistics, the
	// mounts and their listeners, removing and moving listeners, ending a
	// live source.
	AdminStats       = Admin + "/stats"
	AdminListMounts  = Admin + "/listmounts"
	AdminListClients = Admin + "/listclients"
	AdminKillClient  = Admin + "/killclient"
	AdminKillSource  = Admin + "/killsource"
	AdminMoveClients = Admin + "/moveclients"
	// AdminLogin and AdminLogout start and end a dashboard session (the
	// dashboard itself is Admin + "/").
	AdminLogin  = Admin + "/login"
	AdminLogout = Admin + "/logout"
	AdminCGI    = "/admin.cgi"
	// API is the programme API (admin credentials): what a radio station
	// plays next, requests and skip.
	API          = "/api"
	APIQueue     = API + "/queue"
	APIQueueMove = APIQueue + "/move"
	APISkip      = API + "/skip"
	APISearch    = API + "/search"
	// APIReload reads the configuration again, as SIGHUP does.
	APIReload = API + "/reload"
	// APIListeners lists and disconnects listeners; APIStations is what
	// only an admin sees of each station (how to go live).
	APIListeners = API + "/listeners"
	APIStations  = API + "/stations"
)

// All returns every reserved path, a fresh slice each call so callers
// cannot change the list for everyone.
func All() []string {
	return []string{
		Streams, NowPlaying, History, ReloadPlaylist, StatusJSON, StatusXSL,
		Healthz, Readyz, Metrics, Web, Events, ListenM3U, ListenPLS, ListenXSPF,
		Stream, DirectStream, Admin, AdminCGI, API, Embed, Art, HLS,
	}
}

// Shadowed returns the reserved path that route equals or lies below, or
// "" when the route is free for a station.
func Shadowed(route string) string {
	for _, p := range All() {
		if route == p || strings.HasPrefix(route, p+"/") {
			return p
		}
	}
	return ""
}
