package server

import (
	"errors"
	"io"
	"net"
	"syscall"
	"time"
)

// tlsAlert is a TLS fatal alert (protocol_version): a browser that tried
// https:// on our plain port shows a clean protocol error at once instead
// of waiting for a ServerHello that never comes.
var tlsAlert = [...]byte{0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46}

// sniffListener recognises a TLS ClientHello sent to the plain HTTP port
// by its first bytes (0x16 0x03: a handshake record) and answers it with an
// alert instead of letting the HTTP parser log binary garbage.
type sniffListener struct {
	net.Listener
	onTLS       func(remote string)
	onExhausted func(error) // accept failed for lack of resources; retrying
}

func (l *sniffListener) Accept() (net.Conn, error) {
	c, err := l.acceptRetrying()
	if err != nil {
		return nil, err
	}
	tcp, ok := c.(*net.TCPConn)
	if !ok {
		return c, nil
	}
	return &sniffConn{TCPConn: tcp, onTLS: l.onTLS}, nil
}

// acceptRetrying rides out resource exhaustion (out of file descriptors,
// buffers or memory; a connection aborted before accept) by backing off and
// trying again, as net/http does: fasthttp would treat the error as fatal
// and the whole server, every listener with it, would exit.
func (l *sniffListener) acceptRetrying() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err == nil || !transientAccept(err) {
			return c, err
		}
		if delay == 0 {
			delay = 5 * time.Millisecond
		} else {
			delay = min(2*delay, time.Second)
		}
		if l.onExhausted != nil {
			l.onExhausted(err)
		}
		time.Sleep(delay)
	}
}

func transientAccept(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ENOBUFS) ||
		errors.Is(err, syscall.ENOMEM) || errors.Is(err, syscall.ECONNABORTED)
}

// sniffConn checks the first read of a connection; after that it is the
// plain TCP connection (stream handlers take it back with TCP).
type sniffConn struct {
	*net.TCPConn
	checked bool
	onTLS   func(remote string)
}

func (c *sniffConn) Read(p []byte) (int, error) {
	n, err := c.TCPConn.Read(p)
	if c.checked || n == 0 {
		return n, err
	}
	c.checked = true
	if p[0] == 0x16 && (n < 2 || p[1] == 0x03) {
		c.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.Write(tlsAlert[:]) // best effort: the alert only explains the close
		c.onTLS(c.RemoteAddr().String())
		c.Close()
		return 0, io.EOF
	}
	return n, err
}

// TCP returns the underlying connection.
func (c *sniffConn) TCP() *net.TCPConn { return c.TCPConn }

// streamConn digs the connection to write a stream to out of what
// fasthttp's hijack hands over: the *net.TCPConn on the plain port (which
// stations write without a goroutine), the TLS connection on HTTPS.
func streamConn(c net.Conn) net.Conn {
	if u, ok := c.(interface{ UnsafeConn() net.Conn }); ok {
		c = u.UnsafeConn()
	}
	if v, ok := c.(*sniffConn); ok {
		return v.TCP()
	}
	return c
}
