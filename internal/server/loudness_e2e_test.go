package server

// End-to-end tests of loudness levelling and silence trimming through the
// whole server: tracks of different loudness (MP3s levelled by global_gain
// steps, a WAV by the encoder's exact gain, an MP3 padded with long
// silences) play on a radio station with loudness = -16 and
// trim_silence; one listener's capture over a real socket is split into
// tracks at its ICY title changes, and each track is decoded and measured
// with ffmpeg's ebur128 filter.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/loudness"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

const (
	// levelTarget is the stations' loudness setting, in LUFS.
	levelTarget = -16.0
	// levelTolerance is how far a levelled track may measure from the
	// target: half a global_gain step of rounding, plus what cutting a
	// track out of a stream (a frame either side, the decoder's delay)
	// does to the measurement.
	levelTolerance = 1.5
	// planTolerance is how far a track may measure from its own loudness
	// plus the gain it should have got: the measurement of a track cut out
	// of the stream against that of the whole file.
	planTolerance = 0.5
	// levelMetaint is the stations' icy_metaint, the smallest allowed: a
	// 128 kbps frame (417 or 418 bytes) is longer, so exactly one frame
	// starts between two metadata blocks and the title change pins down
	// the frame a track starts with.
	levelMetaint = 256
	// maxBoostSteps is the largest raise a station gives a track (see
	// internal/station/levels.go): 10 steps, 15.05 dB.
	maxBoostSteps = 10
	// mp3DecoderDelay is the samples an MP3 decoder outputs before the
	// first frame's audio (528 + 1, ISO/IEC 11172-3's filterbank and
	// overlap): decoded samples are shifted by it against frame starts.
	mp3DecoderDelay = 529
)

// levelFixture is one track of the levelling station, made by ffmpeg from
// a lavfi source.
type levelFixture struct {
	file   string // its name in the folder; .wav goes through the encoder
	title  string
	source string // lavfi graph
	args   []string
}

// stereoTone is a lavfi source of a sine tone of peak amplitude amp (of full
// scale) in both channels for seconds.
func stereoTone(freq, amp float64, seconds int) string {
	ch := fmt.Sprintf("%g*sin(2*PI*%g*t)", amp, freq)
	return fmt.Sprintf("aevalsrc=%s|%s:s=44100:d=%d", ch, ch, seconds)
}

// levelFixtures are the levelling station's tracks, in play order:
// loudness from about -30 to -12 LUFS with true peaks low enough that
// -16 LUFS is reachable under 0 dBTP (-1 dBTP for the WAV), and a 4 s
// tone between two 20 s silences.
func levelFixtures() []levelFixture {
	const silenced = `between(t\,20\,24)*0.05*sin(2*PI*550*t)`
	return []levelFixture{
		{file: "01 quiet.mp3", title: "Quiet tone", source: stereoTone(440, 0.036, 5)},
		{file: "02 noise.mp3", title: "Pink noise", source: "anoisesrc=color=pink:amplitude=0.375:seed=7:r=44100:d=5", args: []string{"-ac", "2"}},
		{file: "03 tone.mp3", title: "Middle tone", source: stereoTone(1000, 0.1, 5)},
		{file: "04 loud.mp3", title: "Loud chord",
			source: "aevalsrc=0.2*sin(2*PI*250*t)+0.2*sin(2*PI*3000*t)|0.2*sin(2*PI*250*t)+0.2*sin(2*PI*3000*t):s=44100:d=5"},
		{file: "05 encoded.wav", title: "Encoded tone", source: stereoTone(660, 0.08, 5)},
		{file: "06 padded.mp3", title: "Padded tone", source: "aevalsrc=" + silenced + "|" + silenced + ":s=44100:d=44"},
	}
}

// makeTrack encodes a lavfi source into path, tagged with title: a WAV of
// 16-bit PCM, or a 128 kbps CBR MP3; extra output options (channels,
// sample rate) go before the codec's.
func makeTrack(t *testing.T, ffmpeg, path, title, source string, extra ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", source}
	args = append(args, extra...)
	if mount.IsMP3(path) {
		args = append(args, "-c:a", "libmp3lame", "-b:a", "128k", "-id3v2_version", "3")
	} else {
		args = append(args, "-c:a", "pcm_s16le")
	}
	args = append(args, "-metadata", "artist=Levels", "-metadata", "title="+title, "-y", path)
	if out, err := exec.CommandContext(ctx, ffmpeg, args...).CombinedOutput(); err != nil {
		t.Fatalf("making %s: %v\n%s", path, err, out)
	}
}

