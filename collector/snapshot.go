package collector

import (
	"time"

	"github.com/webex-exporter/webex_exporter/collector/state"
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

// RoomSnapshot is one room's values (state.RoomSnapshot).
type RoomSnapshot = state.RoomSnapshot

// WindowCount is what happened in a room within one window
// (state.WindowCount).
type WindowCount = state.WindowCount

// snapshot takes the state's snapshot at now, with what the refresh adds.
func (t *Tracker) snapshot(now time.Time, up bool, phases []Phase) *Snapshot {
	rs := t.state.Snapshot(now)
	s := &Snapshot{Time: now, Up: up, Phases: phases, Windows: t.state.Windows(), Rooms: rs.Rooms, Pending: rs.Pending,
		DirectRooms: t.directRooms}
	if t.tokenExpiry != nil {
		s.TokenExpiry = t.tokenExpiry()
	}
	return s
}
