package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Flags and env variables that are not plain settings.
const (
	flagConfig          = "config"
	envConfig           = "AUDIO_STREAMER_CONFIG"
	flagDirectoryRoutes = "directory-routes"
	envDirectoryRoutes  = "DIRECTORY_ROUTES"
	flagStreamRoutes    = "stream-routes"
	envStreamRoutes     = "AUDIO_STREAM_ROUTES"
)

// Load builds the configuration from command-line args (os.Args[1:]), the
// environment (env is os.LookupEnv in production; nil means none) and the
// TOML file named by --config or AUDIO_STREAMER_CONFIG. Precedence: flags >
// env > file > defaults. An empty environment variable counts as unset
// (compose files write FOO= for unset variables).
//
// Every failure is an *Error. For --help / -h the error wraps flag.ErrHelp;
// print [Usage] then.
func Load(args []string, env func(string) (string, bool)) (*Config, error) {
	getenv := func(name string) (string, bool) {
		if env == nil {
			return "", false
		}
		v, ok := env(name)
		return v, ok && v != ""
	}
	flags, err := parseFlags(args)
	if err != nil {
		return nil, err
	}
	home := homeDir(getenv)
	settings := configSettings(home)
	b := &builder{cfg: Defaults(), shuffle: true, bitrate: defaultBitrate, origin: map[string]loc{}}

	var file *tomlFile
	if path, from, ok := configPath(flags, getenv); ok {
		p, ok := expandPath(path, home)
		if !ok || p == "" {
			return nil, &Error{Key: "config file", Value: path, Source: from.source, Expected: `a file path (a leading "~" needs HOME)`}
		}
		if file, err = readTOML(p, from); err != nil {
			return nil, err
		}
		if err := applyFile(b, settings, file); err != nil {
			return nil, err
		}
	}
	for _, s := range settings {
		if v, ok := getenv(s.env); s.env != "" && ok {
			if err := b.set(s, v, loc{source: "env " + s.env}); err != nil {
				return nil, err
			}
		}
	}
	for _, s := range settings {
		if v, ok := flags[s.flag]; s.flag != "" && ok {
			if err := b.set(s, v, loc{source: "flag --" + s.flag}); err != nil {
				return nil, err
			}
		}
	}
	_, b.cfg.AudioDirSet = b.origin["audio_dir"]
	if err := b.checkTop(); err != nil {
		return nil, err
	}
	if err := b.buildStations(file, flags, getenv, home); err != nil {
		return nil, err
	}
	cfg := b.cfg
	return &cfg, nil
}

// set applies a text value (env or flag) and records where it came from.
func (b *builder) set(s setting[builder], v string, from loc) error {
	if err := s.set(b, v); err != nil {
		return errAt(s.name, v, err.Error(), from)
	}
	b.origin[s.name] = from
	return nil
}

// applyFile applies the top-level keys of the file.
func applyFile(b *builder, settings []setting[builder], f *tomlFile) error {
	return applyTable(b, settings, f.top, func(key string) loc {
		return loc{source: f.path, line: f.lineOf("", 0, key)}
	}, "", func(name string, l loc) { b.origin[name] = l })
}

// applyTable applies the keys of one TOML table to dst. where locates a key
// for errors; prefix ("station.") is put before key names in errors;
// onSet is told about every key applied.
func applyTable[T any](dst *T, settings []setting[T], m map[string]any, where func(string) loc, prefix string, onSet func(string, loc)) error {
	for _, s := range settings {
		v, ok := m[s.name]
		if !ok || !s.inFile {
			continue
		}
		l := where(s.name)
		text, list, ok := tomlText(v, s.kind)
		if !ok {
			return errAt(prefix+s.name, fmt.Sprint(v), s.expect, l)
		}
		var err error
		if s.kind == kindList {
			err = s.setList(dst, list)
		} else {
			err = s.set(dst, text)
		}
		if err != nil {
			return errAt(prefix+s.name, text, err.Error(), l)
		}
		onSet(s.name, l)
	}
	return nil
}

// tomlText checks that a decoded TOML value has the type k wants and gives
// it as the text that env and flags would carry. A string where an integer
// belongs is refused rather than converted: the file has real types.
func tomlText(v any, k kind) (text string, list []string, ok bool) {
	switch v := v.(type) {
	case string:
		if k == kindString || k == kindDuration || k == kindBurst {
			return v, nil, true
		}
	case int64:
		if k == kindInt || k == kindBurst {
			return strconv.FormatInt(v, 10), nil, true
		}
	case bool:
		if k == kindBool {
			return strconv.FormatBool(v), nil, true
		}
	case []any:
		if k != kindList {
			break
		}
		for _, item := range v {
			s, isStr := item.(string)
			if !isStr {
				return "", nil, false
			}
			list = append(list, s)
		}
		return "", list, true
	}
	return "", nil, false
}

