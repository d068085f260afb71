package ingest

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
	"github.com/aposazhennikov/stream-audio-to-web/internal/auth"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

func liveMount() *Mount { return &Mount{Route: "/live", Password: testPassword} }

// The success row of the table: PUT with Expect gets the 100 (fasthttp's)
// and then Icecast's bare 200; the audio after it reaches the station
// intact, and the client's headers become the stream's info.
func TestPUTWithExpectGets100Then200(t *testing.T) {
	r := newRig(t, liveMount())
	c := dial(t, r.addr)
	request(t, c, nil,
		"PUT /live HTTP/1.1",
		"Host: x",
		"Authorization: "+basic("source", testPassword),
		"Content-Type: audio/mpeg",
		"Expect: 100-continue",
		"User-Agent: libshout/2.4.6",
		"ice-name: Night Shift",
		"icy-name: ignored, ice-name came first",
		"ice-genre: jazz",
		"ice-url: http://example.org",
		"ice-description: late",
		"ice-public: 1",
		"ice-audio-info: bitrate=128;samplerate=44100;channels=2",
	)
	want := "HTTP/1.1 100 Continue\r\n\r\n" + okResponse
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != want {
		t.Fatalf("reply %q, %v; want %q", got, err, want)
	}
	audio := testmedia.Frames(20)
	if _, err := c.Write(audio); err != nil {
		t.Fatal(err)
	}
	info := waitClaim(t, r.fake["/live"])
	if info.Name != "Night Shift" || info.Genre != "jazz" || info.URL != "http://example.org" || info.Description != "late" ||
		!info.Public || info.AudioInfo != "bitrate=128;samplerate=44100;channels=2" || info.ContentType != "audio/mpeg" ||
		info.UserAgent != "libshout/2.4.6" || !strings.HasPrefix(info.RemoteAddr, "127.0.0.1:") {
		t.Errorf("stream info %+v", info)
	}
	c.Close()
	e := r.waitEnded(t)
	if e.err != nil || e.route != "/live" {
		t.Errorf("ended %+v", e)
	}
	if got := r.fake["/live"].bytes(); !bytes.Equal(got, audio) {
		t.Errorf("station got %d bytes, want the %d sent", len(got), len(audio))
	}
}

// darkice, byte for byte: SOURCE, HTTP/1.0, header lines ending in a bare
// "\n", "Content-type" in its own case, the head ending "\r\n\r\n", no
// Expect. The reply must start "HTTP/1.0 200" at once; audio sent in the
// same packet as the head is stream data.
func TestDarkiceSOURCEWithBareLF(t *testing.T) {
	r := newRig(t, liveMount())
	c := dial(t, r.addr)
	head := "SOURCE /live HTTP/1.0" +
		"\nContent-type: audio/mpeg" +
		"\nAuthorization: Basic " + strings.TrimPrefix(basic("source", testPassword), "Basic ") +
		"\nUser-Agent: DarkIce/1.3 (http://code.google.com/p/darkice/)" +
		"\nice-bitrate: 128" +
		"\nice-public: 0" +
		"\nice-name: Darkice Live" +
		"\nice-description: desc" +
		"\nice-url: http://example.org" +
		"\nice-genre: rock" +
		"\r\n\r\n"
	audio := testmedia.Frames(10)
	if _, err := c.Write(append([]byte(head), audio...)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(okResponse))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != okResponse {
		t.Fatalf("reply %q, %v; want %q", got, err, okResponse)
	}
	info := waitClaim(t, r.fake["/live"])
	if info.Name != "Darkice Live" || info.Genre != "rock" || info.Public || info.AudioInfo != "bitrate=128" ||
		!strings.HasPrefix(info.UserAgent, "DarkIce/") {
		t.Errorf("stream info %+v", info)
	}
	c.Close()
	if e := r.waitEnded(t); e.err != nil {
		t.Errorf("ended with %v", e.err)
	}
	if got := r.fake["/live"].bytes(); !bytes.Equal(got, audio) {
		t.Errorf("station got %d bytes, want the %d sent with the head", len(got), len(audio))
	}
}

