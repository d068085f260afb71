package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

const apiToken = "programme-test-token"

// api sends an admin request with a JSON body (or none) and returns the
// status and body; hdr are extra header name/value pairs.
func (h *harness) api(t *testing.T, method, path, body string, hdr ...string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.url(path), rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apiToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

func (h *harness) programme(t *testing.T) programmeJSON {
	t.Helper()
	code, body := h.api(t, "GET", "/api/queue", "")
	if code != http.StatusOK {
		t.Fatalf("GET /api/queue: %d %s", code, body)
	}
	var p programmeJSON
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// titledTrack is an MP3 of n silent frames counted from first, tagged
// with title.
func titledTrack(title string, first uint32, n int) []byte {
	return append(testmedia.ID3v2("", title, 0), testmedia.FramesFrom(first, n)...)
}

// listenedTitles reads the listener's title runs until want (the runs
// heard after the first block) has been heard in order; it fails on any
// other sequence.
func listenedTitles(t *testing.T, l *liveListener, limit time.Duration, want ...string) {
	t.Helper()
	var runs []string
	deadline := time.Now().Add(limit)
	for len(runs) < len(want) {
		b := l.next(t, time.Until(deadline))
		if len(runs) == 0 || runs[len(runs)-1] != b.title {
			runs = append(runs, b.title)
		}
	}
	if !slices.Equal(runs, want) {
		t.Fatalf("heard %q, want %q", runs, want)
	}
}

// TestQueueAndSkipEndToEnd: an operator finds a track, queues it, sees it
// as next up and skips the playing one; a listener connected throughout
// hears the skipped track cut, the request, then the folder's order, on
// one connection with whole frames.
func TestQueueAndSkipEndToEnd(t *testing.T) {
	const long, short = 1500, 100 // frames: ~39 s and ~2.6 s
	h := startHarness(t, &Server{AdminToken: apiToken}, stationSpec{files: map[string][]byte{
		"a.mp3": titledTrack("Alpha", 0, long), "b.mp3": titledTrack("Bravo", 10000, short),
		"c.mp3": titledTrack("Charlie", 20000, short), "e.mp3": titledTrack("Écho", 30000, short),
	}})
	l := listenTo(t, h, "/")
	if b := l.next(t, 10*time.Second); b.title != "Alpha" {
		t.Fatalf("first title %q", b.title)
	}

	p := h.programme(t)
	if p.NowPlaying == nil || p.NowPlaying.Title != "Alpha" || len(p.NextUp) < 2 ||
		p.NextUp[0].Title != "Bravo" || p.NextUp[1].Title != "Charlie" || len(p.Queue) != 0 {
		t.Fatalf("programme before the request: %+v", p)
	}

	code, body := h.api(t, "GET", "/api/search?q=echo", "")
	var found struct {
		Results []struct{ Rel, Display string }
	}
	if err := json.Unmarshal(body, &found); code != http.StatusOK || err != nil || len(found.Results) != 1 || found.Results[0].Rel != "e.mp3" {
		t.Fatalf("search: %d %s", code, body)
	}
	if code, body := h.api(t, "POST", "/api/queue", `{"file":"e.mp3"}`); code != http.StatusCreated {
		t.Fatalf("queue: %d %s", code, body)
	}
	if code, body := h.api(t, "POST", "/api/queue", `{"file":"../a.mp3"}`); code != http.StatusNotFound {
		t.Fatalf("queueing a file outside the folder: %d %s", code, body)
	}
	p = h.programme(t)
	if len(p.NextUp) == 0 || p.NextUp[0].Title != "Écho" || p.NextUp[0].Kind != mount.KindRequest {
		t.Fatalf("next up after the request: %+v", p.NextUp)
	}
	var streams struct{ Streams []stationJSON }
	h.getJSON(t, "/streams", http.StatusOK, &streams)
	if up := streams.Streams[0].NextUp; up == nil || up.Title != "Écho" {
		t.Fatalf("/streams next_up: %+v", up)
	}

	code, body = h.api(t, "POST", "/api/skip", "")
	if code != http.StatusOK || !strings.Contains(string(body), `"Alpha"`) {
		t.Fatalf("skip: %d %s", code, body)
	}
	listenedTitles(t, l, 60*time.Second, "Alpha", "Écho", "Bravo", "Charlie")
	audio, _ := l.finish()
	if l.err != nil {
		t.Fatalf("the listener's connection broke: %v", l.err)
	}
	fr := mount.NewFrameReader(strings.NewReader(string(audio)))
	frames := 0
	for {
		if _, err := fr.Next(); err != nil {
			break
		}
		frames++
	}
	if skipped := fr.Skipped; skipped != 0 || frames < 2*short {
		t.Fatalf("captured %d frames with %d bytes skipped", frames, skipped)
	}
	if frames >= long {
		t.Fatalf("the skipped track played whole: %d frames", frames)
	}
}

// TestProgrammeAPIRefusals: the programme API needs the admin token,
// refuses a browser's cross-site request and a body that is not JSON, and
// says why for a station without a programme.
func TestProgrammeAPIRefusals(t *testing.T) {
	h := startHarness(t, &Server{AdminToken: apiToken},
		stationSpec{files: map[string][]byte{"a.mp3": titledTrack("Alpha", 0, 200)}},
		stationSpec{Station: config.Station{Route: "/own", Mode: config.ModeIndividual},
			files: map[string][]byte{"a.mp3": titledTrack("Alpha", 0, 200)}})
	noToken, _ := http.NewRequest("POST", h.url("/api/skip"), nil)
	resp, err := http.DefaultClient.Do(noToken)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without a token: %d", resp.StatusCode)
	}
	cases := []struct {
		name, method, path, body string
		hdr                      []string
		want                     int
	}{
		{"cross-site origin", "POST", "/api/skip", "", []string{"Origin", "https://evil.example"}, http.StatusForbidden},
		{"cross-site fetch", "POST", "/api/queue", `{"file":"a.mp3"}`, []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"form body", "POST", "/api/queue", `file=a.mp3`, []string{"Content-Type", "application/x-www-form-urlencoded"}, http.StatusUnsupportedMediaType},
		{"bad JSON", "POST", "/api/queue", `{"file":`, nil, http.StatusBadRequest},
		{"unknown entry", "DELETE", "/api/queue?id=nope", "", nil, http.StatusNotFound},
		{"move unknown", "POST", "/api/queue/move", `{"id":"nope","position":0}`, nil, http.StatusNotFound},
		{"individual station", "GET", "/api/queue?route=/own", "", nil, http.StatusConflict},
		{"unknown station", "GET", "/api/queue?route=/nope", "", nil, http.StatusNotFound},
		{"same origin", "GET", "/api/queue", "", []string{"Origin", "https://evil.example"}, http.StatusOK},
	}
	for _, c := range cases {
		if code, body := h.api(t, c.method, c.path, c.body, c.hdr...); code != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, code, body, c.want)
		}
	}
}

