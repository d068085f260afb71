package server

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

const adminTok = "t0ken"

// xnode is any XML element, kept whole for comparing shapes.
type xnode struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []xnode    `xml:",any"`
	Text    string     `xml:",chardata"`
}

func parseXML(t *testing.T, body []byte) xnode {
	t.Helper()
	var n xnode
	if err := xml.Unmarshal(body, &n); err != nil {
		t.Fatalf("XML %q: %v", body, err)
	}
	return n
}

// child returns the first child named name.
func (n xnode) child(name string) (xnode, bool) {
	for _, c := range n.Nodes {
		if c.XMLName.Local == name {
			return c, true
		}
	}
	return xnode{}, false
}

func (n xnode) names() []string {
	var out []string
	for _, c := range n.Nodes {
		out = append(out, c.XMLName.Local)
	}
	return out
}

// adminGet asks addr for path with Basic admin:password.
func adminGet(t *testing.T, addr, password, path string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("admin", password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

// lineSink is an access log's standard output: each line arrives on lines.
type lineSink struct {
	mu    sync.Mutex
	lines chan string
}

func (s *lineSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines <- string(p)
	return len(p), nil
}

func (s *lineSink) next(t *testing.T) string {
	t.Helper()
	select {
	case l := <-s.lines:
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("no access log line")
		return ""
	}
}

// twoStations serves /a (title "Alpha", frames from 0) and /b ("Bravo",
// frames from 100000) with an admin token and an access log.
func twoStations(t *testing.T) (*harness, *lineSink) {
	t.Helper()
	sink := &lineSink{lines: make(chan string, 16)}
	al, err := OpenAccessLog("-", sink)
	if err != nil {
		t.Fatal(err)
	}
	h := startHarness(t, &Server{AdminToken: adminTok, AccessLog: al},
		stationSpec{Station: config.Station{Route: "/a"}, files: map[string][]byte{"a.mp3": taggedMP3("Station", "Alpha", framesFrom(0, 3000))}},
		stationSpec{Station: config.Station{Route: "/b"}, files: map[string][]byte{"b.mp3": taggedMP3("Station", "Bravo", framesFrom(100000, 3000))}},
	)
	return h, sink
}

func listenAs(t *testing.T, h *harness, route, ua string) *icyStream {
	t.Helper()
	r := h.raw(t, "GET "+route+" HTTP/1.1", "Host: x", "Icy-MetaData: 1", "User-Agent: "+ua)
	if r.status != "HTTP/1.0 200 OK" && r.status != "ICY 200 OK" && r.status != "HTTP/1.1 200 OK" {
		t.Fatalf("status %q", r.status)
	}
	return newICYStream(t, r)
}

// waitListed waits until mp lists n listeners: a listener's first bytes
// are written as it joins, just before a shard (which listings walk)
// takes it over.
func waitListed(t *testing.T, mp *mount.Mountpoint, n int) []mount.ListenerInfo {
	t.Helper()
	var list []mount.ListenerInfo
	testmedia.PollUntil(t, 5*time.Second, fmt.Sprintf("%d listeners listed", n), func() bool {
		list = mp.ListListeners()
		return len(list) == n
	})
	return list
}

// accessLine is Icecast's combined log line.
var accessLine = regexp.MustCompile(`^(\S+) - - \[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] "(\S+) (\S+) (\S+)" (\d{3}) (\d+) "([^"]*)" "([^"]*)" (\d+)\n$`)

// TestIcecastAdminListKickMove: listclients lists connected listeners
// with their address and user agent; killclient drops exactly the one
// named (its session then gets an access log line with its bytes);
// moveclients moves the others from /a to /b on the same connections,
// their audio whole frames back to back and their title becoming /b's.
func TestIcecastAdminListKickMove(t *testing.T) {
	h, sink := twoStations(t)
	var streams []*icyStream
	for i := range 3 {
		s := listenAs(t, h, "/a", "Player/"+strconv.Itoa(i))
		if _, err := s.next(); err != nil {
			t.Fatal(err)
		}
		streams = append(streams, s)
	}

	waitListed(t, h.station(t, "/a").Mountpoint(), 3)
	code, ctype, body := adminGet(t, h.addr, adminTok, "/admin/listclients?mount=/a")
	if code != 200 || ctype != "text/xml; charset=utf-8" {
		t.Fatalf("listclients: %d %q %s", code, ctype, body)
	}
	doc := parseXML(t, body)
	src, _ := doc.child("source")
	if n, _ := src.child("Listeners"); n.Text != "3" || src.Attrs[0].Value != "/a" {
		t.Fatalf("listclients %s", body)
	}
	ids := map[string]string{} // user agent → ID
	for _, l := range src.Nodes {
		if l.XMLName.Local != "listener" {
			continue
		}
		if !slices.Equal(l.names(), []string{"IP", "UserAgent", "Connected", "ID"}) {
			t.Fatalf("listener elements %q", l.names())
		}
		ip, _ := l.child("IP")
		ua, _ := l.child("UserAgent")
		id, _ := l.child("ID")
		if ip.Text != "127.0.0.1" {
			t.Errorf("IP %q", ip.Text)
		}
		ids[ua.Text] = id.Text
	}
	if len(ids) != 3 || ids["Player/0"] == "" {
		t.Fatalf("listeners by user agent %v", ids)
	}

	if code, _, body := adminGet(t, h.addr, adminTok, "/admin/listclients?mount=/nope"); code != 400 || !bytes.Contains(body, []byte("400 - Source does not exist")) {
		t.Fatalf("unknown mount: %d %s", code, body)
	}
	if code, _, _ := adminGet(t, h.addr, "wrong", "/admin/listclients?mount=/a"); code != 401 {
		t.Fatalf("wrong password: %d", code)
	}
	if code, _, body := adminGet(t, h.addr, adminTok, "/admin/killclient?mount=/a&id=999999"); code != 200 || !bytes.Contains(body, []byte("<message>Client 999999 not found</message><return>0</return>")) {
		t.Fatalf("kill unknown: %d %s", code, body)
	}

	code, _, body = adminGet(t, h.addr, adminTok, "/admin/killclient?mount=/a&id="+ids["Player/0"])
	want := "<iceresponse><message>Client " + ids["Player/0"] + " removed</message><return>1</return></iceresponse>"
	if code != 200 || !bytes.Contains(body, []byte(want)) {
		t.Fatalf("killclient: %d %s", code, body)
	}
	if _, err := io.Copy(io.Discard, streams[0].r); err != nil {
		t.Fatalf("the removed listener's stream: %v", err)
	}
	line := sink.next(t)
	m := accessLine.FindStringSubmatch(line)
	if m == nil || m[1] != "127.0.0.1" || m[3] != "GET" || m[4] != "/a" || m[5] != "HTTP/1.1" || m[6] != "200" || m[9] != "Player/0" {
		t.Fatalf("access log line %q", line)
	}
	if sent, _ := strconv.Atoi(m[7]); sent < streams[0].metaint {
		t.Fatalf("access log says %d bytes, the listener read more", sent)
	}
	if _, err := time.Parse("02/Jan/2006:15:04:05 -0700", m[2]); err != nil {
		t.Fatal(err)
	}

	code, _, body = adminGet(t, h.addr, adminTok, "/admin/moveclients?mount=/a&destination=/b")
	if code != 200 || !bytes.Contains(body, []byte("<message>Clients moved from /a to /b</message><return>1</return>")) {
		t.Fatalf("moveclients: %d %s", code, body)
	}
	for _, s := range streams[1:] {
		for s.title != "Station - Bravo" {
			if _, err := s.next(); err != nil {
				t.Fatalf("moved listener: %v (titles so far %q)", err, s.title)
			}
		}
		checkMovedFrames(t, s.audio)
	}
	testmedia.PollUntil(t, 5*time.Second, "the listener counts to follow", func() bool {
		return h.station(t, "/a").Listeners() == 0 && h.station(t, "/b").Listeners() == 2
	})
	for _, q := range []string{"/admin/moveclients?mount=/b&destination=/b", "/admin/moveclients?mount=/b&destination=/nope", "/admin/moveclients?mount=/b", "/admin/killclient?mount=/b"} {
		if code, _, _ := adminGet(t, h.addr, adminTok, q); code != 400 {
			t.Errorf("%s: %d, want 400", q, code)
		}
	}
}

// checkMovedFrames: the audio is whole MPEG frames from its first byte,
// /a's then /b's, with nothing skipped between.
func checkMovedFrames(t *testing.T, audio []byte) {
	t.Helper()
	fr := mount.NewFrameReader(bytes.NewReader(audio))
	var fromA, fromB int
	for {
		f, err := fr.Next()
		if err != nil {
			break
		}
		switch {
		case testmedia.FrameIndex(f.Data) >= 100000:
			fromB++
		case fromB > 0:
			t.Fatal("a frame of /a after /b's")
		default:
			fromA++
		}
	}
	if fr.Skipped != 0 || fromA == 0 || fromB == 0 {
		t.Fatalf("skipped %d bytes; %d frames of /a, %d of /b", fr.Skipped, fromA, fromB)
	}
}

// TestIcecastAdminMetricsOfSessions: listening time, the session-length
// histogram and the build info are in /metrics.
func TestIcecastAdminMetricsOfSessions(t *testing.T) {
	h, sink := twoStations(t)
	s := listenAs(t, h, "/a", "Player")
	if _, err := s.next(); err != nil {
		t.Fatal(err)
	}
	list := waitListed(t, h.station(t, "/a").Mountpoint(), 1)
	if !h.station(t, "/a").Mountpoint().KickListener(list[0].ID) {
		t.Fatalf("listeners %+v", list)
	}
	sink.next(t)
	resp, err := http.Get(h.url("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fams := parsePrometheus(t, body)
	checkStationSeries(t, fams, []string{"/a", "/b"})
	if v := fams["audio_stream_listener_seconds_total"].value(t, "/a"); v <= 0 {
		t.Errorf("listener seconds %v", v)
	}
	if f := fams["audio_stream_session_duration_seconds"]; f == nil || f.typ != "histogram" || f.value(t, "/a") != 1 || f.value(t, "/b") != 0 {
		t.Errorf("session histogram %+v", f)
	}
	if f := fams["audio_streamer_build_info"]; f == nil || len(f.samples) != 1 || f.samples[0].labels["go_version"] == "" || f.samples[0].value != 1 {
		t.Errorf("build info %+v", f)
	}
}

// stockIcecastXML configures the stock Icecast the shapes are compared
// with: admin and source password pw.
const stockIcecastXML = `<icecast>
  <location>Earth</location><admin>icemaster@localhost</admin><hostname>127.0.0.1</hostname>
  <limits><clients>20</clients><sources>4</sources></limits>
  <authentication><source-password>pw</source-password><admin-user>admin</admin-user><admin-password>pw</admin-password></authentication>
  <listen-socket><port>%d</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <paths><basedir>%[2]s</basedir><logdir>%[2]s</logdir><webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot></paths>
  <logging><errorlog>error.log</errorlog><loglevel>3</loglevel></logging>
  <security><chroot>0</chroot></security>
</icecast>
`

// feedSource streams a tone to addr/route with ffmpeg, as a DJ would.
func feedSource(t *testing.T, ffmpeg, addr, route, password string) *sourceClient {
	t.Helper()
	return startClient(t, 2*time.Minute, nil, ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "sine=frequency=440:duration=100", "-ar", "44100", "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k",
		"-content_type", "audio/mpeg", "-ice_name", "ffmpeg", "-f", "mp3", "icecast://source:"+password+"@"+addr+route)
}

// TestIcecastAdminShapesMatchStockIcecast: a stock Icecast 2.4 and this
// server each have a live ffmpeg source and a listener; /admin/stats,
// /admin/listmounts and /admin/listclients answer in the same shapes
// (element names, their case and nesting; listmounts and listclients in
// the same order), values aside. Stats may carry more elements than a
// stock Icecast shows for this source (it adds title, bitrate, … when it
// knows them) but every one Icecast writes, in its alphabetical order.
// Then killsource ends the live source here: ffmpeg's connection is
// closed and the folder plays again.
func TestIcecastAdminShapesMatchStockIcecast(t *testing.T) {
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	iceAddr, _ := testmedia.StartIcecast(t, func(dir string, port int) string { return fmt.Sprintf(stockIcecastXML, port, dir) })
	feedSource(t, ffmpeg, iceAddr, "/live.mp3", "pw")
	var iceListener *rawResp
	testmedia.PollUntil(t, 15*time.Second, "icecast to play /live.mp3", func() bool {
		r, err := rawRequest(iceAddr, "GET /live.mp3 HTTP/1.0", "Icy-MetaData: 1", "User-Agent: TestUA/1.0")
		if err == nil && r.status == "HTTP/1.0 200 OK" {
			iceListener = r
			return true
		}
		if err == nil {
			r.conn.Close()
		}
		return false
	})
	t.Cleanup(func() { iceListener.conn.Close() })

	ls := startLiveStation(t, ffmpeg, config.Station{})
	ours := ls.h.addr
	dj := feedSource(t, ffmpeg, ours, liveRoute, livePassword)
	ls.onAir(t, "ffmpeg", 15*time.Second, dj.exited)
	s := listenAs(t, ls.h, liveRoute, "TestUA/1.0")
	if _, err := s.next(); err != nil {
		t.Fatal(err)
	}
	waitListed(t, ls.h.station(t, liveRoute).Mountpoint(), 1)

	get := func(addr, password, path string) xnode {
		t.Helper()
		code, ctype, body := adminGet(t, addr, password, path)
		if code != 200 || ctype != "text/xml; charset=utf-8" || !bytes.HasPrefix(body, []byte("<?xml version=\"1.0\"?>\n")) {
			t.Fatalf("%s %s: %d %q %s", addr, path, code, ctype, body)
		}
		return parseXML(t, body)
	}
	// listmounts and listclients: the same elements in the same order.
	for _, q := range [][2]string{{"/admin/listmounts", "/admin/listmounts"}, {"/admin/listclients?mount=/live.mp3", "/admin/listclients?mount=" + liveRoute}} {
		want, got := get(iceAddr, "pw", q[0]), get(ours, "", q[1])
		if want.XMLName.Local != "icestats" || got.XMLName.Local != "icestats" {
			t.Fatalf("%s: roots %s, %s", q[1], want.XMLName.Local, got.XMLName.Local)
		}
		wantSrc, _ := want.child("source")
		var gotSrc xnode
		for _, n := range got.Nodes {
			if len(n.Attrs) == 1 && n.Attrs[0].Name.Local == "mount" && n.Attrs[0].Value == liveRoute {
				gotSrc = n
			}
		}
		if !slices.Equal(wantSrc.names(), gotSrc.names()) {
			t.Errorf("%s: <source> holds %q here, %q in Icecast", q[1], gotSrc.names(), wantSrc.names())
		}
		if wl, ok := wantSrc.child("listener"); ok {
			gl, _ := gotSrc.child("listener")
			if !slices.Equal(wl.names(), gl.names()) {
				t.Errorf("%s: <listener> holds %q here, %q in Icecast", q[1], gl.names(), wl.names())
			}
			ua, _ := gl.child("UserAgent")
			if ua.Text != "TestUA/1.0" {
				t.Errorf("listclients user agent %q", ua.Text)
			}
		}
	}
	// stats: every element Icecast writes, alphabetically, at both levels.
	want, got := get(iceAddr, "pw", "/admin/stats"), get(ours, "", "/admin/stats")
	wantSrc, _ := want.child("source")
	gotSrc, _ := got.child("source")
	for _, level := range []struct {
		name      string
		want, got []string
	}{
		{"<icestats>", slices.DeleteFunc(want.names(), func(n string) bool { return n == "source" }), slices.DeleteFunc(got.names(), func(n string) bool { return n == "source" })},
		{"<source>", wantSrc.names(), gotSrc.names()},
	} {
		for _, n := range level.want {
			if !slices.Contains(level.got, n) {
				t.Errorf("stats %s has no <%s> (Icecast's: %q; ours: %q)", level.name, n, level.want, level.got)
			}
		}
		if !slices.IsSorted(level.got) {
			t.Errorf("stats %s not in alphabetical order: %q", level.name, level.got)
		}
	}

	code, _, body := adminGet(t, ours, "", "/admin/killsource?mount="+liveRoute)
	if code != 200 || !bytes.Contains(body, []byte("<iceresponse><message>Source Removed</message><return>1</return></iceresponse>")) {
		t.Fatalf("killsource: %d %s", code, body)
	}
	select {
	case <-dj.exited:
	case <-time.After(15 * time.Second):
		t.Fatal("ffmpeg still streams after killsource")
	}
	testmedia.PollUntil(t, 10*time.Second, "the folder to play again", func() bool {
		return ls.h.station(t, liveRoute).OnAir().Source == "folder"
	})
	if code, _, body := adminGet(t, ours, "", "/admin/killsource?mount="+liveRoute); code != 200 || !bytes.Contains(body, []byte("<return>0</return>")) {
		t.Fatalf("killsource with the folder playing: %d %s", code, body)
	}
}
