package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

// TestWriteReplacesWholeAndLeavesNothingBehind: the file holds exactly the
// new data, no temporary file stays, and a write into a missing folder
// fails without touching anything.
func TestWriteReplacesWholeAndLeavesNothingBehind(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	for _, data := range []string{"first, and longer", "second"} {
		if err := Write(path, []byte(data)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != data {
			t.Fatalf("read %q, %v; want %q", got, err, data)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("%d files in the folder, want the one", len(ents))
	}
	if err := Write(filepath.Join(dir, "missing", "x.json"), []byte("x")); err == nil {
		t.Fatal("write into a missing folder succeeded")
	}
}
