// Package config builds the server's settings from four layers, highest
// precedence first: command-line flags, environment variables, a TOML file
// (--config FILE or AUDIO_STREAMER_CONFIG) and built-in defaults.
//
// Every invalid value is an error that names the key, where the value came
// from and what would have been accepted (see [Error]); nothing is silently
// ignored. Missing audio directories are not errors: they are reported in
// [Config.Warnings] because the server waits for files to appear.
package config

import (
	"log/slog"
	"time"
)

// Mode is how a station plays: one shared broadcast or one stream per listener.
type Mode string

const (
	// ModeRadio plays one shared stream per station, whether anyone listens or not.
	ModeRadio Mode = "radio"
	// ModeIndividual starts a private, separately shuffled stream for each listener.
	ModeIndividual Mode = "individual"
)

// Config is the whole server configuration. The zero value is not useful;
// start from [Defaults] or use [Load]. The toml tags are the keys of the
// configuration file (see config.example.toml).
type Config struct {
	// Host is the listen address. Default "0.0.0.0"; "" also means all interfaces.
	// Flag --host, env HOST.
	Host string `toml:"host"`
	// Port is the plain HTTP listen port, 1..65535. Default 9999.
	// Flag --port, env PORT.
	Port int `toml:"port"`
	// AudioDir is the directory of the "/" station (and of routes listed in
	// --stream-routes without a directory of their own). Default "/app/audio".
	// "~" is expanded. Flag --audio-dir, env AUDIO_DIR.
	AudioDir string `toml:"audio_dir"`
	// AudioDirSet is true when AudioDir was given by any source, false when it
	// is the built-in default (main then may fall back to the bundled demo folder).
	AudioDirSet bool `toml:"-"`
	// StreamMode is the default Mode of stations. Default ModeRadio.
	// Flag --stream-mode, env STREAM_MODE.
	StreamMode Mode `toml:"stream_mode"`
	// BufferSize is the bytes of audio kept per station for bursts and slow
	// listeners, 65536..1073741824. Default 2097152 (2 MiB).
	// Flag --buffer-size, env BUFFER_SIZE.
	BufferSize int `toml:"buffer_size"`
	// MaxPreloadTracks is how many upcoming tracks a station opens ahead, 0..16.
	// Default 2. Flag --max-preload-tracks, env MAX_PRELOAD_TRACKS.
	MaxPreloadTracks int `toml:"max_preload_tracks"`
	// Burst is the default Station.Burst. Default 65536 bytes; never more than
	// BufferSize. Flag --burst, env BURST.
	Burst Burst `toml:"burst"`
	// Metaint is the default Station.Metaint (bytes of audio between ICY
	// metadata blocks), 256..65535. Default 16000. Flag --metaint.
	Metaint int `toml:"icy_metaint"`
	// PublishInterval is how often a station hands new audio to listeners,
	// 20ms..1s. Default 400ms: each tick is one write per listener, so this
	// sets the fan-out CPU (docs/benchmarks.md); players see a gap of at most
	// one interval between writes, far inside their burst.
	// Flag --publish-interval, env PUBLISH_INTERVAL.
	PublishInterval time.Duration `toml:"publish_interval"`
	// WriteTimeout drops a listener whose socket accepted no byte for this
	// long, 1s..1h. Default 30s. Flag --write-timeout, env WRITE_TIMEOUT.
	WriteTimeout time.Duration `toml:"write_timeout"`
	// HeaderTimeout is the time a client has to send its request headers,
	// 1s..10m. Default 10s. Flag --header-timeout, env HEADER_TIMEOUT.
	HeaderTimeout time.Duration `toml:"header_timeout"`
	// RescanInterval is how often station directories are rescanned; 0 (or
	// 1s..24h). Default 30s; 0 disables periodic rescans.
	// Flag --rescan-interval, env RESCAN_INTERVAL.
	RescanInterval time.Duration `toml:"rescan_interval"`
	// StateDir is where resume state is kept. Default "" (no state). "~" is
	// expanded. Flag --state-dir, env STATE_DIR.
	StateDir string `toml:"state_dir"`
	// FFmpegPath is the ffmpeg binary, a name looked up in PATH or a path.
	// Default "ffmpeg". "~" is expanded. Flag --ffmpeg-path, env FFMPEG_PATH.
	FFmpegPath string `toml:"ffmpeg_path"`
	// AdminToken guards the admin endpoints. Default "" (admin disabled or
	// open, as the server decides). Env ADMIN_TOKEN.
	AdminToken string `toml:"admin_token"`
	// MaxListeners caps listeners over all stations together (a station's own
	// cap is Station.MaxListeners). Default 0 = unlimited. Flag
	// --max-listeners, env MAX_LISTENERS.
	MaxListeners int `toml:"max_listeners"`
	// MaxConnsPerIP caps connections from one client address. Default 0 =
	// unlimited. Flag --max-conns-per-ip, env MAX_CONNS_PER_IP.
	MaxConnsPerIP int `toml:"max_conns_per_ip"`
	// TLSCert and TLSKey are the PEM files of the optional HTTPS listener on
	// TLSPort: both files and a port, or none of the three. Defaults "", "", 0.
	// "~" is expanded. Flags --tls-cert, --tls-key, --tls-port; env TLS_CERT,
	// TLS_KEY, TLS_PORT.
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
	TLSPort int    `toml:"tls_port"`
	// SentryDSN enables error reporting to Sentry. Default "" (off).
	// Flag --sentry-dsn, env SENTRY_DSN.
	SentryDSN string `toml:"sentry_dsn"`
	// Environment is the Sentry environment tag. Default "production". Env ENVIRONMENT.
	Environment string `toml:"environment"`
	// LogFormat is "text" (default) or "json". Flag --log-format, env LOG_FORMAT.
	LogFormat string `toml:"log_format"`
	// LogLevel is the minimum level logged. Default slog.LevelInfo.
	// Accepts debug, info, warn, warning, error. Flag --log-level, env LOG_LEVEL.
	LogLevel slog.Level `toml:"log_level"`
	// Stations are the streams served, in order of definition (an implicit
	// "/" from AudioDir comes first). Load always returns at least "/";
	// routes are normalised and unique.
	Stations []Station `toml:"station"`
	// Warnings are problems that do not stop the server, one line each, for
	// main to log (for example a station directory that does not exist yet).
	// A missing AudioDir is not warned about while AudioDirSet is false,
	// because main substitutes the demo folder then.
	Warnings []string `toml:"-"`
}

