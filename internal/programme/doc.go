// Package programme decides what a radio station's folder source plays
// next: a [mount.Programme] made of the station's music, the shows of a
// weekly schedule, jingles between tracks and listeners' requests.
//
// # What plays
//
// At every track end (each call of Next) the programme picks, in order:
//
//  1. the first queued request ([Programme.Enqueue]), except that a jingle
//     that is due goes between two requests, so station IDs are never
//     held back by a long queue for more than one track;
//  2. a jingle, when one is due (see below);
//  3. music: the show on the air at the wall-clock instant of the call
//     (internal/schedule), or the station's own music outside every show.
//     A show whose music has nothing playable (a missing or empty folder)
//     plays the station's music instead of leaving the air silent. A "live"
//     show plays its fallback while no DJ is connected (a connected DJ's
//     source outranks the folder in the station), or the station's music
//     when it has none.
//
// Every pick carries the name of the show it was made for (Pick.Show).
//
// # Picks are made ahead
//
// A FolderSource opens its next tracks ahead of time (its Preload, one or
// two tracks), so Next is called up to that many tracks before a pick
// plays. Everything the programme counts is counted then: a jingle rule is
// checked, and a request leaves the queue, when the track is picked, not
// when it starts. When the programme changes its mind it calls the flush
// callback ([Programme.SetControls]): a show starts or ends (and also skip,
// when the show is timed to cut), or a request is queued while the queue
// was empty, so it plays right after the current track rather than after
// the ones opened ahead. The picks dropped come back through Unplayed and
// are undone exactly: music returns to the front of its own play order
// (the next time that music is on, it continues where it was, with nothing
// skipped or repeated), requests return to the front of the queue in their
// order, and the jingle counters are recounted as if the dropped picks had
// never been made.
//
// # Jingles
//
// A jingle is due after every JingleEvery tracks, and at the first pick
// once JingleInterval has passed (wall clock) since the last jingle was
// picked, or since the programme was made. Requests count as tracks:
// jingles identify the station, and a run of requests is still airtime.
// Never two jingles in a row, and a jingle never cuts a track: it is only
// ever picked between tracks.
//
// # Concurrency
//
// A folder source calls Next and Bad from its goroutine; Unplayed, the
// queue's methods, Search and Status may be called from any goroutine; Run
// has its own. One mutex guards the programme's state; the flush and skip
// callbacks, tag reading and queue file writes happen outside it.
package programme
