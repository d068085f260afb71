package mount

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// readFrames takes audio apart into whole frames; it fails the test on
// any byte that is not inside one.
func readFrames(t *testing.T, audio []byte) [][]byte {
	t.Helper()
	fr := NewFrameReader(bytes.NewReader(audio))
	var out [][]byte
	for {
		f, err := fr.Next()
		if errors.Is(err, io.EOF) || (errors.Is(err, ErrNoFrames) && len(audio) == 0) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, bytes.Clone(f.Data))
	}
	n := 0
	for _, f := range out {
		n += len(f)
	}
	if fr.Skipped != 0 || fr.Dropped != 0 || n != len(audio) {
		t.Fatalf("not whole frames: %d bytes skipped, %d frames dropped, %d of %d bytes in frames", fr.Skipped, fr.Dropped, n, len(audio))
	}
	return out
}

// folder → live → folder on one listener connection: the listener gets
// one run of whole frames (no resync byte), the folder cut on a frame
// boundary, every live frame in order, then the folder again: its next
// track, or (ResumeInterrupted) the cut track from the frame after the
// cut. The ICY title goes folder → the stream's name → the title set
// mid-stream → folder, each where its audio starts, the title change
// exactly at the frame that arrived after SetTitle. The session's
// recording holds exactly the live frames the listener got.
func TestLiveSplicesIntoTheFolderOnOneConnection(t *testing.T) {
	for _, resume := range []bool{false, true} {
		t.Run(map[bool]string{false: "next track", true: "resume where paused"}[resume], func(t *testing.T) {
			recDir := t.TempDir()
			recorded := make(chan string, 1)
			ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			client, srv := dialPair(t, ln)
			const metaint = 1000
			var got *capture
			r := newLiveRigJoined(t, func(l *LiveSource, f *FolderSource) {
				l.RecordDir = recDir
				l.hooks.recorded = func(p string) { recorded <- p }
				f.ResumeInterrupted = resume
			}, func(st *Station) {
				// Before the station runs: the listener gets every block.
				if err := st.Join(JoinRequest{Conn: srv, Head: []byte(testHead), Metaint: metaint, Remote: "test"}); err != nil {
					t.Fatal(err)
				}
				got = startCapture(t, client)
			})

			r.step(3 * time.Second)
			r.attach(StreamInfo{Name: "Live Name", RemoteAddr: "dj"})
			if st := r.live.Status(); !st.OnAir || st.Title != "Live Name" || st.Info.RemoteAddr != "dj" || st.Sessions != 1 {
				t.Fatalf("status while streaming: %+v", st)
			}
			const n, titleAt = 150, 100
			from := r.clk.Now()
			r.sendPaced(from, 5000, titleAt, 0, 1)
			r.sess.SetTitle("DJ - Second")
			r.sendPaced(from.Add(time.Duration(float64(titleAt)*liveFrameNs)), 5000+titleAt, n-titleAt, 0, 1)
			if st := r.live.Status(); st.Title != "DJ - Second" || st.BytesIn != n*417 {
				t.Fatalf("status: title %q, %d bytes in; want DJ - Second, %d", st.Title, st.BytesIn, n*417)
			}
			if err := r.hangUp(); err != nil {
				t.Fatalf("Stream: %v", err)
			}
			if st := r.live.Status(); st.OnAir {
				t.Fatalf("still on the air after the stream ended: %+v", st)
			}
			after := "Folder - B"
			if resume {
				after = "Folder - A"
			}
			r.waitTrack(after)
			r.step(2 * time.Second)
			r.sleepQuiet()

			var blocks []*Block
			total := 0
			for b := r.st.ring.Head(); b != nil; b = b.Next() {
				blocks = append(blocks, b)
				total += len(b.Data)
			}
			stream := got.waitFor(t, "the whole published stream", func(b []byte) bool {
				audio, _ := splitICY(bytes.TrimPrefix(b, []byte(testHead)), metaint)
				return len(audio) >= total
			})
			checkICYStream(t, stream, []byte(testHead), blocks, metaint)
			audio, titles := splitICY(stream[len(testHead):], metaint)
			if want := []string{"Folder - A", "Live Name", "DJ - Second", after}; strings.Join(titles, "|") != strings.Join(want, "|") {
				t.Errorf("titles heard %q, want %q", titles, want)
			}
			frames := readFrames(t, audio)
			cut := 0
			for cut < len(frames) && testmedia.FrameIndex(frames[cut]) == uint32(cut) {
				cut++
			}
			if cut == 0 || cut >= 400 {
				t.Fatalf("a played %d frames before the live stream: not cut mid-track", cut)
			}
			var liveAudio []byte
			for i := range n {
				f := frames[cut+i]
				if idx := testmedia.FrameIndex(f); idx != 5000+uint32(i) {
					t.Fatalf("frame %d after the cut is %d, want live frame %d", i, idx, 5000+i)
				}
				liveAudio = append(liveAudio, f...)
			}
			rest := frames[cut+n:]
			first := uint32(1000)
			if resume {
				first = uint32(cut)
			}
			if len(rest) == 0 {
				t.Fatal("nothing of the folder after the live stream")
			}
			if idx := testmedia.FrameIndex(rest[0]); idx != first {
				t.Fatalf("after the live stream: frame %d, want %d", idx, first)
			}
			// The title changes exactly where the frames sent after SetTitle start.
			for _, b := range blocks {
				if b.Track.Display == "DJ - Second" {
					if idx := testmedia.FrameIndex(b.Data[:417]); idx != 5000+titleAt {
						t.Fatalf("the new title starts at frame %d, want %d", idx, 5000+titleAt)
					}
					break
				}
			}

			var path string
			select {
			case path = <-recorded:
			case <-time.After(10 * time.Second):
				t.Fatal("the recording was never closed")
			}
			if !strings.HasPrefix(path, recDir+"/live-") || !strings.HasSuffix(path, "Z.mp3") || strings.ContainsAny(path[len(recDir)+1:], ":\\ ") {
				t.Errorf("recording named %q", path)
			}
			rec, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(rec, liveAudio) {
				t.Fatalf("recording has %d bytes, want the %d live bytes the listener got", len(rec), len(liveAudio))
			}
			if st := r.live.Status(); st.Sessions != 1 || st.Dropped != 0 || st.Inserted != 0 || st.OnAir {
				t.Errorf("status after the show: %+v", st)
			}
		})
	}
}

