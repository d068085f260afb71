package mount

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/tcolgate/mp3"

	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// Frame is one MPEG audio frame. Data is only valid until the next call to
// FrameReader.Next; the station copies it into a block.
type Frame struct {
	Data       []byte
	Samples    int // samples per channel in this frame (1152 or 576 for Layer III)
	SampleRate int
	Bitrate    int // bits per second from the header
	Channels   int
}

// Duration is the frame's playing time.
func (f Frame) Duration() time.Duration {
	return time.Duration(int64(f.Samples) * int64(time.Second) / int64(f.SampleRate))
}

// ErrNoFrames means a file held no decodable MPEG audio.
var ErrNoFrames = errors.New("no MPEG audio frames found")

// FrameReader yields the audio frames of one MP3 byte stream, leaving out
// everything a listener must not get: ID3v2 tags at the front, junk before
// the first frame, the Xing/Info/VBRI header frame and false frame syncs
// (a frame found after a resync is only trusted when the next header agrees
// with it). Input is read through a small buffer, so memory does not depend
// on the file size.
type FrameReader struct {
	in      *countingReader
	base    int64 // offset of the input's first byte in the file
	br      *bufio.Reader
	dec     *mp3.Decoder
	frame   mp3.Frame
	locked  bool // the stream's version/layer/sample rate are known
	version mp3.FrameVersion
	layer   mp3.FrameLayer
	rate    mp3.FrameSampleRate
	frames  int

	// Skipped counts bytes passed over as tags or junk; Dropped counts valid
	// frames left out (the Xing/Info header frame, mismatching frames).
	Skipped int64
	Dropped int
	// InfoFrames is the number of audio frames the file's Xing/Info header
	// frame says it holds; 0 without one (or without the count).
	InfoFrames int
}

// NewFrameReader reads frames from r, which should hold the audio region of
// a file (see OpenMP3) or an encoder's output.
func NewFrameReader(r io.Reader) *FrameReader {
	in := &countingReader{r: r}
	br := bufio.NewReaderSize(in, 16<<10)
	fr := &FrameReader{in: in, br: br}
	fr.Skipped = skipID3v2(br)
	fr.dec = mp3.NewDecoder(br)
	return fr
}

// Offset is the input position after the last frame returned: where a
// restarted server resumes the track.
func (fr *FrameReader) Offset() int64 { return fr.base + fr.in.n - int64(fr.br.Buffered()) }

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// skipID3v2 discards stacked ID3v2 tags by their declared size: scanning a
// tag for a sync word finds false frames in UTF-16 text and cover art.
func skipID3v2(br *bufio.Reader) int64 {
	var skipped int64
	for {
		h, err := br.Peek(10)
		if err != nil || string(h[:3]) != "ID3" || h[3] == 0xFF || h[4] == 0xFF {
			return skipped
		}
		size := int64(playlist.Syncsafe(h[6:10])) + 10
		if h[5]&0x10 != 0 { // v2.4 footer
			size += 10
		}
		n, _ := br.Discard(int(size))
		skipped += int64(n)
		if int64(n) < size {
			return skipped
		}
	}
}

// Next returns the next audio frame, io.EOF at the end of the stream (a
// truncated last frame is dropped), or ErrNoFrames if the stream ended
// before any frame was found. Other errors come from the underlying reader.
func (fr *FrameReader) Next() (Frame, error) {
	for {
		if err := fr.align(); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				if fr.frames == 0 {
					return Frame{}, ErrNoFrames
				}
				return Frame{}, io.EOF
			}
			return Frame{}, err
		}
		var skipped int
		err := fr.dec.Decode(&fr.frame, &skipped)
		fr.Skipped += int64(skipped)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				if fr.frames == 0 {
					return Frame{}, ErrNoFrames
				}
				return Frame{}, io.EOF
			}
			return Frame{}, err
		}
		h := fr.frame.Header()
		// Header() is a 4-byte window onto the decoder's frame buffer, whose
		// length after Decode is exactly the frame size: reslicing it reads
		// the frame without the allocation Frame.Reader would cost.
		size := fr.frame.Size()
		data := []byte(h)[:size:size]
		if !fr.locked {
			fr.locked = true
			fr.version, fr.layer, fr.rate = h.Version(), h.Layer(), h.SampleRate()
			if isInfoFrame(data) {
				fr.InfoFrames = infoFrameCount(data)
				fr.Dropped++
				continue
			}
		}
		fr.frames++
		ch := 2
		if h.ChannelMode() == mp3.SingleChannel {
			ch = 1
		}
		return Frame{Data: data, Samples: fr.frame.Samples(), SampleRate: int(h.SampleRate()), Bitrate: int(h.BitRate()), Channels: ch}, nil
	}
}

