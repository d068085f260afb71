package loudness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrUndecodable marks a file ffmpeg ran on but could not measure: not
// audio, no audio stream, nothing decoded. It is the file's fault, so an
// Analyzer remembers it until the file changes; other errors (ffmpeg
// missing, cancelled, timed out) are tried again.
var ErrUndecodable = errors.New("ffmpeg cannot decode the file")

// Limits on what is kept of ffmpeg's output: lines are parsed as they
// arrive, so only one line and the tail for error messages are held.
const (
	maxLine    = 4 << 10
	tailBytes  = 2 << 10
	waitDelay  = 2 * time.Second
	reasonMax  = 3
	reasonLine = 200
)

// args is ffmpeg's argument list for measuring path with p.
//
//	-threads 1 -filter_threads 1   one core at most: this runs beside playback
//	-protocol_whitelist file       the input is only ever a local file, and
//	-i file:<path>                 a name with ':' is not taken for a protocol
//	-map 0:a:0 -map_metadata -1    first audio stream; no tags in the output dump
//	asetpts=PTS-STARTPTS           silencedetect's times start at the first
//	                               decoded sample, whatever the container says
//	ebur128=peak=true              integrated loudness and true peak, printed
//	  :framelog=verbose            as a summary at exit; the per-100 ms lines
//	                               go to the verbose level, which is not shown
//	  :dualmono=true               a mono file is heard on two speakers
//	silencedetect=noise=…dB:d=…    silence_start/silence_end lines
//	-progress pipe:1               the decoded duration in µs on stdout,
//	                               apart from the log
//	-f null -                      decode only
//
// ebur128 and silencedetect share the decode, unlike astats (whose RMS is
// not a loudness) or a second pass.
func args(path string, p Params) []string {
	p = p.normalized()
	af := "asetpts=PTS-STARTPTS," +
		"ebur128=peak=true:framelog=verbose:dualmono=true," +
		"silencedetect=noise=" + strconv.FormatFloat(p.SilenceThreshold, 'f', -1, 64) + "dB" +
		":d=" + strconv.FormatFloat(MinSilence.Seconds(), 'f', -1, 64)
	return []string{
		"-nostdin", "-hide_banner", "-nostats", "-loglevel", "info",
		"-threads", "1", "-filter_threads", "1",
		"-protocol_whitelist", "file",
		"-i", "file:" + path,
		"-map", "0:a:0", "-map_metadata", "-1",
		"-af", af,
		"-progress", "pipe:1",
		"-f", "null", "-",
	}
}

// Analyze measures the file at path with ffmpegPath ("" = "ffmpeg" on
// PATH) in one decode pass at the lowest CPU priority; cancelling ctx kills
// ffmpeg. An error wraps ErrUndecodable when the file is to blame.
func Analyze(ctx context.Context, ffmpegPath, path string, p Params) (Analysis, error) {
	return analyze(ctx, ffmpegPath, path, p, time.Now, nil)
}

// analyze is Analyze; started, when not nil, is called with ffmpeg's pid
// once it runs at low priority (tests watch the process through it).
func analyze(ctx context.Context, ffmpegPath, path string, p Params, now func() time.Time, started func(path string, pid int)) (Analysis, error) {
	p = p.normalized()
	// ffmpeg would block on a FIFO: only regular files are measured.
	fi, err := os.Stat(path)
	if err != nil {
		return Analysis{}, fmt.Errorf("loudness: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return Analysis{}, fmt.Errorf("loudness: %s: not a regular file", filepath.Base(path))
	}
	// Nor is a file we may not read the file's fault: that is said here,
	// not as ErrUndecodable, so it is tried again once permissions change.
	f, err := os.Open(path)
	if err != nil {
		return Analysis{}, fmt.Errorf("loudness: %w", err)
	}
	f.Close()
	bin := ffmpegPath
	if bin == "" {
		bin = "ffmpeg"
	}
	bin, err = exec.LookPath(bin)
	if err != nil {
		return Analysis{}, fmt.Errorf("loudness: ffmpeg not found: %w", err)
	}
	var out output
	cmd := exec.CommandContext(ctx, bin, args(path, p)...)
	cmd.SysProcAttr = sysProcAttr()
	cmd.Env = append(os.Environ(), "AV_LOG_FORCE_NOCOLOR=1") // plain lines whatever the environment says
	cmd.Stdout = &lineWriter{line: out.progressLine}
	stderr := &lineWriter{line: out.logLine, keepTail: true}
	cmd.Stderr = stderr
	cmd.WaitDelay = waitDelay
	if err := cmd.Start(); err != nil {
		return Analysis{}, fmt.Errorf("loudness: starting ffmpeg: %w", err)
	}
	// Niceness is per thread on Linux and inherited by threads created
	// later: set right after exec, before ffmpeg (told to use one thread)
	// has any reason to start others, it covers the process. A failure
	// only costs priority.
	_ = lowerPriority(cmd.Process.Pid)
	if started != nil {
		started(path, cmd.Process.Pid)
	}
	runErr := cmd.Wait()
	if ctx.Err() != nil {
		return Analysis{}, fmt.Errorf("loudness: measuring %s: %w", filepath.Base(path), context.Cause(ctx))
	}
	if runErr != nil {
		var exit *exec.ExitError
		if errors.As(runErr, &exit) && exit.Exited() {
			return Analysis{}, fmt.Errorf("loudness: %s: %w (exit status %d: %s)",
				filepath.Base(path), ErrUndecodable, exit.ExitCode(), summarize(stderr.tail()))
		}
		return Analysis{}, fmt.Errorf("loudness: measuring %s: %w: %s", filepath.Base(path), runErr, summarize(stderr.tail()))
	}
	a, err := out.analysis(p)
	if err != nil {
		return Analysis{}, fmt.Errorf("loudness: %s: %w (%v: %s)", filepath.Base(path), ErrUndecodable, err, summarize(stderr.tail()))
	}
	a.MeasuredAt = now().UTC()
	return a, nil
}

// output collects what Analyze needs from ffmpeg as lines arrive.
type output struct {
	mu sync.Mutex // stdout and stderr are copied by separate goroutines

	integrated, truePeak  float64
	haveI, havePeak       bool
	inTruePeak            bool // after ebur128's "True peak:" heading
	delay                 float64
	durationUS            int64
	channels              int  // of the first audio stream in the input dump
	haveDuration, haveEnd bool // haveEnd: "progress=end" seen

	// Silence events, in order: only the first pair (leading silence) and
	// the last (trailing) matter, so a file with many pauses costs nothing.
	events     int
	firstStart float64
	firstEnd   float64 // NaN until the first silence ends
	lastStart  float64
	lastEnd    float64 // NaN while the last silence lasts
}

// progressLine reads -progress key=value lines from stdout.
func (o *output) progressLine(line string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if v, ok := strings.CutPrefix(line, "out_time_us="); ok {
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			o.durationUS, o.haveDuration = n, true
		}
	} else if line == "progress=end" {
		o.haveEnd = true
	}
}

