package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// testPNG is a small PNG of one colour.
func testPNG(t *testing.T, c color.RGBA) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range 64 {
		img.Set(i%8, i/8, c)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// coverTag is an ID3v2.3 tag with a title and a front cover (APIC).
func coverTag(title string, picture []byte) []byte {
	var body []byte
	frame := func(id string, data []byte) {
		body = append(body, id...)
		body = binary.BigEndian.AppendUint32(body, uint32(len(data)))
		body = append(body, 0, 0)
		body = append(body, data...)
	}
	frame("TIT2", append([]byte{3}, title...))
	apic := append([]byte{0}, "image/png\x00"...)
	apic = append(apic, 3, 0) // front cover, no description
	frame("APIC", append(apic, picture...))
	size := len(body)
	hdr := append([]byte("ID3\x03\x00\x00"), byte(size>>21&0x7f), byte(size>>14&0x7f), byte(size>>7&0x7f), byte(size&0x7f))
	return append(hdr, body...)
}

func contentHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

type artResp struct {
	status int
	header http.Header
	body   []byte
}

func getArt(t *testing.T, url, ifNoneMatch string) artResp {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ifNoneMatch != "" {
		req.Header.Set("If-None-Match", ifNoneMatch)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return artResp{resp.StatusCode, resp.Header, body}
}

// TestArt serves the cover of the track listeners hear, a station's
// image when the track has none, and a generated picture otherwise: by
// content hash for a year, per station revalidated, never naming a file.
func TestArt(t *testing.T) {
	t.Parallel()
	cover, picture := testPNG(t, color.RGBA{200, 30, 60, 255}), testPNG(t, color.RGBA{20, 160, 70, 255})
	dir := t.TempDir()
	imagePath := testmedia.WriteFile(t, dir, "station.png", picture)
	bigPath := testmedia.WriteFile(t, dir, "big.png", picture, make([]byte, playlist.MaxArtBytes))
	textPath := testmedia.WriteFile(t, dir, "notes.png", []byte("not a picture at all"))
	song := append(coverTag("Covered", cover), testmedia.Frames(secondsOfFrames(30))...)
	plain := taggedMP3("Plain", "Song", testmedia.Frames(secondsOfFrames(30)))
	h := startHarness(t, nil,
		stationSpec{Station: config.Station{Route: "/", Name: "Main"}, files: map[string][]byte{"a.mp3": song}},
		stationSpec{Station: config.Station{Route: "/img", Name: "With Image", Image: imagePath}, files: map[string][]byte{"a.mp3": plain}},
		stationSpec{Station: config.Station{Route: "/plain", Name: "Night Shift"}, files: map[string][]byte{"a.mp3": plain}},
		stationSpec{Station: config.Station{Route: "/big", Name: "Big", Image: bigPath}, files: map[string][]byte{"a.mp3": plain}},
		stationSpec{Station: config.Station{Route: "/text", Name: "Text", Image: textPath}, files: map[string][]byte{"a.mp3": plain}},
	)

	resp := getArt(t, h.url("/streams"), "")
	var list struct {
		Streams []stationJSON `json:"streams"`
	}
	if err := json.Unmarshal(resp.body, &list); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(resp.body, []byte(dir)) || bytes.Contains(resp.body, []byte(".png")) {
		t.Errorf("/streams names a picture file: %s", resp.body)
	}
	arts, positions := map[string]string{}, map[string]int{}
	for _, st := range list.Streams {
		arts[st.Route], positions[st.Route] = st.Art, st.Position
	}
	if arts["/"] != "/art/"+contentHash(cover) || arts["/img"] != "/art/"+contentHash(picture) {
		t.Errorf("art: %q", arts)
	}
	if positions["/"] != 0 || positions["/img"] != 1 || positions["/text"] != 4 {
		t.Errorf("positions %v, want the configuration's order", positions)
	}
	generated := map[string]string{}
	for _, route := range []string{"/plain", "/big", "/text"} {
		r := getArt(t, h.url(arts[route]), "")
		if r.status != 200 || r.header.Get("Content-Type") != "image/svg+xml" || !bytes.HasPrefix(r.body, []byte("<svg")) {
			t.Errorf("%s: %s → %d %s %.40q", route, arts[route], r.status, r.header.Get("Content-Type"), r.body)
		}
		generated[route] = string(r.body)
	}
	if !strings.Contains(generated["/plain"], ">NS</text>") || generated["/plain"] == generated["/big"] {
		t.Errorf("generated pictures: %q", generated)
	}

	// By content: a year, immutable, 304 on a match.
	r := getArt(t, h.url(arts["/"]), "")
	if r.status != 200 || !bytes.Equal(r.body, cover) || r.header.Get("Content-Type") != "image/png" ||
		r.header.Get("Cache-Control") != "public, max-age=31536000, immutable" || r.header.Get("ETag") != `"`+contentHash(cover)+`"` ||
		r.header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(r.header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("%s: %d %v", arts["/"], r.status, r.header)
	}
	if r := getArt(t, h.url(arts["/"]), `"`+contentHash(cover)+`"`); r.status != 304 || len(r.body) != 0 {
		t.Errorf("If-None-Match: %d, %d bytes", r.status, len(r.body))
	}
	// Per station: what it shows now, revalidated every time.
	r = getArt(t, h.url("/art?route=img"), "")
	if r.status != 200 || !bytes.Equal(r.body, picture) || r.header.Get("Cache-Control") != "no-cache" || r.header.Get("ETag") != `"`+contentHash(picture)+`"` {
		t.Errorf("/art?route=img: %d %v", r.status, r.header)
	}
	if r := getArt(t, h.url("/art?route=/img"), `"`+contentHash(picture)+`"`); r.status != 304 {
		t.Errorf("/art?route=/img revalidated: %d", r.status)
	}
	if r := getArt(t, h.url("/art"), ""); r.status != 200 || !bytes.Equal(r.body, cover) {
		t.Errorf("/art (the default station): %d", r.status)
	}
	for _, path := range []string{"/art?route=/nope", "/art/0123456789abcdef0123456789abcdef", "/art/" + contentHash(cover) + "x"} {
		if r := getArt(t, h.url(path), ""); r.status != 404 || bytes.Contains(r.body, []byte(dir)) {
			t.Errorf("%s: %d %q", path, r.status, r.body)
		}
	}
	post, err := http.Post(h.url(arts["/"]), "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if post.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", post.StatusCode)
	}
}

// TestArtCache reads a file once for many requests, again when it
// changes, and keeps at most artCacheEntries pictures.
func TestArtCache(t *testing.T) {
	var c artCache
	path := filepath.Join(t.TempDir(), "logo.png")
	if err := os.WriteFile(path, testPNG(t, color.RGBA{1, 2, 3, 255}), 0o644); err != nil {
		t.Fatal(err)
	}
	first := c.imageFile(path)
	for range 1000 {
		if c.imageFile(path) != first {
			t.Fatal("the same file was read again")
		}
	}
	other := testPNG(t, color.RGBA{200, 100, 3, 255})
	if err := os.WriteFile(path, append(other, make([]byte, 16)...), 0o644); err != nil {
		t.Fatal(err)
	}
	if p := c.imageFile(path); p == first || p == nil || p.hash == first.hash {
		t.Errorf("a changed file kept its old picture")
	}
	reads := 0
	for i := range artCacheEntries + 50 {
		c.get(artKey{kind: 'g', path: string(rune('a' + i))}, func() (string, []byte) {
			reads++
			return "image/svg+xml", []byte{byte(i), byte(i >> 8)}
		})
	}
	if c.lru.Len() != artCacheEntries || len(c.byKey) != artCacheEntries || reads != artCacheEntries+50 {
		t.Errorf("cache holds %d (%d keys) after %d reads, want %d", c.lru.Len(), len(c.byKey), reads, artCacheEntries)
	}
	if c.byContent(first.hash) != nil {
		t.Error("the least recently used picture is still there")
	}
}
