package ingest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// station runs a real mount station at /live: a folder of silence with
// a LiveSource ahead of it, as the station builder will make it.
func station(t *testing.T) *Mount {
	t.Helper()
	dir := t.TempDir()
	testmedia.WriteFile(t, dir, "folder.mp3", testmedia.ID3v2("Folder", "Silence", 0), testmedia.Frames(400))
	lib := playlist.NewLibrary(dir, playlist.LibraryOptions{})
	if _, err := lib.Scan(); err != nil {
		t.Fatal(err)
	}
	live := &mount.LiveSource{Kind: "live"}
	st := mount.New(mount.Config{Route: "/live", PublishInterval: 100 * time.Millisecond}, live, &mount.FolderSource{Library: lib})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { st.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return &Mount{Route: "/live", Live: live, Password: testPassword}
}

// onAirWith waits until m's live source plays a stream named name and
// has read at least n bytes of it, and returns its status then.
func onAirWith(t *testing.T, m *Mount, name string, n int64) mount.LiveStatus {
	t.Helper()
	var st mount.LiveStatus
	testmedia.PollUntil(t, 20*time.Second, fmt.Sprintf("stream %q on the air with %d bytes", name, n), func() bool {
		st = m.Live.Status()
		return st.OnAir && st.Info.Name == name && st.BytesIn >= n
	})
	return st
}

// The raw protocol against a real station: PUT with Expect, a few
// seconds of frames, a title through /admin/metadata, a clean end.
func TestRealStationTakesASource(t *testing.T) {
	m := station(t)
	r := newRig(t, m)
	c := dial(t, r.addr)
	request(t, c, nil, "PUT /live HTTP/1.1", "Host: x", "Authorization: "+basic("source", testPassword),
		"Content-Type: audio/mpeg", "Expect: 100-continue", "ice-name: Raw Live")
	want := "HTTP/1.1 100 Continue\r\n\r\n" + okResponse
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != want {
		t.Fatalf("reply %q, %v", got, err)
	}
	audio := testmedia.Frames(80) // about 2 s
	if _, err := c.Write(audio); err != nil {
		t.Fatal(err)
	}
	st := onAirWith(t, m, "Raw Live", int64(len(audio)))
	if !strings.HasPrefix(st.Info.RemoteAddr, "127.0.0.1:") || st.Info.ContentType != "audio/mpeg" {
		t.Errorf("status %+v", st)
	}
	status, body, _ := get(t, r, MetadataPath+"?mount=/live&mode=updinfo&song=Live%20-%20Now", basic("source", testPassword))
	if status != 200 || body != xmlOK {
		t.Fatalf("metadata: %d %q", status, body)
	}
	if title := m.Live.Status().Title; title != "Live - Now" {
		t.Errorf("title %q", title)
	}
	// A second source is refused while this one plays.
	second := dial(t, r.addr)
	request(t, second, nil, "SOURCE /live HTTP/1.0", "Authorization: "+basic("source", testPassword))
	if resp := readResponse(t, bufio.NewReader(second)); resp.status != 403 || resp.body != "Mountpoint in use" {
		t.Errorf("second source: %d %q", resp.status, resp.body)
	}
	c.Close()
	if e := r.waitEnded(t); e.err != nil || e.info.Name != "Raw Live" {
		t.Errorf("ended %+v", e)
	}
	if m.Live.Status().OnAir {
		t.Error("still on the air after the source left")
	}
}

// A source that stops sending is dropped by the station's timeout and
// its connection closed: no goroutine waits for it for ever.
func TestRealStationDropsAStalledSource(t *testing.T) {
	m := station(t)
	m.Live.Timeout = 300 * time.Millisecond
	r := newRig(t, m)
	c := dial(t, r.addr)
	request(t, c, testmedia.Frames(20), "SOURCE /live HTTP/1.0", "Authorization: "+basic("source", testPassword), "ice-name: Stall")
	onAirWith(t, m, "Stall", 1)
	if e := r.waitEnded(t); e.err == nil {
		t.Error("a stalled source ended cleanly")
	}
	if _, err := io.ReadAll(c); err != nil {
		t.Errorf("the stalled source's connection was not closed: %v", err)
	}
}

// mp3File writes seconds of a tone as a 128 kbps MP3 with ID3 tags.
func mp3File(t *testing.T, seconds int, artist, title string) string {
	t.Helper()
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	path := filepath.Join(t.TempDir(), "tone.mp3")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
		"-f", "lavfi", "-i", "sine=frequency=440:duration="+strconv.Itoa(seconds),
		"-ar", "44100", "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k",
		"-metadata", "artist="+artist, "-metadata", "title="+title, "-id3v2_version", "3", path).CombinedOutput()
	if err != nil {
		t.Fatalf("making the MP3: %v\n%s", err, out)
	}
	return path
}

