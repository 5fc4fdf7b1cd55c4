package collector

import (
	"slices"
	"sync"
	"time"

	"github.com/go-kit/log"
	"golang.org/x/sync/singleflight"

	"github.com/webex-exporter/webex_exporter/collector/statefile"
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
	// DirectRooms: direct rooms in the per-room families or only in the
	// totals (default DirectPerRoom).
	DirectRooms DirectRooms
	// TokenExpiry, if set, tells when the access token expires (zero: unknown).
	TokenExpiry func() time.Time
	// StateFile, if set, is where the state is kept across restarts: read by
	// LoadState, written after a refresh at most every StateInterval
	// (default 1m) and by SaveState.
	StateFile     string
	StateInterval time.Duration
	// MinInterval: refreshes start at least this far apart on the clock
	// (zero: no minimum); a scrape in between gets the last snapshot.
	MinInterval time.Duration
	// Scope: the account's rooms (ScopeMember, the default) or the whole
	// organisation's through the Events API (ScopeOrg; the Source must then
	// be an EventSource too, as *webex.Client is).
	Scope Scope
}

// Scope says which rooms the tracker watches, and so which feed fills it.
type Scope string

const (
	// ScopeMember: the rooms the account belongs to, through the poll
	// feed (poll.go: the listing and reads of the rooms that moved).
	ScopeMember Scope = "member"
	// ScopeOrg: every room of the organisation, through the events feed
	// (events.go: the Events API, for a compliance officer's token).
	ScopeOrg Scope = "org"
)

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
	directRooms  DirectRooms
	tokenExpiry  func() time.Time
	now          func() time.Time
	logger       log.Logger

	mu     sync.Mutex
	rooms  map[string]*roomState
	people senderTable // interned sender ids, shared by all histories
	// excluded holds the titles of listed rooms the filters leave out, so a
	// title that fails to decrypt later cannot let such a room in.
	excluded map[string]string
	up       bool          // whether the last refresh listed the rooms
	fl       flights       // the refresh under way, the last snapshot
	account  *webex.Person // from /people/me; nil until known, and again after a 401
	// accountGen is the token generation the account was learned with: a
	// new token (a swapped token file) may be another account's.
	accountGen uint64
	// owner is the id of the account the rooms' state belongs to ("" while
	// none); restored is a state file's content waiting for the account to
	// be known, to be adopted or discarded.
	owner    string
	restored *savedState
	learning singleflight.Group // the /people/me call under way, if any

	listings uint64 // listings merged so far (a room's listing says which last had it)
	feeds    []feed // run in this order by each refresh (refresh.go); set before the first
	// reconcile: a move a pushed message explains is read within this
	// (PushConfig.ReconcileInterval); zero without push: read at once.
	reconcile time.Duration
	webhook   webhookState // the push feed's cursor

	// The state file (see statefile.go); nil when off.
	stateFile     *statefile.File
	stateInterval time.Duration
	writeMu       sync.Mutex // one write at a time
	stateAttempt  time.Time  // last attempt (t.now)

	org *eventsFeed // the events feed's cursor, in ScopeOrg; nil otherwise

	onWait func() // tests: called when a scrape starts waiting for another's refresh

	// order is every room of the last snapshot's t.rooms, in id order:
	// the next snapshot merges the rooms that joined into it rather than
	// sorting them all again (snapshot.go). snaps counts the snapshots.
	order []*roomState
	snaps uint64
}

