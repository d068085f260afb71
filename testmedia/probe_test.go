package testmedia

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"
)

func TestServeLoopbackStopsServeWhenTheTestEnds(t *testing.T) {
	stopped := make(chan struct{})
	t.Run("serving", func(t *testing.T) {
		addr := ServeLoopback(t, func(ctx context.Context, ln net.Listener) error {
			go func() { <-ctx.Done(); ln.Close() }()
			for {
				c, err := ln.Accept()
				if err != nil {
					close(stopped)
					return nil
				}
				c.Close()
			}
		})
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	})
	select {
	case <-stopped:
	default:
		t.Error("serve was still running after the test's cleanup")
	}
}

func TestPollUntilReturnsOnceCondHolds(t *testing.T) {
	calls := 0
	PollUntil(t, 10*time.Second, "the third call", func() bool { calls++; return calls == 3 })
	if calls != 3 {
		t.Errorf("cond called %d times, want 3", calls)
	}
}

func TestObjectKeysKeepsWireOrder(t *testing.T) {
	got := ObjectKeys(t, []byte(`{"b":1,"a":{"z":0,"y":[1,2]},"c":null}`))
	if want := []string{"b", "a", "c"}; !slices.Equal(got, want) {
		t.Errorf("ObjectKeys = %v, want %v", got, want)
	}
}
