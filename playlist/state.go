package playlist

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/aposazhennikov/stream-audio-to-web/internal/atomicfile"
)

// ErrCorruptState is wrapped by LoadState when the file exists but cannot be
// used; the caller then starts a fresh order.
var ErrCorruptState = errors.New("corrupt state file")

// maxStateBytes bounds what LoadState reads: a million long paths fit.
const maxStateBytes = 256 << 20

// SaveState writes s as JSON to path atomically: a temporary file in the same
// folder is written, synced and renamed over path, so a crash leaves either
// the old or the new state, never a torn one.
func SaveState(path string, s State) error {
	if s.Version == 0 {
		s.Version = StateVersion
	}
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("playlist: save state: %w", err)
	}
	if err := atomicfile.Write(path, data); err != nil {
		return fmt.Errorf("playlist: save state: %w", err)
	}
	return nil
}

// LoadState reads a state written by SaveState. A missing file gives an
// error wrapping os.ErrNotExist; an unreadable, truncated or inconsistent
// one gives an error wrapping ErrCorruptState.
func LoadState(path string) (State, error) {
	f, err := os.Open(path)
	if err != nil {
		return State{}, fmt.Errorf("playlist: load state: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStateBytes+1))
	if err != nil {
		return State{}, fmt.Errorf("playlist: load state %s: %w", path, err)
	}
	if len(data) > maxStateBytes {
		return State{}, fmt.Errorf("playlist: load state %s: %w: larger than %d bytes", path, ErrCorruptState, maxStateBytes)
	}
	var s State
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&s); err != nil {
		return State{}, fmt.Errorf("playlist: load state %s: %w: %v", path, ErrCorruptState, err)
	}
	if dec.More() {
		return State{}, fmt.Errorf("playlist: load state %s: %w: trailing data", path, ErrCorruptState)
	}
	switch {
	case s.Version != StateVersion:
		return State{}, fmt.Errorf("playlist: load state %s: %w: version %d, want %d", path, ErrCorruptState, s.Version, StateVersion)
	case s.Pos < 0 || s.Pos > len(s.Order):
		return State{}, fmt.Errorf("playlist: load state %s: %w: position %d outside order of %d", path, ErrCorruptState, s.Pos, len(s.Order))
	case s.OffsetBytes < 0:
		return State{}, fmt.Errorf("playlist: load state %s: %w: negative offset", path, ErrCorruptState)
	}
	return s, nil
}
