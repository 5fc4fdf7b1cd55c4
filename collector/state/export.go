package state

import (
	"maps"
	"slices"
	"time"
)

// What the state file keeps: the state exports its rooms as records and
// imports them back. The file's format (names, encoding) is the caller's.

// RoomRecord is one room's state as kept across restarts.
type RoomRecord struct {
	ID           string
	Title        string
	Type         string
	TeamID       string
	IsLocked     bool
	LastActivity time.Time
	Created      time.Time

	Watched      bool
	ReadActivity time.Time
	Newest       time.Time
	NewestIDs    []string
	Total        uint64
	Refreshed    time.Time
	Pending      bool
	NoMessages   bool
	Gaps         []GapRecord
	Uncovered    time.Time
	Absent       int
	// Evented: named by events. Undescribed: known only by id and type so
	// far; DescribeFailed: when Webex last refused to describe it.
	Evented        bool
	Undescribed    bool
	DescribeFailed time.Time

	Members         int
	MembersAt       time.Time
	MembersActivity time.Time

	// The windows' messages, oldest first, as three columns: creation time
	// (Unix ms, each but the first as the step from the one before), id
	// hash, and sender (an index the caller chose, see ExportRoom).
	At      []int64
	IDs     []uint32
	Senders []int
}

// GapRecord is one gap as kept across restarts.
type GapRecord struct {
	BeforeID string
	Before   time.Time
	StopAtID string
	Until    time.Time
	Backlog  bool
	Failures int
}

// Rooms returns the owner and the ids of every room, sorted: what an
// export goes through, one ExportRoom at a time.
func (s *State) Rooms() (owner string, ids []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.owner, slices.Sorted(maps.Keys(s.rooms))
}

// ExportRoom returns one room's record, and the owner at the time (an
// export stops when it changed: the file would mix two accounts' rooms);
// ok is false when the room is gone. sender numbers a sender's person id
// for the record's Senders column.
func (s *State) ExportRoom(id string, sender func(personID string) int) (r RoomRecord, owner string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.rooms[id]
	if !ok {
		return r, s.owner, false
	}
	rm := st.room
	r = RoomRecord{ID: id, Title: rm.Title, Type: rm.Type, TeamID: rm.TeamID, IsLocked: rm.IsLocked,
		LastActivity: rm.LastActivity, Created: rm.Created,
		Watched: st.watched, ReadActivity: st.readActivity, Newest: st.newest,
		// Cloned: the state reuses the slice (st.newestIDs[:0]) while the
		// record is encoded outside the lock.
		NewestIDs: slices.Clone(st.newestIDs),
		Total:     st.total, Refreshed: st.refreshed, Pending: st.pending, Uncovered: msTime(st.uncovered),
		NoMessages: st.noMessages, Absent: st.absent,
		Members: st.members, MembersAt: st.membersAt, MembersActivity: st.membersActivity,
		Evented: st.evented, Undescribed: !st.described, DescribeFailed: st.describeFailed}
	for _, g := range st.gaps {
		r.Gaps = append(r.Gaps, GapRecord{BeforeID: g.beforeID, Before: g.before, StopAtID: g.stopAtID,
			Until: g.until, Backlog: g.backlog, Failures: g.failures})
	}
	if n := len(st.history); n > 0 {
		r.At, r.IDs, r.Senders = make([]int64, n), make([]uint32, n), make([]int, n)
	}
	prev := int64(0)
	for i, m := range st.history {
		r.At[i], r.IDs[i], r.Senders[i] = m.at-prev, m.id, sender(s.people.ids[m.sender])
		prev = m.at
	}
	return r, s.owner, true
}

// Saved is a state as kept across restarts, to be imported.
type Saved struct {
	Written time.Time
	// Widest is the widest window when written: the records' messages
	// reach back that far from Written, no further.
	Widest  time.Duration
	Senders []string // the person ids the records' Senders columns index
	Rooms   []RoomRecord
}

// Import replaces the rooms with saved ones (checked by the caller: message
// columns of equal lengths, in order, senders in range) at now. Rooms the
// filters no longer keep are left out; windows narrower than before are
// pruned at the next listing, and when the widest window grew (or the file
// was written while the clock ran ahead), each watched room gets a backlog
// gap for the part of it that the saved messages do not reach: reach,
// returned (zero when they reach far enough). Restored times ahead of now
// are clamped (see clampFuture).
func (s *State) Import(saved Saved, now time.Time) (reach time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := saved.Written.Add(-saved.Widest); r.After(now.Add(-s.widest)) {
		reach = r
	}
	clear(s.rooms)
	s.listed, s.order = nil, nil
	for _, sr := range saved.Rooms {
		room := Room{ID: sr.ID, Title: sr.Title, Type: sr.Type, TeamID: sr.TeamID, IsLocked: sr.IsLocked,
			LastActivity: sr.LastActivity, Created: sr.Created}
		if !s.filter.Keep(room) {
			continue
		}
		st := &roomState{room: room, watched: sr.Watched, readActivity: sr.ReadActivity, newest: sr.Newest,
			newestIDs: sr.NewestIDs, total: sr.Total, refreshed: sr.Refreshed, pending: sr.Pending, uncovered: timeMS(sr.Uncovered),
			noMessages: sr.NoMessages, absent: sr.Absent,
			members: sr.Members, membersAt: sr.MembersAt, membersActivity: sr.MembersActivity,
			described: !sr.Undescribed, describeFailed: sr.DescribeFailed,
			// Only events keep rooms the listing does not have.
			evented: sr.Evented && s.events,
			history: make(history, len(sr.At))}
		at := int64(0)
		for i := range sr.At {
			at += sr.At[i]
			st.history[i] = msg{at: at, id: sr.IDs[i], sender: s.people.intern(saved.Senders[sr.Senders[i]])}
		}
		for _, g := range sr.Gaps {
			st.gaps = append(st.gaps, &Gap{beforeID: g.BeforeID, before: g.Before, stopAtID: g.StopAtID,
				until: g.Until, backlog: g.Backlog, failures: g.Failures})
		}
		if !reach.IsZero() && st.watched && !st.noMessages {
			// Messages created at or before reach are missing (until
			// the gap is read, the room's counts are not shown).
			st.gaps = append([]*Gap{{before: reach.Add(time.Millisecond), backlog: true}}, st.gaps...)
			if len(st.gaps) > MaxGaps {
				st.gaps = st.gaps[:MaxGaps]
			}
		}
		st.clampFuture(now)
		st.updateRead()
		s.rooms[sr.ID] = st
	}
	return reach
}

// clampFuture brings a restored room's times that lie ahead of now (the
// file was written while the clock ran ahead, or it was stepped back) to
// what they can be: the newest message is the newest the windows hold up
// to now (known by time only), the read and member times are forgotten so
// the room is read again. Left as they were, the next reads would stop at
// a future time and count nothing until the clock caught up.
func (st *roomState) clampFuture(now time.Time) {
	if st.newest.After(now) {
		st.newest, st.newestIDs = st.history.newestAt(now), nil
	}
	if st.readActivity.After(now) {
		st.readActivity = st.newest
	}
	if st.refreshed.After(now) {
		st.refreshed = time.Time{}
	}
	if st.membersAt.After(now) {
		st.membersAt = time.Time{}
	}
	if st.describeFailed.After(now) {
		st.describeFailed = time.Time{}
	}
}

// msTime is Unix ms as a time (0: the zero time); timeMS the reverse.
func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func timeMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
