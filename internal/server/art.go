package server

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"html"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/aposazhennikov/stream-audio-to-web/internal/endpoint"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// Limits of the picture cache: a thousand page loads read a cover once,
// and a library of large covers cannot fill memory.
const (
	artCacheEntries = 256
	artCacheBytes   = 64 << 20
)

// artPicture is a picture the server serves: a track's cover, a station's
// image or the logo (read from files), or a generated station picture.
// data nil means the file has none (cached too, so it is not read again).
type artPicture struct {
	key  artKey
	mime string
	data []byte
	hash string // 32 hex digits of the SHA-256 of data, as playlist.Art's
}

// artKey names what a picture was read from: a file as it was (a changed
// file is another key), or a generated picture by its text.
type artKey struct {
	kind  byte // 't' a track's embedded cover, 'i' an image file, 'g' generated
	path  string
	size  int64
	mtime int64
}

// artCache keeps recently served pictures by source and by hash, least
// recently used out first, within artCacheEntries and artCacheBytes. The
// zero value is ready to use.
type artCache struct {
	mu     sync.Mutex
	lru    list.List // of *artPicture, most recent first
	byKey  map[artKey]*list.Element
	byHash map[string]*list.Element
	bytes  int
}

// get returns the picture cached under key, or reads it with read and
// caches the result. A missing file's stat fails before this.
func (c *artCache) get(key artKey, read func() (mime string, data []byte)) *artPicture {
	c.mu.Lock()
	if e, ok := c.byKey[key]; ok {
		c.lru.MoveToFront(e)
		c.mu.Unlock()
		return e.Value.(*artPicture)
	}
	c.mu.Unlock()
	// Read without the lock: two first requests may both read, which is
	// cheaper than every lookup waiting for a slow disk.
	p := &artPicture{key: key}
	if mime, data := read(); len(data) > 0 {
		sum := sha256.Sum256(data)
		p.mime, p.data, p.hash = mime, data, hex.EncodeToString(sum[:16])
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		c.lru.MoveToFront(e)
		return e.Value.(*artPicture)
	}
	if c.byKey == nil {
		c.byKey, c.byHash = map[artKey]*list.Element{}, map[string]*list.Element{}
	}
	e := c.lru.PushFront(p)
	c.byKey[key] = e
	if p.hash != "" {
		c.byHash[p.hash] = e
	}
	c.bytes += len(p.data)
	for c.lru.Len() > artCacheEntries || c.bytes > artCacheBytes {
		old := c.lru.Back()
		if old == e {
			break
		}
		c.remove(old)
	}
	return p
}

func (c *artCache) remove(e *list.Element) {
	p := c.lru.Remove(e).(*artPicture)
	delete(c.byKey, p.key)
	if c.byHash[p.hash] == e {
		delete(c.byHash, p.hash)
	}
	c.bytes -= len(p.data)
}

// byContent returns the cached picture whose hash is h, or nil.
func (c *artCache) byContent(h string) *artPicture {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byHash[h]
	if !ok {
		return nil
	}
	c.lru.MoveToFront(e)
	return e.Value.(*artPicture)
}

// fileKey is the key of the regular file at path as it is now; ok is
// false when there is none.
func fileKey(kind byte, path string) (artKey, bool) {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return artKey{}, false
	}
	return artKey{kind: kind, path: path, size: fi.Size(), mtime: fi.ModTime().UnixNano()}, true
}

// trackCover is the cover embedded in the audio file at path, or nil.
func (c *artCache) trackCover(path string) *artPicture {
	key, ok := fileKey('t', path)
	if !ok {
		return nil
	}
	p := c.get(key, func() (string, []byte) {
		a, ok := playlist.ReadArt(path)
		if !ok {
			return "", nil
		}
		return a.MIME, a.Data
	})
	if p.data == nil {
		return nil
	}
	return p
}

// imageFile is the picture file at path (a station's image, the logo):
// a JPEG, PNG, GIF or WebP by its first bytes, at most
// playlist.MaxArtBytes; nil otherwise.
func (c *artCache) imageFile(path string) *artPicture {
	key, ok := fileKey('i', path)
	if !ok || key.size > playlist.MaxArtBytes {
		return nil
	}
	p := c.get(key, func() (string, []byte) {
		f, err := os.Open(path)
		if err != nil {
			return "", nil
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, playlist.MaxArtBytes+1))
		if err != nil || len(data) > playlist.MaxArtBytes {
			return "", nil
		}
		switch mime := http.DetectContentType(data); mime {
		case "image/jpeg", "image/png", "image/gif", "image/webp":
			return mime, data
		}
		return "", nil
	})
	if p.data == nil {
		return nil
	}
	return p
}

