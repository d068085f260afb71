package loudness

import (
	"math"
	"testing"
	"time"
)

func TestStepsRoundsToTheNearestStepAndRespectsTheCeiling(t *testing.T) {
	tests := []struct {
		name              string
		integrated, peak  float64
		target, ceiling   float64
		want              int
		wantPredictedPeak float64 // peak + want×StepDB, checked against ceiling
	}{
		{"exactly on target", -16, -10, -16, 0, 0, -10},
		{"raise, rounded down", -21, -15, -16, 0, 3, -10.485},      // 5/1.505 = 3.32 → 3
		{"raise, rounded up", -19.9, -15, -16, 0, 3, -10.485},      // 3.9/1.505 = 2.59 → 3
		{"raise of 0.7 dB is no step", -16.7, -15, -16, 0, 0, -15}, // 0.47 → 0
		{"raise of 0.8 dB is one step", -16.8, -15, -16, 0, 1, -13.495},
		{"raise held back by the peak", -21.5, -5.4, -16, 0, 3, -0.885},      // 4 steps would be +0.62
		{"the same at -1 dBTP", -21.5, -5.4, -16, -1, 2, -2.39},              // 3 steps would be -0.885
		{"peak exactly at the ceiling is allowed", -22, -6.02, -16, 0, 4, 0}, // 4×1.505 = 6.02
		{"already above the ceiling: no raise", -25, 0.5, -16, 0, 0, 0.5},
		{"cut, not limited", -8, 1.2, -16, 0, -5, -6.325}, // -8/1.505 = -5.32 → -5
		{"cut of a clipping file stays a cut", -10, 3, -16, -1, -4, -3.02},
		{"negative rounding", -15.2, -20, -16, 0, -1, -21.505}, // -0.53 → -1
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Analysis{Integrated: tt.integrated, TruePeak: tt.peak}
			got := a.Steps(tt.target, tt.ceiling)
			if got != tt.want {
				t.Fatalf("Steps(%v, %v) of I=%v TP=%v = %d, want %d", tt.target, tt.ceiling, tt.integrated, tt.peak, got, tt.want)
			}
			if p := tt.peak + float64(got)*StepDB; math.Abs(p-tt.wantPredictedPeak) > 1e-9 {
				t.Errorf("predicted peak %v, want %v", p, tt.wantPredictedPeak)
			}
			if got > 0 && tt.peak+float64(got)*StepDB > tt.ceiling+1e-9 {
				t.Errorf("a raise of %d steps lifts the peak to %v, above the ceiling %v", got, tt.peak+float64(got)*StepDB, tt.ceiling)
			}
		})
	}
}

func TestGainIsExactAndStopsAtTheCeiling(t *testing.T) {
	tests := []struct {
		name             string
		integrated, peak float64
		target, ceiling  float64
		want             float64
	}{
		{"raise", -20, -12, -16, -1, 4},
		{"raise limited to the ceiling", -21.5, -5.4, -16, -1, 4.4},
		{"raise limited at 0 dBTP", -21.5, -5.4, -16, 0, 5.4},
		{"peak already at the ceiling", -25, -1, -16, -1, 0},
		{"peak above the ceiling: no raise, no cut", -25, 0.5, -16, -1, 0},
		{"cut is never limited", -9, 0.8, -16, -1, -7},
		{"on target", -16, -3, -16, -1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Analysis{Integrated: tt.integrated, TruePeak: tt.peak}
			if got := a.Gain(tt.target, tt.ceiling); math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("Gain(%v, %v) of I=%v TP=%v = %v, want %v", tt.target, tt.ceiling, tt.integrated, tt.peak, got, tt.want)
			}
		})
	}
}

func TestSilentOrUnknownAnalysesAreLeftAlone(t *testing.T) {
	for name, a := range map[string]Analysis{
		"silent":      {Integrated: SilentLoudness, TruePeak: MinPeak, Silent: true, Start: time.Second, End: 2 * time.Second, Duration: 3 * time.Second},
		"NaN loud":    {Integrated: math.NaN(), TruePeak: -10},
		"NaN peak":    {Integrated: -30, TruePeak: math.NaN()},
		"zero target": {Integrated: -30, TruePeak: -10}, // target NaN below
	} {
		target := -16.0
		if name == "zero target" {
			target = math.NaN()
		}
		if g := a.Gain(target, 0); g != 0 {
			t.Errorf("%s: Gain = %v, want 0", name, g)
		}
		if s := a.Steps(target, 0); s != 0 {
			t.Errorf("%s: Steps = %v, want 0", name, s)
		}
	}
	silent := Analysis{Silent: true, Start: time.Second, End: 2 * time.Second, Duration: 3 * time.Second, Delay: 25 * time.Millisecond}
	if s, e := silent.Trim(true); s != 0 || e != 0 {
		t.Errorf("Trim of a silent file = %v, %v; want it played whole (0, 0)", s, e)
	}
}

func TestTrimConvertsToTheFrameTimeline(t *testing.T) {
	a := Analysis{Start: 2 * time.Second, End: 9 * time.Second, Duration: 10 * time.Second, Delay: 25 * time.Millisecond}
	if s, e := a.Trim(false); s != 2*time.Second || e != 9*time.Second {
		t.Errorf("Trim(false) = %v, %v; want 2s, 9s (ffmpeg's timeline)", s, e)
	}
	if s, e := a.Trim(true); s != 2025*time.Millisecond || e != 9025*time.Millisecond {
		t.Errorf("Trim(true) = %v, %v; want Delay added: 2.025s, 9.025s", s, e)
	}
	a.End = a.Duration // no trailing silence
	if _, e := a.Trim(true); e != 0 {
		t.Errorf("Trim without trailing silence: end %v, want 0 (to the end)", e)
	}
	a.Start = 0
	if s, e := a.Trim(true); s != 0 || e != 0 {
		t.Errorf("Trim of an untrimmed file with a delay = %v, %v; want 0, 0", s, e)
	}
}

func TestParamsDefaultAndKey(t *testing.T) {
	if got := (Params{}).normalized().SilenceThreshold; got != DefaultSilenceThreshold {
		t.Errorf("zero Params threshold = %v, want %v", got, DefaultSilenceThreshold)
	}
	if (Params{}).thresholdKey() != (Params{SilenceThreshold: -50}).thresholdKey() {
		t.Error("the zero Params and an explicit -50 dBFS must share cache entries")
	}
	if (Params{SilenceThreshold: -50}).thresholdKey() == (Params{SilenceThreshold: -49.5}).thresholdKey() {
		t.Error("thresholds half a dB apart must not share cache entries")
	}
}
