package main

import (
	"net"
)

// notify tells a service manager about the server's state with systemd's
// notify protocol: one datagram ("READY=1", "STOPPING=1") to the unix
// socket named by NOTIFY_SOCKET. Without that variable it does nothing, so
// Type=notify units, container supervisors and tests can all wait for
// readiness on a signal instead of polling or reading logs.
func notify(env func(string) (string, bool), state string) error {
	path, ok := env("NOTIFY_SOCKET")
	if !ok || path == "" {
		return nil
	}
	if path[0] == '@' {
		path = "\x00" + path[1:] // the abstract namespace
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Write([]byte(state))
	return err
}
