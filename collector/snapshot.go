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
	Messages, Senders int
	// Known: no message of the window is missing (see windowKnown);
	// otherwise the window is not exported for the room.
	Known bool
}

func (t *Tracker) snapshotLocked(now time.Time, up bool, phases []Phase) *Snapshot {
	s := &Snapshot{Time: now, Up: up, Phases: phases, Windows: t.windows, Rooms: make([]RoomSnapshot, 0, len(t.rooms))}
	if t.tokenExpiry != nil {
		s.TokenExpiry = t.tokenExpiry()
	}
	seen := map[uint32]struct{}{}
	for _, st := range t.rooms {
		if st.absent > 0 {
			continue // missing from the last listing: not shown while it may come back
		}
		if !t.filter.Shows(st.described) {
			continue // its title or team unknown, which a filter needs
		}
		rs := RoomSnapshot{Room: st.room, LastMessage: st.newest, Total: st.total, Refreshed: st.refreshed,
			Read: st.read, NoMessages: st.noMessages, Members: -1}
		if t.hideTitles {
			rs.Room.Title = ""
		}
		if t.members && !st.membersAt.IsZero() {
			rs.Members = st.members
		}
		rs.Counts = make([]WindowCount, len(t.windows))
		for i, w := range t.windows {
			cutoff := now.Add(-w.Duration)
			rs.Counts[i].Messages, rs.Counts[i].Senders = st.history.count(cutoff.UnixMilli(), seen)
			rs.Counts[i].Known = st.windowKnown(cutoff, now)
		}
		if st.pending {
			s.Pending++
		}
		s.Rooms = append(s.Rooms, rs)
	}
	slices.SortFunc(s.Rooms, func(a, b RoomSnapshot) int { return strings.Compare(a.Room.ID, b.Room.ID) })
	return s
}
