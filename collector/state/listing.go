package state

import (
	"slices"
	"time"

	"github.com/webex-exporter/webex_exporter/internal/times"
)

// The listing and the reads of messages it calls for: Listed merges a
// listing, Plan says which rooms must be read and from where down to what,
// and TopRead, GapRead, Refreshed and Pending record what the reads got.

// Page sizes for /messages: a room read for the first time may have a whole
// window of history; a room read before usually has a few new messages.
const (
	ColdPageSize = 100
	WarmPageSize = 50
)

// Listed merges a listing of the rooms at now: rooms the
// filters keep join the state or are updated; rooms the filters leave out
// leave it; rooms missing from a few listings in a row leave it too (those
// named by events stay). A room missing from one listing may only have
// moved between pages while they were read: it keeps its state, not
// exported, for a few listings. A room listed twice (it moved while the
// pages were read) is merged once, with the later lastActivity.
func (s *State) Listed(rooms []Room, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cutoff := now.Add(-s.widest).UnixMilli()
	s.listings++
	rooms, sts := s.uniqueRooms(rooms)
	excluded := map[string]string{}
	s.listed = s.listed[:0]
	for i, r := range rooms {
		st := s.admit(r, sts[i], excluded, cutoff)
		if st == nil {
			continue
		}
		st.listing = s.listings
		if s.events {
			// An event may be newer than the listing's lastActivity.
			st.room.LastActivity = times.Latest(r.LastActivity, st.newest)
		}
		s.listed = append(s.listed, st)
	}
	clear(sts) // held for the next listing: pins no room that left
	s.excluded = excluded
	// Every room left in s.rooms that this listing did not mark is
	// missing from it; none when the listed ones are all of them.
	if len(s.listed) == len(s.rooms) {
		return
	}
	for id, st := range s.rooms {
		if st.listing == s.listings {
			continue
		}
		if s.events {
			st.prune(cutoff)
		}
		if !st.evented {
			if st.absent++; st.absent > MaxAbsent {
				delete(s.rooms, id)
			}
		}
	}
}

// uniqueRooms returns the listing with each room once, and each one's
// state (nil for a room new to the state): a room whose lastActivity moved
// while the pages were read can be on two of them; the later lastActivity
// stands, at the first place. A room the state has is marked with the
// listing (listing, place) as it is met, so its second place finds the
// first without a map of every id; only new rooms need one.
// Called with s.mu held, s.listings the listing's number.
func (s *State) uniqueRooms(rooms []Room) ([]Room, []*roomState) {
	sts := s.met[:0]
	var out []Room           // nil until a room comes twice
	var fresh map[string]int // new rooms' places
	for n, r := range rooms {
		place := -1
		if st := s.rooms[r.ID]; st != nil {
			if st.listing == s.listings {
				place = st.place
			} else {
				st.listing, st.place = s.listings, len(sts)
			}
			if place < 0 {
				sts = append(sts, st)
			}
		} else {
			if fresh == nil {
				fresh = map[string]int{}
			}
			if i, dup := fresh[r.ID]; dup {
				place = i
			} else {
				fresh[r.ID] = len(sts)
				sts = append(sts, nil)
			}
		}
		switch {
		case place < 0:
			if out != nil {
				out = append(out, r)
			}
		case out == nil:
			out = slices.Clone(rooms[:n])
			fallthrough
		default:
			if r.LastActivity.After(out[place].LastActivity) {
				out[place] = r
			}
		}
	}
	s.met = sts
	if out == nil {
		return rooms, sts
	}
	return out, sts
}

// admit merges one listed room into the state and returns its state, or
// nil when the filters leave it out (its title then goes into excluded).
// st is the room's state (nil: new to the state).
// Called with s.mu held.
func (s *State) admit(r Room, st *roomState, excluded map[string]string, cutoff int64) *roomState {
	// The last good title stands in for one Webex could not decrypt,
	// before the filters see the room (also for a room they left out).
	if r.TitleUnavailable && st != nil {
		r.Title = st.room.Title
	} else if r.TitleUnavailable {
		r.Title = s.excluded[r.ID]
	}
	if !s.filter.keeps(&r) {
		delete(s.rooms, r.ID)
		if r.Title != "" {
			excluded[r.ID] = r.Title
		}
		return nil
	}
	if st == nil {
		st = &roomState{}
		s.rooms[r.ID] = st
	} else {
		sameStrings(&r, &st.room)
	}
	st.room, st.absent, st.described = r, 0, true
	st.prune(cutoff)
	return st
}

