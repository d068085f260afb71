package mount

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
	"github.com/aposazhennikov/stream-audio-to-web/playlist"
)

// A station playing a playlist file plays its entries in the file's order
// under the titles the file gives them (#EXTINF), not the files' tags.
func TestPlaylistFileTitlesReachListeners(t *testing.T) {
	dir := t.TempDir()
	testmedia.WriteFile(t, dir, "b.mp3", testmedia.ID3v2("Tag", "B", 0), testmedia.Frames(20))
	testmedia.WriteFile(t, dir, "a.mp3", testmedia.ID3v2("Tag", "A", 0), testmedia.Frames(20))
	list := filepath.Join(dir, "show.m3u")
	m3u := "#EXTM3U\n#EXTINF:1,Listed - Первый\nb.mp3\na.mp3\n"
	if err := os.WriteFile(list, []byte(m3u), 0o644); err != nil {
		t.Fatal(err)
	}
	lib := playlist.NewLibrary(list, playlist.LibraryOptions{})
	if _, err := lib.Scan(); err != nil {
		t.Fatal(err)
	}
	started := make(chan string, 8)
	st := New(Config{PublishInterval: 50 * time.Millisecond, OnTrack: func(ti *TrackInfo) { started <- ti.Display }},
		&FolderSource{Library: lib, Preload: 1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { st.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	var got []string
	for len(got) < 2 {
		select {
		case title := <-started:
			got = append(got, title)
		case <-time.After(10 * time.Second):
			t.Fatalf("tracks started: %q", got)
		}
	}
	if got[0] != "Listed - Первый" || got[1] != "Tag - A" {
		t.Errorf("titles %q, want the playlist's title for b.mp3, then a.mp3's tags", got)
	}
}
