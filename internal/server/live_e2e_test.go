package server

// End-to-end tests of live shows through the whole server: a radio
// station with a folder of real MP3s and a source password, a listener
// connected before the show, and a real source client (ffmpeg, Liquidsoap,
// libshout's shout) going live on the station's route through the
// server's HTTP port. The listener's capture must be one connection, one
// continuous run of whole MPEG frames, titles folder → DJ → folder, and
// decode with ffmpeg: issue 15's "Done when".

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

const (
	liveRoute    = "/radio"
	livePassword = "dj-s3cret"
	// folderArtist is the artist of every folder track: a title starting
	// with it is the folder's.
	folderArtist = "Folder"
	// showTone is the frequency of every show's tone.
	showTone = 880
)

// folderTones are the frequencies of the folder's two tracks.
var folderTones = [2]float64{330, 550}

// liveBasic is the Authorization header of the source user.
func liveBasic(password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte("source:"+password))
}

// encodeTone makes seconds of a sine tone as an ID3-tagged MP3 in the
// station's format (44.1 kHz, 128 kbps CBR, stereo) with ffmpeg, and
// returns its path.
func encodeTone(t *testing.T, ffmpeg string, freq, seconds int, artist, title string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), fmt.Sprintf("tone-%d.mp3", freq))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%d:duration=%d", freq, seconds),
		"-ar", "44100", "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k",
		"-metadata", "artist="+artist, "-metadata", "title="+title, "-id3v2_version", "3", path).CombinedOutput()
	if err != nil {
		t.Fatalf("making %s: %v\n%s", path, err, out)
	}
	return path
}

// liveFolder is the folder of a live test station: two 3 s tracks of real
// (decodable, non-silent) audio, "Folder - One" and "Folder - Two".
func liveFolder(t *testing.T, ffmpeg string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for i, title := range []string{"One", "Two"} {
		data, err := os.ReadFile(encodeTone(t, ffmpeg, int(folderTones[i]), 3, folderArtist, title))
		if err != nil {
			t.Fatal(err)
		}
		files[fmt.Sprintf("%02d-%s.mp3", i+1, title)] = data
	}
	return files
}

// liveStation is a running server with one radio station at liveRoute
// that has a folder and takes live sources.
type liveStation struct {
	h      *harness
	live   *mount.LiveSource
	tracks chan *mount.TrackInfo // every track started on the live edge (OnTrack)
}

func startLiveStation(t *testing.T, ffmpeg string, set config.Station) *liveStation {
	t.Helper()
	set.Route, set.SourcePassword = liveRoute, livePassword
	ls := &liveStation{tracks: make(chan *mount.TrackInfo, 1024)}
	ls.h = startHarness(t, nil, stationSpec{
		Station: set,
		files:   liveFolder(t, ffmpeg),
		onTrack: func(ti *mount.TrackInfo) {
			select {
			case ls.tracks <- ti:
			default: // a test that runs this long has failed anyway
			}
		},
	})
	ls.live, _ = ls.h.station(t, liveRoute).LiveSource()
	if ls.live == nil {
		t.Fatal("the station has a source password but no live source")
	}
	return ls
}

// trackTitles drains the OnTrack channel: the titles of the tracks that
// started on the live edge so far, in order.
func (ls *liveStation) trackTitles() []string {
	var out []string
	for {
		select {
		case ti := <-ls.tracks:
			out = append(out, ti.Display)
		default:
			return out
		}
	}
}

// onAir waits until the live source plays a stream named name.
func (ls *liveStation) onAir(t *testing.T, name string, limit time.Duration, exited <-chan struct{}) mount.LiveStatus {
	t.Helper()
	var st mount.LiveStatus
	testmedia.PollUntil(t, limit, fmt.Sprintf("stream %q on the air", name), func() bool {
		select {
		case <-exited:
			t.Fatalf("the source client ended before its stream %q was on the air", name)
		default:
		}
		st = ls.live.Status()
		return st.OnAir && st.Info.Name == name && st.BytesIn > 0
	})
	return st
}

// streamsEntry is the station's entry in /streams.
func (ls *liveStation) streamsEntry(t *testing.T) stationJSON {
	t.Helper()
	var doc struct {
		Streams []stationJSON `json:"streams"`
	}
	ls.h.getJSON(t, "/streams", 200, &doc)
	for _, s := range doc.Streams {
		if s.Route == liveRoute {
			return s
		}
	}
	t.Fatalf("/streams has no %s: %+v", liveRoute, doc.Streams)
	return stationJSON{}
}