// preMeasure runs an analyzer for the test and measures paths with it
// before any station starts, so every track is levelled from its first
// play; the stations get it as Deps.Loudness and find every file in its
// cache. It returns each path's analysis.
func preMeasure(t *testing.T, paths []string) (*loudness.Analyzer, map[string]loudness.Analysis) {
	t.Helper()
	an := loudness.New(loudness.Options{Workers: 2})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		an.Run(ctx)
	}()
	// Registered before the harness's cleanup, so it runs after it: the
	// stations stop before their analyzer.
	t.Cleanup(func() {
		cancel()
		<-ran
	})
	start := time.Now()
	an.Measure("pre-measure", paths, loudness.Params{})
	select {
	case <-an.Done("pre-measure"):
	case <-time.After(2 * time.Minute):
		t.Fatalf("the analyzer did not measure %d files within 2 minutes: %+v", len(paths), an.Progress("pre-measure"))
	}
	t.Logf("measured %d files in %v", len(paths), time.Since(start).Round(time.Millisecond))
	out := make(map[string]loudness.Analysis, len(paths))
	for _, p := range paths {
		a, ok := an.Lookup(p, loudness.Params{})
		if !ok {
			t.Fatalf("%s was not measured", p)
		}
		out[p] = a
	}
	return an, out
}

// trackPaths remembers the file behind every title a station started
// (its OnTrack hook), for the tracks found in a capture.
type trackPaths struct {
	mu     sync.Mutex
	byName map[string]string
}

func newTrackPaths() *trackPaths { return &trackPaths{byName: map[string]string{}} }

func (tp *trackPaths) add(ti *mount.TrackInfo) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.byName[ti.Display] = ti.Path
}

func (tp *trackPaths) path(title string) string {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.byName[title]
}

// waitReady waits until the station at route has published audio.
func waitReady(t *testing.T, h *harness, route string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.station(t, route).WaitReady(ctx); err != nil {
		t.Fatalf("station %s not ready: %v", route, err)
	}
}

// levelCapture is one listener's stream, checked frame by frame and
// decoded, with the tracks it heard whole.
type levelCapture struct {
	audio    []byte // whole frames only
	starts   []int  // byte offset of every frame, and len(audio) last
	samples  []int  // first sample (per channel) of every frame, and the total last
	frames   [][]byte
	rate     int
	channels int
	pcm      []float32 // the decoded stream, interleaved
	tracks   []heardTrack
}

// heardTrack is one track heard from its first frame to its last.
type heardTrack struct {
	title    string
	from, to int // frame indexes, to exclusive
	// froms and tos are the frames the track may start and end at: one
	// each when frames are longer than metaint, else every frame that
	// starts between the two metadata blocks around the title change
	// (from and to are the last of them until resolved).
	froms, tos []int
}

// captureTracks listens to route until n distinct titles have each been
// heard whole, then checks and splits the capture (finishCapture).
func captureTracks(t *testing.T, ffmpeg string, h *harness, route string, n int, limit time.Duration) *levelCapture {
	t.Helper()
	l := listenTo(t, h, route)
	if err := awaitWholeTracks(l, n, limit); err != nil {
		t.Fatal(err)
	}
	return finishCapture(t, ffmpeg, l)
}

// awaitWholeTracks reads l's metadata blocks until n distinct titles have
// each been heard whole (a title change before and after). It reports a
// failure instead of failing the test, so several listeners can be read
// at once.
func awaitWholeTracks(l *liveListener, n int, limit time.Duration) error {
	timeout := time.After(limit)
	whole := map[string]bool{}
	prev, changes := "", 0
	for len(whole) < n {
		select {
		case b := <-l.blocks:
			if b.title == prev {
				continue
			}
			if changes > 1 {
				whole[prev] = true // it began at the previous change
			}
			prev = b.title
			changes++
		case err := <-l.done:
			l.done <- err
			return fmt.Errorf("the listener's connection ended after %d of %d tracks heard whole: %w", len(whole), n, err)
		case <-timeout:
			return fmt.Errorf("%d of %d tracks heard whole within %v", len(whole), n, limit)
		}
	}
	return nil
}