// roomState is what the tracker knows of one room.
type roomState struct {
	room webex.Room // as last listed; Title is the last known good title
	// watched: a read of the room's newest messages has succeeded, so every
	// message found above them later was created while the exporter watched
	// and counts in total. read: besides, no backlog gap is open, so the
	// windows hold every message in them (Snapshot's Read).
	watched, read bool
	readActivity  time.Time // the room's lastActivity when its messages were last read
	// unreadSince: when a move no read has covered was first seen (a
	// pushed message), Unix ms; 0 when reads cover the room's lastActivity.
	unreadSince int64
	newest      time.Time // creation time of the newest message known, never in the future
	newestIDs   []string  // ids of the known messages created at newest
	history     history   // messages within the widest window
	total       uint64    // messages created since the exporter began watching the room
	refreshed   time.Time // last successful refresh
	pending     bool      // a needed read of messages failed or ran out of time
	noMessages  bool      // a bot's group room: messages are not visible
	gaps        []*gap    // messages no read has reached yet, oldest first
	// uncovered: messages created before this (Unix ms; 0: none) may be
	// missing (a gap given up): windows reaching back before it are not known.
	uncovered int64
	absent    int    // listings in a row the room was missing from
	listing   uint64 // the Tracker.listings that last listed it
	// evented: the events feed named the room; missing from the listing
	// does not make it leave. described: its title, team and creation time
	// are known (from the listing or GET /rooms/{id}); describeFailed: when
	// Webex last refused to describe it (403, 404).
	evented, described bool
	describeFailed     time.Time

	members         int       // member count, when memberships are on
	membersAt       time.Time // when members was read (zero: never)
	membersActivity time.Time // the room's lastActivity then

	// ordered, live: the Tracker.snaps of the last snapshot that found the
	// room in Tracker.order, and in Tracker.rooms (snapshot.go).
	ordered, live uint64
}

// gap is a run of a room's messages no read has reached yet: those created
// before beforeID (or before the time before), down to the first message
// created before until (or stopAtID, the newest known when the gap opened).
// A read interrupted by the deadline or an error leaves one; so do windows
// widened across a restart.
type gap struct {
	beforeID string    // below this message (the oldest the interrupted read got)
	before   time.Time // below this creation time: without beforeID, or when Webex refuses it
	stopAtID string    // the newest message known when the gap opened ("" for none)
	until    time.Time // messages created before this are known or out of every window
	// backlog: the messages were created before the exporter began watching
	// the room: they fill the windows but do not count in total.
	backlog  bool
	failures int // failed reads of this gap (other than deadline and rate limit)
}

// Bounds on what a room keeps while Webex misbehaves.
const (
	maxGaps        = 8 // gaps a room keeps; the oldest is given up beyond
	maxGapFailures = 3 // failed reads before a gap is given up
	maxAbsent      = 3 // listings a room may be missing from before its state is dropped
)

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
		directRooms: cfg.DirectRooms,
		tokenExpiry: cfg.TokenExpiry,
		now:         cfg.Now,
		logger:      cfg.Logger,
		rooms:       map[string]*roomState{},
		fl:          flights{minInterval: cfg.MinInterval, descs: newDescs()},

		stateInterval: cfg.StateInterval,
	}
	if t.stateInterval <= 0 {
		t.stateInterval = time.Minute
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
	if cfg.StateFile != "" {
		t.stateFile = statefile.New(cfg.StateFile, t.logger)
	}
	// The feeds, in the order a refresh runs them (refresh.go); NewPush
	// adds the push feed.
	switch cfg.Scope {
	case ScopeOrg:
		es, _ := src.(EventSource)
		t.org = &eventsFeed{src: es, excluded: map[string]bool{}}
		t.feeds = []feed{orgFeed{t}}
	default:
		t.feeds = []feed{pollFeed{t}}
	}
	if t.members {
		t.feeds = append(t.feeds, membersFeed{t})
	}
	return t
}

// unrunPhases are the phases of a refresh, all failed: what a scrape shows
// when its refresh did not get to run them.
// Called with t.mu held.
func (t *Tracker) unrunPhases() []Phase {
	phases := []Phase{{Name: "rooms"}}
	for _, f := range t.feeds {
		for _, name := range f.phases() {
			phases = append(phases, Phase{Name: name})
		}
	}
	return phases
}

// Ingest records messages that arrived in a room, whatever fetched them
// (a read, an event, a pushed delivery). A message already known counts
// once, however often it is reported. Messages are counted in
// webex_room_messages_total once the room is watched.
func (t *Tracker) Ingest(roomID string, msgs []webex.Message) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if st := t.rooms[roomID]; st != nil {
		t.ingestLocked(st, msgs, origin{}, t.now())
	}
}

// origin is where reported messages come from: what the counting rule
// (counts) needs to know of them.
type origin struct {
	gap     *gap      // a read of this gap; nil: the room's newest messages, a push, or Ingest
	evented bool      // the events feed's, which began watching the organisation at since
	since   time.Time // (evented only)
}