// sourceOnAir is /metrics' audio_stream_source_on_air for the station,
// by source kind.
func (ls *liveStation) sourceOnAir(t *testing.T) map[string]float64 {
	t.Helper()
	code, _, body := ls.h.get(t, "GET", "/metrics", "")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	f := parsePrometheus(t, body)["audio_stream_source_on_air"]
	if f == nil {
		t.Fatal("/metrics has no audio_stream_source_on_air")
	}
	out := map[string]float64{}
	for _, s := range f.samples {
		if s.labels["stream"] == liveRoute {
			out[s.labels["source"]] = s.value
		}
	}
	return out
}

// updinfo sets the live title through /admin/metadata with the source
// credentials, as BUTT, Mixxx and Liquidsoap do, and checks Icecast's
// success answer.
func (ls *liveStation) updinfo(t *testing.T, song string) {
	t.Helper()
	q := "/admin/metadata?mount=" + url.QueryEscape(liveRoute) + "&mode=updinfo&song=" + url.PathEscape(song)
	code, _, body := ls.h.get(t, "GET", q, "", "Authorization", liveBasic(livePassword))
	if code != 200 || !strings.Contains(string(body), "<return>1</return>") {
		t.Fatalf("GET %s: %d %s", q, code, body)
	}
}

// heard is one metadata block as a listener received it.
type heard struct {
	title string // the title in effect after it
	at    int    // audio bytes received before it
}

// liveListener is a listener on a raw connection whose stream is read in
// the background, metadata block by metadata block.
type liveListener struct {
	conn    net.Conn
	s       *icyStream
	blocks  chan heard
	done    chan error // the read loop's end
	quit    chan struct{}
	stopped atomic.Bool
	err     error // why reading ended, set by finish
}

// listen connects a listener to liveRoute asking for ICY metadata and
// starts capturing everything it receives.
func listen(t *testing.T, h *harness) *liveListener {
	t.Helper()
	return listenTo(t, h, liveRoute)
}

// listenTo is listen for any route.
func listenTo(t *testing.T, h *harness, route string) *liveListener {
	t.Helper()
	r := h.raw(t, "GET "+route+" HTTP/1.0", "Host: radio.test", "User-Agent: live-e2e", "Icy-MetaData: 1")
	if r.status != "HTTP/1.0 200 OK" {
		t.Fatalf("listener: %q %q", r.status, r.lines)
	}
	r.conn.SetDeadline(time.Now().Add(3 * time.Minute))
	l := &liveListener{conn: r.conn, s: newICYStream(t, r), blocks: make(chan heard, 4096),
		done: make(chan error, 1), quit: make(chan struct{})}
	go func() {
		for {
			b, err := l.s.next()
			if err != nil {
				l.done <- err
				return
			}
			select {
			case l.blocks <- heard{title: b.title, at: b.at}:
			case <-l.quit:
			}
		}
	}()
	t.Cleanup(func() { l.finish() })
	return l
}

// next returns the next metadata block, failing the test if the
// connection ended or nothing came within limit.
func (l *liveListener) next(t *testing.T, limit time.Duration) heard {
	t.Helper()
	select {
	case b := <-l.blocks:
		return b
	case err := <-l.done:
		l.done <- err
		t.Fatalf("the listener's connection ended: %v", err)
	case <-time.After(limit):
		t.Fatalf("the listener received no metadata block within %v", limit)
	}
	return heard{}
}

// until reads metadata blocks until one satisfies cond and returns it.
func (l *liveListener) until(t *testing.T, limit time.Duration, what string, cond func(heard) bool) heard {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("the listener did not hear %s within %v", what, limit)
		}
		if b := l.next(t, left); cond(b) {
			return b
		}
	}
}

// finish closes the connection and returns what was received in whole
// metaint intervals: the audio without metadata, and the blocks. It
// records in l.err why reading ended if that was not finish itself (the
// server closed the connection, or a read failed).
func (l *liveListener) finish() ([]byte, []metaBlock) {
	if l.stopped.CompareAndSwap(false, true) {
		close(l.quit)
		l.conn.Close()
		err := <-l.done
		l.done <- err
		if !errors.Is(err, net.ErrClosed) {
			l.err = err
		}
	}
	blocks := l.s.blocks
	if len(blocks) == 0 {
		return nil, nil
	}
	return l.s.audio[:blocks[len(blocks)-1].at], blocks
}

// titleRuns is the titles of blocks with consecutive repeats removed.
func titleRuns(blocks []metaBlock) []string {
	var out []string
	for _, b := range blocks {
		if len(out) == 0 || out[len(out)-1] != b.title {
			out = append(out, b.title)
		}
	}
	return out
}

