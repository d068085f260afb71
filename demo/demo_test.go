package demo

import (
	"os"
	"path/filepath"
	"testing"
)

func TestExtract(t *testing.T) {
	parent := t.TempDir()
	dir, err := Extract(parent)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := filepath.Glob(filepath.Join(dir, "*.mp3"))
	if len(got) != 3 {
		t.Fatalf("extracted %d tracks, want 3", len(got))
	}
	for _, p := range got {
		b, err := os.ReadFile(p)
		if err != nil || len(b) < 100_000 || string(b[:3]) != "ID3" {
			t.Fatalf("%s: %d bytes, %v", p, len(b), err)
		}
	}
	again, err := Extract(parent)
	if err != nil || again != dir {
		t.Fatalf("second extract gave %q, %v", again, err)
	}
}
