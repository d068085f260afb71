package main

// These tests run the real binary (built once by TestMain) as a subprocess
// on 127.0.0.1 and check what operators rely on: configuration errors,
// signals, Sentry, logs, /metrics, health checks and the demo station.
// They learn that the server is ready from systemd's notify protocol
// (NOTIFY_SOCKET), not from its logs.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// proc is one running audio-streamer, everything it wrote to stderr and
// every state it sent to its NOTIFY_SOCKET.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string        // 127.0.0.1:port it was told to use
	notify *net.UnixConn // the socket NOTIFY_SOCKET names
	read   chan struct{} // closed when notify has been read to the end

	mu       sync.Mutex
	states   []string // READY=1, STOPPING=1… as received
	lines    []string
	partial  []byte
	grew     chan struct{} // closed and replaced whenever a line or a state arrives
	done     chan struct{} // closed once the process has exited and notify is read
	state    *os.ProcessState
	exitedAt time.Time
}

// baseEnv is a small, fixed environment: the test's own (PORT, SENTRY_DSN,
// AUDIO_DIR on a developer's machine) must not leak into the server.
// GORACE matters only for a -race build: it would idle 1 s at exit.
func baseEnv(t *testing.T) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TMPDIR=" + t.TempDir(), "GORACE=atexit_sleep_ms=0"}
}

// start runs the binary with args and extra KEY=VALUE env; port is the
// one the args name (0 when they name none). It does not wait for anything.
func start(t *testing.T, port int, args []string, env ...string) *proc {
	t.Helper()
	bin := os.Getenv(binaryEnv)
	if bin == "" {
		t.Fatalf("%s is not set; TestMain builds the binary", binaryEnv)
	}
	p := &proc{t: t, grew: make(chan struct{}), done: make(chan struct{}), read: make(chan struct{})}
	if port != 0 {
		p.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	}
	socket := p.listenNotify()
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(baseEnv(t), append(env, "NOTIFY_SOCKET="+socket)...)
	p.cmd.Stderr = p
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait() // the exit status is read from ProcessState
		p.mu.Lock()
		p.state, p.exitedAt = p.cmd.ProcessState, time.Now()
		p.mu.Unlock()
		// All it sent is queued in the socket now: let the reader take
		// it, then stop (a datagram socket has no end of its own).
		p.notify.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		<-p.read
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill() // fails only if it exited meanwhile
			<-p.done
		}
		p.notify.Close()
		lines := p.stderr()
		for _, l := range lines {
			if strings.Contains(l, "DATA RACE") {
				t.Error("the server (built with -race) reported a data race")
				break
			}
		}
		if t.Failed() {
			t.Logf("audio-streamer stderr:\n%s", strings.Join(lines, "\n"))
		}
	})
	return p
}

// listenNotify opens the datagram socket that stands in for systemd's and
// returns the NOTIFY_SOCKET value naming it: a path in the test's temporary
// folder, or an abstract name ("@…") where that path would be too long for
// a socket address.
func (p *proc) listenNotify() string {
	p.t.Helper()
	name := filepath.Join(p.t.TempDir(), "notify")
	if len(name) >= 100 { // sun_path holds 108 bytes
		name = fmt.Sprintf("@audio-streamer-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		p.t.Fatal(err)
	}
	p.notify = conn
	go func() {
		defer close(p.read)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			// One datagram may carry several newline-separated assignments.
			p.mu.Lock()
			for line := range strings.SplitSeq(string(buf[:n]), "\n") {
				if line != "" {
					p.states = append(p.states, line)
				}
			}
			close(p.grew)
			p.grew = make(chan struct{})
			p.mu.Unlock()
		}
	}()
	return name
}

// waitState waits, at most timeout, until the server has sent state (for
// example READY=1) to its NOTIFY_SOCKET.
func (p *proc) waitState(timeout time.Duration, state string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		p.mu.Lock()
		sent, grew := slices.Contains(p.states, state), p.grew
		p.mu.Unlock()
		if sent {
			return
		}
		select {
		case <-grew:
		case <-p.done:
			if !p.sent(state) {
				p.t.Fatalf("audio-streamer exited (%v) without sending %s", p.state, state)
			}
		case <-ctx.Done():
			p.t.Fatalf("no %s on NOTIFY_SOCKET within %v", state, timeout)
		}
	}
}

