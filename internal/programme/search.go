package programme

import (
	"path"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// Match is a file of the station's library that a search found.
type Match struct {
	Rel     string `json:"rel"`
	Artist  string `json:"artist,omitempty"`
	Title   string `json:"title,omitempty"`
	Display string `json:"display"`
}

// Bounds of one Search.
const (
	// DefaultSearchLimit is the number of matches a limit of 0 returns;
	// MaxSearchLimit caps any limit.
	DefaultSearchLimit = 50
	MaxSearchLimit     = 500
	// maxTitleReads is how many files' tags one search reads at most;
	// files not read yet match by their path only, and later searches
	// read on, so a search over a large new folder stays quick.
	maxTitleReads = 500
)

// Search finds files of the station's library, in library order, whose
// title, artist or path contains every word of query, ignoring case and
// accents ("cafe" finds "Café", "елка" finds "Ёлка") and the Unicode form
// of names (NFC or NFD). Titles come from tags (or the playlist file),
// read once per file and kept until the library sees the file change. A
// limit of 0 or less returns up to DefaultSearchLimit matches; none
// returns more than MaxSearchLimit. An empty query matches nothing.
func (p *Programme) Search(query string, limit int) []Match {
	if limit <= 0 {
		limit = DefaultSearchLimit
	}
	limit = min(limit, MaxSearchLimit)
	f := newFolding()
	words := strings.Fields(f.fold(query))
	if len(words) == 0 {
		return nil
	}
	return p.titles.search(f, words, limit)
}

// titleIndex holds the library's titles, folded for matching.
type titleIndex struct {
	lib *playlist.Library

	mu      sync.Mutex // serialises searches, which may read tags
	version uint64
	built   bool
	items   []indexed // in library order
}

type indexed struct {
	track playlist.Track
	title playlist.Title
	read  bool   // title is the file's (else the name stands in)
	hay   string // folded artist, title and path, 0-separated
}

func (x *titleIndex) search(f *folding, words []string, limit int) []Match {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.refresh(f)
	var out []Match
	for i := range x.items {
		it := &x.items[i]
		if !containsAll(it.hay, words) {
			continue
		}
		out = append(out, Match{Rel: it.track.Rel, Artist: it.title.Artist, Title: it.title.Title, Display: it.title.Display})
		if len(out) == limit {
			break
		}
	}
	return out
}

// refresh follows the library's changes (keeping titles of files that did
// not change) and reads up to maxTitleReads titles not read yet.
func (x *titleIndex) refresh(f *folding) {
	if v := x.lib.Version(); !x.built || v != x.version {
		old := make(map[string]*indexed, len(x.items))
		for i := range x.items {
			old[x.items[i].track.Rel] = &x.items[i]
		}
		tracks := x.lib.Tracks()
		items := make([]indexed, len(tracks))
		for i, t := range tracks {
			if o, ok := old[t.Rel]; ok && o.track.Size == t.Size && o.track.ModTime.Equal(t.ModTime) && o.track.Title == t.Title {
				items[i] = *o
				items[i].track = t
				continue
			}
			items[i] = indexed{track: t, title: playlist.Title{Display: baseTitle(t.Rel)}}
			items[i].hay = f.hay(items[i])
		}
		x.items, x.version, x.built = items, v, true
	}
	reads := 0
	for i := range x.items {
		it := &x.items[i]
		if it.read {
			continue
		}
		if reads == maxTitleReads {
			break
		}
		reads++
		it.title, it.read = titleOf(x.lib, it.track.Rel), true
		it.hay = f.hay(*it)
	}
}

func containsAll(hay string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(hay, w) {
			return false
		}
	}
	return true
}

// baseTitle is a file's name without folder and extension.
func baseTitle(rel string) string {
	base := path.Base(rel)
	return strings.TrimSuffix(base, path.Ext(base))
}

// folding folds text for matching: compatibility decomposition, combining
// marks removed (accents; "й" becomes "и" too, harmless for a search),
// case folded, recomposed. It is not safe for concurrent use.
type folding struct{ t transform.Transformer }

func newFolding() *folding {
	return &folding{transform.Chain(norm.NFKD, runes.Remove(runes.In(unicode.Mn)), cases.Fold(), norm.NFC)}
}

func (f *folding) fold(s string) string {
	out, _, err := transform.String(f.t, s)
	if err != nil {
		return strings.ToLower(s)
	}
	return strings.ReplaceAll(out, "\x00", "")
}

func (f *folding) hay(it indexed) string {
	return f.fold(it.title.Artist) + "\x00" + f.fold(it.title.Title) + "\x00" + f.fold(it.track.Rel)
}