// checkFolderLiveFolder checks that titles (in order, repeats removed)
// are the folder's, then the show's (all in dj), then the folder's again,
// and nothing else.
func checkFolderLiveFolder(t *testing.T, what string, titles []string, dj []string) {
	t.Helper()
	var classes []byte
	for _, title := range titles {
		switch {
		case strings.HasPrefix(title, folderArtist+" - "):
			classes = append(classes, 'F')
		case slices.Contains(dj, title):
			classes = append(classes, 'D')
		default:
			t.Errorf("%s: title %q is neither the folder's nor the show's (%q)", what, title, dj)
			classes = append(classes, '?')
		}
	}
	compact := slices.Compact(slices.Clone(classes))
	if string(compact) != "FDF" {
		t.Errorf("%s: titles %q go %s, want folder → show → folder", what, titles, compact)
	}
}

// capturedFrames checks that audio is a continuous run of whole MPEG-1
// Layer III frames of the station's format from its first byte (any
// resync is a failure) and returns it cut after the last whole frame,
// with the offsets of its frames.
func capturedFrames(t *testing.T, audio []byte) ([]byte, []int) {
	t.Helper()
	// Walk the headers by their lengths: every frame must start where the
	// previous one ends.
	pos, n := 0, 0
	var starts []int
	for pos+4 <= len(audio) {
		size := mpeg1L3Len(audio[pos:])
		if size == 0 {
			t.Errorf("no MPEG-1 Layer III frame header at byte %d of %d (after %d frames): % x", pos, len(audio), n, audio[pos:pos+4])
			break
		}
		if pos+size > len(audio) {
			break // the capture ends inside this frame
		}
		starts = append(starts, pos)
		pos += size
		n++
	}
	whole := audio[:pos]
	// The server's own frame reader must find the same frames with nothing
	// skipped (no junk, no resync) and nothing dropped (no Info frame).
	fr := mount.NewFrameReader(bytes.NewReader(whole))
	got := 0
	var dur time.Duration
	for {
		f, err := fr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("frame reader: %v after %d frames", err, got)
		}
		if f.SampleRate != 44100 || f.Bitrate != 128000 || f.Channels != 2 {
			t.Errorf("frame %d: %d Hz, %d bit/s, %d channels; want the station's 44100 Hz, 128 kbps, stereo",
				got, f.SampleRate, f.Bitrate, f.Channels)
		}
		dur += f.Duration()
		got++
	}
	if fr.Skipped != 0 || fr.Dropped != 0 || got != n {
		t.Errorf("frame reader: %d frames, Skipped %d, Dropped %d; the header walk found %d frames",
			got, fr.Skipped, fr.Dropped, n)
	}
	return whole, starts
}

// decodeWithFFmpeg decodes an MP3 capture to PCM with ffmpeg and returns
// its left channel and ffmpeg's messages at level error.
func decodeWithFFmpeg(t *testing.T, ffmpeg string, mp3 []byte) ([]int16, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "captured.mp3")
	if err := os.WriteFile(path, mp3, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-nostdin", "-v", "error",
		"-i", path, "-f", "s16le", "-acodec", "pcm_s16le", "-ac", "2", "-")
	var pcm, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &pcm, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg could not decode the capture: %v\n%s", err, stderr.Bytes())
	}
	raw := pcm.Bytes()
	left := make([]int16, len(raw)/4)
	for i := range left {
		left[i] = int16(binary.LittleEndian.Uint16(raw[4*i:]))
	}
	return left, stderr.String()
}

// checkDecodes decodes the capture with ffmpeg: it must decode without a
// single error message, to as many samples as its frames hold. It
// returns the left channel.
func checkDecodes(t *testing.T, ffmpeg string, audio []byte, frames int) []int16 {
	t.Helper()
	pcm, msgs := decodeWithFFmpeg(t, ffmpeg, audio)
	if msgs != "" {
		t.Errorf("ffmpeg -v error reported problems decoding the capture:\n%s", msgs)
	}
	if want := frames * 1152; len(pcm) != want {
		t.Errorf("ffmpeg decoded %d samples (%.3f s); the capture's %d frames hold %d (%.3f s)",
			len(pcm), float64(len(pcm))/44100, frames, want, float64(want)/44100)
	}
	return pcm
}

