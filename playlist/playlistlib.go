package playlist

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/text/unicode/norm"
)

// A Library over a playlist file (.m3u, .m3u8, .pls) instead of a folder.
//
// Differences from a folder:
//
//   - Tracks are the file's entries in file order; a file listed twice is
//     two tracks with the same Rel (Order plays both, and a file marked bad
//     is bad in both places).
//   - Rel is the path relative to the playlist file's folder when the entry
//     is inside it, else the absolute path; '/'-separated either way.
//   - Entries that cannot be played are reported in ScanResult.Skipped (and
//     logged once) with a reason, including ones a folder scan ignores
//     silently: a stream URL, an unplayable extension, a missing file.
//     Hidden files are played: the operator listed them.
//   - Containment: there is no folder to stay inside. Entries may name any
//     file (the playlist's author is the operator, as trusted as the dir
//     setting), and symlinks are followed wherever they lead. Resolve still
//     refuses a Rel the playlist does not list, so a forged Track cannot
//     name an arbitrary file. Consequence to document for operators: whoever
//     can replace a listed file with a symlink can make the station play
//     the target, as if they could edit the playlist.
//   - A rescan re-reads the file; Changed is true when the entries (order,
//     titles, duplicates) or their files' size or time changed.

// Skip reasons of playlist entries that name no playable file.
const (
	ReasonMissing     = "file not found"
	ReasonNotPlayable = "not a playable file type"
)

// ErrPlaylistNotExist is wrapped by Scan when the playlist file is missing.
// It matches ErrDirNotExist and fs.ErrNotExist too, so callers that handle
// a missing folder handle a missing playlist file the same way.
var ErrPlaylistNotExist error = notExistError{}

// ErrNotListed is wrapped by Resolve for a track the playlist file does not
// list (any more).
var ErrNotListed = errors.New("not listed in the playlist file")

// ErrPlaylistIsDir is wrapped by Scan when the playlist file is a folder.
var ErrPlaylistIsDir = errors.New("is a directory, not a playlist file")

type notExistError struct{}

func (notExistError) Error() string { return "playlist file does not exist" }

func (notExistError) Is(target error) bool {
	return target == ErrDirNotExist || target == fs.ErrNotExist
}

// scanPlaylist is Scan for a playlist file; scanMu is held. Like a folder
// that vanished, a missing playlist file empties the library; a file that
// cannot be read or parsed (too large) keeps the previous list, since it may
// be mid-write or fixed soon, and the music should not stop meanwhile.
func (l *Library) scanPlaylist() (ScanResult, error) {
	data, err := readPlaylistFile(l.dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return l.finish(nil, nil), fmt.Errorf("playlist: %s: %w", l.dir, ErrPlaylistNotExist)
	case errors.Is(err, ErrPlaylistIsDir):
		return l.finish(nil, nil), err
	case err != nil:
		return l.keep(err)
	}
	entries, err := ParsePlaylistFile(l.dir, data)
	if err != nil {
		return l.keep(err)
	}
	base, err := filepath.Abs(filepath.Dir(l.dir))
	if err != nil {
		return l.keep(fmt.Errorf("playlist: %s: %w", l.dir, err))
	}
	var tracks []Track
	var skipped []Skip
	for _, e := range entries {
		if e.Skip != "" {
			skipped = append(skipped, Skip{Path: e.Location, Reason: e.Skip})
			continue
		}
		t, reason := l.entryTrack(base, e)
		if reason != "" {
			skipped = append(skipped, Skip{Path: t.Rel, Reason: reason})
			continue
		}
		tracks = append(tracks, t)
	}
	res := l.finish(tracks, skipped)
	if res.Tracks == 0 {
		return res, fmt.Errorf("playlist: %s: %w", l.dir, ErrNoPlayableFiles)
	}
	return res, nil
}

// keep returns err with the current list left as it is.
func (l *Library) keep(err error) (ScanResult, error) {
	s := l.snap.Load()
	return ScanResult{Tracks: len(s.tracks), Version: s.version}, err
}

