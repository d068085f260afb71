package mount

import (
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// socket makes one non-blocking writev per call: EAGAIN (socket full)
// is not an error, it means "try again next tick", so no goroutine ever
// blocks on a slow listener.
type socket struct {
	raw syscall.RawConn
	fn  func(fd uintptr) bool // built once: calling it allocates nothing
	vec []unix.Iovec          // the shard's, lent for one call
	n   int
	err error
}

// iovecs is a shard's reusable writev vector.
type iovecs []unix.Iovec

func newSocket(c *net.TCPConn) (socket, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return socket{}, err
	}
	return socket{raw: raw}, nil
}

func (s *socket) writev(bufs [][]byte, vec iovecs) (int, error) {
	if s.fn == nil {
		s.fn = s.attempt
	}
	s.vec = vec[:0]
	defer func() { clear(s.vec); s.vec = nil }()
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		v := unix.Iovec{Base: &b[0]}
		v.SetLen(len(b))
		s.vec = append(s.vec, v)
	}
	if len(s.vec) == 0 {
		return 0, nil
	}
	s.n, s.err = 0, nil
	if err := s.raw.Write(s.fn); err != nil {
		return 0, err
	}
	return s.n, s.err
}

func (s *socket) attempt(fd uintptr) bool {
	n, _, errno := unix.Syscall(unix.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&s.vec[0])), uintptr(len(s.vec)))
	switch {
	case errno == 0:
		s.n = int(n)
	case errno == unix.EAGAIN || errno == unix.EINTR:
	default:
		s.err = errno
	}
	return true // never wait for writability: the shard comes back next tick
}
