package testmedia

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// An envelope as the SDK writes it: items with and without a length, and
// items that are not events (which the sink must pass over).
func TestSentrySinkDecodesEnvelopes(t *testing.T) {
	s := NewSentrySink(t)
	if _, ok := s.TryNext(); ok {
		t.Fatal("TryNext returned an event before anything was sent")
	}
	first := `{"level":"error","release":"r@1","environment":"staging","tags":{"route":"/"},"exception":[{"type":"T","value":"inner"},{"value":"outer"}]}`
	body := `{"event_id":"x","dsn":"` + s.DSN + `"}` + "\n" +
		`{"type":"event","length":` + strconv.Itoa(len(first)) + `}` + "\n" + first + "\n" +
		`{"type":"client_report"}` + "\n" + `{"discarded_events":[]}` + "\n" +
		`{"type":"event"}` + "\n" + `{"level":"fatal"}`
	dsn, err := url.Parse(s.DSN)
	if err != nil {
		t.Fatal(err)
	}
	// Where the SDK posts for project 1.
	resp, err := http.Post("http://"+dsn.Host+"/api/1/envelope/", "application/x-sentry-envelope", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	ev := s.Next(t)
	if ev.Level != "error" || ev.Release != "r@1" || ev.Environment != "staging" || ev.Tags["route"] != "/" {
		t.Errorf("first event = %+v", ev)
	}
	if ev.Text() != "inner | outer" {
		t.Errorf("Text() = %q, want %q", ev.Text(), "inner | outer")
	}
	got := s.Received()
	if len(got) != 1 || got[0].Level != "fatal" {
		t.Errorf("Received() = %+v, want the one fatal event", got)
	}
}

func TestEnvelopeItemsRejectsBadHeader(t *testing.T) {
	if _, err := envelopeItems([]byte("{}\nnot json\n")); err == nil {
		t.Error("an item header that is not JSON was accepted")
	}
}
