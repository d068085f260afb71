package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// TestAccessLogLine: Icecast's combined format, with its escaping, "-"
// for what is missing, the local time of the end and the seconds.
func TestAccessLogLine(t *testing.T) {
	end := time.Date(2026, 12, 6, 1, 2, 3, 0, time.FixedZone("", 3600))
	info := mount.ListenerInfo{Remote: "192.0.2.7:5555", UserAgent: "VLC/3.0.18 \"x\"", Connected: end.Add(-115 * time.Second), BytesSent: 1843200}
	got := string(appendLine(nil, AccessRequest{Method: "GET", Path: "/live mp3", Proto: "HTTP/1.1"}, info, end))
	want := `192.0.2.7 - - [06/Dec/2026:01:02:03 +0100] "GET /live.mp3 HTTP/1.1" 200 1843200 "-" "VLC/3.0.18 .x." 115` + "\n"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

// TestAccessLogReopen: after the file is moved away (logrotate), Reopen
// starts a new one at the path; lines before went to the old file.
func TestAccessLogReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	al, err := OpenAccessLog(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer al.Close()
	info := mount.ListenerInfo{Remote: "[::1]:1", Connected: time.Now(), BytesSent: 1}
	al.Session(AccessRequest{Method: "GET", Path: "/a", Proto: "HTTP/1.0"}, info, time.Now())
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := al.Reopen(); err != nil {
		t.Fatal(err)
	}
	al.Session(AccessRequest{Method: "GET", Path: "/b", Proto: "HTTP/1.0"}, info, time.Now())
	old, _ := os.ReadFile(path + ".1")
	cur, _ := os.ReadFile(path)
	if !strings.Contains(string(old), `"GET /a HTTP/1.0"`) || strings.Count(string(old), "\n") != 1 ||
		!strings.HasPrefix(string(cur), `::1 - - [`) || !strings.Contains(string(cur), `"GET /b HTTP/1.0"`) {
		t.Fatalf("rotated %q, current %q", old, cur)
	}
}