// generated is a station's picture when it has none: its initials on a
// gradient whose hues come from its name, so every station looks
// different and the same from day to day.
func (c *artCache) generated(name string) *artPicture {
	return c.get(artKey{kind: 'g', path: name}, func() (string, []byte) {
		return "image/svg+xml", generatedArt(name)
	})
}

func generatedArt(name string) []byte {
	h := fnv.New32a()
	h.Write([]byte(name))
	sum := h.Sum32()
	hue := sum % 360
	hue2 := (hue + 40 + sum>>9%60) % 360
	return fmt.Appendf(nil, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 256 256">`+
		`<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">`+
		`<stop offset="0" stop-color="hsl(%d,65%%,52%%)"/><stop offset="1" stop-color="hsl(%d,70%%,30%%)"/></linearGradient></defs>`+
		`<rect width="256" height="256" fill="url(#g)"/>`+
		`<circle cx="200" cy="56" r="90" fill="#fff" fill-opacity=".08"/>`+
		`<text x="128" y="128" dy=".35em" text-anchor="middle" font-family="system-ui,-apple-system,Segoe UI,Roboto,sans-serif" `+
		`font-size="96" font-weight="700" fill="#fff" fill-opacity=".92">%s</text></svg>`,
		hue, hue2, html.EscapeString(initials(name)))
}

// initials is up to two letters or digits from the first words of name.
func initials(name string) string {
	var out []rune
	for w := range strings.FieldsFuncSeq(name, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		r, _ := utf8.DecodeRuneInString(w)
		out = append(out, unicode.ToUpper(r))
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 {
		return "♪"
	}
	return string(out)
}

// stationArt is what a station's page shows as its picture now: the cover
// of the track listeners hear, else the station's image, else its
// generated picture. Never nil.
func (s *Server) stationArt(st Station) *artPicture {
	if t := nowPlaying(st); t != nil && t.Path != "" {
		if p := s.art.trackCover(t.Path); p != nil {
			return p
		}
	}
	set := st.Profile()
	if set.Image != "" {
		if p := s.art.imageFile(set.Image); p != nil {
			return p
		}
	}
	name := set.Name
	if name == "" {
		name = strings.TrimPrefix(set.Route, "/")
	}
	return s.art.generated(name)
}

// artPath is where a picture is served for good (its content never
// changes there), from the server root.
func artPath(p *artPicture) string { return endpoint.Art + "/" + p.hash }

// art serves pictures: /art/<hash> is a picture by content, cached for a
// year; /art?route=<route> is what the station shows now (see stationArt),
// revalidated on every use. Paths of files never appear.
func (s *Server) artHandler(ctx *fasthttp.RequestCtx, path string) {
	if !methodIs(ctx, "GET", "HEAD") {
		return
	}
	if h, ok := strings.CutPrefix(path, endpoint.Art+"/"); ok {
		p := s.art.byContent(h)
		if p == nil {
			ctx.Error("404 Not Found: no such picture (it may have been replaced)\n", fasthttp.StatusNotFound)
			return
		}
		writeArt(ctx, p, "public, max-age=31536000, immutable")
		return
	}
	arg := string(ctx.QueryArgs().Peek("route"))
	st := s.stationFor(arg)
	if arg == "" {
		st = s.defaultStation()
	}
	if st == nil {
		ctx.Error("404 Not Found: no station "+arg+"\n", fasthttp.StatusNotFound)
		return
	}
	writeArt(ctx, s.stationArt(st), "no-cache")
}

func writeArt(ctx *fasthttp.RequestCtx, p *artPicture, cacheControl string) {
	etag := `"` + p.hash + `"`
	h := &ctx.Response.Header
	h.Set("Cache-Control", cacheControl)
	h.Set("ETag", etag)
	h.Set("X-Content-Type-Options", "nosniff")
	// A picture opened on its own (an SVG above all) runs nothing.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	h.Set("Access-Control-Allow-Origin", "*")
	h.SetContentType(p.mime)
	if inm := string(ctx.Request.Header.Peek("If-None-Match")); inm != "" && (inm == "*" || strings.Contains(inm, etag)) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	ctx.SetBody(p.data)
}
