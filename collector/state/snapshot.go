package state

import (
	"slices"
	"strings"
	"time"
)

// Snapshot is the rooms' values at one time, as a scrape shows them.
type Snapshot struct {
	Time    time.Time
	Rooms   []RoomSnapshot // in id order
	Pending int            // rooms whose needed refresh failed or ran out of time
}

// RoomSnapshot is one room's values.
type RoomSnapshot struct {
	Room        Room
	LastMessage time.Time     // newest message known; zero if none
	Counts      []WindowCount // one per window, in Windows() order
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

// Snapshot takes the rooms' values at now. Not shown: rooms missing from
// the last listing (they may come back), and rooms whose title or team is
// unknown while a filter needs them (Filter.Shows).
func (s *State) Snapshot(now time.Time) Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	order := s.sortedRooms()
	snap := Snapshot{Time: now, Rooms: make([]RoomSnapshot, 0, len(order))}
	nw := len(s.windows)
	counts := make([]WindowCount, len(order)*nw) // one array for every room's counts
	cutoffs := make([]time.Time, nw)
	for i, w := range s.windows {
		cutoffs[i] = now.Add(-w.Duration)
	}
	for _, st := range order {
		if st.absent > 0 || !s.filter.Shows(st.described) {
			continue
		}
		snap.Rooms = snap.Rooms[:len(snap.Rooms)+1]
		// Filled in place: a RoomSnapshot is 200 bytes to copy.
		rs := &snap.Rooms[len(snap.Rooms)-1]
		*rs = RoomSnapshot{Room: st.room, LastMessage: st.newest, Total: st.total, Refreshed: st.refreshed,
			Read: st.read, NoMessages: st.noMessages, Members: -1}
		if s.hideTitles {
			rs.Room.Title = ""
		}
		if s.members && !st.membersAt.IsZero() {
			rs.Members = st.members
		}
		rs.Counts, counts = counts[:nw:nw], counts[nw:]
		for i, cutoff := range cutoffs {
			c := &rs.Counts[i]
			c.Messages, c.Senders = st.count(i, nw, cutoff.UnixMilli(), &s.seen)
			c.Known = st.windowKnown(cutoff, now)
		}
		if st.pending {
			snap.Pending++
		}
	}
	return snap
}

// sortedRooms returns every room of s.rooms in id order (as pointers: a
// RoomSnapshot is 200 bytes to move). It keeps the last order (s.order)
// and merges into it the rooms that joined since, sorted: rooms rarely
// join or leave between two snapshots, and sorting 10,000 ids takes
// longer than the rest of a snapshot's bookkeeping.
// Called with s.mu held.
func (s *State) sortedRooms() []*roomState {
	s.snaps++
	gen := s.snaps
	for _, st := range s.order {
		st.ordered = gen
	}
	var added []*roomState
	for _, st := range s.rooms {
		st.live = gen
		if st.ordered != gen {
			added = append(added, st)
		}
	}
	byID := func(a, b *roomState) int { return strings.Compare(a.room.ID, b.room.ID) }
	slices.SortFunc(added, byID)
	order := make([]*roomState, 0, len(s.rooms))
	kept := s.order
	for len(kept) > 0 || len(added) > 0 {
		switch {
		case len(kept) > 0 && kept[0].live != gen: // left s.rooms
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
	s.order = order
	return order
}
