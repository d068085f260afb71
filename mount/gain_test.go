package mount

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// --- an independent reading of the side info ---

// bitReader reads MSB-first fields.
type bitReader struct {
	b   []byte
	pos int
}

func (r *bitReader) read(n int) int {
	v := 0
	for range n {
		v = v<<1 | int(r.b[r.pos>>3]>>(7-uint(r.pos&7))&1)
		r.pos++
	}
	return v
}

// walkSideInfo parses a Layer III side info field by field, following the
// full ISO syntax (not the offsets in gain.go), and returns each
// global_gain's bit offset and value, and the bits it consumed.
func walkSideInfo(side []byte, mpeg1, mono bool) (offsets, gains []int, bits int) {
	r := &bitReader{b: side}
	channels, granules := 2, 1
	if mono {
		channels = 1
	}
	if mpeg1 {
		granules = 2
		r.read(9) // main_data_begin
		if mono {
			r.read(5)
		} else {
			r.read(3)
		}
		r.read(4 * channels) // scfsi
	} else {
		r.read(8)
		r.read(channels) // private_bits: 1 mono, 2 stereo
	}
	for range granules {
		for range channels {
			r.read(12) // part2_3_length
			r.read(9)  // big_values
			offsets = append(offsets, r.pos)
			gains = append(gains, r.read(8))
			if mpeg1 {
				r.read(4) // scalefac_compress
			} else {
				r.read(9)
			}
			if r.read(1) == 1 { // window_switching_flag
				r.read(2)     // block_type
				r.read(1)     // mixed_block_flag
				r.read(2 * 5) // table_select
				r.read(3 * 3) // subblock_gain
			} else {
				r.read(3 * 5) // table_select
				r.read(4)     // region0_count
				r.read(3)     // region1_count
			}
			if mpeg1 {
				r.read(1) // preflag
			}
			r.read(1) // scalefac_scale
			r.read(1) // count1table_select
		}
	}
	return offsets, gains, r.pos
}

// frameLayout describes a Layer III frame's header for the tests.
func frameLayout(frame []byte) (start, size int, mpeg1, mono, crc bool) {
	mpeg1 = frame[1]&0x18 == 0x18
	mono = frame[3]>>6 == 3
	crc = frame[1]&1 == 0
	start = 4
	if crc {
		start = 6
	}
	switch {
	case mpeg1 && !mono:
		size = 32
	case mpeg1 || !mono:
		size = 17
	default:
		size = 9
	}
	return start, size, mpeg1, mono, crc
}

// refCRC is CRC-16 (poly 0x8005, init 0xFFFF, MSB first) bit by bit: a
// second implementation to check layer3CRC's table against.
func refCRC(data ...[]byte) uint16 {
	crc := uint16(0xFFFF)
	for _, d := range data {
		for _, b := range d {
			for i := 7; i >= 0; i-- {
				in := uint16(b>>uint(i)) & 1
				top := crc >> 15
				crc <<= 1
				if top^in == 1 {
					crc ^= 0x8005
				}
			}
		}
	}
	return crc
}

// frameCRCOK reports whether a protected frame's stored CRC matches.
func frameCRCOK(frame []byte) bool {
	start, size, _, _, _ := frameLayout(frame)
	return binary.BigEndian.Uint16(frame[4:6]) == refCRC(frame[2:4], frame[start:start+size])
}

// --- unit tests ---

