package playlist

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Bounds of ParsePlaylistFile: a playlist file is a list written by hand or
// exported by a player, and 100,000 entries is a very large library.
const (
	MaxPlaylistFileBytes = 4 << 20
	MaxPlaylistEntries   = 100_000
)

// Errors of ParsePlaylistFile (wrapped with detail).
var (
	ErrPlaylistTooLarge = errors.New("playlist file too large")
	ErrNotPlaylistFile  = errors.New("not a playlist file (.m3u, .m3u8 or .pls)")
)

// Skip reasons of playlist entries that are not local files, reported in
// PlaylistEntry.Skip and ScanResult.Skipped.
const (
	ReasonStreamURL   = "stream URL, not a file (a relay plays streams)"
	ReasonURLScheme   = "unsupported URL scheme"
	ReasonBadFileURL  = "invalid file URL"
	ReasonRemoteFile  = "file URL on another host"
	ReasonWindowsPath = "Windows drive or network path"
)

// playlistExts are the extensions IsPlaylistFile accepts.
var playlistExts = [...]string{".m3u", ".m3u8", ".pls"}

// IsPlaylistFile reports whether name has a playlist file extension (.m3u,
// .m3u8 or .pls, any letter case). NewLibrary uses it to choose between a
// folder and a playlist file.
func IsPlaylistFile(name string) bool {
	ext := filepath.Ext(name)
	for _, e := range playlistExts {
		if strings.EqualFold(ext, e) {
			return true
		}
	}
	return false
}

// PlaylistEntry is one entry of a playlist file, in file order.
type PlaylistEntry struct {
	// Path is the file to play: a relative location joined to the playlist
	// file's folder, cleaned, with the OS separator. "" when Skip is set.
	Path string
	// Location is the entry as written (decoded to UTF-8, trimmed).
	Location string
	// Title is the #EXTINF or TitleN title ("Artist - Title" by
	// convention), cleaned to one line; "" when the file gives none.
	Title string
	// Length is the #EXTINF or LengthN duration; 0 when unknown.
	Length time.Duration
	// Line is the 1-based line of the location in the file.
	Line int
	// Skip, when not empty, says why the entry is not a local file (one of
	// the Reason* constants, possibly with detail).
	Skip string

	// rawPath is Path built from the undecoded bytes of a file that is not
	// UTF-8 (file names on disk may be in the same legacy charset); "" when
	// the file is UTF-8 or the bytes give the same path.
	rawPath string
}

// ParsePlaylistFile parses the playlist file name whose contents are data.
// The format follows the extension: .m3u and .m3u8 are (extended) M3U,
// .pls is PLS; a file whose first line is "[playlist]" is read as PLS
// whatever its extension. name is also the base for relative entries.
//
// Text: a UTF-8 byte-order mark is dropped; a UTF-16 one (Windows Notepad's
// "Unicode") converts the file from UTF-16. Otherwise a file that is valid
// UTF-8 is read as UTF-8 (.m3u8 always should be), and one that is not is
// read in a legacy single-byte charset chosen for the whole file the way the
// project reads ID3v1 tags and file names (decodeLegacy): Windows-1251 when
// most letters look Cyrillic, else Latin-1 as Windows-1252. Lines end in LF, CRLF or CR.
//
// M3U: blank lines and lines starting with '#' are skipped, except
// #EXTINF:<seconds>[ attributes],<title>, whose title and length apply to the
// next entry. PLS: keys are case-insensitive; FileN, TitleN and LengthN are
// grouped by N and returned in N order; NumberOfEntries and Version are not
// needed and ignored; lines starting with ';' or '#' are comments.
//
// Locations: relative paths are joined to name's folder, absolute paths are
// kept, backslashes become '/', file:// URLs are decoded. Stream URLs and
// Windows drive or network paths are returned with Skip set. Paths are not
// Unicode-normalised here: Library matches NFC and NFD spellings against
// the names on disk.
//
// A file over MaxPlaylistFileBytes or with more than MaxPlaylistEntries
// entries gives an error wrapping ErrPlaylistTooLarge; a name without a
// playlist extension (and data not starting with [playlist]) an error
// wrapping ErrNotPlaylistFile.
func ParsePlaylistFile(name string, data []byte) ([]PlaylistEntry, error) {
	if len(data) > MaxPlaylistFileBytes {
		return nil, fmt.Errorf("playlist: %s: %w: %d bytes, at most %d", name, ErrPlaylistTooLarge, len(data), MaxPlaylistFileBytes)
	}
	text, raw := decodePlaylistText(data)
	lines := splitLines(text)
	var rawLines []string
	if raw != nil {
		rawLines = splitLines(string(raw))
	}
	p := plParser{name: name, dir: filepath.Dir(name), lines: lines, raw: rawLines}
	p.isPLS = isPLS(lines) || strings.EqualFold(filepath.Ext(name), ".pls")
	switch {
	case p.isPLS:
		return p.pls()
	case IsPlaylistFile(name):
		return p.m3u()
	}
	return nil, fmt.Errorf("playlist: %s: %w", name, ErrNotPlaylistFile)
}

