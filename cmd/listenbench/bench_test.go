package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/icy"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// fakeServer accepts on 127.0.0.1 and hands each request (its head, as
// text) and connection to serve, which returns when it is done or the
// test ends.
func fakeServer(t *testing.T, serve func(ctx context.Context, c net.Conn, req string)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				stop := context.AfterFunc(ctx, func() { c.Close() })
				defer stop()
				br := bufio.NewReader(c)
				var req strings.Builder
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					req.WriteString(line)
					if line == "\r\n" {
						break
					}
				}
				serve(ctx, c, req.String())
			})
		}
	})
	return "http://" + ln.Addr().String() + "/live"
}

// pace sends data at rate bytes/s (after burst bytes at once), measured
// from the start so late ticks catch up, except that from stallAt it sends
// nothing for stallFor and never makes that time up. Then it waits for the
// client to go.
func pace(ctx context.Context, c net.Conn, data []byte, burst, rate int, stallAt, stallFor time.Duration) {
	start := time.Now()
	sent := min(burst, len(data))
	if _, err := c.Write(data[:sent]); err != nil {
		return
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for sent < len(data) {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		el := time.Since(start)
		if stallFor > 0 && el >= stallAt {
			if el < stallAt+stallFor {
				continue
			}
			el -= stallFor
		}
		due := min(burst+int(el.Seconds()*float64(rate)), len(data))
		if due <= sent {
			continue
		}
		if _, err := c.Write(data[sent:due]); err != nil {
			return
		}
		sent = due
	}
	_, _ = io.Copy(io.Discard, c) // hold the connection until the client hangs up
}

func testConfig(url string, n int) config {
	return config{
		URL: url, Listeners: n, Rate: 200, Duration: time.Second, Settle: 100 * time.Millisecond,
		ConnectTimeout: 10 * time.Second, Burst: 4000, ReadBuf: 16 << 10,
	}
}

const okHead = "HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\nicy-br: 128\r\n\r\n"

// A server that stalls for 1 s inside the window: every listener reports a
// stall of about that length and falls below real time.
func TestBenchPlannedStall(t *testing.T) {
	t.Parallel()
	frames := testmedia.Frames(400) // 25 s at 128 kbit/s
	url := fakeServer(t, func(ctx context.Context, c net.Conn, req string) {
		if _, err := io.WriteString(c, okHead); err != nil {
			return
		}
		// The window opens ~0.1 s after the last connect and lasts 3 s.
		pace(ctx, c, frames, 8000, 16000, 1200*time.Millisecond, time.Second)
	})
	cfg := testConfig(url, 4)
	cfg.Duration = 3 * time.Second
	cfg.PID = os.Getpid() // sample this process as the "server"
	rep, err := bench(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Connected != 4 || rep.Failed != 0 || rep.Dropped != 0 {
		t.Fatalf("connected %d failed %d (%v) dropped %d", rep.Connected, rep.Failed, rep.Failures, rep.Dropped)
	}
	if rep.StallMs.P50 < 900 || rep.StallMs.Max > 2900 {
		t.Errorf("stall p50 %.0f ms, max %.0f ms: want the planned 1 s stall", rep.StallMs.P50, rep.StallMs.Max)
	}
	// The server writes every 20 ms except during the stall: at least a few
	// reads a second (how many depends on scheduling).
	if rep.ReadsPerSec < 2 {
		t.Errorf("%.1f reads/s per listener", rep.ReadsPerSec)
	}
	if rep.Bitrate != 128 || rep.BitrateFrom != "stream" {
		t.Errorf("bitrate %d from %s, want 128 from the stream", rep.Bitrate, rep.BitrateFrom)
	}
	// A third of the window was silent and never made up.
	if rep.Kept99 != 0 || rep.RatePct.P50 <= 0 || rep.RatePct.P50 > 90 {
		t.Errorf("rate %+v, kept99 %d: want all listeners well below real time", rep.RatePct, rep.Kept99)
	}
	if rep.FrameStartPct != 100 || rep.Resyncs != 0 || rep.BurstMissing != 0 || rep.BurstMs.N != 4 {
		t.Errorf("frame start %.0f %%, resyncs %d, burst %+v missing %d", rep.FrameStartPct, rep.Resyncs, rep.BurstMs, rep.BurstMissing)
	}
	if rep.Server == nil || rep.Server.RSSEndKiB <= 0 || rep.Server.PID != os.Getpid() {
		t.Errorf("server sample: %+v", rep.Server)
	}
}

// A server whose first body byte is in the middle of a frame, as Icecast's
// burst starts: 0 % frame starts, though the stream itself is fine.
func TestBenchFirstByteNotAFrame(t *testing.T) {
	t.Parallel()
	stream := testmedia.Frames(200)[150:]
	url := fakeServer(t, func(ctx context.Context, c net.Conn, req string) {
		if _, err := io.WriteString(c, okHead); err != nil {
			return
		}
		pace(ctx, c, stream, 8000, 16000, 0, 0)
	})
	rep, err := bench(t.Context(), testConfig(url, 3))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Connected != 3 || rep.FrameStartPct != 0 || rep.NoSync != 0 || rep.Resyncs != 0 || rep.Bitrate != 128 {
		t.Fatalf("connected %d frame start %.0f %% nosync %d resyncs %d bitrate %d", rep.Connected, rep.FrameStartPct, rep.NoSync, rep.Resyncs, rep.Bitrate)
	}
}

// HTTP/1.1 with Icy-MetaData: the request says so, and the listeners strip
// the blocks, read the title and still see a clean frame stream.
func TestBenchICY(t *testing.T) {
	t.Parallel()
	stream := interleave(testmedia.Frames(400), 8000, icy.MetaBlock("Bench - Tone", icy.UTF8))
	var mu sync.Mutex
	var reqs []string
	url := fakeServer(t, func(ctx context.Context, c net.Conn, req string) {
		mu.Lock()
		reqs = append(reqs, req)
		mu.Unlock()
		if !strings.Contains(req, "\r\nIcy-MetaData: 1\r\n") {
			_, _ = io.WriteString(c, "HTTP/1.0 400 Bad Request\r\n\r\n") // the client reports what arrived
			return
		}
		if _, err := io.WriteString(c, "ICY 200 OK\r\nContent-Type: audio/mpeg\r\nicy-metaint: 8000\r\n\r\n"); err != nil {
			return
		}
		pace(ctx, c, stream, 20000, 16000, 0, 0)
	})
	cfg := testConfig(url, 3)
	cfg.ICY, cfg.HTTP11, cfg.Bitrate = true, true, 128
	rep, err := bench(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Connected != 3 || rep.ICYTitles != 3 || rep.ICYBad != 0 || rep.Resyncs != 0 || rep.FrameStartPct != 100 {
		t.Fatalf("connected %d (%v) titles %d bad %d resyncs %d frame start %.0f", rep.Connected, rep.Failures, rep.ICYTitles, rep.ICYBad, rep.Resyncs, rep.FrameStartPct)
	}
	if rep.BitrateFrom != "flag" || rep.HTTP != "1.1" {
		t.Errorf("bitrate from %s, http %s", rep.BitrateFrom, rep.HTTP)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reqs) != 3 || !strings.HasPrefix(reqs[0], "GET /live HTTP/1.1\r\n") || !strings.Contains(reqs[0], "\r\nHost: 127.0.0.1:") {
		t.Errorf("requests: %q", reqs)
	}
}

// Answers a player could not play are failures, with their reason.
func TestBenchFailures(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		head, reason string
	}{
		"not found": {"HTTP/1.0 404 Not Found\r\n\r\n", "status 404"},
		"chunked":   {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "head: Transfer-Encoding chunked on a stream"},
		"metaint":   {"HTTP/1.0 200 OK\r\nicy-metaint: 16000\r\n\r\n", "head: icy-metaint 16000 sent to a client that did not ask for metadata"},
		"no body":   {"HTTP/1.0 200 OK\r\n\r\n", "no body: closed by server"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			url := fakeServer(t, func(ctx context.Context, c net.Conn, req string) {
				_, _ = io.WriteString(c, tc.head) // the client reports what arrived
			})
			cfg := testConfig(url, 2)
			cfg.Duration = 200 * time.Millisecond
			rep, err := bench(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Connected != 0 || rep.Failed != 2 || rep.Failures[tc.reason] != 2 || rep.RatePct.P50 != 0 {
				t.Fatalf("connected %d failed %d reasons %v rate %+v", rep.Connected, rep.Failed, rep.Failures, rep.RatePct)
			}
		})
	}
}

// A server that hangs up mid-window: the listeners count as dropped and
// their stall runs to the window end.
func TestBenchDropped(t *testing.T) {
	t.Parallel()
	url := fakeServer(t, func(ctx context.Context, c net.Conn, req string) {
		if _, err := io.WriteString(c, okHead); err == nil {
			_, _ = c.Write(testmedia.Frames(20)) // then hang up; the client reports the drop
		}
	})
	cfg := testConfig(url, 2)
	rep, err := bench(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Connected != 2 || rep.Dropped != 2 || rep.Drops["closed by server"] != 2 || rep.StallMs.P50 < 900 {
		t.Fatalf("connected %d dropped %d %v stall %+v", rep.Connected, rep.Dropped, rep.Drops, rep.StallMs)
	}
}

func TestResolveTarget(t *testing.T) {
	ctx := t.Context()
	for _, bad := range []string{"http://10.1.2.3:8000/", "http://192.168.0.1/", "https://127.0.0.1/", "http:///x"} {
		if _, err := resolveTarget(ctx, bad, 1, false); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if _, err := resolveTarget(ctx, "http://10.1.2.3:8000/", 1, true); err != nil {
		t.Errorf("--allow-remote: %v", err)
	}
	tg, err := resolveTarget(ctx, "http://[::1]:9000/s%d", 3, false)
	if err != nil {
		t.Fatal(err)
	}
	if tg.addr != "[::1]:9000" || strings.Join(tg.paths, ",") != "/s0,/s1,/s2" || tg.host != "[::1]:9000" {
		t.Errorf("target %+v", tg)
	}
	tg, err = resolveTarget(ctx, "http://localhost:9000", 1, false)
	if err != nil || len(tg.paths) != 1 || tg.paths[0] != "/" {
		t.Errorf("localhost: %+v %v", tg, err)
	}
}

// The command line: flags in, JSON out, and the table subcommand on it.
func TestRunCommand(t *testing.T) {
	t.Parallel()
	url := fakeServer(t, func(ctx context.Context, c net.Conn, req string) {
		if _, err := io.WriteString(c, okHead); err != nil {
			return
		}
		pace(ctx, c, testmedia.Frames(100), 8000, 16000, 0, 0)
	})
	var out, errOut bytes.Buffer
	args := []string{"--url", url, "-n", "2", "--rate", "100", "--duration", "300ms", "--settle", "0s", "--json", "--quiet", "--label", "ours"}
	if code := run(t.Context(), args, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Connected != 2 || rep.Label != "ours" || errOut.Len() != 0 {
		t.Fatalf("report %+v, stderr %q", rep, errOut.String())
	}
	path := filepath.Join(t.TempDir(), "r.json")
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run(t.Context(), []string{"table", path}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "### 2 listeners (median of runs: ours 1)") {
		t.Fatalf("table: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	out.Reset()
	if code := run(t.Context(), []string{"--url", "http://192.0.2.1/"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "only loopback") {
		t.Errorf("remote target: exit %d, %q", code, errOut.String())
	}
	if code := run(t.Context(), []string{"--bogus"}, &out, io.Discard); code != 2 {
		t.Errorf("bad flag: exit %d", code)
	}
}