// tonePower is the Goertzel power of freq in pcm (44.1 kHz), normalised
// by the length.
func tonePower(pcm []int16, freq float64) float64 {
	if len(pcm) == 0 {
		return 0
	}
	coeff := 2 * math.Cos(2*math.Pi*freq/44100)
	var s1, s2 float64
	for _, x := range pcm {
		s0 := float64(x) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	return (s1*s1 + s2*s2 - coeff*s1*s2) / float64(len(pcm)) / float64(len(pcm))
}

// checkTone checks that pcm is the show's tone (show) or the folder's
// tones, by a wide margin over the others.
func checkTone(t *testing.T, what string, pcm []int16, show bool) {
	t.Helper()
	if len(pcm) < 44100/2 {
		t.Errorf("%s: only %d samples to analyse", what, len(pcm))
		return
	}
	dj := tonePower(pcm, showTone)
	folder := max(tonePower(pcm, folderTones[0]), tonePower(pcm, folderTones[1]))
	if show && !(dj > 10*folder) || !show && !(folder > 10*dj) {
		t.Errorf("%s (%.2f s): power at the show's %d Hz %.3g, at the folder's tones %.3g", what,
			float64(len(pcm))/44100, showTone, dj, folder)
	}
}

// samplesAt is the first sample of the first frame that starts at or
// after byte off of the capture.
func samplesAt(starts []int, off int) int {
	i, _ := slices.BinarySearch(starts, off)
	return i * 1152
}

// sourceClient is a source client process going live on liveRoute.
type sourceClient struct {
	cmd    *exec.Cmd
	out    bytes.Buffer
	exited chan struct{}
	err    error // valid after exited is closed
}

// startClient starts a source client bounded by limit; it is killed when
// the test ends if still running.
func startClient(t *testing.T, limit time.Duration, stdin io.Reader, name string, args ...string) *sourceClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	c := &sourceClient{cmd: exec.CommandContext(ctx, name, args...), exited: make(chan struct{})}
	c.cmd.Stdin = stdin
	c.cmd.Stdout, c.cmd.Stderr = &c.out, &c.out
	c.cmd.WaitDelay = 2 * time.Second
	if err := c.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		cancel() // kills a leftover
		<-c.exited
	})
	return c
}

// wait waits for the client to end by itself and fails on an error exit.
func (c *sourceClient) wait(t *testing.T, limit time.Duration) {
	t.Helper()
	select {
	case <-c.exited:
	case <-time.After(limit):
		t.Fatalf("%s did not end within %v:\n%s", c.cmd.Path, limit, c.out.Bytes())
	}
	if c.err != nil {
		t.Fatalf("%s: %v\n%s", c.cmd.Path, c.err, c.out.Bytes())
	}
}

// show is one live show through the whole server: a client started by
// start goes live as name; the listener must hear at least one of titles,
// all of which belong to the show.
type show struct {
	name   string
	titles []string
	// mustHear is the title the listener must hear from the show.
	mustHear string
	start    func(t *testing.T, addr string) *sourceClient
	// onLive, if set, runs once the stream is on the air (before the
	// listener must hear mustHear), e.g. to set the title.
	onLive func(t *testing.T, ls *liveStation)
	// minLive is the least audio of the show the listener must receive.
	minLive time.Duration
	// set is the station's settings beyond route and password.
	set config.Station
}

