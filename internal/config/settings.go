package config

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// kind is the TOML type a setting takes; env and flag values are always text.
type kind int

const (
	kindString   kind = iota
	kindInt           // TOML integer
	kindBool          // TOML boolean
	kindDuration      // TOML string parsed by time.ParseDuration
	kindBurst         // TOML integer (bytes) or string
	kindList          // TOML array of strings
)

// setting is one value that can come from the file, the environment and/or
// a flag. The tables below are the single list of what each source accepts.
type setting[T any] struct {
	name    string // TOML key, or for compat settings without one the name used in errors
	inFile  bool   // name is a key of the TOML file
	flag    string // flag name without dashes; "" = none
	env     string // environment variable; "" = none
	usage   string // flag help, without the env/default suffix
	def     string // default shown in the usage
	kind    kind
	expect  string                   // what is accepted, for errors
	set     func(*T, string) error   // parses text; the error text is what was expected
	setList func(*T, []string) error // for kindList
}

// builder collects the top-level settings before stations are assembled.
type builder struct {
	cfg Config
	// Station defaults that the seed servers read from env (SHUFFLE,
	// BITRATE, MAX_CLIENTS); there is no file key for them.
	shuffle      bool
	bitrate      int
	maxListeners int
	// origin records where each setting was last set, for checks that
	// span settings; a name missing here still has its default.
	origin map[string]loc
}