// sent waits for the process to exit and reports whether it sent state.
func (p *proc) sent(state string) bool {
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Contains(p.states, state)
}

// Write collects stderr line by line (exec copies the pipe into it).
func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.partial = append(p.partial, b...)
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			break
		}
		p.lines = append(p.lines, string(p.partial[:i]))
		p.partial = p.partial[i+1:]
		close(p.grew)
		p.grew = make(chan struct{})
	}
	return len(b), nil
}

func (p *proc) stderr() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := append([]string(nil), p.lines...)
	if len(p.partial) > 0 {
		out = append(out, string(p.partial))
	}
	return out
}

// waitLine waits for a stderr line containing every one of parts.
func (p *proc) waitLine(timeout time.Duration, parts ...string) string {
	p.t.Helper()
	deadline := time.After(timeout)
	seen := 0
	for {
		p.mu.Lock()
		lines, grew := p.lines, p.grew
		p.mu.Unlock()
		for ; seen < len(lines); seen++ {
			if containsAll(lines[seen], parts...) {
				return lines[seen]
			}
		}
		select {
		case <-grew:
		case <-p.done:
			// The writer has been drained by now: look once more, then give up.
			for _, l := range p.stderr() {
				if containsAll(l, parts...) {
					return l
				}
			}
			p.t.Fatalf("audio-streamer exited (%v) without logging %q", p.state, parts)
		case <-deadline:
			p.t.Fatalf("no log line with %q within %v", parts, timeout)
		}
	}
}

func containsAll(s string, parts ...string) bool {
	for _, part := range parts {
		if !strings.Contains(s, part) {
			return false
		}
	}
	return true
}

// ready waits for READY=1: the server accepts connections, and every
// station that has files has audio to send.
func (p *proc) ready() {
	p.t.Helper()
	p.waitState(15*time.Second, "READY=1")
}

// playing waits for READY=1 and checks that /readyz agrees: every station
// has audio to send.
func (p *proc) playing() {
	p.t.Helper()
	p.ready()
	if code, body := p.get("/readyz"); code != 200 {
		p.t.Fatalf("/readyz = %d %q after READY=1", code, body)
	}
}

func (p *proc) signal(sig os.Signal) time.Time {
	p.t.Helper()
	sent := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
	return sent
}

// wait returns the exit code and when the exit was seen.
func (p *proc) wait(timeout time.Duration) (int, time.Time) {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("audio-streamer still running after %v", timeout)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state.ExitCode(), p.exitedAt
}

func (p *proc) get(path string) (int, string) {
	p.t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + p.addr + path)
	if err != nil {
		p.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		p.t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(body)
}

// listener is a raw TCP client that has received the stream's head and
// the first audio bytes.
type listener struct {
	conn  net.Conn
	r     *bufio.Reader
	head  string
	first []byte
}

// listen opens a stream with a plain HTTP/1.0 GET, as simple players do.
func (p *proc) listen(route string) *listener {
	p.t.Helper()
	conn, err := net.DialTimeout("tcp", p.addr, 5*time.Second)
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: ops-test\r\n\r\n", route, p.addr)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	l := &listener{conn: conn, r: bufio.NewReader(conn)}
	for {
		line, err := l.r.ReadString('\n')
		if err != nil {
			p.t.Fatalf("stream %s head: %v (got %q)", route, err, l.head)
		}
		l.head += line
		if line == "\r\n" {
			break
		}
	}
	if !strings.Contains(strings.SplitN(l.head, "\r\n", 2)[0], " 200 ") {
		p.t.Fatalf("stream %s: %q", route, l.head)
	}
	l.first = make([]byte, 4)
	if _, err := io.ReadFull(l.r, l.first); err != nil {
		p.t.Fatalf("stream %s: no audio: %v", route, err)
	}
	conn.SetReadDeadline(time.Time{})
	return l
}