// run runs a client to its end within limit and returns its output.
func run(t *testing.T, limit time.Duration, stdin io.Reader, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = stdin
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish within %v:\n%s", name, limit, out)
	}
	return string(out), err
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// ffmpeg's icecast:// output: PUT with Expect (it waits for the 100),
// and with -legacy_icecast 1 SOURCE without Expect.
func TestFFmpegSource(t *testing.T) {
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	in := mp3File(t, 3, "Tone", "A")
	for _, legacy := range []bool{false, true} {
		t.Run("legacy="+strconv.FormatBool(legacy), func(t *testing.T) {
			m := station(t)
			r := newRig(t, m)
			args := []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-i", in, "-c", "copy",
				"-content_type", "audio/mpeg", "-ice_name", "FF Live", "-ice_genre", "test", "-ice_public", "1"}
			if legacy {
				args = append(args, "-legacy_icecast", "1")
			}
			args = append(args, "-f", "mp3", "icecast://source:"+testPassword+"@"+r.addr+"/live")
			done := make(chan error, 1)
			var out string
			go func() {
				var err error
				out, err = run(t, 30*time.Second, nil, ffmpeg, args...)
				done <- err
			}()
			st := onAirWith(t, m, "FF Live", 16<<10)
			if st.Info.Genre != "test" || !st.Info.Public || !strings.HasPrefix(st.Info.UserAgent, "Lavf") {
				t.Errorf("stream info %+v", st.Info)
			}
			if err := <-done; err != nil {
				t.Fatalf("ffmpeg: %v\n%s", err, out)
			}
			if e := r.waitEnded(t); e.err != nil {
				t.Errorf("stream ended with %v", e.err)
			}
			want := "PUT /live [Expect] [auth]"
			if legacy {
				want = "SOURCE /live [auth]"
			}
			if got := r.requests(); !slices.Equal(got, []string{want}) {
				t.Errorf("requests %q, want %q", got, want)
			}
		})
	}
}

// libshout's shout(1) over HTTP: a credential-less probe, then PUT with
// Expect (it learned PUT from our Allow header).
func TestShoutHTTPSource(t *testing.T) {
	shout := testmedia.RequireTool(t, "shout")
	in := mp3File(t, 3, "Tone", "B")
	m := station(t)
	r := newRig(t, m)
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// --usage before --format: shout(1) sets the format as it reads it.
	out, err := run(t, 30*time.Second, f, shout, "--usage", "audio", "--format", "mp3", "--proto", "http", "--host", "127.0.0.1",
		"--port", port(r.addr), "--mount", "/live", "--user", "source", "--pass", testPassword,
		"--station-name", "Shout Live", "--station-genre", "test")
	if err != nil {
		t.Fatalf("shout: %v\n%s", err, out)
	}
	e := r.waitEnded(t)
	if e.err != nil || e.info.Name != "Shout Live" || !strings.HasPrefix(e.info.UserAgent, "libshout") {
		t.Errorf("ended %+v", e)
	}
	// Its TLS probe (405 makes it go on in plain HTTP), the probe for
	// methods (401 with Allow naming PUT), then PUT with Expect.
	want := []string{"OPTIONS *", "PUT /live", "PUT /live [Expect] [auth]"}
	if got := r.requests(); !slices.Equal(got, want) {
		t.Errorf("requests %q, want %q", got, want)
	}
	if st := m.Live.Status(); st.Sessions != 1 {
		t.Errorf("sessions %d", st.Sessions)
	}
}

// shout(1) in ICY mode connects to the port after the one it is given:
// its "!POKE" probe fails, then it sends password and headers at once.
func TestShoutICYSource(t *testing.T) {
	shout := testmedia.RequireTool(t, "shout")
	in := mp3File(t, 3, "Tone", "C")
	m := station(t)
	r := newRig(t, m)
	r.serveShoutcast(t)
	icyPort, _ := strconv.Atoi(port(r.icy))
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, err := run(t, 30*time.Second, f, shout, "--usage", "audio", "--format", "mp3", "--proto", "icy", "--host", "127.0.0.1",
		"--port", strconv.Itoa(icyPort-1), "--mount", "/live", "--pass", testPassword,
		"--station-name", "ICY Shout", "--station-genre", "test")
	if err != nil {
		t.Fatalf("shout: %v\n%s", err, out)
	}
	e := r.waitEnded(t)
	if e.err != nil || e.info.Name != "ICY Shout" || e.route != "/live" {
		t.Errorf("ended %+v", e)
	}
	if st := m.Live.Status(); st.Sessions != 1 {
		t.Errorf("sessions %d", st.Sessions)
	}
}

// Liquidsoap 2.1's output.icecast: SOURCE, then the file's tags as a
// title through /admin/metadata.
func TestLiquidsoapSource(t *testing.T) {
	liq := testmedia.RequireTool(t, "liquidsoap")
	in := mp3File(t, 4, "Liq Artist", "Liq Title")
	m := station(t)
	r := newRig(t, m)
	script := filepath.Join(t.TempDir(), "live.liq")
	src := fmt.Sprintf(`settings.log.stdout.set(true)
settings.log.file.set(false)
settings.init.allow_root.set(true)
s = once(single(%q))
output.icecast(%%mp3(bitrate=128, samplerate=44100, stereo=true),
  host="127.0.0.1", port=%s, user="source", password=%q,
  mount="/live", name="Liq Live", genre="test", fallible=true,
  on_stop=shutdown, s)
`, in, port(r.addr), testPassword)
	if err := os.WriteFile(script, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var out string
	go func() {
		var err error
		out, err = run(t, 60*time.Second, nil, liq, script)
		done <- err
	}()
	// Liquidsoap takes a few seconds to start; a failure shows its log.
	testmedia.PollUntil(t, 30*time.Second, "the file's title on the stream", func() bool {
		select {
		case err := <-done:
			t.Fatalf("liquidsoap ended before its title was seen (%v):\n%s", err, out)
		default:
		}
		st := m.Live.Status()
		return st.OnAir && st.Info.Name == "Liq Live" && st.Title == "Liq Artist - Liq Title"
	})
	if err := <-done; err != nil {
		t.Fatalf("liquidsoap: %v\n%s", err, out)
	}
	t.Logf("liquidsoap's requests: %q", r.requests())
	if e := r.waitEnded(t); e.err != nil {
		t.Errorf("stream ended with %v", e.err)
	}
}