// runShow runs sh on a fresh station with a listener connected before it
// and checks the whole capture: one connection, whole frames throughout,
// titles folder → show → folder, decodable by ffmpeg.
func runShow(t *testing.T, sh show) {
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	begin := time.Now()
	ls := startLiveStation(t, ffmpeg, sh.set)
	l := listen(t, ls.h)

	// Before the show: the folder plays.
	first := l.next(t, 10*time.Second)
	if !strings.HasPrefix(first.title, folderArtist+" - ") {
		t.Fatalf("first title %q: the folder is not playing", first.title)
	}
	if e := ls.streamsEntry(t); e.Source != "folder" || e.Live != nil {
		t.Errorf("/streams before the show: source %q, live %+v", e.Source, e.Live)
	}

	c := sh.start(t, ls.h.addr)
	st := ls.onAir(t, sh.name, 30*time.Second, c.exited)
	liveAt := time.Now()
	if !strings.HasPrefix(st.Info.RemoteAddr, "127.0.0.1:") {
		t.Errorf("live status %+v", st)
	}
	if sh.onLive != nil {
		sh.onLive(t, ls)
	}
	l.until(t, 20*time.Second, fmt.Sprintf("the show's title %q", sh.mustHear), func(b heard) bool { return b.title == sh.mustHear })
	heardAt := time.Now()

	// While live: the status pages say so.
	if e := ls.streamsEntry(t); e.Source != "live" || e.Live == nil || e.Live.Name != sh.name {
		t.Errorf("/streams while live: source %q, live %+v; want live, %q", e.Source, e.Live, sh.name)
	}
	if m := ls.sourceOnAir(t); m["live"] != 1 || m["folder"] != 0 {
		t.Errorf("audio_stream_source_on_air while live: %v", m)
	}

	c.wait(t, 60*time.Second)
	endedAt := time.Now()
	testmedia.PollUntil(t, 10*time.Second, "the live source to leave the air", func() bool { return !ls.live.Status().OnAir })

	// After the show: the folder resumes on the same connection.
	l.until(t, 20*time.Second, "the folder again", func(b heard) bool { return strings.HasPrefix(b.title, folderArtist+" - ") })
	returnedAt := time.Now()
	// Two more intervals of folder audio, so the splice back lies well
	// inside the capture.
	l.next(t, 10*time.Second)
	l.next(t, 10*time.Second)
	if e := ls.streamsEntry(t); e.Source != "folder" || e.Live != nil {
		t.Errorf("/streams after the show: source %q, live %+v", e.Source, e.Live)
	}
	if m := ls.sourceOnAir(t); m["live"] != 0 || m["folder"] != 1 {
		t.Errorf("audio_stream_source_on_air after the show: %v", m)
	}

	audio, blocks := l.finish()
	if l.err != nil {
		t.Errorf("the listener's connection ended before the test closed it: %v", l.err)
	}
	if st := ls.h.station(t, liveRoute).Stats(); st.Sessions != 1 {
		t.Errorf("station sessions %d: the listener reconnected or another joined", st.Sessions)
	}
	titles := titleRuns(blocks)
	checkFolderLiveFolder(t, "listener", titles, sh.titles)
	if sh.set.AfterLive == "resume" {
		// The track the show interrupted continues after it.
		if i := slices.Index(titles, sh.mustHear); i > 0 && i+1 < len(titles) && titles[i+1] != titles[i-1] {
			// A rest shorter than a metaint interval gets no block of its own
			// (as with Icecast); checkToneRuns checks the audio.
			t.Logf("titles %q: after the show the folder's title is %q, not the interrupted %q", titles, titles[i+1], titles[i-1])
		}
	}
	// The station's own track history (OnTrack) agrees.
	checkFolderLiveFolder(t, "station tracks", slices.Compact(ls.trackTitles()), sh.titles)

	whole, starts := capturedFrames(t, audio)
	pcm := checkDecodes(t, ffmpeg, whole, len(starts))
	if br := reservoirBreaks(whole, starts); len(br) > 0 {
		// Frames the jitter buffer dropped (a source running ahead) break
		// the reservoir by design; anything else is a bad splice.
		if st := ls.live.Status(); st.Dropped > 0 {
			t.Logf("bit reservoir broken at frames %v after the live source dropped %d frames", br, st.Dropped)
		} else {
			t.Errorf("bit reservoir broken at frames %v of %d: a frame's main data reaches before the capture or into the frame before it (a click at a splice)", br, len(starts))
		}
	}
	// What the listener heard: the folder's tones up to the block that
	// brought the show's first title, the show's tone from there to the
	// block that brought the folder's title back, the folder's after it.
	// A title changes in the metaint interval where the audio does, so
	// the intervals before those blocks are left out (two, for margin).
	mi := l.s.metaint
	djAt, backAt := -1, -1
	for _, b := range blocks {
		switch {
		case djAt < 0 && slices.Contains(sh.titles, b.title):
			djAt = b.at
		case djAt >= 0 && backAt < 0 && strings.HasPrefix(b.title, folderArtist+" - "):
			backAt = b.at
		}
	}
	if djAt < 0 || backAt < 0 {
		t.Fatalf("no show, or no folder after it, in the blocks: %q", titles)
	}
	cut := func(from, to int) []int16 {
		return pcm[min(samplesAt(starts, max(from, 0)), len(pcm)):min(samplesAt(starts, max(to, 0)), len(pcm))]
	}
	live := cut(djAt, backAt-2*mi)
	runs := toneRuns(pcm)
	checkToneRuns(t, runs, sh.set.AfterLive == "resume")
	checkTone(t, "the show", live, true)
	checkTone(t, "the folder after the show", cut(backAt, len(whole)), false)
	checkTone(t, "the folder before the show", cut(0, djAt-2*mi), false)
	if heardLive := time.Duration(len(live)) * time.Second / 44100; heardLive < sh.minLive {
		t.Errorf("the listener heard %v of the show, want at least %v", heardLive, sh.minLive)
	}
	t.Logf("tones %v", runs)
	t.Logf("titles %q; %d frames (%.1f s) in one connection; on air after %v, title heard %v later, client ended %v later, folder back %v later; total %v",
		titles, len(starts), float64(len(starts))*1152/44100, liveAt.Sub(begin).Round(time.Millisecond),
		heardAt.Sub(liveAt).Round(time.Millisecond), endedAt.Sub(heardAt).Round(time.Millisecond),
		returnedAt.Sub(endedAt).Round(time.Millisecond), time.Since(begin).Round(time.Millisecond))
}

