package config_test

import (
	"errors"
	"flag"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/endpoint"
)

// envOf makes an env lookup from a map, as os.LookupEnv would answer it.
func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// writeTOML writes body to a fresh file and returns its path.
func writeTOML(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "as.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustLoad(t *testing.T, args []string, env map[string]string) *config.Config {
	t.Helper()
	c, err := config.Load(args, envOf(env))
	if err != nil {
		t.Fatalf("Load(%q): %v", args, err)
	}
	return c
}

func routes(c *config.Config) []string {
	var out []string
	for _, st := range c.Stations {
		out = append(out, st.Route)
	}
	return out
}

func station(t *testing.T, c *config.Config, route string) config.Station {
	t.Helper()
	for _, st := range c.Stations {
		if st.Route == route {
			return st
		}
	}
	t.Fatalf("no station %s in %v", route, routes(c))
	return config.Station{}
}

func TestPrecedence(t *testing.T) {
	file := writeTOML(t, `
port = 1111
stream_mode = "individual"
buffer_size = 100000
max_preload_tracks = 3
`)
	env := map[string]string{"PORT": "2222", "STREAM_MODE": "radio", "BUFFER_SIZE": "200000", "MAX_PRELOAD_TRACKS": "4"}
	flags := []string{"--port", "3333", "--stream-mode=individual", "--buffer-size", "300000", "-max-preload-tracks", "5"}
	type want struct {
		port, buffer, preload int
		mode                  config.Mode
	}
	tests := []struct {
		name                    string
		useFile, useEnv, useFlg bool
		fileViaEnv              bool
		want                    want
	}{
		{name: "defaults", want: want{9999, 2097152, 2, config.ModeRadio}},
		{name: "file over defaults", useFile: true, want: want{1111, 100000, 3, config.ModeIndividual}},
		{name: "file named by env", useFile: true, fileViaEnv: true, want: want{1111, 100000, 3, config.ModeIndividual}},
		{name: "env over file", useFile: true, useEnv: true, want: want{2222, 200000, 4, config.ModeRadio}},
		{name: "env over defaults", useEnv: true, want: want{2222, 200000, 4, config.ModeRadio}},
		{name: "flags over env and file", useFile: true, useEnv: true, useFlg: true, want: want{3333, 300000, 5, config.ModeIndividual}},
		{name: "flags over file", useFile: true, useFlg: true, want: want{3333, 300000, 5, config.ModeIndividual}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var args []string
			e := map[string]string{}
			if tt.useEnv {
				for k, v := range env {
					e[k] = v
				}
			}
			if tt.useFile && tt.fileViaEnv {
				e["AUDIO_STREAMER_CONFIG"] = file
			} else if tt.useFile {
				args = append(args, "--config", file)
			}
			if tt.useFlg {
				args = append(args, flags...)
			}
			c := mustLoad(t, args, e)
			got := want{c.Port, c.BufferSize, c.MaxPreloadTracks, c.StreamMode}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c := mustLoad(t, nil, nil)
	d := config.Defaults()
	if c.Host != "0.0.0.0" || c.Port != 9999 || c.AudioDir != "/app/audio" || c.AudioDirSet ||
		c.Burst != (config.Burst{Bytes: 65536}) || c.Metaint != 16000 || c.PublishInterval != 400*time.Millisecond ||
		c.LogLevel != slog.LevelInfo || c.LogFormat != "text" || c.Environment != "production" ||
		c.Admin != "admin@localhost" || c.Location != "Earth" || c.Timezone != "UTC" {
		t.Errorf("unexpected defaults: %+v", c)
	}
	if c.MaxPrivateStreams != 200 {
		t.Errorf("max_private_streams = %d, want 200: individual mode is bounded by default", c.MaxPrivateStreams)
	}
	if c.MaxEncoders != 16 {
		t.Errorf("max_encoders = %d, want 16: ffmpeg processes are bounded by default", c.MaxEncoders)
	}
	if len(d.Stations) != 0 || len(d.Warnings) != 0 {
		t.Errorf("Defaults() has stations or warnings: %+v", d)
	}
	want := config.Station{
		Route: "/", Dir: "/app/audio", Name: "audio-streamer /", Description: "Stream /", Genre: "Various",
		Mode: config.ModeRadio, Shuffle: true, Burst: config.Burst{Bytes: 65536}, Metaint: 16000,
		ICYCharset: icy.UTF8, Bitrate: 128, SampleRate: 44100, Channels: 2, Transcode: "auto", HistorySize: 100,
		MaxPrivateStreams: 50, SourceTimeout: 10 * time.Second, LiveTranscode: "auto", AfterLive: "next",
		JingleTitle: "audio-streamer /", SilenceThreshold: -50,
	}
	if len(c.Stations) != 1 || !reflect.DeepEqual(c.Stations[0], want) {
		t.Errorf("stations = %+v, want only %+v", c.Stations, want)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("a missing default audio dir must not warn (main substitutes the demo): %q", c.Warnings)
	}
}

// errorCase is a configuration Load must refuse with exactly one message.
type errorCase struct {
	name string
	file string // written to PATH and passed with --config when not empty
	env  map[string]string
	args []string
	want string // the whole message; PATH is the file's path
	line int
}

// checkErrors loads each case and compares the error's message and line.
func checkErrors(t *testing.T, tests []errorCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			path := ""
			if tt.file != "" {
				path = writeTOML(t, tt.file)
				// --config comes last so that a test's own "--config" is overridden.
				args = append(slices.Clone(args), "--config", path)
			}
			c, err := config.Load(args, envOf(tt.env))
			if err == nil {
				t.Fatalf("no error; config %+v", c)
			}
			want := strings.ReplaceAll(tt.want, "PATH", path)
			if err.Error() != want {
				t.Errorf("error\n got: %s\nwant: %s", err, want)
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not *config.Error", err)
			}
			if ce.Line != tt.line {
				t.Errorf("Line = %d, want %d", ce.Line, tt.line)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("message is not one line: %q", err)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []errorCase{
		// unknown keys
		{name: "unknown top-level key", file: "port = 1\ncolour = \"red\"\n",
			want: `config: unknown key "colour" in PATH:2`, line: 2},
		{name: "empty key", file: "port = 1\n\"\" = 2\n",
			want: `config: unknown key "" in PATH:2`, line: 2},
		{name: "key in the wrong place", file: "[[station]]\nroute = \"/a\"\nport = 1\n",
			want: `config: unknown key "station.port" in PATH:3`, line: 3},
		{name: "station key at the top", file: "shuffle = false\n",
			want: `config: unknown key "shuffle" in PATH:1`, line: 1},
		{name: "unknown table", file: "port = 1\n\n[foo]\nbar = 1\n",
			want: `config: unknown key "foo" in PATH:3`, line: 3},
		{name: "unknown key in second station", file: "[[station]]\nroute = \"/a\"\ncolor = 1\n[[station]]\nroute = \"/b\"\ncolor = 2\n",
			want: `config: unknown key "station.color" in PATH:3`, line: 3},
		{name: "unknown dotted key in station", file: "[[station]]\nroute = \"/a\"\n[[station]]\nroute = \"/b\"\nx.y = 2\n",
			want: `config: unknown key "station.x" in PATH:5`, line: 5},
		// syntax and types
		{name: "syntax error", file: "port = 1\nhost = \n",
			want: `config: PATH:2: invalid TOML: expected value but found '\n' instead`, line: 2},
		{name: "string for integer", file: "host = \"x\"\nport = \"abc\"\n",
			want: `config: port: "abc" from PATH:2: expected an integer 1..65535`, line: 2},
		{name: "quoted number is still a string", file: "port = \"8000\"\n",
			want: `config: port: "8000" from PATH:1: expected an integer 1..65535`, line: 1},
		{name: "string for bool in station", file: "[[station]]\nroute = \"/a\"\n\n[[station]]\nroute = \"/b\"\nshuffle = \"maybe\"\n",
			want: `config: station.shuffle: "maybe" from PATH:6: expected true, false, 1, 0, yes or no`, line: 6},
		{name: "table for integer", file: "[port]\nx = 1\n",
			want: `config: port: "map[x:1]" from PATH:1: expected an integer 1..65535`, line: 1},
		{name: "station not a table array", file: "station = \"/a\"\n",
			want: `config: station: "/a" from PATH:1: expected [[station]] tables`, line: 1},
		{name: "bad mode in file", file: "# c\nhost = \"h\"\n\nstream_mode = \"party\"\n",
			want: `config: stream_mode: "party" from PATH:4: expected radio or individual`, line: 4},
		{name: "bad list item", file: "[[station]]\nroute = \"/a\"\nextensions = [\".flac\", 3]\n",
			want: `config: station.extensions: "[.flac 3]" from PATH:3: expected a list of file extensions like [".flac", ".ogg"]`, line: 3},
		// bad port from each source
		{name: "port from file", file: "port = 0\n",
			want: `config: port: "0" from PATH:1: expected an integer 1..65535`, line: 1},
		{name: "port from env", env: map[string]string{"PORT": "abc"},
			want: `config: port: "abc" from env PORT: expected an integer 1..65535`},
		{name: "port from flag", args: []string{"--port", "70000"},
			want: `config: port: "70000" from flag --port: expected an integer 1..65535`},
		{name: "empty flag value", args: []string{"--port="},
			want: `config: port: "" from flag --port: expected an integer 1..65535`},
		// bad burst
		{name: "burst with decimal unit", env: map[string]string{"BURST": "64MB"},
			want: `config: burst: "64MB" from env BURST: expected bytes (65536, "64KiB", "64k", "1MiB") or audio time ("4s", "2500ms"), not negative`},
		{name: "negative burst in file", file: "burst = -1\n",
			want: `config: burst: "-1" from PATH:1: expected bytes (65536, "64KiB", "64k", "1MiB") or audio time ("4s", "2500ms"), not negative`, line: 1},
		{name: "burst bare M", args: []string{"--burst", "1M"},
			want: `config: burst: "1M" from flag --burst: expected bytes (65536, "64KiB", "64k", "1MiB") or audio time ("4s", "2500ms"), not negative`},
		{name: "burst over buffer", file: "buffer_size = 65536\n", args: []string{"--burst", "1MiB"},
			want: `config: burst: "1MiB" from flag --burst: expected at most buffer_size (65536 bytes)`},
		{name: "station burst over buffer", file: "buffer_size = 65536\n[[station]]\nroute = \"/a\"\nburst = \"128KiB\"\n",
			want: `config: station.burst: "128KiB" from PATH:4: expected at most buffer_size (65536 bytes)`, line: 4},
		// bad durations
		{name: "unparsable duration", file: "publish_interval = \"fast\"\n",
			want: `config: publish_interval: "fast" from PATH:1: expected a duration 20ms..1s like "200ms"`, line: 1},
		{name: "integer duration", file: "publish_interval = 5\n",
			want: `config: publish_interval: "5" from PATH:1: expected a duration 20ms..1s like "200ms"`, line: 1},
		{name: "duration out of range from env", env: map[string]string{"PUBLISH_INTERVAL": "5s"},
			want: `config: publish_interval: "5s" from env PUBLISH_INTERVAL: expected a duration 20ms..1s like "200ms"`},
		{name: "tls port from flag without files", args: []string{"--tls-port", "8443"},
			want: `config: tls_port: "8443" from flag --tls-port: expected 0 unless tls_cert and tls_key are set`},
		{name: "duration out of range", file: "write_timeout = \"0s\"\n",
			want: `config: write_timeout: "0s" from PATH:1: expected a duration 1s..1h like "10s"`, line: 1},
		{name: "negative rescan", file: "rescan_interval = \"-1s\"\n",
			want: `config: rescan_interval: "-1s" from PATH:1: expected "0" (off) or a duration 1s..24h like "30s"`, line: 1},
		// private stream caps
		{name: "negative station max_private_streams", file: "[[station]]\nroute = \"/solo\"\nmode = \"individual\"\nmax_private_streams = -1\n",
			want: `config: station.max_private_streams: "-1" from PATH:4: expected an integer >= 0`, line: 4},
		{name: "string max_private_streams", file: "port = 8000\nmax_private_streams = \"many\"\n",
			want: `config: max_private_streams: "many" from PATH:2: expected an integer >= 0`, line: 2},
		{name: "max_private_streams from flag", args: []string{"--max-private-streams", "-5"},
			want: `config: max_private_streams: "-5" from flag --max-private-streams: expected an integer >= 0`},
		{name: "max_private_streams from env", env: map[string]string{"MAX_PRIVATE_STREAMS": "lots"},
			want: `config: max_private_streams: "lots" from env MAX_PRIVATE_STREAMS: expected an integer >= 0`},
		{name: "negative station max_encoders", file: "[[station]]\nroute = \"/solo\"\nmax_encoders = -2\n",
			want: `config: station.max_encoders: "-2" from PATH:3: expected an integer >= 0`, line: 3},
		{name: "string max_encoders", file: "port = 8000\nmax_encoders = \"few\"\n",
			want: `config: max_encoders: "few" from PATH:2: expected an integer >= 0`, line: 2},
		{name: "max_encoders from flag", args: []string{"--max-encoders", "-1"},
			want: `config: max_encoders: "-1" from flag --max-encoders: expected an integer >= 0`},
		{name: "max_encoders from env", env: map[string]string{"MAX_ENCODERS": "lots"},
			want: `config: max_encoders: "lots" from env MAX_ENCODERS: expected an integer >= 0`},
		// directory routes
		{name: "invalid JSON in env", env: map[string]string{"DIRECTORY_ROUTES": `{"humor": `},
			want: `config: DIRECTORY_ROUTES from env: invalid JSON: unexpected EOF`},
		{name: "invalid JSON in flag", args: []string{"--directory-routes", "humor:/x"},
			want: `config: --directory-routes from flag: invalid JSON: invalid character 'h' looking for beginning of value`},
		{name: "JSON array", env: map[string]string{"DIRECTORY_ROUTES": `["humor"]`},
			want: `config: DIRECTORY_ROUTES from env: invalid JSON: expected an object like {"humor": "/music/humor"}`},
		{name: "JSON number dir", env: map[string]string{"DIRECTORY_ROUTES": `{"humor": 5}`},
			want: `config: DIRECTORY_ROUTES from env: invalid JSON: the directory of "humor" must be a string`},
		{name: "JSON empty dir", env: map[string]string{"DIRECTORY_ROUTES": `{"humor": ""}`},
			want: `config: DIRECTORY_ROUTES: "" from env: expected a directory for route /humor (a leading "~" needs HOME)`},
		{name: "bad fallback pair", env: map[string]string{"DIRECTORY_ROUTES": "humor:/a;science"},
			want: `config: DIRECTORY_ROUTES from env: "science" is not route:path (expected a JSON object or route:path;route:path)`},
		// duplicates within one source
		{name: "duplicate stations", file: "[[station]]\nroute = \"humor\"\n[[station]]\nroute = \"/humor/\"\n",
			want: `config: station.route: "/humor/" from PATH:4: route /humor is defined twice (first at line 2)`, line: 4},
		{name: "duplicate JSON key after normalising", env: map[string]string{"DIRECTORY_ROUTES": `{"humor": "/a", "/humor": "/b"}`},
			want: `config: DIRECTORY_ROUTES: "/humor" from env: route /humor appears twice`},
		{name: "literal duplicate JSON key", args: []string{"--directory-routes", `{"a": "/a", "a": "/b"}`},
			want: `config: --directory-routes: "a" from flag: route /a appears twice`},
		{name: "duplicate stream route", env: map[string]string{"AUDIO_STREAM_ROUTES": "/humor, humor"},
			want: `config: AUDIO_STREAM_ROUTES: "humor" from env: route /humor appears twice`},
		// route rules
		{name: "dot-dot in station", file: "[[station]]\nroute = \"/../x\"\n",
			want: `config: station.route: "/../x" from PATH:2: expected a route without "." or ".." segments`, line: 2},
		{name: "dot-dot in directory routes", env: map[string]string{"DIRECTORY_ROUTES": `{"../x": "/x"}`},
			want: `config: DIRECTORY_ROUTES: "../x" from env: expected a route without "." or ".." segments`},
		{name: "percent in route", env: map[string]string{"DIRECTORY_ROUTES": `{"/hu%20mor": "/x"}`},
			want: `config: DIRECTORY_ROUTES: "/hu%20mor" from env: expected a route like "/humor" or "/юмор": path segments of letters, digits, ".", "_", "~" and "-"`},
		{name: "reserved route", env: map[string]string{"AUDIO_STREAM_ROUTES": "/metrics"},
			want: `config: AUDIO_STREAM_ROUTES: "/metrics" from env: expected a route outside the server's own path /metrics`},
		{name: "below a reserved route", file: "[[station]]\nroute = \"web/jazz\"\n",
			want: `config: station.route: "web/jazz" from PATH:2: expected a route outside the server's own path /web`, line: 2},
		{name: "missing station route", file: "port = 1\n\n[[station]]\ndir = \"/x\"\n",
			want: `config: station.route from PATH:3: missing: every [[station]] needs a route`, line: 3},
		// other values
		{name: "garbage boolean", env: map[string]string{"SHUFFLE": "maybe"},
			want: `config: shuffle: "maybe" from env SHUFFLE: expected true, false, 1, 0, yes or no`},
		{name: "garbage integer from seed env", env: map[string]string{"MAX_CLIENTS": "10x"},
			want: `config: max_clients: "10x" from env MAX_CLIENTS: expected an integer >= 0`},
		{name: "bad log level", env: map[string]string{"LOG_LEVEL": "loud"},
			want: `config: log_level: "loud" from env LOG_LEVEL: expected debug, info, warn, warning or error`},
		{name: "bad charset", file: "[[station]]\nroute = \"/a\"\nicy_charset = \"cp1251\"\n",
			want: `config: station.icy_charset: "cp1251" from PATH:3: expected utf-8 or latin1`, line: 3},
		{name: "charset not a string", file: "[[station]]\nroute = \"/a\"\nicy_charset = 1\n",
			want: `config: station.icy_charset: "1" from PATH:3: expected utf-8 or latin1`, line: 3},
		{name: "bad sample rate", file: "[[station]]\nroute = \"/a\"\nsample_rate = 44000\n",
			want: `config: station.sample_rate: "44000" from PATH:3: expected an MP3 sample rate: 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100 or 48000`, line: 3},
		{name: "tls cert without key", file: "tls_cert = \"/c.pem\"\ntls_port = 443\n",
			want: `config: tls_cert: "/c.pem" from PATH:1: expected tls_cert together with tls_key (tls_key is not set)`, line: 1},
		{name: "tls without port", file: "tls_cert = \"/c.pem\"\ntls_key = \"/k.pem\"\n",
			want: `config: tls_port: "0" from PATH:1: expected a tls_port 1..65535 when tls_cert and tls_key are set`, line: 1},
		{name: "tls key without cert", env: map[string]string{"AUDIO_STREAMER_CONFIG": ""}, file: "tls_key = \"/k.pem\"\n",
			want: `config: tls_key: "/k.pem" from PATH:1: expected tls_key together with tls_cert (tls_cert is not set)`, line: 1},
		{name: "tls port without files", args: []string{"--port", "8000"}, file: "\ntls_port = 8443\n",
			want: `config: tls_port: "8443" from PATH:2: expected 0 unless tls_cert and tls_key are set`, line: 2},
		{name: "tls port equals port", args: []string{"--port", "8443"}, file: "tls_cert = \"/c\"\ntls_key = \"/k\"\ntls_port = 8443\n",
			want: `config: tls_port: "8443" from PATH:3: expected a port other than port 8443`, line: 3},
		// line lookup corner cases
		{name: "key text inside a multi-line string", file: "environment = \"\"\"\nport = 5\n\"\"\"\n\"port\" = \"x\"\n",
			want: `config: port: "x" from PATH:4: expected an integer 1..65535`, line: 4},
		{name: "inline station array", file: "station = [{route = \"/a\"}, {route = \"/a\"}]\n",
			want: `config: station.route: "/a" from PATH: route /a is defined twice`},
		// live sources and relays
		{name: "live_only with a folder", file: "[[station]]\nroute = \"/live\"\ndir = \"/x\"\nlive_only = true\n",
			want: `config: station.live_only: "true" from PATH:4: expected no dir on a live_only station: it plays no folder (remove dir or live_only)`, line: 4},
		{name: "fallback loop", file: "[[station]]\nroute = \"/a\"\nfallback = \"/b\"\n[[station]]\nroute = \"/b\"\nfallback = \"/a\"\n",
			want: `config: station.fallback: "/b" from PATH:3: expected a chain of fallbacks that ends (/a -> /b -> /a loops)`, line: 3},
		{name: "fallback to nowhere", file: "[[station]]\nroute = \"/a\"\nfallback = \"/nope\"\n",
			want: `config: station.fallback: "/nope" from PATH:3: expected the route of a station (/nope is not one)`, line: 3},
		{name: "fallback with a folder", file: "[[station]]\nroute = \"/a\"\ndir = \"/x\"\nfallback = \"/\"\n",
			want: `config: station.fallback: "/" from PATH:4: expected no fallback on a station with a folder: it falls back to its folder (fallback is for live_only stations)`, line: 4},
		{name: "fallback to an individual station", file: "[[station]]\nroute = \"/a\"\nfallback = \"/p\"\n[[station]]\nroute = \"/p\"\nmode = \"individual\"\n",
			want: `config: station.fallback: "/p" from PATH:3: expected a radio-mode station (/p is in individual mode: it has no shared stream to fall back to)`, line: 3},
		{name: "fallback to an on-demand relay", file: "[[station]]\nroute = \"/a\"\nfallback = \"/r\"\n[[station]]\nroute = \"/r\"\nrelay = \"http://h/s\"\non_demand = true\n",
			want: `config: station.fallback: "/r" from PATH:3: expected a station that plays without listeners of its own (/r is an on_demand relay)`, line: 3},
		{name: "relay in individual mode", file: "[[station]]\nroute = \"/a\"\nmode = \"individual\"\nrelay = \"http://h/s\"\n",
			want: `config: station.mode: "individual" from PATH:3: expected radio for a station with a relay: live shows and relays are one shared stream`, line: 3},
		{name: "source password in individual mode", file: "[[station]]\nroute = \"/a\"\nmode = \"individual\"\nsource_password = \"x\"\n",
			want: `config: station.mode: "individual" from PATH:3: expected radio for a station with a source_password: live shows and relays are one shared stream`, line: 3},
		{name: "on_demand without relay", file: "[[station]]\nroute = \"/a\"\non_demand = true\n",
			want: `config: station.on_demand: "true" from PATH:3: expected on_demand together with relay (relay is not set)`, line: 3},
		{name: "relay not http", file: "[[station]]\nroute = \"/a\"\nrelay = \"ftp://h/s\"\n",
			want: `config: station.relay: "ftp://h/s" from PATH:3: expected an http:// or https:// stream URL like "http://example.org:8000/stream"`, line: 3},
		{name: "shoutcast mount not a station", file: "shoutcast_mount = \"/nope\"\n",
			want: `config: shoutcast_mount: "/nope" from PATH:1: expected the route of a station`, line: 1},
		{name: "source timeout zero", env: map[string]string{"SOURCE_TIMEOUT": "0s"},
			want: `config: source_timeout: "0s" from env SOURCE_TIMEOUT: expected a duration 1s..10m like "10s"`},
		{name: "bad live_transcode", file: "[[station]]\nroute = \"/a\"\nlive_transcode = \"maybe\"\n",
			want: `config: station.live_transcode: "maybe" from PATH:3: expected auto, never or always`, line: 3},
		// command line
		{name: "unknown flag", args: []string{"--colour", "red"},
			want: `config: command line: flag provided but not defined: -colour`},
		{name: "positional argument", args: []string{"--port", "80", "extra"},
			want: `config: command line: unexpected argument "extra" (settings are flags like --port 8000)`},
		{name: "config file from env not found", env: map[string]string{"AUDIO_STREAMER_CONFIG": "/nonexistent/as.toml"},
			want: `config: config file: "/nonexistent/as.toml" from env AUDIO_STREAMER_CONFIG: open /nonexistent/as.toml: no such file or directory`},
	}
	checkErrors(t, tests)
}

func TestErrorUnwrap(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		target error
	}{
		{"--help", []string{"--help"}, flag.ErrHelp},
		{"-h", []string{"-h"}, flag.ErrHelp},
		{"missing file", []string{"--config", "/nonexistent/x.toml"}, fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(tt.args, nil)
			if !errors.Is(err, tt.target) {
				t.Errorf("Load(%q) = %v, want an error wrapping %v", tt.args, err, tt.target)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		err  config.Error
		want string
	}{
		{config.Error{Key: "port", Value: "abc", Source: "env PORT", Expected: "an integer 1..65535"},
			`config: port: "abc" from env PORT: expected an integer 1..65535`},
		{config.Error{Key: "stream_mode", Value: "party", Source: "/etc/as.toml", Line: 7, Expected: "radio or individual"},
			`config: stream_mode: "party" from /etc/as.toml:7: expected radio or individual`},
		{config.Error{Key: "colour", Source: "/etc/as.toml", Line: 3, Reason: "unknown key"},
			`config: unknown key "colour" in /etc/as.toml:3`},
		{config.Error{Key: "DIRECTORY_ROUTES", Source: "env", Reason: "invalid JSON: x"},
			`config: DIRECTORY_ROUTES from env: invalid JSON: x`},
		{config.Error{Source: "/etc/as.toml", Line: 2, Reason: "invalid TOML: y"},
			`config: /etc/as.toml:2: invalid TOML: y`},
		{config.Error{Key: "route", Value: "/../x", Expected: "z"},
			`config: route: "/../x": expected z`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}

func TestNormalizeRoute(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"humor", "/humor", true},
		{"/humor", "/humor", true},
		{"//humor/", "/humor", true},
		{"  /humor  ", "/humor", true},
		{"/a//b/", "/a/b", true},
		{"/", "/", true},
		{"//", "/", true},
		{"/Jazz-1_x.y~z", "/Jazz-1_x.y~z", true},
		{"/webradio", "/webradio", true},
		{"/streamsx", "/streamsx", true},
		{"", "", false},
		{"   ", "", false},
		{"/../x", "", false},
		{"/a/./b", "", false},
		{"..", "", false},
		{"/hu mor", "", false},
		{"/hümor", "/hümor", true},
		{"юмор", "/юмор", true},
		{"/Наука/2024", "/Наука/2024", true},
		{"/a?b", "", false},
		{"/a%20b", "", false},
		{"/a\tb", "", false},
		{"/a\x00b", "", false},
		{"/a\u00a0b", "", false}, // no-break space
		{"/a\u202eb", "", false}, // right-to-left override
		{"/\u0306", "", false},   // a combining mark with nothing to combine with
		{"/a\xffb", "", false},   // not UTF-8
		{"/web", "", false},
		{"/web/", "", false},
		{"/web/jazz", "", false},
		{"status.json", "", false},
		{"/listen.m3u", "", false},
		{"/direct-stream", "", false},
	}
	for _, tt := range tests {
		got, err := config.NormalizeRoute(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("NormalizeRoute(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestUnicodeRoutes: Russian-speaking operators name stations in Cyrillic;
// the route is stored NFC so the server, which NFC-normalises request
// paths, finds it however the operator's keyboard composed "й".
func TestUnicodeRoutes(t *testing.T) {
	const nfc, nfd = "/новый-й", "/новыи\u0306-и\u0306" // "й" precomposed, then as и + combining breve
	got, err := config.NormalizeRoute(nfd)
	if err != nil || got != nfc {
		t.Errorf("NormalizeRoute(NFD %+q) = %+q, %v; want NFC %+q", nfd, got, err, nfc)
	}

	c := mustLoad(t, nil, map[string]string{"DIRECTORY_ROUTES": `{"юмор": "/music/humor", "` + nfd + `": "/music/new"}`})
	if want := []string{"/", "/юмор", nfc}; !slices.Equal(routes(c), want) {
		t.Fatalf("routes = %q, want %q", routes(c), want)
	}
	if d := station(t, c, "/юмор").Dir; d != "/music/humor" {
		t.Errorf("/юмор Dir = %q, want /music/humor", d)
	}

	// Composed and decomposed spellings are one route, named twice.
	_, err = config.Load([]string{"--directory-routes", `{"` + nfc + `": "/a", "` + nfd + `": "/b"}`}, envOf(nil))
	if err == nil || !strings.Contains(err.Error(), "appears twice") {
		t.Errorf("NFC and NFD spellings of one route: err = %v, want \"appears twice\"", err)
	}
}

func TestReservedPathsAreRefused(t *testing.T) {
	for _, p := range endpoint.All() {
		for _, r := range []string{p, p + "/below"} {
			if _, err := config.NormalizeRoute(r); err == nil {
				t.Errorf("reserved %s accepted", r)
			}
		}
	}
}

func TestStations(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		env      map[string]string
		args     []string
		want     []string          // routes in order
		dirs     map[string]string // route → Dir
		warnings []string          // substrings, each must be in some warning
	}{
		{
			name: "one route spelled three ways in three sources",
			file: "[[station]]\nroute = \"humor\"\ndir = \"/file/humor\"\ngenre = \"Jokes\"\n",
			env:  map[string]string{"DIRECTORY_ROUTES": `{"/humor": "/env/humor"}`},
			args: []string{"--directory-routes", `{"//humor/": "/flag/humor"}`},
			want: []string{"/", "/humor"},
			dirs: map[string]string{"/": "/app/audio", "/humor": "/flag/humor"},
		},
		{
			name: "env directory route overrides the file's dir",
			file: "[[station]]\nroute = \"/humor\"\ndir = \"/file/humor\"\n",
			env:  map[string]string{"DIRECTORY_ROUTES": `{"humor": "/env/humor"}`},
			want: []string{"/", "/humor"},
			dirs: map[string]string{"/humor": "/env/humor"},
		},
		{
			name:     "stream routes without dirs play audio-dir",
			env:      map[string]string{"AUDIO_STREAM_ROUTES": "/, /humor ,science,"},
			args:     []string{"--audio-dir", "/music"},
			want:     []string{"/", "/humor", "/science"},
			dirs:     map[string]string{"/": "/music", "/humor": "/music", "/science": "/music"},
			warnings: []string{"route /humor from AUDIO_STREAM_ROUTES has no directory of its own; it plays audio_dir /music"},
		},
		{
			name: "stream routes flag replaces env list",
			env:  map[string]string{"AUDIO_STREAM_ROUTES": "/a"},
			args: []string{"--stream-routes", "/b"},
			want: []string{"/", "/b"},
		},
		{
			name: "python dockerfile settings",
			env: map[string]string{
				"AUDIO_STREAM_ROUTES": "/,/humor,/science",
				"DIRECTORY_ROUTES":    `{"humor":"/app/humor","science":"/app/science"}`,
			},
			want: []string{"/", "/humor", "/science"},
			dirs: map[string]string{"/": "/app/audio", "/humor": "/app/humor", "/science": "/app/science"},
		},
		{
			name: "go seed fallback format",
			env:  map[string]string{"DIRECTORY_ROUTES": "humor:/app/humor; /science:/app/science ;"},
			want: []string{"/", "/humor", "/science"},
			dirs: map[string]string{"/humor": "/app/humor", "/science": "/app/science"},
		},
		{
			name:     "directory route for / replaces audio-dir",
			env:      map[string]string{"DIRECTORY_ROUTES": `{"/": "/root-music", "jazz": "/jazz"}`},
			args:     []string{"--audio-dir", "/music"},
			want:     []string{"/", "/jazz"},
			dirs:     map[string]string{"/": "/root-music"},
			warnings: []string{"audio_dir /music is not used"},
		},
		{
			name: "file order kept, implicit / first, env routes after file",
			file: "[[station]]\nroute = \"/b\"\ndir = \"/b\"\n[[station]]\nroute = \"/a\"\n",
			env:  map[string]string{"DIRECTORY_ROUTES": `{"c": "/c"}`},
			want: []string{"/", "/b", "/a", "/c"},
			dirs: map[string]string{"/a": "/app/audio", "/b": "/b"},
		},
		{
			name: "station / defined in the file keeps its place",
			file: "[[station]]\nroute = \"/a\"\ndir = \"/a\"\n[[station]]\nroute = \"/\"\ndir = \"/main\"\n",
			want: []string{"/a", "/"},
			dirs: map[string]string{"/": "/main"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.file != "" {
				args = append(slices.Clone(args), "--config", writeTOML(t, tt.file))
			}
			c := mustLoad(t, args, tt.env)
			if got := routes(c); !slices.Equal(got, tt.want) {
				t.Errorf("routes = %v, want %v", got, tt.want)
			}
			for r, d := range tt.dirs {
				if got := station(t, c, r).Dir; got != d {
					t.Errorf("%s Dir = %q, want %q", r, got, d)
				}
			}
			for _, w := range tt.warnings {
				if !slices.ContainsFunc(c.Warnings, func(s string) bool { return strings.Contains(s, w) }) {
					t.Errorf("no warning containing %q in %q", w, c.Warnings)
				}
			}
		})
	}
}

func TestStationDefaults(t *testing.T) {
	file := writeTOML(t, `
burst = "4s"
icy_metaint = 8192

[[station]]
route = "/plain"
dir = "/plain"

[[station]]
route = "/own"
dir = "/own"
name = ""
mode = "radio"
shuffle = true
bitrate = 64
max_listeners = 3
max_private_streams = 0
max_encoders = 4
burst = 0
icy_charset = "ISO-8859-1"
extensions = ["FLAC", ".ogg", "flac"]
`)
	env := map[string]string{"STREAM_MODE": "individual", "SHUFFLE": "no", "BITRATE": "192", "MAX_CLIENTS": "10"}
	c := mustLoad(t, []string{"--config", file}, env)
	plain := station(t, c, "/plain")
	wantPlain := config.Station{
		Route: "/plain", Dir: "/plain", Name: "audio-streamer /plain", Description: "Stream /plain", Genre: "Various",
		Mode: config.ModeIndividual, Shuffle: false, Burst: config.Burst{Duration: 4 * time.Second}, Metaint: 8192,
		ICYCharset: icy.UTF8, Bitrate: 192, SampleRate: 44100, Channels: 2, Transcode: "auto", MaxListeners: 10,
		HistorySize: 100, MaxPrivateStreams: 50, SourceTimeout: 10 * time.Second, LiveTranscode: "auto", AfterLive: "next",
		JingleTitle: "audio-streamer /plain", SilenceThreshold: -50,
	}
	if !reflect.DeepEqual(plain, wantPlain) {
		t.Errorf("inherited station\n got %+v\nwant %+v", plain, wantPlain)
	}
	own := station(t, c, "/own")
	wantOwn := config.Station{
		Route: "/own", Dir: "/own", Name: "", Description: "Stream /own", Genre: "Various",
		Mode: config.ModeRadio, Shuffle: true, Burst: config.Burst{}, Metaint: 8192,
		ICYCharset: icy.Latin1, Bitrate: 64, SampleRate: 44100, Channels: 2, Transcode: "auto", MaxListeners: 3,
		MaxEncoders: 4, Extensions: []string{".flac", ".ogg"}, HistorySize: 100, SourceTimeout: 10 * time.Second, LiveTranscode: "auto", AfterLive: "next",
		JingleTitle: "", SilenceThreshold: -50, // the jingle title follows the name, here set to ""
	}
	if !reflect.DeepEqual(own, wantOwn) {
		t.Errorf("explicit station\n got %+v\nwant %+v", own, wantOwn)
	}
}

// TestLiveStations: a [[station]] with a relay or a fallback and no dir
// has no folder; source_password and source_timeout follow the top level
// (flag over env over file) unless a station sets its own.
func TestLiveStations(t *testing.T) {
	file := writeTOML(t, `
source_password = "from-file"
[[station]]
route = "/relayed"
relay = "http://upstream:8000/stream"
on_demand = true
[[station]]
route = "/show"
live_only = true
fallback = "/"
source_password = "dj-only"
record_dir = "/rec"
[[station]]
route = "/both"
dir = "/music"
relay = "https://upstream/s"
after_live = "resume"
`)
	c := mustLoad(t, []string{"--config", file, "--source-timeout", "30s"}, map[string]string{"SOURCE_PASSWORD": "from-env"})
	relayed, show, both := station(t, c, "/relayed"), station(t, c, "/show"), station(t, c, "/both")
	if relayed.HasFolder() || !relayed.LiveOnly || !relayed.OnDemand || relayed.Relay != "http://upstream:8000/stream" {
		t.Errorf("relay without dir: %+v, want no folder, on demand", relayed)
	}
	if show.HasFolder() || show.Fallback != "/" || show.SourcePassword != "dj-only" || show.RecordDir != "/rec" {
		t.Errorf("live show: %+v", show)
	}
	if !both.HasFolder() || both.Dir != "/music" || both.LiveOnly || both.AfterLive != "resume" {
		t.Errorf("relay with a folder: %+v", both)
	}
	if relayed.SourcePassword != "from-env" || relayed.SourceTimeout != 30*time.Second || show.SourceTimeout != 30*time.Second {
		t.Errorf("inherited: password %q timeout %v, want from-env and 30s", relayed.SourcePassword, relayed.SourceTimeout)
	}
	if main := station(t, c, "/"); !main.HasFolder() || main.LiveOnly {
		t.Errorf("/ lost its folder: %+v", main)
	}
}

func TestHomeExpansion(t *testing.T) {
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, "as.toml"), []byte("state_dir = \"~/state\"\n[[station]]\nroute = \"/f\"\ndir = \"~\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"HOME":             home,
		"DIRECTORY_ROUTES": `{"humor": "~/humor/"}`,
		"TLS_CERTIFICATE":  "~/ignored", // not a setting: must have no effect
	}
	c := mustLoad(t, []string{"--config", "~/as.toml", "--audio-dir", "~/music"}, env)
	tests := []struct{ name, got, want string }{
		{"audio dir", c.AudioDir, filepath.Join(home, "music")},
		{"state dir from file", c.StateDir, filepath.Join(home, "state")},
		{"station dir ~ alone", station(t, c, "/f").Dir, home},
		{"directory route, cleaned", station(t, c, "/humor").Dir, filepath.Join(home, "humor")},
		{"/ follows audio dir", station(t, c, "/").Dir, filepath.Join(home, "music")},
		{"unset path untouched", c.TLSCert, ""},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	// "~user" is not ours to expand.
	c = mustLoad(t, []string{"--audio-dir", "~bob/music"}, env)
	if c.AudioDir != "~bob/music" {
		t.Errorf("~bob/music became %q", c.AudioDir)
	}
}

func TestWarnings(t *testing.T) {
	existing := t.TempDir()
	aFile := filepath.Join(existing, "file.mp3")
	if err := os.WriteFile(aFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(existing, "nope")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"existing dir", []string{"--audio-dir", existing}, nil},
		{"missing dir", []string{"--audio-dir", missing},
			[]string{"directory " + missing + " for route / does not exist; the station will wait for files"}},
		{"file instead of dir", []string{"--audio-dir", existing, "--directory-routes", `{"x": "` + aFile + `"}`},
			[]string{aFile + " for route /x is not a directory; the station will wait for files"}},
		{"missing default audio dir is main's business", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustLoad(t, tt.args, nil)
			if !slices.Equal(c.Warnings, tt.want) {
				t.Errorf("Warnings = %q, want %q", c.Warnings, tt.want)
			}
		})
	}
}

func TestEnvValues(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		check func(*config.Config) bool
	}{
		{"empty env counts as unset", map[string]string{"PORT": ""}, func(c *config.Config) bool { return c.Port == 9999 }},
		{"AUDIO_DIR sets AudioDirSet", map[string]string{"AUDIO_DIR": "/m"}, func(c *config.Config) bool { return c.AudioDir == "/m" && c.AudioDirSet }},
		{"SHUFFLE=0", map[string]string{"SHUFFLE": "0"}, func(c *config.Config) bool { return !c.Stations[0].Shuffle }},
		{"SHUFFLE=YES", map[string]string{"SHUFFLE": "YES"}, func(c *config.Config) bool { return c.Stations[0].Shuffle }},
		{"SHUFFLE=false", map[string]string{"SHUFFLE": "false"}, func(c *config.Config) bool { return !c.Stations[0].Shuffle }},
		{"LOG_LEVEL=warning", map[string]string{"LOG_LEVEL": "warning"}, func(c *config.Config) bool { return c.LogLevel == slog.LevelWarn }},
		{"LOG_LEVEL=DEBUG", map[string]string{"LOG_LEVEL": "DEBUG"}, func(c *config.Config) bool { return c.LogLevel == slog.LevelDebug }},
		{"LOG_FORMAT=json", map[string]string{"LOG_FORMAT": "json"}, func(c *config.Config) bool { return c.LogFormat == "json" }},
		{"BURST=2500ms", map[string]string{"BURST": "2500ms"}, func(c *config.Config) bool { return c.Burst.Duration == 2500*time.Millisecond }},
		{"ADMIN_TOKEN", map[string]string{"ADMIN_TOKEN": "s3cret"}, func(c *config.Config) bool { return c.AdminToken == "s3cret" }},
		{"ACCESS_LOG to a file", map[string]string{"ACCESS_LOG": "/var/log/audio-streamer/access.log"},
			func(c *config.Config) bool { return c.AccessLog == "/var/log/audio-streamer/access.log" }},
		{"ACCESS_LOG to stdout", map[string]string{"ACCESS_LOG": "-"}, func(c *config.Config) bool { return c.AccessLog == "-" }},
		{"ACCESS_LOG unset", map[string]string{}, func(c *config.Config) bool { return c.AccessLog == "" }},
		{"SENTRY_DSN and ENVIRONMENT", map[string]string{"SENTRY_DSN": "https://k@x/1", "ENVIRONMENT": "staging"},
			func(c *config.Config) bool { return c.SentryDSN == "https://k@x/1" && c.Environment == "staging" }},
		{"STATE_DIR", map[string]string{"STATE_DIR": "/var/lib/audio-streamer"}, func(c *config.Config) bool { return c.StateDir == "/var/lib/audio-streamer" }},
		{"timings", map[string]string{"PUBLISH_INTERVAL": "250ms", "WRITE_TIMEOUT": "1m", "HEADER_TIMEOUT": "5s", "RESCAN_INTERVAL": "0"},
			func(c *config.Config) bool {
				return c.PublishInterval == 250*time.Millisecond && c.WriteTimeout == time.Minute && c.HeaderTimeout == 5*time.Second && c.RescanInterval == 0
			}},
		{"listener limits", map[string]string{"MAX_LISTENERS": "5000", "MAX_CONNS_PER_IP": "4"},
			func(c *config.Config) bool { return c.MaxListeners == 5000 && c.MaxConnsPerIP == 4 }},
		{"MAX_PRIVATE_STREAMS", map[string]string{"MAX_PRIVATE_STREAMS": "0"}, func(c *config.Config) bool { return c.MaxPrivateStreams == 0 }},
		{"MAX_ENCODERS", map[string]string{"MAX_ENCODERS": "0"}, func(c *config.Config) bool { return c.MaxEncoders == 0 }},
		{"TLS", map[string]string{"TLS_CERT": "/c.pem", "TLS_KEY": "/k.pem", "TLS_PORT": "8443"},
			func(c *config.Config) bool { return c.TLSCert == "/c.pem" && c.TLSKey == "/k.pem" && c.TLSPort == 8443 }},
		{"SERVER_ADMIN and SERVER_LOCATION", map[string]string{"SERVER_ADMIN": "ops@example.org", "SERVER_LOCATION": "Berlin"},
			func(c *config.Config) bool { return c.Admin == "ops@example.org" && c.Location == "Berlin" }},
		{"FFMPEG_PATH", map[string]string{"FFMPEG_PATH": "/opt/ffmpeg/bin/ffmpeg"}, func(c *config.Config) bool { return c.FFmpegPath == "/opt/ffmpeg/bin/ffmpeg" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c := mustLoad(t, nil, tt.env); !tt.check(c) {
				t.Errorf("unexpected config %+v", c)
			}
		})
	}
}

func TestSeedFlags(t *testing.T) {
	c := mustLoad(t, []string{"-shuffle=false", "-bitrate", "96", "-max-clients", "7", "--metaint", "8192", "--log-level", "error"}, nil)
	st := c.Stations[0]
	if st.Shuffle || st.Bitrate != 96 || st.MaxListeners != 7 || st.Metaint != 8192 || c.LogLevel != slog.LevelError {
		t.Errorf("seed flags not applied: %+v / %+v", c, st)
	}
	c = mustLoad(t, []string{"--shuffle"}, map[string]string{"SHUFFLE": "false"})
	if !c.Stations[0].Shuffle {
		t.Error("--shuffle alone did not override SHUFFLE=false")
	}
}

func TestExampleLoads(t *testing.T) {
	c := mustLoad(t, []string{"--config", "../../config.example.toml"}, nil)
	if got := routes(c); !slices.Equal(got, []string{"/", "/humor"}) {
		t.Errorf("routes = %v", got)
	}
	// Top-level values in the example are the defaults.
	d := config.Defaults()
	got := *c
	got.Stations, got.Warnings, got.AudioDirSet = nil, nil, false
	if !reflect.DeepEqual(got, d) {
		t.Errorf("example top level differs from Defaults()\n got %+v\nwant %+v", got, d)
	}
	// Station values in the example are what the defaults would give.
	plain := mustLoad(t, []string{"--stream-routes", "/humor"}, nil)
	for i, st := range c.Stations {
		want := plain.Stations[i]
		if st.Route == "/humor" {
			want.Dir = "/app/humor"
		}
		if !reflect.DeepEqual(st, want) {
			t.Errorf("example station %s\n got %+v\nwant %+v", st.Route, st, want)
		}
	}
}

// TestEncodedConfigLoadsBack checks that the loader reads every key under the
// name of its struct tag and in the form the encoder writes, so a Config can
// be saved as a file.
func TestEncodedConfigLoadsBack(t *testing.T) {
	dir := t.TempDir()
	first := mustLoad(t, []string{"--config", "../../config.example.toml"}, map[string]string{"BURST": "3s", "LOG_LEVEL": "debug"})
	first.Stations[1].Extensions = []string{".flac"}
	first.TLSCert, first.TLSKey, first.TLSPort = "/c.pem", "/k.pem", 9443
	first.RescanInterval = 0
	first.Timezone = "Europe/Berlin"
	humor := &first.Stations[1]
	humor.Loudness, humor.TrimSilence, humor.SilenceThreshold = -16.5, true, -60
	humor.Jingles, humor.JingleEvery, humor.JingleInterval, humor.JingleTitle = "/app/jingles", 4, 30*time.Minute, "Humor FM"
	humor.Schedule = []config.ScheduleSlot{ // as Load stores them
		{Name: "Morning", Days: "weekdays", Start: "07:00", End: "10:00", Zone: "Europe/Berlin", Plays: "/app/shows/morning"},
		{Days: "fri", Start: "22:00", End: "24:00", Zone: "America/New_York", Plays: config.PlaysLive, Fallback: "/app/friday.m3u", Cut: true},
	}
	data, err := toml.Marshal(first)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "saved.toml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	second := mustLoad(t, []string{"--config", path}, nil)
	first.Warnings, second.Warnings = nil, nil
	if !reflect.DeepEqual(first, second) {
		t.Errorf("round trip differs\nfirst  %+v\nsecond %+v\nfile:\n%s", first, second, data)
	}
}

func TestUsage(t *testing.T) {
	u := config.Usage()
	for _, want := range []string{"-config", "-host", "-port", "-audio-dir", "-stream-mode", "-buffer-size",
		"-max-preload-tracks", "-burst", "-metaint", "-directory-routes", "-stream-routes", "-sentry-dsn",
		"-log-format", "-log-level", "-admin", "-location", "-shuffle", "-bitrate", "-max-clients",
		"-loudness", "-trim-silence", "-timezone", "default UTC",
		"AUDIO_STREAM_ROUTES", "DIRECTORY_ROUTES", "ADMIN_TOKEN", "ENVIRONMENT", "SERVER_ADMIN", "default 9999"} {
		if !strings.Contains(u, want) {
			t.Errorf("Usage() lacks %q", want)
		}
	}
	for _, name := range config.EnvNames() {
		if !strings.Contains(u, name) {
			t.Errorf("Usage() does not name env %s", name)
		}
	}
}

// TestEnvNames pins the environment variables users and images set:
// renaming one breaks deployments.
func TestEnvNames(t *testing.T) {
	want := []string{"ACCENT_COLOR", "ACCESS_LOG", "ADMIN_TOKEN", "AUDIO_DIR", "AUDIO_STREAMER_CONFIG", "AUDIO_STREAM_ROUTES", "BITRATE",
		"BUFFER_SIZE", "BURST", "DIRECTORY_ROUTES", "ENVIRONMENT", "FFMPEG_PATH", "HEADER_TIMEOUT", "HOST",
		"LOG_FORMAT", "LOG_LEVEL", "LOUDNESS", "MAX_CLIENTS", "MAX_CONNS_PER_IP", "MAX_ENCODERS", "MAX_LISTENERS", "MAX_PRELOAD_TRACKS",
		"MAX_PRIVATE_STREAMS", "PORT", "PUBLIC_URL", "PUBLISH_INTERVAL", "RESCAN_INTERVAL", "SENTRY_DSN", "SERVER_ADMIN", "SERVER_DESCRIPTION", "SERVER_LOCATION",
		"SERVER_LOGO", "SERVER_NAME", "SHOUTCAST_MOUNT", "SHOW_LISTENERS", "SHUFFLE", "SOURCE_PASSWORD", "SOURCE_TIMEOUT", "STATE_DIR", "STREAM_MODE", "TIMEZONE", "TLS_CERT", "TLS_KEY", "TLS_PORT", "TRIM_SILENCE", "TRUSTED_PROXIES", "WRITE_TIMEOUT"}
	if got := config.EnvNames(); !slices.Equal(got, want) {
		t.Errorf("EnvNames() = %q\nwant %q", got, want)
	}
}

// TestCharsetFollowsICY: every spelling icy.ParseCharset takes is a valid
// icy_charset, stored as its canonical name and parsed.
func TestCharsetFollowsICY(t *testing.T) {
	for in, want := range map[string]icy.Charset{"utf-8": icy.UTF8, "UTF8": icy.UTF8, "latin1": icy.Latin1,
		"Latin-1": icy.Latin1, "ISO-8859-1": icy.Latin1, "iso8859-1": icy.Latin1, " ISO8859-1 ": icy.Latin1} { //nolint:gocritic // the spaces are the case under test
		file := writeTOML(t, "[[station]]\nroute = \"/a\"\nicy_charset = \""+in+"\"\n")
		st := station(t, mustLoad(t, []string{"--config", file}, nil), "/a")
		if st.ICYCharset != want {
			t.Errorf("icy_charset %q: %v, want %v", in, st.ICYCharset, want)
		}
	}
}

func TestAdminAndLocationFlags(t *testing.T) {
	file := writeTOML(t, "admin = \"file@x\"\nlocation = \"Mars\"\n")
	c := mustLoad(t, []string{"--config", file, "--admin", "flag@x"}, map[string]string{"SERVER_LOCATION": "Venus"})
	if c.Admin != "flag@x" || c.Location != "Venus" {
		t.Errorf("Admin %q, Location %q; want flag@x, Venus", c.Admin, c.Location)
	}
}

func TestTildeWithoutHome(t *testing.T) {
	t.Setenv("HOME", "") // os.UserHomeDir fails too
	_, err := config.Load([]string{"--audio-dir", "~/music"}, nil)
	want := `config: audio_dir: "~/music" from flag --audio-dir: expected a non-empty path (a leading "~" needs HOME)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

// TestImageDefaults: the Docker image's IMAGE_DEFAULT_ variables stand in
// for unset settings only while no config file is given, and errors name
// the variable the value came from.
func TestImageDefaults(t *testing.T) {
	image := map[string]string{
		"IMAGE_DEFAULT_AUDIO_STREAM_ROUTES": "/,/humor",
		"IMAGE_DEFAULT_DIRECTORY_ROUTES":    `{"humor": "/app/humor"}`,
		"IMAGE_DEFAULT_STREAM_MODE":         "individual",
	}
	with := func(extra map[string]string) map[string]string {
		env := maps.Clone(image)
		maps.Copy(env, extra)
		return env
	}
	c := mustLoad(t, nil, image)
	if got := routes(c); !slices.Equal(got, []string{"/", "/humor"}) || c.StreamMode != config.ModeIndividual {
		t.Errorf("image defaults alone: routes %v, mode %s", got, c.StreamMode)
	}
	if d := station(t, c, "/humor").Dir; d != "/app/humor" {
		t.Errorf("/humor Dir = %q", d)
	}

	c = mustLoad(t, nil, with(map[string]string{"DIRECTORY_ROUTES": `{"jazz": "/jazz"}`, "STREAM_MODE": "radio"}))
	if got := routes(c); !slices.Equal(got, []string{"/", "/jazz", "/humor"}) || c.StreamMode != config.ModeRadio {
		t.Errorf("user env over image defaults: routes %v, mode %s", got, c.StreamMode)
	}
	if d := station(t, c, "/humor").Dir; d != c.AudioDir {
		t.Errorf("/humor plays %q, want audio_dir: the image's DIRECTORY_ROUTES gives way to the user's", d)
	}

	file := writeTOML(t, "[[station]]\nroute = \"/mine\"\ndir = \"/mine\"\n")
	for _, c := range []*config.Config{
		mustLoad(t, nil, with(map[string]string{"AUDIO_STREAMER_CONFIG": file})),
		mustLoad(t, []string{"--config", file}, image),
	} {
		if got := routes(c); !slices.Equal(got, []string{"/", "/mine"}) || c.StreamMode != config.ModeRadio {
			t.Errorf("with a config file: routes %v, mode %s; want the file's alone", got, c.StreamMode)
		}
	}

	_, err := config.Load(nil, envOf(with(map[string]string{"IMAGE_DEFAULT_BUFFER_SIZE": "lots"})))
	if err == nil || !strings.Contains(err.Error(), "env IMAGE_DEFAULT_BUFFER_SIZE") {
		t.Errorf("bad image default: err = %v, want it to name IMAGE_DEFAULT_BUFFER_SIZE", err)
	}
	_, err = config.Load(nil, envOf(with(map[string]string{"IMAGE_DEFAULT_DIRECTORY_ROUTES": "{"})))
	if err == nil || !strings.Contains(err.Error(), "IMAGE_DEFAULT_DIRECTORY_ROUTES from env") {
		t.Errorf("bad image default routes: err = %v, want it to name IMAGE_DEFAULT_DIRECTORY_ROUTES", err)
	}
}

// TestBranding checks the listener page's settings: from the file, the
// environment and flags, the colour checked, and the defaults.
func TestBranding(t *testing.T) {
	d := config.Defaults()
	if d.ServerName != "" || d.AccentColor != "" || d.Logo != "" || !d.ShowListeners {
		t.Errorf("defaults: %+v", d)
	}
	path := writeTOML(t, `server_name = "Radio Ёлка"
server_description = "Songs of the forest"
logo = "/srv/logo.png"
accent_color = "#1D4ED8"
show_listeners = false

[[station]]
route = "/"
image = "/srv/lounge.jpg"
`)
	c := mustLoad(t, []string{"--config", path}, nil)
	if c.ServerName != "Radio Ёлка" || c.ServerDescription != "Songs of the forest" || c.Logo != "/srv/logo.png" ||
		c.AccentColor != "#1d4ed8" || c.ShowListeners || c.Stations[0].Image != "/srv/lounge.jpg" {
		t.Errorf("from the file: %+v, station %+v", c, c.Stations[0])
	}
	c = mustLoad(t, []string{"--accent-color", "#00aa55", "--show-listeners=false"},
		map[string]string{"SERVER_NAME": "Env FM", "SERVER_LOGO": "/l.webp", "ACCENT_COLOR": "#ffffff"})
	if c.ServerName != "Env FM" || c.Logo != "/l.webp" || c.AccentColor != "#00aa55" || c.ShowListeners {
		t.Errorf("from env and flags: %+v", c)
	}
	for _, bad := range []string{`"red"`, `"#12345"`, `"#1234567"`, `"#12345g"`, `"1d4ed8"`, `7`} {
		_, err := config.Load([]string{"--config", writeTOML(t, "accent_color = "+bad+"\n")}, func(string) (string, bool) { return "", false })
		if err == nil || !strings.Contains(err.Error(), "#rrggbb") {
			t.Errorf("accent_color = %s: error %v", bad, err)
		}
	}
}
