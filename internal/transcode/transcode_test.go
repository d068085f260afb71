//go:build linux

package transcode_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/internal/transcode"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// helperEnv makes the test binary act as a server that starts a fake
// ffmpeg, prints its pid and waits to be SIGKILLed (see TestPdeathsig).
const helperEnv = "TRANSCODE_TEST_PDEATHSIG_FFMPEG"

func TestMain(m *testing.M) {
	if script := os.Getenv(helperEnv); script != "" {
		os.Exit(pdeathsigHelper(script))
	}
	os.Exit(m.Run())
}

func pdeathsigHelper(script string) int {
	s, err := transcode.Start(context.Background(), "unused.wav", transcode.Options{FFmpegPath: script, StallTimeout: -1})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(s.Pid())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent kills us
	return 0
}

// ---- /proc helpers ----------------------------------------------------

type procInfo struct {
	pid, ppid, pgrp int
	state           byte
	comm            string
}

func readProc(pid int) (procInfo, bool) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procInfo{}, false
	}
	s := string(raw)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < 0 {
		return procInfo{}, false
	}
	f := strings.Fields(s[closing+1:]) // state ppid pgrp ...
	if len(f) < 3 {
		return procInfo{}, false
	}
	p := procInfo{pid: pid, state: f[0][0], comm: s[open+1 : closing]}
	p.ppid, _ = strconv.Atoi(f[1])
	p.pgrp, _ = strconv.Atoi(f[2])
	return p, true
}

func allProcs(t *testing.T) []procInfo {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []procInfo
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readProc(pid); ok {
			out = append(out, p)
		}
	}
	return out
}

// children lists the processes (running or zombie) whose parent is us.
func children(t *testing.T) []procInfo {
	var out []procInfo
	for _, p := range allProcs(t) {
		if p.ppid == os.Getpid() {
			out = append(out, p)
		}
	}
	return out
}

// assertReaped fails if pid is still a child of the test process (alive or
// an unreaped zombie). Once reaped, /proc/<pid> is gone (or, if the pid was
// reused, belongs to a process that is not our child).
func assertReaped(t *testing.T, pid int) {
	t.Helper()
	if p, ok := readProc(pid); ok && p.ppid == os.Getpid() {
		t.Errorf("pid %d (%s) not reaped after Close: state %c", pid, p.comm, p.state)
	}
}

// awaitExit blocks until pid has exited (event-driven via pidfd; the bound
// only turns a hang into a failure).
func awaitExit(t *testing.T, pid int) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return // already gone
	}
	if err != nil {
		t.Fatalf("pidfd_open(%d): %v", pid, err)
	}
	defer unix.Close(fd)
	awaitPidfd(t, fd, pid)
}

func awaitPidfd(t *testing.T, fd, pid int) {
	t.Helper()
	for {
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 60_000)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("poll pidfd %d: %v", pid, err)
		}
		if n != 1 {
			_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0) // best effort before failing
			t.Fatalf("pid %d still running a minute after it should have been killed", pid)
		}
		return
	}
}

// assertGroupGone waits for every process still in process group pgid to
// exit, failing if one does not.
func assertGroupGone(t *testing.T, pgid int) {
	t.Helper()
	for _, p := range allProcs(t) {
		if p.pgrp == pgid && p.state != 'Z' && p.state != 'X' {
			awaitExit(t, p.pid)
		}
	}
}

// ---- fixtures -----------------------------------------------------------

// fakeFFmpeg writes an executable shell script standing in for ffmpeg.
func fakeFFmpeg(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fake-ffmpeg")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func requireFFmpeg(t testing.TB) string {
	t.Helper()
	return testmedia.RequireTool(t, "ffmpeg")
}

// readAll transcodes path to completion and Closes the stream.
func readAll(t *testing.T, path string, opt transcode.Options) ([]byte, int, error) {
	t.Helper()
	s, err := transcode.Start(context.Background(), path, opt)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	var out bytes.Buffer
	_, err = io.Copy(&out, s) // io.Copy turns io.EOF into nil
	if cerr := s.Close(); cerr != nil {
		t.Errorf("Close: %v", cerr)
	}
	assertReaped(t, s.Pid())
	return out.Bytes(), s.Pid(), err
}

