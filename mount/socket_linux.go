package mount

import (
	"crypto/tls"
	"errors"
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// socket is a listener's own descriptor of its TCP connection: a duplicate
// taken at join, after which the net.Conn is closed. The shard never waits
// for a socket to become writable (a full socket means "try again next
// tick"), so Go's poller has nothing to do for a listener, and dropping the
// net.Conn frees its poller entry and bookkeeping, about half a KiB per
// listener that a radio server holds for hours. A socket is used in place
// (listener.sock), never copied: two copies could close the number twice.
type socket struct {
	fd   int
	open bool // the zero socket (a TLS listener's) has nothing to close
}

// iovecs is a shard's reusable writev vector.
type iovecs []unix.Iovec

// errClosedSocket is a write after close: a bug, never a client's doing.
var errClosedSocket = errors.New("socket already closed")

// shardConn reports whether conn can be written by a shard: plain TCP,
// whose descriptor detach can take over.
func shardConn(conn net.Conn) (*net.TCPConn, bool) {
	c, ok := conn.(*net.TCPConn)
	return c, ok
}

// detach takes c's descriptor for the listener and closes c. Closing one
// of two descriptors of a socket does not end the connection.
func detach(c *net.TCPConn) (socket, error) {
	defer c.Close()
	raw, err := c.SyscallConn()
	if err != nil {
		return socket{}, err
	}
	var fd int
	var dupErr error
	if err := raw.Control(func(s uintptr) {
		fd, dupErr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return socket{}, err
	}
	if dupErr != nil {
		return socket{}, dupErr
	}
	// Go's sockets are non-blocking already; said again because nothing
	// here may ever block the shard.
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return socket{}, err
	}
	return socket{fd: fd, open: true}, nil
}

// writev makes one non-blocking writev of bufs, using vec as the iovec
// array. EAGAIN (socket full) is not an error: the rest goes next tick.
func (s *socket) writev(bufs [][]byte, vec iovecs) (int, error) {
	if !s.open {
		return 0, errClosedSocket
	}
	vec = vec[:0]
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		v := unix.Iovec{Base: &b[0]}
		v.SetLen(len(b))
		vec = append(vec, v)
	}
	if len(vec) == 0 {
		return 0, nil
	}
	n, _, errno := unix.Syscall(unix.SYS_WRITEV, uintptr(s.fd), uintptr(unsafe.Pointer(&vec[0])), uintptr(len(vec)))
	clear(vec) // no pointers into old blocks stay behind in the scratch
	switch errno {
	case 0:
		return int(n), nil
	case unix.EAGAIN, unix.EINTR:
		return 0, nil
	default:
		return 0, errno
	}
}

// hungUp reads, without waiting, what the client sent since the request
// (nothing a stream needs: it is thrown away) and reports errHungUp when
// it closed its side, or the error of a reset connection. A client that
// keeps sending counts as connected; a few reads bound the work per call.
func (s *socket) hungUp(buf []byte) error {
	if !s.open {
		return nil // a writer goroutine's listener: hungUpConn checks it
	}
	for range 4 {
		n, err := unix.Read(s.fd, buf)
		switch {
		case err == unix.EAGAIN || err == unix.EINTR:
			return nil
		case err != nil:
			return err
		case n == 0:
			return errHungUp
		}
	}
	return nil
}

// hungUpConn is hungUp for a connection a writer goroutine owns: a TLS
// listener's TCP connection is read below TLS, as nothing the client
// sends after its request matters.
func hungUpConn(conn net.Conn, buf []byte) error {
	if tc, ok := conn.(*tls.Conn); ok {
		conn = tc.NetConn()
	}
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var probeErr error
	err = raw.Read(func(fd uintptr) bool {
		s := socket{fd: int(fd), open: true}
		probeErr = s.hungUp(buf)
		return true // never wait for the descriptor to become readable
	})
	if err != nil {
		return err
	}
	return probeErr
}

// close closes the descriptor once; the number may be reused right after,
// so it is forgotten here.
func (s *socket) close() {
	if s.open {
		unix.Close(s.fd)
		s.open = false
	}
}
