package config

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
	"github.com/aposazhennikov/stream-audio-to-web/internal/schedule"
)

// Inputs that are not one field: Load reads them itself.
const (
	flagConfig, envConfig                   = "config", "AUDIO_STREAMER_CONFIG"
	flagDirectoryRoutes, envDirectoryRoutes = "directory-routes", "DIRECTORY_ROUTES"
	flagStreamRoutes, envStreamRoutes       = "stream-routes", "AUDIO_STREAM_ROUTES"
)

// settings is the one list of what the server reads: each line gives the
// file key, the flag, the environment variable, the default (written as a
// user would write it) and the help text. Usage, EnvNames, Defaults and the
// example test all come from here. A [[station]] setting with a flag or env
// variable sets the default of every station.
func settings() []setting {
	return []setting{
		{flag: flagConfig, env: envConfig, kind: str, usage: "TOML configuration file"},
		{key: "host", flag: "host", env: "HOST", def: "0.0.0.0", kind: str, usage: "listen address"},
		{key: "port", flag: "port", env: "PORT", def: "9999", kind: integer(1, 65535), usage: "listen port"},
		{key: "audio_dir", flag: "audio-dir", env: "AUDIO_DIR", def: "/app/audio", kind: path(false), usage: `directory of the "/" station`},
		{key: "stream_mode", flag: "stream-mode", env: "STREAM_MODE", def: "radio", kind: word("radio", "individual"), usage: "default station mode: radio or individual"},
		{key: "buffer_size", flag: "buffer-size", env: "BUFFER_SIZE", def: "2097152", kind: integer(64<<10, 1<<30), usage: "bytes of audio kept per station"},
		{key: "max_preload_tracks", flag: "max-preload-tracks", env: "MAX_PRELOAD_TRACKS", def: "2", kind: integer(0, 16), usage: "tracks opened ahead per station"},
		{key: "burst", flag: "burst", env: "BURST", def: "64KiB", kind: burst, usage: `how far behind live a listener starts: bytes ("64KiB") or time ("4s")`},
		{key: "icy_metaint", flag: "metaint", def: "16000", kind: integer(256, 65535), usage: "bytes of audio between ICY metadata blocks"},
		{key: "publish_interval", flag: "publish-interval", env: "PUBLISH_INTERVAL", def: "400ms", kind: duration("20ms", "1s", false), usage: "how often audio goes out to listeners"},
		{key: "write_timeout", flag: "write-timeout", env: "WRITE_TIMEOUT", def: "30s", kind: duration("1s", "1h", false), usage: "drop a listener that takes nothing for this long"},
		{key: "header_timeout", flag: "header-timeout", env: "HEADER_TIMEOUT", def: "10s", kind: duration("1s", "10m", false), usage: "time a client has to send its request"},
		{key: "rescan_interval", flag: "rescan-interval", env: "RESCAN_INTERVAL", def: "30s", kind: duration("1s", "24h", true), usage: `how often folders are scanned again; "0" = only on reload`},
		{key: "state_dir", flag: "state-dir", env: "STATE_DIR", kind: path(true), usage: "folder where stations save their place across restarts; empty = none"},
		{key: "ffmpeg_path", flag: "ffmpeg-path", env: "FFMPEG_PATH", def: "ffmpeg", kind: path(false), usage: "ffmpeg for WAV and other transcoded files"},
		{key: "admin_token", env: "ADMIN_TOKEN", kind: str, usage: "token for the admin endpoints (Authorization: Bearer)"},
		{key: "source_password", flag: "source-password", env: "SOURCE_PASSWORD", kind: str, usage: `password of live source clients (user "source") on every station without its own; empty = no live sources`},
		{key: "source_timeout", flag: "source-timeout", env: "SOURCE_TIMEOUT", def: "10s", kind: duration("1s", "10m", false), usage: "drop a live source or relay that sends nothing for this long"},
		{key: "shoutcast_mount", flag: "shoutcast-mount", env: "SHOUTCAST_MOUNT", def: "/", kind: optionalRoute, usage: `station fed by SHOUTcast v1 source clients on port+1 (open when it has a source password); "" = off`},
		{key: "admin", flag: "admin", env: "SERVER_ADMIN", def: "admin@localhost", kind: str, usage: "contact shown on the status page"},
		{key: "location", flag: "location", env: "SERVER_LOCATION", def: "Earth", kind: str, usage: "location shown on the status page"},
		{key: "server_name", flag: "server-name", env: "SERVER_NAME", kind: str, usage: `name at the top of the listener page (/web); empty = "audio-streamer"`},
		{key: "server_description", flag: "server-description", env: "SERVER_DESCRIPTION", kind: str, usage: "line under the name on the listener page"},
		{key: "logo", flag: "logo", env: "SERVER_LOGO", kind: path(true), usage: "JPEG, PNG, GIF or WebP shown beside the name on the listener page; empty = none"},
		{key: "accent_color", flag: "accent-color", env: "ACCENT_COLOR", kind: color, usage: `accent colour of the listener page, "#rrggbb"; empty = the built-in orange`},
		{key: "show_listeners", flag: "show-listeners", env: "SHOW_LISTENERS", def: "true", kind: boolean, usage: "show listener counts on the listener page"},
		{key: "max_listeners", flag: "max-listeners", env: "MAX_LISTENERS", def: "0", kind: integer(0, math.MaxInt32), usage: "listener limit of the whole server, 0 = unlimited"},
		{key: "max_private_streams", flag: "max-private-streams", env: "MAX_PRIVATE_STREAMS", def: "200", kind: integer(0, math.MaxInt32), usage: "private streams of all individual-mode stations together, 0 = unlimited"},
		{key: "max_encoders", flag: "max-encoders", env: "MAX_ENCODERS", def: "16", kind: integer(0, math.MaxInt32), usage: "ffmpeg processes of all stations together, 0 = unlimited"},
		{key: "max_conns_per_ip", flag: "max-conns-per-ip", env: "MAX_CONNS_PER_IP", def: "0", kind: integer(0, math.MaxInt32), usage: "stream connections per client address, 0 = unlimited"},
		{key: "trusted_proxies", flag: "trusted-proxies", env: "TRUSTED_PROXIES", kind: prefixes, usage: `reverse proxies (addresses or CIDR networks, comma-separated) whose X-Forwarded-For, X-Real-IP, X-Forwarded-Proto and X-Forwarded-Host are believed; empty = none`},
		{key: "public_url", flag: "public-url", env: "PUBLIC_URL", kind: publicURL, usage: `URL every playlist and status page names, like "https://radio.example.com" or "https://example.com/radio"; empty = from each request`},
		{key: "tls_cert", flag: "tls-cert", env: "TLS_CERT", kind: path(true), usage: "PEM certificate (chain) for HTTPS on --tls-port"},
		{key: "tls_key", flag: "tls-key", env: "TLS_KEY", kind: path(true), usage: "PEM private key for --tls-cert"},
		{key: "tls_port", flag: "tls-port", env: "TLS_PORT", def: "0", kind: integer(0, 65535), usage: "HTTPS port, 0 = no HTTPS"},
		{key: "sentry_dsn", flag: "sentry-dsn", env: "SENTRY_DSN", kind: str, usage: "Sentry DSN; empty disables error reporting"},
		{key: "environment", env: "ENVIRONMENT", def: "production", kind: str, usage: "Sentry environment tag"},
		{key: "access_log", flag: "access-log", env: "ACCESS_LOG", kind: path(true), usage: `where a line per finished listener session goes (Icecast's combined format): "" = nowhere, "-" = standard output, else a file (reopened on SIGHUP)`},
		{key: "log_format", flag: "log-format", env: "LOG_FORMAT", def: "text", kind: word("text", "json"), usage: "log format: text or json"},
		{key: "log_level", flag: "log-level", env: "LOG_LEVEL", def: "info", kind: logLevel, usage: "minimum log level: debug, info, warn or error"},
		{key: "timezone", flag: "timezone", env: "TIMEZONE", def: "UTC", kind: zone, usage: `time zone of schedule slots without their own: an IANA name like "Europe/Berlin", or "Local" (the machine's zone)`},
		{flag: flagStreamRoutes, env: envStreamRoutes, def: "/", kind: str, usage: "comma-separated routes; one without a directory plays --audio-dir"},
		{flag: flagDirectoryRoutes, env: envDirectoryRoutes, kind: str, usage: `JSON object route→directory, e.g. {"humor":"/music/humor"}; the env variable also takes humor:/music/humor;news:/music/news`},

		{station: true, key: "route", kind: route},
		{station: true, key: "dir", kind: path(false)}, // default audio_dir
		{station: true, key: "name", kind: str},        // default "audio-streamer <route>"
		{station: true, key: "description", kind: str}, // default "Stream <route>"
		{station: true, key: "genre", def: "Various", kind: str},
		{station: true, key: "url", kind: str},
		{station: true, key: "public", kind: boolean},
		{station: true, key: "image", kind: path(true)},                 // JPEG, PNG, GIF or WebP: the station's picture on the listener page, and the cover of tracks without one
		{station: true, key: "mode", kind: word("radio", "individual")}, // default stream_mode
		{station: true, key: "shuffle", flag: "shuffle", env: "SHUFFLE", def: "true", kind: boolean, usage: "default shuffle of stations"},
		{station: true, key: "burst", kind: burst},                       // default: the top-level burst
		{station: true, key: "icy_metaint", kind: integer(256, 65535)},   // default: the top-level icy_metaint
		{station: true, key: "icy_charset", def: "utf-8", kind: charset}, // any spelling icy.ParseCharset knows
		{station: true, key: "legacy_icy_status", kind: boolean},         // "ICY 200 OK" for non-browsers
		{station: true, key: "bitrate", flag: "bitrate", env: "BITRATE", def: "128", kind: integer(8, 320), usage: "default kbps of transcoded stations"},
		{station: true, key: "sample_rate", def: "44100", kind: sampleRate},
		{station: true, key: "channels", def: "2", kind: integer(1, 2)},
		{station: true, key: "transcode", def: "auto", kind: word("auto", "always")},
		{station: true, key: "extensions", kind: extensions},
		{station: true, key: "history_size", def: "100", kind: integer(1, 10000)},
		{station: true, key: "max_private_streams", def: "50", kind: integer(0, math.MaxInt32)},    // individual mode: listeners with a private stream, 0 = unlimited
		{station: true, key: "max_encoders", kind: integer(0, math.MaxInt32)},                      // ffmpeg processes of this station, 0 = only the server-wide max_encoders
		{station: true, key: "source_password", kind: str},                                         // default: the top-level source_password
		{station: true, key: "source_timeout", kind: duration("1s", "10m", false)},                 // default: the top-level source_timeout
		{station: true, key: "live_only", kind: boolean},                                           // no folder: on the air only while a source or relay plays
		{station: true, key: "fallback", kind: optionalRoute},                                      // a station without a folder plays this route while nothing is live
		{station: true, key: "relay", kind: relayURL},                                              // pull this upstream stream
		{station: true, key: "on_demand", kind: boolean},                                           // relay only while the station has listeners
		{station: true, key: "live_transcode", def: "auto", kind: word("auto", "never", "always")}, // convert live streams whose format differs
		{station: true, key: "after_live", def: "next", kind: word("next", "resume")},              // the folder continues with its next track, or resumes the interrupted one
		{station: true, key: "record_dir", kind: path(true)},                                       // save each live session as an MP3 here
		{station: true, key: "schedule", kind: scheduleBlocks},                                     // [[station.schedule]] blocks: shows on a weekly timetable
		{station: true, key: "jingles", kind: path(true)},                                          // folder or playlist file of station IDs; "" = none
		{station: true, key: "jingle_every", kind: integer(0, 1000)},                               // a jingle after this many tracks; 0 = not by count
		{station: true, key: "jingle_interval", kind: duration("1m", "24h", true)},                 // a jingle at the first track end this long after the last; 0 = not by time
		{station: true, key: "jingle_title", kind: str},                                            // default: the station's name
		{station: true, key: "loudness", flag: "loudness", env: "LOUDNESS", def: "off", kind: loudness, usage: `default loudness of stations: "off", or a target like "-16 LUFS" every track is levelled to`},
		{station: true, key: "trim_silence", flag: "trim-silence", env: "TRIM_SILENCE", def: "false", kind: boolean, usage: "default of stations: skip silence at the start and end of tracks"},
		{station: true, key: "silence_threshold", def: "-50 dBFS", kind: dbfs}, // what trim_silence counts as silence
		{station: true, key: "sync", kind: syncMode},                           // default "off"; "clock": play a function of the folder, the seed and the wall clock, the same on every instance
		{station: true, key: "sync_seed", kind: syncSeed},                      // seeds a clock-synced station's shuffle; default: its route
		{station: true, key: "max_listeners", name: "max_clients", flag: "max-clients", env: "MAX_CLIENTS", def: "0", kind: integer(0, math.MaxInt32), usage: "default listener limit per station, 0 = unlimited"},
	}
}

