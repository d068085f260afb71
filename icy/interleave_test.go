package icy

import (
	"bytes"
	"testing"
)

// send pushes audio through an Interleave the way a listener's writer does:
// pieces of at most room bytes, a metadata block at each boundary, and short
// writes cut anywhere (cuts holds the write sizes to use, cycled).
func send(metaint int, audio []byte, meta []byte, cuts []int) []byte {
	s := NewInterleave(metaint)
	var out []byte
	k := 0
	limit := func(n int) int {
		if len(cuts) == 0 {
			return n
		}
		c := cuts[k%len(cuts)]%64 + 1
		k++
		return min(n, c)
	}
	for len(audio) > 0 || s.Remaining() != nil {
		if rest := s.Remaining(); rest != nil {
			n := limit(len(rest))
			out = append(out, rest[:n]...)
			s.Meta(n)
			continue
		}
		if s.Enabled() && s.Room() == 0 {
			b := s.Begin(meta)
			n := limit(len(b))
			out = append(out, b[:n]...)
			s.Meta(n)
			continue
		}
		n := len(audio)
		if s.Enabled() {
			n = min(n, s.Room())
		}
		n = limit(n)
		out = append(out, audio[:n]...)
		s.Audio(n)
		audio = audio[n:]
	}
	return out
}

func TestInterleaveLayout(t *testing.T) {
	audio := bytes.Repeat([]byte{0xAA}, 50)
	meta := MetaBlock("Artist - Title", UTF8)
	got := send(16, audio, meta, nil)
	want := append([]byte{}, audio[:16]...)
	want = append(want, meta...)
	want = append(want, audio[16:32]...)
	want = append(want, 0) // unchanged title: one zero byte
	want = append(want, audio[32:48]...)
	want = append(want, 0)
	want = append(want, audio[48:]...)
	if !bytes.Equal(got, want) {
		t.Fatalf("layout\n got % x\nwant % x", got, want)
	}
}

func TestInterleaveDisabledIsPureAudio(t *testing.T) {
	audio := bytes.Repeat([]byte{1, 2, 3}, 100)
	if got := send(0, audio, MetaBlock("x", UTF8), nil); !bytes.Equal(got, audio) {
		t.Fatal("metadata inserted for a client that did not ask")
	}
}

// FuzzInterleave cuts writes at arbitrary places: a parser must recover the
// exact audio and the title from the stream.
func FuzzInterleave(f *testing.F) {
	f.Add(uint16(16), []byte("some audio bytes that go on and on"), "Артист - Песня", []byte{3, 1, 7})
	f.Add(uint16(1), []byte{0xFF}, "", []byte{})
	f.Fuzz(func(t *testing.T, mi uint16, audio []byte, title string, cuts []byte) {
		metaint := int(mi%512) + 1
		meta := MetaBlock(title, UTF8)
		var cs []int
		for _, c := range cuts {
			cs = append(cs, int(c))
		}
		out := send(metaint, audio, meta, cs)
		var got []byte
		sawTitle := false
		for len(out) > 0 {
			n := min(metaint, len(out))
			got = append(got, out[:n]...)
			out = out[n:]
			if len(out) == 0 {
				break
			}
			tt, m, err := ParseMetaBlock(out)
			if err != nil && m == 0 {
				t.Fatalf("bad metadata block: %v", err)
			}
			if m > 1 {
				if sawTitle {
					t.Fatal("unchanged title resent in full")
				}
				sawTitle = true
				want, _, _ := ParseMetaBlock(meta)
				if tt != want {
					t.Fatalf("title %q, want %q", tt, want)
				}
			}
			out = out[m:]
		}
		if !bytes.Equal(got, audio) {
			t.Fatal("audio changed by interleaving")
		}
	})
}
