package testmedia

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// StartIcecast runs a stock icecast2 on a free loopback port until the test
// ends, with the configuration config writes for its folder and port, and
// returns its address and folder once it accepts connections. Icecast
// refuses to run as root, so as root it runs as nobody, in a folder nobody
// may write (hence not t.TempDir, whose parent only root may enter). Its
// output and error.log are shown when the test fails.
func StartIcecast(t testing.TB, config func(dir string, port int) string) (addr, dir string) {
	t.Helper()
	bin := RequireTool(t, "icecast2")
	dir, err := os.MkdirTemp("", "icecast-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	conf := filepath.Join(dir, "icecast.xml")
	if err := os.WriteFile(conf, []byte(config(dir, port)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-c", conf)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if os.Geteuid() == 0 {
		uid, gid := nobodyIDs(t)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting icecast2: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }() // killed at cleanup: the status says nothing
	t.Cleanup(func() {
		cancel() // kills the process by its PID
		<-exited
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("icecast output:\n%s\nerror.log:\n%s", out.Bytes(), log)
		}
	})
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	PollUntil(t, 15*time.Second, "icecast to listen on "+addr, func() bool {
		select {
		case <-exited:
			t.Fatalf("icecast2 exited: %s", out.Bytes())
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return addr, dir
}

// nobodyIDs returns the ids of the unprivileged user to run daemons as.
func nobodyIDs(t testing.TB) (uint32, uint32) {
	t.Helper()
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Fatalf("running icecast2 as root needs a user to drop to: %v", err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	if g, err := user.LookupGroup("nogroup"); err == nil {
		gid, _ = strconv.ParseUint(g.Gid, 10, 32)
	}
	return uint32(uid), uint32(gid)
}
