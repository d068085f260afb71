package mount

import (
	"net"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
)

// JoinConn is Join for connections that are not plain TCP, such as HTTPS:
// TLS cannot take a non-blocking writev from a shared writer, so each such
// listener gets a goroutine of its own that writes with a deadline. The
// plain-TCP path stays goroutine-free.
func (s *Station) JoinConn(conn net.Conn, head []byte, metaint int, remote, userAgent string, onLeave func()) error {
	if tcp, ok := conn.(*net.TCPConn); ok {
		_, err := s.Join(tcp, head, metaint, remote, userAgent, onLeave)
		return err
	}
	leave := func() {
		conn.Close()
		if onLeave != nil {
			onLeave()
		}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		leave()
		return ErrStopped
	}
	s.blocking.Add(1)
	s.mu.Unlock()

	now := s.clock.Now()
	delay := s.BurstDelay()
	blk, off := s.ring.JoinPoint(now, delay)
	l := &Listener{
		head: head, blk: blk, off: off, icy: icy.NewInterleave(metaint),
		joined: now, lastProgress: now, joinDelay: delay,
		Remote: remote, onLeave: leave,
	}
	n := s.listeners.Add(1)
	for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
	}
	s.sessions.Add(1)
	go func() {
		defer s.blocking.Done()
		s.drop(l, s.writeBlocking(conn, l))
	}()
	return nil
}

// writeBlocking feeds one listener until it fails or the station stops.
func (s *Station) writeBlocking(conn net.Conn, l *Listener) error {
	sc := newScratch()
	for {
		wake := s.published()
		if l.blk == nil {
			l.blk = s.ring.Head()
		}
		if l.blk != nil && s.ring.Fell(l.blk) {
			return errFellBehind
		}
		segs := l.plan(sc)
		if len(segs) > 0 {
			bufs := net.Buffers(sc.iov[:0])
			for _, sg := range segs {
				bufs = append(bufs, sg.b)
			}
			conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
			n, err := bufs.WriteTo(conn)
			l.commit(segs, int(n))
			l.sent.Add(n)
			clear(segs)
			if err != nil {
				return err
			}
			l.updateDelay(s.clock.Now())
			continue // more may have been published meanwhile
		}
		select {
		case <-wake:
		case <-s.done:
			return errShutdown
		}
	}
}

// published returns a channel closed at the next publish.
func (s *Station) published() <-chan struct{} {
	return *s.signal.Load()
}

// announce wakes everyone waiting in published.
func (s *Station) announce() {
	next := make(chan struct{})
	close(*s.signal.Swap(&next))
}

// shutdownBlocking refuses new blocking listeners and waits for the ones
// running to end.
func (s *Station) shutdownBlocking() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	close(s.done)
	s.blocking.Wait()

}
