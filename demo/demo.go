// Package demo holds the bundled demo station: a few short synthesised
// tracks (made by scripts/make-demo.sh), so a fresh clone plays something
// without any configuration.
package demo

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

//go:embed *.mp3
var files embed.FS

// Extract writes the demo tracks into a folder under parent (normally
// os.TempDir()) named after their content, so repeated starts reuse it,
// and returns that folder.
func Extract(parent string) (string, error) {
	names, err := fs.Glob(files, "*.mp3")
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, n := range names {
		b, _ := files.ReadFile(n)
		h.Write([]byte(n))
		h.Write(b)
	}
	dir := filepath.Join(parent, "audio-streamer-demo-"+hex.EncodeToString(h.Sum(nil))[:12])
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	for _, n := range names {
		b, _ := files.ReadFile(n)
		p := filepath.Join(dir, n)
		if st, err := os.Stat(p); err == nil && st.Size() == int64(len(b)) {
			continue
		}
		tmp := p + ".tmp"
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			return "", fmt.Errorf("demo: %w", err)
		}
		if err := os.Rename(tmp, p); err != nil {
			return "", fmt.Errorf("demo: %w", err)
		}
	}
	return dir, nil
}
