package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// slot is a station being assembled from several sources.
type slot struct {
	st    Station
	given map[string]loc // [[station]] keys set in the file, and where
}

// buildStations merges [[station]] tables, DIRECTORY_ROUTES /
// --directory-routes, AUDIO_STREAM_ROUTES / --stream-routes and the "/"
// station of AudioDir into b.cfg.Stations, then fills Warnings. It runs
// after every top-level setting is final, because stations inherit them.
func (b *builder) buildStations(f *tomlFile, flags map[string]string, getenv func(string) (string, bool), home string) error {
	c := &b.cfg
	base := Station{
		Genre: defaultGenre, Mode: c.StreamMode, Shuffle: b.shuffle, Burst: c.Burst,
		Metaint: c.Metaint, ICYCharset: defaultCharset, Bitrate: b.bitrate,
		SampleRate: defaultSampleRate, Channels: defaultChannels, Transcode: defaultTranscode,
		MaxListeners: b.maxListeners,
	}
	var order []*slot
	byRoute := map[string]*slot{}
	add := func(route, dir string) *slot {
		sl := &slot{st: base, given: map[string]loc{}}
		sl.st.Route, sl.st.Dir = route, dir
		order = append(order, sl)
		byRoute[route] = sl
		return sl
	}

	// 1. [[station]] tables, in file order.
	if f != nil {
		settings := stationSettings(home)
		for i, m := range f.stations {
			sl := &slot{st: base, given: map[string]loc{}}
			where := func(key string) loc { return loc{source: f.path, line: f.lineOf("station", i, key)} }
			if err := applyTable(&sl.st, settings, m, where, "station.", func(k string, l loc) { sl.given[k] = l }); err != nil {
				return err
			}
			r := sl.st.Route
			if r == "" {
				return &Error{Key: "station.route", Source: f.path, Line: f.stationHeaderLine(i), Reason: "missing: every [[station]] needs a route"}
			}
			if prev, dup := byRoute[r]; dup {
				l := sl.given["route"]
				reason := fmt.Sprintf("route %s is defined twice", r)
				if first := prev.given["route"].line; first > 0 {
					reason += fmt.Sprintf(" (first at line %d)", first)
				}
				return &Error{Key: "station.route", Value: fmt.Sprint(m["route"]), Source: l.source, Line: l.line, Reason: reason}
			}
			order = append(order, sl)
			byRoute[r] = sl
		}
	}

	// 2. Directory routes: env, then the flag, so the flag wins a route both name.
	var sources []routeSource
	if v, ok := getenv(envDirectoryRoutes); ok {
		sources = append(sources, routeSource{key: envDirectoryRoutes, source: "env", value: v, pairsOK: true})
	}
	if v, ok := flags[flagDirectoryRoutes]; ok {
		sources = append(sources, routeSource{key: "--" + flagDirectoryRoutes, source: "flag", value: v})
	}
	for _, src := range sources {
		entries, err := src.parse(home)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if sl, ok := byRoute[e.route]; ok {
				sl.st.Dir = e.dir
			} else {
				add(e.route, e.dir)
			}
		}
	}

	// 3. "/" plays AudioDir unless something above defined it.
	if byRoute["/"] == nil {
		root := add("/", "")
		order = append([]*slot{root}, order[:len(order)-1]...)
	}

	// 4. Stream routes: only names; a new one plays AudioDir.
	list := routeSource{key: envStreamRoutes, source: "env"}
	if v, ok := flags[flagStreamRoutes]; ok {
		list = routeSource{key: "--" + flagStreamRoutes, source: "flag", value: v}
	} else if v, ok := getenv(envStreamRoutes); ok {
		list.value = v
	}
	routes, err := list.routes()
	if err != nil {
		return err
	}
	for _, r := range routes {
		if byRoute[r] == nil {
			add(r, "")
			b.warnf("route %s from %s has no directory of its own; it plays audio_dir %s", r, list.key, c.AudioDir)
		}
	}

	// 5. Defaults that depend on the route, and checks across settings.
	usesAudioDir := false
	for _, sl := range order {
		st := &sl.st
		if st.Dir == "" {
			st.Dir = c.AudioDir
		}
		usesAudioDir = usesAudioDir || st.Dir == c.AudioDir
		if _, ok := sl.given["name"]; !ok {
			st.Name = "audio-streamer " + st.Route
		}
		if _, ok := sl.given["description"]; !ok {
			st.Description = "Stream " + st.Route
		}
		if l, ok := sl.given["burst"]; ok && st.Burst.Bytes > c.BufferSize {
			return errAt("station.burst", st.Burst.String(), fmt.Sprintf("at most buffer_size (%d bytes)", c.BufferSize), l)
		}
		c.Stations = append(c.Stations, *st)
	}

	// 6. Warnings: directories may appear later, so they are not errors.
	if c.AudioDirSet && !usesAudioDir {
		b.warnf("audio_dir %s is not used: route / has a directory of its own", c.AudioDir)
	}
	for _, st := range c.Stations {
		if st.Dir == c.AudioDir && !c.AudioDirSet {
			continue // main substitutes the demo folder for a missing default
		}
		switch fi, err := os.Stat(st.Dir); {
		case errors.Is(err, fs.ErrNotExist):
			b.warnf("directory %s for route %s does not exist; the station will wait for files", st.Dir, st.Route)
		case err != nil:
			b.warnf("directory %s for route %s cannot be read (%v); the station will wait for files", st.Dir, st.Route, err)
		case !fi.IsDir():
			b.warnf("%s for route %s is not a directory; the station will wait for files", st.Dir, st.Route)
		}
	}
	return nil
}