// finishCapture ends l's capture and checks it: a continuous run of valid
// frames of one format (nothing skipped or dropped by mount.FrameReader)
// that ffmpeg decodes without a message at -v error to as many samples as
// the frames hold. It splits it into the tracks heard whole.
func finishCapture(t *testing.T, ffmpeg string, l *liveListener) *levelCapture {
	t.Helper()
	audio, blocks := l.finish()
	if l.err != nil {
		t.Fatalf("the listener's connection ended early: %v", l.err)
	}
	c := &levelCapture{}
	c.walk(t, audio)
	c.decode(t, ffmpeg)
	c.split(t, blocks)
	return c
}

// walk reads the capture with the server's own frame reader.
func (c *levelCapture) walk(t *testing.T, audio []byte) {
	t.Helper()
	fr := mount.NewFrameReader(bytes.NewReader(audio))
	pos, sample := 0, 0
	for {
		f, err := fr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("frame reader: %v after %d frames", err, len(c.frames))
		}
		if len(c.frames) == 0 {
			c.rate, c.channels = f.SampleRate, f.Channels
		} else if f.SampleRate != c.rate || f.Channels != c.channels {
			t.Fatalf("frame %d: %d Hz, %d channels after %d Hz, %d channels", len(c.frames), f.SampleRate, f.Channels, c.rate, c.channels)
		}
		c.starts = append(c.starts, pos)
		c.samples = append(c.samples, sample)
		c.frames = append(c.frames, bytes.Clone(f.Data))
		pos += len(f.Data)
		sample += f.Samples
	}
	c.starts = append(c.starts, pos)
	c.samples = append(c.samples, sample)
	if fr.Skipped != 0 || fr.Dropped != 0 {
		t.Errorf("frame reader: Skipped %d bytes, Dropped %d frames of the capture; want none", fr.Skipped, fr.Dropped)
	}
	if rest := len(audio) - pos; rest < 0 || rest >= 2881 { // the longest Layer III frame
		t.Errorf("the frames end at byte %d of %d", pos, len(audio))
	}
	if !bytes.Equal(bytes.Join(c.frames, nil), audio[:pos]) {
		t.Errorf("the frames are not the capture's bytes")
	}
	c.audio = audio[:pos]
}

