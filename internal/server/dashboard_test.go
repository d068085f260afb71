package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/auth"
	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/dashboard"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

const dashToken = "dashboard-test-token"

// dashResp is one answer, redirects not followed.
type dashResp struct {
	code int
	hdr  http.Header
	body string
}

// dashDo sends a request to addr with the given body and header
// name/value pairs, following no redirect.
func dashDo(t *testing.T, addr, method, path, body string, hdr ...string) dashResp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+addr+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return dashResp{resp.StatusCode, resp.Header, string(b)}
}

// loginForm posts the login form; hdr are extra header pairs.
func loginWith(t *testing.T, addr, user, password string, hdr ...string) dashResp {
	t.Helper()
	form := url.Values{"user": {user}, "password": {password}}.Encode()
	return dashDo(t, addr, "POST", "/admin/login", form, append([]string{"Content-Type", "application/x-www-form-urlencoded"}, hdr...)...)
}

// sessionOf is the session cookie a login set ("" if none).
func sessionOf(r dashResp) string {
	for _, c := range (&http.Response{Header: r.hdr}).Cookies() {
		if c.Name == sessionCookie {
			return c.Value
		}
	}
	return ""
}

var csrfAttr = regexp.MustCompile(`data-csrf="([^"]*)"`)

// dashboardCSRF opens /admin/ with the session cookie and returns the
// page's mode and CSRF token.
func dashboardCSRF(t *testing.T, addr, cookie string) (mode, csrf string) {
	t.Helper()
	r := dashDo(t, addr, "GET", "/admin/", "", "Cookie", sessionCookie+"="+cookie)
	if r.code != http.StatusOK {
		t.Fatalf("GET /admin/: %d %s", r.code, r.body)
	}
	m := regexp.MustCompile(`<body data-mode="([a-z]+)"`).FindStringSubmatch(r.body)
	c := csrfAttr.FindStringSubmatch(r.body)
	if m == nil || c == nil {
		t.Fatalf("page without data-mode or data-csrf: %.300s", r.body)
	}
	return m[1], c[1]
}

