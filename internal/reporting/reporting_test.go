package reporting

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

func TestErrorSendsEventWithTags(t *testing.T) {
	s := testmedia.NewSentrySink(t)
	r, err := New(s.DSN, "audio-streamer@test", "staging")
	if err != nil {
		t.Fatal(err)
	}
	r.Error(fmt.Errorf("skipped /music/a.mp3: %w", errors.New("no MPEG audio frames found")),
		map[string]string{"route": "/humor", "path": "/music/a.mp3"})
	if !r.Flush(5 * time.Second) {
		t.Fatal("Flush timed out")
	}
	ev := s.Next(t)
	if ev.Level != "error" {
		t.Errorf("level = %q, want error", ev.Level)
	}
	if ev.Release != "audio-streamer@test" || ev.Environment != "staging" {
		t.Errorf("release, environment = %q, %q; want audio-streamer@test, staging", ev.Release, ev.Environment)
	}
	if ev.Tags["route"] != "/humor" || ev.Tags["path"] != "/music/a.mp3" {
		t.Errorf("tags = %v, want route /humor and path /music/a.mp3", ev.Tags)
	}
	if txt := ev.Text(); !strings.Contains(txt, "skipped /music/a.mp3: no MPEG audio frames found") {
		t.Errorf("exception = %q, want the whole error text", txt)
	}
}

func TestPanicIsFatalWithTags(t *testing.T) {
	s := testmedia.NewSentrySink(t)
	r, err := New(s.DSN, "audio-streamer@test", "production")
	if err != nil {
		t.Fatal(err)
	}
	r.Panic("index out of range [3] with length 2", map[string]string{"route": "/"})
	r.Panic(errors.New("boom"), nil)
	if !r.Flush(5 * time.Second) {
		t.Fatal("Flush timed out")
	}
	got := map[string]testmedia.SentryEvent{}
	for range 2 {
		ev := s.Next(t)
		got[ev.Text()] = ev
	}
	for text, route := range map[string]string{"panic: index out of range [3] with length 2": "/", "panic: boom": ""} {
		var ev *testmedia.SentryEvent
		for k, e := range got {
			if strings.Contains(k, text) {
				ev = &e
			}
		}
		if ev == nil {
			t.Errorf("no event with %q among %v", text, got)
			continue
		}
		if ev.Level != "fatal" {
			t.Errorf("%q: level = %q, want fatal", text, ev.Level)
		}
		if ev.Tags["route"] != route {
			t.Errorf("%q: route tag = %q, want %q", text, ev.Tags["route"], route)
		}
	}
}

// Stations report from their own goroutines at once; every event must
// carry its own tags, not those of a report made at the same moment.
func TestConcurrentReportsKeepTheirTags(t *testing.T) {
	s := testmedia.NewSentrySink(t)
	r, err := New(s.DSN, "audio-streamer@test", "production")
	if err != nil {
		t.Fatal(err)
	}
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id := strconv.Itoa(i)
			r.Error(errors.New("file "+id), map[string]string{"path": id})
		})
	}
	wg.Wait()
	if !r.Flush(10 * time.Second) {
		t.Fatal("Flush timed out")
	}
	seen := map[string]bool{}
	for range n {
		ev := s.Next(t)
		id := ev.Tags["path"]
		if !strings.Contains(ev.Text(), "file "+id) || len(ev.Tags) != 1 {
			t.Errorf("event %q carries tags %v", ev.Text(), ev.Tags)
		}
		seen[id] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct events, want %d", len(seen), n)
	}
}

func TestNilReporterIsNoOp(t *testing.T) {
	r, err := New("", "audio-streamer@test", "production")
	if err != nil || r != nil {
		t.Fatalf("New(\"\") = %v, %v; want nil, nil (reporting off)", r, err)
	}
	r.Error(errors.New("x"), map[string]string{"route": "/"})
	r.Panic("y", nil)
	if !r.Flush(time.Second) {
		t.Error("Flush on a nil Reporter = false, want true")
	}
}

func TestErrorIgnoresNil(t *testing.T) {
	s := testmedia.NewSentrySink(t)
	r, err := New(s.DSN, "audio-streamer@test", "production")
	if err != nil {
		t.Fatal(err)
	}
	r.Error(nil, map[string]string{"route": "/"})
	r.Error(errors.New("marker"), nil)
	r.Flush(5 * time.Second)
	if ev := s.Next(t); !strings.Contains(ev.Text(), "marker") {
		t.Errorf("first event = %q; a nil error must send nothing", ev.Text())
	}
}

func TestBadDSN(t *testing.T) {
	if _, err := New("not a dsn", "r", "e"); err == nil {
		t.Error("New accepted a malformed DSN")
	}
}

// TestFlushDeliversAtOnce is the shutdown path: a report made just before
// Flush must have reached the endpoint when Flush returns, whatever the
// interleaving with the SDK's goroutines (the yields vary it).
func TestFlushDeliversAtOnce(t *testing.T) {
	s := testmedia.NewSentrySink(t)
	lost := 0
	for i := range 300 {
		r, err := New(s.DSN, "audio-streamer@test", "production")
		if err != nil {
			t.Fatal(err)
		}
		r.Error(errors.New("just before exit "+strconv.Itoa(i)), nil)
		for range i % 50 {
			runtime.Gosched()
		}
		if !r.Flush(5 * time.Second) {
			t.Fatal("Flush timed out")
		}
		if ev, ok := s.TryNext(); !ok {
			lost++
		} else if want := "just before exit " + strconv.Itoa(i); !strings.Contains(ev.Text(), want) {
			t.Fatalf("event %q, want %q", ev.Text(), want)
		}
	}
	if lost > 0 {
		t.Errorf("Flush returned before the event was delivered %d times in 300", lost)
	}
}
