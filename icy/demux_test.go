package icy

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"
)

// chunky returns at most sizes[i]+1 bytes on its i-th read (cycling), so
// blocks and audio are cut at every possible place.
type chunky struct {
	data  []byte
	sizes []byte
	i     int
}

func (c *chunky) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(p)
	if len(c.sizes) > 0 {
		n = min(n, int(c.sizes[c.i%len(c.sizes)])+1)
		c.i++
	}
	n = copy(p, c.data[:min(n, len(c.data))])
	c.data = c.data[n:]
	return n, nil
}

// demuxAll reads everything through a demux, bufSize bytes a call.
func demuxAll(data []byte, metaint int, cuts []byte, bufSize int) (audio []byte, titles []string, err error) {
	d := NewDemuxer(&chunky{data: data, sizes: cuts}, metaint, func(t string) { titles = append(titles, t) })
	buf := make([]byte, bufSize)
	for {
		n, err := d.Read(buf)
		audio = append(audio, buf[:n]...)
		if err == io.EOF {
			return audio, titles, nil
		}
		if err != nil {
			return audio, titles, err
		}
	}
}

// splitAll is the demux's reference: the same split done on the whole
// body at once.
func splitAll(data []byte, metaint int) (audio []byte, titles []string, truncated bool) {
	last := ""
	for {
		n := min(metaint, len(data))
		audio = append(audio, data[:n]...)
		data = data[n:]
		if len(data) == 0 {
			return audio, titles, false
		}
		l := 1 + int(data[0])*16
		if len(data) < l {
			return audio, titles, true
		}
		if t, _, err := ParseMetaBlock(data[:l]); err == nil && t != "" && t != last {
			titles = append(titles, t)
			last = t
		}
		data = data[l:]
	}
}

func TestDemuxAcrossReadBoundaries(t *testing.T) {
	const metaint = 7
	audio := bytes.Repeat([]byte("0123456789abcdef"), 5) // 80 bytes: 11 full intervals and 3 bytes
	blocks := [][]byte{
		MetaBlock("Первый — one", UTF8),
		Unchanged(),
		MetaBlock("Первый — one", UTF8), // repeated: not passed on again
		[]byte("\x02StreamUrl='http://x';\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
		MetaBlock("it's two", UTF8),
		MetaBlock("", UTF8), // empty: changes nothing
	}
	var body []byte
	for i := 0; i < len(audio); i += metaint {
		body = append(body, audio[i:min(i+metaint, len(audio))]...)
		if i+metaint <= len(audio) {
			body = append(body, blocks[(i/metaint)%len(blocks)]...)
		}
	}
	wantTitles := []string{"Первый — one", "it's two", "Первый — one", "it's two"}
	for cut := range 40 {
		for _, bufSize := range []int{1, 3, metaint, 100, 5000} {
			gotAudio, gotTitles, err := demuxAll(body, metaint, []byte{byte(cut), byte(cut * 7 % 13)}, bufSize)
			if err != nil {
				t.Fatalf("cut %d buf %d: %v", cut, bufSize, err)
			}
			if !bytes.Equal(gotAudio, audio) {
				t.Fatalf("cut %d buf %d: audio %q, want %q", cut, bufSize, gotAudio, audio)
			}
			if !slices.Equal(gotTitles, wantTitles) {
				t.Fatalf("cut %d buf %d: titles %q, want %q", cut, bufSize, gotTitles, wantTitles)
			}
		}
	}
}

func TestDemuxTruncatedBlock(t *testing.T) {
	body := append([]byte("abcd"), MetaBlock("cut short", UTF8)[:10]...)
	audio, titles, err := demuxAll(body, 4, nil, 64)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("err %v, want io.ErrUnexpectedEOF", err)
	}
	if string(audio) != "abcd" || len(titles) != 0 {
		t.Errorf("audio %q titles %q", audio, titles)
	}
}

func FuzzDemux(f *testing.F) {
	seed := append([]byte("abcdefgh"), MetaBlock("Artist - Title", UTF8)...)
	seed = append(seed, "ijklmnop\x00qrstuvwx"...)
	f.Add(seed, uint16(8), []byte{0, 3, 17}, uint16(5))
	f.Add([]byte("\x01StreamTitle='';\x00"), uint16(0), []byte{}, uint16(1))
	f.Add([]byte("aa\xffbb"), uint16(2), []byte{1}, uint16(2))
	f.Fuzz(func(t *testing.T, data []byte, metaint uint16, cuts []byte, bufSize uint16) {
		mi := int(metaint) + 1
		wantAudio, wantTitles, truncated := splitAll(data, mi)
		audio, titles, err := demuxAll(data, mi, cuts, int(bufSize%8192)+1)
		if truncated != errors.Is(err, io.ErrUnexpectedEOF) || (err != nil && !truncated) {
			t.Fatalf("err %v, truncated %v", err, truncated)
		}
		if !bytes.Equal(audio, wantAudio) {
			t.Fatalf("audio %q, want %q", audio, wantAudio)
		}
		if !slices.Equal(titles, wantTitles) {
			t.Fatalf("titles %q, want %q", titles, wantTitles)
		}
	})
}
