package station_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/station"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// load is config.Load with the given environment only.
func load(t *testing.T, env map[string]string, args ...string) *config.Config {
	t.Helper()
	cfg, err := config.Load(args, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestDemoStandsInForAnEmptyDefaultFolder: the Docker image ships the
// default folder empty; a folder the user chose is never replaced.
func TestDemoStandsInForAnEmptyDefaultFolder(t *testing.T) {
	empty, full := t.TempDir(), t.TempDir()
	testmedia.WriteFile(t, full, "a.mp3", testmedia.Frames(10))
	for _, tc := range []struct {
		name     string
		dir      string
		given    bool
		wantDemo bool
	}{
		{"default folder empty", empty, false, true},
		{"default folder missing", filepath.Join(empty, "nope"), false, true},
		{"default folder with music", full, false, false},
		{"folder given and empty", empty, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := load(t, nil)
			cfg.AudioDir, cfg.AudioDirSet, cfg.Stations[0].Dir = tc.dir, tc.given, tc.dir
			sts, err := station.BuildAll(cfg, station.Deps{DemoDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			st := sts[0]
			if st.Demo() != tc.wantDemo {
				t.Fatalf("Demo() = %v, want %v", st.Demo(), tc.wantDemo)
			}
			if tc.wantDemo == (st.Settings().Dir == tc.dir) {
				t.Errorf("plays %s, configured %s, demo %v", st.Settings().Dir, tc.dir, tc.wantDemo)
			}
		})
	}
}

// TestNoDemoUnlessAStationPlaysTheDefaultFolder: with every station on a
// folder of its own, the empty default folder does not matter and nothing
// is unpacked.
func TestNoDemoUnlessAStationPlaysTheDefaultFolder(t *testing.T) {
	full := t.TempDir()
	testmedia.WriteFile(t, full, "a.mp3", testmedia.Frames(10))
	cfg := load(t, nil)
	cfg.AudioDir, cfg.Stations[0].Dir = filepath.Join(t.TempDir(), "missing"), full
	demoParent := t.TempDir()
	sts, err := station.BuildAll(cfg, station.Deps{DemoDir: demoParent})
	if err != nil {
		t.Fatal(err)
	}
	if sts[0].Demo() || sts[0].Settings().Dir != full {
		t.Errorf("station plays %s (demo %v), want its own %s", sts[0].Settings().Dir, sts[0].Demo(), full)
	}
	if entries, _ := os.ReadDir(demoParent); len(entries) > 0 {
		t.Errorf("the demo was unpacked (%v) though no station plays the default folder", entries)
	}
}

// TestDecoderPolicy: whether a file goes through ffmpeg follows the
// station's transcode setting, and a missing ffmpeg fails those files with
// its own error.
func TestDecoderPolicy(t *testing.T) {
	noFFmpeg := errors.New("ffmpeg: not found")
	routes, _ := json.Marshal(map[string]string{"/auto": t.TempDir(), "/always": t.TempDir()})
	file := filepath.Join(t.TempDir(), "x.toml")
	testmedia.WriteFile(t, filepath.Dir(file), filepath.Base(file), []byte("[[station]]\nroute = \"/always\"\ntranscode = \"always\"\n"))
	cfg := load(t, map[string]string{"DIRECTORY_ROUTES": string(routes)}, "--config", file)
	sts, err := station.BuildAll(cfg, station.Deps{FFmpeg: noFFmpeg})
	if err != nil {
		t.Fatal(err)
	}
	byRoute := map[string]*station.Station{}
	for _, st := range sts {
		byRoute[st.Profile().Route] = st
	}
	for _, tc := range []struct {
		route, file string
		needs       bool
	}{
		{"/auto", "a.mp3", false},
		{"/auto", "A.MP3", false},
		{"/auto", "b.wav", true},
		{"/always", "a.mp3", true},
	} {
		dec := byRoute[tc.route].Decoder()
		if got := dec.NeedsFFmpeg(tc.file); got != tc.needs {
			t.Errorf("%s: NeedsFFmpeg(%s) = %v, want %v", tc.route, tc.file, got, tc.needs)
		}
		if tc.needs {
			_, _, err := dec.Open(context.Background(), filepath.Join(t.TempDir(), tc.file), 0)
			if !errors.Is(err, noFFmpeg) {
				t.Errorf("%s: opening %s without ffmpeg: %v, want the ffmpeg error", tc.route, tc.file, err)
			}
		}
	}
}

// TestBuiltStationPlays: a built station scans, plays and becomes ready
// (a signal, not a poll), and what it tells listeners holds no folder path.
func TestBuiltStationPlays(t *testing.T) {
	dir := t.TempDir()
	testmedia.WriteFile(t, dir, "Artist - Song.mp3", testmedia.Frames(200))
	cfg := load(t, map[string]string{"AUDIO_DIR": dir})
	st, err := station.Build(cfg, cfg.Stations[0], station.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := run(t, st)
	if err := st.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if np := st.NowPlaying(); np == nil || np.Display != "Artist - Song" {
		t.Errorf("now playing %+v", np)
	}
	p, _ := json.Marshal(st.Profile())
	if dir := st.Settings().Dir; strings.Contains(string(p), dir) {
		t.Errorf("profile %s shows the folder %s", p, dir)
	}
}

// TestHistorySize: a station keeps as many recently played tracks as its
// history_size says.
func TestHistorySize(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a.mp3", "b.mp3", "c.mp3"} {
		testmedia.WriteFile(t, dir, name, testmedia.Frames(4))
	}
	toml := testmedia.WriteFile(t, t.TempDir(), "s.toml", []byte("publish_interval = \"50ms\"\n[[station]]\nroute = \"/\"\ndir = \""+dir+"\"\nhistory_size = 2\n"))
	cfg := load(t, nil, "--config", toml)
	started := make(chan string, 16)
	st, err := station.Build(cfg, cfg.Stations[0], station.Deps{OnTrack: func(_ string, ti *mount.TrackInfo) { started <- ti.Rel }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := run(t, st)
	for range 3 {
		select {
		case <-started:
		case <-ctx.Done():
			t.Fatal("three tracks did not start")
		}
	}
	if n := len(st.History()); n != 2 {
		t.Errorf("history holds %d tracks, want history_size = 2", n)
	}
}

// TestStateFilesAreDistinctPerRoute: every station keeps its place in a
// file of its own, however its route is spelled ("/a_b" and "/a/b" once
// shared one), and simple routes keep the names earlier versions wrote.
func TestStateFilesAreDistinctPerRoute(t *testing.T) {
	long := strings.Repeat("ю", 60) // 120 bytes, 360 once percent-encoded
	wantFile := map[string]string{
		"/":              "station-root.json",
		"/humor":         "station-humor.json",
		"/a_b":           "station-a_b.json",
		"/a/b":           "station-a%2Fb.json",
		"/юмор":          "station-%D1%8E%D0%BC%D0%BE%D1%80.json",
		"/root":          "station-%72oot.json",
		"/" + long + "1": "", // too long to spell out: distinct, short enough
		"/" + long + "2": "",
	}
	stateDir := t.TempDir()
	var toml strings.Builder
	toml.WriteString("publish_interval = \"50ms\"\nstate_dir = \"" + stateDir + "\"\n")
	trackOf := map[string]string{}
	i := 0
	for route := range wantFile {
		dir, track := t.TempDir(), fmt.Sprintf("track%d.mp3", i)
		i++
		testmedia.WriteFile(t, dir, track, testmedia.Frames(200))
		trackOf[route] = track
		fmt.Fprintf(&toml, "[[station]]\nroute = %q\ndir = %q\n", route, dir)
	}
	cfg := load(t, nil, "--config", testmedia.WriteFile(t, t.TempDir(), "s.toml", []byte(toml.String())))

	started := make(chan string, 64)
	sts, err := station.BuildAll(cfg, station.Deps{OnTrack: func(route string, _ *mount.TrackInfo) { started <- route }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, st := range sts {
		st.Start(ctx)
	}
	for playing := map[string]bool{}; len(playing) < len(sts); {
		select {
		case r := <-started:
			playing[r] = true
		case <-ctx.Done():
			t.Fatal("not every station started a track")
		}
	}
	cancel() // stations save their place as they stop
	for _, st := range sts {
		st.Wait()
	}

	files, err := os.ReadDir(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(wantFile) {
		t.Errorf("%d state files for %d routes: %v", len(files), len(wantFile), files)
	}
	for route, want := range wantFile {
		name := want
		if name == "" {
			name = stateFileOf(t, files, stateDir, trackOf[route])
			if len(name) > 255 {
				t.Errorf("state file of a long route: %d bytes, more than a file name may have", len(name))
			}
		}
		st, err := playlist.LoadState(filepath.Join(stateDir, name))
		if err != nil {
			t.Errorf("route %s: %v", route, err)
			continue
		}
		if st.Current != trackOf[route] {
			t.Errorf("route %s: %s holds %q, want its own track %q", route, name, st.Current, trackOf[route])
		}
	}
}

// stateFileOf finds the state file that names track.
func stateFileOf(t *testing.T, files []os.DirEntry, dir, track string) string {
	t.Helper()
	for _, f := range files {
		if st, err := playlist.LoadState(filepath.Join(dir, f.Name())); err == nil && st.Current == track {
			return f.Name()
		}
	}
	t.Errorf("no state file holds %s", track)
	return ""
}

// TestIndividualStationNeedingMissingFFmpegIsNotReady: an individual-mode
// station whose every file needs ffmpeg, which is missing, would give
// each listener silence, so it is not ready (503, /readyz); an MP3 beside
// them makes it ready.
func TestIndividualStationNeedingMissingFFmpegIsNotReady(t *testing.T) {
	dir := t.TempDir()
	testmedia.WriteFile(t, dir, "a.wav", testmedia.WAV(1, 44100, 2, 16))
	cfg := load(t, map[string]string{"AUDIO_DIR": dir, "STREAM_MODE": "individual"})
	st, err := station.Build(cfg, cfg.Stations[0], station.Deps{FFmpeg: errors.New("ffmpeg: not found")})
	if err != nil {
		t.Fatal(err)
	}
	run(t, st) // Start scans before it returns
	if st.Ready() || st.Library().Len() != 1 {
		t.Errorf("ready %v with %d files, only a WAV and no ffmpeg", st.Ready(), st.Library().Len())
	}
	testmedia.WriteFile(t, dir, "b.mp3", testmedia.Frames(100))
	if _, err := st.Reload(); err != nil {
		t.Fatal(err)
	}
	if !st.Ready() {
		t.Error("not ready with a playable MP3")
	}
}

// run starts st until the test ends and returns the context that bounds
// the test's waits on it.
func run(t *testing.T, st *station.Station) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	st.Start(ctx)
	t.Cleanup(func() { cancel(); st.Wait() })
	return ctx
}
