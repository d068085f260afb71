package ingest

import (
	"io"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
)

// icyStripper removes the ICY metadata blocks a source interleaves every
// metaint bytes (it sent icy-metaint) and passes their titles on, as
// Icecast does: listeners get the audio alone and the title in their own
// metadata.
type icyStripper struct {
	r       io.Reader
	metaint int
	until   int // audio bytes before the next block
	onTitle func(string)
	last    string
	block   [icy.MaxBlockLen]byte
}

func (s *icyStripper) Read(p []byte) (int, error) {
	for s.until == 0 {
		if err := s.readBlock(); err != nil {
			return 0, err
		}
		s.until = s.metaint
	}
	if len(p) > s.until {
		p = p[:s.until]
	}
	n, err := s.r.Read(p)
	s.until -= n
	return n, err
}

func (s *icyStripper) readBlock() error {
	if _, err := io.ReadFull(s.r, s.block[:1]); err != nil {
		return err
	}
	n := 1 + int(s.block[0])*16
	if _, err := io.ReadFull(s.r, s.block[1:n]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	title, _, err := icy.ParseMetaBlock(s.block[:n])
	if err == nil && title != "" && title != s.last {
		s.last = title
		s.onTitle(title)
	}
	return nil
}
