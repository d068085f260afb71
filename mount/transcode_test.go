package mount

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/internal/transcode"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// TestWAVBetweenMP3sHasNoGap plays MP3, WAV (through real ffmpeg), MP3
// (its extension in capitals: still played directly), opened by the
// Decoder every station uses: the encoder is started at preload, so the
// schedule never has to forgive a gap (Pacer.Forgiven stays 0) and the
// listener gets one continuous run of valid 44.1 kHz frames: each track's
// whole length, nothing extra.
func TestWAVBetweenMP3sHasNoGap(t *testing.T) {
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	dir := t.TempDir()
	testmedia.WriteFile(t, dir, "a.mp3", testmedia.FramesFrom(0, 115))
	testmedia.WriteFile(t, dir, "b.wav", testmedia.WAV(3, 48000, 1, 16))
	testmedia.WriteFile(t, dir, "c.MP3", testmedia.FramesFrom(2000, 115))
	lib := playlist.NewLibrary(dir, playlist.LibraryOptions{})
	if _, err := lib.Scan(); err != nil {
		t.Fatal(err)
	}
	dec := Decoder{Transcode: transcode.Options{FFmpegPath: ffmpeg}}
	if dec.NeedsFFmpeg("c.MP3") || !dec.NeedsFFmpeg("b.wav") {
		t.Fatal("the decoder would send c.MP3 through ffmpeg, or b.wav not")
	}
	st := New(Config{
		PublishInterval: 100 * time.Millisecond,
		Clock:           fastClock{start: time.Now(), speed: 4},
	}, &FolderSource{Library: lib, Decoder: dec, Preload: 2})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { st.Run(ctx); close(done) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	defer stop()

	// Follow the ring from its first block until c has been published.
	testmedia.PollUntil(t, 15*time.Second, "the first block", func() bool { return st.ring.Head() != nil })
	frames := map[string]int{}
	var order []string
	for b := st.ring.Head(); ; {
		rel := filepath.Base(b.Track.Rel)
		if len(order) == 0 || order[len(order)-1] != rel {
			order = append(order, rel)
		}
		for i, off := range b.Frames {
			end := len(b.Data)
			if i+1 < len(b.Frames) {
				end = int(b.Frames[i+1])
			}
			if !validHeader(b.Data[off:]) || frameSize(b.Data[off:]) != end-int(off) {
				t.Fatalf("%s: bad frame in the stream", rel)
			}
		}
		frames[rel] += len(b.Frames)
		if rel == "c.MP3" && frames[rel] == 115 {
			break
		}
		var next *Block
		testmedia.PollUntil(t, 15*time.Second, "the next block", func() bool { next = b.Next(); return next != nil })
		b = next
	}
	if strings.Join(order, ",") != "a.mp3,b.wav,c.MP3" {
		t.Fatalf("played %v", order)
	}
	// 3 s of WAV is 114.8 frames of 1152 samples at 44.1 kHz (+1 for the
	// encoder's last partial frame).
	if n := frames["b.wav"]; n < 114 || n > 117 {
		t.Fatalf("the WAV became %d frames, want ~115", n)
	}
	stop() // the pacer belongs to the station goroutine until it ends
	if st.pacer.Forgiven != 0 {
		t.Fatalf("the schedule skipped %v: a gap at a track change", st.pacer.Forgiven)
	}
}

// realTimeFFmpeg is the real ffmpeg made to read its input at the speed of
// playback (-re), as an encoder on a busy server is: a station whose burst
// is longer than what ffmpeg has produced spends its time waiting for the
// encoder's next frame.
func realTimeFFmpeg(t *testing.T) string {
	t.Helper()
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	script := filepath.Join(t.TempDir(), "ffmpeg-realtime")
	body := "#!/bin/sh\nexec '" + ffmpeg + "' -re \"$@\"\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script
}

// A listener leaving an individual-mode station in the middle of a
// transcoded track stops its private station, which kills the encoder:
// that is a cancellation, not a broken file, so nothing reaches Sentry
// (OnSkip) and nothing is logged as a warning.
func TestLeavingDuringTranscodedTrackIsNotAnError(t *testing.T) {
	ffmpeg := realTimeFFmpeg(t)
	dir := t.TempDir()
	testmedia.WriteFile(t, dir, "long.wav", testmedia.WAV(60, 8000, 1, 16))
	logs := &logRecorder{}
	// A 5 s burst is prefilled at once: the player is still waiting on the
	// encoder when the listener hangs up.
	var skipsMu sync.Mutex
	var skips []error
	m := &Mountpoint{
		Route: "/solo", Individual: true,
		Station: Config{
			Burst: 5 * time.Second, PublishInterval: 50 * time.Millisecond,
			Logger: logs.logger(),
			OnSkip: func(_ string, err error) {
				skipsMu.Lock()
				defer skipsMu.Unlock()
				skips = append(skips, err)
			},
		},
		Decoder: Decoder{Transcode: transcode.Options{FFmpegPath: ffmpeg}},
		Library: playlist.NewLibrary(dir, playlist.LibraryOptions{}),
		Logger:  logs.logger(),
	}
	stop := startMount(t, m)
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, srv := dialPair(t, ln)
	left := make(chan struct{})
	head := []byte("H\r\n\r\n")
	if err := m.Join(JoinRequest{Conn: srv, Head: head, Remote: "test", UserAgent: "test", OnLeave: func() { close(left) }}); err != nil {
		t.Fatal(err)
	}
	// Hear some of the track, then hang up mid-track.
	client.SetReadDeadline(time.Now().Add(15 * time.Second))
	if _, err := io.ReadFull(client, make([]byte, len(head)+4000)); err != nil {
		t.Fatal(err)
	}
	client.Close()
	<-left
	m.Wait() // the private station has stopped: nothing else runs here
	stop()

	skipsMu.Lock()
	defer skipsMu.Unlock()
	if len(skips) > 0 {
		t.Errorf("a listener leaving was reported as a bad file: %v", skips)
	}
	for _, rec := range logs.atLeast(slog.LevelWarn) {
		reason, _ := attr(rec, "reason")
		t.Errorf("logged %s %q (reason %v) when a listener left", rec.Level, rec.Message, reason)
	}
}
