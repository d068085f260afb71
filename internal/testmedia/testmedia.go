// Package testmedia makes small audio fixtures for tests (valid MPEG frames,
// tags, WAV files) and finds the shared conformance corpus and external
// tools, skipping with a clear message where they are missing.
//
// Tests that must pass on any fresh clone build their input with this package;
// tests against real media or real players call Corpus or RequireTool.
//
// It also holds what the tests of several packages share: a local Sentry
// endpoint (SentrySink), bounded polling (PollUntil), free ports, open-file
// counts and TLS certificates.
package testmedia

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RequireToolsEnv, when set to 1 (as .ci/run does), turns every skip for a
// missing tool or corpus into a test failure.
const RequireToolsEnv = "AUDIO_STREAMER_REQUIRE_TOOLS"

func strict() bool { return os.Getenv(RequireToolsEnv) == "1" }

// Missing skips the test with reason, or fails it when tools are mandatory.
func Missing(t testing.TB, reason string) {
	t.Helper()
	if strict() {
		t.Fatalf("%s (mandatory because %s=1)", reason, RequireToolsEnv)
	}
	t.Skip(reason)
}

// RequireTool returns the path of an executable on PATH, or skips the test.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" is not installed (apt-get install "+debianPackage(name)+"); skipping")
	}
	return p
}

func debianPackage(tool string) string {
	switch tool {
	case "ffprobe":
		return "ffmpeg"
	case "icecast2":
		return "icecast2"
	case "shout":
		return "libshout-tools"
	case "nginx":
		return "nginx" // the binary alone; nginx-light adds modules the tests do not use
	}
	return tool
}

// Frame is one MPEG-1 Layer III frame header configuration.
type Frame struct {
	Kbps    int  // one of the MPEG-1 Layer III bitrates, e.g. 128
	Padding bool // add the padding byte
	Mono    bool
}

var mpeg1L3Kbps = []int{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320}

// Bytes returns a decodable silent frame at 44.1 kHz: header, zero side info
// (main_data_begin 0, no Huffman data), zero padding to the frame length.
func (f Frame) Bytes() []byte {
	idx := 0
	for i, k := range mpeg1L3Kbps {
		if k == f.Kbps {
			idx = i
		}
	}
	if idx == 0 {
		panic("testmedia: unsupported bitrate")
	}
	size := 144 * f.Kbps * 1000 / 44100
	b2 := byte(idx << 4) // sample-rate index 0 (bits 3-2) = 44100
	if f.Padding {
		size++
		b2 |= 0x02
	}
	b3 := byte(0x64) // joint stereo, M/S, original
	if f.Mono {
		b3 = 0xC4
	}
	out := make([]byte, size)
	out[0], out[1], out[2], out[3] = 0xFF, 0xFB, b2, b3
	return out
}

// FrameDuration is the duration of one MPEG-1 Layer III frame at 44.1 kHz.
const FrameDuration = 1152 * 1e9 / 44100 // nanoseconds, as a float constant

// Frames returns n silent 128 kbps frames, each marked by a counter written
// into its (ignored) padding area at byte 40, so tests can tell frames apart.
func Frames(n int) []byte { return FramesFrom(0, n) }

// FramesFrom is Frames with counters starting at first, so tracks can be
// told apart in a listener's stream.
func FramesFrom(first uint32, n int) []byte {
	var out []byte
	for i := 0; i < n; i++ {
		fr := Frame{Kbps: 128}.Bytes()
		binary.BigEndian.PutUint32(fr[40:], first+uint32(i))
		out = append(out, fr...)
	}
	return out
}

// FrameIndex returns the counter Frames wrote into a 128 kbps frame.
func FrameIndex(frame []byte) uint32 { return binary.BigEndian.Uint32(frame[40:44]) }

// XingFrame returns a LAME-style "Info" header frame (a valid 128 kbps frame
// whose payload carries the tag at offset 36) that servers must not send.
func XingFrame(tag string) []byte {
	fr := Frame{Kbps: 128}.Bytes()
	copy(fr[36:], tag) // "Xing" or "Info"
	binary.BigEndian.PutUint32(fr[40:], 0x0F)
	copy(fr[156:], "LAME3.100")
	return fr
}

func syncsafe(n int) []byte {
	return []byte{byte(n >> 21 & 0x7f), byte(n >> 14 & 0x7f), byte(n >> 7 & 0x7f), byte(n & 0x7f)}
}

// ID3v2 returns an ID3v2.4 tag with UTF-8 TPE1/TIT2 frames and padding bytes
// of 0xFF-free zeros; empty values are left out. The padding lets tests put a
// false frame sync inside the tag (see FalseSyncPadding).
func ID3v2(artist, title string, padding int) []byte {
	var body []byte
	frame := func(id, v string) {
		if v == "" {
			return
		}
		data := append([]byte{3}, v...)
		body = append(body, id...)
		body = append(body, syncsafe(len(data))...)
		body = append(body, 0, 0)
		body = append(body, data...)
	}
	frame("TPE1", artist)
	frame("TIT2", title)
	body = append(body, make([]byte, padding)...)
	hdr := append([]byte("ID3\x04\x00\x00"), syncsafe(len(body))...)
	return append(hdr, body...)
}

