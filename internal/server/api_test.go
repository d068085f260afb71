package server

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

const jsonTestHost = "radio.example:8000"

// get sends a request with the given Host header and returns status,
// Content-Type and body.
func (h *harness) get(t *testing.T, method, path, host string, hdr ...string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, h.url(path), nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

// getJSON decodes a JSON answer into v, checking status and content type.
func (h *harness) getJSON(t *testing.T, path string, wantStatus int, v any) {
	t.Helper()
	code, ct, body := h.get(t, "GET", path, jsonTestHost)
	if code != wantStatus {
		t.Fatalf("GET %s: status %d, want %d: %s", path, code, wantStatus, body)
	}
	if !strings.HasPrefix(ct, "application/json") {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, body)
	}
}

func jsonStations(t *testing.T) []stationSpec {
	return []stationSpec{
		{
			Station: config.Station{Route: "/", Name: "Main", Genre: "Rock", URL: "http://example.org/", Burst: config.Burst{Duration: 200 * time.Millisecond}},
			files:   map[string][]byte{"song.mp3": taggedMP3("Artist", "Song", testmedia.Frames(secondsOfFrames(20)))},
		},
		{
			Station: config.Station{Route: "/humor", Name: "Humor", Burst: config.Burst{Duration: 200 * time.Millisecond}},
			files:   map[string][]byte{"joke.mp3": taggedMP3("Весёлые Ребята", "Юмор", testmedia.Frames(secondsOfFrames(20)))},
		},
	}
}

