// Package state is the exporter's one state: the rooms, their windows and
// counters, the senders, what reads have covered (gaps), the owning
// account and the filters. It knows no feed, no HTTP, no file and no
// clock: the feeds (collector's poll, events, push and memberships) report
// facts through its methods, each idempotent (a fact reported twice counts
// once) and each given the time; the state turns facts into values, and
// the refresh takes a Snapshot of them.
//
// The two rules everything else follows live here, each in one place:
// whether a message counts in webex_room_messages_total (counts), and
// whether a window's value is known (windowKnown).
//
// A State is safe for concurrent use: every method takes its mutex, and
// none calls out while holding it.
package state

import (
	"slices"
	"sync"
	"time"

	"github.com/webex-exporter/webex_exporter/webex/model"
)

// The API's data, as the feeds report it (package webex aliases the same
// types: a feed converts nothing).
type (
	Room          = model.Room
	Message       = model.Message
	MessagesQuery = model.MessagesQuery
)

// Window is a trailing window over which messages and senders are counted.
type Window struct {
	Name     string // as the user wrote it; the value of the "window" label
	Duration time.Duration
}

// Config tunes a State.
type Config struct {
	Windows []Window // sorted shortest first; required
	Filter  Filter   // which rooms are watched (zero: all)
	// Members: member counts are shown (MembersDue, Members); they are
	// read again after MembersEvery (default 1h).
	Members      bool
	MembersEvery time.Duration
	HideTitles   bool // titles left out of snapshots
	// Events: the rooms' messages come from the organisation's events: a
	// room named by one (EventMessages) stays while the listing misses it,
	// and a listed room's lastActivity is at least its newest message.
	Events bool
}

// State is the one state of the exporter.
type State struct {
	windows      []Window
	widest       time.Duration
	filter       Filter
	members      bool
	membersEvery time.Duration
	hideTitles   bool
	events       bool

	mu sync.Mutex // guards the fields below
	// reconcile: a move a pushed message explains is read within this;
	// zero: at once (SetReconcile).
	reconcile time.Duration
	owner     string // the account the rooms belong to ("" while none)
	rooms     map[string]*roomState
	people    senderTable // interned sender ids, shared by all histories
	// excluded holds the titles of listed rooms the filters leave out, so a
	// title that fails to decrypt later cannot let such a room in;
	// refused, the rooms described and left out by the filters.
	excluded map[string]string
	refused  map[string]bool
	listings uint64       // listings merged so far (a room's listing says which last had it)
	listed   []*roomState // the last listing's rooms the filters keep, in its order
	seen     senderSeen   // Snapshot's, kept for its memory
	met      []*roomState // Listed's: the state of each room of the listing (kept for its memory)
	// order is every room of the last snapshot's rooms, in id order: the
	// next snapshot merges the rooms that joined into it rather than
	// sorting them all again (snapshot.go). snaps counts the snapshots.
	order []*roomState
	snaps uint64
}

// New returns an empty state.
func New(cfg Config) *State {
	s := &State{windows: cfg.Windows, filter: cfg.Filter,
		members: cfg.Members, membersEvery: cfg.MembersEvery, hideTitles: cfg.HideTitles, events: cfg.Events,
		rooms: map[string]*roomState{}, refused: map[string]bool{}}
	if len(cfg.Windows) > 0 {
		s.widest = cfg.Windows[len(cfg.Windows)-1].Duration
	}
	if s.membersEvery <= 0 {
		s.membersEvery = time.Hour
	}
	return s
}

// Windows returns the windows, shortest first.
func (s *State) Windows() []Window { return s.windows }

// Widest returns the longest window.
func (s *State) Widest() time.Duration { return s.widest }

// SetReconcile sets how soon a room whose move a pushed message explains is
// read all the same (a lost delivery may hide below that message).
func (s *State) SetReconcile(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reconcile = d
}