// A stall: the stream sends 2 s, then nothing for 3 s, then more. The
// station keeps real time with silent frames of the stream's format,
// counted, recorded like the rest, and goes on with the stream after
// the buffer refilled; no stream frame is lost.
func TestLiveStallPlaysSilence(t *testing.T) {
	recorded := make(chan string, 1)
	r := newLiveRig(t, func(l *LiveSource, _ *FolderSource) {
		l.RecordDir = t.TempDir()
		l.hooks.recorded = func(p string) { recorded <- p }
	})
	r.step(time.Second)
	r.attach(StreamInfo{Name: "Live"})
	from := r.clk.Now()
	r.sendPaced(from, 1_000_000, 80, 0, 1)
	r.step(3 * time.Second)
	r.sendPaced(r.clk.Now(), 1_000_080, 80, 0, 1)
	if err := r.hangUp(); err != nil {
		t.Fatal(err)
	}
	r.waitTrack("Folder - B")
	r.sleepQuiet()
	model := testmedia.FramesFrom(0, 1)
	silent := silentFrame(model)
	var live []byte
	next, inserted := uint32(1_000_000), 0
	for _, f := range r.ringFrames() {
		if f.track.Display != "Live" {
			continue
		}
		live = append(live, f.data...)
		if bytes.Equal(f.data, silent) {
			inserted++
			continue
		}
		if idx := testmedia.FrameIndex(f.data); idx != next {
			t.Fatalf("stream frame %d after %d", idx, next-1)
		}
		next++
	}
	if next != 1_000_160 {
		t.Fatalf("played stream frames up to %d, want all 160", next)
	}
	// 3 s of stall, less what the buffer held, plus the refill.
	if inserted < 40 || int64(inserted) != r.live.Status().Inserted {
		t.Fatalf("%d silent frames on the air, Status says %d", inserted, r.live.Status().Inserted)
	}
	readFrames(t, live) // whole frames of one format throughout
	rec, err := os.ReadFile(<-recorded)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rec, live) {
		t.Fatalf("recording has %d bytes, want the %d played (silence included)", len(rec), len(live))
	}
}