// ---- MPEG frame walking -------------------------------------------------

type frame struct {
	kbps, rate, size int
	mono             bool
}

var (
	l3Kbps     = [16]int{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0}
	mpeg1Rates = [4]int{44100, 48000, 32000, 0}
)

// parseMPEG1L3 parses a 4-byte MPEG-1 Layer III header.
func parseMPEG1L3(h []byte) (frame, error) {
	if len(h) < 4 || h[0] != 0xFF || h[1]&0xE0 != 0xE0 {
		return frame{}, fmt.Errorf("no frame sync: % x", h[:min(len(h), 4)])
	}
	if v := h[1] >> 3 & 3; v != 3 {
		return frame{}, fmt.Errorf("not MPEG-1 (version bits %b)", v)
	}
	if l := h[1] >> 1 & 3; l != 1 {
		return frame{}, fmt.Errorf("not Layer III (layer bits %b)", l)
	}
	f := frame{kbps: l3Kbps[h[2]>>4], rate: mpeg1Rates[h[2]>>2&3], mono: h[3]>>6 == 3}
	if f.kbps == 0 || f.rate == 0 {
		return frame{}, fmt.Errorf("bad bitrate/rate index in % x", h[:4])
	}
	f.size = 144 * f.kbps * 1000 / f.rate
	if h[2]&0x02 != 0 {
		f.size++
	}
	return f, nil
}

// checkMP3 asserts data is a bare CBR MP3 stream as the streamer needs it
// and returns its frame count.
func checkMP3(t *testing.T, data []byte) int {
	t.Helper()
	if len(data) < 4 {
		t.Fatalf("only %d bytes of output", len(data))
	}
	if bytes.HasPrefix(data, []byte("ID3")) {
		t.Fatal("output starts with an ID3 tag")
	}
	if data[0] != 0xFF || data[1]&0xE0 != 0xE0 {
		t.Fatalf("output does not start with an MPEG frame sync: % x", data[:4])
	}
	first, err := parseMPEG1L3(data)
	if err != nil {
		t.Fatalf("first frame: %v", err)
	}
	for _, off := range []int{36, 21} { // side info end: MPEG-1 stereo, mono
		for _, tag := range []string{"Xing", "Info", "VBRI"} {
			if off+4 <= first.size && string(data[off:off+4]) == tag {
				t.Fatalf("first frame is a %s header frame (offset %d)", tag, off)
			}
		}
	}
	frames := 0
	for off := 0; off < len(data); {
		f, err := parseMPEG1L3(data[off:])
		if err != nil {
			t.Fatalf("frame %d at offset %d: %v", frames, off, err)
		}
		if f.rate != 44100 || f.kbps != 128 || f.mono {
			t.Fatalf("frame %d: %d Hz %d kbps mono=%v, want 44100 Hz 128 kbps stereo", frames, f.rate, f.kbps, f.mono)
		}
		if off+f.size > len(data) {
			t.Fatalf("frame %d at %d truncated: needs %d bytes, %d left", frames, off, f.size, len(data)-off)
		}
		off += f.size
		frames++
	}
	return frames // the walk consumed every byte: no ID3v1/APE tail either
}

func assertFrameCount(t *testing.T, frames int, d time.Duration) {
	t.Helper()
	want := d.Seconds() * 44100 / 1152 // 26.122 ms per frame
	if diff := float64(frames) - want; diff < -3 || diff > 3 {
		t.Errorf("%d frames for %v of audio, want %.1f ± 3", frames, d, want)
	}
}

// ---- tests --------------------------------------------------------------

