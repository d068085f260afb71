package playlist

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// writeTracks creates one small file per name under dir.
func writeTracks(t testing.TB, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// newTestLibrary scans a fresh folder holding names.
func newTestLibrary(t testing.TB, names ...string) (*Library, string) {
	t.Helper()
	dir := t.TempDir()
	writeTracks(t, dir, names...)
	lib := NewLibrary(dir, LibraryOptions{})
	if len(names) > 0 {
		mustScan(t, lib)
	}
	return lib, dir
}

func mustScan(t testing.TB, lib *Library) ScanResult {
	t.Helper()
	res, err := lib.Scan()
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return res
}

// track returns lib's track with path rel.
func track(t testing.TB, lib *Library, rel string) Track {
	t.Helper()
	for _, tr := range lib.Tracks() {
		if tr.Rel == rel {
			return tr
		}
	}
	t.Fatalf("no track %q", rel)
	return Track{}
}

// upcoming is what is left of o's current cycle, in play order, as its
// Snapshot shows it.
func upcoming(o *Order) []string {
	st := o.Snapshot()
	return st.Order[st.Pos:]
}

func rels(ts []Track) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Rel
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func skipReason(res ScanResult, path string) (string, bool) {
	for _, s := range res.Skipped {
		if s.Path == path {
			return s.Reason, true
		}
	}
	return "", false
}

// logBuffer is a concurrency-safe sink for a test logger.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newTestLogger(b *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
