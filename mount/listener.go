package mount

import (
	"errors"
	"net"
	"slices"
	"sync/atomic"
	"syscall"
	"time"
	"unique"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
)

// flushLimit bounds one write to a listener, so a lagging listener catching
// up cannot hold its shard for long; the rest goes on the next tick.
const (
	flushLimit = 256 << 10
	maxSegs    = 128
)

// listener is one connected client: a cursor into the ring plus its ICY
// state. A plain-TCP listener has no goroutine: its shard writes to it on
// every publish. Others (TLS) have a writer goroutine (Station.startWriter).
type listener struct {
	sock    socket // the detached descriptor of a shard's listener
	head    []byte // response head not yet sent
	blk     *Block // cursor: next byte is blk.Data[off]; nil = wait for the first block
	off     int
	icy     icy.Interleave
	joined  time.Time
	dropErr error  // why the shard drops it; shard goroutine only
	onLeave func() // run once when the connection is closed
	// wrote is set when bytes went out since the shard's last idle check
	// (see flush); shard goroutine only.
	wrote bool

	lastProgress time.Time
	joinDelay    time.Duration
	delay        atomic.Int64 // nanoseconds behind live, for status pages
	sent         atomic.Int64 // bytes of the whole connection, across moves
	// counted is the part of sent some station's BytesSent already holds
	// (a station it left by a move); under the station's mu.
	counted int64
	// arrived is when it came to its station, as time since joined (a
	// move restarts it), for the station's listening time.
	arrived time.Duration

	// id names the listener to admin requests (JoinRequest.ID); ua is its
	// User-Agent, interned: listeners of one player share the string.
	id uint64
	ua unique.Handle[string]
	// kicked and moveTo are admin requests the shard (or writer) carries
	// out on its next round: drop it, or move it to another station.
	kicked atomic.Bool
	moveTo atomic.Pointer[Station]
	onEnd  func(ListenerInfo, time.Time)

	Remote string
}

// Delay is how far behind the live edge this listener hears.
func (l *listener) Delay() time.Duration { return time.Duration(l.delay.Load()) }

// seg is one piece of a listener's next write: audio from a block, a
// metadata block, or the response head.
type seg struct {
	b    []byte
	blk  *Block // audio: the block b is in
	end  int    // audio: offset in blk after b
	meta []byte // metadata: the block b belongs to (b may be its rest)
	kind byte
}

const (
	segHead byte = iota
	segAudio
	segMeta
)

// scratch is a shard's reusable memory for building writes: with it, a
// steady-state write allocates nothing. It starts small, because Join
// makes one for a single write, and keeps what a long catching-up write
// grew it to (at most maxSegs).
type scratch struct {
	segs []seg
	iov  [][]byte
	vec  iovecs
	// discard takes what an idle listener's client sent (see hungUp);
	// made on first use, as most scratches never probe.
	discard []byte
}

// discardBuf returns the scratch's buffer for bytes read and thrown away.
func (sc *scratch) discardBuf() []byte {
	if sc.discard == nil {
		sc.discard = make([]byte, 512)
	}
	return sc.discard
}

func newScratch() *scratch {
	const n = 32 // a tick needs 1–4 pieces; a 64 KiB burst with ICY about 26
	return &scratch{segs: make([]seg, 0, n), iov: make([][]byte, 0, n), vec: make(iovecs, 0, n)}
}

// keep holds on to what append grew segs to and makes iov and vec as
// large, so no later write of as many pieces allocates.
func (sc *scratch) keep(segs []seg) {
	sc.segs = segs[:0]
	if n := cap(segs); cap(sc.iov) < n {
		sc.iov = make([][]byte, 0, n)
		sc.vec = make(iovecs, 0, n)
	}
}

// errFellBehind marks a listener whose cursor left the ring.
var (
	errFellBehind   = errors.New("fell behind the buffer")
	errWriteTimeout = errors.New("no progress within the write timeout")
	errShutdown     = errors.New("server shutting down")
	// errHungUp: the client closed its side while nothing was written to
	// it (an idle station); a write would have found it out too.
	errHungUp = errors.New("client hung up")
	// errKicked: an admin asked for the listener to go (KickListener).
	errKicked = errors.New("removed by an admin")
	// errMoved marks a listener leaving its shard for another station's
	// (MoveListeners); it is not closed.
	errMoved = errors.New("moved to another station")
)

// flush writes everything the listener has not yet got, up to flushLimit,
// in one non-blocking writev. A full socket just leaves the rest for the
// next tick. It returns an error when the listener must be dropped.
//
// check is set on the shard's periodic round: a listener that then has
// nothing to write and was written nothing since the previous round (its
// station publishes nothing) has its socket read without waiting, so a
// client that hung up is found; otherwise only a failed write finds it,
// and an idle station writes nothing.
func (l *listener) flush(r *Ring, sc *scratch, now time.Time, timeout time.Duration, check bool) error {
	idle := false
	if check {
		idle, l.wrote = !l.wrote, false
	}
	if l.blk == nil {
		if l.blk = r.Head(); l.blk == nil && len(l.head) == 0 {
			if idle {
				return l.sock.hungUp(sc.discardBuf())
			}
			return nil
		}
	}
	if l.blk != nil && r.Fell(l.blk) {
		return errFellBehind
	}
	budget := flushLimit
	if l.moveTo.Load() != nil {
		// A move waits for a frame boundary: write up to it, no further.
		budget = l.frameRest()
	}
	segs := l.planUpTo(sc, budget)
	if len(segs) == 0 {
		l.lastProgress = now
		l.updateDelay(now)
		if idle {
			return l.sock.hungUp(sc.discardBuf())
		}
		return nil
	}
	iov := sc.iov[:0]
	for _, s := range segs {
		iov = append(iov, s.b)
	}
	n, err := l.sock.writev(iov, sc.vec)
	clear(iov) // drop references to old blocks held in the scratch
	if n > 0 {
		l.commit(segs, n)
		l.lastProgress = now
		l.sent.Add(int64(n))
		l.wrote = true
	}
	clear(segs)
	if err != nil {
		return err
	}
	if now.Sub(l.lastProgress) > timeout {
		return errWriteTimeout
	}
	l.updateDelay(now)
	return nil
}