// TestDashboardLoginAndCSRF walks a browser's session through the HTTP
// API: the login form, the cookie's attributes, what the cookie allows
// with and without the CSRF token and from another site, and logout.
func TestDashboardLoginAndCSRF(t *testing.T) {
	h := startHarness(t, &Server{AdminToken: dashToken}, stationSpec{files: map[string][]byte{
		"a.mp3": titledTrack("Alpha", 0, 2000), "b.mp3": titledTrack("Bravo", 10000, 2000)}})

	r := dashDo(t, h.addr, "GET", "/admin", "")
	if r.code != http.StatusPermanentRedirect || r.hdr.Get("Location") != "admin/" {
		t.Fatalf("GET /admin: %d %q", r.code, r.hdr.Get("Location"))
	}
	r = dashDo(t, h.addr, "GET", "/admin/", "")
	if r.code != http.StatusOK || !strings.Contains(r.body, `data-mode="login"`) || !strings.Contains(r.hdr.Get("Content-Security-Policy"), "default-src 'none'") ||
		r.hdr.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("GET /admin/ unauthenticated: %d %v %.200s", r.code, r.hdr, r.body)
	}
	for _, p := range []string{"/api/listeners", "/api/stations"} {
		if r := dashDo(t, h.addr, "GET", p, ""); r.code != http.StatusUnauthorized {
			t.Errorf("GET %s unauthenticated: %d", p, r.code)
		}
	}
	if r := dashDo(t, h.addr, "DELETE", "/api/listeners?id=1", ""); r.code != http.StatusUnauthorized {
		t.Errorf("DELETE /api/listeners unauthenticated: %d", r.code)
	}

	r = loginWith(t, h.addr, "admin", "wrong")
	if r.code != http.StatusUnauthorized || sessionOf(r) != "" || !strings.Contains(r.body, "wrong user or password") {
		t.Fatalf("wrong password: %d cookie %q", r.code, sessionOf(r))
	}
	if r := loginWith(t, h.addr, "root", dashToken); r.code != http.StatusUnauthorized || sessionOf(r) != "" {
		t.Fatalf("another user: %d", r.code)
	}
	r = loginWith(t, h.addr, "admin", dashToken)
	cookie := sessionOf(r)
	if r.code != http.StatusSeeOther || r.hdr.Get("Location") != "./" || len(cookie) != 43 {
		t.Fatalf("login: %d %q cookie %q", r.code, r.hdr.Get("Location"), cookie)
	}
	sc := r.hdr.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "path=/"} {
		if !strings.Contains(strings.ToLower(sc), strings.ToLower(want)) {
			t.Errorf("Set-Cookie %q lacks %s", sc, want)
		}
	}
	if strings.Contains(strings.ToLower(sc), "secure") {
		t.Errorf("Set-Cookie %q is Secure over plain HTTP: the browser would never send it back", sc)
	}

	mode, csrf := dashboardCSRF(t, h.addr, cookie)
	if mode != "app" || len(csrf) != 43 {
		t.Fatalf("logged in: mode %q csrf %q", mode, csrf)
	}
	withCookie := []string{"Cookie", sessionCookie + "=" + cookie}
	if r := dashDo(t, h.addr, "GET", "/api/listeners", "", withCookie...); r.code != http.StatusOK {
		t.Fatalf("GET /api/listeners with the session: %d %s", r.code, r.body)
	}
	for _, c := range []struct {
		name string
		hdr  []string
	}{
		{"no CSRF token", nil},
		{"another session's token", []string{csrfHeader, strings.Repeat("A", 43)}},
		{"cross-site origin", []string{csrfHeader, csrf, "Origin", "https://evil.example"}},
		{"cross-site fetch", []string{csrfHeader, csrf, "Sec-Fetch-Site", "cross-site"}},
	} {
		if r := dashDo(t, h.addr, "POST", "/api/skip", "", append(withCookie, c.hdr...)...); r.code != http.StatusForbidden {
			t.Errorf("skip with the cookie, %s: %d %s", c.name, r.code, r.body)
		}
	}
	if got := h.stations[0].NowPlaying(); got == nil || got.Display != "Alpha" {
		t.Fatalf("a refused skip skipped: now %+v", got)
	}
	same := slices.Concat(withCookie, []string{csrfHeader, csrf, "Origin", "http://" + h.addr, "Sec-Fetch-Site", "same-origin"})
	if r := dashDo(t, h.addr, "POST", "/api/skip", "", same...); r.code != http.StatusOK || !strings.Contains(r.body, `"Alpha"`) {
		t.Fatalf("skip with the cookie and token: %d %s", r.code, r.body)
	}
	if r := dashDo(t, h.addr, "POST", "/reload-playlist", "", same...); r.code != http.StatusOK {
		t.Errorf("rescan with the session: %d %s", r.code, r.body)
	}

	if r := dashDo(t, h.addr, "POST", "/admin/logout", "", withCookie...); r.code != http.StatusForbidden {
		t.Fatalf("logout without the token: %d", r.code)
	}
	r = dashDo(t, h.addr, "POST", "/admin/logout", "csrf="+csrf, append(withCookie, "Content-Type", "application/x-www-form-urlencoded")...)
	if r.code != http.StatusSeeOther || !strings.Contains(r.hdr.Get("Set-Cookie"), sessionCookie+"=;") {
		t.Fatalf("logout form: %d %q", r.code, r.hdr.Get("Set-Cookie"))
	}
	r = dashDo(t, h.addr, "GET", "/api/listeners", "", withCookie...)
	if r.code != http.StatusUnauthorized || r.hdr.Get("WWW-Authenticate") != "" {
		t.Fatalf("the old cookie after logout: %d, WWW-Authenticate %q (a stale session must not make the browser prompt)", r.code, r.hdr.Get("WWW-Authenticate"))
	}
	if mode, csrf := dashboardCSRF(t, h.addr, cookie); mode != "login" || csrf != "" {
		t.Fatalf("the page after logout: mode %q csrf %q", mode, csrf)
	}
}