// Issue 15's "Done when": ffmpeg goes live with a tone and a title set
// through /admin/metadata, then leaves; a listener connected before the
// show gets one continuous, decodable stream with titles folder → DJ →
// folder.
func TestLiveShowFFmpegEndToEnd(t *testing.T) {
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	const name, song = "DJ Live", "DJ - Show"
	runShow(t, show{
		name: name, titles: []string{name, song}, mustHear: song, minLive: 5 * time.Second,
		start: func(t *testing.T, addr string) *sourceClient {
			return startClient(t, 60*time.Second, nil, ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
				"-re", "-f", "lavfi", "-i", "sine=frequency=880:duration=8",
				"-c:a", "libmp3lame", "-b:a", "128k", "-ar", "44100", "-ac", "2",
				"-content_type", "audio/mpeg", "-ice_name", name, "-ice_genre", "Talk",
				"-f", "mp3", "icecast://source:"+livePassword+"@"+addr+liveRoute)
		},
		onLive: func(t *testing.T, ls *liveStation) { ls.updinfo(t, song) },
	})
}

// Liquidsoap 2.1's output.icecast through the whole server: it goes live
// with SOURCE and sets the file's tags as the title through
// /admin/metadata by itself; the listener hears that title, then the
// folder again.
func TestLiveShowLiquidsoapEndToEnd(t *testing.T) {
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	liq := testmedia.RequireTool(t, "liquidsoap")
	const name, song = "Liq Live", "Liq Artist - Liq Title"
	in := encodeTone(t, ffmpeg, showTone, 6, "Liq Artist", "Liq Title")
	runShow(t, show{
		name: name, titles: []string{name, song}, mustHear: song, minLive: 3 * time.Second,
		start: func(t *testing.T, addr string) *sourceClient {
			_, port, _ := net.SplitHostPort(addr)
			script := filepath.Join(t.TempDir(), "live.liq")
			// allow_root: CI may run as root, which Liquidsoap refuses otherwise.
			src := fmt.Sprintf(`settings.log.stdout.set(true)
settings.log.file.set(false)
settings.init.allow_root.set(true)
s = once(single(%q))
output.icecast(%%mp3(bitrate=128, samplerate=44100, stereo=true),
  host="127.0.0.1", port=%s, user="source", password=%q,
  mount=%q, name=%q, genre="test", fallible=true,
  on_stop=shutdown, s)
`, in, port, livePassword, liveRoute, name)
			if err := os.WriteFile(script, []byte(src), 0o600); err != nil {
				t.Fatal(err)
			}
			return startClient(t, 90*time.Second, nil, liq, script)
		},
	})
}

// libshout's shout(1) over HTTP through the whole server: its probes,
// then PUT with Expect; it paces the file itself. The listener hears the
// stream's name as its title, then the folder again.
func TestLiveShowShoutEndToEnd(t *testing.T) {
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	shout := testmedia.RequireTool(t, "shout")
	const name = "Shout Live"
	in := encodeTone(t, ffmpeg, showTone, 5, "Shout Artist", "Shout Title")
	runShow(t, show{
		name: name, titles: []string{name}, mustHear: name, minLive: 3 * time.Second,
		start: func(t *testing.T, addr string) *sourceClient {
			_, port, _ := net.SplitHostPort(addr)
			f, err := os.Open(in)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			// --usage before --format: shout(1) sets the format as it reads it.
			return startClient(t, 60*time.Second, f, shout, "--usage", "audio", "--format", "mp3", "--proto", "http",
				"--host", "127.0.0.1", "--port", port, "--mount", liveRoute, "--user", "source", "--pass", livePassword,
				"--station-name", name, "--station-genre", "test")
		},
	})
}

// sourceAttempt sends a source request head on a raw connection and
// returns the answer's status line, headers and body (the server closes
// the connection after a refusal).
func sourceAttempt(t *testing.T, h *harness, lines ...string) (string, *rawResp, string) {
	t.Helper()
	r := h.raw(t, lines...)
	body, err := io.ReadAll(r.body)
	if err != nil {
		t.Fatalf("%q: reading the body: %v", lines[0], err)
	}
	return r.status, r, string(body)
}

