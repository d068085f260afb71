package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// TestRealClients plays the server with the players and relays people
// use: ffprobe/ffmpeg, mpv and a stock Icecast 2.4 relaying a station.
func TestRealClients(t *testing.T) {
	t.Parallel()
	dir, man := testmedia.Corpus(t)
	titles := map[string]string{}
	for _, f := range man.Files {
		titles[f.Path] = f.ExpectedDisplayTitle
	}
	stations := map[string]string{ // route → corpus file
		"/quotes":   "default/Don't Stop.mp3",
		"/cyrillic": "humor/Юмор.mp3",
	}
	var specs []stationSpec
	for route, file := range stations {
		raw, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, stationSpec{
			Station: config.Station{Route: route, Name: "Corpus " + route},
			files:   map[string][]byte{filepath.Base(file): raw},
		})
	}
	h := startHarness(t, nil, specs...)

	t.Run("ffprobe", func(t *testing.T) {
		t.Parallel()
		ffprobe := testmedia.RequireTool(t, "ffprobe")
		for route, file := range stations {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, ffprobe, "-v", "error", "-icy", "1",
				"-show_entries", "format_tags=StreamTitle", "-of", "json", h.url(route)).CombinedOutput()
			if err != nil {
				t.Fatalf("ffprobe %s: %v\n%s", route, err, out)
			}
			var got struct {
				Format struct {
					Tags struct {
						StreamTitle string `json:"StreamTitle"`
					} `json:"tags"`
				} `json:"format"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("ffprobe output: %v\n%s", err, out)
			}
			if got.Format.Tags.StreamTitle != titles[file] {
				t.Errorf("ffprobe %s: StreamTitle %q, want %q", route, got.Format.Tags.StreamTitle, titles[file])
			}
		}
	})

	t.Run("ffmpeg decodes", func(t *testing.T) {
		t.Parallel()
		ffmpeg := testmedia.RequireTool(t, "ffmpeg")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, ffmpeg, "-nostdin", "-hide_banner", "-v", "error", "-icy", "1",
			"-i", h.url("/quotes"), "-t", "3", "-f", "s16le", "-ac", "2", "-ar", "44100", "-")
		var pcm, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &pcm, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("ffmpeg: %v\n%s", err, stderr.Bytes())
		}
		if stderr.Len() > 0 {
			t.Errorf("ffmpeg reported errors decoding the stream:\n%s", stderr.Bytes())
		}
		// 3 s of 16-bit stereo at 44.1 kHz, give or take a frame.
		if want := 3 * 44100 * 4; pcm.Len() < want-1152*4 || pcm.Len() > want+1152*4 {
			t.Errorf("ffmpeg decoded %d bytes of PCM, want about %d (3 s)", pcm.Len(), want)
		}
	})

	t.Run("mpv", func(t *testing.T) {
		t.Parallel()
		mpv := testmedia.RequireTool(t, "mpv")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, mpv, "--no-config", "--ao=null", "--vo=null", "--length=10",
			"--msg-level=all=v", "--quiet", h.url("/cyrillic"))
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("mpv: %v\n%s", err, out)
		}
		// mpv -v lists the ICY title among the file tags.
		want := titles[stations["/cyrillic"]]
		for _, line := range []string{"icy-title: " + want, "Exiting... (End of file)"} {
			if !bytes.Contains(out, []byte(line)) {
				t.Errorf("mpv output lacks %q:\n%s", line, out)
			}
		}
	})

	t.Run("icecast relay", func(t *testing.T) {
		t.Parallel()
		relays := map[string]string{}
		for route := range stations {
			relays[route] = "/relay" + route
		}
		addr := startIcecastRelay(t, h, relays)
		for route, file := range stations {
			r := waitForRelay(t, addr, relays[route])
			if v, _ := r.header("icy-name"); v != "Corpus "+route {
				t.Errorf("icecast icy-name %q, want our station's name", v)
			}
			if v, _ := r.header("Content-Type"); v != "audio/mpeg" {
				t.Errorf("icecast Content-Type %q", v)
			}
			s := newICYStream(t, r)
			for s.title == "" && len(s.blocks) < 20 {
				if _, err := s.next(); err != nil {
					t.Fatalf("reading the relay: %v", err)
				}
			}
			if s.title != titles[file] {
				t.Errorf("relayed %s: StreamTitle %q, want %q", route, s.title, titles[file])
			}
			if !hasFrameChain(s.audio[:min(len(s.audio), 8000)], 8) {
				t.Errorf("relayed %s: no run of MPEG frames in the audio", route)
			}
		}
	})
}

// hasFrameChain reports whether n MPEG-1 Layer III frames follow each
// other somewhere in b (a relay's listener may start mid-frame).
func hasFrameChain(b []byte, n int) bool {
	for start := range b {
		p, k := start, 0
		for k < n {
			l := mpeg1L3Len(b[p:])
			if l == 0 {
				break
			}
			p += l
			k++
		}
		if k == n {
			return true
		}
	}
	return false
}

// icecastRelayXML is the smallest icecast.xml that relays mounts of ours
// (icecastRelay blocks), with ICY metadata, to local mounts.
const icecastRelayXML = `<icecast>
  <location>Earth</location>
  <admin>icemaster@localhost</admin>
  <hostname>127.0.0.1</hostname>
  <limits><clients>20</clients><sources>4</sources><burst-size>65536</burst-size></limits>
  <authentication>
    <source-password>%[1]s</source-password><relay-password>%[1]s</relay-password>
    <admin-user>admin</admin-user><admin-password>%[1]s</admin-password>
  </authentication>
  <listen-socket><port>%[2]d</port><bind-address>127.0.0.1</bind-address></listen-socket>
%[3]s  <fileserve>1</fileserve>
  <paths>
    <basedir>%[4]s</basedir>
    <logdir>%[4]s</logdir>
    <webroot>/usr/share/icecast2/web</webroot>
    <adminroot>/usr/share/icecast2/admin</adminroot>
  </paths>
  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>3</loglevel></logging>
  <security><chroot>0</chroot></security>
</icecast>
`

// icecastRelay is one <relay> block: our port, route and the local mount.
const icecastRelay = `  <relay>
    <server>127.0.0.1</server>
    <port>%s</port>
    <mount>%s</mount>
    <local-mount>%s</local-mount>
    <on-demand>0</on-demand>
    <relay-shoutcast-metadata>1</relay-shoutcast-metadata>
  </relay>
`

// startIcecastRelay runs icecast2 relaying our routes to local mounts and
// returns its address; it is killed when the test ends.
func startIcecastRelay(t *testing.T, h *harness, relays map[string]string) string {
	t.Helper()
	_, ourPort, _ := net.SplitHostPort(h.addr)
	addr, _ := testmedia.StartIcecast(t, func(dir string, port int) string {
		var blocks strings.Builder
		for route, local := range relays {
			fmt.Fprintf(&blocks, icecastRelay, ourPort, route, local)
		}
		return fmt.Sprintf(icecastRelayXML, "test-"+strconv.Itoa(port), port, blocks.String(), dir)
	})
	return addr
}

// waitForRelay asks icecast for the mount until its relay is up.
func waitForRelay(t *testing.T, addr, mount string) *rawResp {
	t.Helper()
	var r *rawResp
	testmedia.PollUntil(t, 20*time.Second, "icecast to relay "+mount, func() bool {
		resp, err := rawRequest(addr, "GET "+mount+" HTTP/1.0", "Icy-MetaData: 1", "User-Agent: audio-streamer-test")
		if err != nil {
			return false
		}
		if resp.status == "HTTP/1.0 200 OK" {
			r = resp
			return true
		}
		resp.conn.Close()
		return false
	})
	t.Cleanup(func() { r.conn.Close() })
	return r
}
