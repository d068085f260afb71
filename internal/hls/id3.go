package hls

import (
	"encoding/binary"
	"time"
)

// timestampOwner names the PRIV frame packed audio carries its timestamp in.
const timestampOwner = "com.apple.streaming.transportStreamTimestamp"

// ptsClock is the 90 kHz MPEG clock; PTS values wrap at 2^33 ticks.
const (
	ptsClock = 90000
	ptsWrap  = 1 << 33
)

// PTS is t as a 33-bit 90 kHz MPEG timestamp counted from the Unix epoch
// (wrapping every 26.5 hours), so it is the same on every server.
func PTS(t time.Time) uint64 {
	ns := t.UnixNano()
	sec, frac := ns/int64(time.Second), ns%int64(time.Second)
	ticks := uint64(sec)*ptsClock + uint64(frac*ptsClock/int64(time.Second))
	return ticks % ptsWrap
}

// appendID3 appends the ID3v2.4 tag that opens a segment: the PRIV
// timestamp, then TIT2 (title) and TPE1 (artist) when not empty. Text is
// UTF-8 (encoding 3): no byte of it is 0xFF, so no MP3 parser mistakes it
// for a frame sync.
func appendID3(dst []byte, pts uint64, title, artist string) []byte {
	start := len(dst)
	dst = append(dst, 'I', 'D', '3', 4, 0, 0, 0, 0, 0, 0) // size filled in below

	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], pts)
	dst = appendFrameHead(dst, "PRIV", len(timestampOwner)+1+len(ts))
	dst = append(dst, timestampOwner...)
	dst = append(dst, 0)
	dst = append(dst, ts[:]...)

	for _, f := range [...]struct{ id, text string }{{"TIT2", title}, {"TPE1", artist}} {
		if f.text == "" {
			continue
		}
		dst = appendFrameHead(dst, f.id, 1+len(f.text))
		dst = append(dst, 3) // UTF-8
		dst = append(dst, f.text...)
	}
	putSyncsafe(dst[start+6:start+10], len(dst)-start-10)
	return dst
}

// appendFrameHead appends an ID3v2.4 frame header for size bytes of body.
func appendFrameHead(dst []byte, id string, size int) []byte {
	dst = append(dst, id...)
	dst = append(dst, 0, 0, 0, 0, 0, 0)
	putSyncsafe(dst[len(dst)-6:len(dst)-2], size)
	return dst
}

// putSyncsafe writes n as ID3's 28-bit "syncsafe" integer (7 bits a byte).
func putSyncsafe(b []byte, n int) {
	b[0], b[1], b[2], b[3] = byte(n>>21&0x7f), byte(n>>14&0x7f), byte(n>>7&0x7f), byte(n&0x7f)
}
