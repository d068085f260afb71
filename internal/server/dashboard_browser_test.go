package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// dashBrowser is a headless Chromium tab and the errors its pages logged
// (console errors, uncaught exceptions, blocked scripts or styles).
type dashBrowser struct {
	ctx      context.Context
	mu       sync.Mutex
	errors   []string
	messages []string // everything, printed when the test fails
}

func (b *dashBrowser) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *cdpruntime.EventConsoleAPICalled:
		var parts []string
		for _, a := range ev.Args {
			parts = append(parts, a.Description+string(a.Value))
		}
		msg := fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(parts, " "))
		b.messages = append(b.messages, msg)
		if ev.Type == cdpruntime.ConsoleAPICalledTypeError {
			b.errors = append(b.errors, msg)
		}
	case *cdpruntime.EventExceptionThrown:
		msg := "exception: " + ev.ExceptionDetails.Text
		if e := ev.ExceptionDetails.Exception; e != nil {
			msg += " " + e.Description
		}
		b.messages = append(b.messages, msg)
		b.errors = append(b.errors, msg)
	case *cdplog.EventEntryAdded:
		msg := fmt.Sprintf("log %s %s: %s %s", ev.Entry.Level, ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
		b.messages = append(b.messages, msg)
		// A 401 or 403 the test provokes is a network error; a script or
		// style the CSP blocks is not.
		if ev.Entry.Level == cdplog.EntryLevelError && ev.Entry.Source != cdplog.EntrySourceNetwork {
			b.errors = append(b.errors, msg)
		}
	}
}

func (b *dashBrowser) checkNoErrors(t *testing.T, when string) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.errors) > 0 {
		t.Fatalf("%s: the page logged errors:\n%s", when, strings.Join(b.errors, "\n"))
	}
}

// startDashBrowser runs headless Chromium with a fresh profile.
func startDashBrowser(t *testing.T) *dashBrowser {
	t.Helper()
	b := &dashBrowser{}
	t.Cleanup(func() { // runs after the browser stopped
		if t.Failed() {
			b.mu.Lock()
			t.Logf("browser messages:\n%s", strings.Join(b.messages, "\n"))
			b.mu.Unlock()
		}
	})
	b.ctx = testmedia.StartChromium(t, 1000, 800, b.listen)
	return b
}

func (b *dashBrowser) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func dashEval[T any](t *testing.T, b *dashBrowser, js string) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluating %.60q: %v", js, err)
	}
	return v
}

// dashState is what the test reads off the dashboard.
type dashState struct {
	Mode      string            `json:"mode"`
	Status    string            `json:"status"`
	Now       string            `json:"now"`
	Listeners map[string]string `json:"listeners"` // data-id → user agent
	Updated   string            `json:"updated"`
	Error     string            `json:"error"` // the login form's
}

const dashStateJS = `(() => {
  const b = document.body;
  if (!b || document.readyState === 'loading') return { mode: '' };
  const s = document.querySelector('section.station[data-route="/"]'), ls = {};
  if (s) for (const tr of s.querySelectorAll('table.listeners tbody tr')) ls[tr.dataset.id] = tr.children[1].textContent;
  return { mode: b.dataset.mode, status: (document.getElementById('status') || {}).textContent || '',
    now: s ? s.querySelector('.now').textContent : '', listeners: ls, updated: b.dataset.updated || '',
    error: (document.getElementById('login-error') || {}).textContent || '' };
})()`

// wait evaluates the page state every 100 ms until cond holds, up to
// limit; an error the page logs fails the test at once.
func (b *dashBrowser) wait(t *testing.T, limit time.Duration, what string, cond func(dashState) bool) dashState {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		b.checkNoErrors(t, "waiting for "+what)
		v, err := chromedp.Run(b.ctx, chromedp.Evaluate[dashState](dashStateJS))
		if err == nil && cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; page: %+v (%v)", limit, what, v, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (b *dashBrowser) screenshot(t *testing.T, name string) {
	t.Helper()
	dir := os.Getenv("AUDIO_STREAMER_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d KB)", path, len(png)>>10)
}

