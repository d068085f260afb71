package server

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// resetAfterPipelining sends req behind a GET /streams on one connection
// and resets it at once, without reading: fasthttp then fails to flush the
// /streams reply and never runs the hijack callback of req, or runs it on
// a dead connection. It waits until the server is done with the
// connection (closed, or hijacked and a slot given back through released)
// and reports whether the callback ran.
func resetAfterPipelining(t *testing.T, addr, req string, ended <-chan fasthttp.ConnState, released <-chan struct{}) bool {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, "GET /streams HTTP/1.1\r\nHost: x\r\n\r\n"+req+"\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).SetLinger(0) // close sends a reset
	c.Close()
	select {
	case st := <-ended:
		if st == fasthttp.StateClosed {
			return false
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not end the connection within 10 s")
	}
	select {
	case <-released:
	case <-time.After(10 * time.Second):
		t.Fatal("hijacked connection's slot not given back within 10 s")
	}
	return true
}

// endedConns records the connections the server is done with.
func endedConns(srv *Server) <-chan fasthttp.ConnState {
	ended := make(chan fasthttp.ConnState, 64)
	srv.connState = func(_ net.Conn, st fasthttp.ConnState) {
		if st == fasthttp.StateClosed || st == fasthttp.StateHijacked {
			ended <- st
		}
	}
	return ended
}

// TestPipelinedResetLeaksNoStreamSlot: a client that pipelines a private
// stream request behind another request and resets the connection, more
// times than the caps allow, leaves no private-stream or per-address slot
// taken: a well-behaved listener is still admitted, and once it leaves
// every count is back to 0.
func TestPipelinedResetLeaksNoStreamSlot(t *testing.T) {
	t.Parallel()
	song := map[string][]byte{"a.mp3": taggedMP3("A", "B", testmedia.Frames(secondsOfFrames(10)))}
	released := make(chan struct{}, 64)
	srv := &Server{MaxConnsPerIP: 1}
	srv.perIP.released = func() { released <- struct{}{} }
	ended := endedConns(srv)
	h := startHarness(t, srv, stationSpec{
		Station: config.Station{Route: "/solo", Mode: config.ModeIndividual, MaxPrivateStreams: 1},
		files:   song, serverPrivateStreams: 1,
	})
	skipped := 0
	for range 20 {
		if !resetAfterPipelining(t, h.addr, "GET /solo HTTP/1.1", ended, released) {
			skipped++
		}
	}
	t.Logf("%d of 20 connections closed without their hijack callback", skipped)

	r := h.raw(t, "GET /solo HTTP/1.0")
	checkListenerHead(t, r, "audio-streamer /solo", 0)
	r.conn.Close()
	select {
	case <-released:
	case <-time.After(10 * time.Second):
		t.Fatal("listener's slot not given back within 10 s")
	}
	srv.private.mu.Lock()
	total := srv.private.total
	srv.private.mu.Unlock()
	if total != 0 || srv.perIP.addresses() != 0 {
		t.Errorf("after every client left: %d private streams, %d addresses counted, want 0", total, srv.perIP.addresses())
	}
}

// TestPipelinedResetLeaksNoEventsSlot: the same for /events.
func TestPipelinedResetLeaksNoEventsSlot(t *testing.T) {
	t.Parallel()
	released := make(chan struct{}, 64)
	srv := &Server{MaxEventStreams: 2, MaxEventStreamsPerIP: 1}
	srv.eventConns.perIP.released = func() { released <- struct{}{} }
	ended := endedConns(srv)
	h := startHarness(t, srv)
	skipped := 0
	for range 20 {
		if !resetAfterPipelining(t, h.addr, "GET /events HTTP/1.1", ended, released) {
			skipped++
		}
	}
	t.Logf("%d of 20 connections closed without their hijack callback", skipped)

	status, r := openEvents(t, dialFrom(t, net.IPv4(127, 0, 0, 1), h.addr))
	if status != "HTTP/1.1 200 OK" {
		body, _ := io.ReadAll(r)
		t.Fatalf("well-behaved page: %q %q", status, strings.TrimSpace(string(body)))
	}
	srv.eventConns.mu.Lock()
	total := srv.eventConns.total
	srv.eventConns.mu.Unlock()
	if total != 1 || srv.eventConns.perIP.addresses() != 1 {
		t.Errorf("with one page open: %d pages, %d addresses counted, want 1", total, srv.eventConns.perIP.addresses())
	}
}
