// Package playlist holds what a station plays: the scanned track list of one
// folder (Library), the play order of one consumer over it (Order), the list
// of recently played tracks (History) and display titles read from tags
// (ReadTitle).
//
// A Library scan never opens audio files and never reads tags: titles are read
// lazily by the station when it preloads a track, and whether a file really
// decodes is found out when the station opens it (it then calls Order.Skip).
//
// Paths inside the package are relative to the library folder, use '/' as
// separator and keep the bytes of the file name exactly as stored on disk
// (an NFD name stays NFD).
package playlist
