package station

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/loudness"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// levelFiles are the files the levelling decisions are checked on, made
// by ffmpeg: a tone at about -30 LUFS (a raise within the cap), one at
// -45 LUFS (a raise beyond it), one at -10 LUFS (a cut), each as an MP3
// and as a WAV, and a tone padded with a second of digital silence at
// each end.
var levelFiles = []struct {
	name   string
	amp    float64 // peak amplitude of the tone in both channels
	padded bool
}{
	{name: "quiet", amp: 0.036},
	{name: "faint", amp: 0.0056},
	{name: "loud", amp: 0.32},
	{name: "padded", amp: 0.05, padded: true},
}

// makeLevelFiles writes every levelFiles entry as name.mp3 and name.wav
// into dir, 3 s long, and returns their paths by file name.
func makeLevelFiles(t *testing.T, ffmpeg, dir string) map[string]string {
	t.Helper()
	paths := map[string]string{}
	for _, f := range levelFiles {
		tone := fmt.Sprintf("%g*sin(2*PI*1000*t)", f.amp)
		if f.padded {
			tone = "between(t\\,1\\,2)*" + tone
		}
		for _, ext := range []string{".mp3", ".wav"} {
			p := filepath.Join(dir, f.name+ext)
			args := []string{"-hide_banner", "-nostdin", "-loglevel", "error",
				"-f", "lavfi", "-i", "aevalsrc=" + tone + "|" + tone + ":s=44100:d=3"}
			if ext == ".mp3" {
				args = append(args, "-c:a", "libmp3lame", "-b:a", "128k")
			}
			if out, err := exec.Command(ffmpeg, append(args, "-y", p)...).CombinedOutput(); err != nil {
				t.Fatalf("making %s: %v\n%s", p, err, out)
			}
			paths[f.name+ext] = p
		}
	}
	return paths
}

// measured runs an analyzer over paths until each is measured, and stops
// it when the test ends.
func measured(t *testing.T, paths map[string]string) *loudness.Analyzer {
	t.Helper()
	an := loudness.New(loudness.Options{Workers: 2})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		an.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-ran })
	var list []string
	for _, p := range paths {
		list = append(list, p)
	}
	an.Measure("test", list, loudness.Params{})
	select {
	case <-an.Done("test"):
	case <-time.After(time.Minute):
		t.Fatalf("the analyzer did not measure %d files within a minute", len(list))
	}
	return an
}