func TestJSONEndpoints(t *testing.T) {
	t.Parallel()
	h := startHarness(t, nil, jsonStations(t)...)
	// One listener on /humor, joined by the time its head arrives.
	listener := h.raw(t, "GET /humor HTTP/1.0")
	checkListenerHead(t, listener, "Humor", 0)

	t.Run("streams", func(t *testing.T) {
		var got struct {
			Status  string        `json:"status"`
			Streams []stationJSON `json:"streams"`
		}
		h.getJSON(t, "/streams", 200, &got)
		if got.Status != "success" || len(got.Streams) != 2 {
			t.Fatalf("%+v", got)
		}
		want := []struct {
			route, url, track string
			listeners         int
		}{
			{"/", "http://radio.example:8000/", "Artist - Song", 0},
			{"/humor", "http://radio.example:8000/humor", "Весёлые Ребята - Юмор", 1},
		}
		for i, w := range want {
			s := got.Streams[i]
			if s.Route != w.route || s.URL != w.url || s.CurrentTrack != w.track || s.Listeners != w.listeners || !s.Ready {
				t.Errorf("stream %d: %+v\nwant %+v", i, s, w)
			}
			if s.DelayS <= 0 || s.DelayS > 5 {
				t.Errorf("stream %d: delay_s %v, want the burst delay (0.2 s) or a listener's delay", i, s.DelayS)
			}
		}
		// The burst plus one publish interval (50 ms in the harness).
		if got.Streams[0].DelayS != 0.25 {
			t.Errorf("delay_s without listeners %v, want burst + interval = 0.25", got.Streams[0].DelayS)
		}
	})

	t.Run("now-playing", func(t *testing.T) {
		var all struct {
			Status string            `json:"status"`
			Route  string            `json:"route"`
			Track  string            `json:"track"`
			Tracks map[string]string `json:"tracks"`
		}
		h.getJSON(t, "/now-playing", 200, &all)
		if all.Status != "success" || all.Route != "/" || all.Track != "Artist - Song" ||
			all.Tracks["/humor"] != "Весёлые Ребята - Юмор" || all.Tracks["/"] != "Artist - Song" {
			t.Errorf("%+v", all)
		}
		for _, arg := range []string{"humor", "/humor", "%2Fhumor", "humor/"} {
			var one struct {
				Status, Route, Track, Title, Artist, File string
				Listeners                                 int
			}
			h.getJSON(t, "/now-playing?route="+arg, 200, &one)
			if one.Status != "success" || one.Route != "/humor" || one.Track != "Весёлые Ребята - Юмор" ||
				one.Title != "Юмор" || one.Artist != "Весёлые Ребята" || one.File != "joke.mp3" || one.Listeners != 1 {
				t.Errorf("route=%s: %+v", arg, one)
			}
		}
		var bad struct{ Status, Message string }
		h.getJSON(t, "/now-playing?route=nope", 404, &bad)
		if bad.Status != "error" || !strings.Contains(bad.Message, "nope") {
			t.Errorf("unknown route: %+v", bad)
		}
	})

	t.Run("history", func(t *testing.T) {
		var got struct {
			Status  string         `json:"status"`
			Route   string         `json:"route"`
			History []historyEntry `json:"history"`
		}
		// The first track enters the history once listeners hear it, one
		// burst (0.2 s) after it started.
		testmedia.PollUntil(t, 5*time.Second, "history of /humor", func() bool {
			h.getJSON(t, "/history?route=/humor", 200, &got)
			return len(got.History) > 0
		})
		e := got.History[0]
		if got.Status != "success" || got.Route != "/humor" || e.Title != "Весёлые Ребята - Юмор" || e.File != "joke.mp3" {
			t.Errorf("%+v", got)
		}
		if _, err := time.Parse(time.RFC3339, e.StartedAt); err != nil {
			t.Errorf("started_at %q: %v", e.StartedAt, err)
		}
		var bad struct{ Status string }
		h.getJSON(t, "/history?route=nope", 404, &bad)
		if bad.Status != "error" {
			t.Errorf("unknown route: %+v", bad)
		}
	})

	t.Run("status-json two sources", func(t *testing.T) {
		for _, path := range []string{"/status-json.xsl", "/status.json"} {
			var doc struct{ Icestats json.RawMessage }
			h.getJSON(t, path, 200, &doc)
			keys := testmedia.ObjectKeys(t, doc.Icestats)
			if want := []string{"admin", "host", "location", "server_id", "server_start", "server_start_iso8601", "source"}; !slices.Equal(keys, want) {
				t.Errorf("%s: icestats keys %v, want %v", path, keys, want)
			}
			var st struct {
				Host   string          `json:"host"`
				Source json.RawMessage `json:"source"`
			}
			if err := json.Unmarshal(doc.Icestats, &st); err != nil {
				t.Fatal(err)
			}
			if st.Host != "radio.example" {
				t.Errorf("host %q, want the request's host without port", st.Host)
			}
			var list []json.RawMessage
			if err := json.Unmarshal(st.Source, &list); err != nil || len(list) != 2 {
				t.Fatalf("%s: two stations must give a source array of 2: %v %s", path, err, st.Source)
			}
			checkIcecastSource(t, list[0], "http://radio.example:8000/", "Main", "Artist - Song", 0)
			checkIcecastSource(t, list[1], "http://radio.example:8000/humor", "Humor", "Весёлые Ребята - Юмор", 1)
		}
	})

	t.Run("playlists", func(t *testing.T) {
		code, ct, body := h.get(t, "GET", "/listen.m3u", jsonTestHost)
		if code != 200 || ct != "audio/x-mpegurl" || string(body) != "#EXTM3U\r\n#EXTINF:-1,Main\r\nhttp://radio.example:8000/\r\n" {
			t.Errorf("/listen.m3u: %d %q %q", code, ct, body)
		}
		code, ct, body = h.get(t, "GET", "/humor.m3u", "other.example")
		if code != 200 || !bytes.Contains(body, []byte("\r\nhttp://other.example/humor\r\n")) {
			t.Errorf("/humor.m3u with Host other.example: %d %q %q", code, ct, body)
		}
		code, ct, body = h.get(t, "GET", "/humor.pls", jsonTestHost)
		if code != 200 || ct != "audio/x-scpls" || !bytes.HasPrefix(body, []byte("[playlist]\r\nNumberOfEntries=1\r\nFile1=http://radio.example:8000/humor\r\nTitle1=Humor\r\n")) {
			t.Errorf("/humor.pls: %d %q %q", code, ct, body)
		}
		code, ct, body = h.get(t, "GET", "/humor.xspf", jsonTestHost)
		var doc struct {
			Tracks []struct {
				Location string `xml:"location"`
				Title    string `xml:"title"`
			} `xml:"trackList>track"`
		}
		if err := xml.Unmarshal(body, &doc); err != nil || code != 200 || ct != "application/xspf+xml" {
			t.Fatalf("/humor.xspf: %d %q %v %s", code, ct, err, body)
		}
		if len(doc.Tracks) != 1 || doc.Tracks[0].Location != "http://radio.example:8000/humor" || doc.Tracks[0].Title != "Весёлые Ребята - Юмор" {
			t.Errorf("/humor.xspf: %+v", doc)
		}
		// An HTTP/1.0 request without Host gets the address it reached.
		for _, path := range []string{"/listen.m3u", "/streams", "/status-json.xsl"} {
			r := h.raw(t, "GET "+path+" HTTP/1.0")
			body, _ := io.ReadAll(r.body)
			if want := "http://" + h.addr + "/"; !strings.Contains(r.status, " 200 ") || !bytes.Contains(body, []byte(want)) || bytes.Contains(body, []byte("http:///")) {
				t.Errorf("%s without Host: %q %s, want URLs %s…", path, r.status, body, want)
			}
		}
		if code, _, _ := h.get(t, "GET", "/nope.m3u", jsonTestHost); code != 404 {
			t.Errorf("/nope.m3u: %d, want 404", code)
		}
	})

	t.Run("health", func(t *testing.T) {
		if code, _, body := h.get(t, "GET", "/healthz", ""); code != 200 || string(body) != "OK" {
			t.Errorf("/healthz: %d %q", code, body)
		}
		if code, _, body := h.get(t, "GET", "/readyz", ""); code != 200 || !strings.HasPrefix(string(body), "Ready") {
			t.Errorf("/readyz: %d %q", code, body)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		code, ct, body := h.get(t, "GET", "/metrics", "")
		if code != 200 || !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
			t.Fatalf("/metrics: %d %q", code, ct)
		}
		fams := parsePrometheus(t, body)
		checkStationSeries(t, fams, []string{"/", "/humor"})
		if v := fams["audio_stream_listeners"].value(t, "/humor"); v != 1 {
			t.Errorf("audio_stream_listeners{stream=\"/humor\"} = %v, want 1", v)
		}
		if v := fams["audio_stream_ready"].value(t, "/"); v != 1 {
			t.Errorf("audio_stream_ready{stream=\"/\"} = %v, want 1", v)
		}
	})
}

