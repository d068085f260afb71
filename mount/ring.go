package mount

import (
	"sync/atomic"
	"time"
)

// TrackInfo describes the track a block's audio belongs to. It is created
// once per track play and never changed, so listeners share it freely.
type TrackInfo struct {
	Rel     string // path relative to the station folder; "" if not from a file
	Path    string // "" if not from a file
	Artist  string
	Title   string
	Display string // "Artist - Title", or the file name
	Meta    []byte // the pre-encoded ICY metadata block for Display
	// Bitrate (kbit/s), SampleRate and Channels are read from the first
	// frame, for icy-br and status pages.
	Bitrate    int
	SampleRate int
	Channels   int
	// Started is when the track's first frame was due (live edge time).
	Started time.Time
	// Duration is how long the track plays from Started, when known: a
	// file's, estimated from its size and bitrate (or its Xing frame
	// count), less what silence trimming skips; 0 when not known (a live
	// stream, a file ffmpeg encodes).
	Duration time.Duration
	// Kind says why a folder track plays: "" (the folder's or a show's
	// order), KindJingle or KindRequest (see Pick).
	Kind string
	// Show names the schedule slot the track was picked for; "" outside
	// any.
	Show string
}

// Block is a run of whole frames of one track, published at once. Once in
// the ring it is immutable: listeners write it to their sockets straight
// from this memory, without copying or locking.
type Block struct {
	Data     []byte
	Frames   []int32 // offsets of frame starts in Data; Frames[0] == 0
	FrameDur time.Duration
	Due      time.Time // when the first frame is due on the live edge
	Seq      uint64
	Track    *TrackInfo
	// SyncFrame is, on a clock-synced station (ClockSource), the global
	// index of the first frame on the station's FrameClock (frames since
	// the Unix epoch): frame i of the block is SyncFrame+i on every
	// instance, and Due is exactly FrameClock.Time(SyncFrame). 0 on other
	// stations (no instant since 1970 has frame 0 on the air).
	SyncFrame int64

	next atomic.Pointer[Block]
}

// Next returns the block published after b, or nil.
func (b *Block) Next() *Block { return b.next.Load() }

// End is when the block's last frame finishes on the live edge.
func (b *Block) End() time.Time { return b.Due.Add(time.Duration(len(b.Frames)) * b.FrameDur) }

// Ring is a station's shared buffer: a chain of immutable blocks holding at
// most Limit bytes. One goroutine appends; any number read concurrently.
// Old blocks fall off the head and are freed by the garbage collector once
// the last lagging reader lets go; a reader whose block fell off is dropped.
type Ring struct {
	limit int
	head  atomic.Pointer[Block]
	tail  atomic.Pointer[Block]
	size  int // bytes from head to tail; appender only
	seq   uint64
}

// NewRing returns an empty ring holding up to limit bytes.
func NewRing(limit int) *Ring { return &Ring{limit: limit} }

// Append publishes b (Seq is assigned here) and trims the head.
func (r *Ring) Append(b *Block) {
	r.seq++
	b.Seq = r.seq
	r.size += len(b.Data)
	if t := r.tail.Load(); t != nil {
		t.next.Store(b)
	} else {
		r.head.Store(b)
	}
	r.tail.Store(b)
	for h := r.head.Load(); r.size > r.limit && h != b; h = r.head.Load() {
		r.size -= len(h.Data)
		r.head.Store(h.Next())
	}
}

// Head returns the oldest block still held, or nil when empty.
func (r *Ring) Head() *Block { return r.head.Load() }

// Tail returns the newest block, or nil when empty.
func (r *Ring) Tail() *Block { return r.tail.Load() }

// Fell reports whether a reader positioned in b has been overtaken.
func (r *Ring) Fell(b *Block) bool {
	h := r.head.Load()
	return h != nil && b.Seq < h.Seq
}

// JoinPoint is where a new listener starts: the frame boundary nearest to
// the audio that was live delay ago, so every listener is the same time
// behind live whenever it joins, and its first byte is a frame sync. With
// delay 0 (or an empty ring) the listener starts at the live edge.
func (r *Ring) JoinPoint(now time.Time, delay time.Duration) (b *Block, off int) {
	tail := r.tail.Load()
	if tail == nil {
		return nil, 0
	}
	target := now.Add(-delay)
	if delay <= 0 || !target.Before(tail.End()) {
		return tail, len(tail.Data)
	}
	b = r.head.Load()
	for n := b.Next(); n != nil && !n.Due.After(target); n = n.Next() {
		b = n
	}
	if target.Before(b.Due) { // the ring holds less than delay of audio
		return b, 0
	}
	i := int((target.Sub(b.Due) + b.FrameDur/2) / b.FrameDur)
	if i >= len(b.Frames) {
		if n := b.Next(); n != nil {
			return n, 0
		}
		return b, len(b.Data)
	}
	return b, int(b.Frames[i])
}

// BurstDelay converts a burst given in bytes into audio time at the rate of
// the newest block, so byte and time settings join listeners the same way.
// It is a whole number of frames: padding makes a CBR block a byte longer
// or shorter now and then, and a delay that moved with it would move every
// "now playing" time with it (and wake every /events page).
func (r *Ring) BurstDelay(bytes int) time.Duration {
	t := r.tail.Load()
	if t == nil || len(t.Data) == 0 {
		return 0
	}
	return framesTime(bytes, len(t.Frames), len(t.Data), t.FrameDur)
}

// framesTime converts bytes into a whole number of frames' time at the
// rate of a block of frames frames in size bytes.
func framesTime(bytes, frames, size int, frameDur time.Duration) time.Duration {
	n := (int64(bytes)*int64(frames) + int64(size)/2) / int64(size)
	return time.Duration(n) * frameDur
}

// TrackAt returns the track whose audio was on the live edge at t: with t
// = now - burst delay, the track listeners hear now.
func (r *Ring) TrackAt(t time.Time) *TrackInfo {
	b := r.head.Load()
	if b == nil {
		return nil
	}
	for n := b.Next(); n != nil && !n.Due.After(t); n = n.Next() {
		b = n
	}
	return b.Track
}