// roomState is what the state knows of one room.
type roomState struct {
	// What a snapshot reads of every room comes first, from room to live:
	// together they take fewer cache lines of a state spread over the heap.
	room Room // as last listed; Title is the last known good title
	// watched: a read of the room's newest messages has succeeded, so every
	// message found above them later was created while the exporter watched
	// and counts in total. read: besides, no backlog gap is open, so the
	// windows hold every message in them (Snapshot's Read).
	watched, read bool
	pending       bool // a needed read of messages failed or ran out of time
	noMessages    bool // a bot's group room: messages are not visible
	// evented: the events feed named the room; missing from the listing
	// does not make it leave. described: its title, team and creation time
	// are known (from the listing or a description); describeFailed: when
	// Webex last refused to describe it.
	evented, described bool
	newest             time.Time // creation time of the newest message known, never in the future
	total              uint64    // messages created since the exporter began watching the room
	refreshed          time.Time // last successful refresh
	counted            []counted // each window's count made from history (roomState.count)
	gaps               []*Gap    // messages no read has reached yet, oldest first
	// uncovered: messages created before this (Unix ms; 0: none) may be
	// missing (a gap given up): windows reaching back before it are not known.
	uncovered int64
	absent    int       // listings in a row the room was missing from
	members   int       // member count, when memberships are on
	membersAt time.Time // when members was read (zero: never)
	// ordered, live: the State.snaps of the last snapshot that found the
	// room in State.order, and in State.rooms (snapshot.go).
	ordered, live uint64

	readActivity time.Time // the room's lastActivity when its messages were last read
	// unreadSince: when a move no read has covered was first seen (a
	// pushed message), Unix ms; 0 when reads cover the room's lastActivity.
	unreadSince     int64
	newestIDs       []string  // ids of the known messages created at newest
	history         history   // messages within the widest window (changed by insert, prune)
	listing         uint64    // the State.listings that last listed it
	place           int       // its place in that listing, once each room is there once (uniqueRooms)
	describeFailed  time.Time // see described
	membersActivity time.Time // the room's lastActivity when members was read
}

// Gap is a run of a room's messages no read has reached yet: those created
// before beforeID (or before the time before), down to the first message
// created before until (or stopAtID, the newest known when the gap opened).
// A read interrupted by the deadline or an error leaves one; so do windows
// widened across a restart. A feed holds one only as the handle of a read
// the plan gave it (GapRead).
type Gap struct {
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
	MaxGaps        = 8 // gaps a room keeps; the oldest is given up beyond
	MaxGapFailures = 3 // failed reads before a gap is given up
	MaxAbsent      = 3 // listings a room may be missing from before its state is dropped
)

// origin is where reported messages come from: what the counting rule
// (counts) needs to know of them.
type origin struct {
	gap     *Gap      // a read of this gap; nil: the room's newest messages, or a push
	evented bool      // the events feed's, which began watching the organisation at since
	since   time.Time // (evented only)
}

