// Package hls cuts a station's MPEG audio into HTTP Live Streaming
// segments without re-encoding: a Segmenter follows the station's ring of
// published blocks, groups whole frames into segments of about Target
// audio, keeps a sliding window of them in memory and renders the media
// playlist that lists them.
//
// # Format: packed audio
//
// Segments are "packed audio" (RFC 8216 §3.4): the MP3 frames as they are,
// behind one ID3v2.4 tag. The tag carries the 90 kHz timestamp of the
// first frame in a PRIV frame owned by
// "com.apple.streaming.transportStreamTimestamp" (the form Apple's packed
// audio specification requires), and the title as TIT2 (with TPE1 for the
// artist). MPEG-TS would also work, but packed audio is what this server
// already holds, byte for byte: no PES packets, no 188-byte packet padding
// (about 5–10 % more bytes for audio), no PAT/PMT or separate metadata
// stream to get right. Safari and iOS play packed audio natively, hls.js
// plays it through Media Source Extensions ("audio/mpeg") and reports the
// ID3 tags as FRAG_PARSING_METADATA, and ffmpeg's (and therefore mpv's)
// HLS demuxer reads the timestamp from the leading tag (see docs/hls.md
// for what was checked).
//
// # Cutting
//
// A segment is cut before the first frame due at or after a multiple of
// Target on the wall clock (since the Unix epoch), unless the segment
// would be shorter than half of Target, and always where the station
// changes track, so every segment has one title and a player shows a new
// title when its audio starts. Segments are therefore between a frame and
// 1.5 × Target long; the playlist's EXT-X-TARGETDURATION is 1.5 × Target
// rounded up. Cut points, names and bytes depend only on the blocks
// (their frames, due times and tracks), never on when the segmenter ran:
// two servers playing the same audio on the same clock cut the same
// segments (a segmenter's first segment starts at its first cut point,
// never mid-way).
//
// Segment names are the due time of their first frame in milliseconds
// since the Unix epoch: unique for a station across restarts, so a cache
// that kept an old segment never hands it out for a new one. Media
// sequence numbers count segments; the first is the number of Target
// slots since the epoch at its start.
//
// # Clock-synced stations
//
// Blocks with a SyncFrame (sync = "clock", see mount/clock.go) are cut
// differently, so that every instance of the station publishes the same
// segments whatever its block grouping and whenever it started: a frame's
// time is FrameClock.Time of its global number (exact, where Due plus a
// sum of rounded frame lengths can differ by nanoseconds), a segment is
// exactly the frames starting in one Target slot of the wall clock, its
// sequence number is that slot and its name its first frame's time. A
// track change does not cut: a segment may hold the end of one title and
// the start of the next, and its tag names the title of its first frame.
// A slot a segmenter saw only part of (its start, a skip of the station,
// live audio in between) is dropped, not published short under the name
// other instances use for the whole slot; the playlist then lists only
// segments after the break, whose numbers are consecutive.
package hls