// decode decodes the capture with ffmpeg to float samples.
func (c *levelCapture) decode(t *testing.T, ffmpeg string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "captured.mp3")
	if err := os.WriteFile(path, c.audio, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-nostdin", "-v", "error",
		"-i", path, "-f", "f32le", "-acodec", "pcm_f32le", "-")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg could not decode the capture: %v\n%s", err, stderr.Bytes())
	}
	if stderr.Len() > 0 {
		t.Errorf("ffmpeg -v error reported problems decoding the capture:\n%s", stderr.Bytes())
	}
	raw := out.Bytes()
	c.pcm = make([]float32, len(raw)/4)
	for i := range c.pcm {
		c.pcm[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	if got, want := len(c.pcm)/c.channels, c.samples[len(c.samples)-1]; got != want {
		t.Errorf("ffmpeg decoded %d samples; the capture's %d frames hold %d", got, len(c.frames), want)
	}
}

// split finds the tracks heard whole: a metadata block carries the title
// of the audio byte just before it, so a track whose title first shows in
// the block at b.at began in the metaint bytes before it, at a frame that
// starts there: the only one when frames are longer than metaint (see
// levelMetaint), else one of a few, which checkLevelled resolves from the
// file's own frames.
func (c *levelCapture) split(t *testing.T, blocks []metaBlock) {
	t.Helper()
	var begins []heardTrack // every title change, with the frames it may start at
	for i := 1; i < len(blocks); i++ {
		if blocks[i].title == blocks[i-1].title {
			continue
		}
		lo, hi := blocks[i-1].at, blocks[i].at
		first, _ := slices.BinarySearch(c.starts, lo)
		end, _ := slices.BinarySearch(c.starts, hi)
		end = min(end, len(c.frames))
		if first >= end {
			t.Fatalf("no frame starts between bytes %d and %d, where %q begins", lo, hi, blocks[i].title)
		}
		var froms []int
		for j := first; j < end; j++ {
			froms = append(froms, j)
		}
		begins = append(begins, heardTrack{title: blocks[i].title, from: end - 1, froms: froms})
	}
	for i := 0; i+1 < len(begins); i++ {
		tr := begins[i]
		tr.to, tr.tos = begins[i+1].from, begins[i+1].froms
		c.tracks = append(c.tracks, tr)
	}
}

// resolve picks the bounds among tr's candidates at which the heard frames
// are src's with one global_gain change, and returns the change; ok is
// false when no bounds give that.
func (c *levelCapture) resolve(tr *heardTrack, src [][]byte) (steps int, ok bool) {
	for _, from := range tr.froms {
		for _, to := range tr.tos {
			if to-from != len(src) {
				continue
			}
			if k, ok := gainOf(src, c.frames[from:to]); ok {
				tr.from, tr.to = from, to
				return k, true
			}
		}
	}
	return 0, false
}

// duration is the playing time of a track's frames.
func (c *levelCapture) duration(tr heardTrack) time.Duration {
	return time.Duration(c.samples[tr.to]-c.samples[tr.from]) * time.Second / time.Duration(c.rate)
}

// pcmOf is a track's decoded audio: its frames' samples, shifted by the
// decoder's delay.
func (c *levelCapture) pcmOf(tr heardTrack) []float32 {
	total := len(c.pcm) / c.channels
	from := min(c.samples[tr.from]+mp3DecoderDelay, total)
	to := min(c.samples[tr.to]+mp3DecoderDelay, total)
	return c.pcm[from*c.channels : to*c.channels]
}

// levelReading is a track's measurement in the capture.
type levelReading struct {
	integrated float64 // LUFS
	truePeak   float64 // dBTP
	samplePeak float64 // of full scale
}

// measureLevel measures pcm (interleaved float samples) with ffmpeg's
// ebur128 filter, a mono stream as dual mono like the analyzer.
func measureLevel(t *testing.T, ffmpeg string, pcm []float32, rate, channels int) levelReading {
	t.Helper()
	raw := make([]byte, 4*len(pcm))
	var r levelReading
	for i, s := range pcm {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(s))
		r.samplePeak = max(r.samplePeak, math.Abs(float64(s)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-nostdin", "-nostats",
		"-f", "f32le", "-ar", strconv.Itoa(rate), "-ac", strconv.Itoa(channels), "-i", "pipe:0",
		"-af", "ebur128=peak=true:dualmono=true", "-f", "null", "-")
	cmd.Stdin = bytes.NewReader(raw)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg ebur128: %v\n%s", err, out)
	}
	_, summary, ok := strings.Cut(string(out), "Summary:")
	if !ok {
		t.Fatalf("no ebur128 summary in:\n%s", out)
	}
	r.integrated = summaryValue(t, summary, "I:")
	_, tp, _ := strings.Cut(summary, "True peak:")
	r.truePeak = summaryValue(t, tp, "Peak:")
	return r
}

// summaryValue is the number after the first key in an ebur128 summary.
func summaryValue(t *testing.T, summary, key string) float64 {
	t.Helper()
	_, rest, ok := strings.Cut(summary, key)
	if !ok {
		t.Fatalf("no %q in the ebur128 summary:\n%s", key, summary)
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		t.Fatalf("nothing after %q in the ebur128 summary:\n%s", key, summary)
	}
	if fields[0] == "-inf" {
		return math.Inf(-1)
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		t.Fatalf("%q in the ebur128 summary: %v", key, err)
	}
	return v
}

// levelPlan is what a track measured as a should get from a station
// levelling to levelTarget, worked out from the rules the station
// follows: an MP3 played as its own frames moves in whole global_gain
// steps, the nearest to the target, with its true peak kept at or below
// 0 dBTP (loudness.DefaultCeiling); a file that goes through the encoder
// gets the exact gain with its true peak kept at or below -1 dBTP
// (loudness.DefaultEncodeCeiling); no track is raised by more than
// maxBoostSteps steps; cuts are never limited.
type levelPlan struct {
	steps   int     // for an MP3
	gain    float64 // dB
	limited string  // why the target is not reached; "" when it is
}

func planLevel(a loudness.Analysis, mp3 bool) levelPlan {
	if a.Silent {
		return levelPlan{limited: "silent"}
	}
	var p levelPlan
	want := levelTarget - a.Integrated
	if mp3 {
		ideal := int(math.Round(want / mount.GainStepDB))
		p.steps = ideal
		if room := int(math.Floor((loudness.DefaultCeiling-a.TruePeak)/mount.GainStepDB + 1e-9)); p.steps > 0 && p.steps > room {
			p.steps, p.limited = max(room, 0), fmt.Sprintf("true peak %.1f dBTP", a.TruePeak)
		}
		if p.steps > maxBoostSteps {
			p.steps, p.limited = maxBoostSteps, "boost cap"
		}
		p.gain = float64(p.steps) * mount.GainStepDB
		return p
	}
	p.gain = want
	if room := loudness.DefaultEncodeCeiling - a.TruePeak; p.gain > 0 && p.gain > room {
		p.gain, p.limited = max(room, 0), fmt.Sprintf("true peak %.1f dBTP", a.TruePeak)
	}
	if limit := maxBoostSteps * mount.GainStepDB; p.gain > limit {
		p.gain, p.limited = limit, "boost cap"
	}
	return p
}

// sourceFrames is the audio frames of an MP3 file as a station reads
// them (tags, junk and the Info frame left out).
func sourceFrames(t *testing.T, path string) [][]byte {
	t.Helper()
	fr, closer, err := mount.OpenMP3(path)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	var out [][]byte
	for {
		f, err := fr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, bytes.Clone(f.Data))
	}
}