// counts is the rule "does this message count in webex_room_messages_total",
// in one place: it counts when it was created after the exporter began
// watching the room. Read from the top of a watched room (above what earlier
// reads covered), pushed into a watched room: yes; found by a room's first
// read: no (backlog). A gap's messages count unless the gap is backlog
// (left by a first read, or a window widened across a restart). An event's
// message counts when created at or after the events feed began watching
// the organisation. A message already known is not counted again (ingest).
func (st *roomState) counts(o origin, m Message) bool {
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

// Messages records messages that arrived in a room, whatever fetched them
// (a push, or a caller that read them): counted in webex_room_messages_total
// once the room is watched. It returns how many were new: a message
// already known counts once, however often it is reported.
func (s *State) Messages(roomID string, msgs []Message, now time.Time) (added int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.rooms[roomID]; st != nil {
		return s.ingest(st, msgs, origin{}, now)
	}
	return 0
}

// Pushed is what became of a pushed message (Pushed).
type Pushed int

const (
	PushedNew         Pushed = iota // a new message, recorded
	PushedDuplicate                 // already known
	PushedUnknownRoom               // a room the state does not watch (or whose messages it cannot see)
)

// Pushed records a message delivered by push. It shows at once; the room's
// next move is read all the same within the reconcile interval (a lost
// delivery may lie below it).
func (s *State) Pushed(m Message, now time.Time) Pushed {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.rooms[m.RoomID]
	if st == nil || st.noMessages {
		return PushedUnknownRoom
	}
	if s.ingest(st, []Message{m}, origin{}, now) == 0 {
		return PushedDuplicate
	}
	if st.watched && st.unreadSince == 0 {
		st.unreadSince = now.UnixMilli() // a read confirms it within s.reconcile
	}
	return PushedNew
}

// ingest adds msgs (in any order) from o to a room's windows, counting each
// in total as the rule (counts) says. A message already in the windows is
// skipped: the same message read twice, pushed and then read, or read past
// a stop message that was deleted, counts once. The newest known message,
// where the next read stops, never moves into the future: a message dated
// ahead of the clock would hide every real message created before it.
// It returns how many messages were new to the windows.
// Called with s.mu held.
func (s *State) ingest(st *roomState, msgs []Message, o origin, now time.Time) (added int) {
	cutoff := now.Add(-s.widest).UnixMilli()
	// Reads come newest first: added in that order, each message would go
	// to the front of the history and move all the others (quadratic in a
	// busy room's first read). Oldest first, each goes to the end.
	if !slices.IsSortedFunc(msgs, func(a, b Message) int { return a.Created.Compare(b.Created) }) {
		msgs = slices.Clone(msgs)
		slices.SortStableFunc(msgs, func(a, b Message) int { return a.Created.Compare(b.Created) })
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
		st.insert(msg{at: at, id: id, sender: s.people.intern(m.PersonID)})
		added++
		if st.counts(o, m) {
			st.total++
		}
	}
	return added
}

// PruneSenders forgets interned ids no history holds any more, once they
// clearly outnumber the live ones, so churn cannot grow the table forever.
func (s *State) PruneSenders() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.people.len() < 1024 {
		return
	}
	// Counting stops as soon as the live ids are found to be at least half
	// the table (usually after a part of the rooms): nothing to forget then.
	held, live := make([]bool, s.people.len()), 0
	for _, st := range s.rooms {
		for _, m := range st.history {
			if !held[m.sender] {
				held[m.sender], live = true, live+1
			}
		}
		if s.people.len() <= 2*live {
			return
		}
	}
	var kept senderTable
	for _, st := range s.rooms {
		for i, m := range st.history {
			st.history[i].sender = kept.intern(s.people.ids[m.sender])
		}
		st.historyChanged()
	}
	s.people = kept
}

// Owner says which account the rooms belong to. When another account owned
// them, they are forgotten (never mixed): changed is then true, with the
// number of rooms forgotten.
func (s *State) Owner(id string) (changed bool, forgotten int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.owner != "" && s.owner != id {
		changed, forgotten = true, len(s.rooms)
		clear(s.rooms)
		s.people = senderTable{}
		s.listed, s.order = nil, nil
	}
	s.owner = id
	return changed, forgotten
}

// OwnerID returns the account the rooms belong to ("" while none).
func (s *State) OwnerID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.owner
}

// Owned reports whether the state holds rooms of a known account.
func (s *State) Owned() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.owner != "" && len(s.rooms) > 0
}

// Size reports what the state holds: rooms (listed, and kept while missing
// from recent listings), messages kept for the windows of the listed ones,
// and interned sender ids (for tests that check it stays bounded).
func (s *State) Size() (rooms, absent, messages, people int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.rooms {
		if st.absent > 0 {
			absent++
			continue
		}
		messages += len(st.history)
	}
	return len(s.rooms), absent, messages, s.people.len()
}

// PruneHistories drops the messages that left the widest window at now
// (the listing does it for the rooms it merges).
func (s *State) PruneHistories(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cutoff := now.Add(-s.widest).UnixMilli()
	for _, st := range s.rooms {
		st.prune(cutoff)
	}
}

// top is the upper end of a gap's span: its messages were created before
// it. A gap known only by a cursor (a file of an earlier version) may
// reach up to now.
func (g *Gap) top(now time.Time) time.Time {
	if g.before.IsZero() {
		return now
	}
	return g.before
}

// giveUp drops gap g; its span stays uncovered (see windowKnown).
func (st *roomState) giveUp(g *Gap, now time.Time) {
	st.uncovered = max(st.uncovered, g.top(now).UnixMilli())
	st.gaps = slices.DeleteFunc(st.gaps, func(o *Gap) bool { return o == g })
	st.updateRead()
}

// updateRead sets read: the room was watched and no backlog gap is open.
func (st *roomState) updateRead() {
	st.read = st.watched && !slices.ContainsFunc(st.gaps, func(g *Gap) bool { return g.backlog })
}
