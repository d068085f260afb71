package main

import (
	"testing"

	"golang.org/x/sys/unix"
)

// becomeSubreaper makes this test process the reaper of its descendants'
// orphans (PR_SET_CHILD_SUBREAPER): a server that exits without reaping an
// encoder hands it to this process, where /proc shows it as our child. It
// is process-wide and stays on; Go's exec only waits for its own pids.
func becomeSubreaper(t *testing.T) bool {
	t.Helper()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("prctl(PR_SET_CHILD_SUBREAPER): %v", err)
	}
	return true
}