// align discards bytes until the reader stands on a frame the decoder may
// read. While the stream's kind is known and frames follow each other, that
// is one 4-byte check; otherwise (the first frame, or junk in between) a
// candidate is only accepted when the header after it agrees, so false
// syncs in junk, tags and cover art never reach listeners.
func (fr *FrameReader) align() error {
	if b, err := fr.br.Peek(4); err == nil && fr.locked && fr.matches(b) {
		return nil
	}
	want := 4
	for {
		// Judge what has arrived, at least want bytes: a file fills the
		// window at once, and a live stream is not held up until 16 KiB
		// (a second at 128 kbit/s) have come in.
		buf, err := fr.br.Peek(min(max(want, fr.br.Buffered()), fr.br.Size()))
		if err != nil && !errors.Is(err, io.EOF) {
			// A failing source (an encoder's exit reason) beats "no frames".
			return err
		}
		if len(buf) < 4 {
			return io.EOF
		}
		atEOF := err != nil
		need := 0 // bytes the first candidate needs before it can be judged
		for i := 0; i+4 <= len(buf) && need == 0; i++ {
			if buf[i] != 0xFF || !fr.matches(buf[i:]) {
				continue
			}
			size := frameSize(buf[i:])
			next := i + size
			switch {
			case next+4 <= len(buf):
				if !sameKind(buf[i:], buf[next:]) && !isTagStart(buf[next:next+4]) {
					continue
				}
			case atEOF:
				if next > len(buf) {
					continue // a truncated frame is not worth sending
				}
				if next != len(buf) && !isTagStart(buf[next:]) {
					continue
				}
			default:
				// The following header has not arrived: drop what lies
				// before the candidate and wait for it.
				fr.discard(i)
				need = size + 4
				continue
			}
			fr.discard(i)
			return nil
		}
		switch {
		case need > 0:
			want = need
		case atEOF:
			fr.discard(len(buf))
			return io.EOF
		default:
			fr.discard(len(buf) - 3)
			want = 4
		}
	}
}

func (fr *FrameReader) discard(n int) {
	d, _ := fr.br.Discard(n)
	fr.Skipped += int64(d)
}

// matches reports whether b starts a valid Layer II/III header that agrees
// with the stream's kind once that is known. Layer I never appears in .mp3
// files; its header is the classic false sync in UTF-16 BOMs (FF FE).
func (fr *FrameReader) matches(b []byte) bool {
	if !validHeader(b) {
		return false
	}
	h := mp3.FrameHeader(b[:4])
	if !fr.locked {
		return true
	}
	return h.Version() == fr.version && h.Layer() == fr.layer && h.SampleRate() == fr.rate
}

func validHeader(b []byte) bool {
	if len(b) < 4 || b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return false
	}
	h := mp3.FrameHeader(b[:4])
	return h.Version() != mp3.MPEGReserved && (h.Layer() == mp3.Layer3 || h.Layer() == mp3.Layer2) &&
		h.BitRate() > 0 && h.SampleRate() > 0 && h.Emphasis() != mp3.EmphReserved
}

func sameKind(a, b []byte) bool {
	if !validHeader(b) {
		return false
	}
	ha, hb := mp3.FrameHeader(a[:4]), mp3.FrameHeader(b[:4])
	return ha.Version() == hb.Version() && ha.Layer() == hb.Layer() && ha.SampleRate() == hb.SampleRate()
}

