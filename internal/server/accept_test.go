package server

import (
	"errors"
	"net"
	"syscall"
	"testing"
)

// flakyListener fails Accept with EMFILE a few times before it works: what
// a server at its open-file limit sees.
type flakyListener struct {
	net.Listener
	fails int
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails > 0 {
		l.fails--
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return l.Listener.Accept()
}

func TestAcceptRetriesWhenOutOfFiles(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var exhausted []error
	sl := &sniffListener{Listener: &flakyListener{Listener: ln, fails: 3}, onExhausted: func(err error) { exhausted = append(exhausted, err) }}
	go func() {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			defer c.Close()
			_, _ = c.Write([]byte("GET / HTTP/1.0\r\n\r\n")) // the flood needs connections, not answers
		}
	}()
	c, err := sl.Accept()
	if err != nil {
		t.Fatalf("Accept gave up: %v", err)
	}
	c.Close()
	if len(exhausted) != 3 || !errors.Is(exhausted[0], syscall.EMFILE) {
		t.Fatalf("reported %v, want three EMFILE retries", exhausted)
	}
	// A closed listener is still an error that ends Serve.
	ln.Close()
	if _, err := sl.Accept(); err == nil {
		t.Fatal("Accept on a closed listener succeeded")
	}
}