// TestQueueSurvivesRestart: requests queued, one of them already opened to
// play next, are all there after the server restarts, in order.
func TestQueueSurvivesRestart(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	files := map[string][]byte{"a.mp3": titledTrack("Alpha", 0, 1500), "b.mp3": titledTrack("Bravo", 10000, 100),
		"c.mp3": titledTrack("Charlie", 20000, 100), "d.mp3": titledTrack("Delta", 30000, 100)}
	spec := stationSpec{Station: config.Station{Dir: dir}, files: files, stateDir: state}
	t.Run("before", func(t *testing.T) {
		h := startHarness(t, &Server{AdminToken: apiToken}, spec)
		for _, f := range []string{"d.mp3", "c.mp3"} {
			if code, body := h.api(t, "POST", "/api/queue", `{"file":"`+f+`"}`); code != http.StatusCreated {
				t.Fatalf("queue %s: %d %s", f, code, body)
			}
		}
	})
	started := make(chan *mount.TrackInfo, 16)
	spec.onTrack = func(ti *mount.TrackInfo) { started <- ti }
	startHarness(t, &Server{AdminToken: apiToken}, spec)
	var got []string
	for len(got) < 2 {
		select {
		case ti := <-started:
			if ti.Kind != mount.KindRequest {
				t.Fatalf("after a restart %s played before the requests (%v)", ti.Rel, got)
			}
			got = append(got, ti.Rel)
		case <-time.After(10 * time.Second):
			t.Fatalf("requests played after a restart: %v", got)
		}
	}
	if !slices.Equal(got, []string{"d.mp3", "c.mp3"}) {
		t.Fatalf("requests after a restart: %v, want d.mp3, c.mp3", got)
	}
}

// TestJinglesEndToEnd: with jingle_every = 2 a listener hears two songs,
// then a jingle titled with the station's jingle title, and again.
func TestJinglesEndToEnd(t *testing.T) {
	jingles := t.TempDir()
	testmedia.WriteFile(t, jingles, "id_03.mp3", titledTrack("id_03", 90000, 80))
	h := startHarness(t, nil, stationSpec{
		Station: config.Station{Jingles: jingles, JingleEvery: 2, JingleTitle: "Radio Test"},
		files: map[string][]byte{"a.mp3": titledTrack("Alpha", 0, 80), "b.mp3": titledTrack("Bravo", 10000, 80),
			"c.mp3": titledTrack("Charlie", 20000, 80)},
	})
	l := listenTo(t, h, "/")
	listenedTitles(t, l, 60*time.Second, "Alpha", "Bravo", "Radio Test", "Charlie", "Alpha", "Radio Test", "Bravo")
}

// wallClock is a fake wall clock for the programme: tests set the time,
// and SleepUntil wakes when it has come.
type wallClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []chan struct{}
	slept   chan struct{} // told at each SleepUntil call
}

func newWallClock(now time.Time) *wallClock {
	return &wallClock{now: now, slept: make(chan struct{}, 64)}
}