// decodePlaylistText returns the text as UTF-8 and, for a file in a legacy
// charset, its original bytes (BOM-less); lines of both correspond one to one
// since the legacy charsets map '\r' and '\n' to themselves.
func decodePlaylistText(data []byte) (string, []byte) {
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		data = data[3:]
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		return decodeUTF16(data[2:], false), nil
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return decodeUTF16(data[2:], true), nil
	}
	if utf8.Valid(data) {
		return string(data), nil
	}
	return decodeLegacy(data), data
}

func decodeUTF16(b []byte, bigEndian bool) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		if bigEndian {
			u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
		} else {
			u = append(u, uint16(b[i+1])<<8|uint16(b[i]))
		}
	}
	return string(utf16.Decode(u))
}

// splitLines splits on LF, CRLF and lone CR.
func splitLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Split(s, "\n")
}

// isPLS reports whether the first non-blank line is a [playlist] header.
func isPLS(lines []string) bool {
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			return strings.EqualFold(l, "[playlist]")
		}
	}
	return false
}

type plParser struct {
	name  string
	dir   string
	lines []string
	raw   []string // undecoded lines of a legacy-charset file; nil for UTF-8
	isPLS bool
}

// entry builds the entry for the location on line i (0-based).
func (p *plParser) entry(i int, loc, title string, length time.Duration) PlaylistEntry {
	e := PlaylistEntry{Location: loc, Title: title, Length: length, Line: i + 1}
	e.Path, e.Skip = locate(p.dir, loc)
	if p.raw != nil && e.Skip == "" && i < len(p.raw) {
		rawLoc := strings.TrimSpace(p.raw[i])
		if _, v, ok := strings.Cut(rawLoc, "="); ok && p.isPLS {
			rawLoc = strings.TrimSpace(v) // the value of FileN=
		}
		if rp, skip := locate(p.dir, rawLoc); skip == "" && rp != e.Path {
			e.rawPath = rp
		}
	}
	return e
}

func (p *plParser) tooMany() error {
	return fmt.Errorf("playlist: %s: %w: more than %d entries", p.name, ErrPlaylistTooLarge, MaxPlaylistEntries)
}

func (p *plParser) m3u() ([]PlaylistEntry, error) {
	var out []PlaylistEntry
	var title string
	var length time.Duration
	for i, line := range p.lines {
		line = strings.TrimSpace(line)
		if i == 0 {
			line = strings.TrimPrefix(line, "\uFEFF") // a BOM after a UTF-16 one
		}
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "#"):
			if len(line) >= 8 && strings.EqualFold(line[:8], "#EXTINF:") {
				length, title = parseExtinf(line[8:])
			}
			continue
		}
		if len(out) == MaxPlaylistEntries {
			return nil, p.tooMany()
		}
		out = append(out, p.entry(i, line, title, length))
		title, length = "", 0
	}
	return out, nil
}

// parseExtinf splits "<seconds>[ attributes],<title>". The comma ending the
// header is the first one outside double quotes (IPTV-style attributes may
// hold commas).
func parseExtinf(s string) (time.Duration, string) {
	head, title := s, ""
	quoted := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				head, title = s[:i], s[i+1:]
				i = len(s)
			}
		}
	}
	head = strings.TrimSpace(head)
	if k := strings.IndexAny(head, " \t"); k >= 0 {
		head = head[:k]
	}
	return parseSeconds(head), clean(title)
}

// parseSeconds reads a length in seconds; negative (the "-1 = unknown"
// convention), invalid or absurd values give 0.
func parseSeconds(s string) time.Duration {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !(f > 0) || f > 1e7 {
		return 0
	}
	return time.Duration(f * float64(time.Second))
}