// configPath returns the file named by --config, else AUDIO_STREAMER_CONFIG.
func configPath(flags map[string]string, getenv func(string) (string, bool)) (string, loc, bool) {
	if p, ok := flags[flagConfig]; ok {
		return p, loc{source: "flag --" + flagConfig}, true
	}
	if p, ok := getenv(envConfig); ok {
		return p, loc{source: "env " + envConfig}, true
	}
	return "", loc{}, false
}

// homeDir is $HOME from env, else the OS's idea of it; "" when unknown.
func homeDir(getenv func(string) (string, bool)) string {
	if h, ok := getenv("HOME"); ok {
		return h
	}
	h, _ := os.UserHomeDir() // "" is handled where "~" is used
	return h
}

// checkTop checks rules that span several top-level settings.
func (b *builder) checkTop() error {
	c := &b.cfg
	if c.Burst.Bytes > c.BufferSize {
		return errAt("burst", c.Burst.String(), fmt.Sprintf("at most buffer_size (%d bytes)", c.BufferSize), b.origin["burst"])
	}
	hasCert, hasKey := c.TLSCert != "", c.TLSKey != ""
	switch {
	case hasCert && !hasKey:
		return errAt("tls_cert", c.TLSCert, "tls_cert together with tls_key (tls_key is not set)", b.origin["tls_cert"])
	case hasKey && !hasCert:
		return errAt("tls_key", c.TLSKey, "tls_key together with tls_cert (tls_cert is not set)", b.origin["tls_key"])
	case hasCert && c.TLSPort == 0:
		return errAt("tls_port", "0", "a tls_port 1..65535 when tls_cert and tls_key are set", b.origin["tls_cert"])
	case !hasCert && c.TLSPort != 0:
		return errAt("tls_port", strconv.Itoa(c.TLSPort), "0 unless tls_cert and tls_key are set", b.origin["tls_port"])
	case c.TLSPort != 0 && c.TLSPort == c.Port:
		return errAt("tls_port", strconv.Itoa(c.TLSPort), fmt.Sprintf("a port other than port %d", c.Port), b.origin["tls_port"])
	}
	return nil
}

// parseFlags parses args with a private FlagSet and returns the value of
// each flag given (the last one when repeated).
func parseFlags(args []string) (map[string]string, error) {
	vals := map[string]string{}
	fs := newFlagSet(func(name, v string) { vals[name] = v })
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, &Error{Source: "command line", Reason: "help requested", Err: err}
		}
		return nil, &Error{Source: "command line", Reason: err.Error(), Err: err}
	}
	if fs.NArg() > 0 {
		return nil, &Error{Source: "command line", Reason: fmt.Sprintf("unexpected argument %q (settings are flags like --port 8000)", fs.Arg(0))}
	}
	return vals, nil
}

// newFlagSet defines every flag; record receives each value as given.
// Values are parsed later, so that their errors look like env and file errors.
func newFlagSet(record func(name, value string)) *flag.FlagSet {
	fs := flag.NewFlagSet("audio-streamer", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	def := func(name, usage string, isBool bool) {
		fn := func(v string) error { record(name, v); return nil }
		if isBool {
			fs.BoolFunc(name, usage, fn)
		} else {
			fs.Func(name, usage, fn)
		}
	}
	def(flagConfig, "TOML configuration file (env "+envConfig+")", false)
	for _, s := range configSettings("") {
		if s.flag == "" {
			continue
		}
		usage := s.usage + " (env " + s.env
		if s.env == "" {
			usage = s.usage + " (file " + s.name
		}
		if s.def != "" {
			usage += ", default " + s.def
		}
		def(s.flag, usage+")", s.kind == kindBool)
	}
	def(flagStreamRoutes, `comma-separated routes; one without a directory plays --audio-dir (env `+envStreamRoutes+`, default "/")`, false)
	def(flagDirectoryRoutes, `JSON object route→directory, e.g. {"humor":"/music/humor"} (env `+envDirectoryRoutes+`, which also takes route:dir;route:dir)`, false)
	return fs
}

// Usage returns the help text for the command line.
func Usage() string {
	var b strings.Builder
	b.WriteString("Usage: audio-streamer [flags]\n\n" +
		"Settings come from flags, then environment variables, then the TOML file\n" +
		"(--config or " + envConfig + "), then defaults; see config.example.toml.\n\nFlags:\n")
	fs := newFlagSet(func(string, string) {})
	fs.SetOutput(&b)
	fs.PrintDefaults()
	b.WriteString("\nEnvironment only: ADMIN_TOKEN, ENVIRONMENT (Sentry environment).\n")
	return b.String()
}