// setting is one line of the table.
type setting struct {
	key     string // TOML key: top level, or in [[station]] when station is set; "" = not in the file
	station bool
	name    string // the setting's name in flag and env errors, when not key
	flag    string // without dashes
	env     string
	def     string // "" = the zero value, or as the line's comment says
	kind    kind
	usage   string
}

// store parses v and writes it to the field of dst (a *Config or *Station)
// whose toml tag is s.key.
func (s setting) store(dst, v any, home string) error {
	val, err := s.kind(v, home)
	if err != nil {
		return err
	}
	st := reflect.ValueOf(dst).Elem()
	for i := range st.NumField() {
		if tag, _, _ := strings.Cut(st.Type().Field(i).Tag.Get("toml"), ","); tag == s.key {
			st.Field(i).Set(reflect.ValueOf(val).Convert(st.Field(i).Type()))
			return nil
		}
	}
	panic(fmt.Sprintf("config: %T has no field for key %q", dst, s.key))
}

// kind checks and converts a value: what TOML gave, or text from a flag or
// the environment. A TOML value keeps its type: "8000" in the file is a
// string, not a port. The error says what would have been accepted.
type kind func(v any, home string) (any, error)

// text is a value from a flag or the environment.
type text string

// accept returns v when ok, else an error saying what was expected.
func accept(v any, ok bool, expected string) (any, error) {
	if !ok {
		return nil, errors.New(expected)
	}
	return v, nil
}

