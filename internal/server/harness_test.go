package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// stationSpec is one station of a test server. Zero settings get the
// defaults config.Load would give (see startHarness).
type stationSpec struct {
	config.Station
	// files are written into the station folder (a fresh temp dir unless
	// Dir is set) before the station starts.
	files   map[string][]byte
	publish time.Duration // PublishInterval; 0: 50 ms
	rescan  time.Duration // RescanInterval; 0: only /reload-playlist
	// writeTimeout is the stations' WriteTimeout; 0: 10 s.
	writeTimeout time.Duration
	onTrack      func(*mount.TrackInfo)
}

// harness is a running server with its stations on a loopback port.
type harness struct {
	srv  *Server
	addr string // 127.0.0.1:port
}

// startHarness builds the stations the way cmd/audio-streamer's
// buildStations does (library, ReadTitle, charset-aware MetaBlock), starts
// them and the server, waits until every station with files plays, and
// stops everything when the test ends. srv may carry server options.
func startHarness(t *testing.T, srv *Server, specs ...stationSpec) *harness {
	t.Helper()
	if srv == nil {
		srv = &Server{}
	}
	mctx, stopMounts := context.WithCancel(context.Background())
	var mounts []*mount.Mountpoint
	var waitFor []*mount.Mountpoint
	for _, sp := range specs {
		set := stationDefaults(t, sp)
		for name, data := range sp.files {
			p := filepath.Join(set.Dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		charset, err := icy.ParseCharset(set.ICYCharset)
		if err != nil {
			t.Fatal(err)
		}
		publish := sp.publish
		if publish == 0 {
			publish = 50 * time.Millisecond
		}
		writeTimeout := sp.writeTimeout
		if writeTimeout == 0 {
			writeTimeout = 10 * time.Second
		}
		mc := mount.Config{
			Route: set.Route, BufferSize: 2 << 20, Burst: set.Burst.Duration, BurstBytes: set.Burst.Bytes,
			PublishInterval: publish, WriteTimeout: writeTimeout, MaxPreload: 2, Shards: 2,
			Titles: func(path string) (string, string, string) {
				tt := playlist.ReadTitle(path)
				return tt.Artist, tt.Title, tt.Display
			},
			MetaBlock: func(title string) []byte { return icy.MetaBlock(title, charset) },
			OnTrack:   sp.onTrack,
		}
		mp := &mount.Mountpoint{
			Route: set.Route, Individual: set.Mode == config.ModeIndividual, Shuffle: set.Shuffle,
			Station: mc, RescanInterval: sp.rescan,
			Library: playlist.NewLibrary(set.Dir, playlist.LibraryOptions{Extensions: set.Extensions}),
			History: playlist.NewHistory(100),
		}
		srv.Stations = append(srv.Stations, &Station{Settings: set, Mount: mp})
		mounts = append(mounts, mp)
		if len(sp.files) > 0 && set.Mode != config.ModeIndividual {
			waitFor = append(waitFor, mp)
		}
	}
	for _, mp := range mounts {
		mp.Start(mctx)
	}
	// Registered before the server's cleanup, so it runs after it.
	t.Cleanup(func() {
		stopMounts()
		done := make(chan struct{})
		go func() {
			for _, mp := range mounts {
				mp.Wait()
			}
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("stations did not stop within 10 s")
		}
	})
	h := &harness{srv: srv, addr: testmedia.ServeLoopback(t, srv.Serve)}
	for _, mp := range waitFor {
		testmedia.PollUntil(t, 10*time.Second, "station "+mp.Route+" ready", mp.Ready)
	}
	return h
}

// stationDefaults fills what config.Load would, with shuffle off so the
// play order is the file names' order.
func stationDefaults(t *testing.T, sp stationSpec) config.Station {
	set := sp.Station
	if set.Route == "" {
		set.Route = "/"
	}
	if set.Dir == "" {
		set.Dir = t.TempDir()
	}
	if set.Name == "" {
		set.Name = "Test station " + set.Route
	}
	if set.Description == "" {
		set.Description = "Stream " + set.Route
	}
	if set.Genre == "" {
		set.Genre = "Various"
	}
	if set.Mode == "" {
		set.Mode = config.ModeRadio
	}
	if set.Burst == (config.Burst{}) {
		set.Burst = config.Burst{Bytes: 64 << 10}
	}
	if set.Metaint == 0 {
		set.Metaint = icy.DefaultMetaint
	}
	if set.ICYCharset == "" {
		set.ICYCharset = "utf-8"
	}
	if set.Bitrate == 0 {
		set.Bitrate = 128
	}
	if set.SampleRate == 0 {
		set.SampleRate = 44100
	}
	if set.Channels == 0 {
		set.Channels = 2
	}
	if set.Transcode == "" {
		set.Transcode = "auto"
	}
	return set
}

func (h *harness) url(path string) string { return "http://" + h.addr + path }

func (h *harness) station(t *testing.T, route string) *Station {
	t.Helper()
	for _, st := range h.srv.Stations {
		if st.Settings.Route == route {
			return st
		}
	}
	t.Fatalf("no station %s", route)
	return nil
}

// rawResp is a response read off a raw TCP connection: the head exactly as
// sent, and a reader positioned at the first body byte.
type rawResp struct {
	conn   net.Conn
	body   *bufio.Reader
	status string   // status line without CRLF
	lines  []string // header lines without CRLF, in order
}

// raw sends request bytes as they are (lines joined with CRLF, a blank
// line added) and reads the response head; the connection is closed when
// the test ends.
func (h *harness) raw(t *testing.T, lines ...string) *rawResp {
	t.Helper()
	r, err := rawRequest(h.addr, lines...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.conn.Close() })
	return r
}

// rawRequest is raw for any address; the caller closes r.conn.
func rawRequest(addr string, lines ...string) (*rawResp, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(conn, strings.Join(lines, "\r\n")+"\r\n\r\n"); err != nil {
		conn.Close()
		return nil, err
	}
	r := &rawResp{conn: conn, body: bufio.NewReaderSize(conn, 64<<10)}
	for {
		line, err := r.body.ReadString('\n')
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("reading response head (%q %q so far): %w", r.status, r.lines, err)
		}
		if !strings.HasSuffix(line, "\r\n") {
			conn.Close()
			return nil, fmt.Errorf("head line %q does not end with CRLF", line)
		}
		line = strings.TrimSuffix(line, "\r\n")
		if r.status == "" {
			r.status = line
			continue
		}
		if line == "" {
			return r, nil
		}
		r.lines = append(r.lines, line)
	}
}