// Station is one stream. Zero values are never returned by Load for the
// fields that have defaults; the defaults are listed per field.
type Station struct {
	// Route is the URL path, normalised by [NormalizeRoute]: a leading "/",
	// no trailing slash except for "/" itself, e.g. "/humor". Required in a
	// [[station]] table.
	Route string `toml:"route"`
	// Dir is the directory of audio files, "~" expanded and cleaned.
	// Default Config.AudioDir.
	Dir string `toml:"dir"`
	// Name is the icy-name. Default "audio-streamer <route>".
	Name string `toml:"name"`
	// Description is the icy-description. Default "Stream <route>".
	Description string `toml:"description"`
	// Genre is the icy-genre. Default "Various".
	Genre string `toml:"genre"`
	// URL is the icy-url, a home page of the station. Default "".
	URL string `toml:"url"`
	// Public is the icy-pub flag (listing in directories). Default false.
	Public bool `toml:"public"`
	// Mode defaults to Config.StreamMode.
	Mode Mode `toml:"mode"`
	// Shuffle plays the directory in random order. Default true (env SHUFFLE
	// changes the default).
	Shuffle bool `toml:"shuffle"`
	// Burst defaults to Config.Burst.
	Burst Burst `toml:"burst"`
	// Metaint defaults to Config.Metaint.
	Metaint int `toml:"icy_metaint"`
	// ICYCharset is the encoding of titles in ICY metadata: "utf-8"
	// (default) or "latin1".
	ICYCharset string `toml:"icy_charset"`
	// LegacyICYStatus answers "ICY 200 OK" instead of "HTTP/1.0 200 OK" to
	// non-browser clients. Default false.
	LegacyICYStatus bool `toml:"legacy_icy_status"`
	// Bitrate is the kbps of transcoded tracks, 8..320. Default 128 (env
	// BITRATE changes the default).
	Bitrate int `toml:"bitrate"`
	// SampleRate is the Hz of transcoded tracks, an MP3 rate
	// (8000..48000). Default 44100.
	SampleRate int `toml:"sample_rate"`
	// Channels of transcoded tracks, 1 or 2. Default 2.
	Channels int `toml:"channels"`
	// Transcode is "auto" (default: only non-MP3 files go through ffmpeg)
	// or "always".
	Transcode string `toml:"transcode"`
	// Extensions are file extensions played through ffmpeg in addition to
	// .mp3 and .wav, e.g. [".flac", ".ogg"]; lower-case with a leading dot,
	// no duplicates. Default nil.
	Extensions []string `toml:"extensions"`
	// MaxListeners caps this station's listeners. Default 0 = unlimited
	// (env MAX_CLIENTS changes the default).
	MaxListeners int `toml:"max_listeners"`
}

// Defaults returns the built-in value of every setting. Stations is empty:
// Load adds the "/" station from AudioDir.
func Defaults() Config {
	return Config{
		Host:             "0.0.0.0",
		Port:             9999,
		AudioDir:         "/app/audio",
		StreamMode:       ModeRadio,
		BufferSize:       2 << 20,
		MaxPreloadTracks: 2,
		Burst:            Burst{Bytes: 64 << 10},
		Metaint:          16000,
		PublishInterval:  400 * time.Millisecond,
		WriteTimeout:     30 * time.Second,
		HeaderTimeout:    10 * time.Second,
		RescanInterval:   30 * time.Second,
		FFmpegPath:       "ffmpeg",
		Environment:      "production",
		LogFormat:        "text",
		LogLevel:         slog.LevelInfo,
	}
}

// Built-in station defaults that do not come from Config.
const (
	defaultGenre      = "Various"
	defaultCharset    = "utf-8"
	defaultBitrate    = 128
	defaultSampleRate = 44100
	defaultChannels   = 2
	defaultTranscode  = "auto"
)