// drain reads until the server closes the stream and returns the error
// that ended reading (io.EOF for an orderly close).
func (l *listener) drain(timeout time.Duration) error {
	l.conn.SetReadDeadline(time.Now().Add(timeout))
	_, err := io.Copy(io.Discard, l.r)
	if err == nil {
		err = io.EOF // io.Copy reports a clean end as nil
	}
	return err
}

// track is a playable MP3 of n silent frames (26 ms each) with an ID3v2 title.
func track(title string, frames int) []byte {
	return append(testmedia.ID3v2("Ops Test", title, 0), testmedia.Frames(frames)...)
}

// --- 1. bad configuration ---

func TestBadConfigFailsFast(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := func(name, body string) string {
		return testmedia.WriteFile(t, dir, name, []byte(body))
	}
	unknown := file("unknown.toml", "port = 9000\n\n# a comment\ncolour = \"red\"\n")
	wrongType := file("type.toml", "host = \"127.0.0.1\"\nport = \"8000\"\n")
	stationType := file("station-type.toml", "[[station]]\nroute = \"/a\"\nshuffle = \"yes\"\n")
	dup := file("dup.toml", "[[station]]\nroute = \"/a\"\ndir = \"/tmp\"\n\n[[station]]\nroute = \"a\"\ndir = \"/tmp\"\n")
	badPort := file("port.toml", "port = 70000\n")

	cases := []struct {
		name string
		args []string
		env  []string
		want []string // substrings of the one stderr line
		port bool     // the args carry --port of a free port to probe afterwards
	}{
		{"unknown TOML key", []string{"--config", unknown}, nil, []string{`unknown key "colour"`, unknown + ":4"}, true},
		{"wrong type in file", []string{"--config", wrongType}, nil, []string{"port", `"8000"`, wrongType + ":2", "integer"}, false},
		{"wrong type in station", []string{"--config", stationType}, nil, []string{"station.shuffle", stationType + ":3"}, true},
		{"invalid JSON in DIRECTORY_ROUTES", nil, []string{`DIRECTORY_ROUTES={"humor": "/music"`}, []string{"DIRECTORY_ROUTES", "from env", "invalid JSON"}, true},
		{"duplicate route in file", []string{"--config", dup}, nil, []string{"station.route", dup + ":6", "defined twice", "line 2"}, true},
		{"duplicate route in env", nil, []string{`DIRECTORY_ROUTES={"a": "/tmp", "/a/": "/srv"}`}, []string{"DIRECTORY_ROUTES", "from env", "appears twice"}, true},
		{"dot-dot route in env", nil, []string{`DIRECTORY_ROUTES={"/../x": "/tmp"}`}, []string{"DIRECTORY_ROUTES", `"/../x"`, "from env", ".."}, true},
		{"dot-dot route in flag", []string{"--directory-routes", `{"/../x": "/tmp"}`}, nil, []string{"--directory-routes", `"/../x"`, "from flag"}, true},
		{"bad port from flag", []string{"--port", "0"}, nil, []string{"port", `"0"`, "flag --port", "1..65535"}, false},
		{"bad port from env", nil, []string{"PORT=abc"}, []string{"port", `"abc"`, "env PORT"}, false},
		{"bad port from file", []string{"--config", badPort}, nil, []string{"port", `"70000"`, badPort + ":1"}, false},
		{"unknown flag", []string{"--colour", "red"}, nil, []string{"command line", "-colour"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			port := 0
			args := c.args
			if c.port {
				port = testmedia.FreePort(t)
				args = append([]string{"--host", "127.0.0.1", "--port", strconv.Itoa(port)}, c.args...)
			}
			p := start(t, port, args, c.env...)
			code, _ := p.wait(5 * time.Second)
			if code != 2 {
				t.Errorf("exit status %d, want 2", code)
			}
			if p.sent("READY=1") {
				t.Error("READY=1 sent by a server that refused its configuration")
			}
			lines := p.stderr()
			if len(lines) != 1 {
				t.Fatalf("stderr has %d lines, want exactly 1:\n%s", len(lines), strings.Join(lines, "\n"))
			}
			if !strings.HasPrefix(lines[0], "config: ") || !containsAll(lines[0], c.want...) {
				t.Errorf("stderr %q\nwant a config: line containing %q", lines[0], c.want)
			}
			if port != 0 {
				// Nothing may have been bound: the port is still ours to take.
				ln, err := net.Listen("tcp", p.addr)
				if err != nil {
					t.Errorf("port %s not free after a config error: %v", p.addr, err)
				} else {
					ln.Close()
				}
				if conn, err := net.DialTimeout("tcp", p.addr, time.Second); err == nil {
					conn.Close()
					t.Errorf("something accepts connections on %s", p.addr)
				}
			}
		})
	}
}

