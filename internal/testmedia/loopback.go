package testmedia

import (
	"context"
	"net"
	"testing"
)

// FreePort returns a loopback port nobody listened on a moment ago, for
// servers that cannot be told to pick port 0 themselves.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// ServeLoopback runs serve on a fresh 127.0.0.1 listener and returns its
// address. When the test ends it cancels serve's context, waits for serve to
// return and fails the test if it returned an error.
func ServeLoopback(t testing.TB, serve func(context.Context, net.Listener) error) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serve(ctx, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}
