// Package loudness measures audio files for loudness levelling and silence
// trimming, and remembers the results on disk.
//
// A station levels every track to a target loudness without re-encoding
// its MP3s: it adds whole steps of StepDB to every granule's global_gain
// (mount/gain.go). It also skips the whole frames of leading and trailing
// silence. This package supplies the numbers: [Analyze] measures one file
// with ffmpeg in a single decode pass; an [Analyzer] measures a station's
// files in the background at low priority, caches the results by file
// identity, and answers [Analyzer.Lookup] when a track opens. A file not
// measured yet (or that failed) has no Analysis and plays unchanged.
//
// Use: one Analyzer per server (New, then go Run(ctx)). After every scan a
// station calls Measure(name, its paths in play order, Params{its silence
// threshold}); when a track opens, Lookup(path, the same Params) gives the
// Analysis, and mount.Level (mount/programme.go) is, for an MP3 played as
// its own frames, GainSteps a.Steps(target, DefaultCeiling) and Start, End
// a.Trim(true); for a file that goes through ffmpeg, GainDB
// a.Gain(target, DefaultEncodeCeiling) and a.Trim(false).
//
// ReplayGain tags are not used as a shortcut: their reference level is not
// recorded (ReplayGain 1 and 2 differ by about 4 dB), their peak is a
// sample peak rather than a true peak, and they go stale when audio is
// edited without re-tagging; a decode pass costs about a second of one
// core per five minutes of audio and is cached, so the tags would save
// little and could mislead.
package loudness

import (
	"math"
	"time"
)

// StepDB is the level change of one global_gain step, 20·log10(2^(1/4)),
// rounded as mount.GainStepDB is (mount/gain.go).
const StepDB = 1.505

// DefaultCeiling is the true-peak ceiling, in dBTP, for Steps: levelling
// an MP3's own frames never lifts its true peak above full scale.
//
// 0 rather than the -1 dBTP that EBU R128 s1 recommends for distribution,
// because nothing is encoded after the measurement: a global_gain step
// scales the decoded signal by exactly 2^(1/4), so the measured true peak
// (the decoder's output, lossy overshoot included) plus the steps is what
// listeners' decoders produce, to the 0.05 dB the reading is rounded to.
// At or below 0 dBTP no decoder clips, and the waveform a DAC or resampler
// reconstructs stays within full scale. The
// extra dB would cost: a track whose true peak is 16 dB above its loudness
// (common for speech and acoustic recordings at -21 LUFS) reaches a -16
// LUFS target within a step at 0 dBTP, but is held two steps short, at
// -18.5 LUFS, at -1 dBTP.
const DefaultCeiling = 0.0

// DefaultEncodeCeiling is the true-peak ceiling, in dBTP, for Gain: files
// that go through ffmpeg are encoded to MP3 after the gain, and lossy
// encoding adds overshoot the measurement cannot see (up to about 1 dB on
// dense masters), so they keep the -1 dBTP headroom EBU R128 s1 and AES
// TD1004 recommend. Gain is exact, so the cost is 1 dB at most, and only
// for tracks whose true peak is more than 15 dB above their loudness (at a
// -16 LUFS target).
const DefaultEncodeCeiling = -1.0

// DefaultSilenceThreshold is the level, in dBFS (sample peak, every
// channel), below which audio counts as silence when Params leaves it 0.
const DefaultSilenceThreshold = -50.0

// Margin is how much of the detected silence is kept before the first
// audible sound and after the last, so nothing audible is clipped (a
// fade's tail under the threshold, a player's frame rounding).
const Margin = 50 * time.Millisecond

// MinSilence is the shortest leading or trailing stretch below the
// threshold that is trimmed; shorter gaps are not worth a cut.
const MinSilence = 250 * time.Millisecond

// SilentLoudness is the integrated loudness ffmpeg reports when no 400 ms
// block reaches the absolute gate of EBU R128 (-70 LUFS): nothing to level.
const SilentLoudness = -70.0

// MinPeak is the TruePeak recorded for digital silence (ffmpeg's -inf).
const MinPeak = -144.0

// FormatVersion identifies how an Analysis is obtained (filters, their
// settings, Margin and MinSilence). Cached results of another version are
// measured again.
const FormatVersion = 2

// Method names how this version measures: ffmpeg's ebur128 filter
// (integrated loudness, 4× oversampled true peak; mono as dual mono) and
// silencedetect, in one decode pass.
const Method = "ffmpeg ebur128+silencedetect"

// Params are the settings a measurement depends on, part of the cache key.
// The zero Params is DefaultSilenceThreshold.
type Params struct {
	// SilenceThreshold is the level in dBFS below which audio is silence
	// (a station's silence_threshold); 0 = DefaultSilenceThreshold. A
	// station that does not trim passes its configured value (or 0) too:
	// the loudness does not depend on it, and stations with the same
	// value share cache entries.
	SilenceThreshold float64
}

func (p Params) normalized() Params {
	if p.SilenceThreshold == 0 || math.IsNaN(p.SilenceThreshold) {
		p.SilenceThreshold = DefaultSilenceThreshold
	}
	return p
}

// thresholdKey is SilenceThreshold in hundredths of a dB, for cache keys.
func (p Params) thresholdKey() int32 {
	return int32(math.Round(p.normalized().SilenceThreshold * 100))
}