// TestConfigFileNotRegular: --config naming a named pipe used to hang
// before signals were handled, and /dev/zero used to fill memory; both
// now stop at once with exit status 2 and one line naming the file.
func TestConfigFileNotRegular(t *testing.T) {
	t.Parallel()
	fifo := filepath.Join(t.TempDir(), "config.toml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, kind string }{{fifo, "named pipe"}, {"/dev/zero", "character device"}} {
		if t.Failed() {
			break // a server that reads a pipe would read /dev/zero until memory runs out
		}
		p := start(t, 0, []string{"--config", c.path})
		code, _ := p.wait(5 * time.Second)
		lines := p.stderr()
		if code != 2 || len(lines) != 1 || !containsAll(lines[0], "config file", c.path, "regular file", c.kind) {
			t.Errorf("--config %s: exit %d, stderr %q; want 2 and one line naming the file as a %s", c.path, code, lines, c.kind)
		}
	}
}

// --- 2. graceful shutdown ---

func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	testmedia.RequireTool(t, "ffmpeg")
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			// Only WAV files, so an ffmpeg encoder is always running.
			testmedia.WriteFile(t, dir, "a.wav", testmedia.WAV(20, 22050, 1, 16))
			testmedia.WriteFile(t, dir, "b.wav", testmedia.WAV(20, 22050, 1, 16))
			port := testmedia.FreePort(t)
			// Debug logs say how each listener left.
			p := start(t, port, []string{"--host", "127.0.0.1", "--port", strconv.Itoa(port), "--audio-dir", dir, "--log-level", "debug"})
			// Encoders the server leaves behind when it exits become this
			// process's children instead of init's, and so are seen below.
			subreaper := becomeSubreaper(t)
			p.playing()
			var ls []*listener
			for range 3 {
				ls = append(ls, p.listen("/"))
			}
			pid := p.cmd.Process.Pid
			encoders := waitForChildren(t, pid, "ffmpeg")
			maps.Copy(encoders, children(pid, "ffmpeg"))

			sent := p.signal(sig)
			ends := make(chan error, len(ls))
			for _, l := range ls {
				go func() { ends <- l.drain(10 * time.Second) }()
			}
			code, exited := p.wait(10 * time.Second)
			took := exited.Sub(sent)
			t.Logf("%v: exited %d after %v", sig, code, took.Round(time.Millisecond))
			if code != 0 {
				t.Errorf("exit status %d after %v, want 0", code, sig)
			}
			if took >= 5*time.Second {
				t.Errorf("shutdown took %v, want < 5s", took)
			}
			for range ls {
				if err := <-ends; !errors.Is(err, io.EOF) {
					t.Errorf("listener: %v, want the server to close the stream (EOF)", err)
				}
			}
			// The process exiting would close the sockets too: the log
			// shows that the server closed each one itself.
			for _, l := range ls {
				p.waitLine(time.Second, "listener disconnected", "remote="+l.conn.LocalAddr().String(), "server shutting down")
			}
			if !p.sent("STOPPING=1") {
				t.Error("no STOPPING=1 on NOTIFY_SOCKET during shutdown")
			}
			if alive := aliveOf(encoders); len(alive) > 0 {
				t.Errorf("encoders %v outlived the server", alive)
			}
			// The kernel kills encoders when the server dies (Pdeathsig), so
			// the check above holds anyway. An encoder the server did not
			// reap itself was handed to this process (the subreaper) when
			// the server exited.
			if subreaper {
				for _, id := range orphansOf(encoders) {
					t.Errorf("ffmpeg %d was not reaped by the server before it exited", id)
				}
			}
			p.waitLine(time.Second, "audio-streamer stopped")
			for _, l := range p.stderr() {
				if strings.Contains(l, "did not stop") {
					t.Errorf("shutdown was forced: %s", l)
				}
			}
		})
	}
}

