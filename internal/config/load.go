package config

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Load builds the configuration from command-line args (os.Args[1:]), the
// environment (env is os.LookupEnv in production; nil means none) and the
// TOML file named by --config or AUDIO_STREAMER_CONFIG. Precedence: flags >
// env > file > defaults. An empty environment variable counts as unset
// (compose files write FOO= for unset variables).
//
// A setting's variable NAME may also come as IMAGE_DEFAULT_NAME (see
// [ImageDefaultPrefix]): the Docker image's build-time defaults, which give
// way to NAME itself and are ignored entirely once a config file is given.
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
	l := &loader{cfg: Defaults(), home: homeDir(getenv), origin: map[string]loc{}, getenv: getenv}
	setDefaults(&l.base, true)
	file := &document{} // none
	path, from, fileNamed := configPath(flags, getenv)
	l.imageDefaults = !fileNamed
	if fileNamed {
		p, ok := expandPath(path, l.home)
		if !ok || p == "" {
			return nil, &Error{Key: "config file", Value: path, Source: from.source, Expected: `a file path (a leading "~" needs HOME)`}
		}
		if file, err = readFile(p, from); err != nil {
			return nil, err
		}
	}
	// The whole file, then env, then flags: a later layer overrides an earlier
	// one. Routes and --config are read on their own (key "").
	for _, s := range settings() {
		if v, ok := file.top[s.key]; ok && s.key != "" && !s.station {
			if err := l.set(s, s.key, v, file.at(s.key)); err != nil {
				return nil, err
			}
		}
	}
	for _, s := range settings() {
		if v, name, ok := l.env(s.env); ok && s.key != "" {
			if err := l.set(s, cmp.Or(s.name, s.key), text(v), loc{source: "env " + name}); err != nil {
				return nil, err
			}
		}
	}
	for _, s := range settings() {
		if v, ok := flags[s.flag]; ok && s.key != "" {
			if err := l.set(s, cmp.Or(s.name, s.key), text(v), loc{source: "flag --" + s.flag}); err != nil {
				return nil, err
			}
		}
	}
	_, l.cfg.AudioDirSet = l.origin["audio_dir"]
	l.base.Mode, l.base.Burst, l.base.Metaint = l.cfg.StreamMode, l.cfg.Burst, l.cfg.Metaint
	l.base.SourcePassword, l.base.SourceTimeout = l.cfg.SourcePassword, l.cfg.SourceTimeout
	if err := l.checkTop(); err != nil {
		return nil, err
	}
	if err := l.buildStations(file, flags); err != nil {
		return nil, err
	}
	return &l.cfg, nil
}

// loader is a configuration being built.
type loader struct {
	cfg    Config
	base   Station        // what a station gets for the keys it does not set
	home   string         // for "~" in paths; "" when unknown
	origin map[string]loc // where each top-level key given was set
	getenv func(string) (string, bool)
	// imageDefaults: no config file is given, so IMAGE_DEFAULT_ variables count.
	imageDefaults bool
}

// ImageDefaultPrefix marks a setting's default baked into the Docker image:
// IMAGE_DEFAULT_DIRECTORY_ROUTES stands in for DIRECTORY_ROUTES. The image
// cannot set DIRECTORY_ROUTES itself, because the environment beats the
// config file and would replace the routes of a config the user mounts.
const ImageDefaultPrefix = "IMAGE_DEFAULT_"

// env returns the value of a setting's environment variable name and the
// variable it came from: name itself, else (without a config file) its
// image default. An empty name is never set.
func (l *loader) env(name string) (value, from string, ok bool) {
	if name == "" {
		return "", "", false
	}
	if v, ok := l.getenv(name); ok {
		return v, name, true
	}
	if l.imageDefaults {
		if v, ok := l.getenv(ImageDefaultPrefix + name); ok {
			return v, ImageDefaultPrefix + name, true
		}
	}
	return "", "", false
}

// loc is where a value came from, kept so that checks spanning several
// settings can point at the right one.
type loc struct {
	source string
	line   int
}