// TestLoginRateLimited: wrong passwords count in the admin lockout, after
// which even the right one is refused until the window ends; a JSON login
// gets the CSRF token in its answer.
func TestLoginRateLimited(t *testing.T) {
	clock := newTestClock()
	h := startHarness(t, &Server{AdminToken: dashToken, clock: clock.Now}, stationSpec{})
	for i := range auth.FailLimit {
		if r := loginWith(t, h.addr, "admin", fmt.Sprint("guess", i)); r.code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, r.code)
		}
	}
	r := loginWith(t, h.addr, "admin", dashToken)
	if r.code != http.StatusTooManyRequests || sessionOf(r) != "" {
		t.Fatalf("right password while locked out: %d", r.code)
	}
	if secs, err := strconv.Atoi(r.hdr.Get("Retry-After")); err != nil || secs != int(auth.FailWindow/time.Second) {
		t.Errorf("Retry-After %q", r.hdr.Get("Retry-After"))
	}
	// The lockout is the admin one: the Bearer token is refused too.
	if r := dashDo(t, h.addr, "GET", "/api/listeners", "", "Authorization", "Bearer "+dashToken); r.code != http.StatusTooManyRequests {
		t.Errorf("Bearer token while locked out: %d", r.code)
	}
	clock.Advance(auth.FailWindow)
	r = dashDo(t, h.addr, "POST", "/admin/login", `{"user":"admin","password":"`+dashToken+`"}`, "Content-Type", "application/json")
	var ok struct {
		CSRF string `json:"csrf_token"`
	}
	if err := json.Unmarshal([]byte(r.body), &ok); r.code != http.StatusOK || err != nil || len(ok.CSRF) != 43 || sessionOf(r) == "" {
		t.Fatalf("JSON login after the window: %d %s", r.code, r.body)
	}
	if r := dashDo(t, h.addr, "POST", "/admin/login", `{"password":"nope"}`, "Content-Type", "application/json"); r.code != http.StatusUnauthorized || !strings.Contains(r.body, `"status":"error"`) {
		t.Errorf("JSON login, wrong password: %d %s", r.code, r.body)
	}
}

// TestLoginCrossSiteRefused: another site cannot log a browser in (to its
// own session) nor out.
func TestLoginCrossSiteRefused(t *testing.T) {
	h := startHarness(t, &Server{AdminToken: dashToken}, stationSpec{})
	for _, hdr := range [][]string{{"Origin", "https://evil.example"}, {"Sec-Fetch-Site", "cross-site"}} {
		if r := loginWith(t, h.addr, "admin", dashToken, hdr...); r.code != http.StatusForbidden || sessionOf(r) != "" {
			t.Errorf("login with %v: %d", hdr, r.code)
		}
		if r := dashDo(t, h.addr, "POST", "/admin/logout", "", hdr...); r.code != http.StatusForbidden {
			t.Errorf("logout with %v: %d", hdr, r.code)
		}
	}
}

// TestDashboardSessionExpires: a session unused for the idle timeout is
// gone, and the dashboard shows the login form again.
func TestDashboardSessionExpires(t *testing.T) {
	clock := newTestClock()
	h := startHarness(t, &Server{AdminToken: dashToken, clock: clock.Now}, stationSpec{})
	cookie := sessionOf(loginWith(t, h.addr, "admin", dashToken))
	clock.Advance(dashboard.IdleTimeout - time.Minute)
	if r := dashDo(t, h.addr, "GET", "/api/stations", "", "Cookie", sessionCookie+"="+cookie); r.code != http.StatusOK {
		t.Fatalf("before the idle timeout: %d", r.code)
	}
	clock.Advance(dashboard.IdleTimeout)
	if r := dashDo(t, h.addr, "GET", "/api/stations", "", "Cookie", sessionCookie+"="+cookie); r.code != http.StatusUnauthorized {
		t.Fatalf("after the idle timeout: %d", r.code)
	}
	if mode, _ := dashboardCSRF(t, h.addr, cookie); mode != "login" {
		t.Fatalf("page after expiry: %s", mode)
	}
}