// configSettings lists the top-level settings, in usage order. home
// expands "~" in paths ("" when there is no home directory).
func configSettings(home string) []setting[builder] {
	cfg := func(f func(*Config) *string) func(*builder) *string {
		return func(b *builder) *string { return f(&b.cfg) }
	}
	cfgInt := func(f func(*Config) *int) func(*builder) *int {
		return func(b *builder) *int { return f(&b.cfg) }
	}
	cfgDur := func(f func(*Config) *time.Duration) func(*builder) *time.Duration {
		return func(b *builder) *time.Duration { return f(&b.cfg) }
	}
	return []setting[builder]{
		withSources(stringKey("host", cfg(func(c *Config) *string { return &c.Host })),
			"host", "HOST", "listen address", "0.0.0.0"),
		withSources(intKey("port", 1, 65535, cfgInt(func(c *Config) *int { return &c.Port })),
			"port", "PORT", "listen port", "9999"),
		withSources(pathKey("audio_dir", home, false, cfg(func(c *Config) *string { return &c.AudioDir })),
			"audio-dir", "AUDIO_DIR", `directory of the "/" station`, "/app/audio"),
		withSources(modeKey("stream_mode", func(b *builder) *Mode { return &b.cfg.StreamMode }),
			"stream-mode", "STREAM_MODE", "default station mode: radio or individual", "radio"),
		withSources(intKey("buffer_size", 64<<10, 1<<30, cfgInt(func(c *Config) *int { return &c.BufferSize })),
			"buffer-size", "BUFFER_SIZE", "bytes of audio kept per station", "2097152"),
		withSources(intKey("max_preload_tracks", 0, 16, cfgInt(func(c *Config) *int { return &c.MaxPreloadTracks })),
			"max-preload-tracks", "MAX_PRELOAD_TRACKS", "tracks opened ahead per station", "2"),
		withSources(burstKey("burst", func(b *builder) *Burst { return &b.cfg.Burst }),
			"burst", "BURST", `how far behind live a listener starts: bytes ("64KiB") or time ("4s")`, "64KiB"),
		withSources(intKey("icy_metaint", 256, 65535, cfgInt(func(c *Config) *int { return &c.Metaint })),
			"metaint", "", "bytes of audio between ICY metadata blocks", "16000"),
		withSources(durationKey("publish_interval", 20*time.Millisecond, time.Second, false,
			cfgDur(func(c *Config) *time.Duration { return &c.PublishInterval })),
			"publish-interval", "PUBLISH_INTERVAL", "how often audio goes out to listeners", "400ms"),
		withSources(durationKey("write_timeout", time.Second, time.Hour, false,
			cfgDur(func(c *Config) *time.Duration { return &c.WriteTimeout })),
			"write-timeout", "WRITE_TIMEOUT", "drop a listener that takes nothing for this long", "30s"),
		withSources(durationKey("header_timeout", time.Second, 10*time.Minute, false,
			cfgDur(func(c *Config) *time.Duration { return &c.HeaderTimeout })),
			"header-timeout", "HEADER_TIMEOUT", "time a client has to send its request", "10s"),
		withSources(durationKey("rescan_interval", time.Second, 24*time.Hour, true,
			cfgDur(func(c *Config) *time.Duration { return &c.RescanInterval })),
			"rescan-interval", "RESCAN_INTERVAL", `how often folders are scanned again; "0" = only on reload`, "30s"),
		withSources(pathKey("state_dir", home, true, cfg(func(c *Config) *string { return &c.StateDir })),
			"state-dir", "STATE_DIR", "folder where stations save their place across restarts; empty = none", ""),
		withSources(pathKey("ffmpeg_path", home, false, cfg(func(c *Config) *string { return &c.FFmpegPath })),
			"ffmpeg-path", "FFMPEG_PATH", "ffmpeg for WAV and other transcoded files", "ffmpeg"),
		withSources(stringKey("admin_token", cfg(func(c *Config) *string { return &c.AdminToken })),
			"", "ADMIN_TOKEN", "", ""),
		withSources(intKey("max_listeners", 0, math.MaxInt32, cfgInt(func(c *Config) *int { return &c.MaxListeners })),
			"max-listeners", "MAX_LISTENERS", "listener limit of the whole server, 0 = unlimited", "0"),
		withSources(intKey("max_conns_per_ip", 0, math.MaxInt32, cfgInt(func(c *Config) *int { return &c.MaxConnsPerIP })),
			"max-conns-per-ip", "MAX_CONNS_PER_IP", "stream connections per client address, 0 = unlimited", "0"),
		withSources(pathKey("tls_cert", home, true, cfg(func(c *Config) *string { return &c.TLSCert })),
			"tls-cert", "TLS_CERT", "PEM certificate (chain) for HTTPS on --tls-port", ""),
		withSources(pathKey("tls_key", home, true, cfg(func(c *Config) *string { return &c.TLSKey })),
			"tls-key", "TLS_KEY", "PEM private key for --tls-cert", ""),
		withSources(intKey("tls_port", 0, 65535, cfgInt(func(c *Config) *int { return &c.TLSPort })),
			"tls-port", "TLS_PORT", "HTTPS port, 0 = no HTTPS", "0"),
		withSources(stringKey("sentry_dsn", cfg(func(c *Config) *string { return &c.SentryDSN })),
			"sentry-dsn", "SENTRY_DSN", "Sentry DSN; empty disables error reporting", ""),
		withSources(stringKey("environment", cfg(func(c *Config) *string { return &c.Environment })),
			"", "ENVIRONMENT", "", ""),
		withSources(oneOfKey("log_format", []string{"text", "json"}, cfg(func(c *Config) *string { return &c.LogFormat })),
			"log-format", "LOG_FORMAT", "log format: text or json", "text"),
		withSources(logLevelKey("log_level"),
			"log-level", "LOG_LEVEL", "minimum log level: debug, info, warn or error", "info"),
		// Seed compatibility: defaults for every station, no file key.
		compat(intKey("bitrate", 8, 320, func(b *builder) *int { return &b.bitrate }),
			"bitrate", "BITRATE", "default kbps of transcoded stations", "128"),
		compat(intKey("max_clients", 0, math.MaxInt32, func(b *builder) *int { return &b.maxListeners }),
			"max-clients", "MAX_CLIENTS", "default listener limit per station, 0 = unlimited", "0"),
		compat(boolKey("shuffle", func(b *builder) *bool { return &b.shuffle }),
			"shuffle", "SHUFFLE", "default shuffle of stations", "true"),
	}
}

