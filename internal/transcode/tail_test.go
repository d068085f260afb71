package transcode

import (
	"io"
	"strings"
	"testing"
)

func TestTailKeepsLastBytes(t *testing.T) {
	write := func(w io.Writer, s string) {
		t.Helper()
		if n, err := io.WriteString(w, s); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	tl := newTail(64)
	for i := 0; i < 100; i++ {
		write(tl, "line "+strings.Repeat("x", i%7)+"\n")
	}
	write(tl, "the last line\n")
	got := tl.String()
	if len(got) > 64 {
		t.Fatalf("tail kept %d bytes, limit 64", len(got))
	}
	if !strings.HasSuffix(got, "the last line\n") {
		t.Fatalf("tail lost the newest bytes: %q", got)
	}
	if !strings.HasPrefix(got, "line ") {
		t.Fatalf("tail should start at a line boundary after dropping data: %q", got)
	}

	big := newTail(8)
	write(big, "0123456789abcdef")
	if got := big.String(); got != "89abcdef" {
		t.Fatalf("single large write: got %q", got)
	}
	small := newTail(8)
	write(small, "abc")
	if got := small.String(); got != "abc" {
		t.Fatalf("short content: got %q", got)
	}
}

func TestSummarize(t *testing.T) {
	stderr := "[wav @ 0x55fd90e84ac0] Cannot check for SPDIF\n" +
		"Guessed Channel Layout for Input Stream #0.0 : stereo\n" +
		"[mp3 @ 0x1234] bad frame\n    Last message repeated 3 times\n[mp3 @ 0x9999] bad frame\n" +
		"Output file is empty, nothing was encoded\n\n"
	got := summarize(stderr)
	want := "[wav] Cannot check for SPDIF; [mp3] bad frame; Output file is empty, nothing was encoded"
	if got != want {
		t.Fatalf("summarize:\n got %q\nwant %q", got, want)
	}
	if got := summarize(strings.Repeat("y", 1000)); len(got) > reasonLineMax+len("…") {
		t.Fatalf("long line not shortened: %d bytes", len(got))
	}
}

func TestLimitedBuffer(t *testing.T) {
	b := limitedBuffer{max: 5}
	n, err := b.Write([]byte("abc"))
	if n != 3 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	n, err = b.Write([]byte("defgh"))
	if n != 5 || err != nil {
		t.Fatalf("Write = %d, %v (must report all bytes consumed)", n, err)
	}
	if b.String() != "abcde" || !b.truncated {
		t.Fatalf("got %q truncated=%v", b.String(), b.truncated)
	}
}

func TestErrorMessage(t *testing.T) {
	e := &Error{Path: "/m/x.wav", ExitCode: 1, Stderr: "file:/m/x.wav: Invalid data found when processing input\n"}
	want := "ffmpeg failed on /m/x.wav: exit status 1: file:/m/x.wav: Invalid data found when processing input"
	if e.Error() != want {
		t.Fatalf("Error() = %q, want %q", e.Error(), want)
	}
	if e.Timeout() {
		t.Fatal("Timeout() true without ErrStalled")
	}
}