// set stores a top-level value, or a station default for [[station]]
// settings, and records where it came from.
func (l *loader) set(s setting, name string, v any, from loc) error {
	dst := any(&l.cfg)
	if s.station {
		dst = &l.base
	}
	if err := s.store(dst, v, l.home); err != nil {
		return errAt(name, fmt.Sprint(v), err.Error(), from)
	}
	if !s.station {
		l.origin[s.key] = from
	}
	return nil
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
func (l *loader) checkTop() error {
	c := &l.cfg
	if c.Burst.Bytes > c.BufferSize {
		return errAt("burst", c.Burst.String(), fmt.Sprintf("at most buffer_size (%d bytes)", c.BufferSize), l.origin["burst"])
	}
	hasCert, hasKey := c.TLSCert != "", c.TLSKey != ""
	switch {
	case hasCert && !hasKey:
		return errAt("tls_cert", c.TLSCert, "tls_cert together with tls_key (tls_key is not set)", l.origin["tls_cert"])
	case hasKey && !hasCert:
		return errAt("tls_key", c.TLSKey, "tls_key together with tls_cert (tls_cert is not set)", l.origin["tls_key"])
	case hasCert && c.TLSPort == 0:
		return errAt("tls_port", "0", "a tls_port 1..65535 when tls_cert and tls_key are set", l.origin["tls_cert"])
	case !hasCert && c.TLSPort != 0:
		return errAt("tls_port", strconv.Itoa(c.TLSPort), "0 unless tls_cert and tls_key are set", l.origin["tls_port"])
	case c.TLSPort != 0 && c.TLSPort == c.Port:
		return errAt("tls_port", strconv.Itoa(c.TLSPort), fmt.Sprintf("a port other than port %d", c.Port), l.origin["tls_port"])
	}
	return nil
}

// parseFlags returns the value of each flag given (the last one when
// repeated). Values are parsed later, so that their errors read like env
// and file errors.
func parseFlags(args []string) (map[string]string, error) {
	vals := map[string]string{}
	fs := newFlagSet(func(name, v string) { vals[name] = v })
	if err := fs.Parse(args); err != nil {
		reason := err.Error()
		if errors.Is(err, flag.ErrHelp) {
			reason = "help requested"
		}
		return nil, &Error{Source: "command line", Reason: reason, Err: err}
	}
	if fs.NArg() > 0 {
		return nil, &Error{Source: "command line", Reason: fmt.Sprintf("unexpected argument %q (settings are flags like --port 8000)", fs.Arg(0))}
	}
	return vals, nil
}

func newFlagSet(record func(name, value string)) *flag.FlagSet {
	fs := flag.NewFlagSet("audio-streamer", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, s := range settings() {
		if s.flag == "" {
			continue
		}
		usage := s.usage + " (env " + s.env + ")"
		if s.env == "" {
			usage = s.usage + " (file " + s.key + ")"
		}
		fn := func(v string) error { record(s.flag, v); return nil }
		// A setting that takes a TOML boolean is a flag that may stand alone: --shuffle.
		if _, err := s.kind(true, ""); err == nil {
			fs.BoolFunc(s.flag, usage, fn)
		} else {
			fs.Func(s.flag, usage, fn)
		}
		fs.Lookup(s.flag).DefValue = s.def // for PrintDefaults
	}
	return fs
}

// Usage returns the help text for the command line.
func Usage() string {
	var b strings.Builder
	b.WriteString("Usage: audio-streamer [flags]\n\n" +
		"Settings come from flags, then environment variables, then the TOML file\n" +
		"(--config or " + envConfig + "), then defaults; see config.example.toml.\n" +
		"Without a config file, " + ImageDefaultPrefix + "NAME (set by the Docker image) stands in\n" +
		"for an unset variable NAME.\n\nFlags:\n")
	fs := newFlagSet(func(string, string) {})
	fs.SetOutput(&b)
	fs.PrintDefaults()
	b.WriteString("\nEnvironment only:\n")
	for _, s := range settings() {
		if s.flag == "" && s.env != "" {
			fmt.Fprintf(&b, "  %s\n    \t%s (file %s)\n", s.env, s.usage, s.key)
		}
	}
	return b.String()
}
