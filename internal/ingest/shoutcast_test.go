package ingest

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/aposazhennikov/stream-audio-to-web/internal/auth"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// A SHOUTcast v1 source: password line (each ending clients use), the
// exact OK2 reply, icy-* lines, audio. libshout sends it all in one write
// without waiting for OK2, with bare "\n".
func TestShoutcastSource(t *testing.T) {
	for _, eol := range []string{"\r\n", "\n", "\r\r\n"} {
		t.Run(strconv.Quote(eol), func(t *testing.T) {
			r := newRig(t, liveMount(), &Mount{Route: "/other", Password: "other-pw"})
			r.serveShoutcast(t)
			c := dial(t, r.icy)
			head := testPassword + eol +
				"icy-name:ICY Live\nicy-url:http://www.icecast.org/\nicy-irc:\nicy-aim:\nicy-icq:\n" +
				"icy-pub:1\nicy-genre:icecast\nicy-br:128\n\n"
			audio := testmedia.Frames(10)
			if _, err := c.Write(append([]byte(head), audio...)); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(okICY))
			if _, err := io.ReadFull(c, got); err != nil || string(got) != "OK2\r\nicy-caps:11\r\n\r\n" {
				t.Fatalf("reply %q, %v", got, err)
			}
			info := waitClaim(t, r.fake["/live"])
			if info.Name != "ICY Live" || info.Genre != "icecast" || !info.Public || info.AudioInfo != "bitrate=128" ||
				info.ContentType != "audio/mpeg" || !strings.HasPrefix(info.RemoteAddr, "127.0.0.1:") {
				t.Errorf("stream info %+v", info)
			}
			c.Close()
			if e := r.waitEnded(t); e.err != nil || e.route != "/live" {
				t.Errorf("ended %+v", e)
			}
			if got := r.fake["/live"].bytes(); !bytes.Equal(got, audio) {
				t.Errorf("station got %d bytes, want %d", len(got), len(audio))
			}
		})
	}
}

// A wrong password is answered by closing, with nothing sent (Icecast
// 2.4); libshout's "!POKE" probe likewise, but it is no guess: it locks
// nobody out, while five wrong passwords do.
func TestShoutcastRefusals(t *testing.T) {
	r := newRig(t, liveMount())
	r.serveShoutcast(t)
	refused := func(line string) {
		t.Helper()
		c := dial(t, r.icy)
		if _, err := c.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, c); got != "" {
			t.Errorf("%q answered with %q", line, got)
		}
	}
	for range auth.FailLimit + 1 {
		refused("!POKE\nicy-name:libshout server poke request\n\n")
	}
	if wait := r.srv.Failures.LockedFor("127.0.0.1", r.srv.Clock()); wait != 0 {
		t.Fatalf("pokes locked the address out for %v", wait)
	}
	for i := range auth.FailLimit {
		refused("wrong" + strconv.Itoa(i) + "\r\n")
	}
	refused(testPassword + "\r\n") // locked out now
	if r.fake["/live"].Status().OnAir {
		t.Error("a refused source went on the air")
	}
}

// A second SHOUTcast source on a station in use is closed before OK2.
func TestShoutcastBusy(t *testing.T) {
	r := newRig(t, liveMount())
	r.serveShoutcast(t)
	first := dial(t, r.icy)
	if _, err := first.Write([]byte(testPassword + "\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	waitClaim(t, r.fake["/live"])
	second := dial(t, r.icy)
	if _, err := second.Write([]byte(testPassword + "\r\n")); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, second); got != "" {
		t.Errorf("busy station answered %q", got)
	}
	first.Close()
	r.waitEnded(t)
}

// Two stations with the same password: the SHOUTcast port cannot tell
// which one is meant and refuses rather than guess.
func TestShoutcastAmbiguousPassword(t *testing.T) {
	r := newRig(t, liveMount(), &Mount{Route: "/twin", Password: testPassword})
	r.serveShoutcast(t)
	c := dial(t, r.icy)
	if _, err := c.Write([]byte(testPassword + "\r\n")); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, c); got != "" {
		t.Errorf("ambiguous password answered %q", got)
	}
}
