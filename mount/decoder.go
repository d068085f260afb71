package mount

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/aposazhennikov/stream-audio-to-web/internal/transcode"
)

// Decoder is how a station opens its files: MP3 is played as its own
// frames, untouched; everything else (and every file, with Always) is
// encoded to MP3 by ffmpeg as it plays. It is the one place that decides
// whether a file needs ffmpeg. The zero value plays MP3 directly and runs
// "ffmpeg" from PATH with default settings for the rest.
type Decoder struct {
	// Transcode are the encoder settings (bitrate, sample rate, ffmpeg path).
	Transcode transcode.Options
	// Always sends MP3 files through ffmpeg too, so every track leaves at
	// the same bitrate and sample rate.
	Always bool
	// Unavailable, when not nil, says why ffmpeg cannot run: files that
	// need it fail to open with an error that wraps it (errors.Is).
	Unavailable error
}

// IsMP3 reports whether path names an MP3 file, which a Decoder plays as
// its own frames: its extension is ".mp3", in any case.
func IsMP3(path string) bool {
	return strings.EqualFold(filepath.Ext(path), ".mp3")
}

// NeedsFFmpeg reports whether path is played through ffmpeg: everything
// that is not an MP3 (IsMP3), and with Always every file.
func (d Decoder) NeedsFFmpeg(path string) bool {
	return d.Always || !IsMP3(path)
}

// Open opens path for frame reading from byte offset (non-zero only when a
// radio station resumes after a restart; the encoder starts from the
// beginning). Closing the Closer releases the file or stops and reaps the
// encoder; cancelling ctx stops the encoder too.
func (d Decoder) Open(ctx context.Context, path string, offset int64) (*FrameReader, io.Closer, error) {
	return d.OpenLevelled(ctx, path, offset, Level{})
}

// OpenLevelled is Open for a file played at a level: a file that goes
// through ffmpeg gets level's exact gain and trim from the encoder; an MP3
// read as frames is opened as it is (the caller adjusts its frames).
func (d Decoder) OpenLevelled(ctx context.Context, path string, offset int64, level Level) (*FrameReader, io.Closer, error) {
	if !d.NeedsFFmpeg(path) {
		return OpenMP3At(path, offset)
	}
	if d.Unavailable != nil {
		return nil, nil, fmt.Errorf("cannot play %s files without ffmpeg: %w", strings.ToLower(filepath.Ext(path)), d.Unavailable)
	}
	// ffmpeg would block on a FIFO as the preloader would: check first.
	f, _, err := openRegular(path)
	if err != nil {
		return nil, nil, err
	}
	f.Close()
	opt := d.Transcode
	opt.GainDB, opt.From, opt.To = level.GainDB, level.Start, level.End
	st, err := transcode.Start(ctx, path, opt)
	if err != nil {
		return nil, nil, err
	}
	return NewFrameReader(st), st, nil
}