func (c *wallClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *wallClock) SleepUntil(ctx context.Context, t time.Time) error {
	for {
		c.mu.Lock()
		if !c.now.Before(t) {
			c.mu.Unlock()
			return nil
		}
		ch := make(chan struct{})
		c.waiters = append(c.waiters, ch)
		c.mu.Unlock()
		select {
		case c.slept <- struct{}{}:
		default:
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// set moves the clock and wakes every sleeper.
func (c *wallClock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	w := c.waiters
	c.waiters = nil
	c.mu.Unlock()
	for _, ch := range w {
		close(ch)
	}
}

// TestScheduleEndToEnd drives a station's shows with a fake wall clock
// across midnight and the night clocks go forward in Berlin: a cut show
// starts at once at its boundary, a show without cut at the next track
// end, and /streams names the show on the air and the next one.
func TestScheduleEndToEnd(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	night, early := t.TempDir(), t.TempDir()
	testmedia.WriteFile(t, night, "n1.mp3", titledTrack("Night 1", 50000, 80))
	testmedia.WriteFile(t, night, "n2.mp3", titledTrack("Night 2", 51000, 80))
	testmedia.WriteFile(t, early, "e1.mp3", titledTrack("Early 1", 60000, 80))
	// 2026-03-28 is a Saturday; Berlin goes from 02:00 to 03:00 CEST on
	// Sunday the 29th.
	clock := newWallClock(time.Date(2026, 3, 28, 22, 59, 0, 0, berlin))
	h := startHarness(t, nil, stationSpec{
		Station: config.Station{Schedule: []config.ScheduleSlot{
			{Name: "Night", Days: "daily", Start: "23:00", End: "01:00", Zone: "Europe/Berlin", Plays: night, Cut: true},
			{Name: "Early", Days: "sun", Start: "01:30", End: "03:30", Zone: "Europe/Berlin", Plays: early},
		}},
		files:     map[string][]byte{"m.mp3": titledTrack("Music", 0, 1500)},
		wallClock: clock,
	})
	show := func() string {
		var streams struct{ Streams []stationJSON }
		h.getJSON(t, "/streams", http.StatusOK, &streams)
		s := streams.Streams[0]
		name := "-"
		if s.Show != nil && !s.Show.Default {
			name = s.Show.Name
		}
		if s.NextShow != nil {
			name += ">" + s.NextShow.Name
		}
		return name
	}
	l := listenTo(t, h, "/")
	if b := l.next(t, 10*time.Second); b.title != "Music" {
		t.Fatalf("before the shows: %q", b.title)
	}
	if got := show(); got != "->Night" {
		t.Fatalf("show before 23:00: %s", got)
	}
	<-clock.slept
	// 23:00: the night show cuts the long music track.
	clock.set(time.Date(2026, 3, 28, 23, 0, 0, 0, berlin))
	l.until(t, 30*time.Second, "the night show", func(b heard) bool { return strings.HasPrefix(b.title, "Night") })
	if got := show(); got != "Night>" {
		t.Fatalf("show at 23:00: %s", got)
	}
	// Past midnight, 01:00: music again (the cut ends the night track).
	clock.set(time.Date(2026, 3, 29, 1, 0, 0, 0, berlin))
	l.until(t, 30*time.Second, "music after the night show", func(b heard) bool { return b.title == "Music" })
	// 01:30: the early show waits for the music track to end; skip it.
	clock.set(time.Date(2026, 3, 29, 1, 30, 0, 0, berlin))
	if got := show(); got != "Early>" {
		t.Fatalf("show at 01:30: %s", got)
	}
	h.station(t, "/").Skip()
	l.until(t, 30*time.Second, "the early show", func(b heard) bool { return b.title == "Early 1" })
	// The early show ends at 03:30 CEST: one real hour after 01:30 CET
	// (the clocks skipped 02:00-03:00).
	clock.set(time.Date(2026, 3, 29, 2, 29, 0, 0, time.UTC).In(berlin)) // 04:29 CEST
	h.station(t, "/").Skip()
	l.until(t, 30*time.Second, "music after the early show", func(b heard) bool { return b.title == "Music" })
	if got := show(); got != "->Night" {
		t.Fatalf("show after 03:30: %s", got)
	}
}

// TestJinglesInIndividualMode: every listener's private stream plays its
// own jingles after every two tracks.
func TestJinglesInIndividualMode(t *testing.T) {
	jingles := t.TempDir()
	testmedia.WriteFile(t, jingles, "id.mp3", titledTrack("id", 90000, 80))
	h := startHarness(t, nil, stationSpec{
		Station: config.Station{Mode: config.ModeIndividual, Jingles: jingles, JingleEvery: 2, JingleTitle: "Private ID"},
		files:   map[string][]byte{"a.mp3": titledTrack("Alpha", 0, 80), "b.mp3": titledTrack("Bravo", 10000, 80)},
	})
	for range 2 {
		l := listenTo(t, h, "/")
		var runs []string
		for len(runs) < 6 {
			if b := l.next(t, 30*time.Second); len(runs) == 0 || runs[len(runs)-1] != b.title {
				runs = append(runs, b.title)
			}
		}
		l.finish()
		// Each private stream shuffles the music for itself.
		for i, title := range runs {
			if jingle := title == "Private ID"; jingle != (i%3 == 2) {
				t.Fatalf("heard %q: want a jingle after every two songs", runs)
			}
		}
	}
}
