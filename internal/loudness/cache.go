package loudness

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/atomicfile"
)

// cacheFormat names the cache file's content, so another program's JSON
// at the same path is not taken for a cache.
const cacheFormat = "audio-streamer loudness cache"

// maxCacheBytes bounds what is read of a cache file: 100 000 entries take
// about 40 MB.
const maxCacheBytes = 256 << 20

// seenResolution is how stale an entry's last-seen time may get before a
// lookup refreshes it (and makes the cache worth saving again).
const seenResolution = 24 * time.Hour

// fileKey identifies a file's content as far as stat can tell, with the
// parameters it was measured with: an edited file (new mtime or size) is
// measured again, a renamed or moved one (same device and inode) is not.
// Where there are no inode numbers, the path stands in for them.
type fileKey struct {
	dev, ino  uint64
	path      string
	size      int64
	mtime     int64 // ns
	threshold int32 // Params.thresholdKey
}

func keyOf(path string, fi os.FileInfo, p Params) fileKey {
	k := fileKey{size: fi.Size(), mtime: fi.ModTime().UnixNano(), threshold: p.thresholdKey()}
	var ok bool
	if k.dev, k.ino, ok = devIno(fi); !ok {
		k.path = path
	}
	return k
}

// record is what the cache remembers of one file: its analysis, or why it
// could not be measured (ErrUndecodable).
type record struct {
	Dev       uint64    `json:"dev"`
	Ino       uint64    `json:"ino"`
	Size      int64     `json:"size"`
	MTime     int64     `json:"mtime_ns"`
	Threshold int32     `json:"threshold_cdb"`
	KeyPath   string    `json:"key_path,omitempty"` // fileKey.path
	Path      string    `json:"path"`               // where it was last measured or looked up
	Seen      time.Time `json:"seen"`
	Analysis  *Analysis `json:"analysis,omitempty"`
	Error     string    `json:"error,omitempty"`
}

func (r *record) key() fileKey {
	return fileKey{dev: r.Dev, ino: r.Ino, path: r.KeyPath, size: r.Size, mtime: r.MTime, threshold: r.Threshold}
}

func newRecord(k fileKey, path string, now time.Time) *record {
	return &record{
		Dev: k.dev, Ino: k.ino, KeyPath: k.path, Size: k.size, MTime: k.mtime,
		Threshold: k.threshold, Path: path, Seen: now.UTC().Truncate(time.Second),
	}
}

// cacheFile is the JSON document on disk.
type cacheFile struct {
	Format  string    `json:"format"`
	Version int       `json:"version"`
	Entries []*record `json:"entries"`
}

// cache is the analyses in memory, bounded by age and count. The Analyzer's
// mutex guards it.
type cache struct {
	entries    map[fileKey]*record
	dirty      bool // changed since last saved
	maxEntries int
	maxAge     time.Duration
}

func newCache(maxEntries int, maxAge time.Duration) *cache {
	return &cache{entries: make(map[fileKey]*record), maxEntries: maxEntries, maxAge: maxAge}
}

// get returns the record for k and marks it seen now at path (once a
// day, so lookups do not make the cache worth saving every time).
func (c *cache) get(k fileKey, path string, now time.Time) (*record, bool) {
	r, ok := c.entries[k]
	if !ok {
		return nil, false
	}
	if now.Sub(r.Seen) >= seenResolution {
		r.Seen, r.Path, c.dirty = now.UTC().Truncate(time.Second), path, true
	}
	return r, true
}

func (c *cache) put(r *record, now time.Time) {
	c.entries[r.key()] = r
	c.dirty = true
	// Pruning sorts: let the map overshoot by an eighth, then cut back.
	if len(c.entries) > c.maxEntries+c.maxEntries/8 {
		c.prune(now)
	}
}

// prune forgets entries not seen for maxAge, then the least recently seen
// beyond maxEntries.
func (c *cache) prune(now time.Time) {
	for k, r := range c.entries {
		if now.Sub(r.Seen) > c.maxAge {
			delete(c.entries, k)
			c.dirty = true
		}
	}
	if over := len(c.entries) - c.maxEntries; over > 0 {
		all := c.records()
		for _, r := range all[:over] { // oldest first
			delete(c.entries, r.key())
		}
		c.dirty = true
	}
}

// records returns copies of every entry, least recently seen first.
func (c *cache) records() []*record {
	all := make([]*record, 0, len(c.entries))
	for _, r := range c.entries {
		cp := *r
		all = append(all, &cp)
	}
	slices.SortFunc(all, func(a, b *record) int {
		if d := a.Seen.Compare(b.Seen); d != 0 {
			return d
		}
		return cmp.Compare(a.Path, b.Path)
	})
	return all
}

// errCorruptCache is wrapped by loadCache for a file it cannot use.
var errCorruptCache = errors.New("not a usable loudness cache")

// loadCache reads the cache file at path into c. A missing file is no
// error; a corrupt or foreign one, or one of another FormatVersion, leaves
// c empty and returns why (the caller logs it and carries on).
func (c *cache) load(path string, now time.Time) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("loudness cache %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCacheBytes+1))
	if err != nil {
		return fmt.Errorf("loudness cache %s: %w", path, err)
	}
	if len(data) > maxCacheBytes {
		return fmt.Errorf("loudness cache %s: %w: larger than %d bytes", path, errCorruptCache, maxCacheBytes)
	}
	var doc cacheFile
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("loudness cache %s: %w: %v", path, errCorruptCache, err)
	}
	if doc.Format != cacheFormat {
		return fmt.Errorf("loudness cache %s: %w: format %q, want %q", path, errCorruptCache, doc.Format, cacheFormat)
	}
	if doc.Version != FormatVersion {
		return fmt.Errorf("loudness cache %s: written by format version %d, this is %d: measuring again", path, doc.Version, FormatVersion)
	}
	for _, r := range doc.Entries {
		if r == nil || r.Analysis == nil && r.Error == "" {
			continue
		}
		c.entries[r.key()] = r
	}
	c.prune(now)
	c.dirty = false
	return nil
}

// writeCache writes records to path atomically: a temporary file in the
// same folder is written, synced and renamed over path, so a crash leaves
// the old cache or the new one, never a torn one.
func writeCache(path string, records []*record) error {
	data, err := json.Marshal(cacheFile{Format: cacheFormat, Version: FormatVersion, Entries: records})
	if err != nil {
		return fmt.Errorf("loudness cache: %w", err)
	}
	if err := atomicfile.Write(path, data); err != nil {
		return fmt.Errorf("loudness cache: %w", err)
	}
	return nil
}
