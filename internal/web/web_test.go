package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/server"
	"github.com/aposazhennikov/stream-audio-to-web/internal/station"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/internal/web"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// TestPageIsSelfContained checks what a browser test cannot see failing:
// nothing is fetched from elsewhere, and titles never go through innerHTML.
func TestPageIsSelfContained(t *testing.T) {
	pg := web.Render(web.Branding{})
	p := string(pg.HTML)
	// Page weight: the whole page (HTML, style and script) in one file.
	t.Logf("page weight: %d bytes", len(p))
	if len(p) > 48<<10 {
		t.Errorf("page is %d bytes, keep it under 48 KiB", len(p))
	}
	for _, want := range []string{
		`<meta name="viewport"`, `<audio id="audio" preload="none">`, `aria-live="polite"`, `role="status"`,
		`aria-pressed`, `prefers-color-scheme: dark`, `new EventSource(`, `fetch(at('streams')`, `:focus-visible`,
		`system-ui`, `'?t=' + Date.now()`, `<title>audio-streamer</title>`, `--brand: #c2410c; --on-brand: #fff;`,
		`localStorage`, `artwork:`, `history?route=`,
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
	if strings.Contains(p, "{{") {
		t.Error("page has a placeholder left")
	}
	if !strings.HasSuffix(pg.CSP, "; frame-ancestors 'none'") || !strings.HasSuffix(pg.EmbedCSP, "; frame-ancestors *") {
		t.Errorf("CSP %q, embed CSP %q", pg.CSP, pg.EmbedCSP)
	}
}

// TestRenderBranding checks that branding reaches the page as text, never
// as markup, and that the accent colour gets readable text on it.
func TestRenderBranding(t *testing.T) {
	p := web.Render(web.Branding{Name: `Radio "<b>Ёлка</b>"`, Description: "Songs & <i>snow</i>", Accent: "#fde047",
		Logo: "/art/0123", HideListeners: true})
	h := string(p.HTML)
	for _, want := range []string{
		`<title>Radio &#34;&lt;b&gt;Ёлка&lt;/b&gt;&#34;</title>`, `<h1 id="brand">Radio &#34;&lt;b&gt;Ёлка&lt;/b&gt;&#34;</h1>`,
		`<p id="tagline">Songs &amp; &lt;i&gt;snow&lt;/i&gt;</p>`, `data-logo="/art/0123"`, `data-hide-listeners=""`,
		`--brand: #fde047; --on-brand: #111;`, `<meta name="theme-color" content="#fde047">`,
	} {
		if !strings.Contains(h, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(h, "<b>") || strings.Contains(h, "<i>") {
		t.Error("branding went into the page as markup")
	}
	// A colour that is not #rrggbb never reaches the style.
	if h := string(web.Render(web.Branding{Accent: "red;}body{display:none"}).HTML); !strings.Contains(h, "--brand: #c2410c;") || strings.Contains(h, "red;}") {
		t.Error("an invalid accent reached the page")
	}
	// The main style's hash does not depend on the colour.
	a, b := web.Render(web.Branding{}).CSP, web.Render(web.Branding{Accent: "#123456"}).CSP
	if a == b {
		t.Error("the policy does not follow the accent's style block")
	}
}

// tone is one generated test track; cover, if set, is the colour of the
// picture embedded in it.
type tone struct {
	file, artist, title string
	hz                  int
	secs                float64
	cover               color.RGBA
}

func (tn tone) display() string { return tn.artist + " - " + tn.title }

var (
	lounge = []tone{
		{"01.mp3", "The Sine Waves", "Four Forty", 440, 5, color.RGBA{0xe1, 0x1d, 0x48, 255}},
		{"02.mp3", "Квинта", "Шестьсот шестьдесят", 660, 5, color.RGBA{0x25, 0x63, 0xeb, 255}},
	}
	humor = []tone{{"01.mp3", "Юморист", "Анекдот про кота", 330, 8, color.RGBA{}}}
)

// writePNG writes a square picture fading from c to a darker shade.
func writePNG(t *testing.T, path string, c color.RGBA) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 96, 96))
	for y := range 96 {
		for x := range 96 {
			f := 1 - float64(x+y)/400
			img.Set(x, y, color.RGBA{uint8(float64(c.R) * f), uint8(float64(c.G) * f), uint8(float64(c.B) * f), 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// radio is a running audio-streamer: the stations main's buildStations
// would build from a config file, on a loopback port.
type radio struct {
	addr     string
	stations map[string]*station.Station
	publish  time.Duration
	covers   map[string]string // a track's display title → its cover's hash
}

func startRadio(t *testing.T, ffmpeg string) *radio {
	t.Helper()
	root := t.TempDir()
	r := &radio{stations: map[string]*station.Station{}, covers: map[string]string{}}
	dirs := map[string][]tone{"lounge": lounge, "humor": humor, "empty": nil}
	for name, tones := range dirs {
		dir := filepath.Join(root, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, tn := range tones {
			args := []string{"-hide_banner", "-loglevel", "error", "-nostdin",
				"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%d:duration=%g:sample_rate=44100", tn.hz, tn.secs)}
			if tn.cover.A != 0 {
				// The cover as an ID3v2 APIC frame, as taggers write it.
				cover := filepath.Join(root, name+tn.file+".png")
				writePNG(t, cover, tn.cover)
				args = append(args, "-i", cover, "-map", "0:a", "-map", "1:v", "-c:v", "copy", "-disposition:v", "attached_pic",
					"-id3v2_version", "3", "-metadata:s:v", "title=Album cover", "-metadata:s:v", "comment=Cover (front)")
			}
			args = append(args, "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k",
				"-metadata", "artist="+tn.artist, "-metadata", "title="+tn.title, filepath.Join(dir, tn.file))
			if out, err := exec.Command(ffmpeg, args...).CombinedOutput(); err != nil {
				t.Fatalf("ffmpeg: %v\n%s", err, out)
			}
			if tn.cover.A != 0 {
				art, ok := playlist.ReadArt(filepath.Join(dir, tn.file))
				if !ok {
					t.Fatalf("%s/%s: ffmpeg wrote no cover", name, tn.file)
				}
				r.covers[tn.display()] = art.Hash
			}
		}
	}
	// The branding: a logo, and a picture for /humor, whose track has none.
	logo, humorImage := filepath.Join(root, "logo.png"), filepath.Join(root, "humor.png")
	writePNG(t, logo, color.RGBA{0x0f, 0x76, 0x6e, 255})
	writePNG(t, humorImage, color.RGBA{0x16, 0xa3, 0x4a, 255})
	// "/" starts listeners 1 s behind live so its titles change soon after a
	// press; the others keep the default burst (64 KiB, 4 s at 128 kbit/s).
	toml := fmt.Sprintf(`server_name = "Radio Sine"
server_description = "Pure tones since 1822"
logo = %q
accent_color = "#0f766e"

[[station]]
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
description = "Jokes around the clock, in Russian"
image = %q
shuffle = false

[[station]]
route = "/empty"
dir = %q
name = "Night Shift"
genre = "Jazz"
`, logo, filepath.Join(root, "lounge"), filepath.Join(root, "humor"), humorImage, filepath.Join(root, "empty"))
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
	r.publish = cfg.PublishInterval
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
	// As main builds it from the configuration.
	srv := &server.Server{ServerID: "audio-streamer", LogoFile: cfg.Logo, Branding: web.Branding{
		Name: cfg.ServerName, Description: cfg.ServerDescription, Accent: cfg.AccentColor, HideListeners: !cfg.ShowListeners}}
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
		// Nor is /web refused in another site's frame (the embed test
		// checks that it is).
		if ev.Entry.Level == cdplog.EntryLevelError && ev.Entry.Source != cdplog.EntrySourceNetwork &&
			!strings.Contains(ev.Entry.Text, "frame-ancestors 'none'") {
			l.errors = append(l.errors, msg)
		}
	case *network.EventRequestWillBeSent:
		if strings.Contains(ev.Request.URL, "?t=") || strings.HasSuffix(ev.Request.URL, ".m3u8") {
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

// startSite serves page as another web site (another origin: its own
// port) and returns its address.
func startSite(t *testing.T, body string) string {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(ts.Close)
	// localhost, where the radio is 127.0.0.1: another site, so Chromium
	// runs the frame in a process of its own as for any real embed.
	return strings.Replace(ts.URL, "127.0.0.1", "localhost", 1)
}

// refusedFrames are the browser's messages about pages it would not show
// in a frame.
func (l *browserLog) refusedFrames() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, m := range l.messages {
		if strings.Contains(m, "frame-ancestors 'none'") && strings.Contains(m, "blocked") {
			out = append(out, m)
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
func startBrowser(t *testing.T) *browser {
	t.Helper()
	log := &browserLog{}
	t.Cleanup(func() { // runs after the browser stopped
		if t.Failed() {
			log.mu.Lock()
			t.Logf("browser messages:\n%s", strings.Join(log.messages, "\n"))
			log.mu.Unlock()
		}
	})
	return &browser{ctx: testmedia.StartChromium(t, 1000, 700, log.listen), log: log}
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
	// The focused station at the top, the history, the volume, branding.
	Brand       string   `json:"brand"`
	Tagline     string   `json:"tagline"`
	HeroStation string   `json:"heroStation"`
	HeroTitle   string   `json:"heroTitle"`
	HeroDesc    string   `json:"heroDesc"`
	Art         string   `json:"art"`
	History     []string `json:"history"`
	Volume      float64  `json:"volume"`
	AudioVolume float64  `json:"audioVolume"`
	Path        string   `json:"path"`
}

type rowState struct {
	Name      string `json:"name"`
	Track     string `json:"track"`
	Listeners string `json:"listeners"`
	Pressed   bool   `json:"pressed"`
	Label     string `json:"label"`
	Current   bool   `json:"current"`
	Thumb     string `json:"thumb"`
}

const stateJS = `(() => {
  const a = document.getElementById('audio'), rows = {}, order = [];
  if (!a || document.readyState === 'loading') return { paused: true, rows }; // mid-navigation
  for (const li of document.querySelectorAll('#list li')) {
    const b = li.querySelector('button.play');
    order.push(li.dataset.route);
    rows[li.dataset.route] = { name: li.querySelector('.name').textContent, track: li.querySelector('.track').textContent,
      listeners: li.querySelector('.listeners').textContent, pressed: b.getAttribute('aria-pressed') === 'true',
      label: b.getAttribute('aria-label') || '', current: li.getAttribute('aria-current') === 'true',
      thumb: li.querySelector('.thumb').getAttribute('src') || '' };
  }
  const f = document.activeElement;
  return { paused: a.paused, time: a.currentTime, src: a.getAttribute('src') || '', muted: a.muted,
    status: document.getElementById('status').textContent, conn: document.getElementById('conn').textContent,
    now: document.getElementById('now').textContent, unmute: !document.getElementById('unmute').hidden,
    media: document.querySelectorAll('audio, video').length,
    focused: f && f.closest('li') ? f.closest('li').dataset.route + ' ' + f.tagName : '', rows, order,
    brand: document.getElementById('brand').textContent, tagline: document.getElementById('tagline').textContent,
    heroStation: document.getElementById('hero-station').textContent, heroTitle: document.getElementById('hero-title').textContent,
    heroDesc: document.getElementById('hero-desc').textContent, art: document.getElementById('art').getAttribute('src') || '',
    history: [...document.querySelectorAll('#history li')].map((li) => (li.className === 'now' ? '* ' : '') + li.textContent),
    volume: +document.getElementById('volume').value, audioVolume: a.volume, path: location.pathname + location.search };
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
	return b.capture(t, path, chromedp.FullScreenshot(100))
}

// capture saves what shot takes (the full page, or the viewport as a
// person sees it).
func (b *browser) capture(t *testing.T, path string, shot chromedp.Action[[]byte]) []byte {
	t.Helper()
	png, err := chromedp.Run(b.ctx, shot)
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
	testmedia.RequireTool(t, "chromium") // before the server starts: fail fast
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	r := startRadio(t, ffmpeg)
	proxy := startProxy(t, r.addr)
	base := "http://" + proxy.ln.Addr().String()
	b := startBrowser(t)
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
	if want := []string{"/", "/humor", "/empty"}; !slices.Equal(st.RowsOrder, want) {
		t.Errorf("stations listed as %q, want %q (configuration order)", st.RowsOrder, want)
	}
	// Branding: name, line, logo, accent colour; the first station on top.
	if st.Brand != "Radio Sine" || st.Tagline != "Pure tones since 1822" || st.HeroStation != "Lounge" {
		t.Errorf("branding: %q, %q; top station %q", st.Brand, st.Tagline, st.HeroStation)
	}
	type look struct {
		Logo   int    `json:"logo"`
		Accent string `json:"accent"`
		Title  string `json:"title"`
	}
	lk := waitEval(t, b, 5*time.Second, "the logo loaded", `(() => ({ logo: document.getElementById('logo').naturalWidth,
  accent: getComputedStyle(document.getElementById('hero-play')).backgroundColor, title: document.title }))()`,
		func(l look) bool { return l.Logo > 0 })
	if lk.Logo != 96 || lk.Accent != "rgb(15, 118, 110)" || lk.Title != "Radio Sine" {
		t.Errorf("logo %d px wide, accent %s, title %q", lk.Logo, lk.Accent, lk.Title)
	}
	// Pictures: /humor's own image (its track has none), /empty's
	// generated one, each by content at /art/<hash>.
	for route, want := range map[string]string{"/humor": "image/png", "/empty": "image/svg+xml"} {
		thumb := st.Rows[route].Thumb
		if !strings.HasPrefix(thumb, "/art/") {
			t.Errorf("%s thumbnail %q", route, thumb)
			continue
		}
		resp, err := http.Get("http://" + r.addr + thumb)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || got != want {
			t.Errorf("%s thumbnail %s: %d %s, want %s", route, thumb, resp.StatusCode, got, want)
		}
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
  const tr = document.querySelector('li[data-route="/"] .track'), art = document.getElementById('art');
  const cover = () => { const m = navigator.mediaSession.metadata; return m && m.artwork.length ? m.artwork[0].src : ''; };
  new MutationObserver(() => __t.titles.push({ at: Date.now(), text: tr.textContent, pos: a.currentTime, join: __t.loadAt,
    art: art.getAttribute('src'), cover: cover() })).observe(tr, { childList: true, characterData: true, subtree: true });
  __t.arts = [];
  new MutationObserver(() => __t.arts.push({ text: tr.textContent, art: art.getAttribute('src') }))
    .observe(art, { attributes: true, attributeFilter: ['src'] });
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
		At    float64 `json:"at"`
		Text  string  `json:"text"`
		Pos   float64 `json:"pos"`
		Join  float64 `json:"join"`
		Art   string  `json:"art"`
		Cover string  `json:"cover"`
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
	// The cover changed with the title, not before: in the same update,
	// on the page and on the lock screen (Media Session).
	if want := "/art/" + r.covers[after]; ch.Art != want || !strings.HasSuffix(ch.Cover, want) {
		t.Errorf("at the title change to %q: cover %q, lock screen %q, want %q", after, ch.Art, ch.Cover, want)
	}
	type artChange struct {
		Text string `json:"text"`
		Art  string `json:"art"`
	}
	artChanges := eval[[]artChange](t, b, `__t.arts`)
	if len(artChanges) == 0 {
		t.Error("the cover never changed")
	}
	for _, a := range artChanges {
		if a.Art != "/art/"+r.covers[a.Text] {
			t.Errorf("cover %q shown while the title was %q (its cover: %q)", a.Art, a.Text, r.covers[a.Text])
		}
	}
	// Recently played: both tracks with their times, the one playing first.
	st = b.wait(t, 5*time.Second, "both tracks in the history", func(st pageState) bool {
		return len(st.History) >= 2 && strings.HasPrefix(st.History[0], "* ") && strings.HasSuffix(st.History[0], after) &&
			strings.HasSuffix(st.History[1], before)
	})
	if !regexp.MustCompile(`^\* \d{1,2}:\d{2}`).MatchString(st.History[0]) {
		t.Errorf("history entry %q has no time", st.History[0])
	}
	// Volume: the slider by keyboard sets the audio's volume.
	b.do(t, "focus the volume", chromedp.Focus(chromedp.ID("volume")))
	for range 4 {
		b.do(t, "arrow left", chromedp.KeyEvent(kb.ArrowLeft))
	}
	b.wait(t, 2*time.Second, "volume 0.8", func(st pageState) bool { return st.Volume == 0.8 && st.AudioVolume == 0.8 })
	t1 := eval[float64](t, b, `document.getElementById('audio').currentTime`)
	b.wait(t, 5*time.Second, "audio still advancing", func(st pageState) bool { return st.Time > t1+0.5 && !st.Paused })

	// Screenshots at 1280 and 390 px: light (the README's, when asked
	// for) and dark.
	for _, shot := range []struct {
		file string
		w, h int64
	}{{"web-player.png", 1280, 800}, {"web-player-mobile.png", 390, 844}} {
		b.do(t, "viewport", chromedp.EmulateViewport(shot.w, shot.h))
		if w := eval[int](t, b, `document.documentElement.scrollWidth`); w > int(shot.w) {
			t.Errorf("page is %d px wide at a %d px viewport", w, shot.w)
		}
		eval[chromedp.Void](t, b, `document.activeElement.blur()`)
		b.colorScheme(t, "light")
		png := b.capture(t, filepath.Join(arts, shot.file), chromedp.CaptureScreenshot())
		if os.Getenv("AUDIO_STREAMER_UPDATE_DOCS") == "1" {
			if len(png) > 300<<10 {
				t.Errorf("screenshot is %d KB, the README's must stay under 300 KB", len(png)>>10)
			} else if err := os.WriteFile(filepath.Join("..", "..", "docs", shot.file), png, 0o644); err != nil {
				t.Error(err)
			}
		}
		b.colorScheme(t, "dark")
		b.capture(t, filepath.Join(arts, strings.TrimSuffix(shot.file, ".png")+"-dark.png"), chromedp.CaptureScreenshot())
	}
	b.colorScheme(t, "light")
	b.do(t, "desktop viewport", chromedp.EmulateViewport(1000, 700))
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
	b.do(t, "focus the link of /", chromedp.Focus(chromedp.CSS(`li[data-route="/"] .name a`)))
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
	if st.Volume != 0.8 || st.AudioVolume != 0.8 {
		t.Errorf("volume after a reload: slider %v, audio %v, want 0.8 remembered", st.Volume, st.AudioVolume)
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

	// 11. /web/<route> opens on that station; picking another by its name
	// changes the address, so it can be shared.
	b.do(t, "open /web/humor", chromedp.Navigate(base+"/web/humor"))
	st = b.wait(t, 10*time.Second, "/humor on top", func(st pageState) bool {
		return st.Rows["/humor"].Current && st.HeroStation == "Юмор FM" && st.HeroTitle == humor[0].title
	})
	if st.HeroDesc != "Jokes around the clock, in Russian" || !st.Paused || st.Art != st.Rows["/humor"].Thumb {
		t.Errorf("/web/humor: description %q, paused %v, art %q (row %q)", st.HeroDesc, st.Paused, st.Art, st.Rows["/humor"].Thumb)
	}
	// Listen elsewhere: playlists, the stream's address, the embed snippet.
	b.do(t, "open the menu", chromedp.Click(chromedp.CSS(`#elsewhere summary`)))
	type menu struct {
		Open   bool     `json:"open"`
		Links  []string `json:"links"`
		Stream string   `json:"stream"`
		Embed  string   `json:"embed"`
	}
	mn := eval[menu](t, b, `(() => ({ open: document.getElementById('elsewhere').open,
  links: ['m3u', 'pls', 'xspf'].map((id) => document.getElementById(id).getAttribute('href')),
  stream: document.getElementById('stream-url').value, embed: document.getElementById('embed-code').value }))()`)
	if !mn.Open || !slices.Equal(mn.Links, []string{"/humor.m3u", "/humor.pls", "/humor.xspf"}) ||
		mn.Stream != "http://"+proxy.ln.Addr().String()+"/humor" || !strings.Contains(mn.Embed, `<iframe src="`+base+`/embed/humor"`) {
		t.Errorf("menu: %+v", mn)
	}
	b.do(t, "escape", chromedp.KeyEvent(kb.Escape))
	if eval[bool](t, b, `document.getElementById('elsewhere').open`) {
		t.Error("Escape left the menu open")
	}
	b.do(t, "pick /empty by its name", chromedp.Click(chromedp.CSS(`li[data-route="/empty"] .name a`)))
	b.wait(t, 5*time.Second, "/empty on top", func(st pageState) bool {
		return st.HeroStation == "Night Shift" && st.Path == "/web/empty" && st.Rows["/empty"].Current
	})
	b.log.checkNoErrors(t, "deep links")
	step("deep links")

	// 12. Another site embeds /embed/humor: it plays there, by keyboard;
	// /web in a frame is refused.
	site := startSite(t, `<!doctype html><title>A blog</title><h1>My blog</h1>
<iframe id="player" src="`+base+`/embed/humor" width="480" height="140" title="Radio"></iframe>
<iframe id="page" src="`+base+`/web" width="480" height="140" title="Page"></iframe>`)
	b.do(t, "open another site", chromedp.Navigate(site))
	// The embed runs in a process of its own (another site): attach to it.
	var frame target.ID
	testmedia.PollUntil(t, 10*time.Second, "the embed's frame", func() bool {
		list, err := chromedp.Targets(b.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, ti := range list {
			if ti.Type == "iframe" && ti.URL == base+"/embed/humor" {
				frame = ti.TargetID
			}
		}
		return frame != ""
	})
	fctx, cancelFrame := chromedp.NewContext(b.ctx, chromedp.WithTargetID(frame))
	defer cancelFrame()
	eb := &browser{ctx: fctx, log: b.log}
	type embedded struct {
		Label string `json:"label"`
		Title string `json:"title"`
		Art   string `json:"art"`
		Hero  bool   `json:"hero"`
		List  bool   `json:"list"`
	}
	em := waitEval(t, eb, 10*time.Second, "the embed showing /humor", `(() => ({ label: document.getElementById('hero-play').getAttribute('aria-label'),
  title: document.getElementById('hero-title').textContent, art: document.getElementById('art').getAttribute('src') || '',
  hero: document.getElementById('hero').getBoundingClientRect().height > 0, list: document.getElementById('list').getBoundingClientRect().height > 0 }))()`,
		func(e embedded) bool { return e.Label == "Play Юмор FM" })
	if em.Title != humor[0].display() || !strings.HasPrefix(em.Art, "/art/") || !em.Hero || em.List {
		t.Errorf("embed: %+v", em)
	}
	testmedia.PollUntil(t, 10*time.Second, "no listener of /humor before the embed plays", func() bool {
		return r.stations["/humor"].Stats().Listeners == 0
	})
	eb.do(t, "focus the embed's play button", chromedp.Focus(chromedp.ID("hero-play")))
	eb.do(t, "space", chromedp.KeyEvent(" "))
	testmedia.PollUntil(t, 15*time.Second, "the embed to play /humor", func() bool {
		return r.stations["/humor"].Stats().Listeners == 1
	})
	b.screenshot(t, filepath.Join(arts, "embed.png"))
	// Only /web says frame-ancestors 'none' (the embed's is *).
	if refused := b.log.refusedFrames(); len(refused) != 1 {
		t.Errorf("framing refused %d times, want once (/web): %q", len(refused), refused)
	}
	step("embed")

	// 13. When /events keeps failing, or EventSource is missing, the page
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