// Refusals through the whole server while ffmpeg is live: a second
// source gets 403 "Mountpoint in use" (PUT with Expect, SOURCE, and a
// second real ffmpeg); wrong passwords get 401, and after five of them
// the address gets 429 even with the right password. The show on the
// air and its listener are not disturbed.
func TestLiveSourceRefusalsEndToEnd(t *testing.T) {
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	ls := startLiveStation(t, ffmpeg, config.Station{})
	l := listen(t, ls.h)
	ffArgs := func(name, password string) []string {
		return []string{"-hide_banner", "-nostdin", "-loglevel", "error",
			"-re", "-f", "lavfi", "-i", "sine=frequency=880:duration=60",
			"-c:a", "libmp3lame", "-b:a", "128k", "-ar", "44100", "-ac", "2",
			"-content_type", "audio/mpeg", "-ice_name", name,
			"-f", "mp3", "icecast://source:" + password + "@" + ls.h.addr + liveRoute}
	}
	first := startClient(t, 60*time.Second, nil, ffmpeg, ffArgs("First", livePassword)...)
	ls.onAir(t, "First", 30*time.Second, first.exited)
	l.until(t, 20*time.Second, `the title "First"`, func(b heard) bool { return b.title == "First" })

	auth := "Authorization: " + liveBasic(livePassword)
	status, _, body := sourceAttempt(t, ls.h, "PUT "+liveRoute+" HTTP/1.1", "Host: x", auth,
		"Content-Type: audio/mpeg", "Expect: 100-continue", "ice-name: Second")
	if status != "HTTP/1.0 403 Forbidden" || body != "Mountpoint in use" {
		t.Errorf("second source (PUT, Expect): %q %q", status, body)
	}
	status, _, body = sourceAttempt(t, ls.h, "SOURCE "+liveRoute+" HTTP/1.0", auth,
		"Content-Type: audio/mpeg", "ice-name: Second")
	if status != "HTTP/1.0 403 Forbidden" || body != "Mountpoint in use" {
		t.Errorf("second source (SOURCE): %q %q", status, body)
	}
	second := startClient(t, 20*time.Second, nil, ffmpeg, ffArgs("Second", livePassword)...)
	select {
	case <-second.exited:
		if second.err == nil {
			t.Errorf("a second ffmpeg on the busy route ended cleanly:\n%s", second.out.Bytes())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a second ffmpeg on the busy route was not refused within 20 s")
	}

	bad := "Authorization: " + liveBasic("wrong")
	for i := range 5 {
		status, r, body := sourceAttempt(t, ls.h, "PUT "+liveRoute+" HTTP/1.1", "Host: x", bad,
			"Content-Type: audio/mpeg", "Expect: 100-continue")
		if wa, _ := r.header("WWW-Authenticate"); status != "HTTP/1.0 401 Authentication Required" || wa == "" {
			t.Errorf("wrong password, try %d: %q %q %q", i+1, status, r.lines, body)
		}
	}
	for _, try := range []struct{ what, auth string }{{"a sixth wrong password", bad}, {"the right password from the locked address", auth}} {
		status, r, body := sourceAttempt(t, ls.h, "SOURCE "+liveRoute+" HTTP/1.0", try.auth, "Content-Type: audio/mpeg")
		ra, _ := r.header("Retry-After")
		if secs, err := strconv.Atoi(ra); status != "HTTP/1.0 429 Too Many Requests" || err != nil || secs <= 0 || secs > 60 {
			t.Errorf("%s: %q %q %q", try.what, status, r.lines, body)
		}
	}

	// The show plays on, to the same listener.
	if st := ls.live.Status(); !st.OnAir || st.Info.Name != "First" || st.Sessions != 1 {
		t.Errorf("live status after the refusals: %+v", st)
	}
	l.next(t, 10*time.Second)
	if e := ls.streamsEntry(t); e.Source != "live" || e.Live == nil || e.Live.Name != "First" {
		t.Errorf("/streams: source %q, live %+v", e.Source, e.Live)
	}
	select {
	case <-first.exited:
		t.Errorf("the first ffmpeg ended: %v\n%s", first.err, first.out.Bytes())
	default:
	}
	_, blocks := l.finish()
	if l.err != nil {
		t.Errorf("the listener's connection ended: %v", l.err)
	}
	if titles := titleRuns(blocks); titles[len(titles)-1] != "First" {
		t.Errorf("titles %q", titles)
	}
}

// The ffmpeg show with after_live = "resume": the folder track the show
// interrupted continues where it stopped, mid-track.
func TestLiveShowResumeEndToEnd(t *testing.T) {
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	const name = "DJ Resume"
	runShow(t, show{
		// A 4 s show: what lies between its title blocks, less two metaint
		// intervals of margin, is about 1.5-2 s; the tone runs check it all.
		name: name, titles: []string{name}, mustHear: name, minLive: time.Second,
		set: config.Station{AfterLive: "resume"},
		start: func(t *testing.T, addr string) *sourceClient {
			return startClient(t, 60*time.Second, nil, ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
				"-re", "-f", "lavfi", "-i", "sine=frequency=880:duration=4",
				"-c:a", "libmp3lame", "-b:a", "128k", "-ar", "44100", "-ac", "2",
				"-content_type", "audio/mpeg", "-ice_name", name,
				"-f", "mp3", "icecast://source:"+livePassword+"@"+addr+liveRoute)
		},
	})
}

// reservoirBreaks checks the Layer III bit reservoir across a run of
// whole frames (MPEG-1, as capturedFrames checked): each frame's main
// data begins main_data_begin bytes back in the main-data areas of the
// frames before it, and in one encoder's stream never overlaps the main
// data of the frame before it nor reaches before the first frame. A
// splice that joins a frame to main data another encoder wrote breaks
// that: ffmpeg decodes such a frame without a word (the reservoir it
// reads is just the wrong bytes), a click. It returns the indexes of
// the frames that break it.
func reservoirBreaks(audio []byte, starts []int) []int {
	var breaks []int
	area := 0    // main-data bytes of the frames before this one
	prevEnd := 0 // where the previous frame's main data ended, in those bytes
	for i, off := range starts {
		end := len(audio)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		f := audio[off:end]
		mono := f[3]>>6 == 3
		side := 32
		if mono {
			side = 17
		}
		hdr := 4
		if f[1]&1 == 0 { // protected: a CRC follows the header
			hdr += 2
		}
		si := f[hdr : hdr+side]
		begin := int(si[0])<<1 | int(si[1]>>7)
		// part2_3_length of each granule and channel: 12 bits at the start
		// of each 59-bit granule/channel block, after main_data_begin (9),
		// private bits (5 mono, 3 stereo) and scfsi (4 per channel).
		pos := 9 + 3 + 8
		nch := 2
		if mono {
			pos, nch = 9+5+4, 1
		}
		bits := 0
		for range 2 * nch {
			v := 0
			for b := range 12 {
				p := pos + b
				v = v<<1 | int(si[p/8]>>(7-p%8)&1)
			}
			bits += v
			pos += 59
		}
		start := area - begin
		// A frame whose data starts before the capture (start < 0) can
		// only be one of the first two (main_data_begin is at most 511
		// bytes): the listener joined mid-track, as a busy machine makes it
		// do, and the reservoir's tail lies in frames it never received.
		// That is the join, not a splice; a splice shows as data reaching
		// into the frame before it.
		if start >= 0 && start < prevEnd {
			breaks = append(breaks, i)
		}
		prevEnd = start + (bits+7)/8
		area += len(f) - hdr - side
	}
	return breaks
}

// toneRun is a run of frames of the capture whose loudest test tone is
// freq (0: silence).
type toneRun struct {
	freq   int
	frames int
}

func (r toneRun) String() string { return fmt.Sprintf("%d Hz×%d", r.freq, r.frames) }

// toneRuns classifies each frame's worth of decoded audio by its loudest
// test tone and returns the runs, with silent frames (the jitter buffer's
// fill, an encoder's padding) left out and the runs around them joined.
func toneRuns(pcm []int16) []toneRun {
	var runs []toneRun
	for i := 0; i+1152 <= len(pcm); i += 1152 {
		fr := pcm[i : i+1152]
		best, power := 0, 1e3 // a tone at the test's level is ~1e6
		for _, f := range []int{int(folderTones[0]), int(folderTones[1]), showTone} {
			if p := tonePower(fr, float64(f)); p > power {
				best, power = f, p
			}
		}
		switch {
		case best == 0:
		case len(runs) > 0 && runs[len(runs)-1].freq == best:
			runs[len(runs)-1].frames++
		default:
			runs = append(runs, toneRun{freq: best, frames: 1})
		}
	}
	return runs
}

// folderTrackFrames is how many frames a 3 s folder track has.
const folderTrackFrames = 3 * 44100 / 1152

// checkToneRuns checks what the listener heard: the folder's tones, one
// unbroken run of the show's tone, the folder's tones again. With resume,
// the folder track the show cut continues after it: the runs around the
// show are the same track's and add up to its length (a frame either
// way for frames that hold two tones).
func checkToneRuns(t *testing.T, runs []toneRun, resume bool) {
	t.Helper()
	// A frame or two at a splice can sound like neither side (the cut is
	// a click, whose spread spectrum may peak at any test tone): leave
	// such blips out, then join what they separated.
	var clean []toneRun
	for _, r := range runs {
		switch {
		case r.frames <= 2:
		case len(clean) > 0 && clean[len(clean)-1].freq == r.freq:
			clean[len(clean)-1].frames += r.frames
		default:
			clean = append(clean, r)
		}
	}
	runs = clean
	show := slices.IndexFunc(runs, func(r toneRun) bool { return r.freq == showTone })
	if show < 1 || show+1 >= len(runs) || slices.ContainsFunc(runs[show+1:], func(r toneRun) bool { return r.freq == showTone }) {
		t.Errorf("tones %v: want the folder's, one run of the show's %d Hz, the folder's", runs, showTone)
		return
	}
	if !resume {
		return
	}
	before, after := runs[show-1], runs[show+1]
	if before.freq != after.freq || before.frames+after.frames < folderTrackFrames-1 || before.frames+after.frames > folderTrackFrames+2 {
		t.Errorf("tones %v: the folder track cut after %d frames is not resumed for its other %d of %d frames (after the show: %v)",
			runs, before.frames, folderTrackFrames-before.frames, folderTrackFrames, after)
	}
}
