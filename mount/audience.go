package mount

import (
	"errors"
	"fmt"
	"time"
)

// ListenerInfo describes one connected listener, for admin listings and
// access logs.
type ListenerInfo struct {
	// ID is JoinRequest.ID.
	ID        uint64
	Remote    string
	UserAgent string // "" when the client sent none
	// Connected is when the connection joined its first station; a move
	// keeps it.
	Connected time.Time
	// BytesSent is what the connection was sent, head included, at every
	// station it played from.
	BytesSent int64
}

// ListListeners describes the station's connected listeners, in no
// particular order. It walks the shards under their locks: meant for
// admin requests, not for every connection.
func (s *Station) ListListeners() []ListenerInfo {
	out := make([]ListenerInfo, 0, s.Listeners())
	s.eachListener(func(l *listener) { out = append(out, l.info()) })
	return out
}

// eachListener calls fn for every listener of the station, under s.mu
// and its shard's lock: fn must not block.
func (s *Station) eachListener(fn func(*listener)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sh := range s.shards {
		sh.each(fn)
	}
	for l := range s.writers {
		fn(l)
	}
}

// KickListener closes the connection of the listener with id on the
// shard's next round (at most a second away), and reports whether the
// station has such a listener. Its OnEnd and OnLeave run as for any
// listener leaving.
func (s *Station) KickListener(id uint64) bool {
	if id == 0 {
		return false
	}
	found := false
	s.eachListener(func(l *listener) {
		if l.id == id {
			l.kicked.Store(true)
			found = true
		}
	})
	if found {
		s.wakeWriters()
	}
	return found
}

// wakeWriters makes every shard and writer goroutine look at its
// listeners now, not at the next publish.
func (s *Station) wakeWriters() {
	for _, sh := range s.shards {
		sh.notify()
	}
	s.published.fire()
}

// Move refusals (MoveListeners).
var (
	ErrSameStation      = errors.New("supplied mountpoints are identical")
	ErrNotRunning       = errors.New("destination not running")
	ErrFormatDiffers    = errors.New("destination plays another audio format")
	ErrPrivateListeners = errors.New("individual-mode listeners have stations of their own and cannot be moved")
)

// MoveListeners moves every listener of s to dst without a reconnect:
// each one's shard takes it out at its next frame boundary (finishing a
// half-sent frame and metadata block first) and dst's ring carries it on
// from the same distance behind live, on a frame boundary, on the same
// connection with the same response head. Its ICY metadata keeps its
// interval: the next block after the move carries dst's title. It
// returns how many listeners will move. dst must be playing (not:
// ErrNotRunning) at the same sample rate and channel count (not:
// ErrFormatDiffers; a player's decoder would break); listeners written
// by a goroutine of their own (TLS) stay.
func (s *Station) MoveListeners(dst *Station) (int, error) {
	if dst == s {
		return 0, ErrSameStation
	}
	if !dst.Ready() {
		return 0, ErrNotRunning
	}
	if from, to := s.ring.Tail(), dst.ring.Tail(); from != nil && to != nil && from.Track != nil && to.Track != nil {
		a, b := from.Track, to.Track
		if a.SampleRate != b.SampleRate || a.Channels != b.Channels {
			return 0, fmt.Errorf("%w: %d Hz, %d channels here, %d Hz, %d channels there", ErrFormatDiffers, a.SampleRate, a.Channels, b.SampleRate, b.Channels)
		}
	}
	n := 0
	s.mu.Lock()
	for _, sh := range s.shards {
		sh.each(func(l *listener) {
			l.moveTo.Store(dst)
			n++
		})
	}
	s.mu.Unlock()
	s.wakeWriters()
	return n, nil
}

// depart counts out a listener that a shard of s took out to move it
// (its bytes are retired already): its time here ends now.
func (s *Station) depart(l *listener, now time.Time) {
	s.count.listened.Add(int64(now.Sub(l.joined.Add(l.arrived))))
	s.count.listeners.Add(-1)
}

// arrive takes in a listener moved from another station: its cursor goes
// to s's ring as far behind live as it was, on a frame boundary, and a
// shard of s writes to it from then on. Called by the shard that gave it
// up, which has no lock of s.
func (s *Station) arrive(l *listener, now time.Time) {
	s.count.arrive()
	l.arrived = now.Sub(l.joined)
	delay := l.Delay()
	blk, off := s.ring.JoinPoint(now, delay)
	l.blk, l.off, l.joinDelay, l.lastProgress = blk, off, delay, now
	if blk != nil && off < len(blk.Data) {
		l.joinDelay = now.Sub(blk.Due.Add(time.Duration(frameIndex(blk, off)) * blk.FrameDur))
	}
	sh := s.shards[s.nextShard.Add(1)%uint64(len(s.shards))]
	if !sh.add(l) {
		s.mu.Lock()
		s.retire(l)
		s.mu.Unlock()
		s.leave(l, ErrStopped)
		return
	}
	sh.notify()
}

// ListListeners describes the route's connected listeners: the radio
// station's, or every private station's (see Station.ListListeners).
func (m *Mountpoint) ListListeners() []ListenerInfo {
	if m.radio != nil {
		return m.radio.ListListeners()
	}
	var out []ListenerInfo
	for _, st := range m.privateStations() {
		out = append(out, st.ListListeners()...)
	}
	return out
}

// KickListener closes the listener with id (see Station.KickListener).
func (m *Mountpoint) KickListener(id uint64) bool {
	if m.radio != nil {
		return m.radio.KickListener(id)
	}
	for _, st := range m.privateStations() {
		if st.KickListener(id) {
			return true
		}
	}
	return false
}

// MoveListeners moves the route's listeners to dst's radio station (see
// Station.MoveListeners). Both routes must be in radio mode
// (ErrPrivateListeners).
func (m *Mountpoint) MoveListeners(dst *Mountpoint) (int, error) {
	if m == dst {
		return 0, ErrSameStation
	}
	from, to := m.Radio(), dst.Radio()
	if from == nil || to == nil {
		return 0, ErrPrivateListeners
	}
	return from.MoveListeners(to)
}

// privateStations lists the private stations running now.
func (m *Mountpoint) privateStations() []*Station {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*Station, 0, len(m.private))
	for st := range m.private {
		out = append(out, st)
	}
	return out
}
