package playlist

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Errors returned by Library.Scan. Neither is fatal for a station: the
// Library stays usable (empty) and a later Scan picks up new files.
var (
	ErrDirNotExist     = errors.New("directory does not exist")
	ErrNotDir          = errors.New("not a directory")
	ErrNoPlayableFiles = errors.New("no playable files")
)

// Skip reasons reported in ScanResult.Skipped.
const (
	ReasonHidden       = "hidden"
	ReasonEmpty        = "empty"
	ReasonUnreadable   = "unreadable"
	ReasonNotRegular   = "not a regular file"
	ReasonSymlinkLoop  = "symlink loop"
	ReasonBrokenLink   = "broken symlink"
	ReasonOutside      = "symlink target outside the folder"
	ReasonSymlinkedDir = "symlinked directory not followed"
)

// defaultExtensions are always playable; LibraryOptions.Extensions adds to them.
var defaultExtensions = [...]string{".mp3", ".wav"}

// Track is one playable file of a Library.
type Track struct {
	// Rel is the path relative to the library folder, '/'-separated, bytes
	// as on disk. In a playlist-file library it is relative to the playlist
	// file's folder, or absolute ('/'-separated) for a file outside it, and
	// the same file listed twice gives two tracks with the same Rel.
	Rel     string
	Size    int64     // bytes (of the target, for a symlink)
	ModTime time.Time // lets Order notice that a file marked bad was replaced
	// Title is the title a playlist file gives the entry (#EXTINF, TitleN);
	// "" otherwise. Library.Title prefers it to the file's tags.
	Title string
}

// Skip is a file (or folder) the scan left out, with the reason.
type Skip struct {
	Path   string // relative to the library folder, '/'-separated
	Reason string // one of the Reason* constants, possibly with detail
}

// ScanResult describes one Scan.
type ScanResult struct {
	Tracks  int    // playable tracks found
	Skipped []Skip // in walk order
	Version uint64 // Library.Version after the scan
	Changed bool   // the track set differs from the previous scan
}

// LibraryOptions configures NewLibrary.
type LibraryOptions struct {
	// Extensions are played in addition to .mp3 and .wav (e.g. ".flac").
	// Matching ignores letter case; the leading dot is optional.
	Extensions []string
	Logger     *slog.Logger // nil discards
}

// snapshot is an immutable track list; a Scan replaces it, never edits it, so
// readers need no lock.
type snapshot struct {
	// tracks are in play order: sorted by Rel (byte order) for a folder, in
	// file order (duplicates kept) for a playlist file.
	tracks []Track
	// byRel is nil when tracks are sorted by Rel (a folder). For a playlist
	// file it holds the indices of tracks sorted by Rel, then index.
	byRel   []int32
	version uint64
}

// find returns the index of the first track (in play order) with path rel.
func (s *snapshot) find(rel string) (int, bool) {
	return s.findFree(rel, nil)
}

// findFree is find skipping tracks marked in taken (nil: none are): the
// first free occurrence of a file a playlist lists more than once.
func (s *snapshot) findFree(rel string, taken []bool) (int, bool) {
	if s.byRel == nil {
		i, ok := slices.BinarySearchFunc(s.tracks, rel, func(t Track, rel string) int {
			return strings.Compare(t.Rel, rel)
		})
		if !ok || (taken != nil && taken[i]) {
			return 0, false
		}
		return i, true
	}
	k, _ := slices.BinarySearchFunc(s.byRel, rel, func(i int32, rel string) int {
		return strings.Compare(s.tracks[i].Rel, rel)
	})
	for ; k < len(s.byRel) && s.tracks[s.byRel[k]].Rel == rel; k++ {
		if i := int(s.byRel[k]); taken == nil || !taken[i] {
			return i, true
		}
	}
	return 0, false
}

// Library is the scanned track list of one folder, or of one playlist file
// (see NewLibrary and playlistlib.go). It is safe for concurrent use; Scan
// calls are serialised.
type Library struct {
	dir  string
	list bool // dir is a playlist file (.m3u, .m3u8, .pls), not a folder
	exts []string
	log  *slog.Logger

	snap atomic.Pointer[snapshot]

	scanMu sync.Mutex
	logged map[string]string // skips already logged (path → reason); guarded by scanMu
}

