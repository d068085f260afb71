package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/station"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// runCheck calls check with args and env and returns the exit status and
// what it printed.
func runCheck(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	code := check(context.Background(), args, lookup, &out, &errOut)
	return code, out.String(), errOut.String()
}

// runCheckJSON runs check --json and decodes the report.
func runCheckJSON(t *testing.T, env map[string]string, args ...string) (int, checkReport, string) {
	t.Helper()
	code, out, errOut := runCheck(t, env, append([]string{"--json"}, args...)...)
	var rep checkReport
	if code != 2 {
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("check --json printed invalid JSON (%v):\n%s", err, out)
		}
	}
	return code, rep, errOut
}

// frames48k returns n silent 128 kbps MPEG-1 Layer III frames at 48 kHz.
func frames48k(n int) []byte {
	const size = 144 * 128000 / 48000
	var out []byte
	for range n {
		fr := make([]byte, size)
		fr[0], fr[1], fr[2], fr[3] = 0xFF, 0xFB, 0x94, 0x64 // 128 kbps, 48 kHz, joint stereo
		out = append(out, fr...)
	}
	return out
}

func findStation(t *testing.T, rep checkReport, route string) stationReport {
	t.Helper()
	for _, s := range rep.Stations {
		if s.Route == route {
			return s
		}
	}
	t.Fatalf("no station %s in report %+v", route, rep.Stations)
	return stationReport{}
}

func findPlay(s stationReport, path string) (playEntry, bool) {
	for _, p := range s.Play {
		if p.Path == path {
			return p, true
		}
	}
	return playEntry{}, false
}

func findSkip(s stationReport, path string) (skipEntry, bool) {
	for _, k := range s.Skip {
		if k.Path == path {
			return k, true
		}
	}
	return skipEntry{}, false
}

// mixedFolder holds good MP3s, an empty, a hidden and a fake MP3, and a
// 48 kHz MP3 among 44.1 kHz ones.
func mixedFolder(t *testing.T) string {
	dir := t.TempDir()
	testmedia.WriteFile(t, dir, "a.mp3", testmedia.ID3v2("Artist A", "Song A", 64), testmedia.Frames(50))
	testmedia.WriteFile(t, dir, "sub/b.mp3", testmedia.Frames(40))
	testmedia.WriteFile(t, dir, "c.mp3", testmedia.ID3v2("", "Only Title", 0), testmedia.Frames(30))
	testmedia.WriteFile(t, dir, "empty.mp3")
	testmedia.WriteFile(t, dir, ".hidden.mp3", testmedia.Frames(10))
	testmedia.WriteFile(t, dir, "text.mp3", bytes.Repeat([]byte("this is a text file, not audio\n"), 200))
	testmedia.WriteFile(t, dir, "z48k.mp3", frames48k(60))
	testmedia.WriteFile(t, dir, "notes.txt", []byte("ignored"))
	return dir
}

