package reporting

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// sentEvent is the part of a Sentry event these tests look at.
type sentEvent struct {
	Level       string            `json:"level"`
	Release     string            `json:"release"`
	Environment string            `json:"environment"`
	Tags        map[string]string `json:"tags"`
	Exception   []struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"exception"`
}

// text is every exception value of the event, outermost last as the SDK
// lists them, joined for substring checks.
func (e sentEvent) text() string {
	var parts []string
	for _, x := range e.Exception {
		parts = append(parts, x.Value)
	}
	return strings.Join(parts, " | ")
}

// sink is a local Sentry endpoint: it decodes the envelopes the SDK posts
// and hands every "event" item to events.
type sink struct {
	dsn    string
	events chan sentEvent
}

func newSink(t *testing.T) *sink {
	t.Helper()
	s := &sink{events: make(chan sentEvent, 100)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("sentry sink: %v", err)
			return
		}
		if !strings.HasSuffix(r.URL.Path, "/envelope/") {
			t.Errorf("sentry sink: unexpected path %s", r.URL.Path)
		}
		items, err := envelopeItems(body)
		if err != nil {
			t.Errorf("sentry sink: %v in %q", err, body)
		}
		for _, it := range items {
			if it.typ != "event" {
				continue
			}
			var ev sentEvent
			if err := json.Unmarshal(it.payload, &ev); err != nil {
				t.Errorf("sentry sink: event: %v", err)
				continue
			}
			s.events <- ev
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	s.dsn = "http://public@" + srv.Listener.Addr().String() + "/1"
	return s
}

// next returns the next event, failing the test after a bounded wait.
func (s *sink) next(t *testing.T) sentEvent {
	t.Helper()
	select {
	case ev := <-s.events:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event reached the local Sentry endpoint within 10s")
		return sentEvent{}
	}
}

type envelopeItem struct {
	typ     string
	payload []byte
}

// envelopeItems splits a Sentry envelope: a header line, then per item a
// header line and a payload of "length" bytes (or up to the next newline).
func envelopeItems(body []byte) ([]envelopeItem, error) {
	r := bufio.NewReader(bytes.NewReader(body))
	if _, err := r.ReadBytes('\n'); err != nil {
		return nil, fmt.Errorf("envelope header: %w", err)
	}
	var out []envelopeItem
	for {
		line, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) == 0 {
			if err == io.EOF {
				return out, nil
			}
			if err != nil {
				return nil, err
			}
			continue
		}
		var h struct {
			Type   string `json:"type"`
			Length *int   `json:"length"`
		}
		if err := json.Unmarshal(line, &h); err != nil {
			return nil, fmt.Errorf("item header %q: %w", line, err)
		}
		var payload []byte
		if h.Length != nil {
			payload = make([]byte, *h.Length)
			if _, err := io.ReadFull(r, payload); err != nil {
				return nil, fmt.Errorf("item payload: %w", err)
			}
		} else {
			payload, err = r.ReadBytes('\n')
			if err != nil && err != io.EOF {
				return nil, err
			}
		}
		out = append(out, envelopeItem{typ: h.Type, payload: bytes.TrimSpace(payload)})
	}
}

func TestErrorSendsEventWithTags(t *testing.T) {
	s := newSink(t)
	r, err := New(s.dsn, "audio-streamer@test", "staging")
	if err != nil {
		t.Fatal(err)
	}
	r.Error(fmt.Errorf("skipped /music/a.mp3: %w", errors.New("no MPEG audio frames found")),
		map[string]string{"route": "/humor", "path": "/music/a.mp3"})
	if !r.Flush(5 * time.Second) {
		t.Fatal("Flush timed out")
	}
	ev := s.next(t)
	if ev.Level != "error" {
		t.Errorf("level = %q, want error", ev.Level)
	}
	if ev.Release != "audio-streamer@test" || ev.Environment != "staging" {
		t.Errorf("release, environment = %q, %q; want audio-streamer@test, staging", ev.Release, ev.Environment)
	}
	if ev.Tags["route"] != "/humor" || ev.Tags["path"] != "/music/a.mp3" {
		t.Errorf("tags = %v, want route /humor and path /music/a.mp3", ev.Tags)
	}
	if txt := ev.text(); !strings.Contains(txt, "skipped /music/a.mp3: no MPEG audio frames found") {
		t.Errorf("exception = %q, want the whole error text", txt)
	}
}

func TestPanicIsFatalWithTags(t *testing.T) {
	s := newSink(t)
	r, err := New(s.dsn, "audio-streamer@test", "production")
	if err != nil {
		t.Fatal(err)
	}
	r.Panic("index out of range [3] with length 2", map[string]string{"route": "/"})
	r.Panic(errors.New("boom"), nil)
	if !r.Flush(5 * time.Second) {
		t.Fatal("Flush timed out")
	}
	got := map[string]sentEvent{}
	for range 2 {
		ev := s.next(t)
		got[ev.text()] = ev
	}
	for text, route := range map[string]string{"panic: index out of range [3] with length 2": "/", "panic: boom": ""} {
		var ev *sentEvent
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
	s := newSink(t)
	r, err := New(s.dsn, "audio-streamer@test", "production")
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
		ev := s.next(t)
		id := ev.Tags["path"]
		if !strings.Contains(ev.text(), "file "+id) || len(ev.Tags) != 1 {
			t.Errorf("event %q carries tags %v", ev.text(), ev.Tags)
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
	s := newSink(t)
	r, err := New(s.dsn, "audio-streamer@test", "production")
	if err != nil {
		t.Fatal(err)
	}
	r.Error(nil, map[string]string{"route": "/"})
	r.Error(errors.New("marker"), nil)
	r.Flush(5 * time.Second)
	if ev := s.next(t); !strings.Contains(ev.text(), "marker") {
		t.Errorf("first event = %q; a nil error must send nothing", ev.text())
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
	s := newSink(t)
	lost := 0
	for i := range 300 {
		r, err := New(s.dsn, "audio-streamer@test", "production")
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
		select {
		case ev := <-s.events:
			if want := "just before exit " + strconv.Itoa(i); !strings.Contains(ev.text(), want) {
				t.Fatalf("event %q, want %q", ev.text(), want)
			}
		default:
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("Flush returned before the event was delivered %d times in 300", lost)
	}
}
