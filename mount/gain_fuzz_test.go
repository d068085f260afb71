package mount

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// FuzzGain feeds arbitrary bytes and steps to AdjustGain. With fit set,
// bytes that start with a valid header are cut or zero-filled to that
// header's frame length, so most inputs are frames it must edit. It must
// never panic; a refused input must be unchanged; an accepted one must keep
// its length and every byte outside the side info and CRC, change each
// global_gain exactly as the rule says (0 stays 0, else clamp(g+steps,
// 0, 255)) and nothing else, and keep the CRC's syndrome. Undoing a change
// that did not saturate restores the original bytes.
func FuzzGain(f *testing.F) {
	f.Add(testmedia.Frame{Kbps: 128}.Bytes(), 4, true)
	f.Add(testmedia.Frame{Kbps: 320, Mono: true}.Bytes(), -6, false)
	f.Add(testmedia.XingFrame("Info"), 3, false)
	crc := testmedia.Frame{Kbps: 64}.Bytes()
	crc[1] &^= 1
	for i := 4; i < 40; i++ {
		crc[i] = byte(i * 37)
	}
	f.Add(crc, -3, true)
	lsf := bytes.Repeat([]byte{0x5A}, 208) // MPEG-2 22.05 kHz 64 kbps stereo
	copy(lsf, []byte{0xFF, 0xF3, 0x88, 0x44})
	f.Add(lsf, 2, true)
	mono25 := bytes.Repeat([]byte{0xA7}, 104) // MPEG-2.5 11.025 kHz 16 kbps mono, CRC
	copy(mono25, []byte{0xFF, 0xE2, 0x28, 0xC0})
	f.Add(mono25, -255, true)
	f.Add([]byte{0xFF, 0xFB, 0x00, 0x00}, 1, true) // free format
	f.Fuzz(func(t *testing.T, data []byte, steps int, fit bool) {
		if fit && validHeader(data) {
			size := frameSize(data)
			if len(data) > size {
				data = data[:size]
			} else {
				data = append(data, make([]byte, size-len(data))...)
			}
		}
		before := bytes.Clone(data)
		if !AdjustGain(data, steps) {
			if !bytes.Equal(data, before) {
				t.Fatal("refused frame changed")
			}
			return
		}
		if len(data) != frameSize(before) || before[1]&0x06 != 0x02 || isInfoFrame(before) {
			t.Fatalf("accepted a frame it must refuse: % x", before[:4])
		}
		start, size, mpeg1, mono, protected := frameLayout(before)
		if !bytes.Equal(data[:4], before[:4]) || !bytes.Equal(data[start+size:], before[start+size:]) {
			t.Fatal("bytes outside the side info changed")
		}
		offs, g0, _ := walkSideInfo(before[start:start+size], mpeg1, mono)
		_, g1, _ := walkSideInfo(data[start:start+size], mpeg1, mono)
		clamped := min(max(steps, -255), 255)
		saturated := false
		for i := range g0 {
			want := g0[i]
			if want != 0 {
				want = min(max(want+clamped, 0), 255)
				saturated = saturated || want == 0 || want != g0[i]+clamped
			}
			if g1[i] != want {
				t.Fatalf("global_gain %d: %d -> %d with %d steps", i, g0[i], g1[i], steps)
			}
		}
		a, b := bytes.Clone(before[start:start+size]), bytes.Clone(data[start:start+size])
		for _, o := range offs {
			setBits(a, o, 0)
			setBits(b, o, 0)
		}
		if !bytes.Equal(a, b) {
			t.Fatal("side info bits other than global_gain changed")
		}
		if protected {
			syndrome := func(f []byte) uint16 {
				return binary.BigEndian.Uint16(f[4:6]) ^ refCRC(f[2:4], f[start:start+size])
			}
			if syndrome(data) != syndrome(before) {
				t.Fatal("CRC syndrome changed")
			}
		} else if !bytes.Equal(data[4:start], before[4:start]) {
			t.Fatal("bytes outside the side info changed")
		}
		if !saturated {
			if !AdjustGain(data, -clamped) || !bytes.Equal(data, before) {
				t.Fatal("undoing the change does not restore the frame")
			}
		}
	})
}