func TestArgs(t *testing.T) {
	args := transcode.Args("/music/a:b.wav", transcode.Options{Bitrate: 192, SampleRate: 48000, Channels: 1})
	joined := " " + strings.Join(args, " ") + " "
	for _, want := range []string{
		" -nostdin ", " -i file:/music/a:b.wav ", " -c:a libmp3lame ", " -b:a 192k ", " -ar 48000 ", " -ac 1 ",
		" -write_xing 0 ", " -id3v2_version 0 ", " -map_metadata -1 ", " -f mp3 pipe:1 ",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("args %q lack %q", args, want)
		}
	}
	def := strings.Join(transcode.Args("x.wav", transcode.Options{}), " ")
	if !strings.Contains(def, "-b:a 128k -ar 44100 -ac 2") {
		t.Errorf("defaults not applied: %s", def)
	}
	if args[len(args)-1] != "pipe:1" {
		t.Errorf("output must be the last argument: %q", args)
	}
}

func TestAvailable(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-ffmpeg")
	err := transcode.Available(missing)
	if err == nil || !strings.Contains(err.Error(), "apt-get install ffmpeg") {
		t.Errorf("Available(%q) = %v, want an install hint", missing, err)
	}
	_, err = transcode.Start(context.Background(), "x.wav", transcode.Options{FFmpegPath: missing})
	if err == nil || !strings.Contains(err.Error(), "apt-get install ffmpeg") {
		t.Errorf("Start with missing ffmpeg = %v, want an install hint", err)
	}
	noLame := fakeFFmpeg(t, "echo \"Codec 'libmp3lame' is not recognized by FFmpeg.\"")
	if err := transcode.Available(noLame); err == nil || !strings.Contains(err.Error(), "libmp3lame") {
		t.Errorf("Available(ffmpeg without lame) = %v, want libmp3lame error", err)
	}
	requireFFmpeg(t)
	if err := transcode.Available(""); err != nil {
		t.Errorf("Available(\"\") with ffmpeg installed: %v", err)
	}
}

func TestTranscodeWAVKinds(t *testing.T) {
	ffmpeg := requireFFmpeg(t)
	dir := t.TempDir()
	s16 := testmedia.WriteFile(t, dir, "s16.wav", testmedia.WAV(3, 44100, 2, 16))
	f32 := filepath.Join(dir, "f32.wav")
	if out, err := exec.Command(ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error",
		"-i", s16, "-c:a", "pcm_f32le", f32).CombinedOutput(); err != nil {
		t.Fatalf("making float WAV: %v: %s", err, out)
	}
	cases := []struct {
		name, path string
		dur        time.Duration
	}{
		{"u8-22k-mono", testmedia.WriteFile(t, dir, "u8.wav", testmedia.WAV(4, 22050, 1, 8)), 4 * time.Second},
		{"s16-44k-stereo", s16, 3 * time.Second},
		{"s24-48k-stereo", testmedia.WriteFile(t, dir, "s24.wav", testmedia.WAV(5, 48000, 2, 24)), 5 * time.Second},
		{"f32-44k-stereo", f32, 3 * time.Second},
		// ':' must not select a protocol, '%', '?' and '#' must not be URL syntax.
		{"odd-file-name", testmedia.WriteFile(t, dir, "we:ird %20 ?#.wav", testmedia.WAV(2, 44100, 2, 16)), 2 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data, _, err := readAll(t, c.path, transcode.Options{FFmpegPath: ffmpeg})
			if err != nil {
				t.Fatalf("transcode: %v", err)
			}
			assertFrameCount(t, checkMP3(t, data), c.dur)
		})
	}
}

func TestProbe(t *testing.T) {
	ffprobe := testmedia.RequireTool(t, "ffprobe")
	dir := t.TempDir()
	wav := testmedia.WriteFile(t, dir, "tone 48k.wav", testmedia.WAV(2, 48000, 1, 24))
	info, err := transcode.Probe(context.Background(), ffprobe, wav)
	if err != nil {
		t.Fatal(err)
	}
	want := transcode.Info{Codec: "pcm_s24le", SampleRate: 48000, Channels: 1, Duration: 2 * time.Second}
	if info != want {
		t.Errorf("Probe = %+v, want %+v", info, want)
	}

	text := testmedia.WriteFile(t, dir, "x.wav", []byte("this is not audio\n"))
	_, err = transcode.Probe(context.Background(), "", text)
	var e *transcode.Error
	if !errors.As(err, &e) || e.Tool != "ffprobe" || !strings.Contains(err.Error(), "Invalid data found") {
		t.Errorf("Probe(text file) = %v, want *Error from ffprobe with its reason", err)
	}
}

