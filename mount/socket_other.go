//go:build !linux

package mount

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"time"
)

// Elsewhere than on Linux every listener takes the writer-goroutine path
// (the one TLS listeners take everywhere): detaching a descriptor and
// writing it with a raw writev is Linux-specific (socket_linux.go).

// socket is empty here: no listener ever has one.
type socket struct{}

type iovecs []struct{}

var errNoSocket = errors.New("shard writes are Linux-only")

func shardConn(net.Conn) (*net.TCPConn, bool) { return nil, false }

func detach(*net.TCPConn) (socket, error) { return socket{}, errNoSocket }

func (*socket) writev([][]byte, iovecs) (int, error) { return 0, errNoSocket }

func (*socket) close() {}

func (*socket) hungUp([]byte) error { return nil }

// hungUpConn reads what the client sent since the request (thrown away),
// waiting at most a millisecond, and reports errHungUp when it closed its
// side. A TLS listener's connection is read below TLS.
func hungUpConn(conn net.Conn, buf []byte) error {
	if tc, ok := conn.(*tls.Conn); ok {
		conn = tc.NetConn()
	}
	conn.SetReadDeadline(time.Now().Add(time.Millisecond))
	defer conn.SetReadDeadline(time.Time{})
	_, err := conn.Read(buf)
	switch {
	case errors.Is(err, io.EOF):
		return errHungUp
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil
	}
	return err
}
