package relay_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
	"github.com/aposazhennikov/stream-audio-to-web/internal/relay"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// wait bounds every wait for a signal in these tests.
const wait = 20 * time.Second

// receiver is a station of ours playing a relay ahead of its folder (two
// tagged tracks, "Folder - One" and "Folder - Two"), as the station
// builder sets one up; timeout is its LiveSource's.
type receiver struct {
	mp    *mount.Mountpoint
	live  *mount.LiveSource
	relay *relay.Relay

	mu     sync.Mutex
	tracks []string // Display of every track started, in order
	notify chan struct{}
}

func startReceiver(t *testing.T, upstream string, timeout time.Duration) *receiver {
	t.Helper()
	dir := t.TempDir()
	for i, title := range []string{"One", "Two"} {
		testmedia.WriteFile(t, dir, fmt.Sprintf("%d.mp3", i), testmedia.ID3v2("Folder", title, 0), testmedia.Frames(120))
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	rc := &receiver{notify: make(chan struct{}, 1)}
	rc.live = &mount.LiveSource{Kind: "relay", Timeout: timeout, Logger: log}
	rc.mp = &mount.Mountpoint{
		Route: "/relayed",
		Station: mount.Config{PublishInterval: 50 * time.Millisecond, Burst: 200 * time.Millisecond,
			OnTrack: rc.onTrack, Logger: log},
		Library: playlist.NewLibrary(dir, playlist.LibraryOptions{}),
		Sources: func() []mount.Source { return []mount.Source{rc.live} },
		Logger:  log,
	}
	rc.relay = &relay.Relay{URL: upstream, Live: rc.live, Logger: log, UserAgent: "relay-e2e",
		Backoff: func(int) time.Duration { return 100 * time.Millisecond }}
	ctx, cancel := context.WithCancel(context.Background())
	rc.mp.Start(ctx)
	ran := make(chan struct{})
	go func() { defer close(ran); rc.relay.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		rc.mp.Wait()
		<-ran
	})
	wctx, wcancel := context.WithTimeout(ctx, wait)
	defer wcancel()
	if err := rc.mp.WaitReady(wctx); err != nil {
		t.Fatalf("receiving station not ready: %v", err)
	}
	return rc
}

func (rc *receiver) onTrack(ti *mount.TrackInfo) {
	rc.mu.Lock()
	rc.tracks = append(rc.tracks, ti.Display)
	rc.mu.Unlock()
	select {
	case rc.notify <- struct{}{}:
	default:
	}
}

// waitTrack waits for a track with a title that match accepts to start,
// after the from-th track; it returns that track's index.
func (rc *receiver) waitTrack(t *testing.T, from int, what string, match func(string) bool) int {
	t.Helper()
	deadline := time.After(wait)
	for {
		rc.mu.Lock()
		tracks := slices.Clone(rc.tracks)
		rc.mu.Unlock()
		for i := from; i < len(tracks); i++ {
			if match(tracks[i]) {
				return i
			}
		}
		select {
		case <-rc.notify:
		case <-deadline:
			t.Fatalf("no track %s started; tracks so far: %q; relay %+v", what, tracks, rc.relay.Status())
		}
	}
}

func isFolder(title string) bool { return strings.HasPrefix(title, "Folder - ") }

// listener is one client of the receiving station on a loopback socket.
// A goroutine reads its stream, strips the ICY blocks and checks that the
// audio is an unbroken run of MPEG frames arriving without a stall.
type listener struct {
	mu     sync.Mutex
	frames int
	titles []string
	err    error
	notify chan struct{}
}

const listenerMetaint = 8192

func (rc *receiver) listen(t *testing.T) *listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	head := (&icy.Head{Name: "relayed", Metaint: listenerMetaint}).Append(nil)
	if err := rc.mp.Join(mount.JoinRequest{Conn: conn, Head: head, Metaint: listenerMetaint, Remote: "test"}); err != nil {
		t.Fatal(err)
	}
	l := &listener{notify: make(chan struct{}, 1)}
	br := bufio.NewReader(&stallReader{conn: client, limit: 3 * time.Second})
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the listener's head: %v", err)
		}
		if line == "\r\n" {
			break
		}
	}
	body := icy.NewDemuxer(br, listenerMetaint, func(title string) {
		l.mu.Lock()
		l.titles = append(l.titles, title)
		l.mu.Unlock()
		l.signal()
	})
	go l.read(mount.NewFrameReader(body))
	return l
}