// NewLibrary returns an empty Library for dir; call Scan to fill it. A dir
// whose name has a playlist file extension (IsPlaylistFile: .m3u, .m3u8,
// .pls) is read as a playlist file instead of walked as a folder; see
// scanPlaylist for how it differs.
func NewLibrary(dir string, opt LibraryOptions) *Library {
	exts := append([]string(nil), defaultExtensions[:]...)
	for _, e := range opt.Extensions {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == "" {
			continue
		}
		if !strings.HasPrefix(e, ".") {
			e = "." + e
		}
		if !slices.Contains(exts, e) {
			exts = append(exts, e)
		}
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Library{dir: dir, list: IsPlaylistFile(dir), exts: exts, log: log, logged: map[string]string{}}
	l.snap.Store(&snapshot{})
	return l
}

// Dir returns the folder (or playlist file) as configured.
func (l *Library) Dir() string { return l.dir }

// IsPlaylist reports whether the library is a playlist file, not a folder.
func (l *Library) IsPlaylist() bool { return l.list }

// Extensions are the file extensions the library plays (lower case, with
// the dot): .mp3, .wav and the ones LibraryOptions added.
func (l *Library) Extensions() []string { return slices.Clone(l.exts) }

// Abs returns the file path of t. It returns "" for a Rel that is not a
// local path (absolute or with ".."), so a forged Track cannot point outside.
// In a playlist-file library it returns "" for a Rel the playlist does not
// list (as of the last scan).
func (l *Library) Abs(t Track) string {
	if l.list {
		return l.listAbs(t.Rel)
	}
	rel := filepath.FromSlash(t.Rel)
	if !filepath.IsLocal(rel) {
		return ""
	}
	return filepath.Join(l.dir, rel)
}

// ErrOutsideFolder is returned by Resolve for a track whose symlinks now
// lead outside the folder.
var ErrOutsideFolder = errors.New(ReasonOutside)

// Resolve returns the symlink-free path of t's file, checked to be inside
// the folder now: Scan checked symlinks when it listed the file, but a link
// can be swapped to point elsewhere between scans. Open the returned path,
// not Abs(t), so a swap after this check cannot lead outside either.
//
// In a playlist-file library there is no folder to stay inside: see
// listResolve.
func (l *Library) Resolve(t Track) (string, error) {
	if l.list {
		return l.listResolve(t)
	}
	p := l.Abs(t)
	if p == "" {
		return "", fmt.Errorf("playlist: %s: %w", t.Rel, ErrOutsideFolder)
	}
	root, err := l.resolveRoot()
	if err != nil {
		return "", err
	}
	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", err
	}
	if r, err := filepath.Rel(root, target); err != nil || !filepath.IsLocal(r) {
		return "", fmt.Errorf("playlist: %s: %w", t.Rel, ErrOutsideFolder)
	}
	return target, nil
}

// Tracks returns a copy of the track list in play order: sorted by Rel for a
// folder, in file order (duplicates kept) for a playlist file.
func (l *Library) Tracks() []Track { return slices.Clone(l.snap.Load().tracks) }

// Len returns the number of tracks.
func (l *Library) Len() int { return len(l.snap.Load().tracks) }

// Version changes whenever a scan changes the track set (a file added,
// removed, or with a new size or modification time). It starts at 0.
func (l *Library) Version() uint64 { return l.snap.Load().version }

// Track returns the track rel as of the last scan (its size and
// modification time); false when rel is not one.
func (l *Library) Track(rel string) (Track, bool) {
	s := l.snap.Load()
	i, ok := s.find(rel)
	if !ok {
		return Track{Rel: rel}, false
	}
	return s.tracks[i], true
}

// Contains reports whether rel is a track.
func (l *Library) Contains(rel string) bool {
	_, ok := l.snap.Load().find(rel)
	return ok
}

// ListedTitle is the title a playlist file gives rel (#EXTINF, TitleN; its
// first listing when it is listed twice); false when it gives none, as
// for every file of a folder.
func (l *Library) ListedTitle(rel string) (Title, bool) {
	s := l.snap.Load()
	i, ok := s.find(rel)
	if !ok || s.tracks[i].Title == "" {
		return Title{}, false
	}
	return PlaylistTitle(s.tracks[i].Title), true
}

