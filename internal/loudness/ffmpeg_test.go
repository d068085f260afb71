package loudness

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// Encodings the fixtures are written in.
var (
	asWAV = []string{"-c:a", "pcm_s16le"}
	asMP3 = []string{"-c:a", "libmp3lame", "-b:a", "192k"}
)

// synth writes dir/name from an ffmpeg lavfi source graph, encoded with
// codec, and returns its path.
func synth(t testing.TB, dir, name, graph string, codec []string) string {
	t.Helper()
	bin := testmedia.RequireTool(t, "ffmpeg")
	p := filepath.Join(dir, name)
	args := append([]string{"-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", graph}, codec...)
	if out, err := exec.Command(bin, append(args, p)...).CombinedOutput(); err != nil {
		t.Fatalf("synthesising %s: %v\n%s", name, err, out)
	}
	return p
}

// tone is a stereo 1 kHz sine of the given peak (a fraction of full scale)
// between from and to seconds of a file of total seconds, silent elsewhere.
func tone(peak, from, to, total float64) string {
	return fmt.Sprintf("aevalsrc='if(between(t,%g,%g),%g*sin(2*PI*1000*t),0)':c=stereo:s=44100:d=%g", from, to, peak, total)
}

// loudnorm measures path with ffmpeg's loudnorm filter, whose loudness
// meter is a separate implementation from ebur128's: the reference for
// signals without a closed-form loudness.
func loudnorm(t *testing.T, path string) (integrated, truePeak float64) {
	t.Helper()
	out, err := exec.Command(testmedia.RequireTool(t, "ffmpeg"), "-nostdin", "-hide_banner", "-nostats",
		"-i", path, "-af", "loudnorm=print_format=json", "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("loudnorm: %v\n%s", err, out)
	}
	s := string(out)
	i, j := strings.LastIndex(s, "{"), strings.LastIndex(s, "}")
	if i < 0 || j < i {
		t.Fatalf("no JSON from loudnorm:\n%s", out)
	}
	var doc struct {
		I  string `json:"input_i"`
		TP string `json:"input_tp"`
	}
	if err := json.Unmarshal([]byte(s[i:j+1]), &doc); err != nil {
		t.Fatal(err)
	}
	integrated, err1 := strconv.ParseFloat(doc.I, 64)
	truePeak, err2 := strconv.ParseFloat(doc.TP, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("loudnorm numbers %q %q", doc.I, doc.TP)
	}
	return integrated, truePeak
}

