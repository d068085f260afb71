//go:build linux

package playlist

import (
	"path/filepath"
	"syscall"
	"testing"
)

func TestScanSkipsFIFO(t *testing.T) {
	lib, dir := newTestLibrary(t, "ok.mp3")
	// A FIFO named like audio would block a reader forever if opened.
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.mp3"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	res := mustScan(t, lib)
	if lib.Contains("pipe.mp3") || lib.Len() != 1 {
		t.Fatalf("tracks %q", rels(lib.Tracks()))
	}
	if r, _ := skipReason(res, "pipe.mp3"); r != ReasonNotRegular {
		t.Fatalf("reason %q, want %q", r, ReasonNotRegular)
	}
}
