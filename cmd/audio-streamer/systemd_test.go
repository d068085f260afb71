package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// unitFile is deploy/audio-streamer.service with ExecStart's program
// replaced by the binary under test, in a temporary folder; args are the
// rest of ExecStart.
func unitFile(t *testing.T) (path string, args []string) {
	t.Helper()
	root := testmedia.ModuleRoot(t)
	raw, err := os.ReadFile(filepath.Join(root, "deploy", "audio-streamer.service"))
	if err != nil {
		t.Fatal(err)
	}
	var exec0 []string
	for line := range strings.SplitSeq(string(raw), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "ExecStart="); ok {
			exec0 = strings.Fields(v) // the last one wins, as in systemd
		}
	}
	if len(exec0) == 0 {
		t.Fatal("the unit has no ExecStart")
	}
	bin := os.Getenv(binaryEnv)
	unit := strings.ReplaceAll(string(raw), exec0[0], bin)
	path = filepath.Join(t.TempDir(), "audio-streamer.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, exec0[1:]
}

// TestSystemdUnitStarts: ExecStart, with the example configuration installed
// where the unit reads it (as the unit's header says), starts a server that
// says READY=1 on NOTIFY_SOCKET (the unit is Type=notify).
func TestSystemdUnitStarts(t *testing.T) {
	t.Parallel()
	_, args := unitFile(t)
	example, err := os.ReadFile(filepath.Join(testmedia.ModuleRoot(t), "config.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	conf := testmedia.WriteFile(t, t.TempDir(), "config.toml", example)
	for i, a := range args {
		if strings.HasSuffix(a, ".toml") {
			args[i] = conf
		}
	}
	port := testmedia.FreePort(t)
	// Environment (the unit's EnvironmentFile) overrides the file's host and port.
	p := start(t, port, args, "HOST=127.0.0.1", "PORT="+strconv.Itoa(port))
	p.ready()
	if code, body := p.get("/healthz"); code != 200 {
		t.Errorf("/healthz = %d %q", code, body)
	}
}

// TestSystemdUnit: systemd's own tools accept the unit and rate its
// sandbox: no warning from verify, and security analysis finds a non-root
// user and an exposure of at most 2.0 ("OK"). CI installs systemd (Debian
// package systemd) and makes this mandatory.
func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		testmedia.Missing(t, "systemd-analyze is not installed (apt-get install systemd); skipping")
	}
	unit, _ := unitFile(t)

	out, err := exec.Command(analyze, "verify", "--man=no", unit).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	} else if len(strings.TrimSpace(string(out))) > 0 {
		// verify exits 0 for unknown keys and bad values; it only says so.
		t.Errorf("systemd-analyze verify:\n%s", out)
	}

	sec := exec.Command(analyze, "security", "--offline=true", "--threshold=20", "--json=short", unit)
	out, err = sec.Output()
	var checks []struct {
		Field string `json:"json_field"`
		Set   bool   `json:"set"`
	}
	if jerr := json.Unmarshal(out, &checks); jerr != nil {
		t.Fatalf("systemd-analyze security: %v %v\n%s", err, jerr, out)
	}
	if err != nil {
		table, _ := exec.Command(analyze, "security", "--offline=true", "--no-pager", unit).CombinedOutput()
		t.Errorf("systemd-analyze security: exposure above 2.0 (%v):\n%s", err, table)
	}
	nonRoot := false
	for _, c := range checks {
		nonRoot = nonRoot || c.Field == "UserOrDynamicUser" && c.Set
	}
	if !nonRoot {
		t.Error("systemd-analyze security: the service runs as root (no User= or DynamicUser=)")
	}
}