// ID3v1 returns a 128-byte ID3v1.1 tag; the fields are copied byte for byte,
// so tests can pass legacy (non-UTF-8) text.
func ID3v1(artist, title string) []byte {
	b := make([]byte, 128)
	copy(b, "TAG")
	copy(b[3:33], title)
	copy(b[33:63], artist)
	b[127] = 255
	return b
}

// APEv2 returns an APEv2 tag with header and footer and one Title item.
func APEv2(title string) []byte {
	item := make([]byte, 8)
	binary.LittleEndian.PutUint32(item, uint32(len(title)))
	item = append(item, "Title\x00"...)
	item = append(item, title...)
	mk := func(isHeader bool) []byte {
		b := make([]byte, 32)
		copy(b, "APETAGEX")
		binary.LittleEndian.PutUint32(b[8:], 2000)
		binary.LittleEndian.PutUint32(b[12:], uint32(len(item)+32))
		binary.LittleEndian.PutUint32(b[16:], 1)
		flags := uint32(1 << 31)
		if isHeader {
			flags |= 1 << 29
		}
		binary.LittleEndian.PutUint32(b[20:], flags)
		return b
	}
	out := mk(true)
	out = append(out, item...)
	return append(out, mk(false)...)
}

// WAV returns a PCM WAV file with a sine tone.
func WAV(seconds float64, rate, channels, bits int) []byte {
	n := int(seconds * float64(rate))
	bps := bits / 8
	data := make([]byte, 0, n*channels*bps)
	for i := 0; i < n; i++ {
		v := math.Sin(2 * math.Pi * 440 * float64(i) / float64(rate))
		for c := 0; c < channels; c++ {
			switch bits {
			case 8:
				data = append(data, byte(128+v*60))
			case 16:
				data = binary.LittleEndian.AppendUint16(data, uint16(int16(v*8000)))
			case 24:
				s := int32(v * 2000000)
				data = append(data, byte(s), byte(s>>8), byte(s>>16))
			default:
				panic("testmedia: unsupported WAV bit depth")
			}
		}
	}
	h := []byte("RIFF")
	h = binary.LittleEndian.AppendUint32(h, uint32(36+len(data)))
	h = append(h, "WAVEfmt "...)
	h = binary.LittleEndian.AppendUint32(h, 16)
	h = binary.LittleEndian.AppendUint16(h, 1)
	h = binary.LittleEndian.AppendUint16(h, uint16(channels))
	h = binary.LittleEndian.AppendUint32(h, uint32(rate))
	h = binary.LittleEndian.AppendUint32(h, uint32(rate*channels*bps))
	h = binary.LittleEndian.AppendUint16(h, uint16(channels*bps))
	h = binary.LittleEndian.AppendUint16(h, uint16(bits))
	h = append(h, "data"...)
	h = binary.LittleEndian.AppendUint32(h, uint32(len(data)))
	return append(h, data...)
}

// WriteFile writes the concatenation of parts to dir/name (creating parent
// folders) and returns its path.
func WriteFile(t testing.TB, dir, name string, parts ...[]byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, part := range parts {
		all = append(all, part...)
	}
	if err := os.WriteFile(p, all, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Manifest is the part of shared/corpus/MANIFEST.json the tests use.
type Manifest struct {
	Files []ManifestFile `json:"files"`
}

// ManifestFile describes one corpus file and what the server must do with it.
type ManifestFile struct {
	Path                 string `json:"path"`
	ExpectedBehaviour    string `json:"expected_behaviour"`
	ExpectedDisplayTitle string `json:"expected_display_title"`
	FallbackDisplayTitle string `json:"fallback_display_title"`
	SampleRate           int    `json:"sample_rate_hz"`
	Channels             int    `json:"channels"`
	MpegFrames           int    `json:"mpeg_frames"`
	MpegAudioFrames      int    `json:"mpeg_audio_frames"`
	Mpeg                 *struct {
		StreamDurationS float64 `json:"stream_duration_s"`
		SamplesPerFrame int     `json:"samples_per_frame"`
		AudioBytes      int     `json:"audio_bytes"`
	} `json:"mpeg"`
}

// CorpusEnv overrides where the shared corpus is looked for.
const CorpusEnv = "AUDIO_STREAMER_CORPUS"

// Corpus returns the shared corpus folder and its manifest, or skips the test
// when it is not beside the repository (../shared/corpus from the module root).
func Corpus(t testing.TB) (string, *Manifest) {
	t.Helper()
	dir := os.Getenv(CorpusEnv)
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			Missing(t, "shared corpus not found: "+err.Error())
		}
		dir = filepath.Join(root, "..", "shared", "corpus")
	}
	raw, err := os.ReadFile(filepath.Join(dir, "MANIFEST.json"))
	if err != nil {
		Missing(t, "shared corpus not found at "+dir+" (set "+CorpusEnv+"); skipping conformance test")
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("corpus manifest: %v", err)
	}
	return dir, &m
}

// ModuleRoot returns the folder holding go.mod, searching up from the working
// directory (a test's package folder).
func ModuleRoot(t testing.TB) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}
