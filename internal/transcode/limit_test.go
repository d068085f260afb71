package transcode

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

func mustAcquire(t *testing.T, l *Limiter) func() {
	t.Helper()
	release, err := l.acquire()
	if err != nil {
		t.Fatalf("acquire: %v", err)
	}
	return release
}

func wantBusy(t *testing.T, err error, msg string) {
	t.Helper()
	if !errors.Is(err, ErrBusy) || err.Error() != msg {
		t.Fatalf("err = %v, want %q (ErrBusy)", err, msg)
	}
}

// TestLimiterCapsStationAndServer: a station's encoders count against its
// own cap and the server's; a full cap names itself and how many run; a
// reaped encoder frees its place in both.
func TestLimiterCapsStationAndServer(t *testing.T) {
	server := NewLimiter(3)
	a, b := server.Child("/a", 0), server.Child("/b", 1)
	relB := mustAcquire(t, b)
	_, err := b.acquire()
	wantBusy(t, err, "station /b is busy: 1 encoders running")
	relA1, relA2 := mustAcquire(t, a), mustAcquire(t, a)
	_, err = a.acquire()
	wantBusy(t, err, "server is busy: 3 encoders running")
	if a.Running() != 2 || b.Running() != 1 || server.Running() != 3 || server.Peak() != 3 {
		t.Fatalf("running a=%d b=%d server=%d peak=%d, want 2 1 3 3", a.Running(), b.Running(), server.Running(), server.Peak())
	}
	relB()
	relB() // twice is once
	if server.Running() != 2 {
		t.Fatalf("server running %d after a release, want 2", server.Running())
	}
	relA := mustAcquire(t, a)
	relA()
	relA1()
	relA2()
	if server.Running() != 0 || a.Running() != 0 || server.Peak() != 3 {
		t.Fatalf("running %d/%d peak %d after all released, want 0/0 3", server.Running(), a.Running(), server.Peak())
	}
	unlimited := NewLimiter(0).Child("/x", 0)
	for range 100 {
		mustAcquire(t, unlimited)
	}
	if unlimited.Running() != 100 {
		t.Fatalf("0 = unlimited counted %d, want 100", unlimited.Running())
	}
	var none *Limiter
	mustAcquire(t, none)()
	if ls, err := none.Reserve(time.Second); ls != nil || err != nil {
		t.Fatalf("nil limiter Reserve = %v, %v", ls, err)
	}
}

// TestLimiterLeases: a lease holds an encoder for the next start in its
// station; the start uses it even when the cap is full; an unused lease
// is given back by Cancel or when its time is up.
func TestLimiterLeases(t *testing.T) {
	server := NewLimiter(2)
	now := time.Unix(1000, 0)
	server.tree.now = func() time.Time { return now }
	a, b := server.Child("/a", 0), server.Child("/b", 0)
	l1, err := a.Reserve(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	l2, err := a.Reserve(0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Reserve(time.Second)
	wantBusy(t, err, "server is busy: 2 encoders running")
	_, err = b.acquire()
	wantBusy(t, err, "server is busy: 2 encoders running")
	rel := mustAcquire(t, a) // uses l1
	if server.Running() != 1 {
		t.Fatalf("running %d, want 1", server.Running())
	}
	l1.Cancel() // used: nothing to give back
	_, err = b.acquire()
	wantBusy(t, err, "server is busy: 2 encoders running")
	l2.Cancel()
	relB := mustAcquire(t, b)
	relB()
	rel()
	l3, err := b.Reserve(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = l3, mustAcquire(t, a)
	_, err = a.acquire()
	wantBusy(t, err, "server is busy: 2 encoders running")
	now = now.Add(6 * time.Second) // l3 was never used
	mustAcquire(t, a)
	if server.Running() != 2 {
		t.Fatalf("running %d, want 2", server.Running())
	}
}

// TestLimiterAwaitServesWaitersFirst: while a station waits for an
// encoder, nobody else gets a freed one, nor a lease for a new listener;
// the waiter is handed the next one; a waiter whose context ends leaves
// the queue.
func TestLimiterAwaitServesWaitersFirst(t *testing.T) {
	server := NewLimiter(1)
	radio, solo := server.Child("/radio", 0), server.Child("/solo", 0)
	rel := mustAcquire(t, solo)
	queued := make(chan struct{}, 1)
	server.tree.queued = func() { queued <- struct{}{} }
	got := make(chan *Lease, 1)
	go func() {
		ls, err := radio.Await(context.Background())
		if err != nil {
			t.Error(err)
		}
		got <- ls
	}()
	select {
	case <-queued:
	case ls := <-got:
		t.Fatalf("granted %v while the cap was full", ls)
	}
	rel()
	ls := <-got
	if _, err := solo.Reserve(time.Second); err == nil {
		t.Fatal("a new listener got the encoder handed to a waiting station")
	}
	if _, err := solo.acquire(); err == nil {
		t.Fatal("a plain start got the encoder handed to a waiting station")
	}
	relRadio := mustAcquire(t, radio) // the waiter's start uses its lease
	ls.Cancel()
	relRadio()

	ctx, cancel := context.WithCancel(context.Background())
	rel = mustAcquire(t, solo)
	server.tree.queued = nil
	cancel()
	if _, err := radio.Await(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Await after cancel: %v", err)
	}
	rel()
	if server.waiting != 0 {
		t.Fatalf("%d waiters left", server.waiting)
	}
	mustAcquire(t, solo)
}

// TestStartOverTheCapStartsNothing: Start refuses with ErrBusy before any
// process exists, and a stream gives its encoder back once reaped.
func TestStartOverTheCapStartsNothing(t *testing.T) {
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	dir := t.TempDir()
	path := testmedia.WriteFile(t, dir, "a.wav", testmedia.WAV(2, 8000, 1, 16))
	lim := NewLimiter(1).Child("/a", 0)
	opt := Options{FFmpegPath: ffmpeg, Limiter: lim}
	st, err := Start(context.Background(), path, opt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Start(context.Background(), filepath.Join(dir, "a.wav"), opt); !errors.Is(err, ErrBusy) {
		t.Fatalf("second start: %v, want ErrBusy", err)
	}
	if lim.Running() != 1 {
		t.Fatalf("running %d, want 1", lim.Running())
	}
	st.Close()
	if lim.Running() != 0 {
		t.Fatalf("running %d after Close, want 0", lim.Running())
	}
	opt.FFmpegPath = filepath.Join(dir, "missing")
	if _, err := Start(context.Background(), path, opt); err == nil || errors.Is(err, ErrBusy) {
		t.Fatalf("start with a missing ffmpeg: %v", err)
	}
	if _, err := os.Stat(path); err != nil || lim.Running() != 0 {
		t.Fatalf("a failed start kept an encoder: running %d", lim.Running())
	}
}
