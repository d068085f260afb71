package config

import (
	"fmt"
	"strconv"
)

// Values of Station.Sync.
const (
	// SyncOff (written "off"): the station plays on its own clock from
	// when it starts.
	SyncOff = ""
	// SyncClock: the station's play order and position are a function of
	// its folder, its seed and the wall clock (mount.ClockSource), so every
	// instance with the same folder and settings plays the same frame at
	// the same moment.
	SyncClock = "clock"
)

// levelWhy is why a clock-synced station does not level or trim: files
// are measured in the background, so one instance would play a file
// levelled while another still plays it as it is.
const levelWhy = ": files are measured in the background, at different times on each instance"

// syncMode is "off" (stored as SyncOff) or "clock"; "" is "off" too, as
// a saved configuration writes it.
func syncMode(v any, home string) (any, error) {
	if s, ok := asString(v); ok && s == "" {
		return SyncOff, nil
	}
	w, err := word("off", "clock")(v, home)
	if err != nil || w == "off" {
		return SyncOff, err
	}
	return w, nil
}

// syncSeed is a string, or an integer kept as its decimal text.
func syncSeed(v any, _ string) (any, error) {
	if n, ok := v.(int64); ok {
		return strconv.FormatInt(n, 10), nil
	}
	s, ok := asString(v)
	return accept(s, ok, "a string or an integer")
}

// checkSync checks a clock-synced station's other settings: it must play
// one shared stream (radio mode) from a folder of its own, MP3 frames as
// they are. What would make instances differ is refused when the table
// sets it, and turned off with a warning when only inherited (loudness
// and trim_silence are measured in the background, so one instance would
// level a file another still plays as it is).
func (l *loader) checkSync(sl *slot) error {
	st := &sl.st
	if st.Sync != SyncClock {
		if at, ok := sl.given["sync_seed"]; ok && st.SyncSeed != "" {
			return errAt("station.sync_seed", st.SyncSeed, `sync = "clock" as well (sync_seed only seeds a clock-synced station)`, at)
		}
		return nil
	}
	at := func(key string) loc {
		if a, ok := sl.given[key]; ok {
			return a
		}
		return sl.given["sync"]
	}
	refuse := func(key, value, want, why string) error {
		return errAt("station."+key, value, want+` on a station with sync = "clock"`+why, at(key))
	}
	switch {
	case st.Mode != ModeRadio:
		return refuse("mode", string(st.Mode), "radio", ": every listener hears the one stream")
	case st.LiveOnly || st.Dir == "":
		return refuse("live_only", "true", "a folder (dir)", ": the clock plays its files")
	case st.Transcode != "auto":
		return refuse("transcode", st.Transcode, `"auto"`, ": its MP3 files play as they are (ffmpeg's output is not the same byte for byte everywhere)")
	case st.AfterLive != "next":
		return refuse("after_live", st.AfterLive, `"next"`, ": after a live show the frame the clock says plays")
	case len(st.Schedule) > 0:
		return refuse("schedule", fmt.Sprintf("%d slots", len(st.Schedule)), "no shows", "")
	case st.Jingles != "":
		return refuse("jingles", st.Jingles, "no jingles", "")
	}
	if _, given := sl.given["loudness"]; given && st.Loudness != 0 {
		return refuse("loudness", strconv.FormatFloat(st.Loudness, 'g', -1, 64)+" LUFS", `"off"`, levelWhy)
	}
	if _, given := sl.given["trim_silence"]; given && st.TrimSilence {
		return refuse("trim_silence", "true", "false", levelWhy)
	}
	if st.Loudness != 0 || st.TrimSilence {
		// Only inherited (a flag, env or top-level default): not this
		// station's choice, so not an error.
		l.warnf("route %s is clock-synced: loudness and trim_silence are off for it (instances would level files at different times)", st.Route)
		st.Loudness, st.TrimSilence = 0, false
	}
	if st.SyncSeed == "" {
		st.SyncSeed = st.Route
	}
	return nil
}
