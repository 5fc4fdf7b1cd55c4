package collector

import (
	"time"

	"github.com/webex-exporter/webex_exporter/collector/state"
)

// The state's bounds, as the collector's tests name them.
const (
	maxGapFailures = state.MaxGapFailures
	maxAbsent      = state.MaxAbsent
)

// widest returns the longest window (ws is sorted shortest first).
func widest(ws []Window) time.Duration { return ws[len(ws)-1].Duration }

// roomRecord returns a room's state as the state exports it.
func roomRecord(tr *Tracker, id string) (state.RoomRecord, bool) {
	r, _, ok := tr.state.ExportRoom(id, func(string) int { return 0 })
	return r, ok
}

// editRooms changes the tracker's rooms through the state's export and
// import: each room's record is edited, and the records imported back at
// now (tests that set up what reads alone would take long to reach).
func editRooms(tr *Tracker, now time.Time, edit func(r *state.RoomRecord)) {
	_, ids := tr.state.Rooms()
	var senders senderIndex
	saved := state.Saved{Written: now, Widest: tr.state.Widest()}
	for _, id := range ids {
		if r, _, ok := tr.state.ExportRoom(id, senders.of); ok {
			edit(&r)
			saved.Rooms = append(saved.Rooms, r)
		}
	}
	saved.Senders = senders.ids
	tr.state.Import(saved, now)
}
