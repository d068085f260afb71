package relay_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/server"
	"github.com/aposazhennikov/stream-audio-to-web/internal/station"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// startStreamer runs another audio-streamer on loopback: one station at
// route playing "Upstream - Song 1" and "Upstream - Song 2", built and
// served the way the process does it. legacy makes it answer "ICY 200 OK".
func startStreamer(t *testing.T, route string, legacy bool) (addr string, st *station.Station) {
	t.Helper()
	dir := t.TempDir()
	for i := range 2 {
		testmedia.WriteFile(t, dir, fmt.Sprintf("%d.mp3", i),
			testmedia.ID3v2("Upstream", fmt.Sprintf("Song %d", i+1), 0), testmedia.Frames(400))
	}
	// Load's defaults for the "/" station, moved to route and dir.
	cfg, err := config.Load(nil, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfg.PublishInterval = 50 * time.Millisecond
	set := cfg.Stations[0]
	set.Route, set.Dir, set.Shuffle = route, dir, false
	set.Name, set.Genre, set.LegacyICYStatus = "Other Streamer", "Relayed", legacy
	st, err = station.Build(cfg, set, station.Deps{Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	st.Start(ctx)
	t.Cleanup(func() {
		cancel()
		st.Wait()
	})
	wctx, wcancel := context.WithTimeout(ctx, wait)
	defer wcancel()
	if err := st.WaitReady(wctx); err != nil {
		t.Fatalf("upstream station not ready: %v", err)
	}
	srv := &server.Server{Stations: []server.Station{st}}
	return testmedia.ServeLoopback(t, srv.Serve), st
}

// TestAnotherStreamer relays a station of another audio-streamer, with
// its HTTP/1.0 head and with the legacy "ICY 200 OK" one.
func TestAnotherStreamer(t *testing.T) {
	t.Parallel()
	for _, legacy := range []bool{false, true} {
		t.Run(fmt.Sprintf("legacy=%v", legacy), func(t *testing.T) {
			addr, up := startStreamer(t, "/music", legacy)
			rc := startReceiver(t, "http://"+addr+"/music", 5*time.Second)
			var ls []*listener
			for range 3 {
				ls = append(ls, rc.listen(t))
			}
			isUpstream := func(s string) bool { return s == "Upstream - Song 1" || s == "Upstream - Song 2" }
			rc.waitTrack(t, 0, "with the upstream's title", isUpstream)
			for i, l := range ls {
				l.waitFor(t, fmt.Sprintf("listener %d to hear the upstream title", i), func(_ int, titles []string) bool {
					return slices.ContainsFunc(titles, isUpstream)
				})
			}
			n := ls[0].count()
			ls[0].waitFor(t, "relayed frames", func(frames int, _ []string) bool { return frames > n+60 })
			if got := up.Listeners(); got != 1 {
				t.Errorf("upstream station has %d listeners, want 1 (the relay) for our %d", got, len(ls))
			}
			if info := rc.live.Status().Info; info.Name != "Other Streamer" || info.Genre != "Relayed" {
				t.Errorf("stream info %+v", info)
			}
			if st := rc.relay.Status(); !st.Connected || st.Failures != 0 {
				t.Errorf("relay status %+v", st)
			}
		})
	}
}

// TestStalledUpstream: an upstream that stops sending without closing is
// ended by the LiveSource's timeout; the folder plays meanwhile, and the
// relay connects again.
func TestStalledUpstream(t *testing.T) {
	t.Parallel()
	conns := make(chan int, 8)
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		conns <- int(n.Add(1))
		w.Header().Set("Content-Type", "audio/mpeg")
		w.Header().Set("icy-metaint", "4000")
		w.WriteHeader(http.StatusOK)
		// Two seconds of audio titled "Stalling - Now" at once, then silence
		// on an open connection.
		_, _ = w.Write(icyStream(testmedia.Frames(77), 4000, "Stalling - Now"))
		w.(http.Flusher).Flush()
		<-req.Context().Done()
	}))
	t.Cleanup(srv.Close)
	rc := startReceiver(t, srv.URL+"/stall", 500*time.Millisecond)
	l := rc.listen(t)
	recv(t, conns, "the first connection")
	at := rc.waitTrack(t, 0, "from the upstream", func(s string) bool { return s == "Stalling - Now" })
	rc.waitTrack(t, at+1, "from the folder after the stall", isFolder)
	recv(t, conns, "the connection after the stall")
	// LastError is cleared again once the reconnect lands; Failures stays.
	if st := rc.relay.Status(); st.Failures == 0 {
		t.Errorf("relay status after a stall %+v", st)
	}
	m := l.count()
	l.waitFor(t, "frames after the stall", func(frames int, _ []string) bool { return frames > m+40 })
}

// icyStream interleaves audio with one title block after the first
// metaint bytes and empty blocks after that.
func icyStream(audio []byte, metaint int, title string) []byte {
	var out []byte
	for i := 0; i < len(audio); i += metaint {
		out = append(out, audio[i:min(i+metaint, len(audio))]...)
		if i+metaint > len(audio) {
			break
		}
		if i == 0 {
			out = append(out, icy.MetaBlock(title, icy.UTF8)...)
		} else {
			out = append(out, 0)
		}
	}
	return out
}

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}
