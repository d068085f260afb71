package station

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// origin is a server process the test may kill.
type origin struct {
	addr   string
	cmd    *exec.Cmd
	killed bool
}

// startOrigin runs the server on a free loopback port with a clock-synced
// "/" playing dir and returns once it serves; the test may kill it. It is
// stopped with SIGTERM at the end of the test unless killed.
func startOrigin(t *testing.T, bin, dir string) *origin {
	t.Helper()
	port := testmedia.FreePort(t)
	conf := filepath.Join(t.TempDir(), "audio-streamer.toml")
	body := fmt.Sprintf(`host = "127.0.0.1"
port = %d
audio_dir = %q
burst = "2s"

[[station]]
route = "/"
dir = %q
shuffle = true
sync = "clock"
sync_seed = "e2e"
`, port, dir, dir)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	o := &origin{addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: exec.Command(bin, "--config", conf)}
	var logs bytes.Buffer // read only after the process exited
	o.cmd.Stdout, o.cmd.Stderr = &logs, &logs
	if err := o.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !o.killed {
			if err := o.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Errorf("stopping the origin %s: %v", o.addr, err)
			}
			if err := o.cmd.Wait(); err != nil {
				t.Errorf("the origin %s exited with %v", o.addr, err)
			}
		}
		if t.Failed() {
			t.Logf("origin %s:\n%s", o.addr, logs.String())
		}
	})
	testmedia.PollUntil(t, 20*time.Second, "the origin to serve its station", func() bool {
		resp, err := http.Get("http://" + o.addr + "/streams")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return o
}

// kill ends the origin at once, as a crash would.
func (o *origin) kill(t *testing.T) {
	t.Helper()
	o.killed = true
	if err := o.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = o.cmd.Wait() // killed: the status says nothing
}

// startCachingNginx runs deploy/nginx/hls-cache.conf in a real nginx in
// front of origins until the test ends, and returns its address and the
// path of its access log. Only the origins' addresses, the listening
// address and the cache and log paths are replaced, each found exactly
// once, so an edit of the file this test no longer matches fails.
func startCachingNginx(t *testing.T, origins []*origin) (addr, accessLog string) {
	t.Helper()
	site, err := os.ReadFile(filepath.Join(testmedia.ModuleRoot(t), "deploy", "nginx", "hls-cache.conf"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(testmedia.FreePort(t)))
	accessLog = filepath.Join(dir, "hls.log")
	replace := [][2]string{
		{"listen 80;", "listen " + addr + ";"},
		{"/var/cache/nginx/audio-streamer-hls", filepath.Join(dir, "cache")},
		{"/var/log/nginx/audio-streamer-hls.log", accessLog},
	}
	for i, o := range origins {
		replace = append(replace, [2]string{fmt.Sprintf("server 10.0.0.%d:9999 ", i+1), "server " + o.addr + " "})
	}
	for _, r := range replace {
		if n := bytes.Count(site, []byte(r[0])); n != 1 {
			t.Fatalf("deploy/nginx/hls-cache.conf has %q %d times, want once", r[0], n)
		}
		site = bytes.Replace(site, []byte(r[0]), []byte(r[1]), 1)
	}
	testmedia.StartNginx(t, dir, site, 1024, addr)
	return addr, accessLog
}

// fetched is a segment an HLS client got.
type fetched struct {
	seq  uint64
	name string
	data []byte
}

// hlsClient plays an HLS stream as players do: it polls the playlist every
// second, starts at its newest segment and fetches every later one in
// order. It stops at ctx's end or after want segments, and tells reached
// once it has three.
type hlsClient struct {
	http    *http.Client
	base    *url.URL
	got     []fetched
	skipped int // segments that left the playlist before they were fetched
	err     error
}

func (c *hlsClient) run(ctx context.Context, want int, reached func()) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for len(c.got) < want {
		if err := c.poll(ctx, reached); err != nil {
			c.err = err
			return
		}
		select {
		case <-ctx.Done():
			c.err = fmt.Errorf("after %d segments: %w", len(c.got), ctx.Err())
			return
		case <-tick.C:
		}
	}
}

func (c *hlsClient) poll(ctx context.Context, reached func()) error {
	body, err := c.get(ctx, c.base)
	if err != nil {
		return err
	}
	var seq uint64
	type entry struct {
		seq uint64
		uri string
	}
	var list []entry
	for line := range strings.SplitSeq(string(body), "\n") {
		switch {
		case strings.HasPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"):
			if seq, err = strconv.ParseUint(strings.TrimPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"), 10, 64); err != nil {
				return fmt.Errorf("playlist: %w", err)
			}
		case line != "" && !strings.HasPrefix(line, "#"):
			list = append(list, entry{seq, line})
			seq++
		}
	}
	if len(list) == 0 {
		return nil
	}
	if len(c.got) == 0 {
		list = list[len(list)-1:] // start at the live edge
	} else if last := c.got[len(c.got)-1].seq; list[0].seq > last+1 {
		c.skipped += int(list[0].seq - last - 1)
	}
	for _, e := range list {
		if len(c.got) > 0 && e.seq <= c.got[len(c.got)-1].seq {
			continue
		}
		u, err := c.base.Parse(e.uri)
		if err != nil {
			return err
		}
		data, err := c.get(ctx, u)
		if err != nil {
			return err
		}
		c.got = append(c.got, fetched{seq: e.seq, name: strings.TrimSuffix(filepath.Base(u.Path), ".mp3"), data: data})
		if len(c.got) == 3 {
			reached()
		}
	}
	return nil
}

func (c *hlsClient) get(ctx context.Context, u *url.URL) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return body, err
}

