package main

import (
	"github.com/aposazhennikov/stream-audio-to-web/icy"
)

// icyStripper removes ICY metadata blocks from a response body, as a player
// does: metaint audio bytes, one length byte L, L*16 bytes of metadata, and
// again. Audio is compacted in place; only block boundaries cost anything.
type icyStripper struct {
	metaint  int
	until    int // audio bytes before the next length byte
	metaLeft int // bytes of the current block still to come
	block    []byte

	blocks int    // non-empty blocks received
	bad    int    // non-empty blocks without a StreamTitle
	title  string // last title received
}

func newICYStripper(metaint int) *icyStripper {
	return &icyStripper{metaint: metaint, until: metaint}
}

// strip removes the metadata from b and returns the audio, which shares b's
// memory.
func (s *icyStripper) strip(b []byte) []byte {
	w := 0
	for i := 0; i < len(b); {
		switch {
		case s.metaLeft > 0:
			k := min(s.metaLeft, len(b)-i)
			s.block = append(s.block, b[i:i+k]...)
			s.metaLeft -= k
			i += k
			if s.metaLeft == 0 {
				s.endBlock()
			}
		case s.until == 0:
			s.metaLeft = int(b[i]) * 16
			s.until = s.metaint
			if s.metaLeft > 0 {
				s.block = append(s.block[:0], b[i])
			}
			i++
		default:
			k := min(s.until, len(b)-i)
			if w != i {
				copy(b[w:], b[i:i+k])
			}
			w += k
			i += k
			s.until -= k
		}
	}
	return b[:w]
}

func (s *icyStripper) endBlock() {
	s.blocks++
	title, _, err := icy.ParseMetaBlock(s.block)
	if err != nil {
		s.bad++
	} else {
		s.title = title
	}
	s.block = s.block[:0]
}
