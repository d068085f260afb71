// Package config builds the server's settings from four layers, highest
// precedence first: command-line flags, environment variables, a TOML file
// (--config FILE or AUDIO_STREAMER_CONFIG) and built-in defaults.
//
// Every setting, with its file key, flag, environment variable, default and
// help text, is one line of the table in settings.go. Every invalid value is
// an [Error] naming the key, where the value came from and what would have
// been accepted. Missing audio directories are not errors: they are reported
// in [Config.Warnings] because the server waits for files to appear.
package config

import (
	"log/slog"
	"net/netip"
	"slices"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
)

// Mode is how a station plays: one shared broadcast or one stream per listener.
type Mode string

const (
	// ModeRadio plays one shared stream per station, whether anyone listens or not.
	ModeRadio Mode = "radio"
	// ModeIndividual starts a private, separately shuffled stream for each listener.
	ModeIndividual Mode = "individual"
)

// Config is the whole server configuration; start from [Defaults] or use
// [Load]. The toml tags are the keys of the file; flags, environment
// variables, defaults and accepted values are in the table in settings.go.
type Config struct {
	Host             string        `toml:"host"`      // listen address; "" is every interface too
	Port             int           `toml:"port"`      // plain HTTP port
	AudioDir         string        `toml:"audio_dir"` // folder of "/" and of routes without their own
	AudioDirSet      bool          `toml:"-"`         // AudioDir was given, not the default (main may play the demo then)
	StreamMode       Mode          `toml:"stream_mode"`
	BufferSize       int           `toml:"buffer_size"`        // bytes of audio kept per station
	MaxPreloadTracks int           `toml:"max_preload_tracks"` // tracks a station opens ahead
	Burst            Burst         `toml:"burst"`              // default Station.Burst, at most BufferSize
	Metaint          int           `toml:"icy_metaint"`        // default Station.Metaint
	PublishInterval  time.Duration `toml:"publish_interval"`   // how often a station hands audio to listeners
	WriteTimeout     time.Duration `toml:"write_timeout"`      // drop a listener that takes no byte for this long
	HeaderTimeout    time.Duration `toml:"header_timeout"`     // time a client has to send its request headers
	RescanInterval   time.Duration `toml:"rescan_interval"`    // 0: rescan only on reload
	StateDir         string        `toml:"state_dir"`          // "" keeps no resume state
	FFmpegPath       string        `toml:"ffmpeg_path"`
	AdminToken       string        `toml:"admin_token"` // guards the admin endpoints
	// AccessLog is where a line per finished listener session goes: ""
	// nowhere, "-" standard output, else a file appended to.
	AccessLog string `toml:"access_log"`
	// SourcePassword is the default of Station.SourcePassword; "" takes no
	// live sources. SourceTimeout is the default of Station.SourceTimeout.
	SourcePassword string        `toml:"source_password"`
	SourceTimeout  time.Duration `toml:"source_timeout"`
	// ShoutcastMount is the route SHOUTcast v1 source clients feed through
	// port+1 (open only while that station has a source password); "" = off.
	ShoutcastMount string `toml:"shoutcast_mount"`
	Admin          string `toml:"admin"`            // contact shown on the status page (Icecast's <admin>)
	Location       string `toml:"location"`         // shown on the status page (Icecast's <location>)
	MaxListeners   int    `toml:"max_listeners"`    // over all stations; 0 = unlimited
	MaxConnsPerIP  int    `toml:"max_conns_per_ip"` // 0 = unlimited
	// MaxPrivateStreams caps the private streams of all individual-mode
	// stations together (each is a station of its own, maybe an ffmpeg
	// process); 0 = unlimited.
	MaxPrivateStreams int `toml:"max_private_streams"`
	// MaxEncoders caps the ffmpeg processes of all stations together (WAV
	// and other transcoded files, converted live streams); 0 = unlimited.
	MaxEncoders int `toml:"max_encoders"`
	// TrustedProxies are the reverse proxies whose forwarded headers
	// (X-Forwarded-For, X-Real-IP, X-Forwarded-Proto, X-Forwarded-Host)
	// the server believes; empty: none.
	TrustedProxies []netip.Prefix `toml:"trusted_proxies"`
	// PublicURL, if set, starts every URL the server writes:
	// http(s)://host[:port][/prefix], without a trailing slash.
	PublicURL string `toml:"public_url"`
	// TLSCert, TLSKey and TLSPort are all set (HTTPS on TLSPort) or all empty.
	TLSCert     string     `toml:"tls_cert"`
	TLSKey      string     `toml:"tls_key"`
	TLSPort     int        `toml:"tls_port"`
	SentryDSN   string     `toml:"sentry_dsn"`  // "" disables error reporting
	Environment string     `toml:"environment"` // Sentry environment tag
	LogFormat   string     `toml:"log_format"`  // "text" or "json"
	LogLevel    slog.Level `toml:"log_level"`
	// Timezone is the zone of every schedule slot that names none: an IANA
	// name ("Europe/Berlin", "UTC") or "Local", the machine's zone. Load
	// copies it into those slots' ScheduleSlot.Zone.
	Timezone string `toml:"timezone"`

	// The listener page's branding: ServerName ("" = "audio-streamer")
	// and ServerDescription head it, Logo is an image file shown beside
	// them ("" = none), AccentColor is "#rrggbb" in lower case ("" = the
	// page's own), ShowListeners shows listener counts.
	ServerName        string `toml:"server_name"`
	ServerDescription string `toml:"server_description"`
	Logo              string `toml:"logo"`
	AccentColor       string `toml:"accent_color"`
	ShowListeners     bool   `toml:"show_listeners"`
	// Stations are the streams served, in order of definition; Load always
	// returns "/" (first unless the file places it) and unique, normalised routes.
	Stations []Station `toml:"station"`
	// Warnings are problems that do not stop the server, one line each, for
	// main to log (for example a station folder that does not exist yet).
	Warnings []string `toml:"-"`
}