func TestFloatWAVProbesAsFloat(t *testing.T) {
	ffmpeg := requireFFmpeg(t)
	testmedia.RequireTool(t, "ffprobe")
	dir := t.TempDir()
	in := testmedia.WriteFile(t, dir, "in.wav", testmedia.WAV(1, 44100, 2, 16))
	out := filepath.Join(dir, "out.wav")
	if b, err := exec.Command(ffmpeg, "-nostdin", "-loglevel", "error", "-i", in, "-c:a", "pcm_f32le", out).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	info, err := transcode.Probe(context.Background(), "", out)
	if err != nil || info.Codec != "pcm_f32le" {
		t.Fatalf("Probe(float WAV) = %+v, %v; the float fixture is not float", info, err)
	}
}

func TestCorpusWAV(t *testing.T) {
	ffmpeg := requireFFmpeg(t)
	testmedia.RequireTool(t, "ffprobe")
	dir, m := testmedia.Corpus(t)
	seen := 0
	for _, f := range m.Files {
		if !strings.HasPrefix(f.Path, "wav/") {
			continue
		}
		seen++
		path := filepath.Join(dir, f.Path)
		t.Run(f.Path, func(t *testing.T) {
			switch {
			case strings.HasPrefix(f.ExpectedBehaviour, "play"):
				info, err := transcode.Probe(context.Background(), "", path)
				if err != nil {
					t.Fatal(err)
				}
				if info.SampleRate != f.SampleRate || info.Channels != f.Channels {
					t.Errorf("Probe = %+v, manifest says %d Hz %d ch", info, f.SampleRate, f.Channels)
				}
				data, _, err := readAll(t, path, transcode.Options{FFmpegPath: ffmpeg})
				if err != nil {
					t.Fatalf("transcode: %v", err)
				}
				assertFrameCount(t, checkMP3(t, data), info.Duration)
			case strings.HasPrefix(f.ExpectedBehaviour, "skip"):
				data, _, err := readAll(t, path, transcode.Options{FFmpegPath: ffmpeg})
				var e *transcode.Error
				if !errors.As(err, &e) {
					t.Fatalf("got %d bytes and %v, want *transcode.Error", len(data), err)
				}
				if e.Reason() == "" || !strings.Contains(err.Error(), e.Reason()) {
					t.Errorf("error %q lacks ffmpeg's reason (stderr %q)", err, e.Stderr)
				}
				if !errors.Is(err, transcode.ErrNoAudio) || !strings.Contains(e.Stderr, "empty") {
					t.Errorf("header-only WAV: got %q, want ErrNoAudio with ffmpeg's \"Output file is empty\"", err)
				}
				t.Logf("skip reason: %v", err)
			default:
				t.Fatalf("unexpected behaviour %q for a WAV", f.ExpectedBehaviour)
			}
		})
	}
	if seen < 4 {
		t.Errorf("manifest lists %d WAV files, want at least 4", seen)
	}
}

func TestTextFileNamedWAV(t *testing.T) {
	ffmpeg := requireFFmpeg(t)
	path := testmedia.WriteFile(t, t.TempDir(), "x.wav", []byte("hello, I am text\n"))
	data, pid, err := readAll(t, path, transcode.Options{FFmpegPath: ffmpeg})
	var e *transcode.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %d bytes and %v, want *transcode.Error", len(data), err)
	}
	if len(data) != 0 {
		t.Errorf("got %d bytes of output for a text file", len(data))
	}
	if e.ExitCode == 0 || e.Path != path {
		t.Errorf("Error = %+v", e)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "ffmpeg failed on "+path+": exit status ") || !strings.Contains(msg, "Invalid data found when processing input") {
		t.Errorf("message %q lacks ffmpeg's reason", msg)
	}
	assertReaped(t, pid)
}

