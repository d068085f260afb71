package server

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

func TestListenerLimits(t *testing.T) {
	t.Parallel()
	song := map[string][]byte{"a.mp3": taggedMP3("A", "B", testmedia.Frames(secondsOfFrames(10)))}
	refused := func(t *testing.T, r *rawResp, why string) {
		t.Helper()
		body, _ := io.ReadAll(r.body)
		if r.status != "HTTP/1.0 503 Service Unavailable" || !strings.Contains(string(body), why) {
			t.Errorf("got %q %q, want 503 saying %q", r.status, body, why)
		}
	}

	t.Run("station and server", func(t *testing.T) {
		t.Parallel()
		h := startHarness(t, &Server{MaxListeners: 2},
			stationSpec{Station: config.Station{Route: "/one", MaxListeners: 1}, files: song},
			stationSpec{Station: config.Station{Route: "/two"}, files: song},
		)
		checkListenerHead(t, h.raw(t, "GET /one HTTP/1.0"), "audio-streamer /one", 0)
		refused(t, h.raw(t, "GET /one HTTP/1.0"), "station /one is full (1 listeners)")
		checkListenerHead(t, h.raw(t, "GET /two HTTP/1.0"), "audio-streamer /two", 0)
		refused(t, h.raw(t, "GET /two HTTP/1.0"), "server is full (2 listeners)")
	})

	t.Run("per IP", func(t *testing.T) {
		t.Parallel()
		h := startHarness(t, &Server{MaxConnsPerIP: 2}, stationSpec{Station: config.Station{Route: "/"}, files: song})
		for range 3 { // HEAD gives its slot back at once
			r := h.raw(t, "HEAD / HTTP/1.0")
			if r.status != "HTTP/1.0 200 OK" {
				t.Fatalf("HEAD: %q", r.status)
			}
			_, _ = io.ReadAll(r.body) // until the server closes
		}
		first := h.raw(t, "GET / HTTP/1.0")
		checkListenerHead(t, first, "audio-streamer /", 0)
		checkListenerHead(t, h.raw(t, "GET / HTTP/1.0"), "audio-streamer /", 0)
		refused(t, h.raw(t, "GET / HTTP/1.0"), "too many connections from 127.0.0.1 (limit 2)")
		// A listener that leaves frees its slot once the station notices.
		first.conn.Close()
		testmedia.PollUntil(t, 10*time.Second, "the slot of a closed listener", func() bool {
			r, err := rawRequest(h.addr, "GET / HTTP/1.0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.conn.Close() })
			return r.status == "HTTP/1.0 200 OK"
		})
	})
}

// TestIndividualMode: every listener gets a private station that starts
// at the beginning of a track, with its title, while the route's counters
// add them up.
func TestIndividualMode(t *testing.T) {
	t.Parallel()
	h := startHarness(t, nil, stationSpec{
		Station: config.Station{Route: "/solo", Mode: config.ModeIndividual, Metaint: 2000, Burst: config.Burst{Duration: time.Second}},
		files:   map[string][]byte{"a.mp3": taggedMP3("Solo", "Song", framesFrom(0, secondsOfFrames(5)))},
	})
	for i := range 2 {
		s := newICYStream(t, h.raw(t, "GET /solo HTTP/1.0", "Icy-MetaData: 1"))
		if _, err := s.next(); err != nil {
			t.Fatal(err)
		}
		n := mpeg1L3Len(s.audio)
		if n == 0 || testmedia.FrameIndex(s.audio[:n]) != 0 {
			t.Errorf("listener %d: private stream starts with % x, want the track's first frame", i, s.audio[:8])
		}
		if s.title != "Solo - Song" {
			t.Errorf("listener %d: title %q", i, s.title)
		}
	}
	var got struct{ Streams []stationJSON }
	h.getJSON(t, "/streams", 200, &got)
	if len(got.Streams) != 1 || got.Streams[0].Listeners != 2 || got.Streams[0].Mode != "individual" || got.Streams[0].CurrentTrack != "Solo - Song" {
		t.Errorf("/streams: %+v", got.Streams)
	}
}

// TestProbesAreCounted: a TLS handshake on the plain port gets a TLS alert
// and a garbage request a 400; /metrics counts both.
func TestProbesAreCounted(t *testing.T) {
	t.Parallel()
	h := startHarness(t, nil, stationSpec{Station: config.Station{Route: "/"}, files: map[string][]byte{"a.mp3": taggedMP3("A", "B", testmedia.Frames(100))}})
	conn, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte{0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03}); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(conn)
	if err != nil || !bytes.Equal(got, []byte{0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46}) {
		t.Errorf("TLS probe answered % x (%v), want a protocol_version alert and close", got, err)
	}
	r := h.raw(t, "NOT AN HTTP REQUEST")
	if !strings.Contains(r.status, " 400 ") {
		t.Errorf("garbage request: %q", r.status)
	}
	_, _, body := h.get(t, "GET", "/metrics", "")
	fams := parsePrometheus(t, body)
	for name, want := range map[string]float64{"audio_stream_tls_probes_total": 1, "audio_stream_bad_requests_total": 1} {
		if f := fams[name]; f == nil || len(f.samples) != 1 || f.samples[0].value != want {
			t.Errorf("%s: %+v, want %v", name, f, want)
		}
	}
}

// TestPerIPCountsForgetAddresses: the per-address connection counts keep
// only addresses with a connection open, so a server that has seen many
// clients does not hold an entry for each of them forever.
func TestPerIPCountsForgetAddresses(t *testing.T) {
	t.Parallel()
	released := make(chan struct{}, 64)
	srv := &Server{MaxConnsPerIP: 1}
	srv.perIP.released = func() { released <- struct{}{} }
	song := map[string][]byte{"a.mp3": taggedMP3("A", "B", testmedia.Frames(secondsOfFrames(20)))}
	h := startHarness(t, srv, stationSpec{Station: config.Station{Route: "/"}, files: song})

	const clients = 40
	conns := make([]net.Conn, 0, clients)
	for i := range clients {
		// Every 127.0.0.0/8 address reaches the loopback listener.
		d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(i+1))}}
		c, err := d.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, "GET / HTTP/1.0\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		status, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || status != "HTTP/1.0 200 OK\r\n" {
			t.Fatalf("listener %d: %q %v", i, status, err)
		}
		conns = append(conns, c)
	}
	if n := srv.perIP.addresses(); n != clients {
		t.Fatalf("%d addresses counted with %d connected", n, clients)
	}
	for _, c := range conns {
		c.Close()
	}
	deadline := time.After(10 * time.Second)
	for i := range clients {
		select {
		case <-released:
		case <-deadline:
			t.Fatalf("only %d of %d listeners released within 10 s", i, clients)
		}
	}
	if n := srv.perIP.addresses(); n != 0 {
		t.Errorf("%d addresses still counted after every listener left, want 0", n)
	}
}
