package server

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// taggedMP3 is an MP3 file: an ID3v2 tag (when title is set) and frames.
func taggedMP3(artist, title string, frames []byte) []byte {
	var out []byte
	if title != "" {
		out = testmedia.ID3v2(artist, title, 64)
	}
	return append(out, frames...)
}

// framesFrom is testmedia.Frames(n) with counters first, first+1, …, so a
// track's audio can be recognised in a listener's stream.
func framesFrom(first uint32, n int) []byte {
	b := testmedia.Frames(n)
	size := len(b) / n
	for i := range n {
		binary.BigEndian.PutUint32(b[i*size+40:], first+uint32(i))
	}
	return b
}

// secondsOfFrames is how many 128 kbps frames last about s seconds.
func secondsOfFrames(s float64) int { return int(s * 1e9 / testmedia.FrameDuration) }

func checkListenerHead(t *testing.T, r *rawResp, name string, wantMetaint int) {
	t.Helper()
	if r.status != "HTTP/1.0 200 OK" {
		t.Errorf("status line %q, want HTTP/1.0 200 OK", r.status)
	}
	want := map[string]string{
		"Content-Type":                "audio/mpeg",
		"Cache-Control":               "no-cache, no-store",
		"Access-Control-Allow-Origin": "*",
		"Connection":                  "Close",
	}
	for k, v := range want {
		if got, ok := r.header(k); !ok || got != v {
			t.Errorf("%s: %q (present %v), want %q", k, got, ok, v)
		}
	}
	if v, _ := r.header("Access-Control-Expose-Headers"); !strings.Contains(v, "icy-metaint") || !strings.Contains(v, "icy-name") {
		t.Errorf("Access-Control-Expose-Headers %q must expose icy-metaint and icy-name", v)
	}
	for _, k := range []string{"Content-Length", "Transfer-Encoding"} {
		if v, ok := r.header(k); ok {
			t.Errorf("%s: %s must not be sent on a live stream", k, v)
		}
	}
	// icy-* lines exactly as Icecast writes them: lower case, no space.
	for _, prefix := range []string{"icy-name:" + name, "icy-br:128", "icy-pub:0", "icy-genre:Various", "icy-description:Stream "} {
		found := false
		for _, l := range r.lines {
			found = found || strings.HasPrefix(l, prefix)
		}
		if !found {
			t.Errorf("no header line starting %q in %q", prefix, r.lines)
		}
	}
	got, hasMI := r.header("icy-metaint")
	switch {
	case wantMetaint == 0 && hasMI:
		t.Errorf("icy-metaint:%s sent to a client that did not ask", got)
	case wantMetaint > 0 && got != strconv.Itoa(wantMetaint):
		t.Errorf("icy-metaint %q (present %v), want %d", got, hasMI, wantMetaint)
	}
	if wantMetaint > 0 {
		for _, l := range r.lines {
			if strings.HasPrefix(strings.ToLower(l), "icy-metaint") && !strings.HasPrefix(l, "icy-metaint:") {
				t.Errorf("header line %q, want exactly icy-metaint:N", l)
			}
		}
	}
	first := make([]byte, 4)
	if _, err := io.ReadFull(r.body, first); err != nil {
		t.Fatalf("reading the first body bytes: %v", err)
	}
	if !isFrameSync(first) {
		t.Errorf("first body bytes % x, want an MPEG frame sync", first)
	}
}

