package mount

import (
	"crypto/tls"
	"net"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// handshakePair makes a TLS connection over loopback, handshaken on both
// sides as the server's are when they reach Join. The client's receive
// buffer is set before connecting, so the window it offers stays small.
func handshakePair(t *testing.T, ln *net.TCPListener, clientRcvBuf int) (client, server *tls.Conn) {
	t.Helper()
	cert, _, _ := testmedia.SelfSignedCert(t)
	dialer := net.Dialer{Control: func(_, _ string, raw syscall.RawConn) error {
		var setErr error
		if err := raw.Control(func(fd uintptr) {
			setErr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, clientRcvBuf)
		}); err != nil {
			return err
		}
		return setErr
	}}
	c, err := dialer.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	client = tls.Client(c, &tls.Config{InsecureSkipVerify: true})
	server = tls.Server(s, &tls.Config{Certificates: []tls.Certificate{cert}})
	serverDone := make(chan error, 1)
	go func() { serverDone <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-serverDone; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client, server
}

// sendBufferOf reads a socket's SO_SNDBUF.
func sendBufferOf(t *testing.T, c *net.TCPConn) int {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var size int
	var getErr error
	if err := raw.Control(func(fd uintptr) {
		size, getErr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF)
	}); err != nil {
		t.Fatal(err)
	}
	if getErr != nil {
		t.Fatal(getErr)
	}
	return size
}

// A TLS listener that never reads is capped and timed out like a plain
// one: its socket's send buffer is the listener size, not the megabytes
// Linux grows on loopback, so the writer blocks soon, WriteTimeout drops
// it and its socket is closed at once.
func TestStalledTLSListenerIsCappedAndTimedOut(t *testing.T) {
	// A fast clock fills the capped buffers within a second or two; a big
	// ring keeps the stalled listener from being overtaken first.
	clock := fastClock{start: time.Now(), speed: 32}
	cfg := Config{Burst: time.Second, BufferSize: 16 << 20, WriteTimeout: 300 * time.Millisecond, Clock: clock}
	ts := startStation(t, cfg, testmedia.Frames(20000))
	waitReady(t, ts.Station, 1500*time.Millisecond)
	_, srv := handshakePair(t, ts.ln, 4<<10)
	left := make(chan struct{})
	if err := ts.Join(JoinRequest{Conn: srv, Head: []byte(testHead), Remote: "tls", UserAgent: "test", OnLeave: func() { close(left) }}); err != nil {
		t.Fatal(err)
	}
	// Linux reports twice the size set, for its bookkeeping.
	want := 2 * SendBuffer(ts.BurstDelay(), 128)
	if got := sendBufferOf(t, srv.NetConn().(*net.TCPConn)); got > want {
		t.Errorf("TLS listener's SO_SNDBUF is %d, want at most %d", got, want)
	}
	select {
	case <-left:
	case <-time.After(4 * time.Second):
		// Not the 5 s tls.Conn.Close gives close_notify, either.
		t.Fatalf("a TLS listener that never reads was not dropped in time (stats %+v)", ts.Stats())
	}
	if s := ts.Stats(); s.TimeoutDrops != 1 || s.SlowDropped != 0 || s.Listeners != 0 {
		t.Fatalf("timeout drops %d, slow drops %d, listeners %d; want 1, 0, 0", s.TimeoutDrops, s.SlowDropped, s.Listeners)
	}
}