// counts is the rule "does this message count in webex_room_messages_total",
// in one place: it counts when it was created after the exporter began
// watching the room. Read from the top of a watched room (above what earlier
// reads covered), pushed or ingested into a watched room: yes; found by a
// room's first read: no (backlog). A gap's messages count unless the gap is
// backlog (left by a first read, or a window widened across a restart). An
// event's message counts when created at or after the events feed began
// watching the organisation. A message already known is not counted again
// (ingestLocked).
func (st *roomState) counts(o origin, m webex.Message) bool {
	switch {
	case o.evented:
		return !m.Created.Before(o.since)
	case o.gap != nil:
		return !o.gap.backlog
	default:
		return st.watched
	}
}

// windowKnown is the rule for "is this window's value known": the room's
// messages have been read in full at least once (read), and no span of
// messages no read has covered (an open gap, or one given up) lies within
// the window starting at cutoff.
func (st *roomState) windowKnown(cutoff, now time.Time) bool {
	if !st.read || st.uncovered > cutoff.UnixMilli() {
		return false
	}
	for _, g := range st.gaps {
		if g.top(now).After(cutoff) {
			return false
		}
	}
	return true
}

// ingestLocked adds msgs (in any order) from o to a room's windows,
// counting each in total as the rule (counts) says. A message already in the windows is skipped:
// the same message read twice, pushed and then read, or read past a stop
// message that was deleted, counts once. The newest known message, where
// the next read stops, never moves into the future: a message dated ahead
// of the clock would hide every real message created before it.
// It returns how many messages were new to the windows.
func (t *Tracker) ingestLocked(st *roomState, msgs []webex.Message, o origin, now time.Time) (added int) {
	cutoff := now.Add(-t.widest).UnixMilli()
	// Reads come newest first: added in that order, each message would go
	// to the front of the history and move all the others (quadratic in a
	// busy room's first read). Oldest first, each goes to the end.
	if !slices.IsSortedFunc(msgs, func(a, b webex.Message) int { return a.Created.Compare(b.Created) }) {
		msgs = slices.Clone(msgs)
		slices.SortStableFunc(msgs, func(a, b webex.Message) int { return a.Created.Compare(b.Created) })
	}
	for _, m := range msgs {
		if !m.Created.After(now) && !m.Created.Before(st.newest) {
			if m.Created.After(st.newest) {
				st.newest, st.newestIDs = m.Created, st.newestIDs[:0]
			}
			if !slices.Contains(st.newestIDs, m.ID) {
				st.newestIDs = append(st.newestIDs, m.ID)
			}
		}
		at, id := m.Created.UnixMilli(), hashID(m.ID)
		if at <= cutoff || st.history.has(at, id) {
			continue
		}
		st.history = st.history.insert(msg{at: at, id: id, sender: t.intern(m.PersonID)})
		added++
		if st.counts(o, m) {
			st.total++
		}
	}
	return added
}

func (t *Tracker) intern(id string) uint32 { return t.people.intern(id) }

// pruneSendersLocked forgets interned ids no history holds any more, once
// they clearly outnumber the live ones, so churn cannot grow the map forever.
func (t *Tracker) pruneSendersLocked() {
	if t.people.len() < 1024 {
		return
	}
	// Counting stops as soon as the live ids are found to be at least half
	// the table (usually after a part of the rooms): nothing to forget then.
	held, live := make([]bool, t.people.len()), 0
	for _, st := range t.rooms {
		for _, m := range st.history {
			if !held[m.sender] {
				held[m.sender], live = true, live+1
			}
		}
		if t.people.len() <= 2*live {
			return
		}
	}
	var kept senderTable
	for _, st := range t.rooms {
		for i, m := range st.history {
			st.history[i].sender = kept.intern(t.people.ids[m.sender])
		}
	}
	t.people = kept
}

// stateSize reports what the state holds: rooms (listed, and kept while
// missing from recent listings), messages kept for the windows of the
// listed ones, and interned sender ids (for tests that check it stays
// bounded).
func (t *Tracker) stateSize() (rooms, absent, messages, people int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, st := range t.rooms {
		if st.absent > 0 {
			absent++
			continue
		}
		messages += len(st.history)
	}
	return len(t.rooms), absent, messages, t.people.len()
}