// asString gives a TOML string or a text.
func asString(v any) (string, bool) {
	if t, ok := v.(text); ok {
		return string(t), true
	}
	s, ok := v.(string)
	return s, ok
}

func str(v any, _ string) (any, error) {
	s, ok := asString(v)
	return accept(s, ok, "a string")
}

func integer(lo, hi int) kind {
	expected := fmt.Sprintf("an integer %d..%d", lo, hi)
	if hi == math.MaxInt32 {
		expected = fmt.Sprintf("an integer >= %d", lo)
	}
	return func(v any, _ string) (any, error) {
		n, ok := v.(int64)
		if t, isText := v.(text); isText {
			i, err := strconv.Atoi(strings.TrimSpace(string(t)))
			n, ok = int64(i), err == nil
		}
		return accept(int(n), ok && n >= int64(lo) && n <= int64(hi), expected)
	}
}

func sampleRate(v any, home string) (any, error) {
	n, err := integer(8000, 48000)(v, home)
	return accept(n, err == nil && slices.Contains([]int{8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000}, n.(int)),
		"an MP3 sample rate: 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100 or 48000")
}

func boolean(v any, _ string) (any, error) {
	b, ok := v.(bool)
	if t, isText := v.(text); isText {
		w := strings.ToLower(strings.TrimSpace(string(t)))
		b, ok = slices.Contains([]string{"true", "1", "yes"}, w), slices.Contains([]string{"true", "1", "yes", "false", "0", "no"}, w)
	}
	return accept(b, ok, "true, false, 1, 0, yes or no")
}

