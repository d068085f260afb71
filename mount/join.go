package mount

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
	"unique"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
)

// JoinRequest is one listener handed to a station.
type JoinRequest struct {
	// Conn is the listener's connection; the station owns it from Join on
	// and closes it. A *net.TCPConn is written by the shards, without a
	// goroutine of its own (on Linux); anything else, such as TLS, gets a
	// writer goroutine that writes with a deadline.
	Conn net.Conn
	// Head is the HTTP response head, sent before any audio.
	Head []byte
	// Metaint is the number of audio bytes between ICY metadata blocks;
	// 0 sends none.
	Metaint   int
	Remote    string
	UserAgent string
	// ID names the listener in ListListeners and to KickListener. The
	// caller keeps it unique among its listeners (the server uses its
	// connection number, as Icecast does); 0 is allowed, and such a
	// listener cannot be kicked by ID.
	ID uint64
	// OnLeave, if not nil, runs once when the station has closed Conn,
	// whatever the outcome, also when Join fails.
	OnLeave func()
	// OnEnd, if not nil, runs once when a listener that joined (Join
	// returned nil) is closed, just before OnLeave, with the listener as
	// it ended (BytesSent of the whole connection, across moves) and the
	// time it ended: for access logs.
	OnEnd func(info ListenerInfo, ended time.Time)
	// NoAudio, if not nil, gives the complete reply sent instead of Head
	// when the listener is refused for want of audio (ErrNoAudio: a
	// private station whose files all fail); called only then. Nil: a
	// plain 503.
	NoAudio func() []byte
}

// Join hands a listener to the station. The listener starts one burst
// delay behind live, on a frame boundary, and gets its head and the burst
// at once: a TCP listener from the caller's goroutine, before a shard
// takes over, so playback starts without waiting for a tick. A listener
// that fails to join is counted and dropped like any other, so a private
// station sees it leave and stops.
func (s *Station) Join(req JoinRequest) (err error) {
	now := s.clock.Now()
	l := s.newListener(&req, now)
	s.count.join()
	tcp, ok := shardConn(req.Conn)
	if !ok {
		s.capSendBuffer(req.Conn)
		return s.startWriter(req.Conn, l)
	}
	settled := false // dropped, or handed to a shard
	defer func() {
		if v := recover(); v != nil {
			if !settled {
				s.drop(l, fmt.Errorf("panic while joining: %v", v))
			}
			panic(v)
		}
	}()
	if l.sock, err = detach(tcp); err != nil {
		// Mostly EMFILE: the process is out of descriptors.
		err = fmt.Errorf("taking over the connection: %w", err)
		settled = true
		s.drop(l, err)
		return err
	}
	sc, _ := s.joinScratch.Get().(*scratch)
	if sc == nil {
		sc = newScratch()
	}
	err = l.flush(s.ring, sc, now, s.cfg.WriteTimeout, false)
	s.joinScratch.Put(sc)
	if err != nil {
		settled = true
		s.drop(l, err)
		return err
	}
	sh := s.shards[s.nextShard.Add(1)%uint64(len(s.shards))]
	settled = true
	delay := l.joinDelay // l is the shard's once added (a move changes it)
	if !sh.add(l) {
		s.drop(l, ErrStopped)
		return ErrStopped
	}
	s.log.Debug("listener connected", "remote", req.Remote, "user_agent", req.UserAgent, "delay", delay)
	return nil
}

// minSendBuffer is the smallest kernel send buffer of a listener: a few
// publish ticks of a 320 kbit/s stream.
const minSendBuffer = 64 << 10

// SendBuffer sizes a listener socket's send buffer: room for the burst
// and then some, so the whole burst goes out in the first write. Left
// alone, Linux grows it to megabytes on loopback and other large-MSS
// paths, so a listener that stops reading soaks up minutes of audio (and
// as much kernel memory) before its write timeout can start; with this it
// is found within seconds.
func SendBuffer(burst time.Duration, kbps int) int {
	b := int(burst.Seconds() * float64(kbps) * 1000 / 8)
	return max(b+b/4, minSendBuffer)
}

// capSendBuffer applies SendBuffer to the TCP socket under a listener the
// shards cannot write (TLS; every listener off Linux), as the server does
// for plain ones before Join: the writer only times out once the kernel
// stops taking bytes, so an uncapped buffer would hide a stalled client
// for minutes. The bitrate is the live edge's (128 kbit/s before any
// audio).
func (s *Station) capSendBuffer(conn net.Conn) {
	if tc, ok := conn.(*tls.Conn); ok {
		conn = tc.NetConn()
	}
	tcp, ok := conn.(*net.TCPConn)
	if !ok {
		return
	}
	kbps := 128
	if tail := s.ring.Tail(); tail != nil && tail.Track != nil && tail.Track.Bitrate > 0 {
		kbps = tail.Track.Bitrate
	}
	tcp.SetWriteBuffer(SendBuffer(s.BurstDelay(), kbps))
}

