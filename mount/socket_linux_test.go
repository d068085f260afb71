package mount

import (
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// tcpPair returns the server side of a loopback connection and its client.
func tcpPair(t *testing.T) (*net.TCPConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return server.(*net.TCPConn), client
}

func TestDetachedSocketOutlivesItsConn(t *testing.T) {
	server, client := tcpPair(t)
	sock, err := detach(server)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.Write([]byte("x")); err == nil {
		t.Fatal("the net.Conn is still open after detach")
	}
	sc := newScratch()
	n, err := sock.writev([][]byte{[]byte("hello, "), nil, []byte("world")}, sc.vec)
	if err != nil || n != 12 {
		t.Fatalf("writev = %d, %v", n, err)
	}
	for _, v := range sc.vec[:cap(sc.vec)] {
		if v.Base != nil {
			t.Fatal("writev left a pointer to a written buffer in the shared vector")
		}
	}
	sock.close()
	sock.close() // a second close must not close a reused descriptor number
	client.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(client)
	if err != nil || string(got) != "hello, world" {
		t.Fatalf("client read %q, %v; want the bytes, then EOF", got, err)
	}
	if _, err := sock.writev([][]byte{[]byte("late")}, sc.vec); err != errClosedSocket {
		t.Fatalf("write after close: %v", err)
	}
}

func TestDetachedSocketFullIsNotAnError(t *testing.T) {
	server, client := tcpPair(t)
	server.SetWriteBuffer(4096)
	client.(*net.TCPConn).SetReadBuffer(4096)
	sock, err := detach(server)
	if err != nil {
		t.Fatal(err)
	}
	defer sock.close()
	sc := newScratch()
	chunk := make([]byte, 64<<10)
	total := 0
	for range 1000 { // the client reads nothing: the socket must fill
		n, err := sock.writev([][]byte{chunk}, sc.vec)
		if err != nil {
			t.Fatalf("writev on a full socket: %v", err)
		}
		if n == 0 {
			return // EAGAIN came back as "nothing written", not a wait or an error
		}
		total += n
	}
	t.Fatalf("wrote %d bytes to a client that reads nothing and never saw a full socket", total)
}

func TestZeroSocketClosesNothing(t *testing.T) {
	if _, err := os.Stdin.Stat(); err != nil {
		t.Skipf("stdin is not open here: %v", err)
	}
	var s socket // a TLS listener's: fd 0 must stay untouched
	s.close()
	if _, err := os.Stdin.Stat(); err != nil {
		t.Fatalf("stdin after closing a zero socket: %v", err)
	}
}
