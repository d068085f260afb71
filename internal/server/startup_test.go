package server

import (
	"testing"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// TestListenerWaitsForStationAtStartup: a listener arriving just after
// start, before its station plays, waits for it instead of getting a 503;
// long after start a station without audio is refused at once.
func TestListenerWaitsForStationAtStartup(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	waiting := make(chan struct{}, 4)
	srv := &Server{clock: clock.Now}
	srv.readyWait = func() { waiting <- struct{}{} }
	dir := t.TempDir()
	h := startHarness(t, srv,
		stationSpec{Station: config.Station{Route: "/late", Dir: dir}},
		stationSpec{Station: config.Station{Route: "/empty"}},
	)

	got := make(chan *rawResp, 1)
	errc := make(chan error, 1)
	go func() {
		r, err := rawRequest(h.addr, "GET /late HTTP/1.0")
		if err != nil {
			errc <- err
			return
		}
		got <- r
	}()
	select {
	case <-waiting:
	case err := <-errc:
		t.Fatal(err)
	case r := <-got:
		r.conn.Close()
		t.Fatalf("answered %q without waiting for the station", r.status)
	}
	testmedia.WriteFile(t, dir, "a.mp3", taggedMP3("A", "B", testmedia.Frames(secondsOfFrames(10))))
	if _, err := h.station(t, "/late").Reload(); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-got:
		t.Cleanup(func() { r.conn.Close() })
		checkListenerHead(t, r, "audio-streamer /late", 0)
	case err := <-errc:
		t.Fatal(err)
	}

	clock.Advance(startupWindow)
	checkRefused(t, h.raw(t, "GET /empty HTTP/1.0"), "station /empty has no playable audio yet")
	select {
	case <-waiting:
		t.Error("a listener waited for a station after the start-up window")
	default:
	}
}
