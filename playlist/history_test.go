package playlist

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestHistoryNewestFirstAndBounded(t *testing.T) {
	h := NewHistory(100)
	if len(h.List()) != 0 {
		t.Fatal("new history not empty")
	}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 150 {
		h.Add(Entry{Rel: fmt.Sprint(i), Title: "T", Start: base.Add(time.Duration(i) * time.Minute)})
	}
	l := h.List()
	if len(l) != 100 {
		t.Fatalf("len %d, want 100", len(l))
	}
	for k, e := range l {
		if want := fmt.Sprint(149 - k); e.Rel != want {
			t.Fatalf("entry %d = %q, want %q", k, e.Rel, want)
		}
	}
	// List is a copy.
	l[0].Rel = "changed"
	if h.List()[0].Rel != "149" {
		t.Fatal("List exposed internal state")
	}
}

func TestHistoryPartialAndDefault(t *testing.T) {
	h := NewHistory(0)
	h.Add(Entry{Rel: "a"})
	h.Add(Entry{Rel: "b"})
	if l := h.List(); len(l) != 2 || l[0].Rel != "b" || l[1].Rel != "a" {
		t.Fatalf("list %+v", l)
	}
	for i := range DefaultHistorySize + 5 {
		h.Add(Entry{Rel: fmt.Sprint(i)})
	}
	if n := len(h.List()); n != DefaultHistorySize {
		t.Fatalf("default size holds %d", n)
	}
}

func TestHistoryConcurrent(t *testing.T) {
	h := NewHistory(10)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				h.Add(Entry{Rel: fmt.Sprint(g, i)})
				if len(h.List()) > 10 {
					t.Error("history grew past its size")
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := len(h.List()); n != 10 {
		t.Fatalf("len %d", n)
	}
}
