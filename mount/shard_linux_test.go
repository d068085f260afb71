package mount

import (
	"context"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// These tests need listeners written by a shard, which only Linux has
// (socket_linux.go).

// A shard goroutine that panics (here: in a listener's OnLeave) and whose
// station stops before it would run again still drops its other
// listeners: their sockets are closed, their OnLeave runs, and they are
// counted out.
func TestShardPanicStillDropsItsListeners(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	src := &FolderSource{hooks: folderHooks{tracks: &loopTracks{
		paths: []string{testmedia.WriteFile(t, dir, "a.mp3", testmedia.Frames(3000))}, bad: map[string]bool{},
	}}}
	st := New(Config{Burst: time.Second, PublishInterval: 50 * time.Millisecond, OnPanic: func(any, []byte) { cancel() }}, src)
	done := make(chan struct{})
	go func() { st.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitReady(t, st, time.Second)

	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, srvA := dialPair(t, ln)
	if err := st.Join(JoinRequest{Conn: srvA, Remote: "a", OnLeave: func() { panic("OnLeave bug") }}); err != nil {
		t.Fatal(err)
	}
	b, srvB := dialPair(t, ln)
	defer b.Close()
	leftB := make(chan struct{})
	if err := st.Join(JoinRequest{Conn: srvB, Remote: "b", OnLeave: func() { close(leftB) }}); err != nil {
		t.Fatal(err)
	}
	a.Close() // unread burst: a reset, and the shard's next write to a fails

	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the station did not stop after the shard's panic")
	}
	select {
	case <-leftB:
	default:
		t.Fatal("the other listener's OnLeave never ran")
	}
	b.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, b); err != nil {
		t.Fatalf("the other listener's connection was not closed: %v", err)
	}
	if s := st.Stats(); s.Listeners != 0 || s.Panics != 1 {
		t.Fatalf("after the stop: %d listeners, %d panics; want 0 and 1", s.Listeners, s.Panics)
	}
}

// BytesSent is a Prometheus counter: it must never go down. A listener
// that leaves moves its bytes from the connected listeners' figures to the
// station's total in one step, so Stats never counts them twice (read here
// from OnLeave, the moment the old code counted them twice) or not at all.
func TestBytesSentNeverDecreasesWhenAListenerLeaves(t *testing.T) {
	ts := startStation(t, Config{Burst: time.Second, PublishInterval: 50 * time.Millisecond}, testmedia.Frames(3000))
	waitReady(t, ts.Station, time.Second)
	client, srv := dialPair(t, ts.ln)
	var atLeave atomic.Uint64
	left := make(chan struct{})
	if err := ts.Join(JoinRequest{Conn: srv, Remote: "test", OnLeave: func() {
		atLeave.Store(ts.Stats().BytesSent)
		close(left)
	}}); err != nil {
		t.Fatal(err)
	}
	client.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(client, make([]byte, 30*417)); err != nil {
		t.Fatal(err)
	}
	before := ts.Stats().BytesSent
	client.Close()
	select {
	case <-left:
	case <-time.After(10 * time.Second):
		t.Fatal("the listener was never dropped")
	}
	after := ts.Stats().BytesSent
	if at := atLeave.Load(); before < 30*417 || at < before || after < at {
		t.Fatalf("BytesSent went %d (connected) → %d (leaving) → %d (gone): it must never go down", before, at, after)
	}
}
