package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/aposazhennikov/stream-audio-to-web/internal/endpoint"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// slot is a station being assembled, with the [[station]] keys the file
// set and where.
type slot struct {
	st    Station
	given map[string]loc
	table int // index of its [[station]] table in the file; -1 for none
}

// buildStations merges [[station]] tables, DIRECTORY_ROUTES /
// --directory-routes, AUDIO_STREAM_ROUTES / --stream-routes and the "/"
// station of AudioDir into l.cfg.Stations, then fills Warnings. It runs
// after every top-level setting is final, because stations inherit them.
func (l *loader) buildStations(f *document, flags map[string]string) error {
	c := &l.cfg
	var order []*slot
	byRoute := map[string]*slot{}
	place := func(sl *slot) {
		order = append(order, sl)
		byRoute[sl.st.Route] = sl
	}
	plain := func(route, dir string) *slot {
		sl := &slot{st: l.base, table: -1}
		sl.st.Route, sl.st.Dir = route, dir
		return sl
	}

	// 1. [[station]] tables, in file order.
	for i, m := range f.stations {
		sl := &slot{st: l.base, given: map[string]loc{}, table: i}
		for _, s := range settings() {
			if v, ok := m[s.key]; ok && s.station {
				at := f.stationAt(i, s.key)
				if err := s.store(&sl.st, v, l.home); err != nil {
					if be, ok := errors.AsType[*blockError](err); ok {
						return be.at(f.blockAt(i, be.index, be.field))
					}
					return errAt("station."+s.key, fmt.Sprint(v), err.Error(), at)
				}
				sl.given[s.key] = at
			}
		}
		r := sl.st.Route
		if r == "" {
			at := f.stationAt(i, "")
			return &Error{Key: "station.route", Source: at.source, Line: at.line, Reason: "missing: every [[station]] needs a route"}
		}
		if prev, dup := byRoute[r]; dup {
			reason := fmt.Sprintf("route %s is defined twice", r)
			if first := prev.given["route"].line; first > 0 {
				reason += fmt.Sprintf(" (first at line %d)", first)
			}
			at := sl.given["route"]
			return &Error{Key: "station.route", Value: fmt.Sprint(m["route"]), Source: at.source, Line: at.line, Reason: reason}
		}
		place(sl)
	}

	// 2. Directory routes: env, then the flag, so the flag wins a route both name.
	var sources []routeSource
	if v, name, ok := l.env(envDirectoryRoutes); ok {
		sources = append(sources, routeSource{key: name, source: "env", value: v, pairsOK: true})
	}
	if v, ok := flags[flagDirectoryRoutes]; ok {
		sources = append(sources, routeSource{key: "--" + flagDirectoryRoutes, source: "flag", value: v})
	}
	for _, src := range sources {
		entries, err := src.dirRoutes(l.home)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if sl, ok := byRoute[e.route]; ok {
				sl.st.Dir = e.dir
			} else {
				place(plain(e.route, e.dir))
			}
		}
	}

	// 3. "/" plays AudioDir unless something above defined it; it comes first.
	if byRoute["/"] == nil {
		place(plain("/", ""))
		order = append(order[len(order)-1:], order[:len(order)-1]...)
	}

	// 4. Stream routes: only names; a new one plays AudioDir.
	list := routeSource{key: envStreamRoutes, source: "env"}
	if v, ok := flags[flagStreamRoutes]; ok {
		list = routeSource{key: "--" + flagStreamRoutes, source: "flag", value: v}
	} else if v, name, ok := l.env(envStreamRoutes); ok {
		list.key, list.value = name, v
	}
	seen := map[string]bool{}
	for raw := range strings.SplitSeq(list.value, ",") {
		if raw = strings.TrimSpace(raw); raw == "" {
			continue // a trailing comma
		}
		r, err := list.route(raw, seen)
		if err != nil {
			return err
		}
		if byRoute[r] == nil {
			place(plain(r, ""))
			l.warnf("route %s from %s has no directory of its own; it plays audio_dir %s", r, list.key, c.AudioDir)
		}
	}

	// 5. Defaults that depend on the route, and checks across settings.
	usesAudioDir := false
	for _, sl := range order {
		st := &sl.st
		if err := sl.checkLive(); err != nil {
			return err
		}
		if !st.LiveOnly && st.Dir == "" {
			st.Dir = c.AudioDir
		}
		usesAudioDir = usesAudioDir || st.Dir == c.AudioDir
		if _, ok := sl.given["name"]; !ok {
			st.Name = "audio-streamer " + st.Route
		}
		if _, ok := sl.given["description"]; !ok {
			st.Description = "Stream " + st.Route
		}
		if _, ok := sl.given["jingle_title"]; !ok {
			st.JingleTitle = st.Name
		}
		if at, ok := sl.given["burst"]; ok && st.Burst.Bytes > c.BufferSize {
			return errAt("station.burst", st.Burst.String(), fmt.Sprintf("at most buffer_size (%d bytes)", c.BufferSize), at)
		}
		if err := l.checkSchedule(sl, f); err != nil {
			return err
		}
		if err := sl.checkJingles(); err != nil {
			return err
		}
		if err := l.checkSync(sl); err != nil {
			return err
		}
		c.Stations = append(c.Stations, *st)
	}

	if err := l.checkFallbacks(byRoute); err != nil {
		return err
	}
	if r := c.ShoutcastMount; r != "" && byRoute[r] == nil {
		return errAt("shoutcast_mount", r, "the route of a station", l.origin["shoutcast_mount"])
	}

	// 6. Warnings: directories may appear later, so they are not errors.
	for _, st := range c.Stations {
		if st.LiveOnly && st.SourcePassword == "" && st.Relay == "" {
			l.warnf("route %s has no folder, no relay and no source_password: no source can ever play on it", st.Route)
		}
	}
	if c.AudioDirSet && !usesAudioDir {
		l.warnf("audio_dir %s is not used: route / has a directory of its own", c.AudioDir)
	}
	for _, st := range c.Stations {
		if !st.LiveOnly && (st.Dir != c.AudioDir || c.AudioDirSet) { // main substitutes the demo folder for a missing default
			l.warnPath("directory", st.Dir, "route "+st.Route, "the station will wait for files")
		}
		l.warnProgramming(&st)
	}
	return nil
}

