package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/server"
	"github.com/aposazhennikov/stream-audio-to-web/internal/station"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/internal/web"
)

// TestPageIsSelfContained checks what a browser test cannot see failing:
// nothing is fetched from elsewhere, and titles never go through innerHTML.
func TestPageIsSelfContained(t *testing.T) {
	p := string(web.Page())
	for _, want := range []string{
		`<meta name="viewport"`, `<audio id="audio" preload="none">`, `aria-live="polite"`, `role="status"`,
		`aria-pressed`, `prefers-color-scheme: dark`, `new EventSource(`, `fetch(at('streams')`, `:focus-visible`,
		`system-ui`, `'?t=' + Date.now()`,
	} {
		if !strings.Contains(p, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "http://", "https://", "//cdn", "@import", "url(", "<script src", `rel="stylesheet"`} {
		if strings.Contains(p, bad) {
			t.Errorf("page contains %q: it must be self-contained and set user text with textContent", bad)
		}
	}
}

// tone is one generated test track.
type tone struct {
	file, artist, title string
	hz                  int
	secs                float64
}

func (tn tone) display() string { return tn.artist + " - " + tn.title }

var (
	lounge = []tone{
		{"01.mp3", "The Sine Waves", "Four Forty", 440, 5},
		{"02.mp3", "Квинта", "Шестьсот шестьдесят", 660, 5},
	}
	humor = []tone{{"01.mp3", "Юморист", "Анекдот про кота", 330, 8}}
)

// radio is a running audio-streamer: the stations main's buildStations
// would build from a config file, on a loopback port.
type radio struct {
	addr     string
	stations map[string]*station.Station
	publish  time.Duration
}

func startRadio(t *testing.T, ffmpeg string) *radio {
	t.Helper()
	root := t.TempDir()
	dirs := map[string][]tone{"lounge": lounge, "humor": humor, "empty": nil}
	for name, tones := range dirs {
		dir := filepath.Join(root, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, tn := range tones {
			cmd := exec.Command(ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin",
				"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%d:duration=%g:sample_rate=44100", tn.hz, tn.secs),
				"-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k",
				"-metadata", "artist="+tn.artist, "-metadata", "title="+tn.title, filepath.Join(dir, tn.file))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("ffmpeg: %v\n%s", err, out)
			}
		}
	}
	// "/" starts listeners 1 s behind live so its titles change soon after a
	// press; the others keep the default burst (64 KiB, 4 s at 128 kbit/s).
	toml := fmt.Sprintf(`[[station]]
route = "/"
dir = %q
name = "Lounge"
genre = "Ambient"
shuffle = false
burst = "1s"

[[station]]
route = "/humor"
dir = %q
name = "Юмор FM"
genre = "Comedy"
shuffle = false

[[station]]
route = "/empty"
dir = %q
name = "Night Shift"
genre = "Jazz"
`, filepath.Join(root, "lounge"), filepath.Join(root, "humor"), filepath.Join(root, "empty"))
	cfgPath := filepath.Join(root, "audio-streamer.toml")
	if err := os.WriteFile(cfgPath, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load([]string{"--config", cfgPath}, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}

	list, err := station.BuildAll(cfg, station.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	r := &radio{stations: map[string]*station.Station{}, publish: cfg.PublishInterval}
	mctx, stopStations := context.WithCancel(context.Background())
	for _, st := range list {
		r.stations[st.Profile().Route] = st
		st.Start(mctx)
	}
	// Registered before the server's cleanup, so it runs after it.
	t.Cleanup(func() {
		stopStations()
		for _, st := range list {
			st.Wait()
		}
	})
	srv := &server.Server{ServerID: "audio-streamer"}
	for _, st := range list {
		srv.Stations = append(srv.Stations, st)
	}
	r.addr = testmedia.ServeLoopback(t, srv.Serve)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, route := range []string{"/", "/humor"} {
		if err := r.stations[route].WaitReady(ctx); err != nil {
			t.Fatalf("station %s not on the air: %v", route, err)
		}
	}
	return r
}

// nowPlaying is the server's answer to /now-playing?route=.
type nowPlaying struct {
	Track     string `json:"track"`
	StartedAt string `json:"started_at"`
	Listeners int    `json:"listeners"`
}

func (r *radio) nowPlaying(t *testing.T, route string) nowPlaying {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + r.addr + "/now-playing?route=" + route)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var np nowPlaying
	if err := json.NewDecoder(resp.Body).Decode(&np); err != nil {
		t.Fatal(err)
	}
	return np
}

// flakyProxy stands between the browser and the server so the test can
// cut the network: down closes every connection and refuses new ones.
type flakyProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func startProxy(t *testing.T, target string) *flakyProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &flakyProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.serve)
	t.Cleanup(func() {
		ln.Close()
		p.setDown(true)
		p.wg.Wait()
	})
	return p
}