// gainOf finds the global_gain change that turns src into got frame by
// frame (mount.AdjustGain): ok is false when got is not src with one
// change applied to every frame, which a re-encode or a lost or extra
// frame would make it.
func gainOf(src, got [][]byte) (steps int, ok bool) {
	if len(src) != len(got) || len(src) == 0 {
		return 0, false
	}
	buf := make([]byte, 0, 2881)
	for k := -40; k <= 40; k++ {
		match := true
		for i := range src {
			buf = append(buf[:0], src[i]...)
			mount.AdjustGain(buf, k)
			if !bytes.Equal(buf, got[i]) {
				match = false
				break
			}
		}
		if match {
			return k, true
		}
	}
	return 0, false
}

// levelResult is one track's row in the test's log.
type levelResult struct {
	title    string
	source   loudness.Analysis
	plan     levelPlan
	heard    levelReading
	duration time.Duration
	steps    string // the global_gain change found in the frames, or why none
}

func (r levelResult) String() string {
	limited := cmp.Or(r.plan.limited, "-")
	return fmt.Sprintf("%-40.40s | %6.1f LUFS %6.1f dBTP | %+6.2f dB (%s) | %6.1f LUFS %6.1f dBTP peak %.3f | %5.2f s | %s",
		r.title, r.source.Integrated, r.source.TruePeak, r.plan.gain, limited,
		r.heard.integrated, r.heard.truePeak, r.heard.samplePeak, r.duration.Seconds(), r.steps)
}

