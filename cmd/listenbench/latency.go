package main

import (
	"encoding/binary"
	"slices"
)

// Frames pushed by --source carry a tag in their main-data area, which a
// decoder ignores (part2_3_length is 0, so no bit of it is read):
//
//	bytes 40..44  sequence number, big endian (where internal/testmedia's
//	              FramesFrom puts its frame index)
//	bytes 44..48  tagMagic
//	bytes 48..56  send time, ns since the run's base, big endian
//
// Bytes 36..40 stay zero: a "Xing" or "Info" there would make the frame a
// LAME header frame, which servers drop.
const (
	tagOff   = 40
	tagEnd   = 56
	tagMagic = "LBSQ"
)

// putTag writes the tag into a frame of at least tagEnd bytes.
func putTag(frame []byte, seq uint32, sent int64) {
	binary.BigEndian.PutUint32(frame[tagOff:], seq)
	copy(frame[tagOff+4:], tagMagic)
	binary.BigEndian.PutUint64(frame[tagOff+8:], uint64(sent))
}

// parseTag reads the tag from the frame's bytes tagOff..tagEnd; ok is false
// for a frame that carries none (the server's silence, a folder's audio).
func parseTag(b []byte) (seq uint32, sent int64, ok bool) {
	if len(b) < tagEnd-tagOff || string(b[4:8]) != tagMagic {
		return 0, 0, false
	}
	return binary.BigEndian.Uint32(b), int64(binary.BigEndian.Uint64(b[8:])), true
}

// mark is one frame a tagging walker finished reading the tag of.
type mark struct {
	seq    uint32
	sent   int64 // ns since base; valid if tagged
	play   int64 // ns of audio in the stream before this frame
	tagged bool
}

// latSample is one tagged frame received inside the window by a sampled
// listener.
type latSample struct {
	at      int64 // received, ns since base
	wire    int64 // received − sent
	audible int64 // (first byte + play offset) − sent: when a player that starts at its first byte plays it
}

// latState is what a sampled listener records.
type latState struct {
	samples  []latSample
	untagged int    // frames in the window without a tag (silence the server filled in)
	missing  int64  // sequence numbers skipped (frames the server dropped)
	reorder  int    // a sequence number not above the last one
	late     int    // frames received after a player would have played them
	lastSeq  uint32 // of the last tagged frame
	haveSeq  bool
	firstSeq uint32 // first tagged frame this listener got (its join point)
}

// onMark accounts one frame's tag, received at t by a listener whose first
// body byte came at first; inWindow says whether t is in the steady window.
func (s *latState) onMark(m mark, t, first int64, inWindow bool) {
	if !m.tagged {
		if inWindow {
			s.untagged++
		}
		return
	}
	if !s.haveSeq {
		s.firstSeq = m.seq
	} else if inWindow {
		switch {
		case m.seq > s.lastSeq+1:
			s.missing += int64(m.seq - s.lastSeq - 1)
		case m.seq <= s.lastSeq:
			s.reorder++
		}
	}
	s.lastSeq, s.haveSeq = m.seq, true
	if !inWindow {
		return
	}
	playAt := first + m.play
	if t > playAt {
		s.late++
	}
	s.samples = append(s.samples, latSample{at: t, wire: t - m.sent, audible: playAt - m.sent})
}

// LatDist is a latency distribution in milliseconds.
type LatDist struct {
	Min float64 `json:"min"`
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
	N   int     `json:"n"`
}

func latDist(v []float64) LatDist {
	if len(v) == 0 {
		return LatDist{}
	}
	slices.Sort(v)
	return LatDist{
		Min: round(v[0], 1), P50: round(percentile(v, 50), 1), P90: round(percentile(v, 90), 1),
		P99: round(percentile(v, 99), 1), Max: round(v[len(v)-1], 1), N: len(v),
	}
}

// LatencyReport is source-to-listener latency over the steady window, from
// the tagged frames --source pushed, at a sample of listeners.
type LatencyReport struct {
	Listeners int `json:"sampled_listeners"`
	// Wire: a frame's arrival at the listener − its write by the source.
	WireMs LatDist `json:"wire_ms"`
	// Audible: when a player that starts playing at its first byte (and
	// never stalls) plays the frame − its write by the source. Constant
	// per listener unless the server drops or inserts frames; it adds
	// the burst (how far behind live the listener joined) to the wire
	// latency at the join.
	AudibleMs LatDist `json:"audible_ms"`
	// WireP50ByTenth is the wire latency's median in each tenth of the
	// window, over all sampled listeners: flat if nothing drifts.
	WireP50ByTenth []float64 `json:"wire_p50_by_tenth_ms"`
	Untagged       int       `json:"untagged_frames"` // frames without a tag in the window: silence the server filled in
	Missing        int64     `json:"missing_frames"`  // tagged frames skipped: dropped by the server
	Reorder        int       `json:"reordered_frames"`
	Late           int       `json:"late_frames"` // arrived after a player starting at its first byte would play them
}

// latencyReport merges the sampled listeners' records; ws and we bound the
// window (ns since base).
func latencyReport(states []*latState, ws, we int64) *LatencyReport {
	rep := &LatencyReport{Listeners: len(states)}
	var wire, audible []float64
	tenths := make([][]float64, 10)
	for _, s := range states {
		rep.Untagged += s.untagged
		rep.Missing += s.missing
		rep.Reorder += s.reorder
		rep.Late += s.late
		for _, x := range s.samples {
			wire = append(wire, ms(x.wire))
			audible = append(audible, ms(x.audible))
			if we > ws {
				i := min(max(int(10*(x.at-ws)/(we-ws)), 0), 9)
				tenths[i] = append(tenths[i], ms(x.wire))
			}
		}
	}
	rep.WireMs, rep.AudibleMs = latDist(wire), latDist(audible)
	for _, v := range tenths {
		slices.Sort(v)
		rep.WireP50ByTenth = append(rep.WireP50ByTenth, round(percentile(v, 50), 1))
	}
	return rep
}

// sampled says whether listener i of n is one of about k spread evenly
// over the ramp (so early and late joiners both count).
func sampled(i, n, k int) bool {
	if k <= 0 || n <= 0 {
		return false
	}
	if k >= n {
		return true
	}
	step := n / k
	return i%step == 0 && i/step < k
}
