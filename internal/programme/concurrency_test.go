package programme

import (
	"sync"
	"testing"

	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// The folder source's goroutine picks while HTTP goroutines queue,
// reorder, search and read the status, and flushes give picks back: no
// race (go test -race), nothing picked twice while outstanding, and the
// saved queue ends up as the queue in memory.
func TestConcurrentUse(t *testing.T) {
	path := queuePath(t)
	p := queueStation(t, Options{QueuePath: path, JingleEvery: 3, Jingles: Music{Library: lib(t, files("j", 2)...)}})
	var held struct {
		sync.Mutex
		picks []mount.Pick
	}
	// The flush gives back whatever the "source" holds, as FolderSource
	// does.
	flush := func() {
		held.Lock()
		back := held.picks
		held.picks = nil
		held.Unlock()
		p.Unplayed(back)
	}
	p.SetControls(flush, nil)

	var wg sync.WaitGroup
	wg.Go(func() {
		for range 300 {
			pick, ok := p.Next()
			if !ok {
				continue
			}
			held.Lock()
			for _, h := range held.picks {
				if pick.Kind == mount.KindRequest && h.ID == pick.ID {
					t.Errorf("request %s picked twice", pick.ID)
				}
			}
			held.picks = append(held.picks, pick)
			if len(held.picks) > 2 {
				held.picks = held.picks[1:] // the oldest played
			}
			held.Unlock()
		}
	})
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				e, err := p.Enqueue(files("s", 6)[(g+i)%6])
				if err != nil {
					t.Error(err)
					return
				}
				switch i % 4 {
				case 1:
					p.Remove(e.ID)
				case 2:
					_ = p.Move(e.ID, 0)
				case 3:
					p.Search("s0", 3)
					p.Status()
				}
			}
		})
	}
	wg.Wait()
	flush()
	if got, want := queueStation(t, Options{QueuePath: path}).Queue(), p.Queue(); !entriesEqual(got, want) {
		t.Fatalf("saved queue %d entries, in memory %d", len(got), len(want))
	}
}
