package loudness_test

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/aposazhennikov/stream-audio-to-web/internal/loudness"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// Steps counts the steps mount.AdjustGain applies: both must mean the
// same dB per step.
func TestStepDBIsMountsStep(t *testing.T) {
	if loudness.StepDB != mount.GainStepDB {
		t.Errorf("loudness.StepDB = %v, mount.GainStepDB = %v", loudness.StepDB, mount.GainStepDB)
	}
	a := loudness.Analysis{Integrated: -23, TruePeak: -20}
	if got, want := a.Steps(-16, loudness.DefaultCeiling), mount.GainSteps(7); got != want {
		t.Errorf("Steps for +7 dB = %d, mount.GainSteps(7) = %d", got, want)
	}
}

// The Steps model: adding s to every global_gain moves the decoded
// loudness and true peak by exactly s × StepDB, so the ceiling check on the
// measured peak holds after the edit. Checked on a quiet hum with loud
// bursts, whose raise to -16 LUFS the ceiling cuts short.
func TestStepsPredictTheLevelAfterAdjustGain(t *testing.T) {
	bin := testmedia.RequireTool(t, "ffmpeg")
	dir := t.TempDir()
	src := filepath.Join(dir, "bursts.mp3")
	graph := "aevalsrc='0.02*sin(2*PI*440*t)+if(lt(mod(t,1),0.01),0.5*sin(2*PI*1000*t),0)':c=stereo:s=44100:d=10"
	if out, err := exec.Command(bin, "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", graph,
		"-c:a", "libmp3lame", "-b:a", "192k", src).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	before, err := loudness.Analyze(context.Background(), "", src, loudness.Params{})
	if err != nil {
		t.Fatal(err)
	}
	steps := before.Steps(-16, loudness.DefaultCeiling)
	if wanted := int(math.Round((-16 - before.Integrated) / loudness.StepDB)); steps <= 0 || steps >= wanted {
		t.Fatalf("I %.1f TP %.1f: Steps %d; the fixture should need %d and be held back by its peak", before.Integrated, before.TruePeak, steps, wanted)
	}

	fr, closer, err := mount.OpenMP3(src)
	if err != nil {
		t.Fatal(err)
	}
	var levelled []byte
	for {
		f, err := fr.Next()
		if err != nil {
			break
		}
		b := append([]byte(nil), f.Data...)
		if !mount.AdjustGain(b, steps) {
			t.Fatal("AdjustGain refused a frame")
		}
		levelled = append(levelled, b...)
	}
	closer.Close()
	dst := filepath.Join(dir, "levelled.mp3")
	if err := os.WriteFile(dst, levelled, 0o644); err != nil {
		t.Fatal(err)
	}
	after, err := loudness.Analyze(context.Background(), "", dst, loudness.Params{})
	if err != nil {
		t.Fatal(err)
	}
	shift := float64(steps) * loudness.StepDB
	t.Logf("%d steps: I %.1f → %.1f LUFS, TP %.1f → %.1f dBTP", steps, before.Integrated, after.Integrated, before.TruePeak, after.TruePeak)
	// Both readings are rounded to 0.1 dB.
	if math.Abs(after.Integrated-(before.Integrated+shift)) > 0.15 || math.Abs(after.TruePeak-(before.TruePeak+shift)) > 0.15 {
		t.Errorf("%d steps: I %.2f → %.2f, TP %.2f → %.2f; predicted %+.2f dB", steps, before.Integrated, after.Integrated, before.TruePeak, after.TruePeak, shift)
	}
	if after.TruePeak > loudness.DefaultCeiling+0.1 {
		t.Errorf("levelled true peak %.2f dBTP is above the ceiling %v", after.TruePeak, loudness.DefaultCeiling)
	}
}
