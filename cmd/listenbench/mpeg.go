package main

// MPEG audio frame headers, read the way a player's demuxer does: enough to
// tell a real frame start from junk and to follow the stream frame by frame.

// header is the 4 bytes that start an MPEG audio frame.
type header [4]byte

// version: 0 = MPEG 2.5, 1 = reserved, 2 = MPEG 2, 3 = MPEG 1.
func (h header) version() int { return int(h[1]>>3) & 3 }

// layer: 0 = reserved, 1 = Layer III, 2 = Layer II, 3 = Layer I.
func (h header) layer() int    { return int(h[1]>>1) & 3 }
func (h header) brIndex() int  { return int(h[2] >> 4) }
func (h header) srIndex() int  { return int(h[2]>>2) & 3 }
func (h header) padding() bool { return h[2]&2 != 0 }

// valid reports whether h is a frame header a player would accept: sync,
// no reserved version/layer/sample rate/emphasis, no free or bad bitrate.
func (h header) valid() bool {
	return h[0] == 0xFF && h[1]&0xE0 == 0xE0 && h.version() != 1 && h.layer() != 0 &&
		h.brIndex() != 0 && h.brIndex() != 15 && h.srIndex() != 3 && h[3]&3 != 2
}

// kind is what stays the same from frame to frame of one stream.
func (h header) kind() uint16 { return uint16(h[1]&0x1E)<<8 | uint16(h[2]&0x0C) }

var bitrates = [2][3][15]int{
	{ // MPEG 1: Layer I, II, III
		{0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448},
		{0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384},
		{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320},
	},
	{ // MPEG 2 and 2.5: Layer I, II, III
		{0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256},
		{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
		{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
	},
}

// kbps is the bitrate of a valid header.
func (h header) kbps() int {
	v := 0
	if h.version() != 3 {
		v = 1
	}
	return bitrates[v][3-h.layer()][h.brIndex()]
}

// sampleRate is the sampling rate of a valid header in Hz.
func (h header) sampleRate() int {
	r := [3]int{44100, 48000, 32000}[h.srIndex()]
	switch h.version() {
	case 2:
		return r / 2
	case 0:
		return r / 4
	}
	return r
}

// size is the length of the frame a valid header starts, header included.
func (h header) size() int {
	br, sr, pad := h.kbps()*1000, h.sampleRate(), 0
	if h.padding() {
		pad = 1
	}
	switch {
	case h.layer() == 3:
		return (12*br/sr + pad) * 4
	case h.layer() == 1 && h.version() != 3:
		return 72*br/sr + pad
	}
	return 144*br/sr + pad
}

// durationNs is the audio time of a valid header's frame in ns.
func (h header) durationNs() int64 {
	samples := int64(1152)
	switch {
	case h.layer() == 3:
		samples = 384
	case h.layer() == 1 && h.version() != 3:
		samples = 576
	}
	return samples * 1e9 / int64(h.sampleRate())
}

// frameWalker follows a stream of audio bytes frame by frame, with no
// per-byte work while in sync: it reads a header, skips the frame body, and
// so on. A frame counts once the header after it confirms it, as players'
// demuxers do; losing sync after that is a resync.
type frameWalker struct {
	hdr  header
	hn   int   // header bytes collected
	skip int   // bytes of the current frame's body still to pass over
	pos  int64 // stream offset of the next byte

	run      int   // frames in a row, each header valid (and, for the second, the same kind)
	runStart int64 // offset of the run's first frame
	runKbps  int
	kind     uint16

	confirmed bool  // a run of 2 has been seen at least once
	firstRun  int64 // offset of the first confirmed run: 0 means the stream began on a frame
	kbps      int   // bitrate of that run's first frame
	resyncs   int   // times sync was lost after being confirmed

	// With tagging on, the walker reads each frame's bytes tagOff..tagEnd
	// (see latency.go) and appends a mark per frame to marks, for the
	// caller to take.
	tagging bool
	fsize   int   // size of the current frame
	fplay   int64 // audio time in the stream before the current frame, ns
	playNs  int64 // audio time of every frame that started so far, ns
	tag     [tagEnd - tagOff]byte
	marks   []mark
}

// feed walks b, the next audio bytes of the stream.
func (w *frameWalker) feed(b []byte) {
	for len(b) > 0 {
		if w.skip > 0 {
			k := min(w.skip, len(b))
			if w.tagging {
				w.capture(b[:k])
			}
			w.skip -= k
			w.pos += int64(k)
			b = b[k:]
			continue
		}
		if w.hn == 0 && len(b) >= 4 {
			copy(w.hdr[:], b[:4])
			w.hn = 4
			b = b[4:]
			w.pos += 4
		} else {
			w.hdr[w.hn] = b[0]
			w.hn++
			b = b[1:]
			w.pos++
			if w.hn < 4 {
				continue
			}
		}
		w.onHeader()
	}
}

func (w *frameWalker) onHeader() {
	h := w.hdr
	at := w.pos - 4
	switch {
	case h.valid() && (w.run != 1 || h.kind() == w.kind):
		if w.run == 0 {
			w.runStart, w.runKbps = at, h.kbps()
		}
		w.run++
		w.kind = h.kind()
		if w.run == 2 && !w.confirmed {
			w.confirmed, w.firstRun, w.kbps = true, w.runStart, w.runKbps
		}
		w.startFrame(h)
		return
	case w.run >= 2:
		w.resyncs++
	}
	if h.valid() { // a new candidate after a false or lost sync
		w.run, w.runStart, w.runKbps, w.kind = 1, at, h.kbps(), h.kind()
		w.startFrame(h)
		return
	}
	// Not a header: look one byte further (the only per-byte work, and
	// only while out of sync).
	w.run = 0
	copy(w.hdr[:], w.hdr[1:])
	w.hn = 3
}

// startFrame begins the body of the frame whose header h was just read.
func (w *frameWalker) startFrame(h header) {
	w.fsize = h.size()
	w.skip, w.hn = w.fsize-4, 0
	w.fplay = w.playNs
	w.playNs += h.durationNs()
}

// capture takes the tag bytes out of b, the current frame's next body
// bytes, and marks the frame once its tag is complete.
func (w *frameWalker) capture(b []byte) {
	off := w.fsize - w.skip // b[0]'s offset in the frame
	lo, hi := max(off, tagOff), min(off+len(b), tagEnd)
	if lo >= hi {
		return
	}
	copy(w.tag[lo-tagOff:], b[lo-off:hi-off])
	if hi == tagEnd {
		seq, sent, ok := parseTag(w.tag[:])
		w.marks = append(w.marks, mark{seq: seq, sent: sent, play: w.fplay, tagged: ok})
	}
}

// frameStart reports whether the stream's first byte began a confirmed frame.
func (w *frameWalker) frameStart() bool { return w.confirmed && w.firstRun == 0 }
