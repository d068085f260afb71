package relay_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/server"
	"github.com/aposazhennikov/stream-audio-to-web/internal/station"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// TestOnDemandRelayThroughTheServer: a station that is only an on-demand
// relay, configured and served as the process does it. Nobody listens, so
// the upstream sees no connection; the first listener waits while the
// relay connects, then hears the upstream; when it leaves, the relay
// disconnects and the upstream has no listener again.
func TestOnDemandRelayThroughTheServer(t *testing.T) {
	t.Parallel()
	upAddr, up := startStreamer(t, "/music", false)

	cfg, err := config.Load(nil, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfg.PublishInterval = 50 * time.Millisecond
	set := cfg.Stations[0]
	set.Route, set.Dir, set.LiveOnly = "/relayed", "", true
	set.Relay, set.OnDemand = "http://"+upAddr+"/music", true
	sts, err := station.BuildAll(&config.Config{
		FFmpegPath: cfg.FFmpegPath, BufferSize: cfg.BufferSize, PublishInterval: cfg.PublishInterval,
		WriteTimeout: cfg.WriteTimeout, Stations: []config.Station{set}, AudioDirSet: true,
	}, station.Deps{Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	st := sts[0]
	ctx, cancel := context.WithCancel(context.Background())
	st.Start(ctx)
	t.Cleanup(func() {
		cancel()
		st.Wait()
	})
	srv := &server.Server{Stations: []server.Station{st}}
	addr := testmedia.ServeLoopback(t, srv.Serve)

	if st.Ready() || up.Listeners() != 0 {
		t.Fatalf("before any listener: ready %v, upstream listeners %d; want an idle relay", st.Ready(), up.Listeners())
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(wait))
	if _, err := io.WriteString(c, "GET /relayed HTTP/1.0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	status, err := br.ReadString('\n')
	if err != nil || !strings.Contains(status, " 200 ") {
		t.Fatalf("first listener of an idle on-demand relay: %q, %v", status, err)
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\r\n" {
			break
		}
	}
	fr := mount.NewFrameReader(br)
	for i := range 40 {
		if _, err := fr.Next(); err != nil {
			t.Fatalf("frame %d from the relay: %v", i, err)
		}
	}
	if n := up.Listeners(); n != 1 {
		t.Errorf("upstream has %d listeners while we relay, want 1", n)
	}
	c.Close()
	testmedia.PollUntil(t, wait, "the relay to disconnect after the last listener left", func() bool {
		return up.Listeners() == 0
	})
	if st.OnAir().Relay == nil {
		t.Fatal("no relay status")
	}
}
