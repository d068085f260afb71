package icy

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestHeadAppendGolden(t *testing.T) {
	h := Head{
		Name: "My Radio", Description: "My description", Genre: "Rock", URL: "http://example.org",
		Public: true, Bitrate: 128, SampleRate: 44100, Channels: 2, Metaint: 16000,
		ServerID: "audio-streamer/1.0",
	}
	want := "HTTP/1.0 200 OK\r\n" +
		"Server: audio-streamer/1.0\r\n" +
		"Connection: Close\r\n" +
		"Content-Type: audio/mpeg\r\n" +
		"Cache-Control: no-cache, no-store\r\n" +
		"Expires: Mon, 26 Jul 1997 05:00:00 GMT\r\n" +
		"Pragma: no-cache\r\n" +
		"Access-Control-Allow-Origin: *\r\n" +
		"Access-Control-Allow-Headers: Icy-MetaData, Range\r\n" +
		"Access-Control-Expose-Headers: icy-metaint, icy-br, icy-name, icy-genre, icy-url, icy-description, icy-pub\r\n" +
		"X-Content-Type-Options: nosniff\r\n" +
		"icy-br:128\r\n" +
		"ice-audio-info: samplerate=44100;bitrate=128;channels=2\r\n" +
		"icy-description:My description\r\n" +
		"icy-genre:Rock\r\n" +
		"icy-name:My Radio\r\n" +
		"icy-pub:1\r\n" +
		"icy-url:http://example.org\r\n" +
		"icy-metaint:16000\r\n" +
		"\r\n"
	if got := string(h.Append(nil)); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}

	h.Legacy = true
	if got := string(h.Append(nil)); got != "ICY 200 OK\r\n"+strings.TrimPrefix(want, "HTTP/1.0 200 OK\r\n") {
		t.Fatalf("legacy head:\n%s", got)
	}
}

func TestHeadAppendMinimal(t *testing.T) {
	var h Head
	want := "HTTP/1.0 200 OK\r\n" + headFixed +
		"icy-br:0\r\n" +
		"icy-name:\r\n" +
		"icy-pub:0\r\n" +
		"\r\n"
	if got := string(h.Append(nil)); got != want {
		t.Fatalf("got:\n%q\nwant:\n%q", got, want)
	}
	h = Head{Name: "X", Channels: 1}
	if got := string(h.Append(nil)); !strings.Contains(got, "\r\nice-audio-info: channels=1\r\n") {
		t.Fatalf("partial audio info missing:\n%s", got)
	}
}

// TestHeadParsesAsHTTP reads the head back with net/http, which also checks
// that no injected CR/LF split a header.
func TestHeadParsesAsHTTP(t *testing.T) {
	h := Head{
		Name: "Evil\r\nSet-Cookie: a=b", Description: "line1\nline2", Genre: "\x00Rock\x7f",
		URL: " http://x/ ", Bitrate: 192, Metaint: 8192, ServerID: "S\r\n",
	}
	raw := h.Append([]byte("junk-before"))[len("junk-before"):]
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	for key, want := range map[string]string{
		"Icy-Name": "EvilSet-Cookie: a=b", "Icy-Description": "line1line2", "Icy-Genre": "Rock",
		"Icy-Url": "http://x/", "Icy-Br": "192", "Icy-Metaint": "8192", "Server": "S",
		"Content-Type": "audio/mpeg", "Access-Control-Allow-Origin": "*", "Icy-Pub": "0",
	} {
		if got := resp.Header.Get(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if v := resp.Header.Get("Set-Cookie"); v != "" {
		t.Errorf("header injection: Set-Cookie = %q", v)
	}
	if resp.ContentLength != -1 || len(resp.TransferEncoding) != 0 {
		t.Errorf("stream head must not frame the body: CL=%d TE=%v", resp.ContentLength, resp.TransferEncoding)
	}
	if resp.ProtoMajor != 1 || resp.ProtoMinor != 0 || !resp.Close {
		t.Errorf("want HTTP/1.0 with close, got %s close=%v", resp.Proto, resp.Close)
	}
}

func TestHeadNoMetaintWithoutRequest(t *testing.T) {
	h := Head{Name: "R", Metaint: 0}
	if bytes.Contains(h.Append(nil), []byte("\r\nicy-metaint:")) {
		t.Fatal("icy-metaint sent although the client did not ask")
	}
}

func TestHeadAppendAllocs(t *testing.T) {
	h := Head{Name: "My Radio", Description: "d", Genre: "g", URL: "u", Bitrate: 128,
		SampleRate: 44100, Channels: 2, Metaint: 16000, ServerID: "s"}
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() { buf = h.Append(buf[:0]) }); n != 0 {
		t.Errorf("Head.Append: %v allocs, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { buf = ErrorResponse(buf[:0], 503, "Stream not ready") }); n != 0 {
		t.Errorf("ErrorResponse: %v allocs, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { buf = CORSPreflight(buf[:0]) }); n != 0 {
		t.Errorf("CORSPreflight: %v allocs, want 0", n)
	}
	// Both run for every connecting listener.
	ua, v := []byte("VLC/3.0.18 LibVLC/3.0.18"), []byte("1")
	if n := testing.AllocsPerRun(100, func() { _ = IsBrowser(ua) || !WantsMetadata(v) }); n != 0 {
		t.Errorf("IsBrowser/WantsMetadata: %v allocs, want 0", n)
	}
}

func TestCORSPreflight(t *testing.T) {
	want := "HTTP/1.0 204 No Content\r\n" +
		"Access-Control-Allow-Origin: *\r\n" +
		"Access-Control-Allow-Headers: Icy-MetaData, Range\r\n" +
		"Access-Control-Allow-Methods: GET, HEAD, OPTIONS\r\n" +
		"Access-Control-Max-Age: 86400\r\n" +
		"Allow: GET, HEAD, OPTIONS\r\n" +
		"Connection: close\r\n\r\n"
	if got := string(CORSPreflight([]byte("x"))); got != "x"+want {
		t.Fatalf("got %q", got)
	}
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(want)), &http.Request{Method: "OPTIONS"})
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("ReadResponse: %v, %v", resp, err)
	}
}

