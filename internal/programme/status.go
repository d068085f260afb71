package programme

import (
	"slices"

	"github.com/aposazhennikov/stream-audio-to-web/internal/schedule"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// Status is the programme for status pages and APIs (JSON). It names
// files by their path in the station's library, never by an absolute
// path; a show's Plays is "live" or the base name of its folder or
// playlist file.
type Status struct {
	// Show is the airing in force (a slot, or the default between slots:
	// Default set) and NextShow the one after it; both nil without a
	// schedule, and NextShow nil when nothing ever changes.
	Show     *schedule.Info `json:"show,omitempty"`
	NextShow *schedule.Info `json:"next_show,omitempty"`
	// Queue lists the requests not yet picked, in the order they will
	// play.
	Queue []Entry `json:"queue"`
	// NextUp is what the programme will pick next when it knows it
	// without taking it: the first request, or a jingle that is due; nil
	// when the next pick is music (which the play order only tells by
	// taking it). Tracks already opened ahead play before it.
	NextUp *Upcoming `json:"next_up,omitempty"`
}

// Upcoming is a pick the programme is about to make.
type Upcoming struct {
	Kind  string `json:"kind"` // mount.KindRequest or mount.KindJingle
	ID    string `json:"id,omitempty"`
	Rel   string `json:"rel,omitempty"`
	Title string `json:"title,omitempty"`
	Show  string `json:"show,omitempty"`
}

// Status describes the programme now.
func (p *Programme) Status() Status {
	now := p.clock.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	st := Status{Queue: slices.Clone(p.queue)}
	if st.Queue == nil {
		st.Queue = []Entry{}
	}
	occ := p.onAir(now)
	if p.sched != nil {
		active, next := p.sched.At(now)
		st.Show = info(active)
		if !next.Same(active) {
			st.NextShow = info(next)
		}
	}
	switch p.choose(p.counted(), now, len(p.queue) > 0) {
	case mount.KindRequest:
		e := p.queue[0]
		st.NextUp = &Upcoming{Kind: mount.KindRequest, ID: e.ID, Rel: e.Rel, Title: e.Title, Show: occ.Name()}
	case mount.KindJingle:
		st.NextUp = &Upcoming{Kind: mount.KindJingle, Show: occ.Name()}
		if p.jingleTitle != nil {
			st.NextUp.Title = p.jingleTitle.Display
		}
	}
	return st
}

func info(o schedule.Occurrence) *schedule.Info {
	in := o.Info()
	in.Plays = plays(in.Plays)
	return &in
}