// Analysis is the measurement of one file.
//
// Times are on ffmpeg's timeline of the file: 0 is the first sample ffmpeg
// decodes, which for an MP3 with a LAME/Xing header is after the encoder
// delay it drops (Delay). That is what ffmpeg's -ss/-to before -i count
// from; a player that skips whole MP3 frames counts from the first frame
// and adds Delay ([Analysis.Trim] does both).
type Analysis struct {
	// Integrated is the integrated loudness in LUFS (ITU-R BS.1770, gated
	// as EBU R128; a mono file counts as dual mono, as it sounds on two
	// speakers). SilentLoudness when nothing reaches the gate.
	Integrated float64 `json:"integrated"`
	// TruePeak is the highest true (4× oversampled) peak of any channel,
	// in dBTP; MinPeak for digital silence.
	TruePeak float64 `json:"true_peak"`
	// Start is where the audible part begins: the end of leading silence
	// less Margin, or 0 when the file does not start with at least
	// MinSilence of silence.
	Start time.Duration `json:"start"`
	// End is where the audible part ends: the start of trailing silence
	// plus Margin, or Duration when the file does not end in silence.
	End time.Duration `json:"end"`
	// Duration is how much audio ffmpeg decoded.
	Duration time.Duration `json:"duration"`
	// Delay is where ffmpeg's time 0 lies from the start of the first
	// audio frame: the encoder delay of a gapless MP3 (1105 samples for
	// LAME), else 0. When junk hides an MP3's Info frame from ffmpeg, it
	// decodes that frame as a silent one and Delay is 0: frame times then
	// come out one frame (26 ms at 44.1 kHz) late, which Margin absorbs.
	Delay time.Duration `json:"delay,omitempty"`
	// Channels is the number of channels of the file's audio (0: not
	// known). A mono file that an encoder spreads over two channels is
	// heard 3 dB quieter than measured (dual mono): see Upmixed.
	Channels int `json:"channels,omitempty"`
	// Silent marks a file with nothing to level or trim around: no block
	// reaches the loudness gate, or every sample is below the threshold.
	// Gain, Steps and Trim leave it unchanged.
	Silent bool `json:"silent,omitempty"`
	// SilenceThreshold is the threshold (dBFS) Start and End were found
	// with.
	SilenceThreshold float64 `json:"silence_threshold"`
	// Method and Version say how the numbers were obtained (Method,
	// FormatVersion); MeasuredAt when.
	Method     string    `json:"method"`
	Version    int       `json:"version"`
	MeasuredAt time.Time `json:"measured_at"`
}

// Upmixed is a as heard once an encoder has turned a mono file into
// channels channels: ffmpeg spreads mono over two channels at −3 dB each,
// so loudness and peak are 3 dB lower than the dual-mono measurement.
func (a Analysis) Upmixed(channels int) Analysis {
	if a.Channels == 1 && channels == 2 {
		a.Integrated -= upmixDB
		a.TruePeak -= upmixDB
	}
	return a
}

// upmixDB is the level of each channel when ffmpeg upmixes mono to stereo
// (1/√2).
const upmixDB = 3.0103

// peakTolerance absorbs float rounding in peak + steps×StepDB (readings
// have 0.1 dB resolution), so a peak landing exactly on the ceiling counts
// as on it.
const peakTolerance = 1e-9

// levelled reports whether a has a loudness to level from.
func (a Analysis) levelled() bool {
	return !a.Silent && !math.IsNaN(a.Integrated) && !math.IsNaN(a.TruePeak)
}

// Gain is the exact change in dB that brings a to target LUFS, for files
// that go through ffmpeg: target − Integrated, except that a raise stops
// where TruePeak reaches ceiling (dBTP). A cut is never limited, and a file
// already above the ceiling is not raised (nor cut below target). A Silent
// analysis gets 0.
func (a Analysis) Gain(target, ceiling float64) float64 {
	if !a.levelled() || math.IsNaN(target) {
		return 0
	}
	g := target - a.Integrated
	if g > 0 && a.TruePeak+g > ceiling+peakTolerance {
		g = max(ceiling-a.TruePeak, 0)
	}
	return g
}

// Steps is Gain in whole global_gain steps of StepDB, for MP3s played as
// their own frames: the step count nearest to target − Integrated, reduced
// while TruePeak + steps × StepDB would exceed ceiling (never below 0: a
// negative count is never limited by the peak). A Silent analysis gets 0.
//
// Rounding to the nearest step leaves a track within StepDB/2 (0.75 dB) of
// target unless the ceiling holds it back.
func (a Analysis) Steps(target, ceiling float64) int {
	if !a.levelled() || math.IsNaN(target) {
		return 0
	}
	s := int(math.Round((target - a.Integrated) / StepDB))
	for s > 0 && a.TruePeak+float64(s)*StepDB > ceiling+peakTolerance {
		s--
	}
	return s
}

// Trim returns where to start and stop playing a: frames true for an MP3
// whose frames are skipped by time from its first audio frame (Delay
// added), false for ffmpeg's -ss/-to. start 0 means from the beginning and
// end 0 to the end (no silence there); a Silent analysis gives 0, 0
// (played whole).
func (a Analysis) Trim(frames bool) (start, end time.Duration) {
	if a.Silent {
		return 0, 0
	}
	start = a.Start
	if a.End < a.Duration {
		end = a.End
	}
	if frames && a.Delay > 0 {
		// 0 stays 0: no leading silence means nothing to skip.
		if start > 0 {
			start += a.Delay
		}
		if end > 0 {
			end += a.Delay
		}
	}
	return start, end
}
