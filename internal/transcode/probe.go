package transcode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"time"
)

// Info describes the first audio stream of a file, as ffprobe sees it.
type Info struct {
	Codec      string        // ffprobe codec_name, e.g. "pcm_s16le", "mp3", "flac"
	SampleRate int           // Hz
	Channels   int           //
	Duration   time.Duration // container duration; 0 when ffprobe does not know it
}

// probeOutputLimit bounds the JSON read from ffprobe.
const probeOutputLimit = 1 << 20

// Probe runs ffprobePath ("" = "ffprobe" on PATH) on path and returns the
// codec, sample rate, channel count and duration of its first audio stream.
// A file ffprobe rejects, or one without audio, yields an *Error with
// Tool "ffprobe".
func Probe(ctx context.Context, ffprobePath, path string) (Info, error) {
	bin, err := lookTool("ffprobe", ffprobePath)
	if err != nil {
		return Info{}, err
	}
	cmd := exec.CommandContext(ctx, bin,
		"-v", "error",
		"-protocol_whitelist", "file",
		"-select_streams", "a:0",
		"-show_entries", "stream=codec_name,sample_rate,channels:format=duration",
		"-of", "json",
		"file:"+path)
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { return cmd.Process.Kill() }
	cmd.WaitDelay = stderrGrace
	out := limitedBuffer{max: probeOutputLimit}
	stderr := newTail(StderrLimit)
	cmd.Stdout, cmd.Stderr = &out, stderr
	runErr := cmd.Run()
	fail := func(err error) (Info, error) {
		code := -1
		if cmd.ProcessState != nil {
			code = cmd.ProcessState.ExitCode()
		}
		return Info{}, &Error{Tool: "ffprobe", Path: path, ExitCode: code, Stderr: stderr.String(), Err: err}
	}
	if runErr != nil {
		if ctx.Err() != nil {
			return fail(context.Cause(ctx))
		}
		return fail(runErr)
	}
	if out.truncated {
		return fail(fmt.Errorf("output larger than %d bytes", probeOutputLimit))
	}
	var doc struct {
		Streams []struct {
			CodecName  string `json:"codec_name"`
			SampleRate string `json:"sample_rate"`
			Channels   int    `json:"channels"`
		} `json:"streams"`
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		return fail(fmt.Errorf("parsing ffprobe JSON: %w", err))
	}
	if len(doc.Streams) == 0 {
		return fail(ErrNoAudioStream)
	}
	st := doc.Streams[0]
	info := Info{Codec: st.CodecName, Channels: st.Channels}
	if st.SampleRate != "" {
		if info.SampleRate, err = strconv.Atoi(st.SampleRate); err != nil {
			return fail(fmt.Errorf("parsing sample_rate %q: %w", st.SampleRate, err))
		}
	}
	if d := doc.Format.Duration; d != "" && d != "N/A" {
		sec, err := strconv.ParseFloat(d, 64)
		if err != nil {
			return fail(fmt.Errorf("parsing duration %q: %w", d, err))
		}
		info.Duration = time.Duration(sec * float64(time.Second))
	}
	if info.SampleRate <= 0 || info.Channels <= 0 {
		return fail(errors.New("audio stream without sample rate or channel count"))
	}
	return info, nil
}
