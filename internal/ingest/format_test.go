package ingest

import (
	"bufio"
	"context"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/internal/transcode"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// A station that does not convert (live_transcode = "never") tells a
// client that announces another format why, before the client streams:
// 415 with both formats named. One that matches, or says nothing, streams.
func TestFormatAnnouncedMismatchIs415(t *testing.T) {
	m := station(t)
	m.Live.Format = mount.StreamFormat{Bitrate: 128, SampleRate: 44100, Channels: 2}
	m.Live.Transcode = mount.TranscodeNever
	r := newRig(t, m)
	for _, c := range []struct {
		info string
		want int
	}{
		{"bitrate=128;samplerate=22050;channels=2", 415},             // libshout's spelling
		{"ice-samplerate=44100;ice-bitrate=128;ice-channels=1", 415}, // BUTT's
		{"bitrate=128;samplerate=44100;channels=2", 200},
	} {
		conn := dial(t, r.addr)
		request(t, conn, nil, "SOURCE /live HTTP/1.0", "Authorization: "+basic("source", testPassword),
			"Content-Type: audio/mpeg", "ice-audio-info: "+c.info)
		if c.want == 200 {
			got := make([]byte, len(okResponse))
			if _, err := io.ReadFull(conn, got); err != nil || string(got) != okResponse {
				t.Errorf("ice-audio-info %q: reply %q, %v; want 200", c.info, got, err)
			}
			conn.Close()
			r.waitEnded(t)
			continue
		}
		resp := readResponse(t, bufio.NewReader(conn))
		if resp.status != c.want || !strings.Contains(resp.body, "44100 Hz") || !strings.Contains(resp.body, c.info) {
			t.Errorf("ice-audio-info %q: %d %q, want %d naming both formats", c.info, resp.status, resp.body, c.want)
		}
		conn.Close()
	}
}

// A DJ sending AAC (BUTT's and phone apps' usual choice) to a station
// that converts is played as the station's MP3: ffmpeg makes ADTS AAC, the
// ingest accepts audio/aac, the live source converts it through a real
// ffmpeg, and the station plays MP3 frames of its own format.
func TestAACSourceIsConverted(t *testing.T) {
	bin := testmedia.RequireTool(t, "ffmpeg")
	m := station(t)
	m.Live.Format = mount.StreamFormat{Bitrate: 128, SampleRate: 44100, Channels: 2}
	m.Live.Convert = func(ctx context.Context, in io.Reader, want mount.StreamFormat) (io.ReadCloser, error) {
		return transcode.StartReader(ctx, in, transcode.Options{FFmpegPath: bin, Bitrate: want.Bitrate, SampleRate: want.SampleRate, Channels: want.Channels})
	}
	r := newRig(t, m)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	aac, err := exec.CommandContext(ctx, bin, "-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=4",
		"-c:a", "aac", "-b:a", "96k", "-ar", "48000", "-f", "adts", "-").Output()
	if err != nil || len(aac) == 0 {
		t.Fatalf("making AAC: %v", err)
	}
	conn := dial(t, r.addr)
	request(t, conn, nil, "SOURCE /live HTTP/1.0", "Authorization: "+basic("source", testPassword),
		"Content-Type: audio/aac", "ice-name: AAC DJ")
	got := make([]byte, len(okResponse))
	if _, err := io.ReadFull(conn, got); err != nil || string(got) != okResponse {
		t.Fatalf("AAC source: reply %q, %v", got, err)
	}
	if _, err := conn.Write(aac); err != nil {
		t.Fatal(err)
	}
	st := onAirWith(t, m, "AAC DJ", int64(len(aac)))
	if !st.Converted || st.Info.ContentType != "audio/aac" {
		t.Errorf("status %+v: the AAC stream is not marked converted", st)
	}
	conn.Close()
	r.waitEnded(t)
}

// Without a converter, AAC is refused as Icecast refuses a format it
// cannot serve.
func TestAACRefusedWithoutConverter(t *testing.T) {
	m := station(t)
	r := newRig(t, m)
	conn := dial(t, r.addr)
	request(t, conn, nil, "SOURCE /live HTTP/1.0", "Authorization: "+basic("source", testPassword), "Content-Type: audio/aac")
	if resp := readResponse(t, bufio.NewReader(conn)); resp.status != 403 || resp.body != "Content-type not supported" {
		t.Errorf("AAC without a converter: %d %q", resp.status, resp.body)
	}
}
