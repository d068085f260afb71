//go:build unix

package loudness

import "golang.org/x/sys/unix"

// lowestPriority is the niceness ffmpeg runs at: measuring is background
// work that must never take CPU from playback.
const lowestPriority = 19

// lowerPriority gives process pid the lowest CPU priority.
func lowerPriority(pid int) error {
	return unix.Setpriority(unix.PRIO_PROCESS, pid, lowestPriority)
}