// Read is the plan's read of one room's messages.
type Read struct {
	RoomID       string
	LastActivity time.Time      // as listed
	Gaps         []GapRead      // runs of messages earlier reads did not reach: first
	Top          *MessagesQuery // the newest messages, when lastActivity moved
	Pending      bool           // left over from an earlier refresh: goes first
}

// GapRead is the read of one gap: Gap is its handle for GapRead.
type GapRead struct {
	Gap   *Gap
	Query MessagesQuery
}

// Plan returns the reads the last listing calls for: rooms whose
// lastActivity moved (and lies within the widest window) or that have
// gaps, earlier leftovers and the most recently active first. Rooms with
// nothing to read are recorded as refreshed at now. bot: the account is a
// bot, which cannot read a group room's messages without being mentioned:
// those rooms show no message metrics. unexplained reports a watched room
// that moved with no known message to explain it (with push on: a delivery
// may have been lost, or the webhook disabled).
func (s *State) Plan(now time.Time, bot bool) (reads []Read, unexplained bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cutoff := now.Add(-s.widest)
	for _, st := range s.listed {
		if s.rooms[st.room.ID] != st {
			continue // gone since the listing
		}
		r := st.room
		st.noMessages = bot && r.Type == "group"
		// A lastActivity ahead of the clock (a message dated in the future)
		// may not move when the next message comes: read until it is past.
		moved := !st.watched || !r.LastActivity.Equal(st.readActivity) || r.LastActivity.After(now)
		// A move the newest known message explains (one pushed, created at
		// the room's lastActivity) is shown at once, but a delivery lost
		// before it would hide behind it: the room is read within
		// s.reconcile of its first move no read has covered.
		explained := moved && st.watched && len(st.gaps) == 0 && r.LastActivity.Equal(st.newest) && !r.LastActivity.After(now)
		if explained {
			if st.unreadSince == 0 {
				st.unreadSince = now.UnixMilli()
			}
			if now.UnixMilli()-st.unreadSince < s.reconcile.Milliseconds() {
				moved = false
			}
		}
		unexplained = unexplained || (moved && st.watched && !st.noMessages && r.LastActivity.After(cutoff))
		switch {
		case st.noMessages || !r.LastActivity.After(cutoff):
			// Nothing new can lie inside any window: no call needed.
			st.watched, st.read, st.readActivity, st.refreshed, st.pending, st.gaps = true, true, r.LastActivity, now, false, nil
		case !moved && len(st.gaps) == 0:
			st.refreshed, st.pending = now, false
		default:
			j := Read{RoomID: r.ID, LastActivity: r.LastActivity, Pending: st.pending}
			for _, g := range st.gaps {
				j.Gaps = append(j.Gaps, GapRead{Gap: g, Query: g.query(r.ID, cutoff)})
			}
			if moved {
				j.Top = st.topQuery(r.ID, cutoff)
			}
			reads = append(reads, j)
		}
	}
	slices.SortFunc(reads, func(a, b Read) int {
		if a.Pending != b.Pending {
			if a.Pending {
				return -1
			}
			return 1
		}
		return b.LastActivity.Compare(a.LastActivity)
	})
	return reads, unexplained
}

// topQuery is the read of a room's newest messages: all within the widest
// window at first; then those above what reads have covered. Reads covered
// the room up to its lastActivity when last read (readActivity); a newer
// message known only from a delivery is not covered (a lost delivery may
// lie below it). The read stops by time as well as by id: at the first
// message created before the covered time, so a deleted stop message or
// a stop known only by its time costs no paging.
func (st *roomState) topQuery(roomID string, cutoff time.Time) *MessagesQuery {
	q := &MessagesQuery{RoomID: roomID, Since: cutoff, PageSize: ColdPageSize}
	if !st.watched || st.newest.IsZero() {
		return q
	}
	q.Since, q.PageSize = times.Latest(cutoff, times.Earliest(st.newest, st.readActivity)), WarmPageSize
	if len(st.newestIDs) > 0 && !st.newest.After(st.readActivity) {
		q.StopAtID = st.newestIDs[len(st.newestIDs)-1]
	}
	return q
}

// query is the read of what g still misses.
func (g *Gap) query(roomID string, cutoff time.Time) MessagesQuery {
	q := MessagesQuery{RoomID: roomID, BeforeMessage: g.beforeID, StopAtID: g.stopAtID,
		Since: times.Latest(g.until, cutoff), PageSize: ColdPageSize}
	if q.BeforeMessage == "" {
		q.Before = g.before
	}
	return q
}

