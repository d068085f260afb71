package mount

import "math"

// Loudness levelling without re-encoding (the mp3gain method): every
// granule of a Layer III frame carries an 8-bit global_gain in its side
// information, and the decoder scales that granule's spectrum by
// 2^(global_gain/4). Adding the same number of steps to every global_gain
// of a track changes its level by steps × 1.505 dB and touches nothing
// else: the frame keeps its size and every byte outside the side info (and
// its CRC), so the edit is done in place as frames go out.

// GainStepDB is the level change of one global_gain step: 20·log10(2^(1/4)).
const GainStepDB = 1.505

// maxGainSteps bounds any useful change: global_gain is 8 bits.
const maxGainSteps = 255

// Side-info syntax (ISO/IEC 11172-3 §2.4.1.7, 13818-3 §2.4.1.7), in bits.
// global_gain follows part2_3_length (12) and big_values (9) in each
// granule/channel block.
const (
	gainOffset = 12 + 9

	// MPEG-1: main_data_begin 9, private_bits 5 (mono) or 3, scfsi 4 per
	// channel; blocks of 59 bits: 12+9+8, scalefac_compress 4,
	// window_switching 1, 22 bits of block info, preflag, scalefac_scale,
	// count1table_select 1 each.
	mpeg1Block      = 12 + 9 + 8 + 4 + 1 + 22 + 3
	mpeg1MonoHead   = 9 + 5 + 4
	mpeg1StereoHead = 9 + 3 + 2*4

	// MPEG-2/2.5 (one granule): main_data_begin 8, private_bits 1 (mono)
	// or 2; blocks of 63 bits: scalefac_compress is 9 and there is no
	// preflag.
	mpeg2Block      = 12 + 9 + 8 + 9 + 1 + 22 + 2
	mpeg2MonoHead   = 8 + 1
	mpeg2StereoHead = 8 + 2
)

// sideInfo is one Layer III side-info layout: its length in bytes and the
// bit offsets of its global_gain fields from its first byte.
type sideInfo struct {
	size  int
	gains []int
}

// sideInfos is indexed by sideInfoKind. Never modified.
var sideInfos = [4]sideInfo{
	{ // MPEG-1 mono: 17 bytes, gains at 39 and 98
		size:  (mpeg1MonoHead + 2*mpeg1Block) / 8,
		gains: []int{mpeg1MonoHead + gainOffset, mpeg1MonoHead + mpeg1Block + gainOffset},
	},
	{ // MPEG-1 stereo: 32 bytes, gains at 41, 100, 159, 218 (gr0 ch0, gr0 ch1, gr1 ch0, gr1 ch1)
		size: (mpeg1StereoHead + 4*mpeg1Block) / 8,
		gains: []int{
			mpeg1StereoHead + gainOffset, mpeg1StereoHead + mpeg1Block + gainOffset,
			mpeg1StereoHead + 2*mpeg1Block + gainOffset, mpeg1StereoHead + 3*mpeg1Block + gainOffset,
		},
	},
	{ // MPEG-2/2.5 mono: 9 bytes, gain at 30
		size:  (mpeg2MonoHead + mpeg2Block) / 8,
		gains: []int{mpeg2MonoHead + gainOffset},
	},
	{ // MPEG-2/2.5 stereo: 17 bytes, gains at 31 and 94
		size:  (mpeg2StereoHead + 2*mpeg2Block) / 8,
		gains: []int{mpeg2StereoHead + gainOffset, mpeg2StereoHead + mpeg2Block + gainOffset},
	},
}

// layer3SideInfo returns the side info of a Layer III header: where it
// starts in the frame and its layout.
func layer3SideInfo(h []byte) (start int, si *sideInfo) {
	kind := 0
	if h[1]&0x18 != 0x18 { // version bits 11 are MPEG-1; 10 MPEG-2, 00 MPEG-2.5
		kind = 2
	}
	if h[3]>>6 != 3 { // channel mode 11 is single channel
		kind++
	}
	start = 4
	if h[1]&1 == 0 { // protection_bit 0: a CRC-16 follows the header
		start += 2
	}
	return start, &sideInfos[kind]
}

