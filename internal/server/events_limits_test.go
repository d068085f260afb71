package server

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// dialFrom connects to addr from the loopback address local with a small
// receive buffer, so a client that does not read stops the sender soon.
func dialFrom(t *testing.T, local net.IP, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: local},
		Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
			})
			return errors.Join(err, serr)
		}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// openEvents sends GET /events on c and returns the status line.
func openEvents(t *testing.T, c net.Conn) (string, *bufio.Reader) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET /events HTTP/1.1\r\nHost: radio.example\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	status, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the status line: %v", err)
	}
	return strings.TrimSuffix(status, "\r\n"), r
}

// TestEventsDropsPageThatDoesNotRead: a page that stops reading is
// dropped once a write waits longer than the write timeout, instead of
// holding the server's memory for as long as it stays connected.
func TestEventsDropsPageThatDoesNotRead(t *testing.T) {
	t.Parallel()
	dropped := make(chan struct{}, 1)
	srv := &Server{EventsWriteTimeout: 300 * time.Millisecond}
	srv.eventsDropped = func() { dropped <- struct{}{} }
	// The first event carries the station list, larger than what the
	// socket buffers of both ends hold, so it cannot be written whole.
	h := startHarness(t, srv, stationSpec{Station: config.Station{Route: "/", Description: strings.Repeat("long ", 400_000)}})
	c := dialFrom(t, net.IPv4(127, 0, 0, 1), h.addr)
	if _, err := io.WriteString(c, "GET /events HTTP/1.1\r\nHost: radio.example\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-dropped:
	case <-time.After(10 * time.Second):
		t.Fatal("a page that does not read was not dropped within 10 s (write timeout 300 ms)")
	}
	// Its connection is closed: reading now ends instead of waiting.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.Copy(io.Discard, c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Error("the dropped page's connection is still open")
	}
}

// TestEventsConnectionCaps: live-update connections are capped per
// address and in total, with a 503 saying which limit was reached.
func TestEventsConnectionCaps(t *testing.T) {
	t.Parallel()
	h := startHarness(t, &Server{MaxEventStreams: 3, MaxEventStreamsPerIP: 2})
	open := func(local net.IP) (string, string) {
		c := dialFrom(t, local, h.addr)
		status, r := openEvents(t, c)
		if status != "HTTP/1.1 200 OK" {
			body, _ := io.ReadAll(r)
			return status, string(body)
		}
		return status, ""
	}
	for i := range 2 {
		if status, body := open(net.IPv4(127, 0, 0, 1)); status != "HTTP/1.1 200 OK" {
			t.Fatalf("page %d from 127.0.0.1: %q %q", i, status, body)
		}
	}
	if status, body := open(net.IPv4(127, 0, 0, 1)); !strings.Contains(status, " 503 ") || !strings.Contains(body, "from 127.0.0.1 (limit 2)") {
		t.Errorf("third page from one address: %q %q, want 503 naming the per-address limit", status, body)
	}
	if status, body := open(net.IPv4(127, 0, 3, 1)); status != "HTTP/1.1 200 OK" {
		t.Fatalf("page from another address: %q %q", status, body)
	}
	if status, body := open(net.IPv4(127, 0, 3, 2)); !strings.Contains(status, " 503 ") || !strings.Contains(body, "(limit 3)") {
		t.Errorf("fourth page in total: %q %q, want 503 naming the total limit", status, body)
	}
}

// TestEventsSendOnlyChangedStation: after the first full list, a title
// change sends that station alone, not every station again.
func TestEventsSendOnlyChangedStation(t *testing.T) {
	t.Parallel()
	h := startHarness(t, nil,
		stationSpec{
			Station: config.Station{Route: "/", Burst: config.Burst{Duration: 100 * time.Millisecond}},
			files: map[string][]byte{
				"a.mp3": append(testmedia.ID3v2("Artist A", "Song A", 0), testmedia.Frames(40)...),
				"b.mp3": append(testmedia.ID3v2("Artist B", "Song B", 0), testmedia.Frames(40)...),
			},
		},
		stationSpec{
			Station: config.Station{Route: "/talk"},
			files:   map[string][]byte{"news.mp3": append(testmedia.ID3v2("A", "News", 0), testmedia.Frames(4000)...)},
		},
	)
	_, events := sseSubscribe(t, h)
	first := sseNext(t, events, 2*time.Second)
	if first.name != "stations" || len(first.changed) != 2 {
		t.Fatalf("first event %q with %d stations, want the full list of 2", first.name, len(first.changed))
	}
	before := first.stations[0].CurrentTrack
	for {
		ev := sseNext(t, events, 5*time.Second)
		if ev.name != "station" || len(ev.changed) != 1 || strings.HasPrefix(ev.data, "[") {
			t.Fatalf("event %q %s, want one station", ev.name, ev.data)
		}
		if ev.changed[0].Route == "/" && ev.changed[0].CurrentTrack != before {
			if ev.stations[1].CurrentTrack != "A - News" {
				t.Errorf("the other station after the change: %+v", ev.stations[1])
			}
			return
		}
	}
}