// plan lists the pieces of the next write without changing the listener
// (only sc, which keeps the room the list needed).
func (l *listener) plan(sc *scratch) []seg { return l.planUpTo(sc, flushLimit) }

// planUpTo is plan with at most budget bytes of audio; the head and an
// unfinished metadata block go out whatever the budget.
func (l *listener) planUpTo(sc *scratch, budget int) []seg {
	segs := sc.segs[:0]
	if len(l.head) > 0 {
		segs = append(segs, seg{b: l.head, kind: segHead})
	}
	p := l.icy // planning runs on a copy; commit replays what was written
	if rest := p.Remaining(); rest != nil {
		segs = append(segs, seg{b: rest, meta: rest, kind: segMeta})
		p.Meta(len(rest))
	}
	blk, off := l.blk, l.off
	for blk != nil && budget > 0 && len(segs) < maxSegs-2 {
		for off < len(blk.Data) && budget > 0 && len(segs) < maxSegs-2 {
			n := min(len(blk.Data)-off, budget)
			if p.Enabled() {
				n = min(n, p.Room())
			}
			segs = append(segs, seg{b: blk.Data[off : off+n], blk: blk, end: off + n, kind: segAudio})
			p.Audio(n)
			off += n
			budget -= n
			if p.Enabled() && p.Room() == 0 {
				// The block after the boundary carries the title of the audio
				// just before it: a title changes once the listener has the
				// first byte of the new track, never earlier.
				m := p.Begin(blk.Track.Meta)
				segs = append(segs, seg{b: m, meta: blk.Track.Meta, kind: segMeta})
				p.Meta(len(m))
			}
		}
		if off < len(blk.Data) {
			break
		}
		next := blk.Next()
		if next == nil {
			break
		}
		blk, off = next, 0
	}
	sc.keep(segs)
	return segs
}

// commit advances the listener by n written bytes, replaying plan's steps.
func (l *listener) commit(segs []seg, n int) {
	for _, s := range segs {
		if n == 0 {
			return
		}
		k := min(n, len(s.b))
		n -= k
		switch s.kind {
		case segHead:
			if l.head = l.head[k:]; len(l.head) == 0 {
				// An empty reslice would pin the head's whole buffer for
				// the listener's lifetime: let it go.
				l.head = nil
			}
		case segAudio:
			l.blk, l.off = s.blk, s.end-len(s.b)+k
			l.icy.Audio(k)
		case segMeta:
			if l.icy.Remaining() == nil {
				l.icy.Begin(s.meta)
			}
			l.icy.Meta(k)
		}
	}
}

// frameRest is how many audio bytes are left of the frame the cursor is
// in: 0 on a frame boundary (or before the first block).
func (l *listener) frameRest() int {
	b := l.blk
	if b == nil || l.off >= len(b.Data) {
		return 0
	}
	i, found := slices.BinarySearch(b.Frames, int32(l.off))
	switch {
	case found:
		return 0
	case i < len(b.Frames):
		return int(b.Frames[i]) - l.off
	}
	return len(b.Data) - l.off
}

// movable reports whether the listener may change rings now: its head is
// out, no metadata block is half sent, and its cursor is on a frame
// boundary, so the other station's frames follow whole ones.
func (l *listener) movable() bool {
	return len(l.head) == 0 && l.icy.Remaining() == nil && l.frameRest() == 0
}

// info describes the listener; sent may be read from any goroutine.
func (l *listener) info() ListenerInfo {
	info := ListenerInfo{ID: l.id, Remote: l.Remote, Connected: l.joined, BytesSent: l.sent.Load()}
	if l.ua != (unique.Handle[string]{}) {
		info.UserAgent = l.ua.Value()
	}
	return info
}

func (l *listener) updateDelay(now time.Time) {
	d := l.joinDelay
	if l.blk != nil && l.off < len(l.blk.Data) {
		// Unsent audio: the listener is at least this far behind.
		frac := time.Duration(int64(len(l.blk.Frames)) * int64(l.blk.FrameDur) * int64(l.off) / int64(len(l.blk.Data)))
		d = max(d, now.Sub(l.blk.Due.Add(frac)))
	}
	l.delay.Store(int64(d))
}

// isDisconnect tells ordinary hang-ups from errors worth reporting.
func isDisconnect(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, errFellBehind) || errors.Is(err, errWriteTimeout) || errors.Is(err, errShutdown) ||
		errors.Is(err, errHungUp) || errors.Is(err, errKicked)
}