// frameSize is the length of a Layer II/III frame from its header.
func frameSize(b []byte) int {
	h := mp3.FrameHeader(b[:4])
	coef := 144
	if h.Layer() == mp3.Layer3 && h.Version() != mp3.MPEG1 {
		coef = 72
	}
	size := coef * int(h.BitRate()) / int(h.SampleRate())
	if h.Pad() {
		size++
	}
	return size
}

func isTagStart(b []byte) bool {
	return bytes.HasPrefix(b, []byte("TAG")) || bytes.HasPrefix(b, []byte("APET")) || bytes.HasPrefix(b, []byte("ID3")) || bytes.HasPrefix(b, []byte("LYRI"))
}

// isInfoFrame reports whether a frame is a Xing/Info/VBRI header frame:
// it decodes as silence and describes a file, not a stream.
func isInfoFrame(frame []byte) bool {
	if len(frame) < 40 {
		return false
	}
	if string(frame[36:40]) == "VBRI" {
		return true
	}
	h := mp3.FrameHeader(frame[:4])
	off := 4
	if h.Protection() {
		off += 2
	}
	mono := h.ChannelMode() == mp3.SingleChannel
	switch {
	case h.Version() == mp3.MPEG1 && !mono:
		off += 32
	case h.Version() == mp3.MPEG1 || !mono:
		off += 17
	default:
		off += 9
	}
	if len(frame) < off+4 {
		return false
	}
	tag := string(frame[off : off+4])
	return tag == "Xing" || tag == "Info"
}

// infoFrameCount reads the frame count of a Xing/Info header frame (its
// flags' bit 0); 0 for a VBRI frame or one without the count.
func infoFrameCount(frame []byte) int {
	for _, tag := range []string{"Xing", "Info"} {
		i := bytes.Index(frame, []byte(tag))
		if i < 0 || len(frame) < i+12 {
			continue
		}
		if frame[i+7]&1 == 0 {
			return 0
		}
		return int(binary.BigEndian.Uint32(frame[i+8 : i+12]))
	}
	return 0
}

// AudioRegion returns where the MPEG data of a file of the given size ends,
// excluding an ID3v1 tag and an APEv2 tag at the end (their bytes contain
// false frame syncs). r must allow reads at any offset.
func AudioRegion(r io.ReaderAt, size int64) (end int64) {
	end = size
	if end >= 128 {
		var tag [3]byte
		if _, err := r.ReadAt(tag[:], end-128); err == nil && string(tag[:]) == "TAG" {
			end -= 128
		}
	}
	if end >= 32 {
		var foot [32]byte
		if _, err := r.ReadAt(foot[:], end-32); err == nil && string(foot[:8]) == "APETAGEX" {
			tagSize := int64(binary.LittleEndian.Uint32(foot[12:16]))
			if binary.LittleEndian.Uint32(foot[20:24])&(1<<31) != 0 {
				tagSize += 32
			}
			if tagSize <= end {
				end -= tagSize
			}
		}
	}
	return end
}

// OpenMP3 opens a file for frame reading, limited to its audio region.
func OpenMP3(path string) (*FrameReader, io.Closer, error) { return OpenMP3At(path, 0) }

// OpenMP3At is OpenMP3 starting at byte offset (resuming after a restart);
// reading resynchronises on the next verified frame.
func OpenMP3At(path string, offset int64) (*FrameReader, io.Closer, error) {
	f, st, err := openRegular(path)
	if err != nil {
		return nil, nil, err
	}
	if st.Size() == 0 {
		f.Close()
		return nil, nil, fmt.Errorf("empty file")
	}
	end := AudioRegion(f, st.Size())
	offset = min(max(offset, 0), end)
	fr := NewFrameReader(io.NewSectionReader(f, offset, end-offset))
	fr.base = offset
	return fr, f, nil
}

// errNotRegular refuses what is not a plain file: reading a FIFO or a
// device would stall the preloader or never end.
var errNotRegular = errors.New("not a regular file")

// openRegular opens path for reading without blocking (a FIFO swapped in
// for a track opens at once instead of waiting for a writer) and returns
// it only if it is a regular file. O_NONBLOCK does not change reads of a
// regular file.
func openRegular(path string) (*os.File, os.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, errNotRegular
	}
	return f, st, nil
}
