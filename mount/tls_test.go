package mount

import (
	"bufio"
	"crypto/tls"
	"io"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// A TLS listener takes the writer-goroutine path of Join (as every listener
// does off Linux) and gets the same stream, then is released at shutdown.
func TestTLSListenerGetsTheStream(t *testing.T) {
	ts := startStation(t, Config{Burst: time.Second, PublishInterval: 50 * time.Millisecond}, testmedia.Frames(2000))
	waitReady(t, ts.Station, 1500*time.Millisecond)
	cert, _, _ := testmedia.SelfSignedCert(t)
	client, srv := dialPair(t, ts.ln)
	left := make(chan struct{})
	tlsSrv := tls.Server(srv, &tls.Config{Certificates: []tls.Certificate{cert}})
	if err := ts.Join(JoinRequest{Conn: tlsSrv, Head: []byte(testHead), Remote: "tls", UserAgent: "test", OnLeave: func() { close(left) }}); err != nil {
		t.Fatal(err)
	}
	tc := tls.Client(client, &tls.Config{InsecureSkipVerify: true})
	defer tc.Close()
	tc.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(tc)
	head := make([]byte, len(testHead))
	if _, err := io.ReadFull(br, head); err != nil || string(head) != testHead {
		t.Fatalf("head %q: %v", head, err)
	}
	frame := make([]byte, 417)
	for i := range 60 { // the 1 s burst and then live audio
		if _, err := io.ReadFull(br, frame); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if frame[0] != 0xFF || frame[1] != 0xFB {
			t.Fatalf("frame %d not aligned", i)
		}
	}
	if got := ts.Stats().Listeners; got != 1 {
		t.Fatalf("%d listeners, want 1", got)
	}
	ts.stop() // the station stops: the TLS listener is closed and counted out
	select {
	case <-left:
	case <-time.After(10 * time.Second):
		t.Fatal("TLS listener not released at shutdown")
	}
	if got := ts.Stats().Listeners; got != 0 {
		t.Fatalf("%d listeners after shutdown", got)
	}
}
