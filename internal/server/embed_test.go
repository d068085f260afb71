package server

import (
	"image/color"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/internal/web"
)

// TestWebAndEmbedPages: /web and /web/<route> are the branded page, never
// in another site's frame; /embed/<route> is the same page for any site's
// frame; a route that names no station is a 404.
func TestWebAndEmbedPages(t *testing.T) {
	t.Parallel()
	logo := testPNG(t, color.RGBA{15, 118, 110, 255})
	logoPath := testmedia.WriteFile(t, t.TempDir(), "logo.png", logo)
	song := taggedMP3("A", "Song", testmedia.Frames(secondsOfFrames(5)))
	h := startHarness(t, &Server{LogoFile: logoPath, Branding: web.Branding{Name: "Radio <Sine>", Accent: "#0f766e"}},
		stationSpec{Station: config.Station{Route: "/"}, files: map[string][]byte{"a.mp3": song}},
		stationSpec{Station: config.Station{Route: "/юмор"}, files: map[string][]byte{"a.mp3": song}},
	)
	want := web.Render(web.Branding{Name: "Radio <Sine>", Accent: "#0f766e", Logo: "/art/" + contentHash(logo)})
	for _, path := range []string{"/web", "/web/", "/web/%D1%8E%D0%BC%D0%BE%D1%80", "/web/юмор/", "/embed", "/embed/", "/embed/юмор"} {
		resp, err := http.Get(h.url(path))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		embed := strings.HasPrefix(path, "/embed")
		csp, xfo := want.CSP, "DENY"
		if embed {
			csp, xfo = want.EmbedCSP, ""
		}
		if resp.StatusCode != 200 || string(body) != string(want.HTML) {
			t.Errorf("GET %s: %d, %d bytes, want the page (%d bytes)", path, resp.StatusCode, len(body), len(want.HTML))
		}
		for k, v := range map[string]string{
			"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
			"Content-Security-Policy": csp, "X-Frame-Options": xfo,
		} {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("GET %s: %s %q, want %q", path, k, got, v)
			}
		}
	}
	if logoResp := getArt(t, h.url("/art/"+contentHash(logo)), ""); logoResp.status != 200 || string(logoResp.body) != string(logo) {
		t.Errorf("logo: %d", logoResp.status)
	}
	for _, path := range []string{"/web/nope", "/embed/nope", "/web/юмор/x"} {
		resp, err := http.Get(h.url(path))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
	resp, err := http.Head(h.url("/embed/юмор"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("HEAD /embed/юмор: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp, err = http.Post(h.url("/web"), "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /web: %d", resp.StatusCode)
	}
}