// logLine reads ffmpeg's log. The lines it looks for (ffmpeg 5.1):
//
//	  Duration: 00:00:10.03, start: 0.025057, bitrate: 128 kb/s
//	[silencedetect @ 0x5563…] silence_start: 6.99993
//	[silencedetect @ 0x5563…] silence_end: 10 | silence_duration: 3.00007
//	[Parsed_ebur128_1 @ 0x5563…] Summary:
//	    I:         -41.1 LUFS
//	  True peak:
//	    Peak:       -inf dBFS
//
// Times are printed "%.6g". File names and tag keys are printed verbatim
// in the input dump before any of this; the summary is taken from its last
// occurrence, and a name could at worst mislead its own file's trim.
func (o *output) logLine(line string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	trimmed := strings.TrimSpace(line)
	switch {
	case strings.HasPrefix(line, "[silencedetect @ "):
		if v, ok := field(line, "silence_start: "); ok {
			o.silenceStart(v)
		} else if v, ok := field(line, "silence_end: "); ok {
			o.silenceEnd(v)
		}
	case o.channels == 0 && strings.HasPrefix(trimmed, "Stream #") && strings.Contains(trimmed, ": Audio: "):
		o.channels = channelsOf(trimmed)
	case strings.HasPrefix(trimmed, "Duration: "):
		if v, ok := field(trimmed, "start: "); ok && !math.IsInf(v, 0) {
			o.delay = v
		}
	case strings.HasPrefix(trimmed, "I:"):
		if v, ok := number(strings.TrimPrefix(trimmed, "I:")); ok {
			o.integrated, o.haveI = v, true
		}
	case trimmed == "True peak:":
		o.inTruePeak = true
	case strings.HasSuffix(trimmed, "peak:"): // "Sample peak:", should it be asked for
		o.inTruePeak = false
	case o.inTruePeak && strings.HasPrefix(trimmed, "Peak:"):
		if v, ok := number(strings.TrimPrefix(trimmed, "Peak:")); ok {
			o.truePeak, o.havePeak = v, true
		}
		o.inTruePeak = false
	}
}

func (o *output) silenceStart(t float64) {
	if o.events == 0 {
		o.firstStart, o.firstEnd = t, math.NaN()
	}
	o.events++
	o.lastStart, o.lastEnd = t, math.NaN()
}

func (o *output) silenceEnd(t float64) {
	if o.events == 0 {
		return // an end without a start: not from silencedetect
	}
	if o.events == 1 && math.IsNaN(o.firstEnd) {
		o.firstEnd = t
	}
	o.lastEnd = t
}

// channelsOf reads the channel layout of an input stream line:
//
//	Stream #0:0: Audio: pcm_u8 ([1][0][0][0] / 0x0001), 22050 Hz, mono, u8, 176 kb/s
//
// "mono" is 1, "stereo" 2, "N channels" N; other layouts (5.1, …) are
// given as 0 (not needed: only mono is told apart).
func channelsOf(line string) int {
	for _, f := range strings.Split(line, ", ") {
		switch f = strings.TrimSpace(f); {
		case f == "mono":
			return 1
		case f == "stereo":
			return 2
		case strings.HasSuffix(f, " channels"):
			if n, err := strconv.Atoi(strings.TrimSuffix(f, " channels")); err == nil {
				return n
			}
		}
	}
	return 0
}