// duration accepts lo..hi, and 0 too when zeroOff (0 switches it off).
func duration(from, to string, zeroOff bool) kind {
	lo, _ := time.ParseDuration(from)
	hi, _ := time.ParseDuration(to)
	expected := fmt.Sprintf("a duration %s..%s like %q", from, to, 10*lo)
	if zeroOff {
		expected = fmt.Sprintf(`"0" (off) or a duration %s..%s like %q`, from, to, 30*lo)
	}
	return func(v any, _ string) (any, error) {
		s, ok := asString(v)
		d, err := time.ParseDuration(strings.TrimSpace(s))
		return accept(d, ok && err == nil && (d >= lo && d <= hi || zeroOff && d == 0), expected)
	}
}

// burst takes a TOML integer (bytes) or string, see [ParseBurst].
func burst(v any, _ string) (any, error) {
	s, ok := asString(v)
	if n, isInt := v.(int64); isInt {
		s, ok = strconv.FormatInt(n, 10), true
	}
	b, err := ParseBurst(s)
	return accept(b, ok && err == nil, burstExpected)
}

// color accepts "#rrggbb" (or "") and gives it in lower case: it goes
// into the listener page's style as it is.
func color(v any, _ string) (any, error) {
	s, ok := asString(v)
	s = strings.ToLower(strings.TrimSpace(s))
	valid := s == "" || len(s) == 7 && s[0] == '#' && !strings.ContainsFunc(s[1:], func(c rune) bool {
		return (c < '0' || c > '9') && (c < 'a' || c > 'f')
	})
	return accept(s, ok && valid, `a colour "#rrggbb", like "#c2410c"`)
}