func analyzeOK(t *testing.T, path string, p Params) Analysis {
	t.Helper()
	a, err := Analyze(context.Background(), "", path, p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

func nearDur(got, want, tol time.Duration) bool { return (got - want).Abs() <= tol }

// A stereo 1 kHz sine of peak A has loudness 20·log10(A) LUFS: the
// K-weighting gain at 1 kHz (+0.691 dB) cancels BS.1770's -0.691 offset,
// and two channels of mean square A²/2 sum to A². So -20 dBFS peak is
// -20 LUFS and -20 dBTP.
func TestAnalyzeSineHasItsKnownLoudness(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		codec        []string
		ext          string
		tolI, tolTP  float64
		delay        time.Duration
		tolDuration  time.Duration
		wantDuration time.Duration
	}{
		{asWAV, "wav", 0.15, 0.15, 0, 0, 10 * time.Second},
		// LAME's quantisation costs a pure tone about 0.25 dB. ffmpeg
		// drops the 576+529-sample encoder delay (Delay) and the padding,
		// so the duration is the source's.
		{asMP3, "mp3", 0.5, 0.5, 1105 * time.Second / 44100, time.Millisecond, 10 * time.Second},
	} {
		t.Run(tc.ext, func(t *testing.T) {
			p := synth(t, dir, "sine."+tc.ext, tone(0.1, 0, 10, 10), tc.codec)
			a := analyzeOK(t, p, Params{})
			if !near(a.Integrated, -20, tc.tolI) || !near(a.TruePeak, -20, tc.tolTP) {
				t.Errorf("I %.2f LUFS, TP %.2f dBTP; want -20 ±%v, -20 ±%v", a.Integrated, a.TruePeak, tc.tolI, tc.tolTP)
			}
			if wantI, wantTP := loudnorm(t, p); !near(a.Integrated, wantI, 0.15) || !near(a.TruePeak, wantTP, 0.15) {
				t.Errorf("I %.2f TP %.2f; loudnorm says %.2f, %.2f", a.Integrated, a.TruePeak, wantI, wantTP)
			}
			if !nearDur(a.Duration, tc.wantDuration, tc.tolDuration) || a.Start != 0 || a.End != a.Duration || a.Silent {
				t.Errorf("Duration %v Start %v End %v Silent %v; want %v, 0, Duration, false", a.Duration, a.Start, a.End, a.Silent, tc.wantDuration)
			}
			if !nearDur(a.Delay, tc.delay, time.Microsecond) {
				t.Errorf("Delay %v, want %v", a.Delay, tc.delay)
			}
			if a.Method != Method || a.Version != FormatVersion || a.MeasuredAt.IsZero() {
				t.Errorf("provenance missing: %+v", a)
			}
			// +4 dB to -16 LUFS is 2.66 steps → 3; the peak (-15.5) is far
			// below the ceiling.
			if s := a.Steps(-16, DefaultCeiling); s != 3 {
				t.Errorf("Steps(-16) = %d, want 3", s)
			}
		})
	}
}

func TestAnalyzeMonoCountsAsDualMono(t *testing.T) {
	dir := t.TempDir()
	p := synth(t, dir, "mono.wav", "aevalsrc='0.1*sin(2*PI*1000*t)':c=mono:s=44100:d=8", asWAV)
	a := analyzeOK(t, p, Params{})
	// Measured as one channel it would be -23 LUFS; heard on two speakers
	// it is as loud as the stereo sine.
	if !near(a.Integrated, -20, 0.15) {
		t.Errorf("mono -20 dBFS sine: I %.2f LUFS, want -20 (dual mono)", a.Integrated)
	}
}

func TestAnalyzePinkNoiseAgreesWithLoudnorm(t *testing.T) {
	dir := t.TempDir()
	for _, codec := range [][]string{asWAV, asMP3} {
		name := "pink." + map[bool]string{true: "wav", false: "mp3"}[codec[1] == "pcm_s16le"]
		t.Run(name, func(t *testing.T) {
			p := synth(t, dir, name, "anoisesrc=color=pink:amplitude=0.5:duration=20:seed=7,aformat=channel_layouts=stereo", codec)
			a := analyzeOK(t, p, Params{})
			wantI, wantTP := loudnorm(t, p)
			if !near(a.Integrated, wantI, 0.3) || !near(a.TruePeak, wantTP, 0.5) {
				t.Errorf("I %.2f TP %.2f; loudnorm says %.2f, %.2f", a.Integrated, a.TruePeak, wantI, wantTP)
			}
		})
	}
}

// 20 s of silence, 10 s of tone, 20 s of silence: the audible part is
// 20–30 s. Start must fall within 100 ms before it and End within 100 ms
// after it, never inside.
func TestAnalyzeFindsLeadingAndTrailingSilence(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		codec []string
		ext   string
	}{{asWAV, "wav"}, {asMP3, "mp3"}} {
		t.Run(tc.ext, func(t *testing.T) {
			p := synth(t, dir, "padded."+tc.ext, tone(0.1, 20, 30, 50), tc.codec)
			a := analyzeOK(t, p, Params{})
			// Gating leaves the silence out: the loudness is the tone's
			// (less a little for the 400 ms blocks at its edges).
			if wantI, _ := loudnorm(t, p); a.Silent || !near(a.Integrated, -20, 0.5) || !near(a.Integrated, wantI, 0.15) {
				t.Errorf("I %.2f (loudnorm %.2f) Silent %v, want about -20", a.Integrated, wantI, a.Silent)
			}
			if a.Start > 20*time.Second || a.Start < 20*time.Second-100*time.Millisecond {
				t.Errorf("Start %v, want within 100 ms before 20s", a.Start)
			}
			if a.End < 30*time.Second || a.End > 30*time.Second+100*time.Millisecond {
				t.Errorf("End %v, want within 100 ms after 30s", a.End)
			}
			if !nearDur(a.Duration, 50*time.Second, time.Millisecond) {
				t.Errorf("Duration %v, want 50s", a.Duration)
			}
			start, end := a.Trim(true)
			if start != a.Start+a.Delay || end != a.End+a.Delay {
				t.Errorf("Trim(true) = %v, %v; want shifted by Delay %v", start, end, a.Delay)
			}
		})
	}
}