// Scan walks the folder now and replaces the track list. A missing folder or
// one without playable files yields an empty Library and ErrDirNotExist or
// ErrNoPlayableFiles (wrapped); the station keeps running and rescans later.
//
// Files with a playable extension (any letter case) are listed, except
// hidden ones (and everything in hidden folders), empty and unreadable
// files, and non-regular files; these are reported in ScanResult.Skipped and
// logged once. Other files are ignored silently. A symlink to a file inside
// the folder is listed under its own name; one whose target is outside, that
// loops or dangles is skipped. Symlinked folders are never followed. Scan
// does not open audio files (except to test readability of a file whose
// permission bits are not world-readable) and never reads tags.
//
// A playlist-file library re-reads the file instead (scanPlaylist in
// playlistlib.go says how it differs).
func (l *Library) Scan() (ScanResult, error) {
	l.scanMu.Lock()
	defer l.scanMu.Unlock()
	if l.list {
		return l.scanPlaylist()
	}

	root, err := l.resolveRoot()
	if err != nil {
		if errors.Is(err, ErrDirNotExist) || errors.Is(err, ErrNotDir) {
			// The folder is gone: nothing in it can be played any more.
			return l.finish(nil, nil), err
		}
		// Anything else (permission on the folder itself, I/O) may be
		// transient: keep the previous list rather than stop the music.
		s := l.snap.Load()
		return ScanResult{Tracks: len(s.tracks), Version: s.version}, err
	}

	w := walker{l: l, root: root, prefix: root}
	if !strings.HasSuffix(w.prefix, string(filepath.Separator)) {
		w.prefix += string(filepath.Separator)
	}
	if err := filepath.WalkDir(root, w.visit); err != nil {
		s := l.snap.Load()
		return ScanResult{Tracks: len(s.tracks), Version: s.version, Skipped: w.skipped},
			fmt.Errorf("playlist: scan %s: %w", l.dir, err)
	}
	res := l.finish(w.tracks, w.skipped)
	if res.Tracks == 0 {
		return res, fmt.Errorf("playlist: %s: %w", l.dir, ErrNoPlayableFiles)
	}
	return res, nil
}

// resolveRoot returns the absolute, symlink-free folder path; the inside
// check for symlink targets compares against it.
func (l *Library) resolveRoot() (string, error) {
	abs, err := filepath.Abs(l.dir)
	if err != nil {
		return "", fmt.Errorf("playlist: %s: %w", l.dir, err)
	}
	root, err := filepath.EvalSymlinks(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("playlist: %s: %w", l.dir, ErrDirNotExist)
		}
		return "", fmt.Errorf("playlist: %s: %w", l.dir, err)
	}
	fi, err := os.Stat(root)
	if err != nil {
		return "", fmt.Errorf("playlist: %s: %w", l.dir, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("playlist: %s: %w", l.dir, ErrNotDir)
	}
	return root, nil
}

// finish sorts (a folder's tracks; a playlist file's keep their order and
// get an index by Rel), publishes (bumping the version only on a real
// change) and logs skips that were not logged by the previous scan.
func (l *Library) finish(tracks []Track, skipped []Skip) ScanResult {
	if !l.list {
		slices.SortFunc(tracks, func(a, b Track) int { return strings.Compare(a.Rel, b.Rel) })
	}
	// Exact-size copy: append's spare capacity would be wasted for the
	// lifetime of the snapshot.
	tracks = slices.Clip(slices.Clone(tracks))

	old := l.snap.Load()
	changed := !sameTracks(old.tracks, tracks)
	cur := old
	if changed {
		cur = &snapshot{tracks: tracks, version: old.version + 1}
		if l.list {
			cur.byRel = indexByRel(tracks)
		}
		l.snap.Store(cur)
	}

	seen := make(map[string]string, len(skipped))
	for _, s := range skipped {
		seen[s.Path] = s.Reason
		if l.logged[s.Path] != s.Reason {
			l.log.Info("playlist: skipping file", "dir", l.dir, "path", s.Path, "reason", s.Reason)
		}
	}
	// Forget paths that are no longer skipped, so they are logged again if
	// they break again later.
	l.logged = seen

	return ScanResult{Tracks: len(cur.tracks), Skipped: skipped, Version: cur.version, Changed: changed}
}

