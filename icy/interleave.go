package icy

// Interleave is one listener's ICY metadata state: a few integers and
// slices into shared, immutable metadata blocks, so thousands of listeners
// cost nothing per title change. The audio counter restarts after every
// block; a block cut by a short write is finished before any more audio.
//
// A zero Interleave (Metaint 0) is disabled: the client gets pure audio.
type Interleave struct {
	metaint  int
	until    int    // audio bytes before the next block is due
	last     []byte // last full block sent; unchanged titles cost one zero byte
	inflight []byte // block being sent, nil between blocks
	sent     int    // bytes of inflight already sent
}

// NewInterleave starts a listener's state; metaint 0 disables metadata.
func NewInterleave(metaint int) Interleave {
	return Interleave{metaint: metaint, until: metaint}
}

// Enabled reports whether the client asked for metadata.
func (s *Interleave) Enabled() bool { return s.metaint > 0 }

// Room is how many audio bytes may be sent before the next block.
func (s *Interleave) Room() int { return s.until }

// Remaining returns the unsent rest of a block a short write cut, which
// must go out before any audio; nil when none.
func (s *Interleave) Remaining() []byte {
	if s.inflight == nil {
		return nil
	}
	return s.inflight[s.sent:]
}

// Begin starts the block due now for audio whose title block is meta and
// returns the bytes to send: meta itself when the title changed since the
// last block this listener got, else the one zero byte of "no change".
func (s *Interleave) Begin(meta []byte) []byte {
	if len(meta) == 0 || (len(s.last) > 0 && &s.last[0] == &meta[0]) {
		meta = Unchanged()
	}
	s.inflight, s.sent = meta, 0
	return meta
}

// Audio accounts for n audio bytes sent.
func (s *Interleave) Audio(n int) { s.until -= n }

// Meta accounts for n bytes of the block in flight sent.
func (s *Interleave) Meta(n int) {
	s.sent += n
	if s.sent < len(s.inflight) {
		return
	}
	if &s.inflight[0] != &Unchanged()[0] {
		s.last = s.inflight
	}
	s.inflight, s.sent, s.until = nil, 0, s.metaint
}