// A "WAV" that is really an HLS playlist must not make ffmpeg open URLs.
func TestInputRestrictedToFiles(t *testing.T) {
	ffmpeg := requireFFmpeg(t)
	playlist := "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:10,\nhttp://127.0.0.1:9/x.wav\n#EXT-X-ENDLIST\n"
	path := testmedia.WriteFile(t, t.TempDir(), "playlist.wav", []byte(playlist))
	_, _, err := readAll(t, path, transcode.Options{FFmpegPath: ffmpeg})
	var e *transcode.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want *transcode.Error", err)
	}
	// Without -protocol_whitelist ffmpeg 5.1 says "not on whitelist 'file,crypto,data'".
	if !strings.Contains(e.Stderr, "Protocol 'http' not on whitelist 'file'!") {
		t.Errorf("stderr %q: http was not refused by the file-only whitelist", e.Stderr)
	}
}

func TestManyBrokenFilesLeaveNoChildren(t *testing.T) {
	ffmpeg := requireFFmpeg(t)
	dir := t.TempDir()
	headerOnly := testmedia.WriteFile(t, dir, "header-only.wav", testmedia.WAV(1, 44100, 2, 16)[:44])
	text := testmedia.WriteFile(t, dir, "x.wav", []byte("not a wav\n"))
	for i := 0; i < 30; i++ {
		path := headerOnly
		if i%2 == 1 {
			path = text
		}
		_, _, err := readAll(t, path, transcode.Options{FFmpegPath: ffmpeg})
		var e *transcode.Error
		if !errors.As(err, &e) {
			t.Fatalf("run %d (%s): %v, want *transcode.Error", i, filepath.Base(path), err)
		}
	}
	if kids := children(t); len(kids) != 0 {
		t.Fatalf("children left after 30 failed transcodes: %+v", kids)
	}
}