// word accepts one of values in any case and gives it in lower case.
func word(values ...string) kind {
	expected := strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
	return func(v any, _ string) (any, error) {
		s, _ := asString(v)
		s = strings.ToLower(strings.TrimSpace(s))
		return accept(s, slices.Contains(values, s), expected)
	}
}

func logLevel(v any, home string) (any, error) {
	w, err := word("debug", "info", "warn", "warning", "error")(v, home)
	if err != nil {
		return nil, err
	}
	var l slog.Level
	err = l.UnmarshalText([]byte(strings.TrimSuffix(w.(string), "ing"))) // "warning" is "warn"
	return l, err
}

// charset takes what icy.ParseCharset takes, so that config and the
// stations agree on every spelling.
func charset(v any, _ string) (any, error) {
	s, ok := asString(v)
	cs, err := icy.ParseCharset(s)
	return accept(cs, ok && err == nil, "utf-8 or latin1")
}

// path expands "~" and cleans the path; empty means "not set" and is
// accepted only when allowEmpty.
func path(allowEmpty bool) kind {
	expected := `a non-empty path (a leading "~" needs HOME)`
	if allowEmpty {
		expected = `a path (a leading "~" needs HOME)`
	}
	return func(v any, home string) (any, error) {
		s, ok := asString(v)
		p, expanded := expandPath(s, home)
		return accept(p, ok && expanded && (p != "" || allowEmpty), expected)
	}
}

// expandPath replaces a leading "~" or "~/" by home and cleans the result.
// "~user" is left alone. ok is false for "~" without a home directory.
func expandPath(p, home string) (string, bool) {
	p = strings.TrimSpace(p)
	if p == "" {
		return "", true
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home == "" {
			return "", false
		}
		p = home + p[1:]
	}
	return filepath.Clean(p), true
}

// extensions gives lower-case extensions with a leading dot, each once.
func extensions(v any, _ string) (any, error) {
	items, ok := v.([]any)
	var out []string
	for _, it := range items {
		s, isStr := it.(string)
		ext := "." + strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), ".")
		ok = ok && isStr && ext != "." && !strings.ContainsFunc(ext[1:], func(c rune) bool {
			return (c < 'a' || c > 'z') && (c < '0' || c > '9')
		})
		if ok && !slices.Contains(out, ext) {
			out = append(out, ext)
		}
	}
	return accept(out, ok, `a list of file extensions like [".flac", ".ogg"]`)
}