// procStat is the part of /proc/PID/stat the shutdown test needs.
type procStat struct {
	comm      string
	state     byte
	ppid      int
	startTime string
}

func readStat(pid int) (procStat, bool) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	s := string(raw)
	// comm is in parentheses and may itself hold spaces or parentheses.
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return procStat{}, false
	}
	f := strings.Fields(s[closing+1:])
	if len(f) < 20 {
		return procStat{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	return procStat{comm: s[open+1 : closing], state: f[0][0], ppid: ppid, startTime: f[19]}, true
}

// children lists the live processes named comm whose parent is pid.
func children(pid int, comm string) map[int]procStat {
	out := map[int]procStat{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readStat(n); ok && st.ppid == pid && st.comm == comm && st.state != 'Z' {
			out[n] = st
		}
	}
	return out
}

// waitForChildren waits (bounded) until pid has a child named comm.
func waitForChildren(t *testing.T, pid int, comm string) map[int]procStat {
	t.Helper()
	if runtime.GOOS != "linux" {
		return nil
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c := children(pid, comm); len(c) > 0 {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s child of the server within 10s (a WAV track should be encoding)", comm)
		}
		time.Sleep(50 * time.Millisecond) // no event announces a child process
	}
}

// aliveOf returns those of procs that still run (same pid and start time,
// not a zombie).
func aliveOf(procs map[int]procStat) []int {
	var out []int
	for pid, was := range procs {
		if st, ok := readStat(pid); ok && st.startTime == was.startTime && st.state != 'Z' {
			out = append(out, pid)
		}
	}
	return out
}

// orphansOf returns those of procs (the server's children) that this
// process inherited, alive or dead, and reaps them.
func orphansOf(procs map[int]procStat) []int {
	var out []int
	for pid, was := range procs {
		if st, ok := readStat(pid); ok && st.startTime == was.startTime && st.ppid == os.Getpid() {
			out = append(out, pid)
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(pid, &ws, 0, nil) // killed by Pdeathsig: returns at once
		}
	}
	slices.Sort(out)
	return out
}

// --- 3. Sentry ---

func TestSentryReportsSkippedFile(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, envVar, want string
	}{
		{"default environment", "", "production"},
		{"ENVIRONMENT", "ENVIRONMENT=staging", "staging"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sink := testmedia.NewSentrySink(t)
			dir := t.TempDir()
			testmedia.WriteFile(t, dir, "a.mp3", track("A", 40))
			broken := testmedia.WriteFile(t, dir, "broken.mp3", []byte("these are notes, not audio\n"))
			testmedia.WriteFile(t, dir, "c.mp3", track("C", 40))
			port := testmedia.FreePort(t)
			env := []string{"SENTRY_DSN=" + sink.DSN}
			if c.envVar != "" {
				env = append(env, c.envVar)
			}
			p := start(t, port, []string{"--host", "127.0.0.1", "--port", strconv.Itoa(port), "--audio-dir", dir, "--shuffle=false"}, env...)
			p.ready()
			p.waitLine(10*time.Second, "skipping file", broken)
			// Shut down at once: the report must be flushed before exit.
			p.signal(syscall.SIGTERM)
			if code, _ := p.wait(10 * time.Second); code != 0 {
				t.Errorf("exit status %d, want 0", code)
			}
			events := sink.Received()
			var ev *testmedia.SentryEvent
			for i := range events {
				if strings.Contains(events[i].Text(), broken) {
					ev = &events[i]
				}
			}
			if ev == nil {
				t.Fatalf("no event naming %s had arrived when the server exited; got %d events: %+v", broken, len(events), events)
			}
			if !strings.Contains(ev.Text(), "no MPEG audio frames") {
				t.Errorf("exception %q does not say why the file was skipped", ev.Text())
			}
			if ev.Level != "error" {
				t.Errorf("level %q, want error", ev.Level)
			}
			if !strings.HasPrefix(ev.Release, "audio-streamer@") {
				t.Errorf("release %q, want audio-streamer@…", ev.Release)
			}
			if ev.Environment != c.want {
				t.Errorf("environment %q, want %q", ev.Environment, c.want)
			}
			if ev.Tags["route"] != "/" || ev.Tags["path"] != broken {
				t.Errorf("tags %v, want route / and path %s", ev.Tags, broken)
			}
		})
	}
}

