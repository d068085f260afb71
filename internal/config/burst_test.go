package config_test

import (
	"testing"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
)

func TestParseBurst(t *testing.T) {
	tests := []struct {
		in   string
		want config.Burst
		str  string // String() of the result
		ok   bool
	}{
		{"65536", config.Burst{Bytes: 65536}, "64KiB", true},
		{"64KiB", config.Burst{Bytes: 65536}, "64KiB", true},
		{"64k", config.Burst{Bytes: 65536}, "64KiB", true},
		{"64K", config.Burst{Bytes: 65536}, "64KiB", true},
		{" 64 KiB ", config.Burst{Bytes: 65536}, "64KiB", true},
		{"1MiB", config.Burst{Bytes: 1 << 20}, "1MiB", true},
		{"1000", config.Burst{Bytes: 1000}, "1000", true},
		{"1000B", config.Burst{Bytes: 1000}, "1000", true},
		{"4s", config.Burst{Duration: 4 * time.Second}, "4s", true},
		{"2500ms", config.Burst{Duration: 2500 * time.Millisecond}, "2.5s", true},
		{"0", config.Burst{}, "0", true},
		{"0s", config.Burst{}, "0", true},
		{"", config.Burst{}, "", false},
		{"-1", config.Burst{}, "", false},
		{"-4s", config.Burst{}, "", false},
		{"1M", config.Burst{}, "", false},
		{"64MB", config.Burst{}, "", false},
		{"64KB", config.Burst{}, "", false},
		{"1.5KiB", config.Burst{}, "", false},
		{"KiB", config.Burst{}, "", false},
		{"99999999999999999999", config.Burst{}, "", false},
		{"2000000MiB", config.Burst{}, "", false},
	}
	for _, tt := range tests {
		got, err := config.ParseBurst(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseBurst(%q) = %+v, %v; want %+v, ok=%v", tt.in, got, err, tt.want, tt.ok)
			continue
		}
		if !tt.ok {
			continue
		}
		if s := got.String(); s != tt.str {
			t.Errorf("ParseBurst(%q).String() = %q, want %q", tt.in, s, tt.str)
		}
		var back config.Burst
		if err := back.UnmarshalText([]byte(got.String())); err != nil || back != got {
			t.Errorf("UnmarshalText(%q) = %+v, %v; want %+v", got.String(), back, err, got)
		}
	}
}

func TestBurstUnmarshalTextKeepsValueOnError(t *testing.T) {
	b := config.Burst{Bytes: 7}
	if err := b.UnmarshalText([]byte("nonsense")); err == nil {
		t.Fatal("no error for nonsense")
	}
	if b != (config.Burst{Bytes: 7}) {
		t.Errorf("failed UnmarshalText changed the value to %+v", b)
	}
}