// warnPath warns when path p, a folder or a playlist file, is missing or
// is neither: "directory /m for route /x does not exist; <consequence>".
func (l *loader) warnPath(what, p, owner, consequence string) {
	switch fi, err := os.Stat(p); {
	case errors.Is(err, fs.ErrNotExist):
		l.warnf("%s %s for %s does not exist; %s", what, p, owner, consequence)
	case err != nil:
		l.warnf("%s %s for %s cannot be read (%v); %s", what, p, owner, err, consequence)
	case !fi.IsDir() && !playlist.IsPlaylistFile(p): // a playlist file plays as a folder does
		l.warnf("%s for %s is not a directory; %s", p, owner, consequence)
	}
}

// checkLive decides whether a station has a folder and checks its live
// settings against each other. A station without a folder is one with
// live_only, or a [[station]] that names a relay or a fallback and no dir:
// it exists for live shows and relays.
func (sl *slot) checkLive() error {
	st := &sl.st
	at := func(key string) loc { return sl.given[key] }
	if st.LiveOnly && st.Dir != "" {
		return errAt("station.live_only", "true", "no dir on a live_only station: it plays no folder (remove dir or live_only)", at("live_only"))
	}
	if st.Dir == "" && (st.Relay != "" || st.Fallback != "") {
		st.LiveOnly = true
	}
	if st.Fallback != "" && !st.LiveOnly {
		return errAt("station.fallback", st.Fallback, "no fallback on a station with a folder: it falls back to its folder (fallback is for live_only stations)", at("fallback"))
	}
	if st.Mode == ModeIndividual && (st.LiveOnly || st.Relay != "" || st.SourcePassword != "" && sl.given["source_password"] != (loc{})) {
		what := "live_only"
		switch {
		case st.Relay != "":
			what = "a relay"
		case !st.LiveOnly:
			what = "a source_password"
		}
		return errAt("station.mode", string(st.Mode), "radio for a station with "+what+": live shows and relays are one shared stream", at("mode"))
	}
	if st.OnDemand && st.Relay == "" {
		return errAt("station.on_demand", "true", "on_demand together with relay (relay is not set)", at("on_demand"))
	}
	return nil
}

// checkFallbacks checks that every fallback names another station and that
// following them never loops (Icecast follows at most 10; so do we).
func (l *loader) checkFallbacks(byRoute map[string]*slot) error {
	for _, st := range l.cfg.Stations {
		if st.Fallback == "" {
			continue
		}
		at := byRoute[st.Route].given["fallback"]
		seen := []string{st.Route}
		for r := st.Fallback; r != ""; r = byRoute[r].st.Fallback {
			switch {
			case byRoute[r] == nil:
				return errAt("station.fallback", st.Fallback, fmt.Sprintf("the route of a station (%s is not one)", r), at)
			case slices.Contains(seen, r):
				return errAt("station.fallback", st.Fallback, "a chain of fallbacks that ends ("+strings.Join(append(seen, r), " -> ")+" loops)", at)
			case len(seen) > 10:
				return errAt("station.fallback", st.Fallback, "a chain of at most 10 fallbacks", at)
			case byRoute[r].st.Mode != ModeRadio:
				return errAt("station.fallback", st.Fallback, fmt.Sprintf("a radio-mode station (%s is in individual mode: it has no shared stream to fall back to)", r), at)
			case byRoute[r].st.OnDemand:
				return errAt("station.fallback", st.Fallback, fmt.Sprintf("a station that plays without listeners of its own (%s is an on_demand relay)", r), at)
			}
			seen = append(seen, r)
		}
	}
	return nil
}