// Every refusal of the table, with and without Expect: the same status
// and body either way, never a 100 first, and the connection closed.
func TestSourceRefusals(t *testing.T) {
	type tc struct {
		name    string
		method  string
		path    string
		headers []string
		status  int
		body    string
	}
	good := "Authorization: " + basic("source", testPassword)
	mp3 := "Content-Type: audio/mpeg"
	cases := []tc{
		{"no credentials", "PUT", "/live", []string{mp3}, 401, "You need to authenticate\r\n"},
		{"wrong password", "PUT", "/live", []string{"Authorization: " + basic("source", "nope"), mp3}, 401, "You need to authenticate\r\n"},
		{"wrong user", "SOURCE", "/live", []string{"Authorization: " + basic("admin", testPassword), mp3}, 401, "You need to authenticate\r\n"},
		{"bearer is not for sources", "PUT", "/live", []string{"Authorization: Bearer " + testPassword, mp3}, 401, "You need to authenticate\r\n"},
		{"unknown station", "PUT", "/nowhere", []string{good, mp3}, 404, "no such station"},
		{"station without password", "PUT", "/folder", []string{good, mp3}, 403, "this station takes no live sources (it has no source password)"},
		{"PUT without content type", "PUT", "/live", []string{good}, 403, "No Content-type given"},
		{"Ogg", "PUT", "/live", []string{good, "Content-Type: application/ogg"}, 403, "Content-type not supported"},
		{"AAC over SOURCE", "SOURCE", "/live", []string{good, "Content-Type: audio/aacp"}, 403, "Content-type not supported"},
		{"chunked", "PUT", "/live", []string{good, mp3, "Transfer-Encoding: chunked"}, 501, "chunked source streams are not supported"},
	}
	for _, expect := range []bool{false, true} {
		for _, c := range cases {
			if expect && c.method == "SOURCE" {
				continue
			}
			t.Run(c.name+"/expect="+strconv.FormatBool(expect), func(t *testing.T) {
				if c.name == "chunked" && !expect {
					t.Skip("without Expect fasthttp reads a chunked body before any handler runs")
				}
				r := newRig(t, liveMount(), &Mount{Route: "/folder"})
				conn := dial(t, r.addr)
				lines := append([]string{c.method + " " + c.path + " HTTP/1.1", "Host: x"}, c.headers...)
				if expect {
					lines = append(lines, "Expect: 100-continue")
				}
				request(t, conn, nil, lines...)
				br := bufio.NewReader(conn)
				// The refusal itself comes first: never a 100 before it.
				first, err := br.Peek(len("HTTP/1.0 401"))
				if err != nil || string(first) != "HTTP/1.0 "+strconv.Itoa(c.status) {
					t.Fatalf("reply starts %q, %v", first, err)
				}
				resp := readResponse(t, br)
				if resp.status != c.status || resp.body != c.body {
					t.Errorf("got %d %q, want %d %q", resp.status, resp.body, c.status, c.body)
				}
				if resp.header["allow"] != allowed || !strings.EqualFold(resp.header["connection"], "close") {
					t.Errorf("headers %v", resp.header)
				}
				if c.status == 401 && resp.header["www-authenticate"] != `Basic realm="Icecast2 Server"` {
					t.Errorf("401 without the Icecast realm: %v", resp.header)
				}
				if rest, _ := io.ReadAll(br); len(rest) != 0 {
					t.Errorf("more after the refusal: %q", rest)
				}
				if f := r.fake["/live"]; f.Status().OnAir {
					t.Error("a refused source went on the air")
				}
			})
		}
	}
}

// SOURCE without Content-Type is MP3 (Icecast's legacy default).
func TestSOURCEWithoutContentTypeIsMP3(t *testing.T) {
	r := newRig(t, liveMount())
	c := dial(t, r.addr)
	request(t, c, nil, "SOURCE /live HTTP/1.0", "Authorization: "+basic("source", testPassword))
	got := make([]byte, len(okResponse))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != okResponse {
		t.Fatalf("reply %q, %v", got, err)
	}
	if info := waitClaim(t, r.fake["/live"]); info.ContentType != "audio/mpeg" {
		t.Errorf("content type %q", info.ContentType)
	}
	c.Close()
	r.waitEnded(t)
}

// A second source on a station in use is refused with Icecast's words,
// before the 100 when it asked for one; the first keeps streaming.
func TestBusyMountpoint(t *testing.T) {
	r := newRig(t, liveMount())
	first := dial(t, r.addr)
	request(t, first, nil, "SOURCE /live HTTP/1.0", "Authorization: "+basic("source", testPassword), "Content-Type: audio/mpeg")
	got := make([]byte, len(okResponse))
	if _, err := io.ReadFull(first, got); err != nil {
		t.Fatal(err)
	}
	waitClaim(t, r.fake["/live"])
	for _, expect := range []bool{false, true} {
		second := dial(t, r.addr)
		lines := []string{"PUT /live HTTP/1.1", "Host: x", "Authorization: " + basic("source", testPassword), "Content-Type: audio/mpeg"}
		if expect {
			lines = append(lines, "Expect: 100-continue")
		}
		request(t, second, nil, lines...)
		resp := readResponse(t, bufio.NewReader(second))
		if resp.status != 403 || resp.body != "Mountpoint in use" {
			t.Errorf("expect=%v: %d %q", expect, resp.status, resp.body)
		}
	}
	if _, err := first.Write(testmedia.Frames(2)); err != nil {
		t.Fatalf("the first source was cut off: %v", err)
	}
	first.Close()
	r.waitEnded(t)
}