// checkIcecastSource checks one source object of the status document:
// keys in alphabetical order, "dummy":null last, the values a widget reads.
func checkIcecastSource(t *testing.T, raw json.RawMessage, listenURL, name, title string, listeners int) {
	t.Helper()
	keys := testmedia.ObjectKeys(t, raw)
	if len(keys) == 0 || keys[len(keys)-1] != "dummy" {
		t.Fatalf("source keys %v: dummy must be last", keys)
	}
	if !slices.IsSorted(keys[:len(keys)-1]) {
		t.Errorf("source keys %v not in alphabetical order", keys)
	}
	for _, k := range []string{"audio_info", "bitrate", "channels", "genre", "listener_peak", "listeners", "listenurl", "samplerate", "server_description", "server_name", "server_type", "stream_start", "stream_start_iso8601", "title"} {
		if !slices.Contains(keys, k) {
			t.Errorf("source has no %q: %v", k, keys)
		}
	}
	var s map[string]any
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	if d, ok := s["dummy"]; !ok || d != nil {
		t.Errorf("dummy = %v, want null", d)
	}
	if s["listenurl"] != listenURL || s["server_name"] != name || s["title"] != title || s["server_type"] != "audio/mpeg" ||
		s["listeners"] != float64(listeners) || s["bitrate"] != float64(128) || s["audio_info"] != "channels=2;samplerate=44100;bitrate=128" {
		t.Errorf("source %v", s)
	}
	// As Icecast reads them out of ice-audio-info: numbers, from the track on the air.
	if s["channels"] != float64(2) || s["samplerate"] != float64(44100) {
		t.Errorf("channels %v, samplerate %v: want 2 and 44100 from the playing track", s["channels"], s["samplerate"])
	}
	if _, err := time.Parse("2006-01-02T15:04:05-0700", s["stream_start_iso8601"].(string)); err != nil {
		t.Errorf("stream_start_iso8601: %v", err)
	}
}