func (b *builder) warnf(format string, args ...any) {
	b.cfg.Warnings = append(b.cfg.Warnings, fmt.Sprintf(format, args...))
}

// routeSource is the text of one route setting outside the file. Its
// errors name key and source the way users wrote them:
// "config: DIRECTORY_ROUTES from env: invalid JSON: ...".
type routeSource struct {
	key, source, value string
	pairsOK            bool // the env form also takes the Go seed's route:dir;route:dir
}

// parse reads a directory-routes value: normalised routes, expanded dirs,
// no route twice.
func (s routeSource) parse(home string) ([]routeDir, error) {
	var entries []routeDir
	var err error
	if t := strings.TrimSpace(s.value); s.pairsOK && !strings.HasPrefix(t, "{") && !strings.HasPrefix(t, "[") {
		entries, err = parseDirRoutesPairs(s.value)
	} else {
		entries, err = parseDirRoutesJSON(s.value)
	}
	if err != nil {
		return nil, &Error{Key: s.key, Source: s.source, Reason: err.Error()}
	}
	seen := map[string]bool{}
	for i, e := range entries {
		r, err := s.route(e.route, seen)
		if err != nil {
			return nil, err
		}
		dir, ok := expandPath(e.dir, home)
		if !ok || dir == "" {
			return nil, &Error{Key: s.key, Value: e.dir, Source: s.source,
				Expected: fmt.Sprintf(`a directory for route %s (a leading "~" needs HOME)`, r)}
		}
		entries[i] = routeDir{route: r, dir: dir}
	}
	return entries, nil
}

// routes reads a comma list of routes, default none ("/" exists anyway).
func (s routeSource) routes() ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, raw := range splitRoutes(s.value) {
		r, err := s.route(raw, seen)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// route normalises raw and refuses a route this source already named:
// "humor" and "/humor" twice in one setting is a mistake, not an override.
func (s routeSource) route(raw string, seen map[string]bool) (string, error) {
	r, err := NormalizeRoute(raw)
	if err != nil {
		e := err.(*Error)
		e.Key, e.Source = s.key, s.source
		return "", e
	}
	if seen[r] {
		return "", &Error{Key: s.key, Value: raw, Source: s.source, Reason: fmt.Sprintf("route %s appears twice", r)}
	}
	seen[r] = true
	return r, nil
}
