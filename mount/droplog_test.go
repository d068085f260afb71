package mount

import (
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// A network blip that drops many listeners at once writes one line per
// reason per interval, with the count, not one line per listener; Stats
// still count every one.
func TestManyDroppedListenersLogOneLinePerInterval(t *testing.T) {
	const listeners = 40
	clock := newStepClock()
	logs := &logRecorder{}
	st := New(Config{Route: "/r", BufferSize: 4 << 10, Clock: clock, Logger: logs.logger()})
	frames := testmedia.Frames(8) // 8 × 417 bytes: a block of ~3.3 KiB
	block := func() *Block {
		b := &Block{Data: frames, FrameDur: 26 * time.Millisecond, Due: clock.Now(), Track: &TrackInfo{Rel: "a.mp3"}}
		for i := range 8 {
			b.Frames = append(b.Frames, int32(i*417))
		}
		return b
	}
	st.ring.Append(block())

	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for range listeners {
		client, srv := dialPair(t, ln)
		defer client.Close()
		if err := st.Join(JoinRequest{Conn: srv, Head: []byte("H\r\n\r\n"), Remote: "blip"}); err != nil {
			t.Fatal(err)
		}
	}
	// Two more blocks push the one every listener stands on out of the
	// ring: all of them fell behind at once.
	st.ring.Append(block())
	st.ring.Append(block())
	sc := newScratch()
	st.shards[0].writeAll(sc, false)

	lines := logs.matching(slog.LevelInfo, "listener dropped: too slow")
	if len(lines) != 1 {
		t.Fatalf("%d lines for %d listeners dropped together, want 1 (the first at once)", len(lines), listeners)
	}
	// Within the interval the shard's tick writes nothing more; after it,
	// one line with the rest.
	clock.mu.Lock()
	clock.now = clock.now.Add(dropLogInterval - time.Millisecond)
	clock.mu.Unlock()
	st.shards[0].tick(sc)
	if n := len(logs.matching(slog.LevelInfo, "listener dropped: too slow")); n != 1 {
		t.Fatalf("%d lines before the interval ended, want 1", n)
	}
	clock.mu.Lock()
	clock.now = clock.now.Add(time.Millisecond)
	clock.mu.Unlock()
	st.shards[0].tick(sc)
	lines = logs.matching(slog.LevelInfo, "listener dropped: too slow")
	if len(lines) != 2 {
		t.Fatalf("%d lines after the interval, want 2", len(lines))
	}
	total := int64(0)
	for _, rec := range lines {
		count, ok := attr(rec, "count")
		if !ok {
			t.Fatalf("line %q has no count", rec.Message)
		}
		total += count.Int64()
	}
	if total != listeners {
		t.Fatalf("the lines count %d listeners, want %d", total, listeners)
	}
	if s := st.Stats(); s.SlowDropped != listeners || s.Listeners != 0 {
		t.Fatalf("stats: %d slow drops, %d listeners; want %d and 0", s.SlowDropped, s.Listeners, listeners)
	}
}
