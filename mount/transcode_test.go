package mount

import (
	"context"
	"path/filepath"
	"strings"
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
