package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/hls"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// hlsRadio is a radio station at /hls-test/радио (a slash and Cyrillic in
// the route) playing two ffmpeg-made 5 s tones, "Tone - Low" and
// "Tone - High", in turn.
func hlsRadio(t *testing.T, ffmpeg string) (*harness, *hlsStream) {
	t.Helper()
	files := map[string][]byte{}
	for i, tone := range []struct {
		freq  int
		title string
	}{{440, "Low"}, {880, "High"}} {
		data, err := os.ReadFile(encodeTone(t, ffmpeg, tone.freq, 5, "Tone", tone.title))
		if err != nil {
			t.Fatal(err)
		}
		files[fmt.Sprintf("%d.mp3", i)] = data
	}
	h := startHarness(t, nil, stationSpec{Station: config.Station{Route: "/hls-test/радио"}, files: files})
	// Serve starts the segmenters before it answers: after a first answer
	// they run.
	streamsList(t, h)
	hs := h.srv.hlsFor(h.station(t, "/hls-test/радио"))
	if hs == nil {
		t.Fatal("no segmenter for a radio station")
	}
	return h, hs
}

// waitForTitles waits until the playlist lists segments of both titles.
func waitForTitles(t *testing.T, hs *hlsStream, titles ...string) []*hls.Segment {
	t.Helper()
	timeout := time.After(40 * time.Second)
	for {
		updated := hs.seg.Updated()
		segs := hs.seg.Listed()
		seen := map[string]bool{}
		for _, seg := range segs {
			seen[seg.Title] = true
		}
		all := true
		for _, title := range titles {
			all = all && seen[title]
		}
		if all && len(segs) >= 3 {
			return segs
		}
		select {
		case <-updated:
		case <-timeout:
			t.Fatalf("no window with titles %q in 40 s", titles)
		}
	}
}

// streamsList is /streams' list of stations.
func streamsList(t *testing.T, h *harness) []stationJSON {
	t.Helper()
	var reply struct{ Streams []stationJSON }
	if err := json.NewDecoder(hlsGet(t, h.url("/streams")).Body).Decode(&reply); err != nil {
		t.Fatal(err)
	}
	return reply.Streams
}

func hlsGet(t *testing.T, url string) *http.Response {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestHLSPlaylistAndSegmentsOverHTTP(t *testing.T) {
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	h, hs := hlsRadio(t, ffmpeg)
	segs := waitForTitles(t, hs, "Low", "High")

	// /streams links the playlist.
	list := streamsList(t, h)
	playlistURL := h.url("/hls-test/%D1%80%D0%B0%D0%B4%D0%B8%D0%BE.m3u8")
	if len(list) != 1 || list[0].HLS != playlistURL {
		t.Fatalf("/streams hls = %+v, want %s", list, playlistURL)
	}

	resp := hlsGet(t, playlistURL)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != hls.MIMEPlaylist ||
		resp.Header.Get("Cache-Control") != "public, max-age=2" || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("playlist: %s %v", resp.Status, resp.Header)
	}
	pl := string(body)
	for _, want := range []string{"#EXT-X-TARGETDURATION:6\n", "#EXT-X-MEDIA-SEQUENCE:", "#EXT-X-PROGRAM-DATE-TIME:", ",Tone - High\n"} {
		if !strings.Contains(pl, want) {
			t.Errorf("playlist lacks %q:\n%s", want, pl)
		}
	}
	// Segment URIs are relative to the playlist, the route escaped.
	seg := segs[0]
	rel := "../hls/hls-test/%D1%80%D0%B0%D0%B4%D0%B8%D0%BE/" + seg.Name + ".mp3"
	if !strings.Contains(pl, "\n"+rel+"\n") {
		t.Fatalf("playlist does not list %s:\n%s", rel, pl)
	}

	segURL := h.url("/hls/hls-test/%D1%80%D0%B0%D0%B4%D0%B8%D0%BE/" + seg.Name + ".mp3")
	resp = hlsGet(t, segURL)
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Equal(data, seg.Data) || resp.Header.Get("Content-Type") != "audio/mpeg" ||
		resp.Header.Get("Cache-Control") != "public, max-age=86400, immutable" || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("segment: %s %v, %d bytes", resp.Status, resp.Header, len(data))
	}
	// A cache revalidating gets 304; HEAD has the length, no body.
	req, _ := http.NewRequest("GET", segURL, nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	if r2, err := http.DefaultClient.Do(req); err != nil || r2.StatusCode != http.StatusNotModified {
		t.Fatalf("revalidation: %v %v", r2, err)
	} else {
		r2.Body.Close()
	}
	if r3, err := http.Head(segURL); err != nil || r3.StatusCode != 200 || r3.ContentLength != int64(len(seg.Data)) {
		t.Fatalf("HEAD: %v %v", r3, err)
	} else {
		r3.Body.Close()
	}
	// A name that never was a segment: 404, briefly cacheable.
	r4 := hlsGet(t, h.url("/hls/hls-test/%D1%80%D0%B0%D0%B4%D0%B8%D0%BE/1.mp3"))
	if r4.StatusCode != 404 || r4.Header.Get("Cache-Control") != "public, max-age=10" {
		t.Errorf("missing segment: %s %v", r4.Status, r4.Header)
	}
	// A CORS preflight from hls.js on another origin.
	req, _ = http.NewRequest("OPTIONS", playlistURL, nil)
	req.Header.Set("Origin", "http://example.org")
	req.Header.Set("Access-Control-Request-Method", "GET")
	if r5, err := http.DefaultClient.Do(req); err != nil || r5.StatusCode != 204 || r5.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("preflight: %v %v", r5, err)
	} else {
		r5.Body.Close()
	}

	// ffprobe reads each segment's title from its ID3 tag: the title
	// changes from one segment to the next where the track does.
	dir := t.TempDir()
	var titles []string
	for _, seg := range segs {
		path := filepath.Join(dir, seg.Name+".mp3")
		if err := os.WriteFile(path, seg.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(strings.TrimSuffix(ffmpeg, "ffmpeg")+"ffprobe", "-v", "error",
			"-show_entries", "format_tags=title,artist", "-of", "default=nw=1:nk=1", path).Output()
		if err != nil {
			t.Fatalf("ffprobe %s: %v", seg.Name, err)
		}
		if got := strings.Fields(string(out)); len(got) != 2 || got[0] != seg.Title && got[1] != seg.Title {
			t.Errorf("ffprobe reads %q from segment %s, titled %q", got, seg.Name, seg.Title)
		}
		titles = append(titles, seg.Title)
	}
	if !strings.Contains(strings.Join(titles, " "), "Low High") && !strings.Contains(strings.Join(titles, " "), "High Low") {
		t.Errorf("no title change between segments: %q", titles)
	}
}

