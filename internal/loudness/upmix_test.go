package loudness

import "testing"

// TestChannelsOfStreamLine reads the channel layout ffmpeg prints for an
// input stream.
func TestChannelsOfStreamLine(t *testing.T) {
	for line, want := range map[string]int{
		"Stream #0:0: Audio: pcm_u8 ([1][0][0][0] / 0x0001), 22050 Hz, mono, u8, 176 kb/s": 1,
		"Stream #0:0: Audio: mp3, 44100 Hz, stereo, fltp, 128 kb/s":                        2,
		"Stream #0:0: Audio: flac, 48000 Hz, 3 channels, s16":                              3,
		"Stream #0:0: Audio: aac (LC), 48000 Hz, 5.1, fltp":                                0,
	} {
		if got := channelsOf(line); got != want {
			t.Errorf("channelsOf(%q) = %d, want %d", line, got, want)
		}
	}
}

// TestUpmixedMonoIsHeardThreeDBLower: a mono file spread over two channels
// by the encoder is 3 dB quieter than its dual-mono measurement, so it
// needs 3 dB more gain; stereo files and mono stations are unchanged.
func TestUpmixedMonoIsHeardThreeDBLower(t *testing.T) {
	mono := Analysis{Integrated: -22, TruePeak: -10, Channels: 1}
	if g := mono.Upmixed(2).Gain(-16, DefaultEncodeCeiling); g < 8.99 || g > 9.02 {
		t.Errorf("mono on a stereo station: gain %.2f dB, want 9.01", g)
	}
	if g := mono.Upmixed(1).Gain(-16, DefaultEncodeCeiling); g != 6 {
		t.Errorf("mono on a mono station: gain %.2f dB, want 6", g)
	}
	stereo := Analysis{Integrated: -22, TruePeak: -10, Channels: 2}
	if g := stereo.Upmixed(2).Gain(-16, DefaultEncodeCeiling); g != 6 {
		t.Errorf("stereo: gain %.2f dB, want 6", g)
	}
}