func TestCheckMixedFolder(t *testing.T) {
	dir := mixedFolder(t)
	before := snapshotFiles(t, dir)
	code, rep, errOut := runCheckJSON(t, nil, "--audio-dir", dir)
	if code != 0 {
		t.Fatalf("exit %d, want 0; stderr: %s", code, errOut)
	}
	if !rep.OK {
		t.Error("report not OK")
	}
	st := findStation(t, rep, "/")
	if st.Dir != dir || st.Mode != "radio" {
		t.Errorf("station = %q %q, want %q radio", st.Dir, st.Mode, dir)
	}

	a, ok := findPlay(st, "a.mp3")
	if !ok {
		t.Fatalf("a.mp3 not listed as playing: %+v", st)
	}
	wantDur := 50 * 1152 / 44100.0
	if a.Title != "Artist A - Song A" || a.SampleRate != 44100 || a.Channels != 2 || a.BitrateKbps != 128 ||
		a.Frames != 50 || math.Abs(a.DurationS-wantDur) > 1e-6 || a.Transcoded || a.VBR {
		t.Errorf("a.mp3 = %+v, want title %q, 44100 Hz stereo 128 kbps, 50 frames, %.6fs", a, "Artist A - Song A", wantDur)
	}
	if b, ok := findPlay(st, "sub/b.mp3"); !ok || b.Title != "b" || b.Frames != 40 {
		t.Errorf("sub/b.mp3 = %+v (listed %v), want title from the file name and 40 frames", b, ok)
	}
	if c, ok := findPlay(st, "c.mp3"); !ok || c.Title != "Only Title" {
		t.Errorf("c.mp3 = %+v (listed %v), want title %q", c, ok, "Only Title")
	}
	if z, ok := findPlay(st, "z48k.mp3"); !ok || z.SampleRate != 48000 || z.Frames != 60 {
		t.Errorf("z48k.mp3 = %+v (listed %v), want 48000 Hz, 60 frames", z, ok)
	}

	for path, want := range map[string]string{
		"empty.mp3":   "empty",
		".hidden.mp3": "hidden",
		"text.mp3":    "no MPEG audio frames",
	} {
		k, ok := findSkip(st, path)
		if !ok || !strings.Contains(k.Reason, want) {
			t.Errorf("skip %s = %+v (listed %v), want a reason containing %q", path, k, ok, want)
		}
		if _, played := findPlay(st, path); played {
			t.Errorf("%s listed as playing", path)
		}
	}
	if _, ok := findSkip(st, "notes.txt"); ok {
		t.Error("a text file with another extension is listed; it should be ignored")
	}
	if len(st.Play) != 4 || len(st.Skip) != 3 {
		t.Errorf("%d playing, %d skipped; want 4 and 3: %+v", len(st.Play), len(st.Skip), st)
	}

	if st.Majority == nil || *st.Majority != (audioFormat{44100, 2}) {
		t.Errorf("majority format = %+v, want 44100 Hz stereo", st.Majority)
	}
	if len(st.Odd) != 1 || st.Odd[0].Path != "z48k.mp3" || st.Odd[0].SampleRate != 48000 {
		t.Errorf("different formats = %+v, want only z48k.mp3 at 48000 Hz", st.Odd)
	}
	if after := snapshotFiles(t, dir); !equalSnapshots(before, after) {
		t.Error("check changed the files it inspected")
	}

	// The text form says the same, one word in front of each file.
	code, out, _ := runCheck(t, nil, "--audio-dir", dir)
	if code != 0 {
		t.Fatalf("text mode exit %d", code)
	}
	for _, want := range []string{
		"station /  folder " + dir + "  mode radio",
		"  play  a.mp3\n        Artist A - Song A  (44100 Hz, stereo, 128 kbps, 0:01.31)",
		"  skip  empty.mp3: empty",
		"  skip  .hidden.mp3: hidden",
		"  skip  text.mp3: no MPEG audio frames",
		"  warn  z48k.mp3: 48000 Hz stereo, but most tracks are 44100 Hz stereo; this " + oddHint,
		"OK: every station has something to play",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	// Stable order: paths sorted within each section.
	if i, j := strings.Index(out, "play  a.mp3"), strings.Index(out, "play  sub/b.mp3"); i < 0 || j < i {
		t.Errorf("play lines not sorted by path:\n%s", out)
	}
}

// snapshotFiles records size, mode and modification time of every file.
func snapshotFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		m[p] = fi.Mode().String() + " " + fi.ModTime().String() + " " + strconv.FormatInt(fi.Size(), 10)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func equalSnapshots(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestCheckWAV(t *testing.T) {
	dir := t.TempDir()
	testmedia.WriteFile(t, dir, "a.mp3", testmedia.Frames(20))
	testmedia.WriteFile(t, dir, "tone.wav", testmedia.WAV(0.5, 48000, 1, 16))
	testmedia.WriteFile(t, dir, "header-only.wav", testmedia.WAV(0.5, 44100, 2, 16)[:44])

	t.Run("without ffmpeg", func(t *testing.T) {
		cfgFile := filepath.Join(t.TempDir(), "config.toml")
		toml := "ffmpeg_path = \"" + filepath.Join(t.TempDir(), "no-ffmpeg-here") + "\"\n"
		if err := os.WriteFile(cfgFile, []byte(toml), 0o644); err != nil {
			t.Fatal(err)
		}
		code, rep, errOut := runCheckJSON(t, nil, "--config", cfgFile, "--audio-dir", dir)
		if code != 0 {
			t.Fatalf("exit %d, want 0 (a.mp3 plays); stderr %s", code, errOut)
		}
		st := findStation(t, rep, "/")
		for _, name := range []string{"tone.wav", "header-only.wav"} {
			if k, ok := findSkip(st, name); !ok || k.Reason != "needs ffmpeg" {
				t.Errorf("%s = %+v (listed %v), want skipped: needs ffmpeg", name, k, ok)
			}
		}
		if rep.FFmpeg == nil || rep.FFmpeg.Error == "" {
			t.Errorf("report does not say ffmpeg is missing: %+v", rep.FFmpeg)
		}
	})

	t.Run("with ffmpeg", func(t *testing.T) {
		testmedia.RequireTool(t, "ffmpeg")
		testmedia.RequireTool(t, "ffprobe")
		code, rep, errOut := runCheckJSON(t, nil, "--audio-dir", dir)
		if code != 0 {
			t.Fatalf("exit %d, want 0; stderr %s", code, errOut)
		}
		st := findStation(t, rep, "/")
		p, ok := findPlay(st, "tone.wav")
		if !ok || !p.Transcoded || p.Codec != "pcm_s16le" || p.SampleRate != 48000 || p.Channels != 1 ||
			p.BitrateKbps != 128 || math.Abs(p.DurationS-0.5) > 0.01 || p.Title != "tone" {
			t.Errorf("tone.wav = %+v (listed %v), want transcoded pcm_s16le 48000 Hz mono, 0.5 s, 128 kbps out", p, ok)
		}
		if k, ok := findSkip(st, "header-only.wav"); !ok || !strings.Contains(k.Reason, "ffmpeg") {
			t.Errorf("header-only.wav = %+v (listed %v), want skipped with ffmpeg's reason", k, ok)
		}
		// A WAV is transcoded to the station's format, so its own rate
		// is not a mismatch.
		if len(st.Odd) != 0 {
			t.Errorf("different formats = %+v, want none", st.Odd)
		}
	})
}

func TestCheckOtherFormats(t *testing.T) {
	dir := t.TempDir()
	testmedia.WriteFile(t, dir, "a.mp3", testmedia.Frames(10))
	testmedia.WriteFile(t, dir, "x.flac", []byte("fLaC but not really"))
	testmedia.WriteFile(t, dir, ".hidden/y.ogg", []byte("OggS"))

	code, rep, _ := runCheckJSON(t, nil, "--audio-dir", dir)
	st := findStation(t, rep, "/")
	if k, ok := findSkip(st, "x.flac"); code != 0 || !ok || !strings.Contains(k.Reason, `unsupported format: .flac files are not played (add ".flac"`) {
		t.Errorf("exit %d, x.flac = %+v (listed %v), want skipped as an unsupported format", code, k, ok)
	}
	if _, ok := findSkip(st, ".hidden/y.ogg"); ok {
		t.Error("a file inside a hidden folder is listed on its own")
	}

	// Once the station plays .flac, the file is the Library's and
	// ffmpeg's business: listed once, not as unsupported.
	cfgFile := filepath.Join(t.TempDir(), "config.toml")
	toml := "[[station]]\nroute = \"/\"\ndir = " + strconv.Quote(dir) + "\nextensions = [\".flac\"]\n"
	if err := os.WriteFile(cfgFile, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	_, rep, errOut := runCheckJSON(t, nil, "--config", cfgFile)
	st = findStation(t, rep, "/")
	n := 0
	for _, k := range st.Skip {
		if k.Path == "x.flac" {
			n++
			if strings.Contains(k.Reason, "unsupported") {
				t.Errorf("x.flac: %q, want ffmpeg's verdict", k.Reason)
			}
		}
	}
	if n != 1 {
		t.Errorf("x.flac listed %d times in %+v (stderr %s)", n, st.Skip, errOut)
	}
}

func TestCheckStationWithoutFiles(t *testing.T) {
	good := t.TempDir()
	testmedia.WriteFile(t, good, "a.mp3", testmedia.Frames(10))
	quiet := t.TempDir()
	testmedia.WriteFile(t, quiet, "readme.txt", []byte("no music here"))
	env := map[string]string{"DIRECTORY_ROUTES": `{"quiet":"` + quiet + `"}`}

	code, out, errOut := runCheck(t, env, "--audio-dir", good)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	if !strings.Contains(errOut, "route /quiet has no playable files") || strings.Contains(errOut, "route / ") {
		t.Errorf("stderr = %q, want it to name /quiet only", errOut)
	}
	if !strings.Contains(out, "FAIL: nothing to play on /quiet\n") || !strings.Contains(out, "no audio files in the folder") {
		t.Errorf("output does not name the silent station:\n%s", out)
	}

	code, rep, _ := runCheckJSON(t, env, "--audio-dir", good)
	if code != 1 || rep.OK || findStation(t, rep, "/quiet").OK || !findStation(t, rep, "/").OK {
		t.Errorf("json: exit %d, report %+v; want exit 1 with only /quiet failing", code, rep)
	}
}

func TestCheckMissingFolder(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "gone")
	code, out, _ := runCheck(t, nil, "--audio-dir", missing)
	if code != 1 || !strings.Contains(out, "folder "+missing+" does not exist") {
		t.Errorf("exit %d, want 1 and the missing folder named:\n%s", code, out)
	}
}

func TestCheckBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"unknown flag", nil, []string{"--bogus"}},
		{"bad env", map[string]string{"PORT": "abc"}, nil},
		{"bad routes", map[string]string{"DIRECTORY_ROUTES": "{not json"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCheck(t, tc.env, append([]string{"--json"}, tc.args...)...)
			if code != 2 || out != "" {
				t.Errorf("exit %d, stdout %q; want 2 and nothing on stdout", code, out)
			}
			// Same one-line error as the server gives for the same settings.
			var srvOut, srvErr bytes.Buffer
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if c := run(ctx, tc.args, lookup, &srvOut, &srvErr); c != 2 {
				t.Fatalf("server exit %d, want 2", c)
			}
			if errOut != srvErr.String() || strings.Count(errOut, "\n") != 1 {
				t.Errorf("check said %q, the server %q; want the same single line", errOut, srvErr.String())
			}
		})
	}
}