func TestStatusJSONOneSource(t *testing.T) {
	t.Parallel()
	h := startHarness(t, nil, jsonStations(t)[0])
	var doc struct {
		Icestats struct {
			Source json.RawMessage `json:"source"`
		} `json:"icestats"`
	}
	h.getJSON(t, "/status-json.xsl", 200, &doc)
	if !bytes.HasPrefix(doc.Icestats.Source, []byte("{")) {
		t.Fatalf("one station must give a source object, got %s", doc.Icestats.Source)
	}
	checkIcecastSource(t, doc.Icestats.Source, "http://radio.example:8000/", "Main", "Artist - Song", 0)
	var s map[string]any
	if err := json.Unmarshal(doc.Icestats.Source, &s); err != nil {
		t.Fatal(err)
	}
	// No "artist" beside a title that already names it, as Icecast 2.4.
	if _, artist := s["artist"]; s["server_url"] != "http://example.org/" || s["genre"] != "Rock" || artist {
		t.Errorf("source %v", s)
	}
}

// TestEmptyStation: a station without audio answers 503 with a clear
// message, /readyz says which, and it starts by itself after a file
// appears and the playlist is reloaded.
func TestEmptyStation(t *testing.T) {
	t.Parallel()
	song := taggedMP3("New", "Song", testmedia.Frames(secondsOfFrames(5)))
	h := startHarness(t, nil,
		stationSpec{Station: config.Station{Route: "/"}, files: map[string][]byte{"a.mp3": song}},
		stationSpec{Station: config.Station{Route: "/empty"}},
		stationSpec{Station: config.Station{Route: "/empty2"}},
	)
	empty := h.station(t, "/empty")
	r := h.raw(t, "GET /empty HTTP/1.0", "Icy-MetaData: 1")
	body, _ := io.ReadAll(r.body)
	// The folder's path stays in the log: strangers learn nothing of the disk.
	if r.status != "HTTP/1.0 503 Service Unavailable" || !bytes.Contains(body, []byte("no playable audio")) || bytes.Contains(body, []byte(empty.Settings().Dir)) {
		t.Errorf("empty station: %q %q", r.status, body)
	}
	if v, _ := r.header("icy-metaint"); v != "" {
		t.Errorf("503 with icy-metaint %q", v)
	}
	code, _, b := h.get(t, "GET", "/readyz", "")
	if code != 503 || !strings.Contains(string(b), "/empty, /empty2") {
		t.Errorf("/readyz: %d %q", code, b)
	}

	for _, tc := range []struct{ route, method, query string }{
		{"/empty", "GET", ""},
		{"/empty2", "POST", "?route=empty2"},
	} {
		dir := h.station(t, tc.route).Settings().Dir
		if err := os.WriteFile(filepath.Join(dir, "new.mp3"), song, 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, b := h.get(t, tc.method, "/reload-playlist"+tc.query, "")
		if code != 200 || !strings.Contains(string(b), `"success"`) {
			t.Fatalf("%s /reload-playlist%s: %d %s", tc.method, tc.query, code, b)
		}
		st := h.station(t, tc.route)
		testmedia.PollUntil(t, 10*time.Second, tc.route+" playing after reload", st.Ready)
		r := h.raw(t, "GET "+tc.route+" HTTP/1.0", "Icy-MetaData: 1")
		s := newICYStream(t, r)
		if _, err := s.next(); err != nil {
			t.Fatal(err)
		}
		if !isFrameSync(s.audio) || s.title != "New - Song" {
			t.Errorf("%s after reload: audio % x, title %q", tc.route, s.audio[:4], s.title)
		}
	}
	if code, _, b := h.get(t, "GET", "/readyz", ""); code != 200 {
		t.Errorf("/readyz after reload: %d %q", code, b)
	}
}

func TestEmptyStationStartsOnRescan(t *testing.T) {
	t.Parallel()
	h := startHarness(t, nil, stationSpec{Station: config.Station{Route: "/later"}, rescan: 100 * time.Millisecond})
	st := h.station(t, "/later")
	if st.Ready() {
		t.Fatal("empty station ready")
	}
	testmedia.WriteFile(t, st.Settings().Dir, "sub/a.mp3", taggedMP3("", "", testmedia.Frames(secondsOfFrames(5))))
	testmedia.PollUntil(t, 10*time.Second, "the periodic rescan to start the station", st.Ready)
	r := h.raw(t, "GET /later HTTP/1.1", "Host: x", "Icy-MetaData: 1")
	s := newICYStream(t, r)
	if _, err := s.next(); err != nil {
		t.Fatal(err)
	}
	if s.title != "a" {
		t.Errorf("title %q, want the file name", s.title)
	}
}

func TestReloadAdmin(t *testing.T) {
	t.Parallel()
	song := map[string][]byte{"a.mp3": taggedMP3("A", "B", testmedia.Frames(20))}
	t.Run("loopback without token", func(t *testing.T) {
		t.Parallel()
		h := startHarness(t, nil, stationSpec{Station: config.Station{Route: "/"}, files: song})
		for _, m := range []string{"GET", "POST"} {
			code, _, body := h.get(t, m, "/reload-playlist", "")
			var got struct {
				Status  string
				Results []struct {
					Route  string
					Tracks int
				}
			}
			if err := json.Unmarshal(body, &got); err != nil || code != 200 || got.Status != "success" ||
				len(got.Results) != 1 || got.Results[0].Route != "/" || got.Results[0].Tracks != 1 {
				t.Errorf("%s: %d %s", m, code, body)
			}
		}
		if code, _, _ := h.get(t, "PUT", "/reload-playlist", ""); code != 405 {
			t.Errorf("PUT: %d, want 405", code)
		}
	})
	t.Run("token", func(t *testing.T) {
		t.Parallel()
		h := startHarness(t, &Server{AdminToken: "s3cret"}, stationSpec{Station: config.Station{Route: "/"}, files: song})
		for _, tc := range []struct {
			name, auth string
			want       int
		}{
			{"none", "", 401},
			{"wrong bearer", "Bearer nope", 401},
			{"bearer", "Bearer s3cret", 200},
			{"basic", "Basic YWRtaW46czNjcmV0", 200},       // admin:s3cret
			{"basic wrong", "Basic YWRtaW46bm9wZQ==", 401}, // admin:nope
			{"basic no user", "Basic OnMzY3JldA==", 200},   // :s3cret
			{"token as user", "Basic czNjcmV0Og==", 401},   // s3cret:
			{"bearer prefix", "Bearer s3cretX", 401},
			{"bearer lower case", "bearer s3cret", 200}, // scheme names are case-insensitive
			{"basic upper case", "BASIC YWRtaW46czNjcmV0", 200},
			{"bearer empty", "Bearer ", 401},
		} {
			for _, m := range []string{"GET", "POST"} {
				var hdr []string
				if tc.auth != "" {
					hdr = []string{"Authorization", tc.auth}
				}
				code, _, body := h.get(t, m, "/reload-playlist", "", hdr...)
				if code != tc.want {
					t.Errorf("%s %s: %d, want %d: %s", m, tc.name, code, tc.want, body)
				}
			}
		}
	})
}

// TestNowPlayingIsWhatListenersHear: with a 3 s burst, listeners hear a
// track 3 s after it reached the live edge, and /now-playing follows
// them, not the live edge. Assertions compare with the track's start time
// the station reports, not with sleeps.
func TestNowPlayingIsWhatListenersHear(t *testing.T) {
	t.Parallel()
	const burst = 3 * time.Second
	started := make(chan *mount.TrackInfo, 8)
	h := startHarness(t, nil, stationSpec{
		Station: config.Station{Route: "/np", Burst: config.Burst{Duration: burst}},
		files: map[string][]byte{
			"1.mp3": taggedMP3("First", "Track", testmedia.Frames(secondsOfFrames(1))),
			"2.mp3": taggedMP3("Second", "Track", testmedia.Frames(secondsOfFrames(6))),
		},
		onTrack: func(ti *mount.TrackInfo) { started <- ti },
	})
	st := h.station(t, "/np")
	var second *mount.TrackInfo
	for second == nil {
		select {
		case ti := <-started:
			if ti.Display == "Second - Track" {
				second = ti
			}
		case <-time.After(10 * time.Second):
			t.Fatal("second track never started")
		}
	}
	heard := second.Started.Add(h.station(t, "/np").BurstDelay()) // burst + one publish interval
	type np struct {
		Track     string `json:"track"`
		StartedAt string `json:"started_at"`
	}
	// Right after the change on the live edge listeners still hear the
	// first track. Only a response that arrived before heard proves it.
	var got np
	h.getJSON(t, "/now-playing?route=np", 200, &got)
	mp := st.NowPlaying()
	if time.Now().Before(heard) {
		if got.Track != "First - Track" || mp.Display != "First - Track" {
			t.Errorf("before listeners hear the change: /now-playing %q, NowPlaying %q; want the first track", got.Track, mp.Display)
		}
		var hist struct{ History []historyEntry }
		h.getJSON(t, "/history?route=np", 200, &hist)
		for _, e := range hist.History {
			if e.Title == "Second - Track" {
				t.Errorf("history lists the second track before anyone hears it: %+v", hist.History)
			}
		}
	} else {
		t.Logf("the machine was too slow to look before the change was heard")
	}
	// Later /now-playing switches, never before heard.
	testmedia.PollUntil(t, 10*time.Second, "/now-playing to show the second track", func() bool {
		h.getJSON(t, "/now-playing?route=np", 200, &got)
		return got.Track == "Second - Track"
	})
	if now := time.Now(); now.Before(heard) {
		t.Errorf("/now-playing showed the second track at %v, %v before listeners hear it", now, heard.Sub(now))
	}
	if want := heard.UTC().Format(time.RFC3339Nano); got.StartedAt != want {
		t.Errorf("started_at %q, want %q (live start + burst delay)", got.StartedAt, want)
	}
}

func TestHistoryJSONSkipsUnheardBeforeCounting(t *testing.T) {
	hist := playlist.NewHistory(100)
	now := time.Now()
	for i := range 12 {
		hist.Add(playlist.Entry{Rel: strconv.Itoa(i) + ".mp3", Title: strconv.Itoa(i), Start: now.Add(time.Duration(i-11) * time.Minute)})
	}
	// The newest track is on the live edge, heard only in a minute.
	hist.Add(playlist.Entry{Rel: "next.mp3", Title: "next", Start: now.Add(time.Minute)})
	got := historyJSON(hist.List(), 10)
	if len(got) != 10 || got[0].Title != "11" || got[9].Title != "2" {
		t.Errorf("historyJSON(10) = %+v, want the 10 heard tracks 11…2", got)
	}
}

// TestStatusJSONFormatFromProfile: a station with nothing on the air
// shows its configured format, as Icecast shows a source's ice-audio-info.
func TestStatusJSONFormatFromProfile(t *testing.T) {
	t.Parallel()
	h := startHarness(t, nil, stationSpec{Station: config.Station{Route: "/silent", SampleRate: 48000, Channels: 1}})
	var doc struct {
		Icestats struct {
			Source map[string]any `json:"source"`
		} `json:"icestats"`
	}
	h.getJSON(t, "/status-json.xsl", 200, &doc)
	if s := doc.Icestats.Source; s["channels"] != float64(1) || s["samplerate"] != float64(48000) {
		t.Errorf("source %v: want channels 1 and samplerate 48000 from the station's settings", s)
	}
}
