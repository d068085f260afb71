package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// reloaded waits until the server has sent READY=1 n+1 times: once at
// start and once at the end of each of n reloads (after RELOADING=1).
func (p *proc) reloaded(n int) {
	p.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		p.mu.Lock()
		ready, reloading, grew := 0, 0, p.grew
		for _, s := range p.states {
			switch s {
			case "READY=1":
				ready++
			case "RELOADING=1":
				reloading++
			}
		}
		p.mu.Unlock()
		if ready > n && reloading >= n {
			return
		}
		select {
		case <-grew:
		case <-p.done:
			p.t.Fatalf("audio-streamer exited (%v) during reload %d", p.state, n)
		case <-deadline:
			p.t.Fatalf("reload %d: READY=1 not sent again within 20 s", n)
		}
	}
}

// writeConfig writes a configuration file for a server on port.
func writeConfig(t *testing.T, path string, port int, body string) {
	t.Helper()
	text := fmt.Sprintf("host = \"127.0.0.1\"\nport = %d\n%s", port, body)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// stationTOML is a [[station]] table.
func stationTOML(route, dir, name string) string {
	return fmt.Sprintf("[[station]]\nroute = %q\ndir = %q\nname = %q\n", route, dir, name)
}

// readFrames reads n bytes more of a stream without metadata into buf
// and checks they continue whole MPEG-1 Layer III frames from buf's
// start: a listener that kept its connection hears no cut or restart.
func (l *listener) readFrames(t *testing.T, buf *[]byte, n int) {
	t.Helper()
	l.conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	more := make([]byte, n)
	if _, err := io.ReadFull(l.r, more); err != nil {
		t.Fatalf("the listener stopped getting audio after %d bytes: %v", len(*buf), err)
	}
	*buf = append(*buf, more...)
	for at := 0; at+4 <= len(*buf); {
		size := mpeg1L3Size((*buf)[at:])
		if size == 0 {
			t.Fatalf("byte %d of the stream is not a frame header: % x", at, (*buf)[at:at+4])
		}
		at += size
	}
}

// mpeg1L3Size is the length of the MPEG-1 Layer III frame whose header
// starts b; 0 if b does not start one.
func mpeg1L3Size(b []byte) int {
	if b[0] != 0xFF || b[1]&0xFE != 0xFA {
		return 0
	}
	kbps := []int{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0}[b[2]>>4]
	rate := []int{44100, 48000, 32000, 0}[(b[2]>>2)&3]
	if kbps == 0 || rate == 0 {
		return 0
	}
	return 144*kbps*1000/rate + int(b[2]>>1&1)
}

// TestReloadConfig: SIGHUP applies a changed configuration file without a
// restart. The listener of an unchanged station keeps its connection and
// whole frames; a renamed station's listener stays and its new listeners
// get the new name; an added station plays, a removed one is 404; then a
// broken file is refused with its error logged and everything keeps
// running.
func TestReloadConfig(t *testing.T) {
	t.Parallel()
	dirA, dirB, dirC := t.TempDir(), t.TempDir(), t.TempDir()
	for _, d := range []string{dirA, dirB, dirC} {
		testmedia.WriteFile(t, d, "a.mp3", track("Song of "+filepath.Base(d), 2000))
	}
	port := testmedia.FreePort(t)
	cfgPath := filepath.Join(t.TempDir(), "audio-streamer.toml")
	writeConfig(t, cfgPath, port, stationTOML("/", dirA, "Keep")+stationTOML("/b", dirB, "Old B")+stationTOML("/gone", dirB, "Gone"))
	p := start(t, port, []string{"--config", cfgPath})
	p.playing()

	keep := p.listen("/")
	heard := append([]byte(nil), keep.first...)
	keep.readFrames(t, &heard, 32<<10)
	renamed := p.listen("/b")

	writeConfig(t, cfgPath, port, stationTOML("/", dirA, "Keep")+stationTOML("/b", dirB, "New B")+stationTOML("/new", dirC, "Added"))
	p.signal(syscall.SIGHUP)
	p.reloaded(1)

	keep.readFrames(t, &heard, 64<<10)
	renamed.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(renamed.r, make([]byte, 32<<10)); err != nil {
		t.Errorf("the renamed station's listener was dropped: %v", err)
	}
	if l := p.listen("/b"); !strings.Contains(l.head, "icy-name:New B\r\n") {
		t.Errorf("a new listener of the renamed station got\n%s", l.head)
	}
	code, body := p.get("/streams")
	if code != 200 || !strings.Contains(body, `"New B"`) || !strings.Contains(body, `"/new"`) || strings.Contains(body, `"/gone"`) {
		t.Errorf("/streams after the reload: %d %s", code, body)
	}
	if code, _ := p.get("/gone"); code != 404 {
		t.Errorf("removed station: %d, want 404", code)
	}
	added := p.listen("/new")
	if _, err := io.ReadFull(added.r, make([]byte, 16<<10)); err != nil {
		t.Errorf("the added station plays nothing: %v", err)
	}

	// A broken file: refused, logged, nothing changes.
	writeConfig(t, cfgPath, port, stationTOML("/", dirA, "Keep")+"[[station]]\nroute = \n")
	p.signal(syscall.SIGHUP)
	p.reloaded(2)
	p.waitLine(5*time.Second, "configuration not reloaded", cfgPath)
	keep.readFrames(t, &heard, 32<<10)
	if code, body := p.get("/streams"); code != 200 || !strings.Contains(body, `"/new"`) || !strings.Contains(body, `"/b"`) {
		t.Errorf("/streams after a refused reload: %d %s", code, body)
	}
	p.signal(syscall.SIGTERM)
	if code, _ := p.wait(10 * time.Second); code != 0 {
		t.Errorf("exit status %d after reloads", code)
	}
}

// TestReloadKeeps500Listeners runs the load tool (cmd/listenbench) with
// 500 listeners on a station the reload leaves unchanged, adds a station
// and renames another under SIGHUP during the run, and requires that the
// tool counts no listener dropped.
func TestReloadKeeps500Listeners(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the load tool for about 10 s")
	}
	bench := filepath.Join(t.TempDir(), "listenbench")
	build := exec.Command("go", "build", "-o", bench, "../listenbench")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building listenbench: %v\n%s", err, out)
	}
	dirA, dirB := t.TempDir(), t.TempDir()
	testmedia.WriteFile(t, dirA, "a.mp3", track("Steady", 4000))
	testmedia.WriteFile(t, dirB, "b.mp3", track("Other", 4000))
	port := testmedia.FreePort(t)
	cfgPath := filepath.Join(t.TempDir(), "audio-streamer.toml")
	writeConfig(t, cfgPath, port, stationTOML("/", dirA, "Steady")+stationTOML("/b", dirB, "Old B"))
	p := start(t, port, []string{"--config", cfgPath})
	p.playing()

	const listeners = 500
	run := exec.Command(bench, "--url", "http://"+p.addr+"/", "--listeners", strconv.Itoa(listeners), "--rate", "500",
		"--settle", "1s", "--duration", "6s", "--pid", strconv.Itoa(p.cmd.Process.Pid), "--json", "--quiet")
	var out strings.Builder
	run.Stdout = &out
	run.Stderr = &out
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	benchDone := make(chan error, 1)
	go func() { benchDone <- run.Wait() }()
	// Reload once every listener is connected.
	pollUntil(t, "500 listeners connected", func() (bool, string) {
		_, body := p.get("/streams")
		var s struct {
			Streams []struct {
				Route     string `json:"route"`
				Listeners int    `json:"listeners"`
			} `json:"streams"`
		}
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			return false, body
		}
		for _, st := range s.Streams {
			if st.Route == "/" {
				return st.Listeners >= listeners, fmt.Sprint(st.Listeners, " listeners")
			}
		}
		return false, body
	})
	writeConfig(t, cfgPath, port, stationTOML("/", dirA, "Steady")+stationTOML("/b", dirB, "New B")+stationTOML("/c", dirB, "Added"))
	p.signal(syscall.SIGHUP)
	p.reloaded(1)
	if code, body := p.get("/streams"); !strings.Contains(body, `"/c"`) || !strings.Contains(body, `"New B"`) {
		t.Errorf("the reload did not apply: %d %s", code, body)
	}
	select {
	case err := <-benchDone:
		if err != nil {
			t.Fatalf("listenbench: %v\n%s", err, out.String())
		}
	case <-time.After(40 * time.Second):
		_ = run.Process.Kill() // fails only if it exited meanwhile
		t.Fatalf("listenbench did not finish within 40 s (killed: %v)\n%s", <-benchDone, out.String())
	}
	var rep struct {
		Connected, Failed, Dropped int
		Drops                      map[string]int
		Resyncs                    int `json:"resync_listeners"`
	}
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
		t.Fatalf("listenbench report: %v\n%s", err, out.String())
	}
	t.Logf("listenbench: %d connected, %d failed, %d dropped %v, %d resyncs", rep.Connected, rep.Failed, rep.Dropped, rep.Drops, rep.Resyncs)
	if rep.Connected != listeners || rep.Failed != 0 || rep.Dropped != 0 || rep.Resyncs != 0 {
		t.Errorf("across the reload: %d/%d connected, %d failed, %d dropped %v, %d lost frame sync",
			rep.Connected, listeners, rep.Failed, rep.Dropped, rep.Drops, rep.Resyncs)
	}
}
