package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/station"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// sseEvent is one Server-Sent Event off the wire; retry is the last
// "retry:" field seen before it. changed is the stations the event carried
// (all in "stations", one in "station"); stations is the page's view after
// it: the last full list with every change since applied.
type sseEvent struct {
	name, data, retry string
	changed, stations []stationJSON
}

// sseSubscribe opens /events and delivers its events on a channel until
// the test ends.
func sseSubscribe(t *testing.T, h *harness) (*http.Response, <-chan sseEvent) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", h.url("/events"), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ch := make(chan sseEvent, 256)
	go func() {
		defer close(ch)
		r := bufio.NewReader(resp.Body)
		var ev sseEvent
		var view []stationJSON
		retry := ""
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
				if ev.name != "" || ev.data != "" {
					ev.retry = retry
					view = applyEvent(t, &ev, view)
					ev.stations = append([]stationJSON(nil), view...)
					ch <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"): // comment: keep-alive
			case strings.HasPrefix(line, "retry: "):
				retry = strings.TrimPrefix(line, "retry: ")
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data += strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		resp.Body.Close()
		for range ch {
		}
	})
	return resp, ch
}

// applyEvent decodes ev into ev.changed and returns view with it applied.
func applyEvent(t *testing.T, ev *sseEvent, view []stationJSON) []stationJSON {
	switch ev.name {
	case "stations":
		if err := json.Unmarshal([]byte(ev.data), &ev.changed); err != nil {
			t.Errorf("stations event: data is not a JSON list: %v", err)
		}
		return ev.changed
	case "station":
		var one stationJSON
		if err := json.Unmarshal([]byte(ev.data), &one); err != nil {
			t.Errorf("station event: data is not a JSON object: %v", err)
		}
		ev.changed = []stationJSON{one}
		out := append([]stationJSON(nil), view...)
		for i := range out {
			if out[i].Route == one.Route {
				out[i] = one
				return out
			}
		}
		t.Errorf("station event for %s, not in the list %v", one.Route, view)
		return out
	}
	t.Errorf("unknown event %q", ev.name)
	return view
}

// sseNext returns the next event, failing after limit.
func sseNext(t *testing.T, ch <-chan sseEvent, limit time.Duration) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("the event stream ended")
		}
		return ev
	case <-time.After(limit):
		t.Fatalf("no event within %v", limit)
	}
	return sseEvent{}
}

// sseUntil reads events until one satisfies cond, failing after limit.
func sseUntil(t *testing.T, ch <-chan sseEvent, limit time.Duration, what string, cond func(map[string]stationJSON) bool) map[string]stationJSON {
	t.Helper()
	deadline := time.After(limit)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("the event stream ended while waiting for %s", what)
			}
			m := map[string]stationJSON{}
			for _, s := range ev.stations {
				m[s.Route] = s
			}
			if cond(m) {
				return m
			}
		case <-deadline:
			t.Fatalf("no event with %s within %v", what, limit)
		}
	}
}

func TestEventsFollowStations(t *testing.T) {
	// "/" alternates two 1 s tracks; "/talk" plays one long track.
	h := startHarness(t, nil,
		stationSpec{
			Station: config.Station{Route: "/", Name: "Main", Shuffle: false, Burst: config.Burst{Duration: 100 * time.Millisecond}},
			files: map[string][]byte{
				"a.mp3": append(testmedia.ID3v2("Artist A", "Song A", 0), testmedia.Frames(40)...),
				"b.mp3": append(testmedia.ID3v2("Artist B", "Song B", 0), testmedia.Frames(40)...),
			},
		},
		stationSpec{
			Station: config.Station{Route: "/talk", Name: "Разговоры", Shuffle: false},
			files:   map[string][]byte{"news.mp3": append(testmedia.ID3v2("Диктор", "Новости 📻 <b>&", 0), testmedia.Frames(4000)...)},
		},
	)
	resp, events := sseSubscribe(t, h)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for k, want := range map[string]string{"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache, no-store", "X-Accel-Buffering": "no"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}

	// The state comes at once, after the reconnect delay for EventSource.
	first := sseNext(t, events, 2*time.Second)
	if first.name != "stations" || first.retry != "3000" {
		t.Fatalf("first event %q (retry %q), want stations after retry: 3000", first.name, first.retry)
	}
	if len(first.stations) != 2 || first.stations[0].Route != "/" || first.stations[1].Route != "/talk" {
		t.Fatalf("stations %+v, want / then /talk", first.stations)
	}
	talk := first.stations[1]
	if talk.Name != "Разговоры" || talk.CurrentTrack != "Диктор - Новости 📻 <b>&" || !talk.Ready || talk.Listeners != 0 ||
		talk.URL != h.url("/talk") || talk.ElapsedS != 0 {
		t.Errorf("/talk %+v", talk)
	}
	// JSON escapes markup, so a title can never become HTML in a page.
	if strings.Contains(first.data, "<b>") {
		t.Errorf("event data carries raw markup: %s", first.data)
	}

	// A listener joining and leaving is pushed.
	l := h.raw(t, "GET /talk HTTP/1.0", "Host: "+h.addr)
	sseUntil(t, events, 5*time.Second, "/talk at 1 listener", func(m map[string]stationJSON) bool { return m["/talk"].Listeners == 1 })
	l.conn.Close()
	sseUntil(t, events, 5*time.Second, "/talk at 0 listeners", func(m map[string]stationJSON) bool { return m["/talk"].Listeners == 0 })

	// A track change is pushed, and it is what listeners hear now.
	before := first.stations[0].CurrentTrack
	m := sseUntil(t, events, 5*time.Second, "a new title on /", func(m map[string]stationJSON) bool { return m["/"].CurrentTrack != before })
	if got := m["/"].CurrentTrack; got != "Artist A - Song A" && got != "Artist B - Song B" {
		t.Errorf("title %q", got)
	}
}

