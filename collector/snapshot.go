package collector

import (
	"slices"
	"strings"
	"time"

	"github.com/webex-exporter/webex_exporter/webex"
)

// Snapshot is the state as a scrape shows it, computed at one time.
type Snapshot struct {
	Time    time.Time
	Up      bool // the rooms were listed in this refresh
	Rooms   []RoomSnapshot
	Pending int // rooms whose needed refresh failed or ran out of time
	Phases  []Phase
	Windows []Window
	// TokenExpiry is when the access token expires (zero: unknown).
	TokenExpiry time.Time
	// DirectRooms: whether direct rooms are in the per-room families.
	DirectRooms DirectRooms

	render *rendering // the exposition, made once (exposition.go)
}

// Phase is one step of a refresh, shown as a "collector".
type Phase struct {
	Name     string
	Success  bool
	Duration time.Duration
}

// RoomSnapshot is one room's values.
type RoomSnapshot struct {
	Room        webex.Room
	LastMessage time.Time     // newest message known; zero if none
	Counts      []WindowCount // one per window, in Snapshot.Windows order
	Total       uint64
	Refreshed   time.Time // zero if never refreshed successfully
	// Read: the room's messages have been read in full at least once.
	// Until then LastMessage, Counts and Total are unknown and not exported
	// (absent, not 0: a 0 means "read, and none").
	Read bool
	// NoMessages: the account cannot see the room's messages (a bot in a
	// group room), so LastMessage, Counts and Total mean nothing.
	NoMessages bool
	Members    int // -1 when unknown or not collected
}

// WindowCount is what happened in a room within one window.
type WindowCount struct {
	// int32: a snapshot holds one per room and window (10,000 rooms, two
	// windows: 240 KB, not 480 KB with ints and the flag).
	Messages, Senders int32
	// Known: no message of the window is missing (see windowKnown);
	// otherwise the window is not exported for the room.
	Known bool
}

func (t *Tracker) snapshotLocked(now time.Time, up bool, phases []Phase) *Snapshot {
	s := &Snapshot{Time: now, Up: up, Phases: phases, Windows: t.windows, Rooms: make([]RoomSnapshot, 0, len(t.rooms)),
		DirectRooms: t.directRooms}
	if t.tokenExpiry != nil {
		s.TokenExpiry = t.tokenExpiry()
	}
	shown := make([]*roomState, 0, len(t.rooms))
	for _, st := range t.sortedRoomsLocked() {
		// Not shown: missing from the last listing (it may come back), or
		// its title or team unknown while a filter needs them.
		if st.absent == 0 && t.filter.Shows(st.described) {
			shown = append(shown, st)
		}
	}
	seen := senderSeen{stamp: make([]uint32, t.people.len())}
	counts := make([]WindowCount, len(shown)*len(t.windows)) // one array for every room's counts
	for _, st := range shown {
		rs := RoomSnapshot{Room: st.room, LastMessage: st.newest, Total: st.total, Refreshed: st.refreshed,
			Read: st.read, NoMessages: st.noMessages, Members: -1}
		if t.hideTitles {
			rs.Room.Title = ""
		}
		if t.members && !st.membersAt.IsZero() {
			rs.Members = st.members
		}
		rs.Counts, counts = counts[:len(t.windows):len(t.windows)], counts[len(t.windows):]
		for i, w := range t.windows {
			cutoff := now.Add(-w.Duration)
			msgs, senders := st.history.count(cutoff.UnixMilli(), &seen)
			rs.Counts[i].Messages, rs.Counts[i].Senders = int32(msgs), int32(senders)
			rs.Counts[i].Known = st.windowKnown(cutoff, now)
		}
		if st.pending {
			s.Pending++
		}
		s.Rooms = append(s.Rooms, rs)
	}
	return s
}

// sortedRoomsLocked returns every room of t.rooms in id order (as
// pointers: a RoomSnapshot is 200 bytes to move). It keeps the last order
// (t.order) and merges into it the rooms that joined since, sorted: rooms
// rarely join or leave between two snapshots, and sorting 10,000 ids takes
// longer than the rest of a snapshot's bookkeeping.
func (t *Tracker) sortedRoomsLocked() []*roomState {
	t.snaps++
	gen := t.snaps
	for _, st := range t.order {
		st.ordered = gen
	}
	var added []*roomState
	for _, st := range t.rooms {
		st.live = gen
		if st.ordered != gen {
			added = append(added, st)
		}
	}
	byID := func(a, b *roomState) int { return strings.Compare(a.room.ID, b.room.ID) }
	slices.SortFunc(added, byID)
	order := make([]*roomState, 0, len(t.rooms))
	kept := t.order
	for len(kept) > 0 || len(added) > 0 {
		switch {
		case len(kept) > 0 && kept[0].live != gen: // left t.rooms
			kept = kept[1:]
		case len(added) == 0 || (len(kept) > 0 && byID(kept[0], added[0]) <= 0):
			order, kept = append(order, kept[0]), kept[1:]
		default:
			order, added = append(order, added[0]), added[1:]
		}
	}
	// A room's id does not change, but should one ever, the order is made again.
	if !slices.IsSortedFunc(order, byID) {
		slices.SortFunc(order, byID)
	}
	t.order = order
	return order
}