// header returns the value of the first header named name (any case),
// with the white space after the colon removed.
func (r *rawResp) header(name string) (string, bool) {
	for _, l := range r.lines {
		k, v, ok := strings.Cut(l, ":")
		if ok && strings.EqualFold(k, name) {
			return strings.TrimLeft(v, " \t"), true
		}
	}
	return "", false
}

func (r *rawResp) metaint(t *testing.T) int {
	t.Helper()
	v, ok := r.header("icy-metaint")
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("icy-metaint %q", v)
	}
	return n
}

// icyStream splits a listener's body into audio and metadata blocks.
type icyStream struct {
	r       *bufio.Reader
	metaint int
	audio   []byte
	blocks  []metaBlock
	title   string // title in effect after the last block
}

// metaBlock is one metadata block and where it sat in the audio.
type metaBlock struct {
	at    int    // audio bytes before it
	raw   []byte // as on the wire, length byte included
	title string // the title in effect after it (an unchanged block keeps the previous)
}

func newICYStream(t *testing.T, r *rawResp) *icyStream {
	t.Helper()
	mi := r.metaint(t)
	if mi == 0 {
		t.Fatal("no icy-metaint in the response")
	}
	return &icyStream{r: r.body, metaint: mi}
}

// next reads one interval of audio and the metadata block after it.
func (s *icyStream) next() (metaBlock, error) {
	start := len(s.audio)
	s.audio = append(s.audio, make([]byte, s.metaint)...)
	if _, err := io.ReadFull(s.r, s.audio[start:]); err != nil {
		return metaBlock{}, err
	}
	l, err := s.r.ReadByte()
	if err != nil {
		return metaBlock{}, err
	}
	raw := make([]byte, 1+int(l)*16)
	raw[0] = l
	if _, err := io.ReadFull(s.r, raw[1:]); err != nil {
		return metaBlock{}, err
	}
	if l > 0 {
		title, _, err := icy.ParseMetaBlock(raw)
		if err != nil {
			return metaBlock{}, fmt.Errorf("metadata block %q: %w", raw, err)
		}
		s.title = title
	}
	b := metaBlock{at: len(s.audio), raw: raw, title: s.title}
	s.blocks = append(s.blocks, b)
	return b, nil
}

// isFrameSync reports whether b starts with an MPEG audio frame sync.
func isFrameSync(b []byte) bool { return len(b) >= 2 && b[0] == 0xFF && b[1]&0xE0 == 0xE0 }

// mpeg1L3Len is the length of an MPEG-1 Layer III frame from its header,
// 0 when b is not one.
func mpeg1L3Len(b []byte) int {
	if len(b) < 4 || !isFrameSync(b) || b[1]&0x1E != 0x1A {
		return 0
	}
	kbps := [...]int{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0}[b[2]>>4]
	rate := [...]int{44100, 48000, 32000, 0}[b[2]>>2&3]
	if kbps == 0 || rate == 0 {
		return 0
	}
	return 144*kbps*1000/rate + int(b[2]>>1&1)
}
