package collector

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/webex-exporter/webex_exporter/webex"
)

// Source is what the tracker reads from Webex (a *webex.Client).
type Source interface {
	Rooms(ctx context.Context, q webex.RoomsQuery) ([]webex.Room, error)
	Messages(ctx context.Context, q webex.MessagesQuery) ([]webex.Message, error)
}

// Config tunes a Tracker.
type Config struct {
	Windows     []Window         // from ParseWindows; required
	Concurrency int              // message calls in flight at once (default 4)
	Now         func() time.Time // the clock (default time.Now); tests move it
	Logger      log.Logger       // default: discard
}

// Page sizes for /messages: a room read for the first time may have a whole
// window of history; a room read before usually has a few new messages.
const (
	coldPageSize = 100
	warmPageSize = 50
)

// Tracker keeps the state between scrapes and refreshes it incrementally:
// each refresh lists the rooms (all pages) and reads messages only of rooms
// whose lastActivity moved since they were last read, only back to the
// newest message already known. Concurrent scrapes share one refresh.
// It is the exporter's one long-lived object with mutable state.
type Tracker struct {
	src     Source
	windows []Window
	widest  time.Duration
	workers int
	now     func() time.Time
	logger  log.Logger

	mu      sync.Mutex
	rooms   map[string]*roomState
	people  map[string]string // interned sender ids, shared by all histories
	up      bool              // whether the last refresh listed the rooms
	flight  *flight           // the refresh under way, if any
	waiters int               // scrapes waiting for flight
}

// roomState is what the tracker knows of one room.
type roomState struct {
	room         webex.Room // as last listed; Title is the last known good title
	read         bool       // messages have been read (or known empty) at least once
	readActivity time.Time  // the room's lastActivity when its messages were last read
	newest       time.Time  // creation time of the newest message known
	newestIDs    []string   // ids of the known messages created at newest
	history      history    // messages within the widest window
	total        uint64     // messages seen since the tracker began watching
	refreshed    time.Time  // last successful refresh
	pending      bool       // a needed refresh failed or ran out of time
}

// flight is one refresh that concurrent scrapes share.
type flight struct {
	done chan struct{}
	snap *Snapshot
}

