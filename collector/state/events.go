package state

import (
	"slices"
	"time"

	"github.com/webex-exporter/webex_exporter/internal/times"
)

// Facts of the organisation's events (Config.Events): messages the events
// reported, how far the events have been read, and the descriptions of the
// rooms only events named.

// DescribeRetry: a room Webex refused to describe is asked again after
// this long, not at every refresh.
const DescribeRetry = 24 * time.Hour

// Evented is a message an event reported, with its room's type.
type Evented struct {
	Message  Message
	RoomType string
}

// EventMessages records messages events reported: each goes into its room,
// which joins the state (known by id and type until described) if the
// filters may keep it. since is when the events began to be watched:
// messages created from then on count in webex_room_messages_total. An
// event read twice counts once.
func (s *State) EventMessages(es []Evented, since, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range es {
		st := s.eventRoom(e.Message.RoomID, e.RoomType)
		if st == nil {
			continue
		}
		s.ingest(st, []Message{e.Message}, origin{evented: true, since: since}, now)
		st.room.LastActivity = times.Latest(st.room.LastActivity, st.newest)
	}
}

// eventRoom returns the state of the room an event names, creating it if
// the filters may keep it; nil when they leave it out.
// Called with s.mu held.
func (s *State) eventRoom(id, roomType string) *roomState {
	if st := s.rooms[id]; st != nil {
		st.evented, st.absent = true, 0
		return st
	}
	if _, out := s.excluded[id]; out || s.refused[id] {
		return nil
	}
	f := s.filter
	if len(f.Types) > 0 && !slices.Contains(f.Types, roomType) || len(f.RoomIDs) > 0 && !slices.Contains(f.RoomIDs, id) {
		return nil
	}
	st := &roomState{room: Room{ID: id, Type: roomType}, evented: true}
	s.rooms[id] = st
	return st
}

// Covered records how far the events have been read at now: full, every
// event within the widest window has been read at least once (so every
// room's windows are known); complete, the last read completed (the rooms
// are refreshed).
func (s *State) Covered(full, complete bool, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.rooms {
		st.watched, st.read, st.gaps, st.pending = full, full, nil, false
		if complete {
			st.refreshed = now
		}
	}
}

// Due is a room whose description or members are to be read.
type Due struct {
	RoomID       string
	LastActivity time.Time
}

// Undescribed returns the rooms to describe: those no listing or earlier
// description told about, unless Webex refused them within DescribeRetry;
// the most recently active first.
func (s *State) Undescribed(now time.Time) []Due {
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []Due
	for id, st := range s.rooms {
		if !st.described && (st.describeFailed.IsZero() || now.Sub(st.describeFailed) >= DescribeRetry) {
			due = append(due, Due{RoomID: id, LastActivity: st.room.LastActivity})
		}
	}
	slices.SortFunc(due, func(a, b Due) int { return b.LastActivity.Compare(a.LastActivity) })
	return due
}

// Described records a room's description (title, type, team, creation
// time): the room is left out from now on if the filters do not keep it.
func (s *State) Described(r Room) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.rooms[r.ID]
	if st == nil {
		return
	}
	if r.Type == "" {
		r.Type = st.room.Type
	}
	r.LastActivity = times.Latest(r.LastActivity, st.newest)
	if !s.filter.Keep(r) {
		delete(s.rooms, r.ID)
		s.refused[r.ID] = true
		return
	}
	st.room, st.described, st.describeFailed = r, true, time.Time{}
}

// DescribeRefused records that Webex refused to describe a room at now
// (403, 404): it is asked again after DescribeRetry, and shown only while
// no title or team filter needs what it would have said.
func (s *State) DescribeRefused(id string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.rooms[id]; st != nil {
		st.describeFailed = now
	}
}

// MembersDue returns the rooms of the last listing whose members should be
// read: never read, lastActivity moved since, or read MembersEvery ago;
// the most recently active first. None without Config.Members.
func (s *State) MembersDue(now time.Time) []Due {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.members {
		return nil
	}
	var due []Due
	for _, st := range s.listed {
		if s.rooms[st.room.ID] != st || st.listing != s.listings {
			continue
		}
		if st.membersAt.IsZero() || !st.room.LastActivity.Equal(st.membersActivity) || now.Sub(st.membersAt) >= s.membersEvery {
			due = append(due, Due{RoomID: st.room.ID, LastActivity: st.room.LastActivity})
		}
	}
	slices.SortFunc(due, func(a, b Due) int { return b.LastActivity.Compare(a.LastActivity) })
	return due
}

// Members records a room's member count, read at now when its
// lastActivity was lastActivity.
func (s *State) Members(roomID string, n int, lastActivity, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.rooms[roomID]; st != nil {
		st.members, st.membersAt, st.membersActivity = n, now, lastActivity
	}
}