// Five wrong passwords lock the address out: then even the right one gets
// 429 with Retry-After, and the station stays off the air.
func TestWrongPasswordsLockOut(t *testing.T) {
	r := newRig(t, liveMount())
	for i := range auth.FailLimit {
		c := dial(t, r.addr)
		request(t, c, nil, "SOURCE /live HTTP/1.0", "Authorization: "+basic("source", "guess"+strconv.Itoa(i)))
		if resp := readResponse(t, bufio.NewReader(c)); resp.status != 401 {
			t.Fatalf("guess %d: %d", i, resp.status)
		}
	}
	c := dial(t, r.addr)
	request(t, c, nil, "PUT /live HTTP/1.1", "Host: x", "Authorization: "+basic("source", testPassword), "Content-Type: audio/mpeg", "Expect: 100-continue")
	resp := readResponse(t, bufio.NewReader(c))
	if resp.status != 429 || resp.header["retry-after"] == "" {
		t.Fatalf("locked out address got %d %v", resp.status, resp.header)
	}
	if secs, _ := strconv.Atoi(resp.header["retry-after"]); secs < 1 || secs > 60 {
		t.Errorf("Retry-After %q", resp.header["retry-after"])
	}
	if r.fake["/live"].Status().OnAir {
		t.Error("a locked-out address went on the air")
	}
}

// libshout's first request has no credentials, Content-Length: 0 and
// keep-alive: it must get 401 with Allow naming PUT (so it uses PUT and
// Expect next) and the connection closed (it reconnects).
func TestLibshoutProbeLearnsPUT(t *testing.T) {
	r := newRig(t, liveMount())
	c := dial(t, r.addr)
	request(t, c, nil, "PUT /live HTTP/1.1", "Host: x", "User-Agent: libshout/2.4.6", "Content-Type: audio/mpeg",
		"Content-Length: 0", "Connection: Keep-Alive")
	resp := readResponse(t, bufio.NewReader(c))
	if resp.status != 401 || !strings.Contains(resp.header["allow"], "PUT") {
		t.Fatalf("%d %v", resp.status, resp.header)
	}
	// Not a guess: no lockout after many such probes.
	for range auth.FailLimit + 1 {
		c := dial(t, r.addr)
		request(t, c, nil, "PUT /live HTTP/1.1", "Host: x", "Content-Type: audio/mpeg", "Content-Length: 0")
		readResponse(t, bufio.NewReader(c))
	}
	if wait := r.srv.Failures.LockedFor("127.0.0.1", r.srv.Clock()); wait != 0 {
		t.Errorf("credential-less probes locked the address out for %v", wait)
	}
}

// libshout's TLS probe "OPTIONS *" must get 400 or 405 (it then goes on
// in plain HTTP), never 404 or 501.
func TestOptionsStarIs405(t *testing.T) {
	r := newRig(t, liveMount())
	c := dial(t, r.addr)
	request(t, c, nil, "OPTIONS * HTTP/1.1", "Host: x", "Connection: Upgrade", "Upgrade: TLS/1.0, HTTP/1.1")
	resp := readResponse(t, bufio.NewReader(c))
	if resp.status != 405 {
		t.Fatalf("OPTIONS * got %d %q", resp.status, resp.body)
	}
}

// A source that interleaves ICY metadata (icy-metaint) has the blocks
// taken out of its audio and their titles set on the stream.
func TestInBandMetadataIsStripped(t *testing.T) {
	r := newRig(t, liveMount())
	c := dial(t, r.addr)
	const metaint = 1000
	audio := testmedia.Frames(12) // 5004 bytes: five blocks inside
	var wire []byte
	titles := []string{"First - One", "First - One", "Second — Два", ""}
	rest := audio
	for i := 0; len(rest) > 0; i++ {
		n := min(metaint, len(rest))
		wire = append(wire, rest[:n]...)
		rest = rest[n:]
		if n < metaint {
			break
		}
		if i < len(titles) && titles[i] != "" {
			wire = append(wire, icy.MetaBlock(titles[i], icy.UTF8)...)
		} else {
			wire = append(wire, 0)
		}
	}
	request(t, c, wire, "SOURCE /live HTTP/1.0", "Authorization: "+basic("source", testPassword),
		"Content-Type: audio/mpeg", "icy-metaint: "+strconv.Itoa(metaint))
	f := r.fake["/live"]
	if got := waitTitle(t, f); got != "First - One" {
		t.Errorf("first title %q", got)
	}
	if got := waitTitle(t, f); got != "Second — Два" {
		t.Errorf("second title %q", got)
	}
	c.Close()
	r.waitEnded(t)
	if got := f.bytes(); !bytes.Equal(got, audio) {
		t.Errorf("station got %d bytes, want the %d audio bytes without metadata", len(got), len(audio))
	}
}

// Ending the server's context ends the streams it serves: the client's
// connection is closed and OnSource reports the end.
func TestStopEndsStreams(t *testing.T) {
	r := newRig(t, liveMount())
	c := dial(t, r.addr)
	request(t, c, testmedia.Frames(2), "SOURCE /live HTTP/1.0", "Authorization: "+basic("source", testPassword))
	waitClaim(t, r.fake["/live"])
	r.stop()
	if e := r.waitEnded(t); e.err == nil {
		t.Error("a stream ended by shutdown reported a clean end")
	}
	if _, err := io.ReadAll(c); err != nil {
		t.Errorf("the source connection was not closed: %v", err)
	}
}
