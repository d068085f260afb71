package mount

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/tcolgate/mp3"
)

// MirrorSource plays what another station publishes: its frames, with its
// titles. A station without a folder puts one last in its source list to
// fall back to another route (Icecast's fallback-mount): while nothing is
// live its listeners hear the other station, and when a show starts they
// hear the show, on the same connection, because the switch happens in
// their own station's ring like any other source switch.
//
// The mirror reads the other station's ring from the start of its newest
// block, so it plays the same audio about one publish interval later, on
// the same clock: no drift, no buffer to grow. Each title of the other
// station is a Track of its own here too, so titles change when heard.
type MirrorSource struct {
	// Station returns the station to mirror, or nil while it does not run
	// yet (stations start in configuration order). Required.
	Station func() *Station

	mu  sync.Mutex
	ctx context.Context // Run's; ends a waiting Frames.Next
	at  *Block          // next block to read from; nil: start at the tail
	off int             // frame index in at
	out bool            // a track is with the station
	// cont: the last track ended at the other station's title change, so
	// the next one continues at at; otherwise it starts at the newest block.
	cont bool
	// played is the newest block a track of ours read from: a new track
	// never starts on it again (an idle station's tail would otherwise
	// play over and over).
	played *Block
}

// Run tells the station whenever the mirrored station has audio while no
// mirror track is playing. It returns when ctx ends.
func (m *MirrorSource) Run(ctx context.Context, f *Feed) {
	m.mu.Lock()
	m.ctx = ctx
	m.mu.Unlock()
	for {
		st := m.Station()
		var changed <-chan struct{}
		if st != nil {
			changed = st.published.wait()
			if st.ring.Tail() != nil && !st.idle.Load() {
				m.mu.Lock()
				out := m.out
				m.mu.Unlock()
				if !out {
					f.Ready()
				}
			}
		} else {
			// The other station is not built yet; look again shortly.
			t := time.NewTimer(100 * time.Millisecond)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
			continue
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return
		}
	}
}

// Next returns a track continuing where the last one ended (at the other
// station's title change), or starting at its newest block.
func (m *MirrorSource) Next() *Track {
	st := m.Station()
	if st == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.out || m.ctx == nil {
		return nil
	}
	r := st.ring
	if st.idle.Load() {
		return nil // nothing on the air there: nothing here either
	}
	if !m.cont || m.at == nil || r.Fell(m.at) {
		m.at, m.off, m.cont = r.Tail(), 0, false
		if m.at != nil && m.at == m.played {
			m.at = nil // heard already: wait for the next block (Run calls Ready)
		}
	}
	for m.at != nil && m.off >= len(m.at.Frames) {
		m.at, m.off = m.at.Next(), 0
	}
	if m.at == nil || m.at.Track == nil {
		return nil
	}
	src := m.at.Track
	info := *src
	info.Started = time.Time{}
	m.out, m.cont = true, false
	fr := &mirrorFrames{m: m, st: st, track: src}
	return &Track{Info: &info, Frames: fr, Closer: fr}
}

// mirrorFrames is one title's run of the mirrored station's frames.
type mirrorFrames struct {
	m     *MirrorSource
	st    *Station
	track *TrackInfo // the other station's, to see its title change
	done  bool
}

// Next returns the next frame of the other station; io.EOF when its title
// changes, when it goes idle, or when Run's ctx ends.
func (f *mirrorFrames) Next() (Frame, error) {
	m := f.m
	for {
		m.mu.Lock()
		b, i, ctx := m.at, m.off, m.ctx
		m.mu.Unlock()
		if b == nil || f.done {
			return Frame{}, io.EOF
		}
		if f.st.ring.Fell(b) {
			// So far behind that the block was dropped: rejoin at the
			// newest block (a title change there ends this track).
			if b = f.st.ring.Tail(); b == nil {
				return Frame{}, io.EOF
			}
			i = 0
		}
		if b.Track != f.track {
			m.mu.Lock()
			m.at, m.off, m.cont = b, i, true
			m.mu.Unlock()
			return Frame{}, io.EOF
		}
		if i < len(b.Frames) {
			m.mu.Lock()
			m.at, m.off, m.played = b, i+1, b
			m.mu.Unlock()
			return blockFrame(b, i), nil
		}
		// This block is read: the next one, or wait for it.
		changed := f.st.published.wait()
		if n := b.Next(); n != nil {
			m.mu.Lock()
			m.at, m.off = n, 0
			m.mu.Unlock()
			continue
		}
		if f.st.idle.Load() {
			return Frame{}, io.EOF
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return Frame{}, io.EOF
		}
	}
}

func (f *mirrorFrames) realTime() {}

// Close hands the position back to the source for the next track.
func (f *mirrorFrames) Close() error {
	f.done = true
	f.m.mu.Lock()
	f.m.out = false
	f.m.mu.Unlock()
	return nil
}

// blockFrame is frame i of b as a Frame.
func blockFrame(b *Block, i int) Frame {
	end := len(b.Data)
	if i+1 < len(b.Frames) {
		end = int(b.Frames[i+1])
	}
	data := b.Data[b.Frames[i]:end]
	h := mp3.FrameHeader(data[:4])
	ch := 2
	if h.ChannelMode() == mp3.SingleChannel {
		ch = 1
	}
	samples := 1152
	switch {
	case h.Layer() == mp3.Layer1:
		samples = 384
	case h.Layer() == mp3.Layer3 && h.Version() != mp3.MPEG1:
		samples = 576
	}
	return Frame{
		Data:       data,
		Samples:    samples,
		SampleRate: int(h.SampleRate()),
		Bitrate:    int(h.BitRate()),
		Channels:   ch,
	}
}