// AdjustGain changes the level of one whole MPEG-1/2/2.5 Layer III frame
// in place by steps × GainStepDB (negative is quieter): it adds steps to
// every granule's global_gain, clamped to 0..255, leaves fields that are 0
// (silent granules) alone, and updates the frame's CRC if it has one.
//
// It reports false, leaving the frame as it was, for anything it must not
// touch: no valid header, not Layer III, free format, a slice that is not
// exactly the frame's length (truncated or with trailing bytes), or a
// Xing/Info/VBRI header frame. With steps 0 a valid frame is left as it is.
//
// A CRC is updated so that it still tells the truth: right if it was right,
// and wrong by the same syndrome if the frame was already damaged (the
// decoder still conceals that frame instead of trusting corrupt side info).
func AdjustGain(frame []byte, steps int) bool {
	if !validHeader(frame) || frame[1]&0x06 != 0x02 || len(frame) != frameSize(frame) {
		return false // validHeader rejects free format (bitrate 0) and reserved fields
	}
	start, si := layer3SideInfo(frame)
	if len(frame) < start+si.size || isInfoFrame(frame) {
		return false
	}
	steps = min(max(steps, -maxGainSteps), maxGainSteps)
	if steps == 0 {
		return true
	}
	side := frame[start : start+si.size]
	protected := start == 6
	var before uint16
	if protected {
		before = layer3CRC(frame[2:4], side)
	}
	for _, bit := range si.gains {
		// The field straddles two bytes unless it is byte-aligned: read
		// and write it through a 16-bit window.
		i, shift := bit>>3, 8-uint(bit&7)
		w := uint16(side[i])<<8 | uint16(side[i+1])
		g := int(w>>shift) & 0xFF
		if g == 0 {
			continue
		}
		g = min(max(g+steps, 0), 255)
		w = w&^(0xFF<<shift) | uint16(g)<<shift
		side[i], side[i+1] = byte(w>>8), byte(w)
	}
	if protected {
		stored := uint16(frame[4])<<8 | uint16(frame[5])
		stored ^= before ^ layer3CRC(frame[2:4], side)
		frame[4], frame[5] = byte(stored>>8), byte(stored)
	}
	return true
}

// GainSteps converts a gain in dB (e.g. target − measured loudness) to
// global_gain steps: round(dB / 1.505).
func GainSteps(db float64) int {
	if math.IsNaN(db) {
		return 0
	}
	s := math.Round(db / GainStepDB)
	return int(min(max(s, -maxGainSteps), maxGainSteps))
}

// NoClipSteps is the largest change in steps that keeps a track whose
// largest decoded sample is peak (a fraction of full scale: 1.0 is 0 dBFS,
// int16 32767) from clipping: floor(4·log2(1/peak)), which is mp3gain's
// floor(4·log2(32767/peak)) for int16 samples. It is negative for a track
// that already clips; a silent track (peak 0) has no limit but the 8-bit
// field (255). An unknown (NaN) peak allows no raise: 0.
func NoClipSteps(peak float64) int {
	switch {
	case math.IsNaN(peak):
		return 0
	case peak <= 0:
		return maxGainSteps
	}
	s := math.Floor(4 * math.Log2(1/peak))
	return int(min(max(s, -maxGainSteps), maxGainSteps))
}

// layer3CRC is the frame CRC of ISO/IEC 11172-3 §2.4.3.1 (CRC-16, poly
// 0x8005, init 0xFFFF, MSB first) over header bytes 2–3 and the side info.
func layer3CRC(header, side []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, b := range header {
		crc = crc<<8 ^ crc16Table[byte(crc>>8)^b]
	}
	for _, b := range side {
		crc = crc<<8 ^ crc16Table[byte(crc>>8)^b]
	}
	return crc
}

// crc16Table is the byte-at-a-time table for poly 0x8005. Never modified.
var crc16Table = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x8005
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()