// checkLevelled measures every track heard whole in c against its plan
// and returns the results by title.
func checkLevelled(t *testing.T, ffmpeg string, c *levelCapture, paths *trackPaths, source map[string]loudness.Analysis, trims bool) map[string]levelResult {
	t.Helper()
	out := map[string]levelResult{}
	for _, tr := range c.tracks {
		if _, seen := out[tr.title]; seen {
			continue
		}
		path := paths.path(tr.title)
		a, ok := source[path]
		if !ok {
			t.Errorf("%q: heard, but its file %q was not measured", tr.title, path)
			continue
		}
		mp3 := mount.IsMP3(path)
		r := levelResult{title: tr.title, source: a, plan: planLevel(a, mp3)}
		switch start, end := a.Trim(mp3); {
		case !mp3:
			r.steps = "encoded"
		case trims && (start > 0 || end > 0):
			r.steps = "trimmed"
		default:
			if k, ok := c.resolve(&tr, sourceFrames(t, path)); ok {
				r.steps = fmt.Sprintf("%+d steps", k)
				if k != r.plan.steps {
					t.Errorf("%q: its frames carry %+d global_gain steps; want %+d", tr.title, k, r.plan.steps)
				}
			} else {
				r.steps = "not the file's frames"
				t.Errorf("%q: the %d frames heard are not the file's frames with one global_gain change", tr.title, tr.to-tr.from)
			}
		}
		r.duration = c.duration(tr)
		r.heard = measureLevel(t, ffmpeg, c.pcmOf(tr), c.rate, c.channels)
		out[tr.title] = r
		t.Log(r)

		if a.Silent {
			continue
		}
		if r.plan.limited == "" && math.Abs(r.heard.integrated-levelTarget) > levelTolerance {
			t.Errorf("%q: %.1f LUFS heard; want %.1f ± %.1f", tr.title, r.heard.integrated, levelTarget, levelTolerance)
		}
		if want := a.Integrated + r.plan.gain; math.Abs(r.heard.integrated-want) > planTolerance {
			t.Errorf("%q: %.1f LUFS heard; its %.1f LUFS with the %+.2f dB it should get (%s) is %.1f",
				tr.title, r.heard.integrated, a.Integrated, r.plan.gain, cmp.Or(r.plan.limited, "target reached"), want)
		}
		// No clipping added: a source without a sample at full scale
		// (its true peak under 0 dBTP) must not get one.
		if a.TruePeak < 0 && r.heard.samplePeak >= 1 {
			t.Errorf("%q: a sample at %.4f of full scale; the source's true peak is %.1f dBTP", tr.title, r.heard.samplePeak, a.TruePeak)
		}
		if a.TruePeak >= 0 && r.plan.gain > 0 {
			t.Errorf("%q: raised by %+.2f dB though its true peak is %.1f dBTP", tr.title, r.plan.gain, a.TruePeak)
		}
	}
	return out
}

// TestLoudnessLevellingEndToEnd is the acceptance test of levelling and
// trimming: five tracks from about -30 to -12 LUFS (four MP3s, one WAV)
// and an MP3 of 20 s silence, 4 s tone, 20 s silence, measured before the
// station starts, play on a station at -16 LUFS with trim_silence. Each
// track one listener hears whole measures -16 ± 1.5 LUFS with no sample
// at full scale; each MP3 is its file's frames with only global_gain
// changed, by the steps the rules give; the stream is one run of valid
// frames ffmpeg decodes without a message; the padded track lasts its
// 4 s of tone (and the margins), not 44 s.
func TestLoudnessLevellingEndToEnd(t *testing.T) {
	t.Parallel()
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	dir := t.TempDir()
	fixtures := levelFixtures()
	var paths []string
	for _, f := range fixtures {
		p := filepath.Join(dir, f.file)
		makeTrack(t, ffmpeg, p, f.title, f.source, f.args...)
		paths = append(paths, p)
	}
	an, source := preMeasure(t, paths)
	for i, f := range fixtures {
		a := source[paths[i]]
		if p := planLevel(a, mount.IsMP3(f.file)); p.limited != "" {
			t.Fatalf("fixture %s (%.1f LUFS, %.1f dBTP) cannot reach %.0f LUFS: %s", f.file, a.Integrated, a.TruePeak, levelTarget, p.limited)
		}
	}
	if a := source[paths[0]]; a.Integrated > -28 {
		t.Fatalf("fixture %s is %.1f LUFS: not quiet enough to need a large raise", fixtures[0].file, a.Integrated)
	}
	if a := source[paths[3]]; a.Integrated < -14 {
		t.Fatalf("fixture %s is %.1f LUFS: not loud enough to need a cut", fixtures[3].file, a.Integrated)
	}

	const route = "/levelled"
	tracks := newTrackPaths()
	h := startHarness(t, nil, stationSpec{
		Station:  config.Station{Route: route, Dir: dir, Loudness: levelTarget, TrimSilence: true, Metaint: levelMetaint},
		loudness: an,
		onTrack:  tracks.add,
	})
	waitReady(t, h, route)
	c := captureTracks(t, ffmpeg, h, route, len(fixtures), 2*time.Minute)
	results := checkLevelled(t, ffmpeg, c, tracks, source, true)
	if len(results) != len(fixtures) {
		t.Errorf("heard %d tracks whole, want %d", len(results), len(fixtures))
	}
	padded := results["Levels - Padded tone"]
	if padded.title == "" {
		t.Fatal("the padded track was not heard whole")
	}
	// 4 s of tone, Margin kept either side, the one frame kept for the bit
	// reservoir and a frame of rounding at each end: under 4.3 s.
	if d := padded.duration; d < 4*time.Second || d > 4300*time.Millisecond {
		t.Errorf("the padded track played %v; want its 4 s of tone and margins (not its 44 s)", d)
	}
}