func TestCheckHelp(t *testing.T) {
	code, out, _ := runCheck(t, nil, "--help")
	if code != 0 || !strings.Contains(out, "audio-streamer check [--json]") || !strings.Contains(out, "--audio-dir") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
}

func TestCheckDefaultFolderMissing(t *testing.T) {
	if _, err := os.Stat("/app/audio"); err == nil {
		t.Skip("/app/audio exists on this machine")
	}
	code, out, _ := runCheck(t, nil)
	if code != 0 || !strings.Contains(out, "default audio folder /app/audio is missing or empty, so the server plays the bundled demo station") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
}

// TestCheckAgreesWithServerOnEmptyDefaultFolder is the Docker image's case:
// the default folder exists but is empty. The server plays the demo there,
// so check must say so and succeed, listing the demo's tracks.
func TestCheckAgreesWithServerOnEmptyDefaultFolder(t *testing.T) {
	cfg, err := config.Load(nil, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	// An empty folder as the built-in default, not one the user gave.
	empty := t.TempDir()
	cfg.AudioDir, cfg.Stations[0].Dir = empty, empty
	rep, err := inspect(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || len(rep.Stations) != 1 || !rep.Stations[0].Demo || len(rep.Stations[0].Play) == 0 {
		t.Fatalf("check of an empty default folder: %+v", rep)
	}
	built, err := station.BuildAll(cfg, station.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if !built[0].Demo() || built[0].Settings().Dir != rep.Stations[0].Dir {
		t.Errorf("server plays %s (demo %v), check reported %s", built[0].Settings().Dir, built[0].Demo(), rep.Stations[0].Dir)
	}
}

func TestStripJSONFlag(t *testing.T) {
	args, ok := stripJSONFlag([]string{"--port", "1", "--json", "--", "--json"})
	if !ok || strings.Join(args, " ") != "--port 1 -- --json" {
		t.Errorf("got %q %v", args, ok)
	}
	if _, ok := stripJSONFlag([]string{"--port", "1"}); ok {
		t.Error("found --json where there is none")
	}
}

// TestCheckCorpus runs check over the shared corpus: every "play" file is
// listed as playing with the manifest's title, format and stream duration,
// every "skip: ..." file as skipped.
func TestCheckCorpus(t *testing.T) {
	dir, m := testmedia.Corpus(t)
	code, rep, errOut := runCheckJSON(t, nil, "--audio-dir", dir)
	if code != 0 {
		t.Fatalf("exit %d, want 0; stderr %s", code, errOut)
	}
	st := findStation(t, rep, "/")
	haveFFmpeg := rep.FFmpeg != nil && rep.FFmpeg.Error == "" && rep.FFprobe != nil && rep.FFprobe.Error == ""
	for _, f := range m.Files {
		p, played := findPlay(st, f.Path)
		k, skipped := findSkip(st, f.Path)
		switch b := f.ExpectedBehaviour; {
		case b == "play":
			if !played {
				t.Errorf("%s: not playing (skip %+v)", f.Path, k)
				continue
			}
			if p.Title != f.ExpectedDisplayTitle || p.SampleRate != f.SampleRate || p.Channels != f.Channels || p.Frames != f.MpegAudioFrames {
				t.Errorf("%s = %+v, want title %q, %d Hz, %d ch, %d frames", f.Path, p, f.ExpectedDisplayTitle, f.SampleRate, f.Channels, f.MpegAudioFrames)
			}
			if f.Mpeg != nil && math.Abs(p.DurationS-f.Mpeg.StreamDurationS) > 1e-5 {
				t.Errorf("%s: duration %.6f, want %.6f", f.Path, p.DurationS, f.Mpeg.StreamDurationS)
			}
		case b == "play: transcode wav":
			if haveFFmpeg && (!played || !p.Transcoded || p.Title != f.ExpectedDisplayTitle) {
				t.Errorf("%s = %+v (playing %v), want transcoded with title %q", f.Path, p, played, f.ExpectedDisplayTitle)
			}
			if !haveFFmpeg && !skipped {
				t.Errorf("%s: without ffmpeg it must be skipped", f.Path)
			}
		case strings.HasPrefix(b, "skip"):
			if !skipped || played {
				t.Errorf("%s (%s): skipped %v, playing %v", f.Path, b, skipped, played)
			}
		}
	}
	// 22.05 kHz and 48 kHz MP3s among 44.1 kHz ones are flagged.
	odd := map[string]bool{}
	for _, o := range st.Odd {
		odd[o.Path] = true
	}
	if !odd["variants/48khz-320k.mp3"] || !odd["variants/mpeg2-22khz-mono-32k.mp3"] || len(odd) != 2 {
		t.Errorf("different formats = %+v, want the 48 kHz and the 22.05 kHz MP3", st.Odd)
	}
}