func TestErrorResponse(t *testing.T) {
	tests := []struct {
		code     int
		msg      string
		wantLine string
	}{
		{503, "Stream not ready - files are being processed", "HTTP/1.0 503 Service Unavailable"},
		{404, "Stream /x not found", "HTTP/1.0 404 Not Found"},
		{418, "teapot", "HTTP/1.0 418 Client Error"},
		{42, "bad code", "HTTP/1.0 500 Internal Server Error"},
		{400, "Кириллица", "HTTP/1.0 400 Bad Request"},
	}
	for _, tt := range tests {
		raw := ErrorResponse(nil, tt.code, tt.msg)
		if !bytes.HasPrefix(raw, []byte(tt.wantLine+"\r\n")) {
			t.Errorf("%d: status line of %q, want %q", tt.code, raw, tt.wantLine)
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(body) != tt.msg+"\n" {
			t.Errorf("%d: body %q, %v", tt.code, body, err)
		}
		if resp.ContentLength != int64(len(tt.msg)+1) {
			t.Errorf("%d: Content-Length %d", tt.code, resp.ContentLength)
		}
		for key, want := range map[string]string{
			"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-cache",
			"Access-Control-Allow-Origin": "*", "Connection": "Close",
		} {
			if got := resp.Header.Get(key); got != want {
				t.Errorf("%d: %s = %q, want %q", tt.code, key, got, want)
			}
		}
	}
}

func TestWantsMetadata(t *testing.T) {
	for in, want := range map[string]bool{
		"1": true, "2": true, " 1": true, "+1": true, "-1": true, "1abc": true, "007": true,
		"0": false, "": false, "00": false, "true": false, "yes": false, "abc1": false, "- 1": false,
	} {
		if got := WantsMetadata([]byte(in)); got != want {
			t.Errorf("WantsMetadata(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestIsBrowser(t *testing.T) {
	for ua, want := range map[string]bool{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36":  true,
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile Safari/604.1": true,
		"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0":                                       true,
		"AppleCoreMedia/1.0.0.21A329 (iPhone; U; CPU OS 17_0 like Mac OS X) Safari":                                    true,
		"VLC/3.0.18 LibVLC/3.0.18":      false,
		"Lavf/60.16.100":                false,
		"WinampMPEG/5.66, Ultravox/2.1": false,
		"ExoPlayerLib/2.19.1":           false,
		"":                              false,
		"mozilla lowercase is not what browsers send": false,
	} {
		if got := IsBrowser([]byte(ua)); got != want {
			t.Errorf("IsBrowser(%q) = %v, want %v", ua, got, want)
		}
	}
}

func BenchmarkHeadAppend(b *testing.B) {
	h := Head{Name: "My Radio", Description: "Direct audio stream", Genre: "Various", URL: "http://example.org",
		Bitrate: 128, SampleRate: 44100, Channels: 2, Metaint: 16000, ServerID: "audio-streamer"}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = h.Append(buf[:0])
	}
}