func (p *flakyProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		p.mu.Lock()
		if err != nil || p.down {
			p.mu.Unlock()
			c.Close()
			if up != nil {
				up.Close()
			}
			continue
		}
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			_, _ = io.Copy(dst, src) // until either side closes
			dst.Close()
			src.Close()
			p.mu.Lock()
			delete(p.conns, dst)
			delete(p.conns, src)
			p.mu.Unlock()
		}
		p.wg.Go(func() { pipe(up, c) })
		p.wg.Go(func() { pipe(c, up) })
	}
}

func (p *flakyProxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
	}
}

// browserLog collects what the page must not produce (console errors,
// uncaught exceptions) and what the test measures (media requests).
type browserLog struct {
	mu       sync.Mutex
	errors   []string
	messages []string // everything, printed when the test fails
	requests []mediaRequest
}

type mediaRequest struct {
	url string
	at  time.Time
}

func (l *browserLog) listen(ev any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch ev := ev.(type) {
	case *cdpruntime.EventConsoleAPICalled:
		var parts []string
		for _, a := range ev.Args {
			if a.Description != "" {
				parts = append(parts, a.Description)
			} else {
				parts = append(parts, string(a.Value))
			}
		}
		msg := fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(parts, " "))
		l.messages = append(l.messages, msg)
		if ev.Type == cdpruntime.ConsoleAPICalledTypeError {
			l.errors = append(l.errors, msg)
		}
	case *cdpruntime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := "exception: " + d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		l.messages = append(l.messages, msg)
		l.errors = append(l.errors, msg)
	case *cdplog.EventEntryAdded:
		msg := fmt.Sprintf("log %s %s: %s %s", ev.Entry.Level, ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
		l.messages = append(l.messages, msg)
		// Failed loads are expected here (503s, a cut network); a blocked
		// script or style (Content-Security-Policy) is not.
		if ev.Entry.Level == cdplog.EntryLevelError && ev.Entry.Source != cdplog.EntrySourceNetwork {
			l.errors = append(l.errors, msg)
		}
	case *network.EventRequestWillBeSent:
		if strings.Contains(ev.Request.URL, "?t=") {
			l.requests = append(l.requests, mediaRequest{url: ev.Request.URL, at: time.Now()})
		}
	}
}

func (l *browserLog) checkNoErrors(t *testing.T, when string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errors) > 0 {
		t.Fatalf("%s: the page logged errors:\n%s", when, strings.Join(l.errors, "\n"))
	}
}

// attempts lists the distinct stream requests whose URL contains part.
func (l *browserLog) attempts(part string) []mediaRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []mediaRequest
	for _, r := range l.requests {
		if strings.Contains(r.url, part) && !slices.ContainsFunc(out, func(o mediaRequest) bool { return o.url == r.url }) {
			out = append(out, r)
		}
	}
	return out
}

// browser is a headless Chromium tab and what it logged.
type browser struct {
	ctx context.Context
	log *browserLog
}

// startBrowser runs headless Chromium with a fresh profile and the default
// autoplay policy: audio starts only after a real gesture.
func startBrowser(t *testing.T, chromium string) *browser {
	t.Helper()
	profile := t.TempDir() // removed after the browser is gone (cleanups run last-in first-out)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(profile), chromedp.WindowSize(1000, 700),
	)
	ctx, cancel := chromedp.NewContext(actx)
	log := &browserLog{}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		if t.Failed() {
			log.mu.Lock()
			t.Logf("browser messages:\n%s", strings.Join(log.messages, "\n"))
			log.mu.Unlock()
		}
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser, bound to ctx
		t.Fatalf("starting %s: %v", chromium, err)
	}
	if err := chromedp.Listen(ctx, log.listen); err != nil {
		t.Fatal(err)
	}
	return &browser{ctx: ctx, log: log}
}