func TestStallTimeoutKillsHungEncoder(t *testing.T) {
	// Prints nothing on stdout; a grandchild in the same group holds the
	// pipes too, so only a group kill ends the stream.
	script := fakeFFmpeg(t, "sleep 1000 &\necho \"grandchild $!\" >&2\nwait")
	s, err := transcode.Start(context.Background(), "hung.wav", transcode.Options{FFmpegPath: script, StallTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.Read(make([]byte, 4096))
	var e *transcode.Error
	if n != 0 || !errors.As(err, &e) || !errors.Is(err, transcode.ErrStalled) || !e.Timeout() {
		t.Fatalf("Read = %d, %v; want *Error wrapping ErrStalled", n, err)
	}
	if !strings.Contains(err.Error(), "timed out") || !strings.Contains(err.Error(), "hung.wav") {
		t.Errorf("message %q should say the encoder for hung.wav timed out", err)
	}
	if _, err2 := s.Read(make([]byte, 10)); err2 != err {
		t.Errorf("second Read = %v, want the same sticky error", err2)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	assertReaped(t, s.Pid())
	if m := regexp.MustCompile(`grandchild (\d+)`).FindStringSubmatch(e.Stderr); m != nil {
		gpid, _ := strconv.Atoi(m[1])
		awaitExit(t, gpid)
	} else {
		t.Logf("script was killed before it forked (stderr %q)", e.Stderr)
	}
	assertGroupGone(t, s.Pid())
	if kids := children(t); len(kids) != 0 {
		t.Errorf("children left: %+v", kids)
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	script := fakeFFmpeg(t, "exec sleep 1000")
	s, err := transcode.Start(context.Background(), "x.wav", transcode.Options{FFmpegPath: script, StallTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		n   int
		err error
	}
	done := make(chan result)
	go func() {
		n, err := s.Read(make([]byte, 4096)) // blocks: the fake never writes
		done <- result{n, err}
	}()
	closed := make(chan error, 3)
	for range 3 { // concurrent Closes
		go func() { closed <- s.Close() }()
	}
	for range 3 {
		if err := <-closed; err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	r := <-done
	if r.n != 0 || !errors.Is(r.err, transcode.ErrClosed) {
		t.Errorf("blocked Read returned %d, %v; want ErrClosed", r.n, r.err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	assertReaped(t, s.Pid())
}

func TestContextCancelKills(t *testing.T) {
	script := fakeFFmpeg(t, "exec sleep 1000")
	ctx, cancel := context.WithCancel(context.Background())
	s, err := transcode.Start(ctx, "x.wav", transcode.Options{FFmpegPath: script, StallTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	n, err := s.Read(make([]byte, 100))
	var e *transcode.Error
	if n != 0 || !errors.As(err, &e) || !errors.Is(err, context.Canceled) || e.ExitCode != -1 {
		t.Errorf("Read after cancel = %d, %v; want *Error wrapping context.Canceled, exit -1", n, err)
	}
	s.Close()
	assertReaped(t, s.Pid())
}

func TestFakeExitStatuses(t *testing.T) {
	t.Run("partial output then failure", func(t *testing.T) {
		script := fakeFFmpeg(t, "printf 'abc'\necho 'decoder exploded' >&2\nexit 2")
		data, _, err := readAll(t, "p.wav", transcode.Options{FFmpegPath: script})
		var e *transcode.Error
		if string(data) != "abc" || !errors.As(err, &e) || e.ExitCode != 2 {
			t.Fatalf("got %q, %v; want \"abc\" then *Error exit 2", data, err)
		}
		if want := "ffmpeg failed on p.wav: exit status 2: decoder exploded"; err.Error() != want {
			t.Errorf("Error() = %q, want %q", err, want)
		}
	})
	t.Run("success", func(t *testing.T) {
		script := fakeFFmpeg(t, "printf 'abc'")
		data, _, err := readAll(t, "ok.wav", transcode.Options{FFmpegPath: script})
		if string(data) != "abc" || err != nil {
			t.Fatalf("got %q, %v; want \"abc\" and io.EOF", data, err)
		}
	})
	t.Run("stderr is bounded", func(t *testing.T) {
		script := fakeFFmpeg(t, `i=0
while [ $i -lt 2000 ]; do echo "noise line $i" >&2; i=$((i+1)); done
echo 'final reason: bad things' >&2
exit 3`)
		_, _, err := readAll(t, "n.wav", transcode.Options{FFmpegPath: script})
		var e *transcode.Error
		if !errors.As(err, &e) || e.ExitCode != 3 {
			t.Fatalf("got %v, want *Error exit 3", err)
		}
		if len(e.Stderr) > transcode.StderrLimit || !strings.HasSuffix(e.Stderr, "final reason: bad things\n") {
			t.Errorf("Stderr: %d bytes, tail %q", len(e.Stderr), e.Stderr[max(0, len(e.Stderr)-40):])
		}
		if strings.Contains(e.Stderr, "noise line 0\n") {
			t.Error("Stderr kept the oldest lines")
		}
		if !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "final reason: bad things") {
			t.Errorf("Error() = %q", err)
		}
	})
}

func TestCloseWhileEncoding(t *testing.T) {
	ffmpeg := requireFFmpeg(t)
	path := testmedia.WriteFile(t, t.TempDir(), "long.wav", testmedia.WAV(60, 44100, 2, 16))
	s, err := transcode.Start(context.Background(), path, transcode.Options{FFmpegPath: ffmpeg})
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 4096)
	if _, err := io.ReadFull(s, head); err != nil {
		t.Fatal(err)
	}
	if _, err := parseMPEG1L3(head); err != nil {
		t.Errorf("first bytes: %v", err)
	}
	// 60 s is ~960 kB of MP3; ffmpeg cannot finish before we read it, so
	// it is necessarily still alive (blocked on the full pipe or encoding).
	p, ok := readProc(s.Pid())
	if !ok || p.state == 'Z' {
		t.Fatalf("ffmpeg should still be running: %+v", p)
	}
	// Its stdout must be a blocking pipe (Go's poller must not have leaked
	// O_NONBLOCK into the child, or ffmpeg would fail with EAGAIN).
	if fdinfo, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/1", s.Pid())); err == nil {
		for _, line := range strings.Split(string(fdinfo), "\n") {
			if v, ok := strings.CutPrefix(line, "flags:"); ok {
				flags, _ := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
				if flags&unix.O_NONBLOCK != 0 {
					t.Errorf("ffmpeg's stdout is O_NONBLOCK (flags %s)", strings.TrimSpace(v))
				}
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	assertReaped(t, s.Pid())
	if n, err := s.Read(head); n != 0 || !errors.Is(err, transcode.ErrClosed) {
		t.Errorf("Read after Close = %d, %v; want ErrClosed", n, err)
	}
	if kids := children(t); len(kids) != 0 {
		t.Errorf("children left: %+v", kids)
	}
}

// TestPdeathsig SIGKILLs a process that started an encoder and checks the
// kernel kills the encoder too (no orphan keeps running).
func TestPdeathsig(t *testing.T) {
	script := fakeFFmpeg(t, "exec sleep 1000")
	helper := exec.Command(os.Args[0], "-test.run=^$")
	helper.Env = append(os.Environ(), helperEnv+"="+script)
	helper.Stderr = os.Stderr
	stdin, err := helper.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = helper.Process.Kill() // it may have exited already
		_ = helper.Wait()
		t.Fatalf("helper did not report a pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("helper said %q", line)
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatalf("pidfd_open(%d): %v (encoder should be running)", pid, err)
	}
	defer unix.Close(fd)
	defer func() { _ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0) }() // no-op once it is dead
	if p, ok := readProc(pid); !ok || p.ppid != helper.Process.Pid || p.pgrp != pid {
		t.Fatalf("encoder %+v: want child of helper %d in its own group", p, helper.Process.Pid)
	}
	if err := helper.Process.Kill(); err != nil {
		t.Fatalf("kill helper: %v", err)
	}
	_ = helper.Wait()      // reaps it; the error is the SIGKILL
	awaitPidfd(t, fd, pid) // fails if the orphan keeps running
	if slices.ContainsFunc(children(t), func(p procInfo) bool { return p.pid == pid }) {
		t.Errorf("encoder %d became our child", pid)
	}
}

// TestStartReaderConvertsAStream: a live source's MP3 stream (here 22.05 kHz
// mono, made by ffmpeg from a WAV) piped through StartReader comes out as
// MP3 of the station's format, and the output ends when the input does.
func TestStartReaderConvertsAStream(t *testing.T) {
	bin := requireFFmpeg(t)
	dir := t.TempDir()
	wav := testmedia.WriteFile(t, dir, "in.wav", testmedia.WAV(2, 22050, 1, 16))
	src, err := transcode.Start(context.Background(), wav, transcode.Options{FFmpegPath: bin, Bitrate: 32, SampleRate: 22050, Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	in, err := io.ReadAll(src)
	src.Close()
	if err != nil || len(in) == 0 {
		t.Fatalf("making the 22.05 kHz input: %d bytes, %v", len(in), err)
	}
	args := strings.Join(transcode.StreamArgs(transcode.Options{}), " ")
	if !strings.Contains(args, "-protocol_whitelist pipe -i pipe:0") {
		t.Errorf("stream args %q do not read stdin with only the pipe protocol", args)
	}

	s, err := transcode.StartReader(context.Background(), bytes.NewReader(in), transcode.Options{FFmpegPath: bin, Bitrate: 128, SampleRate: 44100, Channels: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := io.ReadAll(s)
	if err != nil {
		t.Fatalf("reading the converted stream: %v", err)
	}
	fr := mount.NewFrameReader(bytes.NewReader(out))
	frames := 0
	for {
		f, err := fr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.SampleRate != 44100 || f.Channels != 2 || f.Bitrate != 128000 {
			t.Fatalf("frame %d: %d Hz, %d channels, %d bit/s; want 44100 Hz stereo 128 kbit/s", frames, f.SampleRate, f.Channels, f.Bitrate)
		}
		frames++
	}
	if d := time.Duration(frames) * 1152 * time.Second / 44100; d < 1900*time.Millisecond || d > 2200*time.Millisecond {
		t.Errorf("converted %v of audio from a 2 s stream", d)
	}
}
