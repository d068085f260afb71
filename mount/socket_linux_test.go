package mount

import (
	"io"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tcpPair returns the server side of a loopback connection and its client.
func tcpPair(t *testing.T) (*net.TCPConn, net.Conn) {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, server := dialPair(t, ln)
	t.Cleanup(func() { client.Close() })
	return server, client
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
	num := sock.fd
	sock.close()
	if _, err := unix.FcntlInt(uintptr(num), unix.F_GETFD, 0); err != unix.EBADF {
		t.Fatalf("descriptor %d still open after close (%v)", num, err)
	}
	// A second close must not close whatever has the number by then: give
	// the number to a pipe (it may take it by itself) and check it stays open.
	r, w, perr := os.Pipe()
	if perr != nil {
		t.Fatal(perr)
	}
	defer r.Close()
	defer w.Close()
	if int(r.Fd()) != num && int(w.Fd()) != num {
		if err := unix.Dup3(int(r.Fd()), num, unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		defer unix.Close(num)
	}
	sock.close()
	if _, err := unix.FcntlInt(uintptr(num), unix.F_GETFD, 0); err != nil {
		t.Fatalf("a second close closed descriptor %d, which had been reused: %v", num, err)
	}
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
	if err := server.SetWriteBuffer(4096); err != nil {
		t.Fatal(err)
	}
	if err := client.(*net.TCPConn).SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
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
