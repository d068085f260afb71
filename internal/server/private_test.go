package server

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// checkRefused: r is a 503 whose body says why.
func checkRefused(t *testing.T, r *rawResp, why string) {
	t.Helper()
	body, _ := io.ReadAll(io.LimitReader(r.body, 1024)) // a stream instead of a 503 would never end
	if r.status != "HTTP/1.0 503 Service Unavailable" || !strings.Contains(string(body), why) {
		t.Errorf("got %q %q, want 503 saying %q", r.status, body, why)
	}
}

// TestPrivateStreamCaps: individual mode gives every listener a station of
// its own, so the server admits at most max_private_streams of them per
// station and over all individual-mode stations together. A listener over
// a cap gets a 503 saying which; radio stations keep accepting; /metrics
// shows the private streams and counts the refusals by reason; a listener
// who leaves gives the slot back.
func TestPrivateStreamCaps(t *testing.T) {
	t.Parallel()
	song := map[string][]byte{"a.mp3": taggedMP3("A", "B", testmedia.Frames(secondsOfFrames(10)))}
	individual := func(route string, stationCap int) stationSpec {
		return stationSpec{
			Station: config.Station{Route: route, Mode: config.ModeIndividual, MaxPrivateStreams: stationCap},
			files:   song, serverPrivateStreams: 3,
		}
	}
	released := make(chan struct{}, 16)
	srv := &Server{}
	srv.private.released = func() { released <- struct{}{} }
	h := startHarness(t, srv,
		individual("/solo", 2),
		individual("/other", 0), // 0: the default per-station cap, above the server's 3
		stationSpec{Station: config.Station{Route: "/radio"}, files: song},
	)

	first := h.raw(t, "GET /solo HTTP/1.0")
	checkListenerHead(t, first, "audio-streamer /solo", 0)
	checkListenerHead(t, h.raw(t, "GET /solo HTTP/1.0"), "audio-streamer /solo", 0)
	checkRefused(t, h.raw(t, "GET /solo HTTP/1.0"), "station /solo is full: 2 private streams")

	checkListenerHead(t, h.raw(t, "GET /other HTTP/1.0"), "audio-streamer /other", 0)
	checkRefused(t, h.raw(t, "GET /other HTTP/1.0"), "server is full: 3 private streams")

	// The caps are about private streams: a radio station costs nothing
	// more per listener and keeps accepting.
	checkListenerHead(t, h.raw(t, "GET /radio HTTP/1.0"), "audio-streamer /radio", 0)

	fams := scrapeMetrics(t, h)
	checkStationSeries(t, fams, []string{"/other", "/radio", "/solo"})
	for route, want := range map[string]float64{"/solo": 2, "/other": 1, "/radio": 0} {
		if got := fams["audio_stream_private_streams"].value(t, route); got != want {
			t.Errorf("audio_stream_private_streams{stream=%q} = %v, want %v", route, got, want)
		}
	}
	refused := map[[2]string]float64{}
	for _, s := range fams["audio_stream_listeners_refused_total"].samples {
		refused[[2]string{s.labels["stream"], s.labels["reason"]}] = s.value
	}
	for key, want := range map[[2]string]float64{
		{"/solo", "station_private_streams"}: 1, {"/solo", "server_private_streams"}: 0,
		{"/other", "server_private_streams"}: 1, {"/other", "station_private_streams"}: 0,
		{"/radio", "server_private_streams"}: 0,
	} {
		if refused[key] != want {
			t.Errorf("audio_stream_listeners_refused_total{stream=%q,reason=%q} = %v, want %v", key[0], key[1], refused[key], want)
		}
	}

	first.conn.Close()
	select {
	case <-released:
	case <-time.After(10 * time.Second):
		t.Fatal("the private stream of a listener who left was not given back within 10 s")
	}
	checkListenerHead(t, h.raw(t, "GET /other HTTP/1.0"), "audio-streamer /other", 0)
}

// TestIndividualModeWithNothingDecodable: an individual-mode station whose
// files have playable names but no audio answers 503 once they are known
// not to play, as an idle radio station does, instead of giving every
// listener headers and silence; /readyz agrees. A file that plays brings
// it back.
func TestIndividualModeWithNothingDecodable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	garbage := bytes.Repeat([]byte("not audio "), 2000)
	unplayable := make(chan string, 16)
	h := startHarness(t, nil, stationSpec{
		Station:      config.Station{Route: "/solo", Dir: dir, Mode: config.ModeIndividual},
		files:        map[string][]byte{"a.mp3": garbage, "b.mp3": garbage},
		onUnplayable: func(path string) { unplayable <- filepath.Base(path) },
	})

	// Only trying the files tells that none plays: the first listener's
	// private station does.
	first := h.raw(t, "GET /solo HTTP/1.0")
	defer first.conn.Close()
	seen := map[string]bool{}
	for len(seen) < 2 {
		select {
		case name := <-unplayable:
			seen[name] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("only %v found unplayable within 10 s", seen)
		}
	}
	checkRefused(t, h.raw(t, "GET /solo HTTP/1.0"), "station /solo has no playable audio yet")
	if code, _, body := h.get(t, "GET", "/readyz", ""); code != 503 || !strings.Contains(string(body), "/solo") {
		t.Errorf("/readyz: %d %q, want 503 naming /solo", code, body)
	}

	testmedia.WriteFile(t, dir, "c.mp3", taggedMP3("C", "D", testmedia.Frames(secondsOfFrames(5))))
	if _, err := h.station(t, "/solo").Reload(); err != nil {
		t.Fatal(err)
	}
	checkListenerHead(t, h.raw(t, "GET /solo HTTP/1.0"), "audio-streamer /solo", 0)
}