// stationSettings lists the keys of a [[station]] table.
func stationSettings(home string) []setting[Station] {
	str := func(name string, f func(*Station) *string) setting[Station] { return stringKey(name, f) }
	return []setting[Station]{
		{name: "route", inFile: true, kind: kindString, expect: routeExpected, set: func(st *Station, s string) error {
			r, err := NormalizeRoute(s)
			if err != nil {
				return errors.New(err.(*Error).Expected)
			}
			st.Route = r
			return nil
		}},
		pathKey("dir", home, false, func(st *Station) *string { return &st.Dir }),
		str("name", func(st *Station) *string { return &st.Name }),
		str("description", func(st *Station) *string { return &st.Description }),
		str("genre", func(st *Station) *string { return &st.Genre }),
		str("url", func(st *Station) *string { return &st.URL }),
		boolKey("public", func(st *Station) *bool { return &st.Public }),
		modeKey("mode", func(st *Station) *Mode { return &st.Mode }),
		boolKey("shuffle", func(st *Station) *bool { return &st.Shuffle }),
		burstKey("burst", func(st *Station) *Burst { return &st.Burst }),
		intKey("icy_metaint", 256, 65535, func(st *Station) *int { return &st.Metaint }),
		charsetKey("icy_charset", func(st *Station) *string { return &st.ICYCharset }),
		boolKey("legacy_icy_status", func(st *Station) *bool { return &st.LegacyICYStatus }),
		intKey("bitrate", 8, 320, func(st *Station) *int { return &st.Bitrate }),
		sampleRateKey("sample_rate", func(st *Station) *int { return &st.SampleRate }),
		intKey("channels", 1, 2, func(st *Station) *int { return &st.Channels }),
		oneOfKey("transcode", []string{"auto", "always"}, func(st *Station) *string { return &st.Transcode }),
		extensionsKey("extensions", func(st *Station) *[]string { return &st.Extensions }),
		intKey("max_listeners", 0, math.MaxInt32, func(st *Station) *int { return &st.MaxListeners }),
	}
}

func withSources[T any](s setting[T], flag, env, usage, def string) setting[T] {
	s.flag, s.env, s.usage, s.def = flag, env, usage, def
	return s
}

func compat[T any](s setting[T], flag, env, usage, def string) setting[T] {
	s = withSources(s, flag, env, usage, def)
	s.inFile = false
	return s
}

func stringKey[T any](name string, field func(*T) *string) setting[T] {
	return setting[T]{name: name, inFile: true, kind: kindString, expect: "a string",
		set: func(t *T, s string) error { *field(t) = s; return nil }}
}

func intKey[T any](name string, lo, hi int, field func(*T) *int) setting[T] {
	expect := fmt.Sprintf("an integer %d..%d", lo, hi)
	if hi == math.MaxInt32 {
		expect = fmt.Sprintf("an integer >= %d", lo)
	}
	return setting[T]{name: name, inFile: true, kind: kindInt, expect: expect,
		set: func(t *T, s string) error {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n < lo || n > hi {
				return errors.New(expect)
			}
			*field(t) = n
			return nil
		}}
}

func sampleRateKey[T any](name string, field func(*T) *int) setting[T] {
	const expect = "an MP3 sample rate: 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100 or 48000"
	return setting[T]{name: name, inFile: true, kind: kindInt, expect: expect,
		set: func(t *T, s string) error {
			switch n, _ := strconv.Atoi(strings.TrimSpace(s)); n {
			case 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000:
				*field(t) = n
				return nil
			}
			return errors.New(expect)
		}}
}

func boolKey[T any](name string, field func(*T) *bool) setting[T] {
	const expect = "true, false, 1, 0, yes or no"
	return setting[T]{name: name, inFile: true, kind: kindBool, expect: expect,
		set: func(t *T, s string) error {
			switch strings.ToLower(strings.TrimSpace(s)) {
			case "true", "1", "yes":
				*field(t) = true
			case "false", "0", "no":
				*field(t) = false
			default:
				return errors.New(expect)
			}
			return nil
		}}
}

// durationKey accepts lo..hi, and 0 too when zeroOff (0 switches it off).
func durationKey[T any](name string, lo, hi time.Duration, zeroOff bool, field func(*T) *time.Duration) setting[T] {
	expect := fmt.Sprintf("a duration %s..%s like %q", shortDur(lo), shortDur(hi), shortDur(lo*10))
	if zeroOff {
		expect = fmt.Sprintf(`"0" (off) or a duration %s..%s like %q`, shortDur(lo), shortDur(hi), shortDur(lo*30))
	}
	return setting[T]{name: name, inFile: true, kind: kindDuration, expect: expect,
		set: func(t *T, s string) error {
			d, err := time.ParseDuration(strings.TrimSpace(s))
			if err != nil || (d < lo || d > hi) && !(zeroOff && d == 0) {
				return errors.New(expect)
			}
			*field(t) = d
			return nil
		}}
}