func (l *loader) warnf(format string, args ...any) {
	l.cfg.Warnings = append(l.cfg.Warnings, fmt.Sprintf(format, args...))
}

const routeExpected = `a route like "/humor" or "/юмор": path segments of letters, digits, ".", "_", "~" and "-"`

// NormalizeRoute turns a route as users write it ("humor", "/humor",
// "//humor/", " /humor ") into its canonical form "/humor". Letters and
// digits of any script are allowed; the route is NFC-normalised so "й"
// typed as "и" plus a combining breve names the same station as the
// precomposed "й" (the server normalises request paths the same way). It
// refuses empty routes, characters other than letters, digits and "._~-"
// (spaces, controls, "%", combining marks left over after NFC), "." and
// ".." segments and the server's own paths (see [endpoint.All]). The error
// is an *Error with Key "route" and no Source, for the caller to fill in.
func NormalizeRoute(s string) (string, error) {
	refuse := func(expected string) (string, error) {
		return "", &Error{Key: "route", Value: s, Expected: expected}
	}
	trimmed := strings.TrimSpace(s)
	if trimmed == "" {
		return refuse(routeExpected)
	}
	var segs []string
	for seg := range strings.SplitSeq(norm.NFC.String(trimmed), "/") {
		switch {
		case seg == "": // leading, trailing and repeated slashes
		case seg == "." || seg == "..":
			return refuse(`a route without "." or ".." segments`)
		case strings.ContainsFunc(seg, func(c rune) bool { return !isRouteChar(c) }):
			return refuse(routeExpected)
		default:
			segs = append(segs, seg)
		}
	}
	route := "/" + strings.Join(segs, "/")
	if p := endpoint.Shadowed(route); p != "" {
		return refuse("a route outside the server's own path " + p)
	}
	return route, nil
}

// routeSource is the text of one route setting outside the file. Its
// errors name key and source the way users wrote them:
// "config: DIRECTORY_ROUTES from env: invalid JSON: ...".
type routeSource struct {
	key, source, value string
	pairsOK            bool // the env form also takes route:dir;route:dir
}

// routeDir is one route→directory pair.
type routeDir struct{ route, dir string }

// dirRoutes reads a directory-routes value: normalised routes, expanded
// directories, no route twice.
func (s routeSource) dirRoutes(home string) ([]routeDir, error) {
	var entries []routeDir
	var err error
	if t := strings.TrimSpace(s.value); s.pairsOK && !strings.HasPrefix(t, "{") && !strings.HasPrefix(t, "[") {
		entries, err = parsePairs(s.value)
	} else {
		entries, err = parseJSONObject(s.value)
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

// parseJSONObject reads a JSON object of route→directory strings in
// document order (a Go map would lose the order and hide repeated keys).
func parseJSONObject(s string) ([]routeDir, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	if tok, err := dec.Token(); err != nil {
		return nil, jsonErr(err)
	} else if tok != json.Delim('{') {
		return nil, errors.New(`invalid JSON: expected an object like {"humor": "/music/humor"}`)
	}
	var out []routeDir
	for dec.More() {
		key, err := dec.Token() // object keys are always strings
		if err != nil {
			return nil, jsonErr(err)
		}
		var dir any
		if err := dec.Decode(&dir); err != nil {
			return nil, jsonErr(err)
		}
		d, ok := dir.(string)
		if !ok {
			return nil, fmt.Errorf("invalid JSON: the directory of %q must be a string", key)
		}
		out = append(out, routeDir{route: key.(string), dir: d})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, jsonErr(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("invalid JSON: text after the object")
	}
	return out, nil
}

// jsonErr words a decoding error; a bare io.EOF means the text stopped early.
func jsonErr(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// parsePairs reads the older "route:path;route:path" form. A malformed
// pair is an error, not skipped.
func parsePairs(s string) ([]routeDir, error) {
	var out []routeDir
	for pair := range strings.SplitSeq(s, ";") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		route, dir, ok := strings.Cut(pair, ":")
		if !ok || strings.TrimSpace(route) == "" || strings.TrimSpace(dir) == "" {
			return nil, fmt.Errorf("%q is not route:path (expected a JSON object or route:path;route:path)", pair)
		}
		out = append(out, routeDir{route: route, dir: strings.TrimSpace(dir)})
	}
	return out, nil
}

// isRouteChar reports whether c may appear in a route segment: a letter or
// digit of any script, or one of URL's unreserved marks.
func isRouteChar(c rune) bool {
	return unicode.IsLetter(c) || unicode.IsDigit(c) || strings.ContainsRune("._~-", c)
}