// TestLoudnessOffPlaysFilesByteForByte: on a station that neither levels
// nor trims, every track heard whole is its file's audio frames byte for
// byte.
func TestLoudnessOffPlaysFilesByteForByte(t *testing.T) {
	t.Parallel()
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	dir := t.TempDir()
	var paths []string
	for _, f := range []levelFixture{
		{file: "01 quiet.mp3", title: "Quiet tone", source: stereoTone(440, 0.036, 3)},
		{file: "02 loud.mp3", title: "Loud tone", source: stereoTone(1000, 0.25, 3)},
	} {
		p := filepath.Join(dir, f.file)
		makeTrack(t, ffmpeg, p, f.title, f.source)
		paths = append(paths, p)
	}
	const route = "/plain"
	tracks := newTrackPaths()
	h := startHarness(t, nil, stationSpec{
		Station: config.Station{Route: route, Dir: dir, Metaint: levelMetaint},
		onTrack: tracks.add,
	})
	waitReady(t, h, route)
	c := captureTracks(t, ffmpeg, h, route, len(paths), time.Minute)
	checked := 0
	for _, tr := range c.tracks {
		path := tracks.path(tr.title)
		want := bytes.Join(sourceFrames(t, path), nil)
		got := c.audio[c.starts[tr.from]:c.starts[tr.to]]
		if !bytes.Equal(got, want) {
			t.Errorf("%q: %d bytes heard are not its file's %d bytes of frames", tr.title, len(got), len(want))
		}
		checked++
	}
	if checked < len(paths) {
		t.Errorf("checked %d tracks, want at least %d", checked, len(paths))
	}
}

// corpusStation is one station of the corpus test: files of one format
// (an MP3's frames pass through as they are, so a stream must not change
// sample rate or channels to stay one valid stream), about half a minute
// of them.
type corpusStation struct {
	route    string
	dir      string
	rate     int
	channels int
	files    []string // corpus paths
	seconds  float64
}

// corpusDuration is a playable corpus file's length in seconds: its
// frames' for an MP3, its data over its byte rate for a WAV.
func corpusDuration(t *testing.T, dir string, f testmedia.ManifestFile) float64 {
	t.Helper()
	if f.Mpeg != nil {
		return f.Mpeg.StreamDurationS
	}
	data, err := os.ReadFile(filepath.Join(dir, f.Path))
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 44 || binary.LittleEndian.Uint32(data[28:32]) == 0 {
		t.Fatalf("%s: no WAV byte rate", f.Path)
	}
	return float64(len(data)-44) / float64(binary.LittleEndian.Uint32(data[28:32]))
}

