package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	v := make([]float64, 200)
	for i := range v {
		v[i] = float64(i + 1)
	}
	for p, want := range map[float64]float64{0: 1, 1: 2, 50: 100, 99: 198, 100: 200} {
		if got := percentile(v, p); got != want {
			t.Errorf("p%g = %g, want %g", p, got, want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("empty: %g", got)
	}
	d := dist([]float64{5, 1, 3})
	if d.P50 != 3 || d.Max != 5 || d.N != 3 {
		t.Errorf("dist = %+v", d)
	}
}

func TestMedian(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("odd: %g", m)
	}
	if m := median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("even: %g", m)
	}
}

func TestParseStat(t *testing.T) {
	// The command name holds spaces and a ')'.
	line := "4242 (a b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 567 0 0 20 0 7 0 100 1000 50 18446744073709551615\n"
	user, sys, threads, err := parseStat([]byte(line))
	if err != nil || user != 1234 || sys != 567 || threads != 7 {
		t.Fatalf("parseStat = %d %d %d %v, want 1234 567 7", user, sys, threads, err)
	}
	if _, _, _, err := parseStat([]byte("1 (x) S 1")); err == nil {
		t.Error("short stat accepted")
	}
	rss, err := parseRSS([]byte("Name:\tx\nVmHWM:\t  900 kB\nVmRSS:\t  812 kB\n"))
	if err != nil || rss != 812 {
		t.Fatalf("parseRSS = %d %v", rss, err)
	}
}

func TestReadProcSelf(t *testing.T) {
	p, err := openProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	s1, err := p.sample()
	if err != nil {
		t.Fatal(err)
	}
	if s1.rssKiB <= 0 || s1.threads <= 0 {
		t.Fatalf("own process: rss %d KiB, %d threads", s1.rssKiB, s1.threads)
	}
	// The files stay open and give fresh numbers: burn some CPU (bounded)
	// until the tick counter moves.
	deadline := time.Now().Add(5 * time.Second)
	s2 := s1
	for x := 0; s2.cpu == s1.cpu && time.Now().Before(deadline); x++ {
		for i := range 1_000_000 {
			x ^= i
		}
		if s2, err = p.sample(); err != nil {
			t.Fatal(err)
		}
	}
	if s2.cpu <= s1.cpu {
		t.Errorf("CPU time did not move: %v then %v", s1.cpu, s2.cpu)
	}
	if _, err := openProc(-1); err == nil {
		t.Error("no error for a process that does not exist")
	}
}

func TestPIDFile(t *testing.T) {
	dir := t.TempDir()
	good, bad := dir+"/good", dir+"/bad"
	for path, data := range map[string]string{good: "1234\n", bad: "x"} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if pid, err := readPIDFile(good); err != nil || pid != 1234 {
		t.Errorf("good: %d %v", pid, err)
	}
	if _, err := readPIDFile(bad); err == nil {
		t.Error("bad pid file accepted")
	}
}

func TestTable(t *testing.T) {
	mk := func(label string, cpu float64, connected int) *Report {
		return &Report{Label: label, Listeners: 1000, Connected: connected, Server: &ProcReport{CPUSteadyPct: cpu}}
	}
	reps := []*Report{
		mk("icecast", 10, 1000), mk("icecast", 12, 1000), mk("icecast", 30, 1000),
		mk("ours", 5, 1000), mk("ours", 4, 999), mk("ours", 6, 1000),
	}
	var b bytes.Buffer
	writeTable(&b, reps, "icecast")
	out := b.String()
	for _, want := range []string{
		"### 1000 listeners (median of runs: ours 3, icecast 3)",
		"| metric | ours | icecast | ours / icecast |",
		"| server CPU steady % of a core | 5.00 | 12.00 | 0.42 |",
		"| connected | 1000 | 1000 | 1.00 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "TTFB p99") {
		t.Errorf("rows that are zero everywhere are kept:\n%s", out)
	}
}
