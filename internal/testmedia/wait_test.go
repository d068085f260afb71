package testmedia

import (
	"testing"
	"time"
)

func TestPollUntilReturnsOnceCondHolds(t *testing.T) {
	calls := 0
	PollUntil(t, 10*time.Second, "the third call", func() bool { calls++; return calls == 3 })
	if calls != 3 {
		t.Errorf("cond called %d times, want 3", calls)
	}
}