// TestListenerResponse checks the wire format of the listener response
// for the requests real players and browsers send.
func TestListenerResponse(t *testing.T) {
	t.Parallel()
	ten := taggedMP3("Artist", "Song", testmedia.Frames(secondsOfFrames(10)))
	h := startHarness(t, nil,
		stationSpec{Station: config.Station{Route: "/", Name: "Main"}, files: map[string][]byte{"a.mp3": ten}},
		stationSpec{Station: config.Station{Route: "/humor", Name: "Humor"}, files: map[string][]byte{"a.mp3": ten}},
		stationSpec{Station: config.Station{Route: "/legacy", Name: "Legacy", LegacyICYStatus: true}, files: map[string][]byte{"a.mp3": ten}},
	)
	host := "Host: " + h.addr

	for _, tc := range []struct {
		name    string
		lines   []string
		metaint int
	}{
		{"HTTP/1.0", []string{"GET / HTTP/1.0"}, 0},
		{"HTTP/1.0 with Icy-MetaData", []string{"GET / HTTP/1.0", "Icy-MetaData: 1"}, 16000},
		{"HTTP/1.1", []string{"GET / HTTP/1.1", host}, 0},
		{"HTTP/1.1 with Icy-MetaData", []string{"GET / HTTP/1.1", host, "icy-metadata: 1", "User-Agent: VLC/3.0.18 LibVLC/3.0.18"}, 16000},
		{"Icy-MetaData 0", []string{"GET / HTTP/1.1", host, "Icy-MetaData: 0"}, 0},
		{"Icy-MetaData without space", []string{"GET / HTTP/1.0", "Icy-MetaData:1"}, 16000},
		{"cache-busting query", []string{"GET /?nocache=1732 HTTP/1.1", host}, 0},
		{"Range bytes=0-", []string{"GET / HTTP/1.1", host, "Range: bytes=0-", "User-Agent: Mozilla/5.0 Chrome/120"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.raw(t, tc.lines...)
			checkListenerHead(t, r, "Main", tc.metaint)
			if v, ok := r.header("Content-Range"); ok {
				t.Errorf("Content-Range %q on a live stream", v)
			}
		})
	}

	t.Run("HEAD", func(t *testing.T) {
		st := h.station(t, "/")
		before := st.Stats()
		r := h.raw(t, "HEAD / HTTP/1.1", host, "Icy-MetaData: 1")
		if r.status != "HTTP/1.0 200 OK" {
			t.Errorf("status %q", r.status)
		}
		if v, _ := r.header("icy-metaint"); v != "16000" {
			t.Errorf("HEAD must answer the headers GET would get; icy-metaint %q", v)
		}
		if v, _ := r.header("icy-name"); v != "Main" {
			t.Errorf("icy-name %q", v)
		}
		rest, err := io.ReadAll(r.body)
		if err != nil {
			t.Fatalf("HEAD connection was not closed: %v", err)
		}
		if len(rest) != 0 {
			t.Errorf("HEAD answered %d body bytes", len(rest))
		}
		// Listeners of earlier subtests may still be counted until their
		// next write fails, so compare with the count before.
		if after := st.Stats(); after.Sessions != before.Sessions || after.Listeners > before.Listeners {
			t.Errorf("HEAD counted as a listener: sessions %d→%d, listeners %d→%d", before.Sessions, after.Sessions, before.Listeners, after.Listeners)
		}
	})

	t.Run("OPTIONS preflight", func(t *testing.T) {
		r := h.raw(t, "OPTIONS / HTTP/1.1", host, "Origin: http://example.org",
			"Access-Control-Request-Method: GET", "Access-Control-Request-Headers: icy-metadata")
		if r.status != "HTTP/1.0 204 No Content" {
			t.Fatalf("status %q, want 204", r.status)
		}
		if v, _ := r.header("Access-Control-Allow-Origin"); v != "*" {
			t.Errorf("Access-Control-Allow-Origin %q", v)
		}
		if v, _ := r.header("Access-Control-Allow-Headers"); !strings.Contains(strings.ToLower(v), "icy-metadata") {
			t.Errorf("Access-Control-Allow-Headers %q must allow Icy-MetaData", v)
		}
		if v, _ := r.header("Access-Control-Allow-Methods"); !strings.Contains(v, "GET") {
			t.Errorf("Access-Control-Allow-Methods %q", v)
		}
		if v, ok := r.header("Content-Length"); ok && v != "0" {
			t.Errorf("204 with Content-Length %q", v)
		}
		if rest, err := io.ReadAll(r.body); err != nil || len(rest) != 0 {
			t.Errorf("after 204: %d bytes, %v; want the connection closed", len(rest), err)
		}
	})

	t.Run("legacy ICY status", func(t *testing.T) {
		r := h.raw(t, "GET /legacy HTTP/1.0", "User-Agent: WinampMPEG/5.66", "Icy-MetaData: 1")
		if r.status != "ICY 200 OK" {
			t.Errorf("legacy station answered %q to Winamp, want ICY 200 OK", r.status)
		}
		if v, _ := r.header("icy-metaint"); v != "16000" {
			t.Errorf("icy-metaint %q", v)
		}
		b := make([]byte, 2)
		if _, err := io.ReadFull(r.body, b); err != nil || !isFrameSync(b) {
			t.Errorf("body starts % x (%v), want a frame sync", b, err)
		}
		r = h.raw(t, "GET /legacy HTTP/1.1", host, "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36")
		checkListenerHead(t, r, "Legacy", 0)
		r = h.raw(t, "GET /humor HTTP/1.0", "User-Agent: WinampMPEG/5.66")
		if r.status != "HTTP/1.0 200 OK" {
			t.Errorf("a station without legacy_icy_status answered %q", r.status)
		}
	})

	t.Run("aliases and trailing slash", func(t *testing.T) {
		for path, name := range map[string]string{"/stream": "Main", "/direct-stream": "Main", "/humor/": "Humor", "/humor": "Humor"} {
			r := h.raw(t, "GET "+path+" HTTP/1.1", host)
			checkListenerHead(t, r, name, 0)
		}
	})

	t.Run("unknown path", func(t *testing.T) {
		r := h.raw(t, "GET /nope HTTP/1.1", host, "Connection: close")
		if !strings.Contains(r.status, " 404 ") {
			t.Fatalf("status %q, want 404", r.status)
		}
		if v, _ := r.header("Content-Type"); !strings.HasPrefix(v, "text/plain") {
			t.Errorf("Content-Type %q", v)
		}
		body, _ := io.ReadAll(r.body)
		for _, want := range []string{"/nope", "/humor", "/legacy"} {
			if !bytes.Contains(body, []byte(want)) {
				t.Errorf("404 body %q does not mention %s", body, want)
			}
		}
	})
}

