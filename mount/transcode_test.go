package mount

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/internal/transcode"
)

// TestWAVBetweenMP3sHasNoGap plays MP3, WAV (through real ffmpeg), MP3:
// the encoder is started at preload, so the schedule never has to forgive
// a gap (Pacer.Forgiven stays 0) and the listener gets one continuous run
// of valid 44.1 kHz frames: each track's whole length, nothing extra.
func TestWAVBetweenMP3sHasNoGap(t *testing.T) {
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	dir := t.TempDir()
	a := testmedia.WriteFile(t, dir, "a.mp3", testmedia.FramesFrom(0, 115))
	w := testmedia.WriteFile(t, dir, "b.wav", testmedia.WAV(3, 48000, 1, 16))
	c := testmedia.WriteFile(t, dir, "c.mp3", testmedia.FramesFrom(2000, 115))
	open := func(ctx context.Context, path string, offset int64) (*FrameReader, io.Closer, error) {
		if strings.HasSuffix(path, ".mp3") {
			return OpenMP3At(path, offset)
		}
		st, err := transcode.Start(ctx, path, transcode.Options{FFmpegPath: ffmpeg})
		if err != nil {
			return nil, nil, err
		}
		return NewFrameReader(st), st, nil
	}
	st := New(Config{
		PublishInterval: 100 * time.Millisecond, MaxPreload: 2, Open: open,
		Clock:  fastClock{start: time.Now(), speed: 4},
		Tracks: &loopTracks{paths: []string{a, w, c}, bad: map[string]bool{}},
	})
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
		if rel == "c.mp3" && frames[rel] == 115 {
			break
		}
		var next *Block
		testmedia.PollUntil(t, 15*time.Second, "the next block", func() bool { next = b.Next(); return next != nil })
		b = next
	}
	if strings.Join(order, ",") != "a.mp3,b.wav,c.mp3" {
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
