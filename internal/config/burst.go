package config

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Burst is how far behind live a new listener starts, so its player fills
// its buffer at once: an amount of bytes or of audio time. At most one field
// is non-zero; the zero Burst means no burst (start at the live edge).
type Burst struct {
	Bytes    int
	Duration time.Duration
}

// burstExpected describes the accepted forms, for error messages.
const burstExpected = `bytes (65536, "64KiB", "64k", "1MiB") or audio time ("4s", "2500ms"), not negative`

// ParseBurst reads a burst: a plain byte count ("65536"), bytes with a
// binary unit ("64KiB", "64k" and "64K" are KiB, "1MiB"), or a Go duration
// ("4s", "2500ms"). "0" is no burst. There is no bare "M" unit: "1m" is a
// minute, so mebibytes are spelled "1MiB".
func ParseBurst(s string) (Burst, error) {
	s = strings.TrimSpace(s)
	digits := len(s) - len(strings.TrimLeft(s, "0123456789"))
	unit := map[string]int{"": 1, "b": 1, "k": 1 << 10, "kib": 1 << 10, "mib": 1 << 20}[strings.ToLower(strings.TrimSpace(s[digits:]))]
	n, err := strconv.Atoi(s[:digits])
	switch d, durErr := time.ParseDuration(s); {
	case digits == 0: // every form starts with a digit: "-4s" and "KiB" are refused
	case unit != 0 && err == nil && n <= 1<<40/unit: // 1 TiB: no overflow; buffer_size caps it anyway
		return Burst{Bytes: n * unit}, nil
	case unit == 0 && durErr == nil && d >= 0:
		return Burst{Duration: d}, nil
	}
	return Burst{}, errors.New("invalid burst: expected " + burstExpected)
}

// UnmarshalText implements encoding.TextUnmarshaler with [ParseBurst].
func (b *Burst) UnmarshalText(text []byte) error {
	v, err := ParseBurst(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// MarshalText implements encoding.TextMarshaler with [Burst.String], so an
// encoded Config reads back to the same value.
func (b Burst) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// String gives the shortest form ParseBurst reads back: "0", "4s",
// "64KiB", "1MiB" or a plain byte count.
func (b Burst) String() string {
	switch {
	case b.Duration != 0:
		return b.Duration.String()
	case b.Bytes != 0 && b.Bytes%(1<<20) == 0:
		return strconv.Itoa(b.Bytes>>20) + "MiB"
	case b.Bytes != 0 && b.Bytes%(1<<10) == 0:
		return strconv.Itoa(b.Bytes>>10) + "KiB"
	default:
		return strconv.Itoa(b.Bytes)
	}
}
