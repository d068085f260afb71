package icy

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// icestats checks the envelope and returns the raw icestats object.
func icestats(t *testing.T, doc []byte) []byte {
	t.Helper()
	if !json.Valid(doc) {
		t.Fatalf("invalid JSON: %s", doc)
	}
	if keys := testmedia.ObjectKeys(t, doc); !slices.Equal(keys, []string{"icestats"}) {
		t.Fatalf("top-level keys %v", keys)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		t.Fatal(err)
	}
	return top["icestats"]
}

func testServer() ServerInfo {
	return ServerInfo{
		Admin: "icemaster@localhost", Host: "localhost", Location: "Earth", ServerID: "audio-streamer",
		Start: time.Date(2017, 5, 27, 20, 36, 30, 0, time.FixedZone("", 2*3600)),
	}
}

func testSource(title string) SourceInfo {
	return SourceInfo{
		AudioInfo: "channels=2;samplerate=44100;bitrate=128", Bitrate: 128, Channels: 2, SampleRate: 44100, Genre: "Rock",
		ListenerPeak: 11, Listeners: 1, ListenURL: "http://localhost:8000/live",
		ServerDescription: "desc", ServerName: "My Radio", ServerType: "audio/mpeg",
		ServerURL: "http://example.org", StreamStart: time.Date(2018, 2, 20, 7, 14, 40, 0, time.FixedZone("", 3600)),
		Title: title,
	}
}

func globalKeys() []string {
	return []string{"admin", "host", "location", "server_id", "server_start", "server_start_iso8601"}
}

func fullSourceKeys() []string {
	return []string{
		"audio_info", "bitrate", "channels", "genre", "listener_peak", "listeners", "listenurl",
		"samplerate", "server_description", "server_name", "server_type", "server_url",
		"stream_start", "stream_start_iso8601", "title", "dummy",
	}
}

func TestStatusJSONNoSource(t *testing.T) {
	st := icestats(t, StatusJSON(testServer(), nil))
	if keys := testmedia.ObjectKeys(t, st); !slices.Equal(keys, globalKeys()) {
		t.Fatalf("keys %v, want %v (no source key)", keys, globalKeys())
	}
	var m map[string]any
	if err := json.Unmarshal(st, &m); err != nil {
		t.Fatal(err)
	}
	if m["server_start"] != "Sat, 27 May 2017 20:36:30 +0200" || m["server_start_iso8601"] != "2017-05-27T20:36:30+0200" {
		t.Errorf("times: %q %q", m["server_start"], m["server_start_iso8601"])
	}
	if _, err := time.Parse("2006-01-02T15:04:05-0700", m["server_start_iso8601"].(string)); err != nil {
		t.Errorf("ISO time does not parse with Icecast's layout: %v", err)
	}
}