// newListener places a listener one burst delay behind live. Its delay is
// then corrected to the frame it really starts on, so status pages show
// the same delay for every listener whatever the phase of the tick.
func (s *Station) newListener(req *JoinRequest, now time.Time) *listener {
	delay := s.BurstDelay()
	blk, off := s.ring.JoinPoint(now, delay)
	l := &listener{
		head: req.Head, blk: blk, off: off, icy: icy.NewInterleave(req.Metaint),
		joined: now, lastProgress: now, joinDelay: delay,
		Remote: req.Remote, onLeave: req.OnLeave, onEnd: req.OnEnd, id: req.ID,
	}
	if req.UserAgent != "" {
		l.ua = unique.Make(req.UserAgent)
	}
	if blk != nil && off < len(blk.Data) {
		l.joinDelay = now.Sub(blk.Due.Add(time.Duration(frameIndex(blk, off)) * blk.FrameDur))
	}
	return l
}

func frameIndex(b *Block, off int) int {
	for i, o := range b.Frames {
		if int(o) >= off {
			return i
		}
	}
	return len(b.Frames)
}

// drop closes a listener that never reached a shard or the writers (a
// failed join), adding what it was sent to the total, and counts it out.
func (s *Station) drop(l *listener, err error) {
	s.retire(l)
	l.onEnd = nil // it never joined: no session to tell about
	s.leave(l, err)
}

// retire adds what l was sent to the station's total. The caller holds
// s.mu and, in the same critical section, takes l out of its shard or the
// writers, where Stats counted it until then: no Stats call sees its bytes
// twice or not at all. l is written no more; leave it after unlocking.
func (s *Station) retire(l *listener) {
	sent := l.sent.Load()
	s.count.bytesSent.Add(uint64(sent - l.counted))
	l.counted = sent
}

// leave closes a listener whose bytes are already in the total and counts
// why it left. OnLeave runs last: if it panics, the listener is still
// closed and counted out.
func (s *Station) leave(l *listener, err error) {
	l.sock.close()
	now := s.clock.Now()
	s.count.ended(now.Sub(l.joined), now.Sub(l.joined.Add(l.arrived)))
	switch {
	case errors.Is(err, errFellBehind):
		s.count.slow.Add(1)
		s.drops.add(s.clock.Now(), dropTooSlow, l.Remote, err)
	case errors.Is(err, errWriteTimeout):
		s.count.timeouts.Add(1)
		s.drops.add(s.clock.Now(), dropWriteTimeout, l.Remote, err)
	case isDisconnect(err) || errors.Is(err, ErrStopped):
		s.log.Debug("listener disconnected", "remote", l.Remote, "reason", err.Error(), "seconds", s.clock.Now().Sub(l.joined).Seconds())
	default:
		s.drops.add(s.clock.Now(), dropWriteFailed, l.Remote, err)
	}
	if s.count.listeners.Add(-1) == 0 && s.stopWhenEmpty {
		s.emptyOnce.Do(func() { close(s.empty) })
	}
	if l.onEnd != nil {
		l.onEnd(l.info(), now)
	}
	if l.onLeave != nil {
		l.onLeave()
	}
}

// startWriter serves a listener the shards cannot write to: TLS cannot
// take a non-blocking writev from a shared writer, so such a listener gets
// a goroutine of its own that writes with a deadline. The plain-TCP path
// stays goroutine-free.
func (s *Station) startWriter(conn net.Conn, l *listener) error {
	onLeave := l.onLeave
	l.onLeave = func() {
		conn.Close()
		if onLeave != nil {
			onLeave()
		}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.drop(l, ErrStopped)
		return ErrStopped
	}
	s.writers[l] = struct{}{}
	s.running.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.running.Done()
		err := s.write(conn, l)
		if tc, ok := conn.(*tls.Conn); ok && !errors.Is(err, errShutdown) {
			// The stream is broken or stalled: tls.Conn.Close would first
			// spend up to 5 s pushing close_notify into a socket that
			// takes no bytes, holding it and this goroutine.
			tc.NetConn().Close()
		}
		s.mu.Lock()
		delete(s.writers, l)
		s.retire(l)
		s.mu.Unlock()
		s.leave(l, err)
	}()
	return nil
}

// write feeds one listener until it fails or the station stops. Like a
// shard's round (see listener.flush), a check every idleCheck finds a
// client that hung up while its station published nothing.
func (s *Station) write(conn net.Conn, l *listener) error {
	sc := newScratch()
	check := time.NewTicker(idleCheck)
	defer check.Stop()
	for {
		wake := s.published.wait()
		if l.kicked.Load() {
			return errKicked
		}
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
			// Both directions: a TLS write may have to finish a handshake,
			// which reads, and a client silent there is as stalled.
			conn.SetDeadline(time.Now().Add(s.cfg.WriteTimeout))
			n, err := bufs.WriteTo(conn)
			l.commit(segs, int(n))
			l.sent.Add(n)
			l.wrote = l.wrote || n > 0
			clear(segs)
			if err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					return errWriteTimeout
				}
				return err
			}
			l.updateDelay(s.clock.Now())
			continue // more may have been published meanwhile
		}
		select {
		case <-wake:
		case <-s.done:
			return errShutdown
		case <-check.C:
			if !l.wrote {
				if err := hungUpConn(conn, sc.discardBuf()); err != nil {
					return err
				}
			}
			l.wrote = false
		}
	}
}

// stopWriters refuses new writer goroutines and waits for the running
// ones to end.
func (s *Station) stopWriters() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	close(s.done)
	s.running.Wait()
}