// TestICYTitlesFromCorpus plays real tagged files and checks the title
// every listener gets in its first metadata block, byte for byte.
func TestICYTitlesFromCorpus(t *testing.T) {
	t.Parallel()
	dir, man := testmedia.Corpus(t)
	expected := map[string]string{}
	for _, f := range man.Files {
		expected[f.Path] = f.ExpectedDisplayTitle
	}
	cases := []struct {
		route, file string
		charset     icy.Charset
		want        string // "": the manifest's title
	}{
		{route: "/cjk", file: "default/你好世界.mp3"},
		{route: "/emoji", file: "default/Party 🎉.mp3"},
		{route: "/quotes", file: "default/Don't Stop.mp3"},
		{route: "/untagged", file: "default/untagged track 07.mp3"},
		{route: "/cyrillic", file: "humor/Юмор.mp3"},
		{route: "/latin", file: "humor/Юмор.mp3", charset: icy.Latin1, want: "Vesyolye Rebyata - Yumor"},
	}
	var specs []stationSpec
	for i, c := range cases {
		raw, err := os.ReadFile(filepath.Join(dir, c.file))
		if err != nil {
			t.Fatal(err)
		}
		if cases[i].want == "" {
			cases[i].want = expected[c.file]
			if cases[i].want == "" {
				t.Fatalf("%s is not in the corpus manifest", c.file)
			}
		}
		specs = append(specs, stationSpec{
			Station: config.Station{Route: c.route, Metaint: 4000, ICYCharset: c.charset},
			files:   map[string][]byte{filepath.Base(c.file): raw},
		})
	}
	h := startHarness(t, nil, specs...)
	for _, c := range cases {
		t.Run(strings.TrimPrefix(c.route, "/"), func(t *testing.T) {
			r := h.raw(t, "GET "+c.route+" HTTP/1.0", "Icy-MetaData: 1")
			s := newICYStream(t, r)
			if s.metaint != 4000 {
				t.Fatalf("metaint %d", s.metaint)
			}
			first, err := s.next()
			if err != nil {
				t.Fatal(err)
			}
			if !isFrameSync(s.audio) {
				t.Errorf("audio starts % x", s.audio[:4])
			}
			if first.title != c.want {
				t.Errorf("StreamTitle %q, want %q", first.title, c.want)
			}
			text := "StreamTitle='" + c.want + "';"
			if c.charset == icy.Latin1 {
				for _, b := range first.raw[1:] {
					if b >= 0x80 {
						t.Errorf("latin1 block has byte %#x: %q", b, first.raw)
						break
					}
				}
			}
			wantRaw := append([]byte{byte(len(text)/16 + 1)}, text...)
			wantRaw = append(wantRaw, make([]byte, int(wantRaw[0])*16-len(text))...)
			if !bytes.Equal(first.raw, wantRaw) {
				t.Errorf("block on the wire %q\nwant %q", first.raw, wantRaw)
			}
			second, err := s.next()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(second.raw, []byte{0}) {
				t.Errorf("unchanged title sent as %q, want the single zero byte", second.raw)
			}
		})
	}
}