func TestSentryReportsStartupFailure(t *testing.T) {
	t.Parallel()
	sink := testmedia.NewSentrySink(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	p := start(t, port, []string{"--host", "127.0.0.1", "--port", strconv.Itoa(port), "--audio-dir", t.TempDir()}, "SENTRY_DSN="+sink.DSN)
	if code, _ := p.wait(10 * time.Second); code != 1 {
		t.Errorf("exit status %d with the port in use, want 1", code)
	}
	p.waitLine(time.Second, "cannot listen", p.addr)
	events := sink.Received()
	if len(events) == 0 {
		t.Fatal("the startup failure had not reached Sentry when the process exited")
	}
	ev := events[0]
	if !containsAll(ev.Text(), "startup", p.addr, "address already in use") {
		t.Errorf("exception %q, want the listen failure with its address", ev.Text())
	}
	if ev.Environment != "production" || !strings.HasPrefix(ev.Release, "audio-streamer@") {
		t.Errorf("environment %q release %q", ev.Environment, ev.Release)
	}
}

// --- 4. logs ---

func TestJSONDebugLogs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := testmedia.WriteFile(t, dir, "one.mp3", track("Json Title", 60))
	port := testmedia.FreePort(t)
	p := start(t, port, []string{"--host", "127.0.0.1", "--port", strconv.Itoa(port), "--audio-dir", dir,
		"--log-format", "json", "--log-level", "debug"})
	p.playing()
	l := p.listen("/")
	remote := l.conn.LocalAddr().String()
	p.waitLine(5*time.Second, "listener connected", remote)
	l.conn.Close()
	p.waitLine(10*time.Second, "listener disconnected", remote)
	p.signal(syscall.SIGTERM)
	if code, _ := p.wait(10 * time.Second); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}

	found := map[string]map[string]any{}
	for i, line := range p.stderr() {
		var rec map[string]any
		// One object per line: Unmarshal refuses anything after it.
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("stderr line %d is not one JSON object: %q: %v", i+1, line, err)
			continue
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("line %d has no %q: %q", i+1, k, line)
			}
		}
		msg, _ := rec["msg"].(string)
		if _, dup := found[msg]; !dup {
			found[msg] = rec
		}
	}
	for _, w := range []struct {
		msg, level string
		attrs      map[string]string
	}{
		{"listener connected", "DEBUG", map[string]string{"route": "/", "remote": remote}},
		{"listener disconnected", "DEBUG", map[string]string{"route": "/", "remote": remote}},
		{"track started", "INFO", map[string]string{"route": "/", "path": path, "title": "Ops Test - Json Title"}},
	} {
		rec, ok := found[w.msg]
		if !ok {
			t.Errorf("no %q record", w.msg)
			continue
		}
		if rec["level"] != w.level {
			t.Errorf("%q at level %v, want %s", w.msg, rec["level"], w.level)
		}
		for k, v := range w.attrs {
			if rec[k] != v {
				t.Errorf("%q: %s = %v, want %q", w.msg, k, rec[k], v)
			}
		}
	}
}

// --- 5 and 6. /metrics, /healthz, /readyz; default text logs ---

