package collector

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"

	"github.com/webex-exporter/webex_exporter/webex"
)

// Config tunes a Tracker.
type Config struct {
	Windows     []Window         // from ParseWindows; required
	Concurrency int              // API calls in flight at once (default 4)
	Filter      Filter           // which rooms are watched (zero: all)
	Now         func() time.Time // the clock (default time.Now); tests move it
	Logger      log.Logger       // default: discard
	// Memberships turns on member counts, read when a room's lastActivity
	// moves or MembershipsRefresh has passed (default 1h).
	Memberships        bool
	MembershipsRefresh time.Duration
	// HideTitles leaves titles out of webex_room_info (1:1 room titles are
	// people's names).
	HideTitles bool
	// TokenExpiry, if set, tells when the access token expires (zero: unknown).
	TokenExpiry func() time.Time
}

// Tracker keeps the state between scrapes and refreshes it incrementally:
// each refresh lists the rooms (all pages) and reads messages only of rooms
// whose lastActivity moved since they were last read, only back to the
// newest message already known. Concurrent scrapes share one refresh.
// It is the exporter's one long-lived object with mutable state.
type Tracker struct {
	src          Source
	windows      []Window
	widest       time.Duration
	workers      int
	filter       Filter
	members      bool
	membersEvery time.Duration
	hideTitles   bool
	tokenExpiry  func() time.Time
	now          func() time.Time
	logger       log.Logger

	mu      sync.Mutex
	rooms   map[string]*roomState
	people  map[string]string // interned sender ids, shared by all histories
	up      bool              // whether the last refresh listed the rooms
	flight  *flight           // the refresh under way, if any
	account *webex.Person     // from /people/me; nil until known, and again after a 401

	onWait func() // tests: called when a scrape starts waiting for another's refresh
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
	noMessages   bool       // a bot's group room: messages are not visible
	gap          *gap       // messages an interrupted read has yet to reach

	members         int       // member count, when memberships are on
	membersAt       time.Time // when members was read (zero: never)
	membersActivity time.Time // the room's lastActivity then
}

// gap is the part of a room's messages that a read interrupted by the
// deadline or an error did not reach: below beforeID, down to stopAtID or
// since. It is read before anything newer, so a room has one gap at most.
type gap struct {
	beforeID string    // the oldest message the interrupted read got
	stopAtID string    // the newest message known before that read ("" for none)
	since    time.Time // the widest window's start then
}

// NewTracker returns a tracker with empty state.
func NewTracker(src Source, cfg Config) *Tracker {
	t := &Tracker{
		src:         src,
		windows:     cfg.Windows,
		widest:      widest(cfg.Windows),
		workers:     cfg.Concurrency,
		filter:      cfg.Filter,
		members:     cfg.Memberships,
		hideTitles:  cfg.HideTitles,
		tokenExpiry: cfg.TokenExpiry,
		now:         cfg.Now,
		logger:      cfg.Logger,
		rooms:       map[string]*roomState{},
		people:      map[string]string{},
	}
	if t.workers <= 0 {
		t.workers = 4
	}
	if t.now == nil {
		t.now = time.Now
	}
	t.membersEvery = cfg.MembershipsRefresh
	if t.membersEvery <= 0 {
		t.membersEvery = time.Hour
	}
	if t.logger == nil {
		t.logger = log.NewNopLogger()
	}
	return t
}

// Ingest records messages that arrived in a room, whatever fetched them
// (polling today; pushed events later). msgs may be in any order; messages
// already known, or older than the newest known one, are ignored.
func (t *Tracker) Ingest(roomID string, msgs []webex.Message) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if st := t.rooms[roomID]; st != nil {
		t.ingestLocked(st, msgs, false, t.now())
	}
}

// ingestLocked adds msgs to a room. Messages older than the newest known
// one are skipped as already seen, unless they fill the room's gap (older),
// which no earlier read reached.
func (t *Tracker) ingestLocked(st *roomState, msgs []webex.Message, older bool, now time.Time) {
	msgs = slices.Clone(msgs)
	slices.SortStableFunc(msgs, func(a, b webex.Message) int { return a.Created.Compare(b.Created) })
	cutoff := now.Add(-t.widest).UnixMilli()
	for _, m := range msgs {
		if !older {
			switch c := m.Created.Compare(st.newest); {
			case c < 0 && !st.newest.IsZero():
				continue
			case c == 0 && slices.Contains(st.newestIDs, m.ID):
				continue
			case c > 0:
				st.newest, st.newestIDs = m.Created, st.newestIDs[:0]
			}
			st.newestIDs = append(st.newestIDs, m.ID)
		}
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

// stateSize reports what the state holds: rooms, messages kept for the
// windows, and interned sender ids (for tests that check it stays bounded).
func (t *Tracker) stateSize() (rooms, messages, people int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, st := range t.rooms {
		messages += len(st.history)
	}
	return len(t.rooms), messages, len(t.people)
}
