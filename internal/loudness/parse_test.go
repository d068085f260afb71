package loudness

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// ffmpegLog builds ffmpeg 5.1's stderr for a measurement (the layout
// Analyze parses, from a real run) with the given silencedetect lines.
func ffmpegLog(start string, silence []string, integrated, peak string) string {
	var b strings.Builder
	b.WriteString("Input #0, mp3, from 'file:/music/a.mp3':\n")
	b.WriteString("  Metadata:\n    title           : A\n")
	fmt.Fprintf(&b, "  Duration: 00:00:10.03, start: %s, bitrate: 128 kb/s\n", start)
	b.WriteString("  Stream #0:0: Audio: mp3, 44100 Hz, stereo, fltp, 128 kb/s\nStream mapping:\n")
	b.WriteString("  Stream #0:0 -> #0:0 (mp3 (mp3float) -> pcm_s16le (native))\n")
	// Every silence line but an end-of-input one comes before the summary.
	last := len(silence)
	if last > 0 && strings.Contains(silence[last-1], "EOF") {
		last--
	}
	for _, s := range silence[:last] {
		b.WriteString("[silencedetect @ 0x56318580e240] " + s + "\n")
	}
	b.WriteString("video:0kB audio:1723kB subtitle:0kB other streams:0kB global headers:0kB muxing overhead: unknown\n")
	b.WriteString("[Parsed_ebur128_1 @ 0x563185811140] Summary:\n\n")
	b.WriteString("  Integrated loudness:\n    I:         " + integrated + " LUFS\n    Threshold: -51.1 LUFS\n\n")
	b.WriteString("  Loudness range:\n    LRA:         8.8 LU\n    Threshold: -63.1 LUFS\n    LRA low:   -49.5 LUFS\n    LRA high:  -40.8 LUFS\n\n")
	b.WriteString("  True peak:\n    Peak:      " + peak + " dBFS\n")
	for _, s := range silence[last:] {
		b.WriteString("[silencedetect @ 0x56318580e240] " + strings.TrimSuffix(s, " EOF") + "\n")
	}
	return b.String()
}

// parse runs Analyze's parser over a log and a -progress duration.
func parse(t *testing.T, log string, durationUS int64) (Analysis, error) {
	t.Helper()
	var o output
	w := &lineWriter{line: o.logLine, keepTail: true}
	// In uneven pieces, as a pipe delivers them.
	for i := 0; i < len(log); i += 37 {
		if _, err := w.Write([]byte(log[i:min(i+37, len(log))])); err != nil {
			t.Fatal(err)
		}
	}
	p := &lineWriter{line: o.progressLine}
	fmt.Fprintf(p, "out_time_us=0\nprogress=continue\nout_time_us=%d\nout_time_ms=%d\nprogress=end\n", durationUS, durationUS)
	return o.analysis(Params{})
}

func TestParseLeadingAndTrailingSilence(t *testing.T) {
	log := ffmpegLog("0.025057", []string{
		"silence_start: 0",
		"silence_end: 3.00009 | silence_duration: 3.00009",
		"silence_start: 5.2", // a pause in the middle: not trimmed
		"silence_end: 5.9 | silence_duration: 0.7",
		"silence_start: 6.99993",
		"silence_end: 10 | silence_duration: 3.00007 EOF",
	}, "-41.1", "-41.2")
	a, err := parse(t, log, 10_000_000)
	if err != nil {
		t.Fatal(err)
	}
	if a.Integrated != -41.1 || a.TruePeak != -41.2 {
		t.Errorf("I=%v TP=%v, want -41.1, -41.2", a.Integrated, a.TruePeak)
	}
	if a.Duration != 10*time.Second || a.Delay != 25057*time.Microsecond {
		t.Errorf("Duration %v Delay %v, want 10s, 25.057ms", a.Duration, a.Delay)
	}
	if a.Silent {
		t.Error("Silent set for a file with a tone")
	}
	// 3.00009 less Margin and the print's slack (half of 1e-5, plus 1 ms).
	if want := 3000090*time.Microsecond - Margin - 1005*time.Microsecond; a.Start != want {
		t.Errorf("Start = %v, want %v", a.Start, want)
	}
	if want := 6999930*time.Microsecond + Margin + 1005*time.Microsecond; a.End != want {
		t.Errorf("End = %v, want %v", a.End, want)
	}
	if a.Method != Method || a.Version != FormatVersion || a.SilenceThreshold != DefaultSilenceThreshold {
		t.Errorf("provenance %q v%d threshold %v", a.Method, a.Version, a.SilenceThreshold)
	}
}

func TestParseNoSilenceAtTheEdges(t *testing.T) {
	log := ffmpegLog("0.000000", []string{
		"silence_start: 2.5",
		"silence_end: 3.5 | silence_duration: 1",
	}, "-20.0", "-20.0")
	a, err := parse(t, log, 8_000_000)
	if err != nil {
		t.Fatal(err)
	}
	if a.Start != 0 || a.End != a.Duration || a.Duration != 8*time.Second || a.Delay != 0 {
		t.Errorf("Start %v End %v Duration %v Delay %v; want 0, Duration, 8s, 0", a.Start, a.End, a.Duration, a.Delay)
	}
}