// field parses the number after key in line ("start: 0.025057,").
func field(line, key string) (float64, bool) {
	i := strings.Index(line, key)
	if i < 0 {
		return 0, false
	}
	return number(line[i+len(key):])
}

// number parses the first word of s as a float ("-inf" included), ignoring
// a trailing comma.
func number(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " ,|\t"); i >= 0 {
		s = s[:i]
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) {
		return 0, false
	}
	return v, true
}

// analysis turns what was read into an Analysis.
func (o *output) analysis(p Params) (Analysis, error) {
	p = p.normalized()
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case !o.haveI || !o.havePeak:
		return Analysis{}, errors.New("no loudness summary in ffmpeg's output")
	case !o.haveDuration || !o.haveEnd:
		return Analysis{}, errors.New("no progress report on ffmpeg's output")
	case o.durationUS <= 0:
		return Analysis{}, errors.New("no audio decoded")
	case math.IsInf(o.integrated, 1) || math.IsInf(o.truePeak, 1):
		return Analysis{}, errors.New("infinite loudness or peak")
	}
	a := Analysis{
		Integrated:       max(o.integrated, SilentLoudness), // finite, for JSON
		TruePeak:         max(o.truePeak, MinPeak),          // -inf for digital silence
		Duration:         time.Duration(o.durationUS) * time.Microsecond,
		Delay:            max(seconds(o.delay), 0),
		Channels:         o.channels,
		SilenceThreshold: p.SilenceThreshold,
		Method:           Method,
		Version:          FormatVersion,
	}
	a.Start, a.End = 0, a.Duration
	dur := o.durationUS
	// A silence that starts at the first sample is leading; one that runs
	// to the last (no end, or its end is the end of the stream, as
	// silencedetect reports it when the input ends) is trailing.
	leading := o.events > 0 && o.firstStart <= slack(o.firstStart)
	lastOpen := o.events > 0 && (math.IsNaN(o.lastEnd) || o.lastEnd*1e6 >= float64(dur)-slack(o.lastEnd)*1e6)
	if leading && o.events == 1 && lastOpen {
		a.Silent = true
		return a, nil
	}
	if leading {
		a.Start = max(seconds(o.firstEnd-slack(o.firstEnd))-Margin, 0)
	}
	if lastOpen {
		a.End = min(seconds(o.lastStart+slack(o.lastStart))+Margin, a.Duration)
	}
	if a.Integrated <= SilentLoudness || a.End <= a.Start {
		a.Silent = true
	}
	return a, nil
}

// slack is how far a time silencedetect printed ("%.6g") may lie from the
// true one: half a unit in its sixth significant digit, and at least a
// millisecond for the sample counting behind it.
func slack(t float64) float64 {
	t = math.Abs(t)
	if t == 0 {
		return 0.001
	}
	return math.Pow(10, math.Floor(math.Log10(t))-5)/2 + 0.001
}

func seconds(s float64) time.Duration { return time.Duration(math.Round(s * 1e9)) }

// lineWriter calls line for every line written to it ('\n' or '\r'
// ended), holding at most maxLine bytes of an unfinished line (longer
// lines are cut), and keeps the last tailBytes for error messages.
type lineWriter struct {
	line     func(string)
	keepTail bool
	buf      []byte
	over     bool // the current line was cut: ignore its rest
	mu       sync.Mutex
	last     []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	if w.keepTail {
		w.mu.Lock()
		w.last = append(w.last, p...)
		if len(w.last) > 2*tailBytes {
			w.last = append(w.last[:0], w.last[len(w.last)-tailBytes:]...)
		}
		w.mu.Unlock()
	}
	for len(p) > 0 {
		i := bytes.IndexAny(p, "\r\n")
		if i < 0 {
			w.add(p)
			break
		}
		w.add(p[:i])
		if !w.over {
			w.line(string(w.buf))
		}
		w.buf, w.over = w.buf[:0], false
		p = p[i+1:]
	}
	return n, nil
}

func (w *lineWriter) add(p []byte) {
	if room := maxLine - len(w.buf); len(p) > room {
		p, w.over = p[:max(room, 0)], true
	}
	w.buf = append(w.buf, p...)
}

// tail returns the last output written, from a line start.
func (w *lineWriter) tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.last
	if len(b) > tailBytes {
		b = b[len(b)-tailBytes:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// summarize returns the last few non-empty lines of ffmpeg's log, joined
// with "; ", as the reason for a failure.
func summarize(log string) string {
	lines := strings.FieldsFunc(log, func(r rune) bool { return r == '\n' || r == '\r' })
	var keep []string
	for i := len(lines) - 1; i >= 0 && len(keep) < reasonMax; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "[silencedetect @") {
			continue
		}
		if len(l) > reasonLine {
			l = l[:reasonLine] + "…"
		}
		keep = append(keep, l)
	}
	for i, j := 0, len(keep)-1; i < j; i, j = i+1, j-1 {
		keep[i], keep[j] = keep[j], keep[i]
	}
	return strings.Join(keep, "; ")
}
