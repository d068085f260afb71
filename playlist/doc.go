// Package playlist holds what a station plays: the scanned track list of one
// folder or one playlist file (.m3u, .m3u8, .pls: Library, ParsePlaylistFile),
// the play order of one consumer over it (Order), the list of recently
// played tracks (History) and display titles read from tags (ReadTitle).
//
// A Library scan never opens audio files and never reads tags: titles are read
// lazily by the station when it preloads a track, and whether a file really
// decodes is found out when the station opens it (it then calls Order.Skip).
//
// Paths inside the package are relative to the library folder, use '/' as
// separator and keep the bytes of the file name exactly as stored on disk
// (an NFD name stays NFD). A playlist file's entries are relative to its
// folder, or absolute when outside it (see playlistlib.go).
package playlist
