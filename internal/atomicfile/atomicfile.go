// Package atomicfile replaces a file's contents all at once, so a crash or
// a full disk leaves the old contents or the new ones, never a torn file.
// Stations' resume state, the request queues and the loudness cache are
// written this way.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write writes data to a temporary file in path's folder, syncs it and
// renames it over path, then syncs the folder (best effort: not every file
// system supports it) so the rename itself survives a crash. The new file
// has mode 0600 from os.CreateTemp; on any error nothing is left behind
// and path is unchanged.
func Write(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
