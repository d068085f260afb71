package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// hlsTestPage plays the playlist at ?src= with the vendored hls.js and
// keeps what the test reads in window.state: the titles of the timed ID3
// tags hls.js reports (FRAG_PARSING_METADATA) with their times, the title
// at the playback position, and hls.js's errors.
const hlsTestPage = `<!doctype html><meta charset="utf-8"><title>hls.js</title>
<audio id="a"></audio>
<script src="/hls.light.min.js"></script>
<script>
const state = window.state = { tags: [], errors: [], titles: [], now: '', time: 0, paused: true, waiting: 0 };
// TIT2 of an ID3v2.4 tag (UTF-8 text), or ''.
function tit2(d) {
  let i = 10;
  const size = b => (b[0] << 21) | (b[1] << 14) | (b[2] << 7) | b[3];
  while (i + 10 <= d.length) {
    const id = String.fromCharCode(d[i], d[i+1], d[i+2], d[i+3]), n = size(d.subarray(i + 4, i + 8));
    if (id === 'TIT2') return new TextDecoder().decode(d.subarray(i + 11, i + 10 + n));
    i += 10 + n;
  }
  return '';
}
const a = document.getElementById('a');
const hls = new Hls({ enableWorker: false });
hls.on(Hls.Events.FRAG_PARSING_METADATA, (_, d) => {
  for (const s of d.samples) state.tags.push({ pts: s.pts, title: tit2(s.data) });
});
hls.on(Hls.Events.ERROR, (_, d) => state.errors.push(d.type + ' ' + d.details + (d.fatal ? ' fatal' : '')));
a.addEventListener('waiting', () => { if (state.time > 0) state.waiting++; });
a.addEventListener('timeupdate', () => {
  state.time = a.currentTime; state.paused = a.paused; state.latency = hls.latency;
  let now = '';
  for (const t of state.tags) if (t.pts <= a.currentTime + 0.05) now = t.title;
  if (now !== state.now) { state.now = now; state.titles.push(now); }
});
hls.loadSource(new URLSearchParams(location.search).get('src'));
hls.attachMedia(a);
a.play().catch(e => state.errors.push('play: ' + e));
</script>`

// hlsPageState is window.state.
type hlsPageState struct {
	Errors  []string `json:"errors"`
	Titles  []string `json:"titles"`
	Now     string   `json:"now"`
	Time    float64  `json:"time"`
	Paused  bool     `json:"paused"`
	Waiting int      `json:"waiting"`
	Latency float64  `json:"latency"` // hls.js's estimate: seconds behind the newest audio listed
}

// hlsJSPath is hls.js, vendored from npm with its licence.
const hlsJSPath = "../hls/testdata/hls.light.min.js"

// hls.js in headless Chromium plays the stream, from a page on another
// origin (CORS), continuously across track changes, and the title it
// reads from the timed ID3 tags follows the audio.
func TestHLSJSPlaysInChromium(t *testing.T) {
	testmedia.RequireTool(t, "chromium") // before the server starts: fail fast
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	h, hs := hlsRadio(t, ffmpeg)
	waitForTitles(t, hs, "Low", "High")

	hlsJS, err := os.ReadFile(hlsJSPath)
	if err != nil {
		t.Fatal(err)
	}
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hls.light.min.js" {
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = w.Write(hlsJS)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(hlsTestPage))
	}))
	t.Cleanup(page.Close)

	ctx := startHLSBrowser(t)
	src := h.url("/hls-test/%D1%80%D0%B0%D0%B4%D0%B8%D0%BE.m3u8")
	if err := chromedp.Do(ctx, chromedp.Navigate(page.URL+"/?src="+src)); err != nil {
		t.Fatal(err)
	}
	// Tracks are 5 s: 14 s of playback crosses at least two changes.
	st := waitHLSPage(t, ctx, 45*time.Second, func(st hlsPageState) bool {
		return st.Time > 14 && len(st.Titles) >= 3
	})
	if st.Paused || st.Waiting > 0 {
		t.Errorf("playback paused or waited for data %d times: %+v", st.Waiting, st)
	}
	t.Logf("hls.js: %.1f s played, %.1f s behind the playlist's live edge, titles %q", st.Time, st.Latency, st.Titles)
	for i, title := range st.Titles {
		if title != "Low" && title != "High" || i > 0 && title == st.Titles[i-1] {
			t.Errorf("titles as heard: %q", st.Titles)
			break
		}
	}
}

// startHLSBrowser runs headless Chromium that may play audio without a
// click, and fails the test on an exception or error the page logs.
func startHLSBrowser(t *testing.T) context.Context {
	t.Helper()
	var mu sync.Mutex
	var problems []string
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if len(problems) > 0 {
			t.Errorf("page errors:\n%s", strings.Join(problems, "\n"))
		}
	})
	return testmedia.StartChromium(t, 1000, 700, func(ev any) {
		if ev, ok := ev.(*cdpruntime.EventExceptionThrown); ok {
			mu.Lock()
			problems = append(problems, ev.ExceptionDetails.Text)
			mu.Unlock()
		}
	}, chromedp.Flag("autoplay-policy", "no-user-gesture-required"))
}

// waitHLSPage reads window.state every 100 ms until cond holds; an hls.js
// error fails the test at once.
func waitHLSPage(t *testing.T, ctx context.Context, limit time.Duration, cond func(hlsPageState) bool) hlsPageState {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		st, err := chromedp.Run(ctx, chromedp.Evaluate[hlsPageState](`window.state || {}`))
		if err == nil && len(st.Errors) > 0 {
			t.Fatalf("hls.js errors: %q (state %+v)", st.Errors, st)
		}
		if err == nil && cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v; page state %+v (%v)", limit, st, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
