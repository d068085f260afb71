package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeHLS serves a live playlist whose window moves on by step segments
// at every playlist request (so how far clients fall behind does not
// depend on timing), listing window segments of 1000 bytes each.
func fakeHLS(t *testing.T, step, window int) string {
	t.Helper()
	var mu sync.Mutex
	first := 100
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".mp3") {
			_, _ = w.Write(make([]byte, 1000))
			return
		}
		mu.Lock()
		first += step
		seq := first
		mu.Unlock()
		var b strings.Builder
		fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:%d\n", seq)
		for i := range window {
			fmt.Fprintf(&b, "#EXTINF:1.000,\nhls/%d.mp3\n", seq+i)
		}
		_, _ = w.Write([]byte(b.String()))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/station.m3u8"
}

func TestHLSClientsKeepUp(t *testing.T) {
	url := fakeHLS(t, 0, 4) // a window that never moves: nothing to miss
	rep, err := benchHLS(context.Background(), config{URL: url, Listeners: 5, Rate: 1000, Duration: 1200 * time.Millisecond,
		ConnectTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// Each client starts three segments from the end and fetches them once.
	if rep.KeptUp != 5 || rep.Missed != 0 || rep.Segments != 15 || rep.Bytes != 15000 || len(rep.Errors) > 0 {
		t.Fatalf("%+v", rep)
	}
}

func TestHLSClientsThatFallBehindAreCounted(t *testing.T) {
	url := fakeHLS(t, 10, 3) // moves on 10 segments at each reload: 7 missed each time
	rep, err := benchHLS(context.Background(), config{URL: url, Listeners: 1, Rate: 1000, Duration: 700 * time.Millisecond,
		ConnectTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if rep.KeptUp != 0 || rep.Missed == 0 || rep.Missed%7 != 0 {
		t.Fatalf("%+v", rep)
	}
}

func TestHLSRefusesRemoteTargets(t *testing.T) {
	if _, err := benchHLS(context.Background(), config{URL: "http://192.0.2.1/x.m3u8", Listeners: 1, Rate: 1}); err == nil {
		t.Fatal("a non-loopback target was accepted")
	}
}
