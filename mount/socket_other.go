//go:build !linux

package mount

import (
	"errors"
	"net"
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