func burstKey[T any](name string, field func(*T) *Burst) setting[T] {
	return setting[T]{name: name, inFile: true, kind: kindBurst, expect: burstExpected,
		set: func(t *T, s string) error {
			b, err := ParseBurst(s)
			if err != nil {
				return errors.New(burstExpected)
			}
			*field(t) = b
			return nil
		}}
}

func modeKey[T any](name string, field func(*T) *Mode) setting[T] {
	const expect = "radio or individual"
	return setting[T]{name: name, inFile: true, kind: kindString, expect: expect,
		set: func(t *T, s string) error {
			switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
			case ModeRadio, ModeIndividual:
				*field(t) = m
				return nil
			}
			return errors.New(expect)
		}}
}

func oneOfKey[T any](name string, values []string, field func(*T) *string) setting[T] {
	expect := strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
	return setting[T]{name: name, inFile: true, kind: kindString, expect: expect,
		set: func(t *T, s string) error {
			s = strings.ToLower(strings.TrimSpace(s))
			for _, v := range values {
				if s == v {
					*field(t) = v
					return nil
				}
			}
			return errors.New(expect)
		}}
}

func charsetKey[T any](name string, field func(*T) *string) setting[T] {
	const expect = "utf-8 or latin1"
	return setting[T]{name: name, inFile: true, kind: kindString, expect: expect,
		set: func(t *T, s string) error {
			switch strings.ToLower(strings.TrimSpace(s)) {
			case "utf-8", "utf8":
				*field(t) = "utf-8"
			case "latin1", "latin-1", "iso-8859-1":
				*field(t) = "latin1"
			default:
				return errors.New(expect)
			}
			return nil
		}}
}

func logLevelKey(name string) setting[builder] {
	const expect = "debug, info, warn, warning or error"
	return setting[builder]{name: name, inFile: true, kind: kindString, expect: expect,
		set: func(b *builder, s string) error {
			switch strings.ToLower(strings.TrimSpace(s)) {
			case "debug":
				b.cfg.LogLevel = slog.LevelDebug
			case "info":
				b.cfg.LogLevel = slog.LevelInfo
			case "warn", "warning":
				b.cfg.LogLevel = slog.LevelWarn
			case "error":
				b.cfg.LogLevel = slog.LevelError
			default:
				return errors.New(expect)
			}
			return nil
		}}
}

// pathKey expands "~" and cleans the path; empty is allowed only when
// allowEmpty (it then means "not set").
func pathKey[T any](name, home string, allowEmpty bool, field func(*T) *string) setting[T] {
	expect := `a path (a leading "~" needs HOME)`
	if !allowEmpty {
		expect = `a non-empty path (a leading "~" needs HOME)`
	}
	return setting[T]{name: name, inFile: true, kind: kindString, expect: expect,
		set: func(t *T, s string) error {
			p, ok := expandPath(s, home)
			if !ok || p == "" && !allowEmpty {
				return errors.New(expect)
			}
			*field(t) = p
			return nil
		}}
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

func extensionsKey[T any](name string, field func(*T) *[]string) setting[T] {
	const expect = `a list of file extensions like [".flac", ".ogg"]`
	return setting[T]{name: name, inFile: true, kind: kindList, expect: expect,
		setList: func(t *T, items []string) error {
			var out []string
			for _, it := range items {
				ext := "." + strings.TrimPrefix(strings.ToLower(strings.TrimSpace(it)), ".")
				if ext == "." || strings.ContainsFunc(ext[1:], func(c rune) bool {
					return !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9')
				}) {
					return errors.New(expect)
				}
				if !slices.Contains(out, ext) {
					out = append(out, ext)
				}
			}
			*field(t) = out
			return nil
		}}
}

// shortDur prints "1h" and "10m" rather than "1h0m0s" and "10m0s".
func shortDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