func sameTracks(a, b []Track) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Rel != b[i].Rel || a[i].Size != b[i].Size || !a[i].ModTime.Equal(b[i].ModTime) || a[i].Title != b[i].Title {
			return false
		}
	}
	return true
}

func (l *Library) playable(name string) bool {
	ext := filepath.Ext(name)
	for _, e := range l.exts {
		if strings.EqualFold(ext, e) {
			return true
		}
	}
	return false
}

type walker struct {
	l       *Library
	root    string // absolute, symlinks resolved
	prefix  string // root + separator
	tracks  []Track
	skipped []Skip
}

func (w *walker) skip(rel, reason string) {
	w.skipped = append(w.skipped, Skip{Path: rel, Reason: reason})
}

func (w *walker) visit(path string, d fs.DirEntry, err error) error {
	if path == w.root {
		return err // the folder itself unreadable: fail the scan
	}
	rel := filepath.ToSlash(path[len(w.prefix):])
	if err != nil {
		// A sub-folder that cannot be listed (or an entry that vanished):
		// report it and carry on with the rest.
		if !errors.Is(err, fs.ErrNotExist) {
			w.skip(rel, ReasonUnreadable+": "+errReason(err))
		}
		if d != nil && d.IsDir() {
			return fs.SkipDir
		}
		return nil
	}
	name := d.Name()
	if strings.HasPrefix(name, ".") {
		if d.IsDir() {
			w.skip(rel, ReasonHidden)
			return fs.SkipDir
		}
		if w.l.playable(name) {
			w.skip(rel, ReasonHidden)
		}
		return nil
	}
	if d.IsDir() {
		return nil
	}
	typ := d.Type()
	if typ&fs.ModeSymlink != 0 {
		w.visitSymlink(path, rel, name)
		return nil
	}
	if !w.l.playable(name) {
		return nil
	}
	if !typ.IsRegular() {
		w.skip(rel, ReasonNotRegular)
		return nil
	}
	info, err := d.Info() // one lstat: the only per-file syscall in the common case
	if err != nil {
		return nil // vanished since the directory was read
	}
	w.addFile(path, rel, info)
	return nil
}

func (w *walker) visitSymlink(path, rel, name string) {
	playable := w.l.playable(name)
	info, err := os.Stat(path)
	if err != nil {
		if !playable {
			return
		}
		switch {
		case errors.Is(err, syscall.ELOOP):
			w.skip(rel, ReasonSymlinkLoop)
		case errors.Is(err, fs.ErrNotExist):
			w.skip(rel, ReasonBrokenLink)
		default:
			w.skip(rel, ReasonUnreadable+": "+errReason(err))
		}
		return
	}
	if info.IsDir() {
		// Not followed: a link inside the folder only duplicates tracks, one
		// outside is out of scope, and not following rules out loops.
		w.skip(rel, ReasonSymlinkedDir)
		return
	}
	if !playable {
		return
	}
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		w.skip(rel, ReasonBrokenLink)
		return
	}
	if r, err := filepath.Rel(w.root, target); err != nil || !filepath.IsLocal(r) {
		w.skip(rel, ReasonOutside)
		return
	}
	if !info.Mode().IsRegular() {
		w.skip(rel, ReasonNotRegular)
		return
	}
	w.addFile(path, rel, info)
}

func (w *walker) addFile(path, rel string, info fs.FileInfo) {
	if info.Size() == 0 {
		w.skip(rel, ReasonEmpty)
		return
	}
	if !readable(path, info.Mode()) {
		w.skip(rel, ReasonUnreadable)
		return
	}
	// Clone: rel is a slice of the full path, which would otherwise stay
	// alive (folder prefix included) for every track.
	w.tracks = append(w.tracks, Track{Rel: strings.Clone(rel), Size: info.Size(), ModTime: info.ModTime()})
}

// readable avoids a syscall for the usual world-readable file and otherwise
// asks the OS by opening (and closing) the file, which only happens for
// files inside the folder.
func readable(path string, mode fs.FileMode) bool {
	if mode.Perm()&0o444 == 0o444 {
		return true
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

func errReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
