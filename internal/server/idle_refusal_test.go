package server

import (
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
)

// TestIndividualUndecodableFolderAnswers503 (issue 14, item 13): the
// files of an individual station have playable names but no audio. Its
// first listener used to get 200, headers and silence for good; now every
// listener gets the 503 a radio station without audio answers, counted as
// no_audio, and holds no private stream, listener or session afterwards.
func TestIndividualUndecodableFolderAnswers503(t *testing.T) {
	t.Parallel()
	var later atomic.Int64 // moves the server's clock past its start-up window
	released := make(chan struct{}, 8)
	srv := &Server{clock: func() time.Time { return time.Now().Add(time.Duration(later.Load())) }}
	srv.private.released = func() { released <- struct{}{} }
	h := startHarness(t, srv, stationSpec{
		Station: config.Station{Route: "/own", Mode: config.ModeIndividual},
		files: map[string][]byte{
			"page.mp3":  []byte(strings.Repeat("<html>not found</html>\n", 100)),
			"zeros.mp3": make([]byte, 64<<10),
		},
	})
	st := h.station(t, "/own")
	if !st.Ready() {
		t.Fatal("no file is known to be bad yet, but the station is not ready")
	}
	for i := range 2 { // the first finds the files bad; the second is refused before any station is made
		r := h.raw(t, "GET /own HTTP/1.0")
		body, err := io.ReadAll(r.body)
		if r.status != "HTTP/1.0 503 Service Unavailable" || err != nil || !strings.Contains(string(body), "no playable audio") {
			t.Fatalf("listener %d: %q %q (%v), want a 503 saying there is no playable audio", i, r.status, body, err)
		}
		if got := h.srv.refusalsOf(st)[refusedNoAudio].Load(); got != uint64(i+1) {
			t.Errorf("listener %d: %d no_audio refusals counted, want %d", i, got, i+1)
		}
		// Past the start-up window (the server has started: it answered),
		// a station that is not ready is refused without a wait.
		later.Store(int64(time.Minute))
	}
	select { // the first listener's private stream slot, given back by the station
	case <-released:
	case <-time.After(10 * time.Second):
		t.Fatal("the refused listener's private stream was not released")
	}
	h.srv.private.mu.Lock()
	held := h.srv.private.total
	h.srv.private.mu.Unlock()
	if s := st.Stats(); held != 0 || s.Listeners != 0 || s.Sessions != 0 {
		t.Errorf("after two refusals: %d private streams, %d listeners, %d sessions; want none", held, s.Listeners, s.Sessions)
	}
	if st.Ready() {
		t.Error("every file failed, but the station says it is ready")
	}
}
