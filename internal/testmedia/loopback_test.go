package testmedia

import (
	"context"
	"net"
	"testing"
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