// TestGainOffsetsMatchSyntax checks the derived layouts against the ISO
// syntax walk and against the table in protocol-wave2.md §6.
func TestGainOffsetsMatchSyntax(t *testing.T) {
	cases := []struct {
		name        string
		mpeg1, mono bool
		size        int
		gains       []int
	}{
		{"MPEG-1 mono", true, true, 17, []int{39, 98}},
		{"MPEG-1 stereo", true, false, 32, []int{41, 100, 159, 218}},
		{"MPEG-2 mono", false, true, 9, []int{30}},
		{"MPEG-2 stereo", false, false, 17, []int{31, 94}},
	}
	for _, c := range cases {
		for _, ws := range []bool{false, true} {
			h := []byte{0xFF, 0xFB, 0x90, 0x00}
			if !c.mpeg1 {
				h[1] = 0xF3
			}
			if c.mono {
				h[3] = 0xC0
			}
			start, si := layer3SideInfo(h)
			if start != 4 || si.size != c.size || !equalInts(si.gains, c.gains) {
				t.Fatalf("%s: layout %d bytes, gains %v; want %d, %v", c.name, si.size, si.gains, c.size, c.gains)
			}
			side := make([]byte, c.size)
			if ws { // set every window_switching_flag: the other branch of the syntax
				for _, g := range c.gains {
					b := g + 8 + 4
					if !c.mpeg1 {
						b = g + 8 + 9
					}
					side[b>>3] |= 0x80 >> uint(b&7)
				}
			}
			offsets, _, bits := walkSideInfo(side, c.mpeg1, c.mono)
			if !equalInts(offsets, c.gains) || bits != 8*c.size {
				t.Fatalf("%s (window switching %v): syntax gives gains at %v in %d bits", c.name, ws, offsets, bits)
			}
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestLayer3CRCKnownValue checks both CRC implementations against the
// catalogued check value of CRC-16/CMS (same parameters) and each other.
func TestLayer3CRCKnownValue(t *testing.T) {
	if got := layer3CRC([]byte("1234"), []byte("56789")); got != 0xAEE7 {
		t.Fatalf("layer3CRC(123456789) = %#04x, want 0xaee7", got)
	}
	if got := refCRC([]byte("123456789")); got != 0xAEE7 {
		t.Fatalf("refCRC(123456789) = %#04x, want 0xaee7", got)
	}
	data := make([]byte, 34)
	for i := range 1000 {
		for j := range data {
			data[j] = byte(i*31 + j*j*7 + i*j)
		}
		if layer3CRC(data[:2], data[2:]) != refCRC(data) {
			t.Fatalf("table and bitwise CRC differ on %x", data)
		}
	}
}

// synthFrame is a silent testmedia frame with the given gains written into
// its side info (and a correct CRC when crc is set, the frame shortened to
// keep its size).
func synthFrame(t *testing.T, mono, crc bool, gains ...int) []byte {
	t.Helper()
	f := testmedia.Frame{Kbps: 128, Mono: mono}.Bytes()
	start, size, _, _, _ := frameLayout(f)
	if crc {
		f[1] &^= 1
		start += 2
	}
	_, si := layer3SideInfo(f)
	for i, g := range gains {
		setBits(f[start:start+size], si.gains[i], g)
	}
	if crc {
		binary.BigEndian.PutUint16(f[4:6], refCRC(f[2:4], f[start:start+size]))
	}
	return f
}

func setBits(b []byte, pos, v int) {
	for i := range 8 {
		bit := pos + i
		mask := byte(0x80) >> uint(bit&7)
		if v>>(7-i)&1 == 1 {
			b[bit>>3] |= mask
		} else {
			b[bit>>3] &^= mask
		}
	}
}

func gainsOf(frame []byte) []int {
	start, size, mpeg1, mono, _ := frameLayout(frame)
	_, g, _ := walkSideInfo(frame[start:start+size], mpeg1, mono)
	return g
}

func TestAdjustGainClampsAndSkipsZero(t *testing.T) {
	for _, crc := range []bool{false, true} {
		f := synthFrame(t, false, crc, 250, 3, 0, 128)
		if !AdjustGain(f, 10) {
			t.Fatal("valid frame refused")
		}
		if g := gainsOf(f); !equalInts(g, []int{255, 13, 0, 138}) {
			t.Fatalf("crc %v: +10 gives %v", crc, g)
		}
		if !AdjustGain(f, -20) {
			t.Fatal("valid frame refused")
		}
		if g := gainsOf(f); !equalInts(g, []int{235, 0, 0, 118}) {
			t.Fatalf("crc %v: then -20 gives %v", crc, g)
		}
		if crc && !frameCRCOK(f) {
			t.Fatal("CRC wrong after adjusting")
		}
		// Huge steps saturate instead of overflowing.
		AdjustGain(f, math.MaxInt)
		if g := gainsOf(f); !equalInts(g, []int{255, 0, 0, 255}) {
			t.Fatalf("MaxInt gives %v", g)
		}
		AdjustGain(f, math.MinInt)
		if g := gainsOf(f); !equalInts(g, []int{0, 0, 0, 0}) {
			t.Fatalf("MinInt gives %v", g)
		}
	}
}

// TestAdjustGainKeepsABadCRCBad: a frame damaged in transit must not be
// made to look valid.
func TestAdjustGainKeepsABadCRCBad(t *testing.T) {
	f := synthFrame(t, true, true, 100, 120)
	f[5] ^= 0x40
	syndrome := binary.BigEndian.Uint16(f[4:6]) ^ refCRC(f[2:4], f[6:6+17])
	if !AdjustGain(f, 3) {
		t.Fatal("refused")
	}
	if got := binary.BigEndian.Uint16(f[4:6]) ^ refCRC(f[2:4], f[6:6+17]); got != syndrome {
		t.Fatalf("syndrome %#04x, want %#04x", got, syndrome)
	}
}

func TestAdjustGainRefuses(t *testing.T) {
	good := synthFrame(t, false, false, 100, 100, 100, 100)
	mutate := func(f func([]byte) []byte) []byte { return f(bytes.Clone(good)) }
	cases := map[string][]byte{
		"empty":       nil,
		"short":       good[:3],
		"truncated":   good[:len(good)-1],
		"trailing":    append(bytes.Clone(good), 0),
		"no sync":     mutate(func(b []byte) []byte { b[0] = 0xFE; return b }),
		"layer II":    mutate(func(b []byte) []byte { b[1] = b[1]&^0x06 | 0x04; return b }),
		"layer I":     mutate(func(b []byte) []byte { b[1] |= 0x06; return b }),
		"reserved":    mutate(func(b []byte) []byte { b[1] = b[1]&^0x18 | 0x08; return b }),
		"free format": mutate(func(b []byte) []byte { b[2] &= 0x0F; return b }),
		"bad bitrate": mutate(func(b []byte) []byte { b[2] |= 0xF0; return b }),
		"bad rate":    mutate(func(b []byte) []byte { b[2] |= 0x0C; return b }),
		"Xing":        testmedia.XingFrame("Xing"),
		"Info":        testmedia.XingFrame("Info"),
		"VBRI":        mutate(func(b []byte) []byte { copy(b[36:], "VBRI"); return b }),
	}
	for name, f := range cases {
		before := bytes.Clone(f)
		if AdjustGain(f, 5) {
			t.Errorf("%s: accepted", name)
		}
		if !bytes.Equal(f, before) {
			t.Errorf("%s: changed", name)
		}
	}
	if !AdjustGain(bytes.Clone(good), 5) {
		t.Fatal("the unmutated frame is refused")
	}
}

func TestGainSteps(t *testing.T) {
	for db, want := range map[float64]int{0: 0, -9.03: -6, 6.02: 4, 0.75: 0, 0.76: 1, -0.76: -1, 1e9: 255, -1e9: -255, math.NaN(): 0} {
		if got := GainSteps(db); got != want {
			t.Errorf("GainSteps(%v) = %d, want %d", db, got, want)
		}
	}
	for peak, want := range map[float64]int{1: 0, 0.5: 4, 0.25: 8, 0.7071: 2, 0.6: 2, 1.2: -2, 0: 255, math.NaN(): 0, math.Inf(1): -255, 1e-300: 255} {
		if got := NoClipSteps(peak); got != want {
			t.Errorf("NoClipSteps(%v) = %d, want %d", peak, got, want)
		}
	}
	// The no-clip bound holds: peak·2^(steps/4) ≤ 1 < peak·2^((steps+1)/4).
	for _, peak := range []float64{0.01, 0.1, 0.33, 0.5, 0.9, 0.999} {
		s := float64(NoClipSteps(peak))
		if peak*math.Pow(2, s/4) > 1 || peak*math.Pow(2, (s+1)/4) <= 1 {
			t.Errorf("NoClipSteps(%v) = %v is not the largest safe step", peak, s)
		}
	}
}

// --- real audio through ffmpeg ---

// gainLayout is one encoder setting for the real-audio tests.
type gainLayout struct {
	name    string
	version byte     // header version bits: 3 MPEG-1, 2 MPEG-2, 0 MPEG-2.5
	mode    byte     // channel mode: 0 stereo, 1 joint stereo, 3 mono
	args    []string // ffmpeg output options
	crc     bool     // re-mux into CRC-protected frames (needs -reservoir 0)
}

var gainLayouts = []gainLayout{
	{"MPEG-1 stereo 44.1k 128k", 3, 0, []string{"-ar", "44100", "-ac", "2", "-b:a", "128k", "-joint_stereo", "0"}, false},
	{"MPEG-1 joint stereo 44.1k 128k", 3, 1, []string{"-ar", "44100", "-ac", "2", "-b:a", "128k"}, false},
	{"MPEG-1 joint stereo 48k 320k", 3, 1, []string{"-ar", "48000", "-ac", "2", "-b:a", "320k"}, false},
	{"MPEG-1 mono 44.1k 64k", 3, 3, []string{"-ar", "44100", "-ac", "1", "-b:a", "64k"}, false},
	{"MPEG-2 stereo 22.05k 64k", 2, 1, []string{"-ar", "22050", "-ac", "2", "-b:a", "64k"}, false},
	{"MPEG-2 mono 22.05k 32k", 2, 3, []string{"-ar", "22050", "-ac", "1", "-b:a", "32k"}, false},
	{"MPEG-2.5 stereo 11.025k 32k", 0, 1, []string{"-ar", "11025", "-ac", "2", "-b:a", "32k"}, false},
	{"MPEG-2.5 mono 8k 16k", 0, 3, []string{"-ar", "8000", "-ac", "1", "-b:a", "16k"}, false},
	{"MPEG-1 stereo 44.1k CRC", 3, 0, []string{"-ar", "44100", "-ac", "2", "-b:a", "128k", "-joint_stereo", "0", "-reservoir", "0"}, true},
	{"MPEG-1 mono 44.1k CRC", 3, 3, []string{"-ar", "44100", "-ac", "1", "-b:a", "64k", "-reservoir", "0"}, true},
	{"MPEG-2 stereo 22.05k CRC", 2, 1, []string{"-ar", "22050", "-ac", "2", "-b:a", "64k", "-reservoir", "0"}, true},
	{"MPEG-2.5 mono 11.025k CRC", 0, 3, []string{"-ar", "11025", "-ac", "1", "-b:a", "24k", "-reservoir", "0"}, true},
}

// encodeTone encodes 3 s of a two-tone signal (440 Hz left, 660 Hz right,
// −12 dBFS) with libmp3lame into a seekable file, so the muxer writes its
// Info frame first, and returns the file's bytes.
func encodeTone(t testing.TB, ffmpeg string, args []string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "tone.mp3")
	cmd := append([]string{"-v", "error", "-f", "lavfi", "-i",
		"aevalsrc=0.25*sin(2*PI*440*t)|0.25*sin(2*PI*660*t):s=48000:d=3",
		"-c:a", "libmp3lame", "-id3v2_version", "0"}, args...)
	cmd = append(cmd, out)
	if msg, err := exec.Command(ffmpeg, cmd...).CombinedOutput(); err != nil || len(msg) > 0 {
		t.Fatalf("ffmpeg encode: %v: %s", err, msg)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// gainFrames splits a stream into copies of its audio frames.
func gainFrames(t testing.TB, data []byte) [][]byte {
	t.Helper()
	fr := NewFrameReader(bytes.NewReader(data))
	var frames [][]byte
	for {
		f, err := fr.Next()
		if errors.Is(err, io.EOF) {
			return frames
		}
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, bytes.Clone(f.Data))
	}
}

// withCRC re-muxes a frame without bit reservoir use into a CRC-protected
// frame one bitrate step up: header (protection bit cleared), CRC, the
// same side info and main data, zero ancillary bytes to the new length.
// The audio decodes identically; ffmpeg's decoder can check the CRC.
func withCRC(t testing.TB, f []byte) []byte {
	t.Helper()
	start, size, mpeg1, _, _ := frameLayout(f)
	mainDataBegin := int(f[start])
	if mpeg1 {
		mainDataBegin = mainDataBegin<<1 | int(f[start+1]>>7)
	}
	if mainDataBegin != 0 || f[2]>>4 >= 14 {
		t.Fatalf("frame cannot be re-muxed: main_data_begin %d, bitrate index %d", mainDataBegin, f[2]>>4)
	}
	h := bytes.Clone(f[:4])
	h[1] &^= 1
	h[2] += 0x10
	out := make([]byte, frameSize(h))
	copy(out, h)
	if copy(out[6:], f[4:]) != len(f)-4 {
		t.Fatal("re-muxed frame too short")
	}
	binary.BigEndian.PutUint16(out[4:6], refCRC(out[2:4], out[6:6+size]))
	return out
}

// decodePCM decodes an MP3 stream to interleaved float samples; any
// message at level error (including a CRC mismatch) fails the test.
func decodePCM(t testing.TB, ffmpeg string, mp3 []byte) []float32 {
	t.Helper()
	cmd := exec.Command(ffmpeg, "-v", "error", "-err_detect", "crccheck", "-f", "mp3", "-i", "pipe:0", "-f", "f32le", "pipe:1")
	cmd.Stdin = bytes.NewReader(mp3)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("ffmpeg decode: %v: %s", err, stderr.String())
	}
	raw := stdout.Bytes()
	pcm := make([]float32, len(raw)/4)
	for i := range pcm {
		pcm[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	if len(pcm) == 0 {
		t.Fatal("decoded nothing")
	}
	return pcm
}

// levels returns the RMS and peak level in dBFS.
func levels(pcm []float32) (rms, peak float64) {
	var sum, top float64
	for _, s := range pcm {
		v := float64(s)
		sum += v * v
		top = max(top, math.Abs(v))
	}
	return 10 * math.Log10(sum/float64(len(pcm))), 20 * math.Log10(top)
}

// TestAdjustGainRealAudio encodes each layout with libmp3lame, applies
// gains to every frame and checks, with ffmpeg decoding the result, that
// the level moved by steps × 1.505 dB, nothing but global_gain (and the
// CRC) changed, and the stream still decodes without errors.
func TestAdjustGainRealAudio(t *testing.T) {
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	for _, lay := range gainLayouts {
		t.Run(lay.name, func(t *testing.T) {
			t.Parallel()
			file := encodeTone(t, ffmpeg, lay.args)
			// Raw muxer output: the Info frame was written first.
			info := bytes.Clone(file[:frameSize(file)])
			if !isInfoFrame(info) || AdjustGain(info, 4) || !bytes.Equal(info, file[:len(info)]) {
				t.Fatal("the encoder's Info frame was not refused untouched")
			}
			frames := gainFrames(t, file)
			if lay.crc {
				for i := range frames {
					frames[i] = withCRC(t, frames[i])
				}
			}
			orig := bytes.Join(frames, nil)
			if v, m := frames[0][1]>>3&3, frames[0][3]>>6; v != lay.version || m != lay.mode {
				t.Fatalf("encoder wrote version bits %d, mode %d; want %d, %d", v, m, lay.version, lay.mode)
			}
			if protected := frames[0][1]&1 == 0; protected != lay.crc {
				t.Fatalf("frames protected: %v, want %v", protected, lay.crc)
			}
			base := decodePCM(t, ffmpeg, orig)
			rms0, peak0 := levels(base)

			for _, steps := range []int{0, -6, 4} {
				adj := make([][]byte, len(frames))
				for i, f := range frames {
					adj[i] = bytes.Clone(f)
					if !AdjustGain(adj[i], steps) {
						t.Fatalf("frame %d refused", i)
					}
					checkOnlyGainChanged(t, f, adj[i], steps)
				}
				stream := bytes.Join(adj, nil)
				if steps == 0 {
					if !bytes.Equal(stream, orig) {
						t.Fatal("steps 0 changed bytes")
					}
					continue
				}
				pcm := decodePCM(t, ffmpeg, stream)
				if len(pcm) != len(base) {
					t.Fatalf("decoded %d samples, want %d", len(pcm), len(base))
				}
				rms, peak := levels(pcm)
				want := float64(steps) * GainStepDB
				t.Logf("%+d steps (want %+.2f dB): mean %+.3f dB, max %+.3f dB (from %.2f/%.2f dBFS)", steps, want, rms-rms0, peak-peak0, rms0, peak0)
				if math.Abs(rms-rms0-want) > 0.3 || math.Abs(peak-peak0-want) > 0.3 {
					t.Errorf("%+d steps: mean moved %+.3f dB, max %+.3f dB; want %+.2f ±0.3", steps, rms-rms0, peak-peak0, want)
				}
			}
		})
	}
}

// TestAdjustGainCRCIsChecked shows the CRC test above can fail: ffmpeg's
// crccheck reports a frame whose CRC is off by one bit.
func TestAdjustGainCRCIsChecked(t *testing.T) {
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	frames := gainFrames(t, encodeTone(t, ffmpeg, gainLayouts[len(gainLayouts)-1].args))
	for i := range frames {
		frames[i] = withCRC(t, frames[i])
		if !frameCRCOK(frames[i]) {
			t.Fatal("re-muxed CRC wrong")
		}
	}
	frames[10][5] ^= 1
	cmd := exec.Command(ffmpeg, "-v", "error", "-err_detect", "crccheck", "-f", "mp3", "-i", "pipe:0", "-f", "null", "-")
	cmd.Stdin = bytes.NewReader(bytes.Join(frames, nil))
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(strings.ToLower(string(out)), "crc") {
		t.Fatalf("ffmpeg did not report a bad CRC: %q", out)
	}
}

// checkOnlyGainChanged: same length; bytes outside the side info and CRC
// equal; inside, only global_gain bits differ, each as the rule says; the
// CRC, if any, validates.
func checkOnlyGainChanged(t *testing.T, before, after []byte, steps int) {
	t.Helper()
	if len(before) != len(after) {
		t.Fatalf("frame size %d -> %d", len(before), len(after))
	}
	start, size, mpeg1, mono, crc := frameLayout(before)
	if !bytes.Equal(before[:4], after[:4]) || !bytes.Equal(before[start+size:], after[start+size:]) {
		t.Fatal("bytes outside the side info changed")
	}
	offs, g0, _ := walkSideInfo(before[start:start+size], mpeg1, mono)
	_, g1, _ := walkSideInfo(after[start:start+size], mpeg1, mono)
	masked := func(b []byte) []byte {
		b = bytes.Clone(b[start : start+size])
		for _, o := range offs {
			setBits(b, o, 0)
		}
		return b
	}
	if !bytes.Equal(masked(before), masked(after)) {
		t.Fatal("side info bits other than global_gain changed")
	}
	for i := range g0 {
		want := g0[i]
		if want != 0 {
			want = min(max(want+steps, 0), 255)
		}
		if g1[i] != want {
			t.Fatalf("global_gain %d: %d -> %d with %+d steps", i, g0[i], g1[i], steps)
		}
	}
	if crc && !frameCRCOK(after) {
		t.Fatal("CRC does not validate")
	}
}

// BenchmarkAdjustGain rewrites real 320 kbps, 44.1 kHz frames (a station
// sends 44100/1152 = 38.3 of them a second) alternately by +1 and −1 step,
// so the gains neither saturate nor drift. "core%" is the share of one
// core a station spends on it: ns/frame × 38.3 / 1e9 × 100. The issue's
// budget, 1 % of a core, allows 261 µs per frame. Measured on the 2-core
// dev machine: ~31 ns/frame without CRC (0.00012 % of a core) and ~220 ns
// with one (two CRC-16 passes over 34 bytes: 0.0008 %).
func BenchmarkAdjustGain(b *testing.B) {
	ffmpeg := testmedia.RequireTool(b, "ffmpeg")
	frames := gainFrames(b, encodeTone(b, ffmpeg, []string{"-ar", "44100", "-ac", "2", "-b:a", "320k"}))
	for _, crc := range []bool{false, true} {
		name := "320k"
		if crc {
			name = "320k-crc"
		}
		b.Run(name, func(b *testing.B) {
			fs := make([][]byte, len(frames))
			total := 0
			for i, f := range frames {
				fs[i] = bytes.Clone(f)
				if crc { // costs only: the first side-info bytes stand in for the CRC
					fs[i][1] &^= 1
				}
				total += len(f)
			}
			b.SetBytes(int64(total / len(fs)))
			n := 0
			for b.Loop() {
				if !AdjustGain(fs[n%len(fs)], 1-2*(n/len(fs)%2)) {
					b.Fatal("refused")
				}
				n++
			}
			perFrame := float64(b.Elapsed().Nanoseconds()) / float64(n)
			b.ReportMetric(perFrame, "ns/frame")
			b.ReportMetric(perFrame*44100/1152/1e9*100, "core%")
		})
	}
}
