package config_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
)

// TestConfigFileMustBeRegularAndSmall: a named pipe with no writer would
// block start-up, /dev/zero would fill memory; both are refused at once,
// as is a regular file too big to be a configuration.
func TestConfigFileMustBeRegularAndSmall(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "config.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	huge := filepath.Join(dir, "huge.toml")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: reads as 2 MiB of NULs, costs no disk.
	if err := f.Truncate(2 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	tests := []struct{ path, want string }{
		{fifo, `config: config file: "` + fifo + `" from flag --config: expected a regular file, not a named pipe`},
		{dir, `config: config file: "` + dir + `" from flag --config: expected a regular file, not a directory`},
		{huge, `config: config file: "` + huge + `" from flag --config: expected a file of at most 1 MiB`},
		{"/dev/zero", `config: config file: "/dev/zero" from flag --config: expected a regular file, not a character device`},
	}
	for _, tt := range tests {
		if tt.path == "/dev/zero" && t.Failed() {
			// Without the size bound, reading /dev/zero fills memory.
			t.Fatal("not reading /dev/zero: a file without a limit would be read")
		}
		done := make(chan error, 1)
		go func() {
			_, err := config.Load([]string{"--config", tt.path}, envOf(nil))
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || err.Error() != tt.want {
				t.Errorf("--config %s:\ngot  %v\nwant %s", tt.path, err, tt.want)
			}
		case <-time.After(5 * time.Second):
			// Give the blocked open its writer, so the goroutine ends.
			if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
				w.Close()
			}
			t.Fatalf("--config %s: Load still running after 5 s", tt.path)
		}
	}
}
