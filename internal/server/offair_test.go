package server

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// TestOffTheAirShowsNoTitle: a radio station whose folder was emptied and
// an individual station without listeners play nothing, so no status
// page may show their last title (with an elapsed time growing forever):
// on_air is false and the title fields are empty.
func TestOffTheAirShowsNoTitle(t *testing.T) {
	t.Parallel()
	h := startHarness(t, nil,
		stationSpec{
			Station: config.Station{Route: "/radio", Burst: config.Burst{Duration: 200 * time.Millisecond}},
			files:   map[string][]byte{"a.mp3": taggedMP3("Old", "Song", testmedia.Frames(secondsOfFrames(1)))},
		},
		stationSpec{
			Station: config.Station{Route: "/own", Mode: config.ModeIndividual},
			files:   map[string][]byte{"b.mp3": taggedMP3("Private", "Song", testmedia.Frames(secondsOfFrames(30)))},
		},
	)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.station(t, "/own").WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	_, events := sseSubscribe(t, h)
	m := sseUntil(t, events, 5*time.Second, "/radio on the air", func(m map[string]stationJSON) bool {
		return m["/radio"].OnAir && m["/radio"].CurrentTrack == "Old - Song"
	})
	if own := m["/own"]; !own.Ready || own.OnAir || own.CurrentTrack != "" {
		t.Errorf("/own without listeners: %+v, want ready, off the air, no title", own)
	}

	// The radio folder empties; after the reload the station goes quiet.
	if err := os.Remove(filepath.Join(h.station(t, "/radio").Settings().Dir, "a.mp3")); err != nil {
		t.Fatal(err)
	}
	if code, _, b := h.get(t, "POST", "/reload-playlist?route=/radio", ""); code != 200 {
		t.Fatalf("reload: %d %s", code, b)
	}
	sseUntil(t, events, 15*time.Second, "/radio off the air without a title", func(m map[string]stationJSON) bool {
		return !m["/radio"].OnAir && m["/radio"].CurrentTrack == "" && m["/radio"].StartedAt == ""
	})
	checkOffAir(t, h, "/radio", "Old - Song")

	// An individual listener puts /own on the air; when it leaves, off again.
	l := h.raw(t, "GET /own HTTP/1.0")
	go func() { _, _ = io.Copy(io.Discard, l.body) }()
	sseUntil(t, events, 10*time.Second, "/own on the air with its title", func(m map[string]stationJSON) bool {
		return m["/own"].OnAir && m["/own"].CurrentTrack == "Private - Song"
	})
	l.conn.Close()
	sseUntil(t, events, 10*time.Second, "/own off the air after its listener left", func(m map[string]stationJSON) bool {
		return !m["/own"].OnAir && m["/own"].CurrentTrack == "" && m["/own"].Listeners == 0
	})
	checkOffAir(t, h, "/own", "Private - Song")
}

// checkOffAir checks that /streams, /now-playing (both forms) and the
// Icecast status call route off the air and never mention title.
func checkOffAir(t *testing.T, h *harness, route, title string) {
	t.Helper()
	var streams struct{ Streams []stationJSON }
	h.getJSON(t, "/streams", 200, &streams)
	for _, s := range streams.Streams {
		if s.Route == route && (s.OnAir || s.CurrentTrack != "" || s.Title != "" || s.ElapsedS != 0 || s.StartedAt != "") {
			t.Errorf("/streams %s: %+v, want off the air", route, s)
		}
	}
	var one struct {
		Track    string  `json:"track"`
		OnAir    bool    `json:"on_air"`
		ElapsedS float64 `json:"elapsed_s"`
	}
	h.getJSON(t, "/now-playing?route="+route, 200, &one)
	if one.OnAir || one.Track != "" || one.ElapsedS != 0 {
		t.Errorf("/now-playing?route=%s: %+v, want off the air", route, one)
	}
	for _, p := range []string{"/now-playing", "/status-json.xsl", strings.TrimPrefix(route, "/") + ".m3u"} {
		_, _, body := h.get(t, "GET", "/"+strings.TrimPrefix(p, "/"), jsonTestHost)
		if strings.Contains(string(body), title) {
			t.Errorf("%s still shows %q: %s", p, title, body)
		}
	}
}