// A stream that sends nothing for Timeout ends with ErrStreamTimeout,
// the claim is free again and the folder resumes.
func TestLiveTimeoutEndsTheStream(t *testing.T) {
	r := newLiveRig(t, func(l *LiveSource, _ *FolderSource) { l.Timeout = 5 * time.Second })
	r.step(time.Second)
	r.attach(StreamInfo{Name: "Live"})
	r.sendPaced(r.clk.Now(), 1_000_000, 60, 0, 1)
	lastByte := r.clk.Now()
	if err := r.wait(); !errors.Is(err, ErrStreamTimeout) {
		t.Fatalf("Stream returned %v, want ErrStreamTimeout", err)
	}
	if waited := r.clk.Now().Sub(lastByte); waited != 5*time.Second {
		t.Errorf("timed out %v after the last byte, want 5s", waited)
	}
	if r.live.Status().OnAir {
		t.Fatal("on the air after the timeout")
	}
	r.waitTrack("Folder - B") // the folder goes on (a was cut by the stream)
	if s, err := r.live.Claim(StreamInfo{}); err != nil {
		t.Fatalf("claim after the timeout: %v", err)
	} else {
		s.Close()
	}
}

// Claim, busy, kick, close and the status of each.
func TestLiveClaimKickAndStatus(t *testing.T) {
	r := newLiveRig(t, nil)
	r.step(time.Second)
	if r.live.Kick() {
		t.Error("Kick with nothing attached returned true")
	}
	if err := r.live.SetTitle("x"); !errors.Is(err, ErrNoStream) {
		t.Errorf("SetTitle with no stream: %v", err)
	}
	// A claim that is closed unused frees the source.
	s, err := r.live.Claim(StreamInfo{Name: "first"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.live.Claim(StreamInfo{}); !errors.Is(err, ErrBusy) {
		t.Fatalf("second Claim: %v, want ErrBusy", err)
	}
	s.Close()
	if err := s.Stream(context.Background(), strings.NewReader("")); err == nil {
		t.Fatal("a closed claim streamed")
	}

	r.attach(StreamInfo{Name: "Live"})
	if _, err := r.live.Claim(StreamInfo{}); !errors.Is(err, ErrBusy) {
		t.Fatalf("Claim while streaming: %v, want ErrBusy", err)
	}
	r.sendPaced(r.clk.Now(), 1_000_000, 100, 0, 1)
	r.waitTrack("Live")
	if err := r.live.SetTitle("Set by admin"); err != nil {
		t.Fatal(err)
	}
	st := r.live.Status()
	if !st.OnAir || st.Title != "Set by admin" || st.BytesIn != 100*417 || st.Sessions != 1 || st.Converted || !st.Since.Equal(r.clk.Now().Add(-time.Duration(float64(99)*liveFrameNs))) {
		t.Fatalf("status: %+v", st)
	}
	if !r.live.Kick() {
		t.Fatal("Kick returned false")
	}
	if err := r.wait(); !errors.Is(err, ErrKicked) {
		t.Fatalf("Stream after Kick: %v", err)
	}
	// What was buffered does not play: the folder is next.
	r.waitTrack("Folder - B")
	for _, f := range r.ringFrames() {
		if f.track.Display == "Set by admin" {
			t.Fatal("the title set after the buffered frames played though the stream was kicked")
		}
	}
	if st := r.live.Status(); st.OnAir || st.Sessions != 1 {
		t.Fatalf("status after Kick: %+v", st)
	}
}

// A stream that ends inside a frame plays every whole frame and nothing
// of the cut one.
func TestLiveMidFrameEndLeavesNoPartialFrame(t *testing.T) {
	r := newLiveRig(t, nil)
	r.step(time.Second)
	r.attach(StreamInfo{Name: "Live"})
	r.sendPaced(r.clk.Now(), 1_000_000, 60, 0, 1)
	r.send(testmedia.FramesFrom(1_000_060, 1)[:200])
	if err := r.hangUp(); err != nil {
		t.Fatal(err)
	}
	r.waitTrack("Folder - B")
	r.sleepQuiet()
	var live []byte
	for _, f := range r.ringFrames() {
		if f.track.Display == "Live" {
			live = append(live, f.data...)
		}
	}
	frames := readFrames(t, live)
	if len(frames) != 60 || testmedia.FrameIndex(frames[59]) != 1_000_059 {
		t.Fatalf("%d frames played, want the 60 whole ones", len(frames))
	}
}

// mpeg2Frames makes n silent MPEG-2 Layer III frames: 22.05 kHz stereo,
// 64 kbit/s.
func mpeg2Frames(n int) []byte {
	var out []byte
	for range n {
		f := make([]byte, 72*64000/22050)
		f[0], f[1], f[2], f[3] = 0xFF, 0xF3, 0x80, 0x64
		out = append(out, f...)
	}
	return out
}

// A 22.05 kHz stream into a 44.1 kHz station: refused with ErrFormat
// when it may not be converted (before anything plays), converted
// through Convert otherwise, the sniffed bytes included.
func TestLiveFormatMismatch(t *testing.T) {
	station := StreamFormat{Bitrate: 128, SampleRate: 44100, Channels: 2}
	t.Run("refused", func(t *testing.T) {
		for _, mode := range []TranscodeMode{TranscodeNever, TranscodeAuto} { // Auto with no Convert
			l := &LiveSource{Format: station, Transcode: mode, Clock: newSimClock()}
			s, err := l.Claim(StreamInfo{})
			if err != nil {
				t.Fatal(err)
			}
			err = s.Stream(context.Background(), bytes.NewReader(mpeg2Frames(200)))
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("mode %d: Stream returned %v, want ErrFormat", mode, err)
			}
			if l.Next() != nil {
				t.Fatal("a refused stream offered a track")
			}
			if _, err := l.Claim(StreamInfo{}); err != nil {
				t.Fatalf("the claim was not released: %v", err)
			}
		}
	})
	t.Run("converted", func(t *testing.T) {
		var inFrames int
		r := newLiveRig(t, func(l *LiveSource, _ *FolderSource) {
			l.Format = station
			l.Convert = func(ctx context.Context, in io.Reader, want StreamFormat) (io.ReadCloser, error) {
				if want != station {
					t.Errorf("Convert asked for %+v", want)
				}
				// A real transformation: each input frame becomes one
				// numbered 44.1 kHz frame.
				pr, pw := io.Pipe()
				go func() {
					fr := NewFrameReader(in)
					for {
						f, err := fr.Next()
						if err != nil {
							pw.Close()
							return
						}
						if f.SampleRate != 22050 {
							pw.CloseWithError(errors.New("not the original stream"))
							return
						}
						if _, err := pw.Write(testmedia.FramesFrom(7000+uint32(inFrames), 1)); err != nil {
							return
						}
						inFrames++
					}
				}()
				return pr, nil
			}
		})
		r.step(time.Second)
		r.attach(StreamInfo{Name: "Converted"})
		for range 100 {
			r.step(time.Duration(liveFrameNs))
			r.send(mpeg2Frames(1))
		}
		if !r.live.Status().Converted {
			t.Error("Status does not say Converted")
		}
		if err := r.hangUp(); err != nil {
			t.Fatal(err)
		}
		r.waitTrack("Folder - B")
		r.sleepQuiet()
		var live []byte
		for _, f := range r.ringFrames() {
			if f.track.Display == "Converted" {
				live = append(live, f.data...)
			}
		}
		// Played plus dropped (by the jitter buffer, if the converter's
		// output bunches up) is every input frame, the sniffed ones too,
		// in order, to the last; nothing is made up.
		frames := readFrames(t, live)
		dropped := r.live.Status().Dropped
		if int64(len(frames))+dropped != 100 || len(frames) == 0 || testmedia.FrameIndex(frames[len(frames)-1]) != 7099 {
			t.Fatalf("%d converted frames played and %d dropped, want 100 up to frame 7099", len(frames), dropped)
		}
		for i := 1; i < len(frames); i++ {
			if testmedia.FrameIndex(frames[i]) <= testmedia.FrameIndex(frames[i-1]) {
				t.Fatalf("converted frame %d after %d", testmedia.FrameIndex(frames[i]), testmedia.FrameIndex(frames[i-1]))
			}
		}
	})
}

func TestRecordingName(t *testing.T) {
	at := time.Date(2026, 12, 6, 4, 55, 0, 0, time.FixedZone("x", 3600))
	if got := recordingName("live", at); got != "live-2026-12-06T03-55-00Z.mp3" {
		t.Errorf("recordingName = %q", got)
	}
	if got := recordingName("re:lay/ü", at); got != "re_lay__-2026-12-06T03-55-00Z.mp3" {
		t.Errorf("recordingName = %q", got)
	}
}