// prefixes is a list of networks ("10.0.0.0/8", "2001:db8::/32") or single
// addresses ("127.0.0.1" is 127.0.0.1/32): a TOML array of strings, or
// comma-separated text from a flag or the environment. Empty: none.
func prefixes(v any, _ string) (any, error) {
	const expected = `a list of addresses or CIDR networks like ["127.0.0.1/32", "::1"]`
	var items []string
	switch v := v.(type) {
	case []any:
		for _, it := range v {
			s, ok := it.(string)
			if !ok {
				return nil, errors.New(expected)
			}
			items = append(items, s)
		}
	case text:
		for _, s := range strings.Split(string(v), ",") {
			if strings.TrimSpace(s) != "" {
				items = append(items, s)
			}
		}
	default:
		return nil, errors.New(expected)
	}
	var out []netip.Prefix
	for _, s := range items {
		s = strings.TrimSpace(s)
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil || a.Zone() != "" {
				return nil, errors.New(expected)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// publicURL is an http:// or https:// URL with a host and at most a path
// (the prefix a proxy serves the server under), or "" for none; a trailing
// slash is dropped.
func publicURL(v any, _ string) (any, error) {
	s, ok := asString(v)
	s = strings.TrimSpace(s)
	if ok && s == "" {
		return "", nil
	}
	u, err := url.Parse(s)
	return accept(strings.TrimSuffix(s, "/"), ok && err == nil && (u.Scheme == "http" || u.Scheme == "https") &&
		u.Host != "" && u.User == nil && u.RawQuery == "" && !u.ForceQuery && u.Fragment == "",
		`an http:// or https:// URL with at most a path, like "https://radio.example.com" or "https://example.com/radio"`)
}

// optionalRoute is a route, or "" for none.
func optionalRoute(v any, home string) (any, error) {
	if s, ok := asString(v); ok && strings.TrimSpace(s) == "" {
		return "", nil
	}
	return route(v, home)
}

// relayURL is an http:// or https:// URL with a host, or "" for none.
func relayURL(v any, _ string) (any, error) {
	s, ok := asString(v)
	s = strings.TrimSpace(s)
	if ok && s == "" {
		return "", nil
	}
	u, err := url.Parse(s)
	return accept(s, ok && err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "",
		`an http:// or https:// stream URL like "http://example.org:8000/stream"`)
}

// zone is a time zone name schedule.LoadZone accepts.
func zone(v any, _ string) (any, error) {
	s, ok := asString(v)
	s = strings.TrimSpace(s)
	_, err := schedule.LoadZone(s)
	return accept(s, ok && err == nil, schedule.ZoneExpected+`, or "Local" (the machine's zone)`)
}

// level reads a level in one of units: a TOML number, or text like
// "-16 LUFS", "-16lufs" or "-16" (units in any case, the space optional).
func level(v any, units ...string) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	s, ok := asString(v)
	s = strings.TrimSpace(s)
	for _, u := range units { // longest first: "dBFS" before "dB"
		if len(s) >= len(u) && strings.EqualFold(s[len(s)-len(u):], u) {
			s = strings.TrimSpace(s[:len(s)-len(u)])
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, ok && err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
}

// loudness is "off" (or 0), or a target -30..-5 LUFS; 0 means off.
func loudness(v any, _ string) (any, error) {
	if s, ok := asString(v); ok && strings.EqualFold(strings.TrimSpace(s), "off") {
		return 0.0, nil
	}
	f, ok := level(v, "LUFS")
	return accept(f, ok && (f == 0 || f >= -30 && f <= -5), `"off" or a target loudness -30..-5 LUFS like "-16 LUFS"`)
}

// dbfs is a signal level -90..-20 dBFS.
func dbfs(v any, _ string) (any, error) {
	f, ok := level(v, "dBFS", "dB")
	return accept(f, ok && f >= -90 && f <= -20, `a level -90..-20 dBFS like "-50 dBFS"`)
}

func route(v any, _ string) (any, error) {
	s, ok := asString(v)
	if !ok {
		return nil, errors.New(routeExpected)
	}
	r, err := NormalizeRoute(s)
	if err != nil {
		return nil, errors.New(err.(*Error).Expected)
	}
	return r, nil
}