// TestDashboardWithoutToken: with no admin_token the dashboard is open to
// loopback without a login (and says so), login is refused as pointless,
// and another address gets nothing.
func TestDashboardWithoutToken(t *testing.T) {
	h := startHarness(t, &Server{}, stationSpec{})
	r := dashDo(t, h.addr, "GET", "/admin/", "")
	if r.code != http.StatusOK || !strings.Contains(r.body, `data-mode="app"`) || !strings.Contains(r.body, `data-open=""`) {
		t.Fatalf("loopback without a token: %d %.300s", r.code, r.body)
	}
	if r := loginWith(t, h.addr, "admin", "anything"); r.code != http.StatusConflict {
		t.Errorf("login without a token configured: %d", r.code)
	}
	if r := dashDo(t, h.addr, "GET", "/api/listeners", ""); r.code != http.StatusOK {
		t.Errorf("listeners from loopback: %d", r.code)
	}

	addr := serveCounted(t, &Server{}, &scanCounter{}, nonLoopbackIP(t))
	if r := dashDo(t, addr, "GET", "/admin/", ""); r.code != http.StatusForbidden || strings.Contains(r.body, "<html") {
		t.Errorf("another address without a token: %d", r.code)
	}
	if r := dashDo(t, addr, "GET", "/api/listeners", ""); r.code != http.StatusForbidden {
		t.Errorf("listeners from another address: %d", r.code)
	}
}