// readPlaylistFile reads at most MaxPlaylistFileBytes+1 bytes of path (a
// longer file then fails in ParsePlaylistFile with ErrPlaylistTooLarge).
func readPlaylistFile(path string) ([]byte, error) {
	// Stat before opening: opening a FIFO would block the scan.
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("playlist: %w", err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("playlist: %s: %w", path, ErrPlaylistIsDir)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("playlist: %s: %s", path, ReasonNotRegular)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("playlist: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxPlaylistFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("playlist: %s: %w", path, err)
	}
	return data, nil
}

// entryTrack checks one entry's file the way a folder scan checks a file
// (playable extension, regular, not empty, readable) and returns its track,
// or the reason it is skipped with t.Rel naming it.
func (l *Library) entryTrack(base string, e PlaylistEntry) (t Track, reason string) {
	path, info, err := findEntryFile(e)
	t = Track{Rel: relTo(base, path), Title: e.Title}
	switch {
	case !l.playable(path):
		return t, ReasonNotPlayable
	case err == nil:
	case errors.Is(err, syscall.ELOOP):
		return t, ReasonSymlinkLoop
	case errors.Is(err, fs.ErrNotExist):
		if _, lerr := os.Lstat(path); lerr == nil {
			return t, ReasonBrokenLink
		}
		return t, ReasonMissing
	default:
		return t, ReasonUnreadable + ": " + errReason(err)
	}
	switch {
	case !info.Mode().IsRegular():
		return t, ReasonNotRegular
	case info.Size() == 0:
		return t, ReasonEmpty
	case !readable(path, info.Mode()):
		return t, ReasonUnreadable
	}
	t.Size, t.ModTime = info.Size(), info.ModTime()
	return t, ""
}

// findEntryFile stats the entry's file (following symlinks). When the path
// as written is missing it tries the other Unicode normalisation (a playlist
// written on macOS names files NFD, most other systems store NFC) and, for a
// playlist in a legacy charset, the path in its original bytes (file names
// in the same charset). It returns the spelling found on disk, so Rel keeps
// the bytes as on disk, as in a folder library.
func findEntryFile(e PlaylistEntry) (string, fs.FileInfo, error) {
	info, err := os.Stat(e.Path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return e.Path, info, err
	}
	if _, lerr := os.Lstat(e.Path); lerr == nil {
		return e.Path, nil, err // a broken symlink under this very name
	}
	for _, alt := range [...]string{norm.NFC.String(e.Path), norm.NFD.String(e.Path), e.rawPath} {
		if alt == "" || alt == e.Path {
			continue
		}
		if info, aerr := os.Stat(alt); aerr == nil {
			return alt, info, nil
		}
	}
	return e.Path, nil, err
}

// relTo is path's Rel: relative to base when inside it, else absolute;
// '/'-separated.
func relTo(base, path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.ToSlash(path)
	}
	if r, err := filepath.Rel(base, abs); err == nil && filepath.IsLocal(r) {
		return filepath.ToSlash(r)
	}
	return filepath.ToSlash(abs)
}

// listAbs is Abs for a playlist file: the path of a listed Rel, else "".
func (l *Library) listAbs(rel string) string {
	if !l.Contains(rel) {
		return ""
	}
	p := filepath.FromSlash(rel)
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(l.dir), p)
}

// listResolve is Resolve for a playlist file: the symlink-free path of a
// listed track's file, wherever it is (see the containment note at the top
// of this file).
func (l *Library) listResolve(t Track) (string, error) {
	p := l.listAbs(t.Rel)
	if p == "" {
		return "", fmt.Errorf("playlist: %s: %w", t.Rel, ErrNotListed)
	}
	return filepath.EvalSymlinks(p)
}

// indexByRel returns the indices of tracks sorted by Rel, then by index.
func indexByRel(tracks []Track) []int32 {
	idx := make([]int32, len(tracks))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(a, b int32) int {
		if c := strings.Compare(tracks[a].Rel, tracks[b].Rel); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return idx
}

// Title returns the display title of t: the one its playlist file gave
// (#EXTINF, TitleN; see PlaylistTitle) when there is one, else the file's
// tags or name (ReadTitle).
func (l *Library) Title(t Track) Title {
	if t.Title != "" {
		return PlaylistTitle(t.Title)
	}
	p := l.Abs(t)
	if p == "" {
		return Title{Display: fileTitle(filepath.FromSlash(t.Rel))}
	}
	return ReadTitle(p)
}
