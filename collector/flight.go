package collector

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/webex-exporter/webex_exporter/collector/exposition"
)

// How scrapes and refreshes meet (README, "Concurrent scrapes"):
//
//   - At most one refresh runs at a time, on a context of its own: a scrape
//     whose client leaves or whose deadline is short stops waiting, but does
//     not stop the refresh.
//   - The refresh's deadline is the latest among the scrapes that wait for it,
//     and never more than maxRefresh after it started: a scrape that joins
//     with a later deadline extends it. webex.Client reads that deadline to
//     decide whether waiting out a Retry-After is worth it.
//   - A scrape waits until the refresh ends or its own deadline passes. A
//     refresh bounded by the scrape's own deadline ends with it, so the scrape
//     gets its result. If another scrape extended the refresh past this one's
//     deadline (or this scrape's client left), it is answered at once with
//     the newest complete snapshot, marked as what it is: not this scrape's
//     refresh, so webex_up 0 and every collector failed, with the time it
//     waited as their duration.
//   - Refreshes start at least MinInterval apart on the tracker's clock. A
//     scrape in between gets the last snapshot as it was, with no API call.
//   - Every snapshot is rendered at most once (see exposition.go), whoever
//     and however many ask.

// maxRefresh bounds a refresh, whatever deadline a scrape asks for.
const maxRefresh = 2 * time.Minute

// flight is one refresh that concurrent scrapes share.
type flight struct {
	ctx  *refreshContext
	done chan struct{}
	snap *Snapshot // set before done is closed
}

// flights is the tracker's part that schedules refreshes; guarded by Tracker.mu.
type flights struct {
	minInterval time.Duration
	current     *flight          // the refresh under way, if any
	last        *Snapshot        // the newest complete snapshot
	lastStart   time.Time        // when the last refresh started (tracker's clock)
	renders     atomic.Int64     // renderings made (tests count them)
	segments    exposition.Cache // the last rendering's, for the next
	descs       *descs           // names, HELP and labels: built once
}

// Snapshot returns a snapshot no older than the minimum interval, refreshing
// the state if needed and waiting at most until ctx ends.
func (t *Tracker) Snapshot(ctx context.Context) *Snapshot {
	start := time.Now()
	deadline, ok := ctx.Deadline()
	if !ok || deadline.After(start.Add(maxRefresh)) {
		deadline = start.Add(maxRefresh)
	}
	t.mu.Lock()
	f := t.fl.current
	switch {
	case f != nil:
		f.ctx.extend(deadline)
		t.mu.Unlock()
		if t.onWait != nil {
			t.onWait()
		}
	case t.fl.last != nil && t.now().Sub(t.fl.lastStart) < t.fl.minInterval:
		s := t.fl.last
		t.mu.Unlock()
		return s
	default:
		f = &flight{ctx: newRefreshContext(deadline, start.Add(maxRefresh)), done: make(chan struct{})}
		t.fl.current, t.fl.lastStart = f, t.now()
		t.fl.last = t.fl.last.rendered()
		t.mu.Unlock()
		go t.fly(f)
	}

	select {
	case <-f.done:
		return f.snap
	case <-ctx.Done():
	}
	// A refresh bounded by this scrape's own deadline is ending now: its
	// result is this scrape's. Otherwise answer without it.
	if ctx.Err() == context.DeadlineExceeded && !f.ctx.deadline().After(deadline) {
		<-f.done
		return f.snap
	}
	select {
	case <-f.done:
		return f.snap
	default:
		return t.stale(time.Since(start))
	}
}

func (t *Tracker) fly(f *flight) {
	s := t.refresh(f.ctx)
	f.ctx.stop()
	s.render = t.fl.newRendering()
	t.mu.Lock()
	t.fl.current, t.fl.last = nil, s
	t.mu.Unlock()
	f.snap = s
	close(f.done)
}

// rendered returns s as far as a scrape that cannot wait for the refresh
// under way needs it (stale): once its rooms are rendered, without them.
// The tracker keeps no room of the last snapshot alive through a refresh,
// beside the state and the new snapshot: at 10,000 rooms, 2 MB; whoever
// holds s itself keeps it whole.
func (s *Snapshot) rendered() *Snapshot {
	if s == nil || s.render == nil || !s.render.done.Load() {
		return s
	}
	c := *s
	c.Rooms = nil
	return &c
}

// stale is the answer to a scrape that could not wait for the refresh under
// way: the newest complete snapshot (or, before the first, the state as it
// is) with webex_up 0 and every collector failed after waited.
func (t *Tracker) stale(waited time.Duration) *Snapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	var s Snapshot
	if t.fl.last != nil {
		s = *t.fl.last // shares the rendering of the rooms
	} else {
		s = *t.snapshot(t.now(), false, t.unrunPhases())
		s.render = t.fl.newRendering()
	}
	s.Up = false
	s.Phases = slices.Clone(s.Phases)
	for i := range s.Phases {
		s.Phases[i].Success, s.Phases[i].Duration = false, waited
	}
	return &s
}

// refreshContext is a refresh's context: never cancelled by a scrape, done
// when its deadline passes, and its deadline can move later (up to a limit)
// while it runs.
type refreshContext struct {
	done  chan struct{}
	limit time.Time
	timer *time.Timer

	mu  sync.Mutex
	end time.Time
	err error
}

func newRefreshContext(deadline, limit time.Time) *refreshContext {
	c := &refreshContext{done: make(chan struct{}), limit: limit, end: deadline}
	c.timer = time.AfterFunc(time.Until(deadline), c.expire)
	return c
}

// expire ends the context, unless the deadline moved meanwhile.
func (c *refreshContext) expire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if left := time.Until(c.end); left > 0 {
		c.timer.Reset(left)
		return
	}
	c.finishLocked(context.DeadlineExceeded)
}

// stop releases the timer once the refresh is over.
func (c *refreshContext) stop() {
	c.timer.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.finishLocked(context.Canceled)
}

func (c *refreshContext) finishLocked(err error) {
	if c.err == nil {
		c.err = err
		close(c.done)
	}
}

// extend moves the deadline to d if later, but not past the limit.
func (c *refreshContext) extend(d time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d.After(c.limit) {
		d = c.limit
	}
	if c.err == nil && d.After(c.end) {
		c.end = d
	}
}

func (c *refreshContext) deadline() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.end
}

func (c *refreshContext) Deadline() (time.Time, bool) { return c.deadline(), true }
func (c *refreshContext) Done() <-chan struct{}       { return c.done }
func (c *refreshContext) Value(any) any               { return nil }
func (c *refreshContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}