func TestParseTrailingSilenceWithoutAnEndLine(t *testing.T) {
	// A later ffmpeg might not report the end at end of input: a silence
	// still open is trailing.
	log := ffmpegLog("0", []string{"silence_start: 4.5"}, "-20.0", "-19.9")
	a, err := parse(t, log, 6_000_000)
	if err != nil {
		t.Fatal(err)
	}
	if want := 4500*time.Millisecond + Margin + 1005*time.Microsecond; a.End != want || a.Start != 0 {
		t.Errorf("Start %v End %v, want 0, %v", a.Start, a.End, want)
	}
}

func TestParseSilenceEndingJustBeforeTheEndIsNotTrailing(t *testing.T) {
	// A click in the last 20 ms: the silence before it is not trailing.
	log := ffmpegLog("0", []string{"silence_start: 4", "silence_end: 5.98 | silence_duration: 1.98"}, "-20.0", "-19.9")
	a, err := parse(t, log, 6_000_000)
	if err != nil {
		t.Fatal(err)
	}
	if a.End != a.Duration {
		t.Errorf("End %v, want Duration %v: the click must be kept", a.End, a.Duration)
	}
}

func TestParseAllSilent(t *testing.T) {
	for name, tc := range map[string]struct {
		silence []string
		i, peak string
	}{
		"digital silence":                    {[]string{"silence_start: 0", "silence_end: 5 | silence_duration: 5 EOF"}, "-70.0", "-inf"},
		"hum below the threshold":            {[]string{"silence_start: 0", "silence_end: 5 | silence_duration: 5 EOF"}, "-63.0", "-60.0"},
		"too short to gate, no silence line": {nil, "-70.0", "-12.0"},
	} {
		a, err := parse(t, ffmpegLog("0", tc.silence, tc.i, tc.peak), 5_000_000)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !a.Silent {
			t.Errorf("%s: not marked Silent: %+v", name, a)
		}
		if math.IsInf(a.TruePeak, 0) || a.TruePeak < MinPeak {
			t.Errorf("%s: TruePeak %v, want finite ≥ MinPeak (it is stored as JSON)", name, a.TruePeak)
		}
	}
}

func TestParseLongFileKeepsTheMarginDespitePrintRounding(t *testing.T) {
	// "%.6g" of 12345.6789 s is "12345.7": up to 50 ms off. The trim must
	// still not cut into the sound.
	log := ffmpegLog("0", []string{
		"silence_start: 0",
		"silence_end: 12345.7 | silence_duration: 12345.7",
		"silence_start: 13000.1",
		"silence_end: 14000 | silence_duration: 999.9 EOF",
	}, "-20.0", "-3.0")
	a, err := parse(t, log, 14_000_000_000)
	if err != nil {
		t.Fatal(err)
	}
	trueEnd := 12345650 * time.Millisecond // the earliest "12345.7" can mean
	if a.Start > trueEnd-Margin {
		t.Errorf("Start %v cuts into the margin before sound at %v", a.Start, trueEnd)
	}
	trueStart := 13000150 * time.Millisecond // the latest "13000.1" can mean
	if a.End < trueStart+Margin {
		t.Errorf("End %v cuts into the margin after sound until %v", a.End, trueStart)
	}
}

func TestParseRejectsIncompleteOutput(t *testing.T) {
	for name, log := range map[string]string{
		"no summary":     "Input #0, mp3, from 'file:x':\n  Duration: N/A, start: 0, bitrate: N/A\n",
		"no true peak":   strings.ReplaceAll(ffmpegLog("0", nil, "-20.0", "-3.0"), "Peak:", "Paek:"),
		"garbled number": strings.ReplaceAll(ffmpegLog("0", nil, "-20.0", "-3.0"), "-20.0 LUFS", "n/a LUFS"),
	} {
		if _, err := parse(t, log, 5_000_000); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := parse(t, ffmpegLog("0", nil, "-70.0", "-inf"), 0); err == nil {
		t.Error("nothing decoded (out_time 0): no error")
	}
}

func TestParseIgnoresSamplePeakAndSilenceLinesFromElsewhere(t *testing.T) {
	log := ffmpegLog("0", nil, "-20.0", "-3.0")
	log = strings.Replace(log, "  True peak:", "  Sample peak:\n    Peak:        2.0 dBFS\n  True peak:", 1)
	// A tag value mentioning silence is printed indented, never as a
	// silencedetect line.
	log = strings.Replace(log, "title           : A", "title           : silence_start: 0", 1)
	a, err := parse(t, log, 5_000_000)
	if err != nil {
		t.Fatal(err)
	}
	if a.TruePeak != -3 || a.Start != 0 || a.End != a.Duration {
		t.Errorf("TruePeak %v Start %v End %v; want -3, 0, Duration", a.TruePeak, a.Start, a.End)
	}
}

func TestLineWriterBoundsLongLines(t *testing.T) {
	var got []string
	w := &lineWriter{line: func(s string) { got = append(got, s) }, keepTail: true}
	long := strings.Repeat("x", 3*maxLine)
	fmt.Fprintf(w, "a\r%s\nb\n", long)
	if len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("lines %d (%.20q…), want a and b with the over-long line dropped", len(got), got)
	}
	if n := len(w.tail()); n > tailBytes {
		t.Errorf("tail holds %d bytes, want ≤ %d", n, tailBytes)
	}
}

func TestSummarizeKeepsTheLastLines(t *testing.T) {
	got := summarize("x\n[mp3 @ 0x1] a\n\n[silencedetect @ 0x2] silence_start: 0\nfile:x: Invalid argument\n")
	if got != "x; [mp3 @ 0x1] a; file:x: Invalid argument" {
		t.Errorf("summarize = %q", got)
	}
}