// listenUntilTrack reads a listener's stream until the first frame whose
// counter is at least first, plus the metadata block after it, checking
// that the audio is an unbroken run of frames. It returns the audio offset
// of that frame.
func listenUntilTrack(t *testing.T, s *icyStream, first uint32, limit int) int {
	t.Helper()
	pos := 0 // next frame start in s.audio
	for len(s.blocks) < limit {
		if _, err := s.next(); err != nil {
			t.Fatalf("after %d audio bytes: %v", len(s.audio), err)
		}
		for {
			n := mpeg1L3Len(s.audio[pos:])
			if pos == len(s.audio) || (n > 0 && pos+n > len(s.audio)) || (n == 0 && len(s.audio)-pos < 4) {
				break
			}
			if n == 0 {
				t.Fatalf("no frame sync at audio offset %d: % x", pos, s.audio[pos:pos+4])
			}
			if testmedia.FrameIndex(s.audio[pos:pos+n]) >= first {
				// s.audio ends at a block, so the block after pos is read.
				return pos
			}
			pos += n
		}
	}
	t.Fatalf("no frame of the new track within %d metadata blocks", limit)
	return 0
}

// TestTitleChangesWithTheAudio checks the rule for title changes: the
// metadata block that follows the first byte of the new track carries its
// title, the one before it still the old title — for listeners whose
// metadata intervals are at different offsets to the track change.
func TestTitleChangesWithTheAudio(t *testing.T) {
	t.Parallel()
	const metaint, bStart = 2000, 1_000_000
	h := startHarness(t, nil, stationSpec{
		Station: config.Station{Route: "/ab", Metaint: metaint, Burst: config.Burst{Duration: 500 * time.Millisecond}},
		files: map[string][]byte{
			"a.mp3": taggedMP3("Artist A", "Song A", framesFrom(0, secondsOfFrames(3))),
			"b.mp3": taggedMP3("Artist B", "Song B", framesFrom(bStart, secondsOfFrames(2))),
		},
	})
	first := newICYStream(t, h.raw(t, "GET /ab HTTP/1.0", "Icy-MetaData: 1"))
	// The second listener joins once the first has heard over a second,
	// so it starts at another frame and its intervals fall elsewhere.
	for len(first.audio) < 20000 {
		if _, err := first.next(); err != nil {
			t.Fatal(err)
		}
	}
	second := newICYStream(t, h.raw(t, "GET /ab HTTP/1.0", "Icy-MetaData: 1"))
	phases := map[int]bool{}
	for i, s := range []*icyStream{first, second} {
		p := listenUntilTrack(t, s, bStart, 200)
		if p < metaint {
			t.Fatalf("listener %d: track B at audio byte %d, before the first metadata block", i, p)
		}
		phases[p%metaint] = true
		before := s.blocks[p/metaint-1] // the last block before byte p
		after := s.blocks[p/metaint]    // the first block after byte p
		if before.at > p || after.at <= p {
			t.Fatalf("listener %d: block bookkeeping: before at %d, after at %d, B at %d", i, before.at, after.at, p)
		}
		if before.title != "Artist A - Song A" {
			t.Errorf("listener %d: title before the first byte of B is %q, want A's", i, before.title)
		}
		if after.raw[0] == 0 || after.title != "Artist B - Song B" {
			t.Errorf("listener %d: block after the first byte of B is %q, want B's title", i, after.raw)
		}
		t.Logf("listener %d: B starts at audio byte %d (%d into an interval)", i, p, p%metaint)
	}
	if len(phases) != 2 {
		t.Errorf("both listeners got the track change at the same offset in their interval; the test proves less than it should")
	}
}
