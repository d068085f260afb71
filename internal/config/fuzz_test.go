package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/aposazhennikov/stream-audio-to-web/internal/endpoint"
)

// FuzzNormalizeRoute: a route that is accepted is normalised (idempotent,
// NFC, only letters, digits and "._~-" between slashes), starts with "/", never climbs out with "..", and is not a reserved path.
func FuzzNormalizeRoute(f *testing.F) {
	for _, s := range []string{"/", "humor", "/humor/", "//a//b", "/../x", "/web", " /x ", "/a/./b", "/%2e%2e", "/ü", "/юмор", "/и\u0306", "/\u0306", "/a\u202eb", "/ｗｅｂ", "/a%2fb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r, err := NormalizeRoute(in)
		if err != nil {
			return
		}
		if !strings.HasPrefix(r, "/") || strings.Contains(r, "/../") || strings.HasSuffix(r, "/..") || strings.Contains(r, "//") {
			t.Fatalf("%q normalised to unsafe %q", in, r)
		}
		if !norm.NFC.IsNormalString(r) || strings.ContainsFunc(r, func(c rune) bool { return c != '/' && !isRouteChar(c) }) {
			t.Fatalf("%q normalised to %q: not NFC letters, digits and \"._~-\"", in, r)
		}
		again, err := NormalizeRoute(r)
		if err != nil || again != r {
			t.Fatalf("not idempotent: %q → %q → %q (%v)", in, r, again, err)
		}
		if p := endpoint.Shadowed(r); p != "" {
			t.Fatalf("route %q in reserved path %q accepted", r, p)
		}
	})
}

// FuzzLoadTOML: any file content either loads or fails with a one-line
// *Error; it never panics.
func FuzzLoadTOML(f *testing.F) {
	f.Add("port = 8000\n")
	f.Add("[[station]]\nroute = \"/humor\"\ndir = \"/tmp\"\nburst = \"4s\"\n")
	f.Add("colour = 1\n")
	f.Add("port = \"abc\"\n")
	f.Add("[[station]]\nroute = \"/../x\"\n")
	f.Add("burst = 99999999999999999999\n")
	f.Add("[[station]]\nroute = \"/a\"\nfallback = \"/b\"\n[[station]]\nroute = \"/b\"\nrelay = \"http://h:1/s\"\nfallback = \"/a\"\n")
	f.Add("timezone = \"Europe/Berlin\"\n[[station]]\nroute = \"/s\"\nloudness = \"-16 LUFS\"\ntrim_silence = true\nsilence_threshold = -60\njingles = \"/j\"\njingle_every = 4\n" +
		"[[station.schedule]]\nname = \"M\"\ndays = \"mon-fri\"\nstart = \"07:00\"\nend = \"10:00\"\nplays = \"/m\"\n" +
		"[[station.schedule]]\ndays = \"fri\"\nstart = \"22:00\"\nend = \"02:00\"\nzone = \"America/New_York\"\nplays = \"live\"\nfallback = \"/f.m3u\"\ncut = true\n")
	f.Add("[[station]]\nroute = \"/s\"\nschedule = [{days = \"daily\", start = \"00:00\", end = \"24:00\", plays = \"/a\"}, {days = \"sun\", start = \"1:00\", end = \"2:00\", plays = \"/b\"}]\n")
	f.Fuzz(func(t *testing.T, content string) {
		p := filepath.Join(t.TempDir(), "c.toml")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		env := func(string) (string, bool) { return "", false }
		cfg, err := Load([]string{"--config", p}, env)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err.Error())
			}
			return
		}
		if len(cfg.Stations) == 0 {
			t.Fatal("loaded config without stations")
		}
	})
}
