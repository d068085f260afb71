package icy

import "io"

// Demuxer strips the ICY metadata blocks out of a stream that interleaves
// them every metaint bytes (an upstream's body, a source client that sent
// icy-metaint): Read returns audio only, and each new StreamTitle goes to
// onTitle before the audio that follows its block, so the title changes
// where the sender put it. Blocks may be split across any number of reads.
// It is the one ICY demultiplexer: relays and live sources both use it.
type Demuxer struct {
	r       io.Reader
	metaint int // audio bytes between blocks, > 0
	until   int // audio bytes before the next block
	onTitle func(string)
	last    string // last title passed on; repeats are not
	block   [MaxBlockLen]byte
}

// NewDemuxer reads r, whose first metadata block follows its first metaint
// (> 0) bytes of audio; onTitle may be nil.
func NewDemuxer(r io.Reader, metaint int, onTitle func(string)) *Demuxer {
	return &Demuxer{r: r, metaint: metaint, until: metaint, onTitle: onTitle}
}

// Read implements io.Reader. The body ending on a block boundary is a clean
// io.EOF; ending inside a block is io.ErrUnexpectedEOF.
func (d *Demuxer) Read(p []byte) (int, error) {
	if d.until == 0 {
		if err := d.readBlock(); err != nil {
			return 0, err
		}
	}
	if len(p) > d.until {
		p = p[:d.until]
	}
	n, err := d.r.Read(p)
	d.until -= n
	return n, err
}

// readBlock reads one metadata block (length byte, then 16 bytes a row).
func (d *Demuxer) readBlock() error {
	if _, err := io.ReadFull(d.r, d.block[:1]); err != nil {
		return err
	}
	n := 1 + int(d.block[0])*16
	if _, err := io.ReadFull(d.r, d.block[1:n]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	d.until = d.metaint
	// Empty blocks say "unchanged"; a block without a StreamTitle
	// (StreamUrl only) or with an empty one changes nothing either.
	title, _, err := ParseMetaBlock(d.block[:n])
	if err != nil || title == "" || title == d.last {
		return nil
	}
	d.last = title
	if d.onTitle != nil {
		d.onTitle(title)
	}
	return nil
}
