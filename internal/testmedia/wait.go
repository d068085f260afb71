package testmedia

import (
	"testing"
	"time"
)

// PollUntil checks cond every 20 ms until it holds, failing the test after
// limit: for conditions that have no signal to wait on (counters, goroutines
// exiting, another process getting ready).
func PollUntil(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