// pageState is what the test reads off the player page.
type pageState struct {
	Paused    bool                `json:"paused"`
	Time      float64             `json:"time"`
	Src       string              `json:"src"`
	Muted     bool                `json:"muted"`
	Status    string              `json:"status"`
	Conn      string              `json:"conn"`
	Now       string              `json:"now"`
	Unmute    bool                `json:"unmute"`
	Media     int                 `json:"media"`
	Focused   string              `json:"focused"`
	Rows      map[string]rowState `json:"rows"`
	RowsOrder []string            `json:"order"`
}

type rowState struct {
	Name      string `json:"name"`
	Track     string `json:"track"`
	Listeners string `json:"listeners"`
	Pressed   bool   `json:"pressed"`
	Label     string `json:"label"`
	Current   bool   `json:"current"`
}

const stateJS = `(() => {
  const a = document.getElementById('audio'), rows = {}, order = [];
  if (!a || document.readyState === 'loading') return { paused: true, rows }; // mid-navigation
  for (const li of document.querySelectorAll('#list li')) {
    const b = li.querySelector('button.play');
    order.push(li.dataset.route);
    rows[li.dataset.route] = { name: li.querySelector('.name').textContent, track: li.querySelector('.track').textContent,
      listeners: li.querySelector('.listeners').textContent, pressed: b.getAttribute('aria-pressed') === 'true',
      label: b.getAttribute('aria-label') || '', current: li.getAttribute('aria-current') === 'true' };
  }
  const f = document.activeElement;
  return { paused: a.paused, time: a.currentTime, src: a.getAttribute('src') || '', muted: a.muted,
    status: document.getElementById('status').textContent, conn: document.getElementById('conn').textContent,
    now: document.getElementById('now').textContent, unmute: !document.getElementById('unmute').hidden,
    media: document.querySelectorAll('audio, video').length,
    focused: f && f.closest('li') ? f.closest('li').dataset.route + ' ' + f.tagName : '', rows, order };
})()`

func eval[T any](t *testing.T, b *browser, js string) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluating %.60q: %v", js, err)
	}
	return v
}

func (b *browser) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wait polls the page every 100 ms until cond holds, up to limit.
func (b *browser) wait(t *testing.T, limit time.Duration, what string, cond func(pageState) bool) pageState {
	t.Helper()
	return waitEval(t, b, limit, what, stateJS, cond)
}

// waitEval evaluates js every 100 ms until cond holds, up to limit; an
// error logged by the page fails the test at once.
func waitEval[T any](t *testing.T, b *browser, limit time.Duration, what, js string, cond func(T) bool) T {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		b.log.checkNoErrors(t, "waiting for "+what)
		// An evaluation can meet a navigation the page started itself.
		v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
		if err == nil && cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; page: %+v (%v)", limit, what, v, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func playing(route string, minTime float64) func(pageState) bool {
	return func(st pageState) bool {
		return !st.Paused && st.Time > minTime && strings.HasPrefix(st.Src, route+"?t=") && st.Rows[route].Pressed
	}
}

func playButton(route string) chromedp.CSS {
	return chromedp.CSS(fmt.Sprintf(`li[data-route=%q] button.play`, route))
}

// artifactDir is where screenshots go: $AUDIO_STREAMER_ARTIFACTS (CI keeps
// it) or a temp dir.
func artifactDir(t *testing.T) string {
	if d := os.Getenv("AUDIO_STREAMER_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func (b *browser) screenshot(t *testing.T, path string) []byte {
	t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d KB)", path, len(png)>>10)
	return png
}

func (b *browser) colorScheme(t *testing.T, scheme string) {
	t.Helper()
	if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
	}); err != nil {
		t.Fatal(err)
	}
}

