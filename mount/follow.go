package mount

// Tail returns the newest block the station published, or nil before its
// first. Blocks are immutable; a reader follows later ones with
// Block.Next, and holding a block keeps the chain after it alive even
// once the ring has trimmed it.
func (s *Station) Tail() *Block { return s.ring.Tail() }

// Published returns a channel closed at the station's next publish (a
// block appended, or the station going idle). Take it before looking at
// Tail or Block.Next, so a publish in between is not missed.
func (s *Station) Published() <-chan struct{} { return s.published.wait() }
