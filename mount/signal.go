package mount

import "sync/atomic"

// broadcast wakes every waiter at each event. A waiter takes the current
// channel, checks its condition, then waits for the channel to close: an
// event between the check and the wait is never missed, and nobody polls.
type broadcast struct {
	ch atomic.Pointer[chan struct{}]
}

// wait returns the channel the next fire closes.
func (b *broadcast) wait() <-chan struct{} {
	for {
		if p := b.ch.Load(); p != nil {
			return *p
		}
		c := make(chan struct{})
		b.ch.CompareAndSwap(nil, &c)
	}
}

// fire wakes everyone waiting.
func (b *broadcast) fire() {
	next := make(chan struct{})
	if old := b.ch.Swap(&next); old != nil {
		close(*old)
	}
}