func TestStatusJSONOneSource(t *testing.T) {
	src := testSource("1999")
	st := icestats(t, StatusJSON(testServer(), []SourceInfo{src}))
	if keys := testmedia.ObjectKeys(t, st); !slices.Equal(keys, append(globalKeys(), "source")) {
		t.Fatalf("keys %v", keys)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(st, &m); err != nil {
		t.Fatal(err)
	}
	if keys := testmedia.ObjectKeys(t, m["source"]); !slices.Equal(keys, fullSourceKeys()) {
		t.Fatalf("source keys %v\nwant %v", keys, fullSourceKeys())
	}
	var s map[string]any
	if err := json.Unmarshal(m["source"], &s); err != nil {
		t.Fatalf("one source must be an object: %v", err)
	}
	want := map[string]any{
		"audio_info": src.AudioInfo, "bitrate": 128.0, "genre": "Rock", "listener_peak": 11.0,
		"listeners": 1.0, "listenurl": src.ListenURL, "server_description": "desc",
		"server_name": "My Radio", "server_type": "audio/mpeg", "server_url": "http://example.org",
		"stream_start": "Tue, 20 Feb 2018 07:14:40 +0100", "stream_start_iso8601": "2018-02-20T07:14:40+0100",
		"title": "1999", // a string, not the number xml2json would make
		"dummy": nil,
	}
	for k, v := range want {
		got, ok := s[k]
		if !ok || got != v {
			t.Errorf("%s = %#v (present %v), want %#v", k, got, ok, v)
		}
	}
	if !bytes.HasSuffix(m["source"], []byte(`,"dummy":null}`)) {
		t.Errorf("dummy not last: %s", m["source"])
	}
}

func TestStatusJSONTwoSources(t *testing.T) {
	a, b := testSource("A - a"), testSource("")
	b.Genre, b.Artist, b.ServerType, b.Bitrate, b.Channels, b.SampleRate = "", "Kino", "", 0, 0, 0
	st := icestats(t, StatusJSON(testServer(), []SourceInfo{a, b}))
	var m struct{ Source []json.RawMessage }
	if err := json.Unmarshal(st, &m); err != nil {
		t.Fatalf("two sources must be an array: %v", err)
	}
	if len(m.Source) != 2 {
		t.Fatalf("%d sources", len(m.Source))
	}
	if keys := testmedia.ObjectKeys(t, m.Source[0]); !slices.Equal(keys, fullSourceKeys()) {
		t.Errorf("first source keys %v", keys)
	}
	// Empty genre and title are omitted, bitrate 0 too; artist sorts first.
	wantB := []string{
		"artist", "audio_info", "listener_peak", "listeners", "listenurl",
		"server_description", "server_name", "server_type", "server_url",
		"stream_start", "stream_start_iso8601", "dummy",
	}
	if keys := testmedia.ObjectKeys(t, m.Source[1]); !slices.Equal(keys, wantB) {
		t.Errorf("second source keys %v\nwant %v", keys, wantB)
	}
	var sb map[string]any
	if err := json.Unmarshal(m.Source[1], &sb); err != nil {
		t.Fatal(err)
	}
	if sb["server_type"] != "audio/mpeg" || sb["artist"] != "Kino" {
		t.Errorf("server_type %v artist %v", sb["server_type"], sb["artist"])
	}
}

func TestStatusJSONListenerPeakNeverBelowListeners(t *testing.T) {
	src := testSource("x")
	src.ListenerPeak, src.Listeners = 0, 5
	var doc struct {
		Icestats struct {
			Source struct {
				ListenerPeak int `json:"listener_peak"`
			} `json:"source"`
		} `json:"icestats"`
	}
	if err := json.Unmarshal(StatusJSON(testServer(), []SourceInfo{src}), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Icestats.Source.ListenerPeak != 5 {
		t.Errorf("listener_peak %d, want 5", doc.Icestats.Source.ListenerPeak)
	}
}

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		"", "plain", `q"uote\back`, "\n\r\t\b\f\x00\x1f\x7f", "<script>&amp;</script>",
		"Кино 坂本 🎸", "bad \xff\xc3 utf8", "line\u2028sep\u2029", "O'Brien",
	} {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("%q: got %s, want %s", s, got, want)
		}
	}
}

func TestStatusJSONEscapedTitleRoundTrips(t *testing.T) {
	title := "AC/DC - \"Back\" <in> & Black\n\\ Ёлка 🎄"
	var doc struct {
		Icestats struct{ Source struct{ Title string } }
	}
	if err := json.Unmarshal(StatusJSON(testServer(), []SourceInfo{testSource(title)}), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Icestats.Source.Title != title {
		t.Errorf("title %q, want %q", doc.Icestats.Source.Title, title)
	}
}

// TestStatusJSONArtistOnlyWhenTitleLacksIt: a widget joining artist and
// title must not show "Kino - Kino - Gruppa krovi".
func TestStatusJSONArtistOnlyWhenTitleLacksIt(t *testing.T) {
	for _, tc := range []struct {
		title, artist string
		want          bool
	}{
		{"Kino - Gruppa krovi", "Kino", false},
		{"Gruppa krovi", "Kino", true},
		{"", "Kino", true},
		{"Kino - Gruppa krovi", "", false},
	} {
		src := testSource(tc.title)
		src.Artist = tc.artist
		var s map[string]any
		if err := json.Unmarshal(icestatsSource(t, StatusJSON(testServer(), []SourceInfo{src})), &s); err != nil {
			t.Fatal(err)
		}
		if _, got := s["artist"]; got != tc.want {
			t.Errorf("title %q artist %q: artist key present %v, want %v", tc.title, tc.artist, got, tc.want)
		}
	}
}

func icestatsSource(t *testing.T, doc []byte) json.RawMessage {
	t.Helper()
	var m struct{ Source json.RawMessage }
	if err := json.Unmarshal(icestats(t, doc), &m); err != nil {
		t.Fatal(err)
	}
	return m.Source
}