func (l *listener) read(fr *mount.FrameReader) {
	for {
		_, err := fr.Next()
		l.mu.Lock()
		if err == nil && (fr.Skipped > 0 || fr.Dropped > 0) {
			err = fmt.Errorf("the stream is not a plain run of frames: %d bytes skipped, %d frames dropped", fr.Skipped, fr.Dropped)
		}
		if err != nil {
			l.err = err
			l.mu.Unlock()
			l.signal()
			return
		}
		l.frames++
		l.mu.Unlock()
		l.signal()
	}
}

func (l *listener) signal() {
	select {
	case l.notify <- struct{}{}:
	default:
	}
}

// waitFor waits until cond holds on the frames read and the titles seen;
// it fails the test if the stream broke.
func (l *listener) waitFor(t *testing.T, what string, cond func(frames int, titles []string) bool) {
	t.Helper()
	deadline := time.After(wait)
	for {
		l.mu.Lock()
		ok, err, frames, titles := cond(l.frames, l.titles), l.err, l.frames, slices.Clone(l.titles)
		l.mu.Unlock()
		if err != nil {
			t.Fatalf("listener stream broke after %d frames (titles %q): %v", frames, titles, err)
		}
		if ok {
			return
		}
		select {
		case <-l.notify:
		case <-deadline:
			t.Fatalf("listener: timed out waiting for %s (%d frames, titles %q)", what, frames, titles)
		}
	}
}

func (l *listener) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.frames
}

// stallReader fails a read that waits longer than limit: listeners must
// get audio continuously, whatever the source.
type stallReader struct {
	conn  net.Conn
	limit time.Duration
}

func (s *stallReader) Read(p []byte) (int, error) {
	s.conn.SetReadDeadline(time.Now().Add(s.limit))
	return s.conn.Read(p)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// icecastXML is a minimal icecast.xml: one listen socket, source and admin
// passwords, logs in the test's folder.
const icecastXML = `<icecast>
  <location>Earth</location>
  <admin>icemaster@localhost</admin>
  <hostname>127.0.0.1</hostname>
  <limits><clients>20</clients><sources>4</sources><burst-size>65536</burst-size><source-timeout>5</source-timeout></limits>
  <authentication>
    <source-password>%[1]s</source-password>
    <admin-user>admin</admin-user><admin-password>%[1]s</admin-password>
  </authentication>
  <listen-socket><port>%[2]d</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <paths>
    <basedir>%[3]s</basedir>
    <logdir>%[3]s</logdir>
    <webroot>/usr/share/icecast2/web</webroot>
    <adminroot>/usr/share/icecast2/admin</adminroot>
  </paths>
  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>3</loglevel></logging>
  <security><chroot>0</chroot></security>
</icecast>
`

// icecast is a stock Icecast 2.4 on a loopback port.
type icecast struct {
	addr     string
	password string // source and admin
}

// startIcecast runs a stock icecast2 until the test ends.
func startIcecast(t *testing.T) *icecast {
	t.Helper()
	ic := &icecast{}
	ic.addr, _ = testmedia.StartIcecast(t, func(dir string, port int) string {
		ic.password = "pw-" + strconv.Itoa(port)
		return fmt.Sprintf(icecastXML, ic.password, port, dir)
	})
	return ic
}

// feed runs ffmpeg pushing a sine tone to mount in real time; stop ends it.
func (ic *icecast) feed(t *testing.T, mount string) (stop func()) {
	t.Helper()
	bin := testmedia.RequireTool(t, "ffmpeg")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-ac", "2",
		"-c:a", "libmp3lame", "-b:a", "128k", "-f", "mp3", "-content_type", "audio/mpeg",
		"-ice_name", "Upstream Radio", "-ice_genre", "Test",
		"icecast://source:"+ic.password+"@"+ic.addr+mount)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting ffmpeg: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-exited
		})
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() && out.Len() > 0 {
			t.Logf("ffmpeg output:\n%s", out.Bytes())
		}
	})
	testmedia.PollUntil(t, 15*time.Second, "icecast to list "+mount, func() bool {
		select {
		case <-exited:
			t.Fatalf("ffmpeg exited: %s", out.Bytes())
		default:
		}
		_, ok := ic.listeners(t, mount)
		return ok
	})
	return stop
}

