//go:build !unix

package loudness

// lowerPriority is not implemented here: ffmpeg runs at normal priority.
func lowerPriority(int) error { return nil }