// corpusStations spreads the corpus's playable files over stations by
// format, about corpusSeconds each, in manifest order, and copies each
// station's files into a folder of its own, numbered in play order. A
// format with one file gets a companion tone of that format, so its
// station has a title change to split at.
func corpusStations(t *testing.T, ffmpeg, dir string, man *testmedia.Manifest) []*corpusStation {
	t.Helper()
	const corpusSeconds = 25
	type format struct{ rate, channels int }
	var order []format
	byFormat := map[format][]*corpusStation{}
	for _, f := range man.Files {
		var key format
		switch {
		case f.ExpectedBehaviour == "play":
			key = format{f.SampleRate, f.Channels}
		case strings.HasPrefix(f.ExpectedBehaviour, "play:"):
			key = format{44100, 2} // encoded to the station's format
		default:
			continue
		}
		sts := byFormat[key]
		if len(sts) == 0 {
			order = append(order, key)
		}
		if len(sts) == 0 || sts[len(sts)-1].seconds >= corpusSeconds {
			sts = append(sts, &corpusStation{rate: key.rate, channels: key.channels})
			byFormat[key] = sts
		}
		last := sts[len(sts)-1]
		last.files = append(last.files, f.Path)
		last.seconds += corpusDuration(t, dir, f)
	}
	var out []*corpusStation
	for _, key := range order {
		sts := byFormat[key]
		if n := len(sts); n > 1 && len(sts[n-1].files) == 1 {
			sts[n-2].files = append(sts[n-2].files, sts[n-1].files...)
			sts = sts[:n-1]
		}
		for _, st := range sts {
			st.route = fmt.Sprintf("/corpus%d", len(out)+1)
			st.dir = t.TempDir()
			for i, rel := range st.files {
				data, err := os.ReadFile(filepath.Join(dir, rel))
				if err != nil {
					t.Fatal(err)
				}
				testmedia.WriteFile(t, st.dir, fmt.Sprintf("%02d %s", i+1, filepath.Base(rel)), data)
			}
			if len(st.files) == 1 {
				tone := fmt.Sprintf("aevalsrc=0.1*sin(2*PI*500*t):s=%d:d=5", st.rate)
				makeTrack(t, ffmpeg, filepath.Join(st.dir, "99 companion.mp3"), "Companion "+st.route, tone,
					"-ac", strconv.Itoa(st.channels))
				st.files = append(st.files, "(companion tone)")
			}
			out = append(out, st)
		}
	}
	return out
}

// TestLoudnessLevellingCorpus plays every playable file of the shared
// corpus (MP3s of every variant, WAVs through the encoder) on stations at
// -16 LUFS and measures each track a listener hears whole, as
// TestLoudnessLevellingEndToEnd does: -16 ± 1.5 LUFS for every track the
// rules let reach it, and for a track whose true peak (or the boost cap)
// holds it back, exactly the raise the ceiling allows (for an MP3, the
// global_gain steps found in its frames). It logs a row per track.
func TestLoudnessLevellingCorpus(t *testing.T) {
	t.Parallel()
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	dir, man := testmedia.Corpus(t)
	stations := corpusStations(t, ffmpeg, dir, man)
	var paths []string
	for _, st := range stations {
		entries, err := os.ReadDir(st.dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			paths = append(paths, filepath.Join(st.dir, e.Name()))
		}
	}
	an, source := preMeasure(t, paths)

	specs := make([]stationSpec, len(stations))
	tracks := make([]*trackPaths, len(stations))
	for i, st := range stations {
		tracks[i] = newTrackPaths()
		specs[i] = stationSpec{
			Station:  config.Station{Route: st.route, Dir: st.dir, Loudness: levelTarget, Metaint: levelMetaint},
			loudness: an,
			onTrack:  tracks[i].add,
		}
	}
	h := startHarness(t, nil, specs...)
	// Every station's listener is read at once (the stations play in
	// real time), then each capture is checked in turn.
	listeners := make([]*liveListener, len(stations))
	for i, st := range stations {
		waitReady(t, h, st.route)
		listeners[i] = listenTo(t, h, st.route)
	}
	errs := make([]error, len(stations))
	var wg sync.WaitGroup
	for i, st := range stations {
		wg.Go(func() { errs[i] = awaitWholeTracks(listeners[i], len(st.files), 3*time.Minute) })
	}
	wg.Wait()
	var limited []string
	heard := 0
	for i, st := range stations {
		t.Run(strings.TrimPrefix(st.route, "/"), func(t *testing.T) {
			t.Logf("%d Hz, %d channels, %.1f s: %q", st.rate, st.channels, st.seconds, st.files)
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			c := finishCapture(t, ffmpeg, listeners[i])
			results := checkLevelled(t, ffmpeg, c, tracks[i], source, false)
			if len(results) != len(st.files) {
				t.Errorf("heard %d tracks whole, want %d", len(results), len(st.files))
			}
			heard += len(results)
			for _, r := range results {
				if r.plan.limited != "" {
					limited = append(limited, fmt.Sprintf("%s (%s: %+.2f dB, %.1f LUFS heard)", r.title, r.plan.limited, r.plan.gain, r.heard.integrated))
				}
			}
		})
	}
	slices.Sort(limited)
	t.Logf("%d tracks measured on %d stations; %d held back from %.0f LUFS: %q", heard, len(stations), len(limited), levelTarget, limited)
}
