package programme

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aposazhennikov/stream-audio-to-web/internal/schedule"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// Status names the show on the air and the next, the queue and what comes
// next, and never an absolute path.
func TestStatus(t *testing.T) {
	clock := newFakeClock(ts(t, "2025-06-02T07:30:00Z"))
	st, jazz, jingles := lib(t, files("s", 4)...), lib(t, files("w", 2)...), lib(t, "id.mp3")
	p := newProgramme(t, Options{
		Name: "Radio", Library: st, Music: station(st), Clock: clock,
		Schedule: mustSchedule(t, st.Dir(),
			slot(t, schedule.Spec{Name: "Jazz", Days: "daily", Start: "07:00", End: "09:00", Zone: "Europe/Berlin", Plays: jazz.Dir()})),
		Shows:   map[string]Music{jazz.Dir(): {Library: jazz}},
		Jingles: Music{Library: jingles}, JingleEvery: 1,
	})
	s := p.Status()
	// 09:30 in Berlin: the default plays, then Jazz tomorrow.
	if s.Show == nil || !s.Show.Default || s.Show.Plays != baseName(st.Dir()) || s.NextShow == nil || s.NextShow.Name != "Jazz" ||
		s.NextShow.Start != "2025-06-03T07:00:00+02:00" || s.NextUp != nil || len(s.Queue) != 0 {
		t.Fatalf("status %+v, show %+v, next %+v", s, s.Show, s.NextShow)
	}

	clock.set(ts(t, "2025-06-02T05:30:00Z")) // 07:30 in Berlin
	e := enqueue(t, p, "s03.mp3")[0]
	s = p.Status()
	if s.Show.Name != "Jazz" || s.Show.Plays != baseName(jazz.Dir()) || !s.NextShow.Default || s.Show.Start != "2025-06-02T07:00:00+02:00" {
		t.Fatalf("during the show: %+v, next %+v", s.Show, s.NextShow)
	}
	if s.NextUp == nil || *s.NextUp != (Upcoming{Kind: mount.KindRequest, ID: e.ID, Rel: "s03.mp3", Title: "Title of s03.mp3", Show: "Jazz"}) {
		t.Fatalf("next up %+v", s.NextUp)
	}
	next(t, p) // the request
	if s = p.Status(); s.NextUp == nil || *s.NextUp != (Upcoming{Kind: mount.KindJingle, Title: "Radio", Show: "Jazz"}) {
		t.Fatalf("next up after a track with jingle_every 1: %+v", s.NextUp)
	}

	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{st.Dir(), jazz.Dir(), jingles.Dir()} {
		if strings.Contains(string(data), dir) {
			t.Fatalf("status JSON names %s: %s", dir, data)
		}
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"show", "next_show", "queue", "next_up"} {
		if _, ok := keys[k]; !ok {
			t.Fatalf("status JSON has no %q: %s", k, data)
		}
	}
}

func baseName(dir string) string { return filepath.Base(dir) }

// Without a schedule there is no show, and the queue is an empty list,
// not null.
func TestStatusWithoutSchedule(t *testing.T) {
	p := queueStation(t, Options{})
	data, err := json.Marshal(p.Status())
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != `{"queue":[]}` {
		t.Fatalf("status %s", data)
	}
}
