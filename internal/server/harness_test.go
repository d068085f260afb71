package server

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/loudness"
	"github.com/aposazhennikov/stream-audio-to-web/internal/station"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
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
	onUnplayable func(path string)
	// serverPrivateStreams is the top-level max_private_streams the
	// station is built with; 0: the default.
	serverPrivateStreams int
	// stateDir is the top-level state_dir ("": none); wallClock the
	// programme's clock (nil: the system's); loudness the analyzer (nil:
	// the station makes one if it levels).
	stateDir  string
	wallClock mount.Clock
	loudness  *loudness.Analyzer
}

// harness is a running server with its stations on a loopback port.
type harness struct {
	srv      *Server
	addr     string // 127.0.0.1:port
	stations []*station.Station
}

// startHarness builds the stations with station.Build, as the server
// does, starts them and the server, waits until every radio station with
// files plays, and stops everything when the test ends. srv may carry
// server options.
func startHarness(t *testing.T, srv *Server, specs ...stationSpec) *harness {
	t.Helper()
	if srv == nil {
		srv = &Server{}
	}
	mctx, stopStations := context.WithCancel(context.Background())
	var built, waitFor []*station.Station
	for _, sp := range specs {
		set := stationDefaults(t, sp)
		for name, data := range sp.files {
			testmedia.WriteFile(t, set.Dir, name, data)
		}
		cfg := config.Defaults()
		cfg.PublishInterval = cmp.Or(sp.publish, 50*time.Millisecond)
		cfg.WriteTimeout = cmp.Or(sp.writeTimeout, 10*time.Second)
		cfg.RescanInterval = sp.rescan
		cfg.MaxPrivateStreams = cmp.Or(sp.serverPrivateStreams, cfg.MaxPrivateStreams)
		cfg.StateDir = sp.stateDir
		deps := station.Deps{WallClock: sp.wallClock, Loudness: sp.loudness}
		if sp.onUnplayable != nil {
			deps.OnUnplayable = func(_, path string) { sp.onUnplayable(path) }
		}
		if sp.onTrack != nil {
			deps.OnTrack = func(_ string, ti *mount.TrackInfo) { sp.onTrack(ti) }
		}
		st, err := station.Build(&cfg, set, deps)
		if err != nil {
			t.Fatal(err)
		}
		built = append(built, st)
		srv.Stations = append(srv.Stations, st)
		if len(sp.files) > 0 && set.Mode != config.ModeIndividual {
			waitFor = append(waitFor, st)
		}
	}
	for _, st := range built {
		st.Start(mctx)
	}
	// Registered before the server's cleanup, so it runs after it.
	t.Cleanup(func() {
		stopStations()
		done := make(chan struct{})
		go func() {
			for _, st := range built {
				st.Wait()
			}
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("stations did not stop within 10 s")
		}
	})
	h := &harness{srv: srv, addr: testmedia.ServeLoopback(t, srv.Serve), stations: built}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, st := range waitFor {
		if err := st.WaitReady(ctx); err != nil {
			t.Fatalf("station %s not ready: %v", st.Profile().Route, err)
		}
	}
	return h
}

// stationDefaults is the station config.Load makes for the spec's route
// and folder (a fresh one unless given), with shuffle off (so the play
// order is the file names' order) and the spec's other non-zero settings
// on top.
func stationDefaults(t testing.TB, sp stationSpec) config.Station {
	route, dir := cmp.Or(sp.Route, "/"), cmp.Or(sp.Dir, t.TempDir())
	routes, _ := json.Marshal(map[string]string{route: dir})
	cfg, err := config.Load(nil, func(k string) (string, bool) {
		return string(routes), k == "DIRECTORY_ROUTES"
	})
	if err != nil {
		t.Fatal(err)
	}
	var set config.Station
	for _, st := range cfg.Stations {
		if st.Route == route {
			set = st
		}
	}
	set.Shuffle = false
	dst, src := reflect.ValueOf(&set).Elem(), reflect.ValueOf(sp.Station)
	for i := range src.NumField() {
		if f := src.Field(i); !f.IsZero() {
			dst.Field(i).Set(f)
		}
	}
	return set
}

func (h *harness) url(path string) string { return "http://" + h.addr + path }

func (h *harness) station(t *testing.T, route string) *station.Station {
	t.Helper()
	for _, st := range h.stations {
		if st.Profile().Route == route {
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
