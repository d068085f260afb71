package testmedia

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// StartNginx runs a real nginx (from Debian; RequireTool) with site, an
// nginx server configuration such as a file of deploy/nginx/, included in
// an http block whose pid, temp paths and site file all live in dir,
// until the test ends. It returns once nginx accepts connections on every
// address in listening. nginx runs as one process (no master, no
// workers): nothing outlives the kill at cleanup, and running as root no
// worker switches to a user that cannot read the test's folder. Its output
// is logged when the test failed.
func StartNginx(t testing.TB, dir string, site []byte, workerConnections int, listening ...string) {
	t.Helper()
	bin := RequireTool(t, "nginx")
	if err := os.WriteFile(filepath.Join(dir, "site.conf"), site, 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "nginx.conf")
	main := "pid " + dir + "/nginx.pid;\n" +
		"error_log stderr notice;\n" +
		"events { worker_connections " + strconv.Itoa(workerConnections) + "; }\n" +
		"http {\n" +
		"    access_log off;\n" +
		"    client_body_temp_path " + dir + "/client_body;\n" +
		"    proxy_temp_path " + dir + "/proxy;\n" +
		"    fastcgi_temp_path " + dir + "/fastcgi;\n" +
		"    uwsgi_temp_path " + dir + "/uwsgi;\n" +
		"    scgi_temp_path " + dir + "/scgi;\n" +
		"    include " + dir + "/site.conf;\n" +
		"}\n"
	if err := os.WriteFile(conf, []byte(main), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-p", dir, "-c", conf, "-e", "stderr", "-g", "daemon off; master_process off;")
	var out bytes.Buffer // read only after nginx exited
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting nginx: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }() // killed at cleanup: the status says nothing
	t.Cleanup(func() {
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("nginx output:\n%s", out.String())
		}
	})
	for _, addr := range listening {
		PollUntil(t, 15*time.Second, "nginx to listen on "+addr, func() bool {
			select {
			case <-exited:
				t.Fatalf("nginx exited:\n%s", out.String())
			default:
			}
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
	}
}