// Outcome is how a read ended, as far as the state cares.
type Outcome int

const (
	Done          Outcome = iota // the read completed
	Interrupted                  // the deadline or a rate limit stopped it
	CursorRefused                // Webex refused its beforeMessage cursor: the message was deleted
	Failed                       // any other error
)

// TopRead records what the read of a room's newest messages (r.Top) got:
// msgs, newest first, and how it ended. A read that failed after some
// pages got the newest ones: the room counts as read up to r.LastActivity
// and the rest waits as a gap. droppedGap reports that the room had too
// many gaps and the oldest was given up.
func (s *State) TopRead(r Read, msgs []Message, o Outcome, now time.Time) (droppedGap bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.rooms[r.RoomID]
	if st == nil {
		return false
	}
	// Messages above the newest known were created while the exporter
	// watched the room; at the first read, they are the room's backlog.
	s.ingest(st, msgs, origin{}, now)
	if o != Done && len(msgs) == 0 {
		return false
	}
	if o != Done {
		q := r.Top
		last := msgs[len(msgs)-1]
		g := &Gap{beforeID: last.ID, before: last.Created.Add(time.Millisecond), stopAtID: q.StopAtID, until: q.Since, backlog: !st.watched}
		if o == CursorRefused {
			g.beforeID = "" // deleted: the gap is read by time
		}
		st.gaps = append(st.gaps, g)
		if len(st.gaps) > MaxGaps {
			droppedGap = true
			st.giveUp(st.gaps[0], now)
		}
	}
	st.watched, st.readActivity, st.unreadSince = true, r.LastActivity, 0
	st.updateRead()
	return droppedGap
}

// GapResult is what GapRead made of a read of a gap.
type GapResult struct {
	// Next: Webex refused the gap's cursor (the message it names was
	// deleted): the read that continues below the creation time of the
	// last message read instead.
	Next *MessagesQuery
	// GaveUp: the gap failed too often and was given up (Failures times).
	GaveUp   bool
	Failures int
}

// GapRead records what a read (q) of gap g got: the gap closes when the
// read completed, and narrows when it got some messages. After
// MaxGapFailures failures that were neither the deadline nor a rate limit
// (Interrupted), the gap is given up: its span stays uncovered, and the
// windows that overlap it are absent until it leaves them.
func (s *State) GapRead(roomID string, g *Gap, q MessagesQuery, msgs []Message, o Outcome, now time.Time) (res GapResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.rooms[roomID]
	if st == nil || !slices.Contains(st.gaps, g) {
		return res // gone, or closed by an earlier report of the same read
	}
	s.ingest(st, msgs, origin{gap: g}, now)
	if len(msgs) > 0 {
		last := msgs[len(msgs)-1]
		g.beforeID, g.before = last.ID, last.Created.Add(time.Millisecond)
	}
	switch {
	case o == Done:
		st.gaps = slices.DeleteFunc(st.gaps, func(o *Gap) bool { return o == g })
		st.updateRead()
	case o == Interrupted:
	case q.BeforeMessage != "" && o == CursorRefused && !g.before.IsZero():
		g.beforeID = ""
		next := q
		next.BeforeMessage, next.Before = "", g.before
		res.Next = &next
	default:
		if g.failures++; g.failures >= MaxGapFailures {
			st.giveUp(g, now)
			res.GaveUp, res.Failures = true, g.failures
		}
	}
	return res
}

// Refreshed records that every read a room needed succeeded at now.
func (s *State) Refreshed(roomID string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.rooms[roomID]; st != nil {
		st.refreshed, st.pending = now, false
	}
}

// Pending records that a read a room needed failed or was not made: the
// room keeps its last values and is read first next time.
func (s *State) Pending(roomID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.rooms[roomID]; st != nil {
		st.pending = true
	}
}

// sameStrings gives r the strings it shares with was (the room as last
// listed, found by r's id) from was: the listing's own copies are then
// garbage as soon as it is merged, instead of the state holding them while
// the last snapshot holds the old ones (two copies of every id and title
// alive through a refresh).
func sameStrings(r, was *Room) {
	same := func(s *string, old string) {
		if *s == old {
			*s = old
		}
	}
	r.ID = was.ID // equal: the room was found by it
	same(&r.Title, was.Title)
	same(&r.Type, was.Type)
	same(&r.TeamID, was.TeamID)
}
