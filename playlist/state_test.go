package playlist

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestStateSaveLoadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	want := State{
		Version:     StateVersion,
		Order:       []string{"b.mp3", "Юмор/Café\u0301.mp3", `q"uote.mp3`},
		Pos:         2,
		Current:     "Юмор/Café\u0301.mp3",
		OffsetBytes: 123456,
		SavedAt:     time.Date(2025, 11, 25, 15, 5, 0, 123, time.UTC),
	}
	if err := SaveState(path, want); err != nil {
		t.Fatal(err)
	}
	// Overwriting works and leaves no temporary files behind.
	want.OffsetBytes++
	if err := SaveState(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := LoadState(path)
	if err != nil {
		t.Fatal(err)
	}
	if !got.SavedAt.Equal(want.SavedAt) {
		t.Fatalf("SavedAt %v, want %v", got.SavedAt, want.SavedAt)
	}
	got.SavedAt = want.SavedAt
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("folder holds %d entries, want only state.json", len(entries))
	}
}

func TestLoadStateMissing(t *testing.T) {
	_, err := LoadState(filepath.Join(t.TempDir(), "nope.json"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want os.ErrNotExist", err)
	}
	if errors.Is(err, ErrCorruptState) {
		t.Fatal("missing file reported as corrupt")
	}
}

func TestLoadStateCorrupt(t *testing.T) {
	cases := map[string]string{
		"garbage":     "not json at all",
		"truncated":   `{"version":1,"order":["a.mp3","b`,
		"trailing":    `{"version":1,"order":[],"pos":0} {}`,
		"bad pos":     `{"version":1,"order":["a.mp3"],"pos":2}`,
		"negative":    `{"version":1,"order":["a.mp3"],"pos":-1}`,
		"no version":  `{"order":["a.mp3"],"pos":0}`,
		"wrong type":  `{"version":1,"order":"a.mp3","pos":0}`,
		"neg offset":  `{"version":1,"order":["a.mp3"],"pos":1,"offset_bytes":-5}`,
		"empty file":  ``,
		"future vers": `{"version":99,"order":[],"pos":0}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadState(path)
			if !errors.Is(err, ErrCorruptState) || !strings.Contains(err.Error(), "corrupt") {
				t.Fatalf("err = %v, want a corrupt-state error", err)
			}
		})
	}
}

func TestSaveStateUnwritableFolder(t *testing.T) {
	err := SaveState(filepath.Join(t.TempDir(), "missing", "state.json"), State{})
	if err == nil {
		t.Fatal("SaveState into a missing folder succeeded")
	}
}

func TestSnapshotRestoreContinues(t *testing.T) {
	lib, _ := newTestLibrary(t, names(8)...)
	a := NewOrder(lib, true, seeded(11))
	take(t, a, 3)
	st := a.Snapshot()
	if st.Pos != 3 || len(st.Order) != 8 || st.Current != st.Order[2] || st.Version != StateVersion {
		t.Fatalf("snapshot %+v", st)
	}
	// Through the file, as after a restart.
	path := filepath.Join(t.TempDir(), "state.json")
	if err := SaveState(path, st); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadState(path)
	if err != nil {
		t.Fatal(err)
	}
	b := NewOrder(lib, true, seeded(99))
	b.Restore(loaded)
	// Saved again before anything played: still the same resume point.
	if again := b.Snapshot(); again.Current != st.Current || !slices.Equal(again.Order, st.Order) {
		t.Fatalf("snapshot after restore %+v, want current %q", again, st.Current)
	}
	// The interrupted track comes again first (to resume at OffsetBytes),
	// then the rest of the saved cycle in the saved order.
	got := take(t, b, 6)
	if want := st.Order[2:]; !slices.Equal(got, want) {
		t.Fatalf("after restore %q, want %q", got, want)
	}
}

func TestRestoreWithRemovedAndAddedTracks(t *testing.T) {
	lib, dir := newTestLibrary(t, "a.mp3", "b.mp3", "c.mp3", "d.mp3", "e.mp3")
	o := NewOrder(lib, false, nil)
	take(t, o, 2) // a, b
	st := o.Snapshot()

	// While "down": c and the current track b are removed, f is added.
	for _, n := range []string{"b.mp3", "c.mp3"} {
		if err := os.Remove(filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	writeTracks(t, dir, "f.mp3")
	mustScan(t, lib)

	r := NewOrder(lib, false, nil)
	r.Restore(st)
	want := []string{"d.mp3", "e.mp3", "f.mp3", "a.mp3", "d.mp3"}
	if got := take(t, r, len(want)); !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestRestoreBeforeFirstScan(t *testing.T) {
	dir := t.TempDir()
	writeTracks(t, dir, "a.mp3", "b.mp3", "c.mp3")
	st := State{Version: StateVersion, Order: []string{"c.mp3", "a.mp3", "b.mp3"}, Pos: 1, Current: "c.mp3"}

	fresh := NewLibrary(dir, LibraryOptions{}) // not scanned yet
	o := NewOrder(fresh, false, nil)
	o.Restore(st)
	if _, ok := o.Next(); ok {
		t.Fatal("Next before the first scan returned a track")
	}
	// A snapshot taken meanwhile must not lose the restored state.
	if s := o.Snapshot(); !slices.Equal(s.Order, st.Order) || s.Pos != st.Pos {
		t.Fatalf("snapshot before scan = %+v", s)
	}
	mustScan(t, fresh)
	if got := take(t, o, 3); !slices.Equal(got, []string{"c.mp3", "a.mp3", "b.mp3"}) {
		t.Fatalf("got %q", got)
	}
}

func TestRestoreGarbageState(t *testing.T) {
	lib, _ := newTestLibrary(t, "a.mp3", "b.mp3")
	o := NewOrder(lib, false, nil)
	// Unknown and duplicate entries, out-of-range position: still plays
	// every track once per cycle.
	o.Restore(State{Order: []string{"x.mp3", "b.mp3", "b.mp3", "../../etc/passwd"}, Pos: 99})
	got := take(t, o, 4)
	if s := sorted(got[:2]); !slices.Equal(s, []string{"a.mp3", "b.mp3"}) {
		t.Fatalf("got %q", got)
	}
}