// stripID3 returns a packed-audio segment's MP3 frames, without its tag.
func stripID3(t *testing.T, seg []byte) []byte {
	t.Helper()
	if len(seg) < 10 || string(seg[:3]) != "ID3" {
		t.Fatalf("segment does not start with an ID3 tag")
	}
	return seg[10+(int(seg[6])<<21|int(seg[7])<<14|int(seg[8])<<7|int(seg[9])):]
}

// originLine is one line of hls-cache.conf's log_format.
var originLine = regexp.MustCompile(`^\S+ "(\S+)" (\d+) cache=(\S+) origin=(.*) origin_status=(.*)$`)

// Three instances of a clock-synced station behind nginx with
// deploy/nginx/hls-cache.conf, as a CDN's origin shield would run them:
// HLS players through nginx get every segment once, in order, decodable,
// the exact global frames of the station; the origins see each segment
// requested once however many players there are; and one origin killed
// mid-run costs the players nothing. (That the three instances' ICY
// streams are within a frame of each other is
// TestSyncInstancesPlayTheSameFrame.)
func TestHLSThroughCachingNginx(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three servers and nginx")
	}
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	testmedia.RequireTool(t, "nginx")
	const clients, want = 20, 7
	dir, tl := syncFolder(t)
	bin := serverBinary(t)
	origins := []*origin{startOrigin(t, bin, dir), startOrigin(t, bin, dir), startOrigin(t, bin, dir)}
	for _, o := range origins {
		testmedia.PollUntil(t, 20*time.Second, "a playlist with segments on "+o.addr, func() bool {
			resp, err := http.Get("http://" + o.addr + "/listen.m3u8")
			if err != nil {
				return false
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte(".mp3"))
		})
	}
	addr, accessLog := startCachingNginx(t, origins)
	base, err := url.Parse("http://" + addr + "/listen.m3u8")
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	players := make([]*hlsClient, clients)
	var three, done sync.WaitGroup
	three.Add(clients)
	for i := range players {
		players[i] = &hlsClient{http: &http.Client{Transport: tr}, base: base}
		reached := sync.OnceFunc(three.Done) // also when it fails first
		done.Go(func() {
			defer reached()
			players[i].run(ctx, want, reached)
		})
	}
	// Once every player has three segments, the second origin dies.
	reachedThree := make(chan struct{})
	go func() { three.Wait(); close(reachedThree) }()
	select {
	case <-reachedThree:
		origins[1].kill(t)
		t.Logf("killed origin %s", origins[1].addr)
	case <-ctx.Done():
	}
	done.Wait()
	cancel()
	<-reachedThree // every player got three segments or failed, which the checks below report

	// What the players got.
	clock := mount.FrameClockFor(44100)
	names := map[uint64]string{}
	sums := map[uint64][sha256.Size]byte{}
	gaps, repeats, fetches := 0, 0, 0
	frameDur := clock.Duration()
	for i, p := range players {
		if p.err != nil {
			t.Fatalf("player %d: %v", i, p.err)
		}
		fetches += len(p.got)
		gaps += p.skipped
		var audio []byte
		for k, f := range p.got {
			if k > 0 && f.seq != p.got[k-1].seq+1 {
				if f.seq <= p.got[k-1].seq {
					repeats++
				} else {
					gaps++
				}
				t.Errorf("player %d: segment %d after %d", i, f.seq, p.got[k-1].seq)
			}
			if n, ok := names[f.seq]; ok && n != f.name {
				t.Errorf("segment %d is %s for one player and %s for another", f.seq, n, f.name)
			}
			names[f.seq] = f.name
			sum := sha256.Sum256(f.data)
			if s, ok := sums[f.seq]; ok && s != sum {
				t.Errorf("segment %d differs between players", f.seq)
			}
			sums[f.seq] = sum
			audio = append(audio, stripID3(t, f.data)...)
		}
		// Every frame is the next global frame of the station: no gap and
		// no repeat inside or between segments, across the kill.
		ms, err := strconv.ParseInt(p.got[0].name, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		size := len(testmedia.Frame{Kbps: 128}.Bytes())
		if len(audio)%size != 0 {
			t.Fatalf("player %d: %d bytes of audio is not whole frames", i, len(audio))
		}
		g := globalFrame(t, tl, audio[:size], clock.FrameAt(time.UnixMilli(ms).Add(frameDur/2)))
		for k := 0; k < len(audio)/size; k++ {
			if got := globalFrame(t, tl, audio[k*size:(k+1)*size], g+int64(k)); got != g+int64(k) {
				t.Fatalf("player %d: frame %d of its audio is global frame %d, want %d", i, k, got, g+int64(k))
			}
		}
		frames := len(audio) / size
		// The audio decodes without a message and lasts exactly its frames.
		file := filepath.Join(t.TempDir(), "hls.mp3")
		if err := os.WriteFile(file, audio, 0o600); err != nil {
			t.Fatal(err)
		}
		var pcm, msgs bytes.Buffer
		cmd := exec.Command(ffmpeg, "-v", "error", "-i", file, "-f", "s16le", "-ac", "2", "-ar", "44100", "-")
		cmd.Stdout, cmd.Stderr = &pcm, &msgs
		if err := cmd.Run(); err != nil || msgs.Len() > 0 {
			t.Fatalf("player %d: ffmpeg: %v\n%s", i, err, msgs.String())
		}
		if samples := pcm.Len() / 4; samples != frames*1152 {
			t.Errorf("player %d: %d samples decoded from %d frames, want %d", i, samples, frames, frames*1152)
		}
		if i == 0 {
			t.Logf("player 0: segments %d..%d, %d frames, %.2f s decoded", p.got[0].seq, p.got[len(p.got)-1].seq, frames, float64(pcm.Len()/4)/44100)
		}
	}

	// What the origins saw, from nginx's log: each upstream attempt is an
	// entry in origin= and origin_status=.
	logData, err := os.ReadFile(accessLog)
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]int{} // segment path → 200s from origins
	attempts := map[string]int{}
	var playlistReqs, segmentReqs, notYet, failed, hits, requests int
	for line := range strings.SplitSeq(strings.TrimSpace(string(logData)), "\n") {
		requests++
		m := originLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("access log line not in hls-cache.conf's format: %q", line)
		}
		path, cache, addrs, statuses := m[1], m[3], strings.Split(m[4], ", "), strings.Split(m[5], ", ")
		if cache == "HIT" {
			hits++
		}
		if m[5] == "-" {
			continue
		}
		for k, st := range statuses {
			if k >= len(addrs) || !strings.Contains(addrs[k], ":") { // the upstream's name: none was live
				t.Errorf("nginx found no live origin: %q", line)
				continue
			}
			if addrs[k] == origins[1].addr && st == "502" {
				failed++ // connection refused: the killed origin
				continue
			}
			if strings.HasSuffix(path, ".m3u8") {
				playlistReqs++
				continue
			}
			segmentReqs++
			attempts[path]++
			switch st {
			case "200":
				served[path]++
			case "404":
				notYet++
			default:
				t.Errorf("an origin answered %s for %s", st, path)
			}
		}
	}
	for path, n := range served {
		if n != 1 {
			t.Errorf("%s was served by the origins %d times, want once", path, n)
		}
	}
	if len(served) < len(names) {
		t.Errorf("the origins served %d segments, the players got %d different ones", len(served), len(names))
	}
	t.Logf("%d players, %d segment fetches of %d distinct segments through nginx (%d cache hits of %d requests); origins: %d segment requests (%d answered 200, %d 404 from an instance that had not cut it yet), %d playlist requests, %d attempts on the killed origin (passed on to the next); gaps %d, repeats %d",
		clients, fetches, len(names), hits, requests, segmentReqs, len(served), notYet, playlistReqs, failed, gaps, repeats)
	if gaps > 0 || repeats > 0 {
		t.Errorf("%d gaps and %d repeats in the players' segments", gaps, repeats)
	}
	// Round robin over three origins picks each in turn: a run that never
	// tried the killed one did not test the failover.
	if failed == 0 {
		t.Error("nginx never tried the killed origin: the kill was not put to the test")
	}
	// At most a 404 from an origin that had not cut it yet besides the
	// one 200.
	for path, n := range attempts {
		if n > 2 {
			t.Errorf("%s: %d origin requests", path, n)
		}
	}
}