// NewTracker returns a tracker with empty state.
func NewTracker(src Source, cfg Config) *Tracker {
	t := &Tracker{
		src:     src,
		windows: cfg.Windows,
		widest:  widest(cfg.Windows),
		workers: cfg.Concurrency,
		now:     cfg.Now,
		logger:  cfg.Logger,
		rooms:   map[string]*roomState{},
		people:  map[string]string{},
	}
	if t.workers <= 0 {
		t.workers = 4
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.logger == nil {
		t.logger = log.NewNopLogger()
	}
	return t
}

// Snapshot refreshes the state within ctx and returns what the metrics show.
// A scrape that arrives while a refresh is under way waits for that refresh
// and shares its result instead of starting its own; if its own deadline
// comes first it gets the last known state.
func (t *Tracker) Snapshot(ctx context.Context) *Snapshot {
	t.mu.Lock()
	if f := t.flight; f != nil {
		t.waiters++
		t.mu.Unlock()
		defer func() {
			t.mu.Lock()
			t.waiters--
			t.mu.Unlock()
		}()
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

// job is one room whose messages must be read.
type job struct {
	roomID       string
	lastActivity time.Time // as listed in this refresh
	q            webex.MessagesQuery
	pending      bool // left over from an earlier refresh: goes first
}

func (t *Tracker) refresh(ctx context.Context) *Snapshot {
	now := t.now()
	start := time.Now()
	rooms, err := t.src.Rooms(ctx, webex.RoomsQuery{})
	roomsPhase := Phase{Name: "rooms", Success: err == nil, Duration: time.Since(start)}
	if err != nil {
		level.Error(t.logger).Log("msg", "Listing rooms failed; serving the last known values", "err", err)
		t.mu.Lock()
		defer t.mu.Unlock()
		t.up = false
		return t.snapshotLocked(now, false, []Phase{roomsPhase, {Name: "messages"}})
	}

	jobs := t.plan(rooms, now)
	start = time.Now()
	failed, firstErr := t.readMessages(ctx, jobs, now)
	msgPhase := Phase{Name: "messages", Success: failed == 0, Duration: time.Since(start)}
	if failed > 0 {
		level.Warn(t.logger).Log("msg", "Some rooms could not be refreshed; they keep their last values and are read first next time",
			"rooms", failed, "of", len(jobs), "err", firstErr)
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	t.up = true
	t.pruneSendersLocked()
	return t.snapshotLocked(now, true, []Phase{roomsPhase, msgPhase})
}

// plan merges a fresh listing into the state: rooms gone from the listing
// leave it, new rooms join it, and rooms whose lastActivity moved (and lies
// within the widest window) become jobs, earlier leftovers and the most
// recently active first.
func (t *Tracker) plan(rooms []webex.Room, now time.Time) []job {
	t.mu.Lock()
	defer t.mu.Unlock()
	cutoff := now.Add(-t.widest)
	listed := make(map[string]bool, len(rooms))
	var jobs []job
	for _, r := range rooms {
		listed[r.ID] = true
		st := t.rooms[r.ID]
		if st == nil {
			st = &roomState{}
			t.rooms[r.ID] = st
		}
		if r.TitleUnavailable {
			r.Title = st.room.Title
		}
		st.room = r
		st.history = st.history.prune(cutoff.UnixMilli())
		switch {
		case st.read && r.LastActivity.Equal(st.readActivity):
			st.refreshed, st.pending = now, false
		case !r.LastActivity.After(cutoff):
			// Nothing new can lie inside any window: no call needed.
			st.read, st.readActivity, st.refreshed, st.pending = true, r.LastActivity, now, false
		default:
			q := webex.MessagesQuery{RoomID: r.ID, Since: cutoff, PageSize: coldPageSize}
			if len(st.newestIDs) > 0 {
				q.StopAtID, q.PageSize = st.newestIDs[len(st.newestIDs)-1], warmPageSize
			}
			jobs = append(jobs, job{roomID: r.ID, lastActivity: r.LastActivity, q: q, pending: st.pending})
		}
	}
	for id := range t.rooms {
		if !listed[id] {
			delete(t.rooms, id)
		}
	}
	slices.SortFunc(jobs, func(a, b job) int {
		if a.pending != b.pending {
			if a.pending {
				return -1
			}
			return 1
		}
		return b.lastActivity.Compare(a.lastActivity)
	})
	return jobs
}

// readMessages runs the jobs with bounded concurrency until they are done,
// ctx ends, or Webex rate-limits the account; rooms not read are marked
// pending. It returns how many failed and the first error.
func (t *Tracker) readMessages(ctx context.Context, jobs []job, now time.Time) (failed int, firstErr error) {
	var (
		next    atomic.Int64
		nFailed atomic.Int64
		stop    atomic.Bool
		errOnce sync.Once
		wg      sync.WaitGroup
	)
	for range min(t.workers, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) {
					return
				}
				j := jobs[i]
				err := ctx.Err()
				if err == nil && stop.Load() {
					err = errRateLimitedEarlier
				}
				var msgs []webex.Message
				if err == nil {
					msgs, err = t.src.Messages(ctx, j.q)
				}
				if err != nil {
					var rl *webex.RateLimitError
					if errors.As(err, &rl) {
						stop.Store(true)
					}
					nFailed.Add(1)
					errOnce.Do(func() { firstErr = err })
					t.markPending(j.roomID)
					continue
				}
				t.read(j, msgs, now)
			}
		}()
	}
	wg.Wait()
	return int(nFailed.Load()), firstErr
}

var errRateLimitedEarlier = errors.New("not attempted: Webex rate-limited an earlier call of this refresh")

func (t *Tracker) markPending(roomID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if st := t.rooms[roomID]; st != nil {
		st.pending = true
	}
}

// read records a successful message read of a job's room.
func (t *Tracker) read(j job, msgs []webex.Message, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.rooms[j.roomID]
	if st == nil {
		return
	}
	t.ingestLocked(st, msgs, now)
	st.read, st.readActivity, st.refreshed, st.pending = true, j.lastActivity, now, false
}

// Ingest records messages that arrived in a room, whatever fetched them
// (polling today; pushed events later). msgs may be in any order; messages
// already known, or older than the newest known one, are ignored.
func (t *Tracker) Ingest(roomID string, msgs []webex.Message) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if st := t.rooms[roomID]; st != nil {
		t.ingestLocked(st, msgs, t.now())
	}
}

func (t *Tracker) ingestLocked(st *roomState, msgs []webex.Message, now time.Time) {
	msgs = slices.Clone(msgs)
	slices.SortStableFunc(msgs, func(a, b webex.Message) int { return a.Created.Compare(b.Created) })
	cutoff := now.Add(-t.widest).UnixMilli()
	for _, m := range msgs {
		switch c := m.Created.Compare(st.newest); {
		case c < 0 && !st.newest.IsZero():
			continue
		case c == 0 && slices.Contains(st.newestIDs, m.ID):
			continue
		case c > 0:
			st.newest, st.newestIDs = m.Created, st.newestIDs[:0]
		}
		st.newestIDs = append(st.newestIDs, m.ID)
		st.total++
		if at := m.Created.UnixMilli(); at > cutoff {
			st.history = st.history.insert(msg{at: at, sender: t.intern(m.PersonID)})
		}
	}
}

func (t *Tracker) intern(id string) string {
	if s, ok := t.people[id]; ok {
		return s
	}
	id = strings.Clone(id) // do not pin the decoded page
	t.people[id] = id
	return id
}

// pruneSendersLocked forgets interned ids no history holds any more, once
// they clearly outnumber the live ones, so churn cannot grow the map forever.
func (t *Tracker) pruneSendersLocked() {
	if len(t.people) < 1024 {
		return
	}
	live := make(map[string]string, len(t.people)/2)
	for _, st := range t.rooms {
		for _, m := range st.history {
			live[m.sender] = m.sender
		}
	}
	if len(t.people) > 2*len(live) {
		t.people = live
	}
}

// pending returns how many scrapes wait on the refresh under way (tests).
func (t *Tracker) waiting() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.waiters
}