func TestMetricsHealthAndTextLogs(t *testing.T) {
	t.Parallel()
	good, other := t.TempDir(), t.TempDir()
	// One-second tracks, so tracks_played moves within the test.
	testmedia.WriteFile(t, good, "a.mp3", track("A", 38))
	testmedia.WriteFile(t, good, "b.mp3", track("B", 38))
	testmedia.WriteFile(t, other, "broken.mp3", []byte("not audio"))
	testmedia.WriteFile(t, other, "fine.mp3", track("Fine", 38))
	port := testmedia.FreePort(t)
	routes := fmt.Sprintf(`{"other": %q}`, other)
	p := start(t, port, []string{"--host", "127.0.0.1", "--port", strconv.Itoa(port), "--audio-dir", good, "--directory-routes", routes})
	p.playing()
	if code, body := p.get("/healthz"); code != 200 || body != "OK" {
		t.Errorf("/healthz = %d %q, want 200 OK", code, body)
	}
	l := p.listen("/")
	go func() { _, _ = io.Copy(io.Discard, l.r) }() // keep up, so the server never drops it
	want := []string{
		"audio_stream_listeners", "audio_stream_bytes_sent_total", "audio_stream_track_seconds_total",
		"audio_stream_tracks_played_total", "audio_stream_files_skipped_total", "audio_stream_slow_listeners_dropped_total",
	}
	var fams map[string]map[string]float64
	pollUntil(t, "metrics moving", func() (bool, string) {
		fams = scrape(t, p, want)
		ok := fams["audio_stream_listeners"]["/"] == 1 && fams["audio_stream_listeners"]["/other"] == 0 &&
			fams["audio_stream_bytes_sent_total"]["/"] > 0 && fams["audio_stream_track_seconds_total"]["/"] > 0 &&
			fams["audio_stream_tracks_played_total"]["/"] >= 1 && fams["audio_stream_files_skipped_total"]["/other"] >= 1
		return ok, fmt.Sprint(fams)
	})
	if n := fams["audio_stream_files_skipped_total"]["/"]; n != 0 {
		t.Errorf("files_skipped{stream=\"/\"} = %v, want 0 (nothing there is broken)", n)
	}
	l.conn.Close()
	pollUntil(t, "listener gauge back to 0", func() (bool, string) {
		fams = scrape(t, p, want)
		return fams["audio_stream_listeners"]["/"] == 0, fmt.Sprint(fams["audio_stream_listeners"])
	})

	// The default log format is text at info level: no JSON, no debug lines.
	for _, line := range p.stderr() {
		if !strings.HasPrefix(line, "time=") || !strings.Contains(line, " level=") {
			t.Errorf("not a text log line: %q", line)
		}
		if strings.Contains(line, "level=DEBUG") || strings.Contains(line, "listener connected") {
			t.Errorf("debug output at the default level: %q", line)
		}
	}
}

// scrape parses /metrics with Prometheus' own text parser and returns, per
// wanted family, the value of each stream label.
func scrape(t *testing.T, p *proc, want []string) map[string]map[string]float64 {
	t.Helper()
	code, body := p.get("/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, body)
	}
	out := map[string]map[string]float64{}
	for _, name := range want {
		f, ok := fams[name]
		if !ok {
			t.Fatalf("/metrics has no %s", name)
		}
		typ := "COUNTER"
		if !strings.HasSuffix(name, "_total") {
			typ = "GAUGE"
		}
		if f.GetType().String() != typ {
			t.Errorf("%s is a %v, want %s", name, f.GetType(), typ)
		}
		out[name] = map[string]float64{}
		for _, m := range f.GetMetric() {
			stream := ""
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "stream" {
					stream = lp.GetValue()
				}
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			out[name][stream] = v
		}
		for _, st := range []string{"/", "/other"} {
			if _, ok := out[name][st]; !ok {
				t.Fatalf("%s has no stream=%q series: %v", name, st, out[name])
			}
		}
	}
	return out
}

