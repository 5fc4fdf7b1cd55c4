package collector

import "context"

// flight is one refresh that concurrent scrapes share.
type flight struct {
	done chan struct{}
	snap *Snapshot
}

// Snapshot refreshes the state within ctx and returns what the metrics show.
// A scrape that arrives while a refresh is under way waits for that refresh
// and shares its result instead of starting its own; if its own deadline
// comes first it gets the last known state.
func (t *Tracker) Snapshot(ctx context.Context) *Snapshot {
	t.mu.Lock()
	if f := t.flight; f != nil {
		t.mu.Unlock()
		if t.onWait != nil {
			t.onWait()
		}
		select {
		case <-f.done:
			return f.snap
		case <-ctx.Done():
			t.mu.Lock()
			defer t.mu.Unlock()
			return t.snapshotLocked(t.now(), t.up, nil)
		}
	}
	f := &flight{done: make(chan struct{})}
	t.flight = f
	t.mu.Unlock()

	f.snap = t.refresh(ctx)

	t.mu.Lock()
	t.flight = nil
	t.mu.Unlock()
	close(f.done)
	return f.snap
}
