package testmedia

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// SentryEvent is the part of a Sentry event the tests look at.
type SentryEvent struct {
	Level       string            `json:"level"`
	Release     string            `json:"release"`
	Environment string            `json:"environment"`
	Tags        map[string]string `json:"tags"`
	Exception   []struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"exception"`
}

// Text is every exception value of the event, outermost last as the SDK
// lists them, joined for substring checks.
func (e SentryEvent) Text() string {
	var parts []string
	for _, x := range e.Exception {
		parts = append(parts, x.Value)
	}
	return strings.Join(parts, " | ")
}

// SentrySink is a local Sentry endpoint: an httptest server that decodes
// the envelopes the real SDK posts and queues every "event" item. It is
// closed when the test ends.
type SentrySink struct {
	DSN    string // points the SDK (or the binary's SENTRY_DSN) here
	events chan SentryEvent
}

// NewSentrySink starts a sink; a malformed envelope fails the test.
func NewSentrySink(t testing.TB) *SentrySink {
	t.Helper()
	s := &SentrySink{events: make(chan SentryEvent, 100)}
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
			var ev SentryEvent
			if err := json.Unmarshal(it.payload, &ev); err != nil {
				t.Errorf("sentry sink: event: %v", err)
				continue
			}
			select {
			case s.events <- ev:
			default: // never block the SDK (and the test's cleanup) on a full queue
				t.Errorf("sentry sink: more than %d events not read by the test", cap(s.events))
			}
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	s.DSN = "http://public@" + srv.Listener.Addr().String() + "/1"
	return s
}

// Next returns the next event, failing the test after a bounded wait.
func (s *SentrySink) Next(t testing.TB) SentryEvent {
	t.Helper()
	select {
	case ev := <-s.events:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event reached the local Sentry endpoint within 10s")
		return SentryEvent{}
	}
}

// Received returns the events that have arrived so far, without waiting:
// for callers that already know delivery is over (the reporter flushed, the
// process exited).
func (s *SentrySink) Received() []SentryEvent {
	var out []SentryEvent
	for {
		select {
		case ev := <-s.events:
			out = append(out, ev)
		default:
			return out
		}
	}
}

// TryNext returns the next event if one has arrived, without waiting.
func (s *SentrySink) TryNext() (SentryEvent, bool) {
	select {
	case ev := <-s.events:
		return ev, true
	default:
		return SentryEvent{}, false
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
