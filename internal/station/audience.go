package station

import "github.com/aposazhennikov/stream-audio-to-web/mount"

// Mountpoint is the station's mountpoint, for the admin commands that
// list, remove and move its listeners.
func (s *Station) Mountpoint() *mount.Mountpoint { return s.mount }
