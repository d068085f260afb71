package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aposazhennikov/stream-audio-to-web/internal/endpoint"
)

const routeExpected = `a route like "/humor": path segments of letters, digits, ".", "_", "~" and "-"`

// NormalizeRoute turns a route as users write it ("humor", "/humor",
// "//humor/", " /humor ") into its canonical form "/humor". It refuses
// empty routes, characters outside [A-Za-z0-9._~-], "." and ".." segments
// and the server's own paths (see [endpoint.All]). The error is an *Error
// with Key "route" and no Source, for the caller to fill in.
func NormalizeRoute(s string) (string, error) {
	raw := s
	s = strings.TrimSpace(s)
	if s == "" {
		return "", &Error{Key: "route", Value: raw, Expected: routeExpected}
	}
	var segs []string
	for seg := range strings.SplitSeq(s, "/") {
		if seg == "" {
			continue // leading, trailing and repeated slashes
		}
		if seg == "." || seg == ".." {
			return "", &Error{Key: "route", Value: raw, Expected: `a route without "." or ".." segments`}
		}
		for _, c := range seg {
			if !isRouteChar(c) {
				return "", &Error{Key: "route", Value: raw, Expected: routeExpected}
			}
		}
		segs = append(segs, seg)
	}
	route := "/" + strings.Join(segs, "/")
	if p := endpoint.Shadowed(route); p != "" {
		return "", &Error{Key: "route", Value: raw, Expected: fmt.Sprintf("a route outside the server's own path %s", p)}
	}
	return route, nil
}

func isRouteChar(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == '~' || c == '-'
}

// routeDir is one route→directory pair, as given (not yet normalised).
type routeDir struct {
	route, dir string
}

// parseDirRoutesJSON reads a JSON object of route→directory strings,
// keeping the document order (encoding/json maps would lose it and hide
// repeated keys).
func parseDirRoutesJSON(s string) ([]routeDir, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	if tok, err := dec.Token(); err != nil {
		return nil, jsonErr(err)
	} else if tok != json.Delim('{') {
		return nil, errors.New(`invalid JSON: expected an object like {"humor": "/music/humor"}`)
	}
	var out []routeDir
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonErr(err)
		}
		key := tok.(string) // object keys are always strings
		var dir any
		if err := dec.Decode(&dir); err != nil {
			return nil, jsonErr(err)
		}
		d, ok := dir.(string)
		if !ok {
			return nil, fmt.Errorf("invalid JSON: the directory of %q must be a string", key)
		}
		out = append(out, routeDir{route: key, dir: d})
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

// parseDirRoutesPairs reads the Go seed's fallback "route:path;route:path".
// Unlike the seed, a malformed pair is an error, not skipped.
func parseDirRoutesPairs(s string) ([]routeDir, error) {
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

// splitRoutes reads the comma list of --stream-routes / AUDIO_STREAM_ROUTES;
// empty items (a trailing comma) are skipped.
func splitRoutes(s string) []string {
	var out []string
	for r := range strings.SplitSeq(s, ",") {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	return out
}