// Station is one stream. Load fills every field; keys a [[station]] table
// leaves out take the table's defaults or, for mode, burst and icy_metaint,
// the top-level value.
type Station struct {
	Route           string      `toml:"route"` // see [NormalizeRoute]
	Dir             string      `toml:"dir"`   // default Config.AudioDir
	Name            string      `toml:"name"`  // icy-name; default "audio-streamer <route>"
	Description     string      `toml:"description"`
	Genre           string      `toml:"genre"`
	URL             string      `toml:"url"`
	Public          bool        `toml:"public"` // icy-pub
	Image           string      `toml:"image"`  // picture file for the listener page; "" = a generated one
	Mode            Mode        `toml:"mode"`
	Shuffle         bool        `toml:"shuffle"`
	Burst           Burst       `toml:"burst"`
	Metaint         int         `toml:"icy_metaint"`
	ICYCharset      icy.Charset `toml:"icy_charset"`
	LegacyICYStatus bool        `toml:"legacy_icy_status"`
	Bitrate         int         `toml:"bitrate"`     // kbps of transcoded tracks
	SampleRate      int         `toml:"sample_rate"` // Hz of transcoded tracks
	Channels        int         `toml:"channels"`
	Transcode       string      `toml:"transcode"`     // "auto" or "always"
	Extensions      []string    `toml:"extensions"`    // played through ffmpeg besides .mp3 and .wav
	MaxListeners    int         `toml:"max_listeners"` // 0 = unlimited
	// MaxPrivateStreams caps this station's private streams in individual
	// mode; 0 = unlimited.
	MaxPrivateStreams int `toml:"max_private_streams"`
	// MaxEncoders caps this station's ffmpeg processes; 0 = only the
	// server-wide MaxEncoders.
	MaxEncoders int `toml:"max_encoders"`
	HistorySize int `toml:"history_size"` // recently played tracks kept for /history

	// Live sources and relays. SourcePassword lets source clients (user
	// "source") stream to the route; "" takes none. A station without a
	// folder (Dir "": live_only, or a relay or fallback and no dir) is on
	// the air only while a source or its relay plays, or plays Fallback's
	// stream meanwhile.
	SourcePassword string        `toml:"source_password"`
	SourceTimeout  time.Duration `toml:"source_timeout"` // drop a source that sends nothing this long
	LiveOnly       bool          `toml:"live_only"`
	Fallback       string        `toml:"fallback"`       // route played while nothing is live; "" = none
	Relay          string        `toml:"relay"`          // upstream URL pulled; "" = none
	OnDemand       bool          `toml:"on_demand"`      // relay only while someone listens
	LiveTranscode  string        `toml:"live_transcode"` // "auto", "never" or "always"
	AfterLive      string        `toml:"after_live"`     // "next" or "resume"
	RecordDir      string        `toml:"record_dir"`     // "" records nothing

	// Programming. Schedule lists the station's shows ([[station.schedule]],
	// radio mode only), checked and normalised by Load (see ScheduleSlot);
	// outside them the station plays Dir. [Station.BuildSchedule] turns it
	// into a *schedule.Schedule. nil = no shows.
	Schedule []ScheduleSlot `toml:"schedule"`
	// Jingles is a folder or playlist file (path as for Dir) of station
	// IDs played between tracks: after every JingleEvery tracks (0 = not by
	// count), and at the first track end once JingleInterval has passed
	// since the last jingle (0 = not by time). Load guarantees that Jingles
	// is set exactly when at least one rule is. JingleTitle is what
	// listeners see while one plays: by default the station's Name; "" (set
	// explicitly) shows the jingle file's own title.
	Jingles        string        `toml:"jingles"`
	JingleEvery    int           `toml:"jingle_every"`    // 0..1000
	JingleInterval time.Duration `toml:"jingle_interval"` // 0 or 1m..24h
	JingleTitle    string        `toml:"jingle_title"`
	// Loudness is the integrated loudness, in LUFS (-30..-5), every track
	// is levelled to; 0 = off (tracks play as they are). TrimSilence skips
	// leading and trailing audio quieter than SilenceThreshold (dBFS,
	// -90..-20; default -50).
	Loudness         float64 `toml:"loudness"`
	TrimSilence      bool    `toml:"trim_silence"`
	SilenceThreshold float64 `toml:"silence_threshold"`

	// Sync is SyncOff or SyncClock: with SyncClock the play order and
	// position are a function of the folder's MP3 files, SyncSeed and the
	// wall clock, so instances with the same folder and settings play the
	// same frame at the same moment (docs/scaling.md). Load checks the
	// settings that go with it and fills SyncSeed (default: the route);
	// SyncSeed is "" on other stations.
	Sync     string `toml:"sync"`
	SyncSeed string `toml:"sync_seed"`
}

