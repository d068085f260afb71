package mount

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// A radio station starts with a burst already in the past: a listener
// joining the moment it starts is as far behind live as one joining much
// later, and neither the stream's start nor the first track's heard start
// lies in the future.
func TestEarlyAndLateListenersGetTheSameDelay(t *testing.T) {
	dir := t.TempDir()
	testmedia.WriteFile(t, dir, "a.mp3", testmedia.FramesFrom(0, 3000))
	lib := playlist.NewLibrary(dir, playlist.LibraryOptions{})
	if _, err := lib.Scan(); err != nil {
		t.Fatal(err)
	}
	clk := newStepClock()
	st := New(Config{Burst: 2 * time.Second, PublishInterval: 200 * time.Millisecond, Clock: clk}, &FolderSource{Library: lib, Preload: 1})
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { st.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	// firstFrame joins a listener now and returns the first frame it gets.
	firstFrame := func() uint32 {
		t.Helper()
		client, srv := dialPair(t, ln)
		if err := st.Join(JoinRequest{Conn: srv, Head: []byte(testHead), Remote: "test"}); err != nil {
			t.Fatal(err)
		}
		got := startCapture(t, client)
		stream := got.waitFor(t, "a first frame", func(b []byte) bool { return len(b) >= len(testHead)+417 })
		return testmedia.FrameIndex(stream[len(testHead):])
	}

	// The pacer's first sleep: everything due at start is published.
	until := clk.park(t)
	early, earlyAt := firstFrame(), clk.Now()
	if s := st.Stats(); s.StreamStarted.After(clk.Now()) {
		t.Errorf("stream started at %v, after now %v", s.StreamStarted, clk.Now())
	}
	if np := st.NowPlaying(); np == nil {
		t.Error("nothing playing right after start")
	} else if heard := np.Started.Add(st.BurstDelay()); heard.After(clk.Now()) {
		t.Errorf("the first track is heard from %v, after now %v", heard, clk.Now())
	}

	clk.release(until)
	for range 30 { // 6 s later
		clk.step(t)
	}
	clk.park(t)
	late, lateAt := firstFrame(), clk.Now()

	frame := 1152 * time.Second / 44100
	want := float64(early) + float64(lateAt.Sub(earlyAt))/float64(frame)
	if diff := float64(late) - want; diff < -1 || diff > 1 {
		t.Fatalf("early listener starts at frame %d, late one %v later at %d, want %.1f (±1): their delays differ by %v",
			early, lateAt.Sub(earlyAt), late, want, time.Duration(diff*float64(frame)))
	}
}