// TestLevellingDecisions: what a station plays each file at. An MP3 moves
// by whole global_gain steps (GainSteps, no GainDB) to the nearest step
// to the target with its true peak at or below 0 dBTP; a file that goes
// through ffmpeg gets the exact gain (GainDB, no steps) under -1 dBTP;
// neither is raised by more than 10 steps (15.05 dB); cuts are whole.
// Trimming gives the analysis's bounds (the MP3's counted from its first
// frame, so with the encoder delay), and nothing without trim_silence;
// loudness 0 trims without a gain; a file not measured plays unchanged.
func TestLevellingDecisions(t *testing.T) {
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	dir := t.TempDir()
	paths := makeLevelFiles(t, ffmpeg, dir)
	an := measured(t, paths)
	analysis := func(name string) loudness.Analysis {
		t.Helper()
		a, ok := an.Lookup(paths[name], loudness.Params{})
		if !ok {
			t.Fatalf("%s was not measured", name)
		}
		return a
	}
	const target = -16.0
	levels := func(loud float64, trim bool) *levelling {
		return newLevelling(config.Station{Route: "/", Loudness: loud, TrimSilence: trim}, an, mount.Decoder{})
	}
	both := levels(target, true)

	for _, name := range []string{"quiet.mp3", "loud.mp3", "padded.mp3"} {
		a, lv := analysis(name), both.level(paths[name])
		if lv.GainDB != 0 {
			t.Errorf("%s: GainDB %v; an MP3 moves by steps only", name, lv.GainDB)
		}
		// Nearest step to the target, the true peak under 0 dBTP.
		got := a.Integrated + float64(lv.GainSteps)*mount.GainStepDB
		if math.Abs(got-target) > mount.GainStepDB/2+1e-9 {
			t.Errorf("%s: %.1f LUFS + %d steps = %.2f LUFS; want within half a step of %v", name, a.Integrated, lv.GainSteps, got, target)
		}
		if peak := a.TruePeak + float64(lv.GainSteps)*mount.GainStepDB; peak > loudness.DefaultCeiling+1e-9 {
			t.Errorf("%s: %d steps take its true peak %.1f dBTP to %.2f dBTP", name, lv.GainSteps, a.TruePeak, peak)
		}
	}
	if lv := both.level(paths["quiet.mp3"]); lv.GainSteps <= 5 {
		t.Errorf("quiet.mp3 (%.1f LUFS): raised %d steps; want the 9 or so that reach the target", analysis("quiet.mp3").Integrated, lv.GainSteps)
	}
	if lv := both.level(paths["loud.mp3"]); lv.GainSteps >= 0 {
		t.Errorf("loud.mp3 (%.1f LUFS): %d steps; want a cut", analysis("loud.mp3").Integrated, lv.GainSteps)
	}
	if a, lv := analysis("faint.mp3"), both.level(paths["faint.mp3"]); lv.GainSteps != maxBoostSteps || a.Steps(target, loudness.DefaultCeiling) <= maxBoostSteps {
		t.Errorf("faint.mp3 (%.1f LUFS, %d steps to the target): raised %d steps; want the cap, %d",
			a.Integrated, a.Steps(target, loudness.DefaultCeiling), lv.GainSteps, maxBoostSteps)
	}

	for _, name := range []string{"quiet.wav", "loud.wav", "padded.wav"} {
		a, lv := analysis(name), both.level(paths[name])
		if lv.GainSteps != 0 {
			t.Errorf("%s: GainSteps %d; ffmpeg applies the exact gain", name, lv.GainSteps)
		}
		if want := target - a.Integrated; math.Abs(lv.GainDB-want) > 1e-9 {
			t.Errorf("%s (%.1f LUFS): GainDB %.2f; want %.2f", name, a.Integrated, lv.GainDB, want)
		}
		if a.TruePeak+lv.GainDB > loudness.DefaultEncodeCeiling+1e-9 {
			t.Errorf("%s: %.2f dB take its true peak %.1f dBTP above -1 dBTP", name, lv.GainDB, a.TruePeak)
		}
	}
	if lv := both.level(paths["faint.wav"]); math.Abs(lv.GainDB-maxBoostSteps*loudness.StepDB) > 1e-9 {
		t.Errorf("faint.wav (%.1f LUFS): GainDB %.2f; want the cap, %.2f", analysis("faint.wav").Integrated, lv.GainDB, maxBoostSteps*loudness.StepDB)
	}

	// Trimming: the padded files' tone is from 1 s to 2 s.
	for _, tc := range []struct {
		name   string
		frames bool
	}{{"padded.mp3", true}, {"padded.wav", false}} {
		a := analysis(tc.name)
		wantStart, wantEnd := a.Trim(tc.frames)
		lv := both.level(paths[tc.name])
		if lv.Start != wantStart || lv.End != wantEnd {
			t.Errorf("%s: plays %v..%v; want the analysis's %v..%v", tc.name, lv.Start, lv.End, wantStart, wantEnd)
		}
		if lv.Start < 900*time.Millisecond || lv.Start > time.Second || lv.End < 2*time.Second || lv.End > 2100*time.Millisecond {
			t.Errorf("%s: plays %v..%v; want its tone, 1 s..2 s, with margins", tc.name, lv.Start, lv.End)
		}
		if tc.frames && a.Delay > 0 && lv.Start != a.Start+a.Delay {
			t.Errorf("%s: starts at %v; want %v from its first frame (%v + the encoder delay %v)", tc.name, lv.Start, a.Start+a.Delay, a.Start, a.Delay)
		}
		if lv := levels(target, false).level(paths[tc.name]); lv.Start != 0 || lv.End != 0 {
			t.Errorf("%s without trim_silence: plays %v..%v; want whole", tc.name, lv.Start, lv.End)
		}
		if lv := levels(0, true).level(paths[tc.name]); lv.GainSteps != 0 || lv.GainDB != 0 || lv.Start != wantStart || lv.End != wantEnd {
			t.Errorf("%s trimmed at loudness 0: %+v; want no gain and %v..%v", tc.name, lv, wantStart, wantEnd)
		}
	}
	for _, name := range []string{"quiet.mp3", "quiet.wav"} {
		if lv := both.level(paths[name]); lv.Start != 0 || lv.End != 0 {
			t.Errorf("%s has no silence to trim: plays %v..%v", name, lv.Start, lv.End)
		}
	}

	// A file the analyzer has not measured (or that changed since) plays
	// unchanged.
	unmeasured := filepath.Join(dir, "new.mp3")
	if err := os.WriteFile(unmeasured, testmedia.Frames(100), 0o644); err != nil {
		t.Fatal(err)
	}
	if lv := both.level(unmeasured); !lv.IsZero() {
		t.Errorf("unmeasured file: %+v; want the zero Level", lv)
	}
	if lv := both.level(filepath.Join(dir, "missing.mp3")); !lv.IsZero() {
		t.Errorf("missing file: %+v; want the zero Level", lv)
	}
}

// TestNoLevellingWithoutSettingsOrAnalyzer: a station with neither
// loudness nor trim_silence gets no levelling, nor one without an
// analyzer (ffmpeg missing).
func TestNoLevellingWithoutSettingsOrAnalyzer(t *testing.T) {
	an := loudness.New(loudness.Options{})
	if l := newLevelling(config.Station{Route: "/"}, an, mount.Decoder{}); l != nil {
		t.Errorf("a station neither levelling nor trimming got %+v", l)
	}
	if l := newLevelling(config.Station{Route: "/", Loudness: -16, TrimSilence: true}, nil, mount.Decoder{}); l != nil {
		t.Errorf("a station without an analyzer got %+v", l)
	}
	if l := newLevelling(config.Station{Route: "/", TrimSilence: true}, an, mount.Decoder{}); l == nil {
		t.Error("a station trimming only got no levelling")
	}
}