// ffmpeg plays the HLS stream from the oldest segment listed to past the
// live edge, across a track change, without a gap or an error.
func TestFFmpegPlaysHLSAcrossATrackChange(t *testing.T) {
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	h, hs := hlsRadio(t, ffmpeg)
	segs := waitForTitles(t, hs, "Low", "High")
	var listed time.Duration
	for _, seg := range segs {
		listed += seg.Duration
	}
	// All that is listed, and 4 s more: ffmpeg must reload the playlist
	// and fetch segments made after it started.
	want := listed + 4*time.Second
	wav := filepath.Join(t.TempDir(), "out.wav")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-nostdin", "-v", "error",
		"-live_start_index", "0", "-i", h.url("/hls-test/%D1%80%D0%B0%D0%B4%D0%B8%D0%BE.m3u8"),
		"-t", strconv.FormatFloat(want.Seconds(), 'f', 3, 64), "-ac", "1", "-ar", "44100", "-c:a", "pcm_s16le", wav)
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	data, err := os.ReadFile(wav)
	if err != nil {
		t.Fatal(err)
	}
	samples := (len(data) - 44) / 2
	got := time.Duration(samples) * time.Second / 44100
	// The decoder's start-up delay costs a frame or two; a lost segment
	// or a timestamp gap would cost seconds.
	if d := got - want; d < -100*time.Millisecond || d > 100*time.Millisecond {
		t.Fatalf("ffmpeg decoded %v of audio, asked for %v", got, want)
	}
	// Both tones are in what it decoded: it crossed a track change.
	pcm := data[44:]
	low, high := 0, 0
	for i := 0; i+44100*2 <= len(pcm); i += 44100 {
		switch dominant(pcm[i : i+44100]) {
		case 440:
			low++
		case 880:
			high++
		}
	}
	if low == 0 || high == 0 {
		t.Errorf("half-seconds of 440 Hz: %d, of 880 Hz: %d; want both", low, high)
	}
}

// dominant says which of 440 and 880 Hz is louder in 16-bit mono PCM at
// 44.1 kHz (by counting zero crossings), 0 for silence or neither.
func dominant(pcm []byte) int {
	crossings, loud := 0, 0
	prev := int16(0)
	for i := 0; i+1 < len(pcm); i += 2 {
		v := int16(uint16(pcm[i]) | uint16(pcm[i+1])<<8)
		if v > 1000 || v < -1000 {
			loud++
		}
		if (prev < 0) != (v < 0) {
			crossings++
		}
		prev = v
	}
	if loud < len(pcm)/8 {
		return 0
	}
	// A sine of f Hz crosses zero 2f times a second; pcm is 0.5 s.
	switch f := crossings; {
	case f > 400 && f < 480:
		return 440
	case f > 840 && f < 920:
		return 880
	}
	return 0
}

func TestHLSRefusesIndividualStations(t *testing.T) {
	h := startHarness(t, nil, stationSpec{Station: config.Station{Route: "/mine", Mode: config.ModeIndividual},
		files: map[string][]byte{"a.mp3": testmedia.Frames(100)}})
	resp := hlsGet(t, h.url("/mine.m3u8"))
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 404 || !strings.Contains(string(body), "private stream") {
		t.Fatalf("%s: %s", resp.Status, body)
	}
	list := streamsList(t, h)
	if list[0].HLS != "" {
		t.Errorf("an individual station lists an HLS URL %q", list[0].HLS)
	}
}