// TestEventsQuietWhileNothingChanges: an event is a change, not a tick —
// with a listener on a long track, nothing is sent after the first state.
func TestEventsQuietWhileNothingChanges(t *testing.T) {
	h := startHarness(t, nil, stationSpec{
		Station: config.Station{Route: "/", Shuffle: false},
		files:   map[string][]byte{"long.mp3": append(testmedia.ID3v2("A", "Long", 0), testmedia.Frames(4000)...)},
	})
	l := h.raw(t, "GET / HTTP/1.0", "Host: "+h.addr)
	go func() { _, _ = io.Copy(io.Discard, l.body) }() // a listener that keeps up
	_, events := sseSubscribe(t, h)
	sseUntil(t, events, 5*time.Second, "the listener counted", func(m map[string]stationJSON) bool { return m["/"].Listeners == 1 })
	select {
	case ev := <-events:
		t.Errorf("event while nothing changed: %s", ev.data)
	case <-time.After(2 * time.Second):
	}
}

// TestEventsShareStationData: with many pages open, each station's Stats
// (a walk over all its listeners) is read, and its data described and
// marshalled, at most once per eventsMaxAge for all of them together (not
// once per page per tick), every page still sees a listener join, and the
// shared "stations" data is byte for byte the marshalled list.
func TestEventsShareStationData(t *testing.T) {
	var builds, reads atomic.Int64
	const pages = 20
	srv := &Server{MaxEventStreamsPerIP: pages}
	srv.eventData.built = func() { builds.Add(1) }
	srv.stats.read = func(st Station) mount.Stats {
		reads.Add(1)
		return st.Stats()
	}
	long := append(testmedia.ID3v2("A", "Long", 0), testmedia.Frames(4000)...)
	h := startHarness(t, srv,
		stationSpec{Station: config.Station{Route: "/", Shuffle: false}, files: map[string][]byte{"long.mp3": long}},
		stationSpec{Station: config.Station{Route: "/talk", Shuffle: false}, files: map[string][]byte{"long.mp3": long}},
	)
	start := time.Now()
	var feeds []<-chan sseEvent
	for range pages {
		_, events := sseSubscribe(t, h)
		feeds = append(feeds, events)
	}
	for i, events := range feeds {
		if ev := sseNext(t, events, 5*time.Second); ev.name != "stations" || len(ev.stations) != 2 || ev.stations[1].Listeners != 0 {
			t.Fatalf("page %d: first event %s %s", i, ev.name, ev.data)
		}
	}
	h.raw(t, "GET /talk HTTP/1.0", "Host: "+h.addr)
	for _, events := range feeds {
		sseUntil(t, events, 5*time.Second, "/talk at 1 listener", func(m map[string]stationJSON) bool { return m["/talk"].Listeners == 1 })
	}
	// All pages reach the server at one address: builds are at least
	// eventsMaxAge apart per station. Without sharing every page builds
	// every station on each tick: here at least pages × 2 stations × 2.
	limit := 2 * (int64(time.Since(start)/eventsMaxAge) + 1)
	if n := builds.Load(); n > limit || n == 0 {
		t.Errorf("%d station builds for %d pages over %v, want 1..%d (one per station per %v)", n, pages, time.Since(start).Round(time.Millisecond), limit, eventsMaxAge)
	}
	if n := reads.Load(); n > limit || n == 0 {
		t.Errorf("%d Stats reads for %d pages over %v, want 1..%d (one per station per %v)", n, pages, time.Since(start).Round(time.Millisecond), limit, statsMaxAge)
	}

	now := time.Now()
	snap := srv.eventData.build(srv, "https", "radio.example", now)
	if want := srv.eventsBody("https", "radio.example", now); !bytes.Equal(snap.all, want) {
		t.Errorf("shared stations data\n%s\nwant json.Marshal of the list\n%s", snap.all, want)
	}
	if len(snap.station) != 2 || !bytes.Contains(snap.station[1], []byte(`"https://radio.example/talk"`)) {
		t.Errorf("station data for https://radio.example: %q", snap.station)
	}
}