func TestAnalyzeThresholdDecidesWhatIsSilence(t *testing.T) {
	dir := t.TempDir()
	// A -60 dBFS hum for 3 s, then a -20 dBFS tone for 4 s.
	graph := "aevalsrc='if(lt(t,3),0.001,0.1)*sin(2*PI*1000*t)':c=stereo:s=44100:d=7"
	p := synth(t, dir, "hum.wav", graph, asWAV)
	if a := analyzeOK(t, p, Params{}); a.Start < 2900*time.Millisecond || a.Start > 3*time.Second {
		t.Errorf("at -50 dBFS the hum is silence: Start %v, want just before 3s", a.Start)
	}
	if a := analyzeOK(t, p, Params{SilenceThreshold: -70}); a.Start != 0 || a.SilenceThreshold != -70 {
		t.Errorf("at -70 dBFS the hum is sound: Start %v (threshold %v), want 0", a.Start, a.SilenceThreshold)
	}
}

func TestAnalyzeSilentFiles(t *testing.T) {
	dir := t.TempDir()
	for name, graph := range map[string]string{
		"digital.wav": "anullsrc=r=44100:cl=stereo:d=5",
		"hum.wav":     tone(0.001, 0, 5, 5), // -60 dBFS: above the gate, below the threshold
		"hum.mp3":     tone(0.001, 0, 5, 5),
	} {
		codec := asWAV
		if strings.HasSuffix(name, ".mp3") {
			codec = asMP3
		}
		a := analyzeOK(t, synth(t, dir, name, graph, codec), Params{})
		if !a.Silent {
			t.Errorf("%s: not Silent: %+v", name, a)
		}
		if a.Steps(-16, DefaultCeiling) != 0 || a.Gain(-16, DefaultEncodeCeiling) != 0 {
			t.Errorf("%s: a silent file must play unchanged", name)
		}
		if s, e := a.Trim(true); s != 0 || e != 0 {
			t.Errorf("%s: Trim %v, %v; want 0, 0", name, s, e)
		}
		if _, err := json.Marshal(a); err != nil {
			t.Errorf("%s: cannot be cached: %v", name, err)
		}
	}
}

func TestAnalyzeUndecodableFiles(t *testing.T) {
	dir := t.TempDir()
	testmedia.RequireTool(t, "ffmpeg")
	for name, data := range map[string][]byte{
		"text.mp3":        []byte("this is not audio\n"),
		"empty.mp3":       nil,
		"header-only.wav": testmedia.WAV(0, 44100, 2, 16),
	} {
		p := testmedia.WriteFile(t, dir, name, data)
		_, err := Analyze(context.Background(), "", p, Params{})
		if !errors.Is(err, ErrUndecodable) {
			t.Errorf("%s: error %v, want ErrUndecodable", name, err)
		}
	}
	_, err := Analyze(context.Background(), "", filepath.Join(dir, "missing.mp3"), Params{})
	if err == nil || errors.Is(err, ErrUndecodable) {
		t.Errorf("a missing file: error %v, want one that is not ErrUndecodable (it may come back)", err)
	}
	if _, err := Analyze(context.Background(), filepath.Join(dir, "no-ffmpeg"), synth(t, dir, "ok.wav", tone(0.1, 0, 1, 1), asWAV), Params{}); err == nil || errors.Is(err, ErrUndecodable) {
		t.Errorf("ffmpeg missing: error %v, want one that is not ErrUndecodable", err)
	}
}

// hugeWAV writes a WAV header announcing 4 GB of samples over a sparse
// file of that size: ffmpeg takes minutes to measure it.
func hugeWAV(t *testing.T, dir string) string {
	t.Helper()
	hdr := testmedia.WAV(0, 44100, 2, 16)
	binary.LittleEndian.PutUint32(hdr[4:], 0xFFFFFFF0)
	binary.LittleEndian.PutUint32(hdr[40:], 0xFFFFFFC0)
	p := testmedia.WriteFile(t, dir, "huge.wav", hdr)
	if err := os.Truncate(p, 0xFFFFFFC0+44); err != nil {
		t.Fatal(err)
	}
	return p
}

// niceness reads a process's nice value from /proc (field 19 of stat).
func niceness(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatalf("process %d: %v", pid, err)
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // after the command name
	n, err := strconv.Atoi(fields[16])                            // field 19 overall
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAnalyzeRunsAtLowPriorityAndDiesWithItsContext(t *testing.T) {
	testmedia.RequireTool(t, "ffmpeg")
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	p := hugeWAV(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pids := make(chan int, 1)
	done := make(chan error, 1)
	go func() {
		_, err := analyze(ctx, "", p, Params{}, time.Now, func(_ string, pid int) { pids <- pid })
		done <- err
	}()
	pid := <-pids
	if n := niceness(t, pid); n != lowestPriority {
		t.Errorf("ffmpeg runs at nice %d, want %d", n, lowestPriority)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	// Reaped, not a zombie: the pid is gone from /proc.
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ffmpeg %d still exists after Analyze returned: %v", pid, err)
	}
}