type plsItem struct {
	n       int
	file    string
	title   string
	length  time.Duration
	line    int // 0-based line of FileN
	hasFile bool
}

func (p *plParser) pls() ([]PlaylistEntry, error) {
	items := map[int]*plsItem{}
	inPlaylist := true // keys before any section header count
	for i, line := range p.lines {
		line = strings.TrimSpace(line)
		if i == 0 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		if line == "" || line[0] == ';' || line[0] == '#' {
			continue
		}
		if line[0] == '[' {
			inPlaylist = strings.EqualFold(line, "[playlist]")
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !inPlaylist || !ok {
			continue
		}
		key, val = strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(val)
		var field string
		for _, f := range [...]string{"file", "title", "length"} {
			if strings.HasPrefix(key, f) {
				field = f
				break
			}
		}
		if field == "" {
			continue // numberofentries, version, anything else
		}
		n, err := strconv.Atoi(key[len(field):])
		if err != nil || n < 0 || key[len(field)] == '+' {
			continue
		}
		it := items[n]
		if it == nil {
			if len(items) == MaxPlaylistEntries {
				return nil, p.tooMany()
			}
			it = &plsItem{n: n}
			items[n] = it
		}
		switch field {
		case "file":
			if !it.hasFile { // the first FileN wins
				it.file, it.line, it.hasFile = val, i, true
			}
		case "title":
			it.title = clean(val)
		case "length":
			it.length = parseSeconds(val)
		}
	}
	list := make([]*plsItem, 0, len(items))
	for _, it := range items {
		if it.hasFile && it.file != "" {
			list = append(list, it)
		}
	}
	slices.SortFunc(list, func(a, b *plsItem) int { return a.n - b.n })
	out := make([]PlaylistEntry, 0, len(list))
	for _, it := range list {
		out = append(out, p.entry(it.line, it.file, it.title, it.length))
	}
	return out, nil
}

// locate turns a location into a file path, or says why it is not one.
func locate(dir, loc string) (path, skip string) {
	if scheme, ok := urlScheme(loc); ok {
		switch strings.ToLower(scheme) {
		case "file":
			u, err := url.Parse(loc)
			if err != nil {
				return "", ReasonBadFileURL
			}
			if u.Host != "" && !strings.EqualFold(u.Host, "localhost") {
				return "", ReasonRemoteFile + ": " + u.Host
			}
			loc = u.Path
			if loc == "" {
				return "", ReasonBadFileURL
			}
			// file:///C:/Music/a.mp3
			if len(loc) >= 3 && loc[0] == '/' && isDrive(loc[1:]) {
				return "", ReasonWindowsPath
			}
			return filepath.Clean(filepath.FromSlash(loc)), ""
		case "http", "https":
			return "", ReasonStreamURL
		default:
			return "", ReasonURLScheme + ": " + scheme
		}
	}
	if strings.HasPrefix(loc, `\\`) || isDrive(loc) { // \\server\share, C:\ or C:/
		return "", ReasonWindowsPath
	}
	loc = strings.ReplaceAll(loc, `\`, "/")
	p := filepath.FromSlash(loc)
	if filepath.IsAbs(p) {
		return filepath.Clean(p), ""
	}
	return filepath.Join(dir, p), ""
}

// urlScheme reports whether loc is a URL: a scheme of two or more
// characters (one letter is a Windows drive) followed by "://", or "file:/".
func urlScheme(loc string) (string, bool) {
	i := strings.IndexByte(loc, ':')
	if i < 2 {
		return "", false
	}
	for k := 0; k < i; k++ {
		c := loc[k]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (k == 0 || (c < '0' || c > '9') && c != '+' && c != '-' && c != '.') {
			return "", false
		}
	}
	scheme, rest := loc[:i], loc[i+1:]
	if strings.HasPrefix(rest, "//") || strings.EqualFold(scheme, "file") && strings.HasPrefix(rest, "/") {
		return scheme, true
	}
	return "", false
}

// isDrive reports whether s starts with a Windows drive ("C:").
func isDrive(s string) bool {
	if len(s) < 2 || s[1] != ':' {
		return false
	}
	c := s[0]
	return (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') && (len(s) == 2 || s[2] == '/' || s[2] == '\\')
}
