package hls

import (
	"strconv"
	"strings"
	"time"
)

// MIME types of the playlist and of packed MP3 segments.
const (
	MIMEPlaylist = "application/vnd.apple.mpegurl"
	MIMESegment  = "audio/mpeg"
	// SegmentExt is the file extension of segment names.
	SegmentExt = ".mp3"
)

// AppendPlaylist appends the live media playlist of segs (as Listed
// returns them) to dst; uri gives each segment's URI, relative to the
// playlist's URL or absolute. It has no EXT-X-ENDLIST: the stream goes
// on. With no segments it writes only the head.
func (s *Segmenter) AppendPlaylist(dst []byte, segs []*Segment, uri func(*Segment) string) []byte {
	dst = append(dst, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:"...)
	dst = strconv.AppendInt(dst, int64(s.TargetDuration()), 10)
	dst = append(dst, '\n')
	if len(segs) == 0 {
		return dst
	}
	first := segs[0]
	dst = append(dst, "#EXT-X-MEDIA-SEQUENCE:"...)
	dst = strconv.AppendUint(dst, first.Seq, 10)
	dst = append(dst, '\n')
	// Discontinuities that left the top of the playlist; the first
	// segment's own tag is still listed.
	removed := first.discontinuities
	if first.Discontinuity {
		removed--
	}
	if removed > 0 {
		dst = append(dst, "#EXT-X-DISCONTINUITY-SEQUENCE:"...)
		dst = strconv.AppendUint(dst, removed, 10)
		dst = append(dst, '\n')
	}
	for _, seg := range segs {
		if seg.Discontinuity {
			dst = append(dst, "#EXT-X-DISCONTINUITY\n"...)
		}
		dst = append(dst, "#EXT-X-PROGRAM-DATE-TIME:"...)
		dst = seg.Start.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z")
		dst = append(dst, "\n#EXTINF:"...)
		dst = strconv.AppendFloat(dst, seg.Duration.Seconds(), 'f', 3, 64)
		dst = append(dst, ',')
		dst = append(dst, oneLine(seg.Display)...)
		dst = append(dst, '\n')
		dst = append(dst, uri(seg)...)
		dst = append(dst, '\n')
	}
	return dst
}

// oneLine keeps a title from ending its playlist line early.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}

// CacheSeconds is how long a playlist may be cached: half the nominal
// segment length (at least one second), so a cache in front of the server
// never hides a new segment for long.
func (s *Segmenter) CacheSeconds() int {
	return max(int(s.cfg.Target/2/time.Second), 1)
}
