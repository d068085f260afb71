package mount

// silentFrame returns a frame of the same format and size as frame (an
// MPEG audio frame) that decodes as digital silence: its header with the
// protection bit set (no CRC), and zeros after it. Zero side info means
// main_data_begin 0 and no Huffman bits in any granule (Layer III), or
// no bit allocation in any subband (Layer II): every decoder outputs
// zeros. The size, padding included, is frame's, so the stream's byte
// rate does not change.
func silentFrame(frame []byte) []byte {
	out := make([]byte, len(frame))
	copy(out, frame[:4])
	out[1] |= 0x01 // protection_bit 1: no CRC follows the header
	return out
}
