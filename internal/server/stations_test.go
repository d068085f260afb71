package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/station"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// TestSetStations: swapping the station list serves the new one at once
// (a removed route 404s, an added one plays, /streams and a connected
// /events page show the new list) while a listener of a station the list
// keeps goes on receiving audio on the same connection, and the kept
// station keeps its refusal counts.
func TestSetStations(t *testing.T) {
	h := startHarness(t, nil,
		stationSpec{Station: config.Station{Route: "/a"}, files: map[string][]byte{"a.mp3": testmedia.Frames(2000)}},
		stationSpec{Station: config.Station{Route: "/b"}, files: map[string][]byte{"b.mp3": testmedia.Frames(2000)}},
	)
	a := h.station(t, "/a")
	lis := h.raw(t, "GET /a HTTP/1.0", "Host: x")
	if !strings.Contains(lis.status, " 200 ") {
		t.Fatalf("listener: %s", lis.status)
	}
	_, events := sseSubscribe(t, h)
	first := <-events
	if first.name != "stations" || len(first.stations) != 2 {
		t.Fatalf("first event %s with %d stations", first.name, len(first.stations))
	}
	h.srv.refusalsOf(a)[refusedNoAudio].Add(1)

	// A new station /c, built and started as a reload would.
	set := stationDefaults(t, stationSpec{Station: config.Station{Route: "/c"}})
	testmedia.WriteFile(t, set.Dir, "c.mp3", testmedia.Frames(2000))
	cfg := config.Defaults()
	cfg.PublishInterval = 50 * time.Millisecond
	c, err := station.Build(&cfg, set, station.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.Start(ctx)
	t.Cleanup(func() { cancel(); c.Wait() })
	waitCtx, waitDone := context.WithTimeout(context.Background(), 10*time.Second)
	defer waitDone()
	if err := c.WaitReady(waitCtx); err != nil {
		t.Fatal(err)
	}

	if err := h.srv.SetStations([]Station{a, c}); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.SetStations([]Station{a, a}); err == nil {
		t.Error("a list with a route twice was accepted")
	}
	if got := h.srv.refusalsOf(a)[refusedNoAudio].Load(); got != 1 {
		t.Errorf("kept station's refusals = %d, want 1", got)
	}
	if r := h.raw(t, "GET /b HTTP/1.0", "Host: x"); !strings.Contains(r.status, " 404 ") {
		t.Errorf("removed route: %s", r.status)
	}
	if r := h.raw(t, "GET /c HTTP/1.0", "Host: x"); !strings.Contains(r.status, " 200 ") {
		t.Errorf("added route: %s", r.status)
	} else if _, err := io.ReadFull(r.body, make([]byte, 4096)); err != nil {
		t.Errorf("added route plays nothing: %v", err)
	}
	resp, err := http.Get(h.url("/streams"))
	if err != nil {
		t.Fatal(err)
	}
	var streams struct {
		Streams []stationJSON `json:"streams"`
	}
	err = json.NewDecoder(resp.Body).Decode(&streams)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, s := range streams.Streams {
		routes = append(routes, s.Route)
	}
	if !slices.Equal(routes, []string{"/a", "/c"}) {
		t.Errorf("/streams lists %v, want [/a /c]", routes)
	}
	for ev := range events {
		if ev.name != "stations" {
			continue
		}
		var got []string
		for _, s := range ev.stations {
			got = append(got, s.Route)
		}
		if !slices.Equal(got, []string{"/a", "/c"}) {
			t.Errorf("/events sent the list %v, want [/a /c]", got)
		}
		break
	}
	// The listener of /a is still served: the same connection reads on.
	if _, err := io.ReadFull(lis.body, make([]byte, 64<<10)); err != nil {
		t.Errorf("the kept station's listener: %v", err)
	}
	if n := a.Listeners(); n != 1 {
		t.Errorf("/a has %d listeners, want 1", n)
	}
}

// TestReloadAPI: POST /api/reload answers the summary, 422 with the
// one-line error for an invalid configuration, 501 without a reload
// hook; it needs the admin credentials and refuses cross-site requests.
func TestReloadAPI(t *testing.T) {
	var answer error
	calls := 0
	srv := &Server{AdminToken: "tok", ReloadConfig: func() (ReloadSummary, error) {
		calls++
		return ReloadSummary{Added: []string{"/new"}, NeedsRestart: []string{"port"}}, answer
	}}
	h := startHarness(t, srv, stationSpec{Station: config.Station{Route: "/"}, files: map[string][]byte{"a.mp3": testmedia.Frames(100)}})
	post := func(headers ...string) (int, string) {
		t.Helper()
		req, err := http.NewRequest("POST", h.url("/api/reload"), nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	auth := "Authorization"
	if code, _ := post(); code != 401 {
		t.Errorf("without the token: %d, want 401", code)
	}
	if code, _ := post(auth, "Bearer tok", "Sec-Fetch-Site", "cross-site"); code != 403 {
		t.Errorf("cross-site: %d, want 403", code)
	}
	if calls != 0 {
		t.Fatalf("refused requests reloaded %d times", calls)
	}
	code, body := post(auth, "Bearer tok")
	if code != 200 || !strings.Contains(body, `"added":["/new"]`) || !strings.Contains(body, `"removed":[]`) ||
		!strings.Contains(body, `"needs_restart":["port"]`) {
		t.Errorf("reload: %d %s", code, body)
	}
	answer = &ConfigError{Err: errors.New(`config: port: "x" from file c.toml line 2: not a number`)}
	if code, body := post(auth, "Bearer tok"); code != 422 || !strings.Contains(body, "port") {
		t.Errorf("bad config: %d %s, want 422 with the error", code, body)
	}
	answer = errors.New("disk on fire")
	if code, _ := post(auth, "Bearer tok"); code != 500 {
		t.Errorf("server error: %d, want 500", code)
	}
	srv.ReloadConfig = nil
	if code, _ := post(auth, "Bearer tok"); code != 501 {
		t.Errorf("no hook: %d, want 501", code)
	}
}