// TestPlayerInChromium listens to a real server through the /web page in
// headless Chromium the way a person would: click play, hear audio, watch
// the title change by itself, lose the network, switch and pause.
// Screenshots go to $AUDIO_STREAMER_ARTIFACTS; AUDIO_STREAMER_UPDATE_DOCS=1
// also rewrites the README's docs/web-player.png.
func TestPlayerInChromium(t *testing.T) {
	chromium := testmedia.RequireTool(t, "chromium")
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	r := startRadio(t, ffmpeg)
	proxy := startProxy(t, r.addr)
	base := "http://" + proxy.ln.Addr().String()
	b := startBrowser(t, chromium)
	arts := artifactDir(t)
	began, last := time.Now(), time.Now()
	// step logs how long each part took, to keep the whole under a minute.
	step := func(name string) {
		t.Logf("%-28s %4.1fs (%4.1fs in); listeners: / %d, /humor %d", name, time.Since(last).Seconds(), time.Since(began).Seconds(),
			r.stations["/"].Stats().Listeners, r.stations["/humor"].Stats().Listeners)
		last = time.Now()
	}

	// 1. The page lists every station, with live updates over SSE.
	b.do(t, "open /web", chromedp.Navigate(base+"/web"))
	st := b.wait(t, 10*time.Second, "three stations and live updates", func(st pageState) bool {
		return len(st.Rows) == 3 && st.Conn == "Live"
	})
	if want := []string{"/", "/empty", "/humor"}; !slices.Equal(st.RowsOrder, want) {
		t.Errorf("stations listed as %q, want %q", st.RowsOrder, want)
	}
	if got := st.Rows["/humor"]; got.Name != "Юмор FM" || got.Label != "Play Юмор FM" || got.Listeners != "0 listeners" {
		t.Errorf("/humor row %+v", got)
	}
	if got := st.Rows["/empty"].Track; !strings.Contains(got, "Off the air") {
		t.Errorf("/empty shows %q, want it off the air", got)
	}
	if got, want := st.Rows["/humor"].Track, humor[0].display(); got != want {
		t.Errorf("/humor shows %q, want %q", got, want)
	}
	if !st.Paused || st.Src != "" {
		t.Errorf("audio started before any press: %+v", st)
	}
	// No horizontal scrolling on a 360 px phone.
	b.do(t, "phone viewport", chromedp.EmulateViewport(360, 740))
	if w := eval[int](t, b, `document.documentElement.scrollWidth`); w > 360 {
		t.Errorf("page is %d px wide at a 360 px viewport", w)
	}
	b.screenshot(t, filepath.Join(arts, "web-player-360.png"))
	b.do(t, "desktop viewport", chromedp.EmulateViewport(1000, 700))
	b.log.checkNoErrors(t, "loading /web")

	// Measure in the page: click → 'playing', audio reloads, title changes.
	eval[chromedp.Void](t, b, `(() => {
  const a = document.getElementById('audio');
  window.__t = { click: 0, playing: 0, progress: 0, loads: 0, titles: [] };
  document.addEventListener('click', () => { __t.click = performance.now(); }, true);
  a.addEventListener('playing', () => { if (!__t.playing) __t.playing = performance.now(); });
  a.addEventListener('timeupdate', () => { if (!__t.progress && a.currentTime > 0) __t.progress = performance.now(); });
  a.addEventListener('loadstart', () => { __t.loads++; __t.loadAt = Date.now(); });
  const tr = document.querySelector('li[data-route="/"] .track');
  new MutationObserver(() => __t.titles.push({ at: Date.now(), text: tr.textContent, pos: a.currentTime, join: __t.loadAt }))
    .observe(tr, { childList: true, characterData: true, subtree: true });
})()`)
	step("page loaded")

	// 2. One press plays; the audio element really advances.
	clicked := time.Now()
	b.do(t, "press play on /", chromedp.Click(playButton("/")))
	st = b.wait(t, 15*time.Second, "/ playing past 1.5 s", playing("/", 1.5))
	to15 := time.Since(clicked)
	firstAudio := eval[[2]float64](t, b, `[__t.playing - __t.click, __t.progress - __t.click]`)
	t.Logf("click → 'playing' %.0f ms, → currentTime > 0 %.0f ms, → currentTime > 1.5 s %v", firstAudio[0], firstAudio[1], to15.Round(time.Millisecond))
	if st.Status != "" || st.Rows["/"].Label != "Play Lounge" {
		t.Errorf("after play: status %q, row %+v", st.Status, st.Rows["/"])
	}
	b.wait(t, 5*time.Second, "/ showing 1 listener", func(st pageState) bool { return st.Rows["/"].Listeners == "1 listener" })
	step("playing")

	// 3. The title shown is the server's "what listeners hear", and it
	// changes by itself without touching the audio element.
	titles := map[string]bool{lounge[0].display(): true, lounge[1].display(): true}
	var before string
	b.wait(t, 5*time.Second, "/ title equal to /now-playing", func(st pageState) bool {
		before = r.nowPlaying(t, "/").Track
		return st.Rows["/"].Track == before && titles[before]
	})
	loads := eval[int](t, b, `__t.loads`)
	changeWait := time.Now()
	st = b.wait(t, 60*time.Second, "the title to change", func(st pageState) bool { return st.Rows["/"].Track != before })
	after := st.Rows["/"].Track
	changedAfter := time.Since(changeWait)
	np := r.nowPlaying(t, "/")
	if !titles[after] || after != np.Track {
		t.Fatalf("title changed from %q to %q; server says %q", before, after, np.Track)
	}
	if !strings.Contains(st.Now, after) {
		t.Errorf("now-playing bar %q lacks %q", st.Now, after)
	}
	// When did this browser play the first audio of the new track? The
	// connection opened at join, one burst behind live, so the track's first
	// frame is (heard start - join) seconds into it: compare with the audio
	// position at the moment the title changed.
	type change struct {
		At   float64 `json:"at"`
		Text string  `json:"text"`
		Pos  float64 `json:"pos"`
		Join float64 `json:"join"`
	}
	heard, err := time.Parse(time.RFC3339Nano, np.StartedAt)
	if err != nil {
		t.Fatal(err)
	}
	var ch *change
	for _, c := range eval[[]change](t, b, `__t.titles`) {
		if c.Text == after {
			ch = &c
		}
	}
	if ch == nil {
		t.Fatal("the title change was not observed in the DOM")
	}
	boundary := heard.Sub(time.UnixMilli(int64(ch.Join))).Seconds()
	early := boundary - ch.Pos
	t.Logf("title %q → %q at audio position %.3f s, the new track starts at %.3f s of the stream here: title %.0f ms after the audio (%v after the server's started_at, waited %v)",
		before, after, ch.Pos, boundary, -early*1000, time.UnixMilli(int64(ch.At)).Sub(heard).Round(time.Millisecond), changedAfter.Round(time.Millisecond))
	// The server decides per published block, and the burst starts on a
	// block: allow one block and a little.
	if limit := r.publish.Seconds() + 0.1; early > limit {
		t.Errorf("title changed %.0f ms before this browser played the new track", early*1000)
	}
	if got := eval[int](t, b, `__t.loads`); got != loads {
		t.Errorf("the audio element reloaded %d times during a title change", got-loads)
	}
	t1 := eval[float64](t, b, `document.getElementById('audio').currentTime`)
	b.wait(t, 5*time.Second, "audio still advancing", func(st pageState) bool { return st.Time > t1+0.5 && !st.Paused })

	// Screenshots: light (the README's, when asked for) and dark.
	b.colorScheme(t, "light")
	png := b.screenshot(t, filepath.Join(arts, "web-player-light.png"))
	if os.Getenv("AUDIO_STREAMER_UPDATE_DOCS") == "1" {
		if len(png) > 200<<10 {
			t.Errorf("screenshot is %d KB, the README's must stay under 200 KB", len(png)>>10)
		} else if err := os.WriteFile(filepath.Join("..", "..", "docs", "web-player.png"), png, 0o644); err != nil {
			t.Error(err)
		}
	}
	b.colorScheme(t, "dark")
	b.screenshot(t, filepath.Join(arts, "web-player-dark.png"))
	b.colorScheme(t, "light")
	b.log.checkNoErrors(t, "playing /")
	step("title changed, screenshots")

	// 4. The network drops: the page says so, and comes back by itself.
	srcBefore := st.Src
	proxy.setDown(true)
	dropped := time.Now()
	b.wait(t, 20*time.Second, `"Reconnecting…"`, func(st pageState) bool { return strings.HasPrefix(st.Status, "Reconnecting…") })
	noticed := time.Since(dropped)
	proxy.setDown(false)
	st = b.wait(t, 20*time.Second, "playback back after the network returned", func(st pageState) bool {
		return playing("/", 0.5)(st) && st.Src != srcBefore && st.Status == ""
	})
	t.Logf("network cut: \"Reconnecting…\" after %v, playing again %v after the cut", noticed.Round(time.Millisecond), time.Since(dropped).Round(time.Millisecond))
	step("reconnected")

	// 5. Another station's button stops the first: one stream at a time.
	eval[chromedp.Void](t, b, `__t.playing = __t.progress = 0`)
	b.do(t, "press play on /humor", chromedp.Click(playButton("/humor")))
	st = b.wait(t, 15*time.Second, "/humor playing", playing("/humor", 1))
	firstAudio = eval[[2]float64](t, b, `[__t.playing - __t.click, __t.progress - __t.click]`)
	t.Logf("switch to /humor (default burst): click → 'playing' %.0f ms, → currentTime > 0 %.0f ms", firstAudio[0], firstAudio[1])
	if st.Rows["/"].Pressed || st.Media != 1 {
		t.Errorf("after switching: / pressed %v, %d media elements", st.Rows["/"].Pressed, st.Media)
	}
	testmedia.PollUntil(t, 10*time.Second, "the server to see the listener move", func() bool {
		return r.stations["/"].Stats().Listeners == 0 && r.stations["/humor"].Stats().Listeners == 1
	})
	if got, want := st.Rows["/humor"].Track, r.nowPlaying(t, "/humor").Track; got != want {
		t.Errorf("/humor shows %q, server says %q", got, want)
	}
	step("switched")

	// 6. Pause: the audio stops and the connection is let go.
	b.do(t, "press pause on /humor", chromedp.Click(playButton("/humor")))
	b.wait(t, 5*time.Second, "paused", func(st pageState) bool {
		return st.Paused && !st.Rows["/humor"].Pressed && st.Status == "Paused"
	})
	testmedia.PollUntil(t, 10*time.Second, "the server to see the listener leave", func() bool {
		return r.stations["/humor"].Stats().Listeners == 0
	})
	step("paused")

	// 7. Keyboard: Tab reaches the play buttons with a visible focus ring,
	// Space plays and pauses.
	b.do(t, "focus the link of /", chromedp.Focus(chromedp.CSS(`li[data-route="/"] .meta a`)))
	b.do(t, "shift+tab", chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
	st = b.wait(t, 2*time.Second, "focus on the first play button", func(st pageState) bool { return st.Focused == "/ BUTTON" })
	ring := eval[string](t, b, `(() => { const f = document.activeElement; return f.matches(':focus-visible') ? getComputedStyle(f).outlineStyle : 'not focus-visible'; })()`)
	if ring == "none" || ring == "not focus-visible" {
		t.Errorf("focused play button has no visible focus ring (%s)", ring)
	}
	b.do(t, "space", chromedp.KeyEvent(" "))
	b.wait(t, 15*time.Second, "/ playing from the keyboard", playing("/", 0.5))
	b.do(t, "space", chromedp.KeyEvent(" "))
	b.wait(t, 5*time.Second, "paused from the keyboard", func(st pageState) bool { return st.Paused && !st.Rows["/"].Pressed })
	step("keyboard")

	// 8. A station that answers 503 is retried with backoff, not hammered.
	b.do(t, "press play on /empty", chromedp.Click(playButton("/empty")))
	b.wait(t, 10*time.Second, `"Reconnecting…" for /empty`, func(st pageState) bool { return strings.HasPrefix(st.Status, "Reconnecting…") })
	testmedia.PollUntil(t, 15*time.Second, "three tries of /empty", func() bool { return len(b.log.attempts("/empty?t=")) >= 3 })
	tries := b.log.attempts("/empty?t=")
	if gap := tries[2].at.Sub(tries[0].at); gap < 2500*time.Millisecond {
		t.Errorf("three tries of a 503 station within %v: no backoff", gap)
	} else {
		t.Logf("tries of the 503 station at +0, +%v, +%v", tries[1].at.Sub(tries[0].at).Round(time.Millisecond), gap.Round(time.Millisecond))
	}
	b.do(t, "press stop on /empty", chromedp.Click(playButton("/empty")))
	b.wait(t, 5*time.Second, "/empty stopped", func(st pageState) bool { return !st.Rows["/empty"].Pressed && st.Status == "Paused" })
	b.log.checkNoErrors(t, "switching, pausing, retrying")
	step("503 backoff")

	// 9. ?autoplay=1 where the browser refuses (a typed address, no gesture
	// yet): the page asks for a press and focuses the preselected station;
	// one key press plays. After a gesture, a same-site link with
	// ?autoplay=1 starts by itself; muted=1 starts anyway, Unmute brings sound.
	b.do(t, "type /web?station=humor&autoplay=1", chromedp.Navigate(base+"/web?station=humor&autoplay=1"))
	st = b.wait(t, 10*time.Second, "autoplay refused", func(st pageState) bool { return strings.HasPrefix(st.Status, "Press play") })
	if !st.Paused || !st.Rows["/humor"].Current || st.Focused != "/humor BUTTON" {
		t.Errorf("autoplay refused: paused %v, /humor row %+v, focus %q", st.Paused, st.Rows["/humor"], st.Focused)
	}
	b.do(t, "space", chromedp.KeyEvent(" "))
	b.wait(t, 15*time.Second, "/humor playing after one key press", playing("/humor", 0.5))
	eval[chromedp.Void](t, b, `location.assign('/web?station=/humor&autoplay=1')`)
	b.wait(t, 15*time.Second, "autoplay of /humor after a gesture", func(st pageState) bool {
		return playing("/humor", 0.5)(st) && st.Rows["/humor"].Current && !st.Muted
	})
	b.do(t, "open /web?station=humor&autoplay=1&muted=1", chromedp.Navigate(base+"/web?station=humor&autoplay=1&muted=1"))
	b.wait(t, 15*time.Second, "muted autoplay of /humor", func(st pageState) bool {
		return playing("/humor", 0.5)(st) && st.Muted && st.Unmute
	})
	b.do(t, "unmute", chromedp.Click(chromedp.ID("unmute")))
	b.wait(t, 5*time.Second, "unmuted and still playing", func(st pageState) bool {
		return !st.Muted && !st.Unmute && playing("/humor", 0.5)(st)
	})
	b.log.checkNoErrors(t, "autoplay")
	step("autoplay")

	// 10. A station's own address plays in the browser too.
	b.do(t, "open /humor", chromedp.Navigate(base+"/humor"))
	type media struct {
		Found  bool    `json:"found"`
		Paused bool    `json:"paused"`
		Time   float64 `json:"time"`
	}
	waitEval(t, b, 15*time.Second, "/humor opened directly to play",
		`(() => { const m = document.querySelector('video, audio'); return m ? { found: true, paused: m.paused, time: m.currentTime } : { found: false }; })()`,
		func(m media) bool { return m.Found && !m.Paused && m.Time > 1.5 })
	step("direct route")

	// 11. When /events keeps failing, or EventSource is missing, the page
	// polls /streams instead.
	block := func(patterns ...*network.BlockPattern) {
		if _, err := chromedp.Call(b.ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: patterns}); err != nil {
			t.Fatal(err)
		}
	}
	block(&network.BlockPattern{URLPattern: base + "/events", Block: true})
	b.do(t, "open /web with /events failing", chromedp.Navigate(base+"/web"))
	sseFailed := time.Now()
	b.wait(t, 15*time.Second, "polling after repeated /events errors", func(st pageState) bool {
		return len(st.Rows) == 3 && st.Conn == "Updating every 10 s"
	})
	t.Logf("/events failing: polling after %v", time.Since(sseFailed).Round(time.Millisecond))
	block()
	if _, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `delete window.EventSource;`,
	}); err != nil {
		t.Fatal(err)
	}
	b.do(t, "open /web?station=/humor without EventSource", chromedp.Navigate(base+"/web?station=/humor"))
	st = b.wait(t, 10*time.Second, "stations by polling", func(st pageState) bool {
		return len(st.Rows) == 3 && st.Conn == "Updating every 10 s"
	})
	if got, want := st.Rows["/humor"].Track, humor[0].display(); got != want {
		t.Errorf("polled /humor shows %q, want %q", got, want)
	}
	// Preselected without autoplay: marked, focused, silent.
	if !st.Rows["/humor"].Current || st.Focused != "/humor BUTTON" || !st.Paused || st.Rows["/humor"].Pressed {
		t.Errorf("?station=/humor: row %+v, focus %q, paused %v", st.Rows["/humor"], st.Focused, st.Paused)
	}
	b.log.checkNoErrors(t, "polling fallback")
	step("polling fallback")
}
