package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// TestPageFallsBackFromHLS: a page told to play HLS itself (?hls=1, as
// Safari does by default) asks for the station's playlist first, and when
// the browser cannot play it (Chromium's own HLS player does not take
// packed MP3 segments, which Safari's and hls.js do) it plays the ICY
// stream instead.
func TestPageFallsBackFromHLS(t *testing.T) {
	testmedia.RequireTool(t, "chromium") // before the server starts: fail fast
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	r := startRadio(t, ffmpeg)
	b := startBrowser(t)
	b.do(t, "open /web?hls=1", chromedp.Navigate("http://"+r.addr+"/web?hls=1"))
	b.wait(t, 10*time.Second, "the stations", func(st pageState) bool { return len(st.Rows) == 3 && st.Conn == "Live" })
	b.do(t, "press play", chromedp.Click(playButton("/")))
	b.wait(t, 30*time.Second, "the ICY stream playing after HLS failed", playing("/", 1.5))
	asked := b.log.attempts("/listen.m3u8")
	if len(asked) == 0 {
		t.Fatal("the page never asked for the HLS playlist")
	}
	if icy := b.log.attempts("/?t="); len(icy) == 0 || !strings.Contains(icy[0].url, "?t=") {
		t.Fatalf("no ICY request after the HLS one: %+v", icy)
	}
}