// loadTOML is config.Load of a configuration file with the given content
// and an empty environment.
func loadTOML(t *testing.T, toml string) *config.Config {
	t.Helper()
	path := testmedia.WriteFile(t, t.TempDir(), "levels.toml", []byte(toml))
	cfg, err := config.Load([]string{"--config", path}, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// byRoute is the station at route among sts.
func byRoute(t *testing.T, sts []*Station, route string) *Station {
	t.Helper()
	for _, st := range sts {
		if st.Profile().Route == route {
			return st
		}
	}
	t.Fatalf("no station %s", route)
	return nil
}

// TestBuildAllRunsOneAnalyzer: BuildAll gives the stations that level or
// trim one analyzer, which exactly one of them runs while it plays (it
// measures every station's files and saves loudness.json in the state
// dir when the stations stop); a configuration where no station levels
// makes none, and an analyzer passed in Deps is used and run by nobody.
func TestBuildAllRunsOneAnalyzer(t *testing.T) {
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	stateDir := t.TempDir()
	dirs := [3]string{t.TempDir(), t.TempDir(), t.TempDir()}
	for i, d := range dirs {
		testmedia.WriteFile(t, d, fmt.Sprintf("t%d.mp3", i), testmedia.Frames(100))
	}
	var toml strings.Builder
	fmt.Fprintf(&toml, "publish_interval = \"50ms\"\nstate_dir = %q\nffmpeg_path = %q\naudio_dir = %q\n", stateDir, ffmpeg, dirs[0])
	fmt.Fprintf(&toml, "[[station]]\nroute = \"/plain\"\ndir = %q\n", dirs[0])
	fmt.Fprintf(&toml, "[[station]]\nroute = \"/levelled\"\ndir = %q\nloudness = \"-16 LUFS\"\n", dirs[1])
	fmt.Fprintf(&toml, "[[station]]\nroute = \"/trimmed\"\ndir = %q\ntrim_silence = true\n", dirs[2])
	cfg := loadTOML(t, toml.String())

	sts, err := BuildAll(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if l := byRoute(t, sts, "/plain").levels; l != nil {
		t.Errorf("/plain neither levels nor trims but got levelling")
	}
	lv, tr := byRoute(t, sts, "/levelled").levels, byRoute(t, sts, "/trimmed").levels
	if lv == nil || tr == nil {
		t.Fatalf("levelling: /levelled %v, /trimmed %v; want both", lv != nil, tr != nil)
	}
	if lv.an != tr.an {
		t.Error("the stations got different analyzers; want one per server")
	}
	if !lv.runs || tr.runs {
		t.Errorf("runs: /levelled %v, /trimmed %v; want the first levelling station only", lv.runs, tr.runs)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, st := range sts {
		st.Start(ctx)
	}
	for i, route := range []string{"/levelled", "/trimmed"} {
		select {
		case <-lv.an.Done(route):
		case <-time.After(time.Minute):
			t.Fatalf("%s's files were not measured within a minute: %+v", route, lv.an.Progress(route))
		}
		if _, ok := lv.an.Lookup(filepath.Join(dirs[i+1], fmt.Sprintf("t%d.mp3", i+1)), loudness.Params{}); !ok {
			t.Errorf("%s's file is not in the analyzer's cache", route)
		}
	}
	cancel()
	for _, st := range sts {
		st.Wait()
	}
	if _, err := os.Stat(filepath.Join(stateDir, "loudness.json")); err != nil {
		t.Errorf("the analyzer's cache was not saved when it stopped: %v", err)
	}

	// No levelling station: no analyzer.
	none := loadTOML(t, fmt.Sprintf("audio_dir = %q\n[[station]]\nroute = \"/plain\"\ndir = %q\n", dirs[0], dirs[0]))
	if an, _ := analyzerFor(none, Deps{}, none.Stations); an != nil {
		t.Error("an analyzer for a configuration where no station levels")
	}
	sts, err = BuildAll(none, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sts {
		if st.levels != nil {
			t.Errorf("%s: levelling on a station that neither levels nor trims", st.Profile().Route)
		}
	}

	// An analyzer passed in is shared, and run by whoever passed it.
	shared := loudness.New(loudness.Options{})
	sts, err = BuildAll(cfg, Deps{Loudness: shared})
	if err != nil {
		t.Fatal(err)
	}
	for _, route := range []string{"/levelled", "/trimmed"} {
		st := byRoute(t, sts, route)
		if st.levels == nil || st.levels.an != shared || st.levels.runs {
			t.Errorf("%s: levelling %+v; want the analyzer passed in, not run by the station", st.Profile().Route, st.levels)
		}
	}
}