// TestListenersAPI lists a connected listener and disconnects it; the
// listener's connection is closed by the server.
func TestListenersAPI(t *testing.T) {
	h := startHarness(t, &Server{AdminToken: dashToken}, stationSpec{files: map[string][]byte{"a.mp3": titledTrack("Alpha", 0, 2000)}})
	bearer := []string{"Authorization", "Bearer " + dashToken}
	l := h.raw(t, "GET / HTTP/1.0", "User-Agent: listeners-api-test/1.0")
	if l.status != "HTTP/1.0 200 OK" {
		t.Fatalf("listener: %q", l.status)
	}
	closed := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, l.body); closed <- err }()
	// The head comes before the station lists the listener.
	waitListed(t, h.station(t, "/").Mountpoint(), 1)

	r := dashDo(t, h.addr, "GET", "/api/listeners?route=/", "", bearer...)
	var got struct {
		Listeners []listenerJSON `json:"listeners"`
	}
	if err := json.Unmarshal([]byte(r.body), &got); r.code != http.StatusOK || err != nil || len(got.Listeners) != 1 {
		t.Fatalf("GET /api/listeners: %d %s", r.code, r.body)
	}
	li := got.Listeners[0]
	if li.Route != "/" || li.Address != "127.0.0.1" || li.UserAgent != "listeners-api-test/1.0" || li.ID == 0 || li.Bytes <= 0 || li.ConnectedAt == "" {
		t.Fatalf("listener %+v", li)
	}
	if r := dashDo(t, h.addr, "GET", "/api/listeners", "", bearer...); !strings.Contains(r.body, `"listeners-api-test/1.0"`) {
		t.Errorf("every station's listeners lack it: %s", r.body)
	}
	if r := dashDo(t, h.addr, "GET", "/api/listeners?route=/nope", "", bearer...); r.code != http.StatusNotFound {
		t.Errorf("unknown route: %d", r.code)
	}
	id := strconv.FormatUint(li.ID, 10)
	if r := dashDo(t, h.addr, "DELETE", "/api/listeners?route=/&id="+id, "", append(bearer, "Origin", "https://evil.example")...); r.code != http.StatusForbidden {
		t.Errorf("cross-site kick: %d", r.code)
	}
	if r := dashDo(t, h.addr, "DELETE", "/api/listeners?route=/&id=abc", "", bearer...); r.code != http.StatusBadRequest {
		t.Errorf("kick id=abc: %d", r.code)
	}
	if r := dashDo(t, h.addr, "DELETE", "/api/listeners?route=/&id="+id, "", bearer...); r.code != http.StatusNoContent {
		t.Fatalf("kick: %d %s", r.code, r.body)
	}
	select {
	case err := <-closed:
		var ne net.Error
		if err != nil && (!errors.As(err, &ne) || ne.Timeout()) {
			t.Fatalf("the kicked listener's connection ended with %v, want the server closing it", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the kicked listener's connection is still open after 10 s")
	}
	if r := dashDo(t, h.addr, "DELETE", "/api/listeners?id="+id, "", bearer...); r.code != http.StatusNotFound {
		t.Errorf("kicking it again: %d", r.code)
	}
}

// TestAdminStationsGoLive: /api/stations tells how to go live on a
// station that takes live sources, in the station's format, never with
// the password; and the ffmpeg command it gives, with the password and a
// file filled in, really takes the station live.
func TestAdminStationsGoLive(t *testing.T) {
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	const password = "hunter2-source"
	onAir := make(chan *mount.TrackInfo, 64)
	h := startHarness(t, &Server{AdminToken: dashToken},
		stationSpec{Station: config.Station{Route: "/live", SourcePassword: password, Bitrate: 96, SampleRate: 44100, Channels: 2},
			files: map[string][]byte{"a.mp3": titledTrack("Alpha", 0, 3000)},
			onTrack: func(ti *mount.TrackInfo) {
				select {
				case onAir <- ti:
				default:
				}
			}},
		stationSpec{Station: config.Station{Route: "/music"}})
	r := dashDo(t, h.addr, "GET", "/api/stations", "", "Authorization", "Bearer "+dashToken)
	if strings.Contains(r.body, password) {
		t.Fatalf("/api/stations shows the source password: %s", r.body)
	}
	var got struct {
		Stations []adminStationJSON `json:"stations"`
	}
	if err := json.Unmarshal([]byte(r.body), &got); r.code != http.StatusOK || err != nil || len(got.Stations) != 2 {
		t.Fatalf("GET /api/stations: %d %s", r.code, r.body)
	}
	_, port, _ := net.SplitHostPort(h.addr)
	live := got.Stations[0].Live
	if got.Stations[0].Route != "/live" || live == nil || live.Host != "127.0.0.1" || strconv.Itoa(live.Port) != port ||
		live.Mount != "/live" || live.User != "source" || live.TLS || !got.Stations[0].Programme {
		t.Fatalf("/live: %+v go-live %+v", got.Stations[0], live)
	}
	want := "ffmpeg -re -i input.mp3 -c:a libmp3lame -b:a 96k -ar 44100 -ac 2 -f mp3 -content_type audio/mpeg icecast://source:PASSWORD@" + h.addr + "/live"
	if live.FFmpeg != want {
		t.Fatalf("ffmpeg command\n got %s\nwant %s", live.FFmpeg, want)
	}
	if got.Stations[1].Live != nil {
		t.Errorf("/music takes no live sources but shows %+v", got.Stations[1].Live)
	}

	// Run the command as a DJ would, with their file and the password.
	input := filepath.Join(t.TempDir(), "show.mp3")
	if out, err := exec.Command(ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "lavfi",
		"-i", "sine=frequency=440:duration=30:sample_rate=44100", "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k", input).CombinedOutput(); err != nil {
		t.Fatalf("making the show: %v\n%s", err, out)
	}
	args := strings.Fields(strings.NewReplacer("input.mp3", input, "PASSWORD", password).Replace(live.FFmpeg))
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, ffmpeg, append([]string{"-hide_banner", "-loglevel", "error", "-nostdin"}, args[1:]...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ti := <-onAir:
			if ti.Rel != "" {
				continue // a folder track
			}
			if src := h.station(t, "/live").OnAir().Source; src != "live" {
				t.Fatalf("a track without a file started but the station says %q is on the air", src)
			}
			return
		case <-deadline:
			cancel()
			_ = cmd.Wait() // stderr is complete only then
			t.Fatalf("the go-live command did not take the station live within 20 s; ffmpeg said: %s", stderr.String())
		}
	}
}