// BenchmarkEventsBody50Pages is one /events tick of 50 open pages over 2
// stations of 500 listeners each: "shared" as served (one Stats read per
// station per tick), "per-page" as if every page read Stats itself.
func BenchmarkEventsBody50Pages(b *testing.B) {
	const pages = 50
	srv := benchEventsServer(b, 2, 500)
	now := time.Now() // the cache's clock: it must only go forward
	for _, bc := range []struct {
		name string
		age  time.Duration // clock advance between pages
	}{{"shared", 0}, {"per-page", statsMaxAge}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var reads atomic.Int64
			srv.stats.read = func(st Station) mount.Stats {
				reads.Add(1)
				return st.Stats()
			}
			size := 0
			for b.Loop() {
				now = now.Add(time.Hour) // a new tick: the previous reads are stale
				for p := range pages {
					size = len(srv.eventsBody("http", "radio.example:8000", now.Add(time.Duration(p)*bc.age)))
				}
			}
			b.ReportMetric(float64(reads.Load())/float64(b.N), "stats-reads/op")
			b.ReportMetric(float64(size), "body-bytes")
		})
	}
}

// benchEventsServer is a Server, not serving, whose stations each play
// to n listeners on loopback TCP that read everything.
func benchEventsServer(b *testing.B, stations, n int) *Server {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := &Server{}
	var conns []net.Conn
	var started []*station.Station
	b.Cleanup(func() {
		cancel()
		for _, st := range started {
			st.Wait()
		}
		for _, c := range conns {
			c.Close()
		}
		ln.Close()
	})
	for i := range stations {
		route := fmt.Sprintf("/s%d", i)
		dir := b.TempDir()
		testmedia.WriteFile(b, dir, "long.mp3", testmedia.ID3v2("Artist", "Title", 0), testmedia.Frames(secondsOfFrames(120)))
		cfg := config.Defaults()
		cfg.PublishInterval = 200 * time.Millisecond
		set := stationDefaults(b, stationSpec{Station: config.Station{Route: route, Name: "Station " + route, Dir: dir,
			Burst: config.Burst{Duration: time.Second}}})
		st, err := station.Build(&cfg, set, station.Deps{})
		if err != nil {
			b.Fatal(err)
		}
		st.Start(ctx)
		started = append(started, st)
		srv.Stations = append(srv.Stations, st)
		if err := st.WaitReady(ctx); err != nil {
			b.Fatal(err)
		}
		for range n {
			c, err := net.DialTCP("tcp", nil, ln.Addr().(*net.TCPAddr))
			if err != nil {
				b.Fatal(err)
			}
			conns = append(conns, c)
			go func() { _, _ = io.Copy(io.Discard, c) }()
			s, err := ln.AcceptTCP()
			if err != nil {
				b.Fatal(err)
			}
			conns = append(conns, s)
			if err := st.Join(mount.JoinRequest{Conn: s, Remote: s.RemoteAddr().String(), UserAgent: "bench"}); err != nil {
				b.Fatal(err)
			}
		}
		if got := st.Stats().Listeners; got != n {
			b.Fatalf("%s: %d listeners, want %d", route, got, n)
		}
	}
	return srv
}

func TestEventsMethods(t *testing.T) {
	h := startHarness(t, nil)
	resp, err := http.Post(h.url("/events"), "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /events: %d, want 405", resp.StatusCode)
	}
}