// TestDashboardInChromium uses the admin dashboard in headless Chromium as
// an admin would: log in through the form, see a listener connect, kick
// it (the server closes its connection), skip the track on the air (the
// title changes), check the page on a 360 px phone in both colour
// schemes, and log out (the session cookie stops working).
func TestDashboardInChromium(t *testing.T) {
	testmedia.RequireTool(t, "chromium") // before the server starts: fail fast
	h := startHarness(t, &Server{AdminToken: dashToken}, stationSpec{files: map[string][]byte{
		"a.mp3": titledTrack("Alpha", 0, 3000), "b.mp3": titledTrack("Bravo", 10000, 3000)}})
	b := startDashBrowser(t)
	base := "http://" + h.addr

	// 1. Unauthenticated: /admin leads to the login form.
	b.do(t, "open /admin", chromedp.Navigate(base+"/admin"))
	b.wait(t, 10*time.Second, "the login form", func(s dashState) bool { return s.Mode == "login" })
	if u := dashEval[string](t, b, `location.pathname`); u != "/admin/" {
		t.Errorf("the dashboard is at %s, want /admin/", u)
	}
	b.do(t, "wrong password", chromedp.SendKeys(chromedp.ID("password"), "not-the-token"), chromedp.Click(chromedp.ID("login-button")))
	b.wait(t, 10*time.Second, "the login error", func(s dashState) bool { return s.Mode == "login" && s.Error == "wrong user or password" })

	// 2. Log in through the form.
	b.do(t, "log in", chromedp.SendKeys(chromedp.ID("password"), dashToken), chromedp.Click(chromedp.ID("login-button")))
	st := b.wait(t, 10*time.Second, "the dashboard with / on the air", func(s dashState) bool {
		return s.Mode == "app" && s.Now == "Now: Alpha"
	})
	if len(st.Listeners) != 0 {
		t.Fatalf("listeners before any connected: %v", st.Listeners)
	}
	cookies, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	var session string
	for _, c := range cookies.Cookies {
		if c.Name == sessionCookie {
			session = c.Value
			if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict || c.Path != "/" {
				t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/", c)
			}
		}
	}
	if session == "" {
		t.Fatal("no session cookie after login")
	}
	if got := dashEval[string](t, b, `document.cookie`); strings.Contains(got, sessionCookie) {
		t.Errorf("the page's script can read the session cookie: %q", got)
	}

	// 3. A listener connects and shows up.
	l := h.raw(t, "GET / HTTP/1.0", "User-Agent: dashboard-browser-test/1.0")
	if l.status != "HTTP/1.0 200 OK" {
		t.Fatalf("listener: %q", l.status)
	}
	closed := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, l.body); closed <- err }()
	var id string
	b.wait(t, 10*time.Second, "the listener in the table", func(s dashState) bool {
		for k, ua := range s.Listeners {
			if ua == "dashboard-browser-test/1.0" {
				id = k
			}
		}
		return id != ""
	})

	// 4. Kick it: the server closes its connection, the row goes.
	b.do(t, "kick", chromedp.Click(chromedp.CSS(fmt.Sprintf(`section[data-route="/"] tr[data-id=%q] button.kick`, id))))
	select {
	case err := <-closed:
		if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the listener's connection timed out instead of being closed: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the kicked listener's connection is still open after 10 s")
	}
	b.wait(t, 10*time.Second, "the listener gone from the table", func(s dashState) bool {
		_, there := s.Listeners[id]
		return !there && strings.HasPrefix(s.Status, "Disconnected 127.0.0.1")
	})

	// 5. Skip: the title changes to the next track.
	b.do(t, "skip", chromedp.Click(chromedp.CSS(`section[data-route="/"] button.skip`)))
	b.wait(t, 30*time.Second, "the title after the skip", func(s dashState) bool {
		return s.Now == "Now: Bravo" && strings.HasPrefix(s.Status, "Skipped “Alpha”")
	})

	// Request a track through the search box four times: the station
	// opens at most two tracks ahead (max_preload_tracks), so the last
	// requests wait in the queue; remove the last one.
	queueJS := `Array.from(document.querySelectorAll('section[data-route="/"] .queue li')).map((e) => e.dataset.id + ' ' + e.querySelector('span').textContent)`
	b.do(t, "search", chromedp.SendKeys(chromedp.CSS(`section[data-route="/"] .search input`), "alpha"),
		chromedp.Click(chromedp.CSS(`section[data-route="/"] .search button`)))
	for range 4 {
		b.do(t, "request", chromedp.Click(chromedp.CSS(`section[data-route="/"] .results button`)))
		b.wait(t, 10*time.Second, "the request's answer", func(s dashState) bool { return s.Status == "Requested “Alpha” on /" })
		dashEval[chromedp.Void](t, b, `document.getElementById('status').textContent = ''`)
	}
	var last string
	b.wait(t, 10*time.Second, "requests in the queue", func(dashState) bool {
		q := dashEval[[]string](t, b, queueJS)
		if len(q) < 2 || !strings.HasSuffix(q[len(q)-1], " Alpha") {
			return false
		}
		last = strings.Fields(q[len(q)-1])[0]
		return true
	})
	b.do(t, "remove the last request", chromedp.Click(chromedp.CSS(fmt.Sprintf(`section[data-route="/"] .queue li[data-id=%q] button.danger`, last))))
	b.wait(t, 10*time.Second, "the removed request gone", func(dashState) bool {
		return !slices.ContainsFunc(dashEval[[]string](t, b, queueJS), func(e string) bool { return strings.HasPrefix(e, last+" ") })
	})
	b.do(t, "rescan", chromedp.Click(chromedp.ID("rescan")))
	b.wait(t, 10*time.Second, "the rescan's result", func(s dashState) bool { return s.Status == "/: 2 tracks" })

	// 6. A 360 px phone, light and dark: no sideways scrolling.
	b.do(t, "phone viewport", chromedp.EmulateViewport(360, 740))
	for _, scheme := range []string{"light", "dark"} {
		if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		}); err != nil {
			t.Fatal(err)
		}
		if w := dashEval[int](t, b, `document.documentElement.scrollWidth`); w > 360 {
			t.Errorf("%s: the dashboard is %d px wide at a 360 px viewport", scheme, w)
		}
		b.screenshot(t, "admin-dashboard-360-"+scheme+".png")
	}
	b.do(t, "desktop viewport", chromedp.EmulateViewport(1000, 800))
	b.checkNoErrors(t, "using the dashboard")

	// 7. Log out: the login form again, and the cookie is dead.
	b.do(t, "log out", chromedp.Click(chromedp.ID("logout")))
	b.wait(t, 10*time.Second, "the login form after logout", func(s dashState) bool { return s.Mode == "login" })
	r := dashDo(t, h.addr, "GET", "/api/listeners", "", "Cookie", sessionCookie+"="+session)
	if r.code != http.StatusUnauthorized {
		t.Fatalf("the session cookie after logout: %d", r.code)
	}
	b.checkNoErrors(t, "logging out")
}