// ScheduleSlot is one [[station.schedule]] block: on Days from Start to
// End (wall clock of Zone), the station plays Plays: a folder, a playlist
// file, or PlaysLive (a DJ's show; while no DJ is connected,
// [Station.LiveFallback] plays). Cut switches at the boundary on a frame
// instead of at the next track end.
//
// Load stores every slot checked and normalised: Days as
// schedule.Days.String writes it ("weekdays", "mon-wed,fri"), Start and
// End as "HH:MM" (an end of "00:00" becomes "24:00"), Zone the slot's own
// or Config.Timezone, Plays and Fallback with "~" expanded and cleaned
// like Dir (relative to the working directory; a folder named "live" is
// "./live"), Fallback set only on live slots ("" = the station's Dir).
type ScheduleSlot struct {
	Name     string `toml:"name"`
	Days     string `toml:"days"`
	Start    string `toml:"start"`
	End      string `toml:"end"`
	Zone     string `toml:"zone"`
	Plays    string `toml:"plays"`
	Fallback string `toml:"fallback"`
	Cut      bool   `toml:"cut"`
}

// PlaysLive is ScheduleSlot.Plays for a live show.
const PlaysLive = "live"

// HasFolder reports whether the station plays a folder when nothing is live.
func (s *Station) HasFolder() bool { return s.Dir != "" }

// Defaults returns the built-in value of every top-level setting. Stations
// is empty: Load adds the "/" station from AudioDir.
func Defaults() Config {
	var c Config
	setDefaults(&c, false)
	return c
}

// setDefaults stores the table's defaults of the top-level settings, or of
// the [[station]] ones, in dst.
func setDefaults(dst any, station bool) {
	for _, s := range settings() {
		if s.key != "" && s.station == station && s.def != "" {
			if err := s.store(dst, text(s.def), ""); err != nil {
				panic("config: default of " + s.key + ": " + err.Error())
			}
		}
	}
}

// EnvNames returns every environment variable Load reads, sorted. HOME is
// not among them: it is read only to expand a leading "~" in paths.
func EnvNames() []string {
	var names []string
	for _, s := range settings() {
		if s.env != "" {
			names = append(names, s.env)
		}
	}
	slices.Sort(names)
	return names
}
