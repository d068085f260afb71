package server

import (
	"encoding/json"
	"io"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// TestUnicodeRoutes: a route in Cyrillic plays whether the player sends it
// percent-encoded precomposed (as browsers do) or decomposed (NFD, as
// macOS file names and some keyboards give "й"); every URL the server
// hands out is percent-encoded; the server's own paths keep their
// handlers however they are spelled.
func TestUnicodeRoutes(t *testing.T) {
	t.Parallel()
	song := func() map[string][]byte {
		return map[string][]byte{"a.mp3": taggedMP3("Artist", "Song", testmedia.Frames(secondsOfFrames(20)))}
	}
	h := startHarness(t, nil,
		stationSpec{Station: config.Station{Route: "/юмор"}, files: song()},
		stationSpec{Station: config.Station{Route: "/йога"}, files: song()},
	)
	humorEncoded := "/%D1%8E%D0%BC%D0%BE%D1%80"
	if got := "/" + url.PathEscape("юмор"); got != humorEncoded {
		t.Fatalf("test constant: %s", got)
	}
	yogaNFD := "/" + url.PathEscape(norm.NFD.String("йога"))
	if yogaNFD == "/"+url.PathEscape("йога") {
		t.Fatal("test input: the NFD form must differ from the NFC one")
	}

	for _, path := range []string{humorEncoded, humorEncoded + "/", yogaNFD} {
		r := h.raw(t, "GET "+path+" HTTP/1.0", "Host: "+jsonTestHost)
		if r.status != "HTTP/1.0 200 OK" {
			t.Errorf("GET %s: %q, want a stream", path, r.status)
			continue
		}
		audio := make([]byte, 4)
		if _, err := io.ReadFull(r.body, audio); err != nil || !isFrameSync(audio) {
			t.Errorf("GET %s: first bytes %x (%v), want an MPEG frame", path, audio, err)
		}
		r.conn.Close()
	}

	wantURL := "http://" + jsonTestHost + humorEncoded
	for _, ext := range []string{".m3u", ".pls", ".xspf"} {
		code, _, body := h.get(t, "GET", humorEncoded+ext, jsonTestHost)
		if code != 200 || !strings.Contains(string(body), wantURL+"\r\n") && !strings.Contains(string(body), wantURL+"<") {
			t.Errorf("GET %s%s: %d %q, want the URL %s", humorEncoded, ext, code, body, wantURL)
		}
		if strings.Contains(string(body), jsonTestHost+"/юмор") {
			t.Errorf("GET %s%s gives the URL unencoded: %q", humorEncoded, ext, body)
		}
	}
	m3u := h.raw(t, "GET "+humorEncoded+".m3u HTTP/1.0", "Host: "+jsonTestHost)
	if v, _ := m3u.header("Content-Disposition"); v != `inline; filename="listen.m3u"; filename*=UTF-8''`+humorEncoded[1:]+".m3u" {
		t.Errorf("Content-Disposition %q: header values are ASCII, the name goes in filename*", v)
	}

	var streams struct {
		Streams []stationJSON `json:"streams"`
	}
	h.getJSON(t, "/streams", 200, &streams)
	urls := map[string]string{}
	for _, s := range streams.Streams {
		urls[s.Route] = s.URL
	}
	if urls["/юмор"] != wantURL {
		t.Errorf("/streams: %v, want /юмор at %s", urls, wantURL)
	}
	var status struct {
		Icestats struct {
			Source []map[string]any `json:"source"`
		} `json:"icestats"`
	}
	h.getJSON(t, "/status-json.xsl", 200, &status)
	var listenURLs []any
	for _, src := range status.Icestats.Source {
		listenURLs = append(listenURLs, src["listenurl"])
	}
	if b, _ := json.Marshal(listenURLs); !strings.Contains(string(b), `"`+wantURL+`"`) {
		t.Errorf("status listenurls %s, want %s", b, wantURL)
	}

	// Percent-encoded spellings of reserved paths reach their handlers.
	for _, path := range []string{"/%77eb", "/w%65b/"} {
		code, ct, _ := h.get(t, "GET", path, jsonTestHost)
		if code != 200 || !strings.HasPrefix(ct, "text/html") {
			t.Errorf("GET %s: %d %q, want the web page", path, code, ct)
		}
	}
	code, ct, _ := h.get(t, "GET", "/st%61tus.json", jsonTestHost)
	if code != 200 || !strings.HasPrefix(ct, "application/json") {
		t.Errorf("GET /st%%61tus.json: %d %q, want the status JSON", code, ct)
	}
}