// listeners is the mount's listener count from /status-json.xsl; false if
// the mount has no source.
func (ic *icecast) listeners(t *testing.T, mount string) (int, bool) {
	t.Helper()
	resp, err := http.Get("http://" + ic.addr + "/status-json.xsl")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Icestats struct {
			Source json.RawMessage `json:"source"`
		} `json:"icestats"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		// Icecast 2.4.4 writes broken JSON while it has no source.
		return 0, false
	}
	type source struct {
		ListenURL string `json:"listenurl"`
		Listeners int    `json:"listeners"`
	}
	var list []source
	if err := json.Unmarshal(doc.Icestats.Source, &list); err != nil {
		var one source // one source is an object, not a list
		if json.Unmarshal(doc.Icestats.Source, &one) == nil {
			list = []source{one}
		}
	}
	for _, s := range list {
		if strings.HasSuffix(s.ListenURL, mount) {
			return s.Listeners, true
		}
	}
	return 0, false
}

// setTitle sets the mount's title through /admin/metadata, in UTF-8 (Icecast
// passes it on in the mount's charset, ISO-8859-1 for MP3).
func (ic *icecast) setTitle(t *testing.T, mount, title string) {
	t.Helper()
	q := url.Values{"mount": {mount}, "mode": {"updinfo"}, "song": {title}, "charset": {"UTF-8"}}
	req, _ := http.NewRequest(http.MethodGet, "http://"+ic.addr+"/admin/metadata?"+q.Encode(), nil)
	req.SetBasicAuth("admin", ic.password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("Metadata update successful")) {
		t.Fatalf("/admin/metadata: %s %s", resp.Status, body)
	}
}

// TestIcecast relays a stock Icecast 2.4 fed by ffmpeg to several
// listeners over one upstream connection, takes its titles, plays the
// folder while the upstream is gone and the relay again when it is back,
// with every listener's stream unbroken throughout.
func TestIcecast(t *testing.T) {
	t.Parallel()
	ic := startIcecast(t)
	const upMount = "/up.mp3"
	stop := ic.feed(t, upMount)
	first := "Upstream Artist - Café"
	ic.setTitle(t, upMount, first)

	rc := startReceiver(t, "http://"+ic.addr+upMount, 5*time.Second)
	var ls []*listener
	for range 3 {
		ls = append(ls, rc.listen(t))
	}
	at := rc.waitTrack(t, 0, "with the upstream's title", func(s string) bool { return s == first })
	for i, l := range ls {
		l.waitFor(t, fmt.Sprintf("listener %d to hear the upstream title", i), func(_ int, titles []string) bool {
			return slices.Contains(titles, first)
		})
	}
	n := ls[0].count()
	ls[0].waitFor(t, "relayed frames", func(frames int, _ []string) bool { return frames > n+100 })
	if got, ok := ic.listeners(t, upMount); got != 1 || !ok {
		t.Errorf("icecast counts %d listeners on %s, want 1 (the relay) for our %d", got, upMount, len(ls))
	}
	if st := rc.relay.Status(); !st.Connected || st.BytesIn == 0 || st.Upstream != "http://"+ic.addr+upMount {
		t.Errorf("relay status %+v", st)
	}
	if info := rc.live.Status().Info; info.Name != "Upstream Radio" || info.Genre != "Test" || info.ContentType != "audio/mpeg" {
		t.Errorf("stream info %+v", info)
	}

	second := "Second - Title"
	ic.setTitle(t, upMount, second)
	at = rc.waitTrack(t, at+1, "with the upstream's new title", func(s string) bool { return s == second })
	ls[0].waitFor(t, "the new title in-band", func(_ int, titles []string) bool { return slices.Contains(titles, second) })

	// Upstream gone: the folder plays, on the same connections.
	stop()
	at = rc.waitTrack(t, at+1, "from the folder", isFolder)
	n = ls[0].count()
	ls[0].waitFor(t, "folder frames", func(frames int, titles []string) bool {
		return frames > n+40 && len(titles) > 0 && isFolder(titles[len(titles)-1])
	})
	if st := rc.relay.Status(); st.Connected {
		t.Errorf("relay status with the upstream gone %+v", st)
	}

	// Upstream back: the relay takes over again.
	ic.feed(t, upMount)
	back := "Back - Again"
	ic.setTitle(t, upMount, back)
	rc.waitTrack(t, at+1, "with the title after the upstream came back", func(s string) bool { return s == back })
	for i, l := range ls {
		l.waitFor(t, fmt.Sprintf("listener %d to hear the relay again", i), func(_ int, titles []string) bool {
			return len(titles) > 0 && titles[len(titles)-1] == back
		})
	}
	n = ls[0].count()
	ls[0].waitFor(t, "relayed frames after the return", func(frames int, _ []string) bool { return frames > n+100 })
	if got, ok := ic.listeners(t, upMount); got != 1 || !ok {
		t.Errorf("icecast counts %d listeners after the return, want 1", got)
	}
	if st := rc.relay.Status(); !st.Connected || st.Reconnects < 1 {
		t.Errorf("relay status after the return %+v", st)
	}
}