// pollUntil retries cond (no event announces a counter change) for up to
// 10 s and fails with its last description.
func pollUntil(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, desc := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s; last: %s", what, desc)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestReadyzEmptyFolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port := testmedia.FreePort(t)
	p := start(t, port, []string{"--host", "127.0.0.1", "--port", strconv.Itoa(port), "--audio-dir", dir})
	p.ready()
	p.waitLine(5*time.Second, "nothing to play")
	if code, body := p.get("/readyz"); code != 503 {
		t.Errorf("/readyz with an empty folder = %d %q, want 503", code, body)
	}
	if code, body := p.get("/healthz"); code != 200 || body != "OK" {
		t.Errorf("/healthz = %d %q, want 200 OK (alive even with nothing to play)", code, body)
	}
	// The same server becomes ready once a track appears and is reloaded.
	// Polled: READY=1 is sent once, at startup, and nothing announces
	// the end of a reload.
	testmedia.WriteFile(t, dir, "late.mp3", track("Late", 40))
	p.signal(syscall.SIGHUP)
	pollUntil(t, "/readyz 200 after SIGHUP", func() (bool, string) {
		code, body := p.get("/readyz")
		return code == 200, fmt.Sprintf("%d %q", code, body)
	})
}

// --- 7. the README's first command ---

func TestNoArgumentsPlaysDemo(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/app/audio"); err == nil {
		t.Skip("/app/audio exists here, so the server plays it instead of the demo")
	}
	port := testmedia.FreePort(t)
	// Only --port: the README runs it bare. HOST keeps it off other interfaces.
	p := start(t, port, []string{"--port", strconv.Itoa(port)}, "HOST=127.0.0.1")
	p.playing()
	p.waitLine(time.Second, "bundled demo station")
	p.waitLine(time.Second, "track started", "audio-streamer-demo-")
	l := p.listen("/")
	if !strings.Contains(strings.ToLower(l.head), "content-type: audio/mpeg") {
		t.Errorf("head %q, want Content-Type audio/mpeg", l.head)
	}
	if l.first[0] != 0xFF || l.first[1]&0xE0 != 0xE0 {
		t.Errorf("stream starts % x, want an MPEG frame sync", l.first)
	}
}

// openFIFO makes a named pipe and opens it for reading and writing, which
// on Linux never blocks: the fake encoder below and the test signal each
// other through such pipes.
func openFIFO(t *testing.T, path string) *os.File {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// The server answers health probes while a station is still starting,
// and tells the service manager READY=1 only once it plays.
func TestServesBeforeStationsAreReady(t *testing.T) {
	t.Parallel()
	ffmpeg := testmedia.RequireTool(t, "ffmpeg")
	music, work := t.TempDir(), t.TempDir()
	testmedia.WriteFile(t, music, "a.wav", testmedia.WAV(20, 22050, 1, 16))
	started := openFIFO(t, filepath.Join(work, "started"))
	gate := openFIFO(t, filepath.Join(work, "gate"))
	released := filepath.Join(work, "released")
	// The encoder says it was started, then waits for the gate (until the
	// test has released it once) before running the real ffmpeg. Its
	// capability check at start-up passes straight through.
	script := filepath.Join(work, "slow-ffmpeg")
	body := fmt.Sprintf("#!/bin/sh\ncase \" $* \" in *\" -h \"*) exec '%s' \"$@\";; esac\necho > '%s'\n[ -e '%s' ] || read _ < '%s'\nexec '%s' \"$@\"\n",
		ffmpeg, started.Name(), released, gate.Name(), ffmpeg)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	port := testmedia.FreePort(t)
	p := start(t, port, []string{"--host", "127.0.0.1", "--port", strconv.Itoa(port), "--audio-dir", music, "--ffmpeg-path", script})

	// The station's encoder has been started, so the server has listened.
	if err := started.SetReadDeadline(time.Now().Add(15 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := started.Read(make([]byte, 1)); err != nil {
		t.Fatalf("the station never started its encoder: %v", err)
	}
	if code, body := p.get("/healthz"); code != 200 || body != "OK" {
		t.Errorf("/healthz while the station starts = %d %q, want 200 OK", code, body)
	}
	p.mu.Lock()
	early := slices.Contains(p.states, "READY=1")
	p.mu.Unlock()
	if early {
		t.Error("READY=1 sent before the station plays and before /healthz answered")
	}

	if err := os.WriteFile(released, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := gate.WriteString(strings.Repeat("go\n", 8)); err != nil { // one per encoder waiting
		t.Fatal(err)
	}
	p.playing()
}
