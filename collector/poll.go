package collector

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/go-kit/log/level"

	"github.com/webex-exporter/webex_exporter/webex"
)

// The poll feed: from the listing (refresh.go), plan the reads of rooms
// whose lastActivity moved (or that have messages no read has reached
// yet), and read them. Whatever a read gets goes into the state through
// ingestLocked, the one operation every feed uses.

// pollFeed is the poll feed (ScopeMember): it plans reads of the rooms
// whose lastActivity moved, and runs them. Its cursor is in the rooms'
// state: the lastActivity and newest messages each read covered.
type pollFeed struct{ t *Tracker }

func (pollFeed) phases() []string { return []string{"messages"} }

func (f pollFeed) run(ctx context.Context, r *pass) []Phase {
	t := f.t
	jobs, unexplained := t.plan(r.rooms, r.listed, r.now)
	r.rooms, r.listed = nil, nil // merged: the reads need not keep the listing alive
	r.unexplained = unexplained
	return []Phase{t.runPhase(ctx, "messages", jobs, func(ctx context.Context, j job) error {
		return t.readRoom(ctx, j, r.now)
	}, t.markPending)}
}

// Source is what the tracker reads from Webex (a *webex.Client).
type Source interface {
	Me(ctx context.Context) (webex.Person, error)
	Rooms(ctx context.Context, q webex.RoomsQuery) ([]webex.Room, error)
	Messages(ctx context.Context, q webex.MessagesQuery) ([]webex.Message, error)
	Memberships(ctx context.Context, roomID string) ([]webex.Membership, error)
}

// Page sizes for /messages: a room read for the first time may have a whole
// window of history; a room read before usually has a few new messages.
const (
	coldPageSize = 100
	warmPageSize = 50
)

// job is one room whose messages or members must be read.
type job struct {
	roomID       string
	lastActivity time.Time            // as listed in this refresh
	gaps         []gapRead            // runs of messages earlier reads did not reach: first
	top          *webex.MessagesQuery // the newest messages, when lastActivity moved
	pending      bool                 // left over from an earlier refresh: goes first
}

// gapRead is the read of one gap.
type gapRead struct {
	gap   *gap
	query webex.MessagesQuery
}

// plan merges a fresh listing into the state: new rooms join it, rooms
// missing from a few listings in a row leave it, and rooms whose
// lastActivity moved (and lies within the widest window) or that have gaps
// become message jobs, earlier leftovers and the most recently active
// first (members are the memberships feed's, members.go). unexplained
// reports a watched room that moved with no known message to explain it
// (with push on: a delivery may have been lost, or the webhook disabled).
func (t *Tracker) plan(rooms []webex.Room, listed map[string]int, now time.Time) (msgJobs []job, unexplained bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	cutoff := now.Add(-t.widest)
	bot := t.account != nil && t.account.IsBot()
	t.mergeLocked(rooms, listed, cutoff, func(st *roomState, r webex.Room) {
		// Bots cannot list a group room's messages without being mentioned:
		// the exporter does not ask, and shows no message metrics there.
		st.noMessages = bot && r.Type == "group"
		// A lastActivity ahead of the clock (a message dated in the future)
		// may not move when the next message comes: read until it is past.
		moved := !st.watched || !r.LastActivity.Equal(st.readActivity) || r.LastActivity.After(now)
		// A move the newest known message explains (one pushed, created at
		// the room's lastActivity) is shown at once, but a delivery lost
		// before it would hide behind it: the room is read within
		// t.reconcile of its first move no read has covered.
		explained := moved && st.watched && len(st.gaps) == 0 && r.LastActivity.Equal(st.newest) && !r.LastActivity.After(now)
		if explained {
			if st.unreadSince == 0 {
				st.unreadSince = now.UnixMilli()
			}
			if now.UnixMilli()-st.unreadSince < t.reconcile.Milliseconds() {
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
			j := job{roomID: r.ID, lastActivity: r.LastActivity, pending: st.pending}
			for _, g := range st.gaps {
				j.gaps = append(j.gaps, gapRead{gap: g, query: g.query(r.ID, cutoff)})
			}
			if moved {
				j.top = st.topQuery(r.ID, cutoff)
			}
			msgJobs = append(msgJobs, j)
		}
	})
	slices.SortFunc(msgJobs, func(a, b job) int {
		if a.pending != b.pending {
			if a.pending {
				return -1
			}
			return 1
		}
		return b.lastActivity.Compare(a.lastActivity)
	})
	return msgJobs, unexplained
}

// admitLocked merges one listed room into the state and returns its state,
// or nil when the filters leave it out (its title then goes into excluded).
func (t *Tracker) admitLocked(r webex.Room, excluded map[string]string, cutoff time.Time) *roomState {
	st := t.rooms[r.ID]
	// The last good title stands in for one Webex could not decrypt,
	// before the filters see the room (also for a room they left out).
	if r.TitleUnavailable && st != nil {
		r.Title = st.room.Title
	} else if r.TitleUnavailable {
		r.Title = t.excluded[r.ID]
	}
	if !t.filter.Keep(r) {
		delete(t.rooms, r.ID)
		if r.Title != "" {
			excluded[r.ID] = r.Title
		}
		return nil
	}
	if st == nil {
		st = &roomState{}
		t.rooms[r.ID] = st
	}
	st.room, st.absent, st.described = r, 0, true
	st.history = st.history.prune(cutoff.UnixMilli())
	return st
}

// leaveAbsentLocked handles the rooms missing from a listing. A room
// missing from one listing may only have moved between pages while they
// were read: it keeps its state (unexported) for a few listings before it
// leaves. Rooms the events feed knows (evented) are not the listing's:
// they stay.
func (t *Tracker) leaveAbsentLocked(listed map[string]int) {
	for id, st := range t.rooms {
		if _, ok := listed[id]; !ok && !st.evented {
			if st.absent++; st.absent > maxAbsent {
				delete(t.rooms, id)
			}
		}
	}
}

// mergeLocked merges a listing (each room once; listed: every id in it)
// into the state, as every scope does: each room the filters keep is
// admitted (created if new) and handed to each; rooms missing from this
// listing count an absence.
func (t *Tracker) mergeLocked(rooms []webex.Room, listed map[string]int, cutoff time.Time, each func(st *roomState, r webex.Room)) {
	excluded := map[string]string{}
	t.listings++
	for _, r := range rooms {
		if st := t.admitLocked(r, excluded, cutoff); st != nil {
			st.listing = t.listings
			each(st, r)
		}
	}
	t.excluded = excluded
	t.leaveAbsentLocked(listed)
}

// topQuery is the read of a room's newest messages: all within the widest
// window at first; then those above what reads have covered. Reads covered
// the room up to its lastActivity when last read (readActivity); a newer
// message known only from a delivery is not covered (a lost delivery may
// lie below it). The read stops by time as well as by id: at the first
// message created before the covered time, so a deleted stop message or
// a stop known only by its time costs no paging.
func (st *roomState) topQuery(roomID string, cutoff time.Time) *webex.MessagesQuery {
	q := &webex.MessagesQuery{RoomID: roomID, Since: cutoff, PageSize: coldPageSize}
	if !st.watched || st.newest.IsZero() {
		return q
	}
	q.Since, q.PageSize = latest(cutoff, earliest(st.newest, st.readActivity)), warmPageSize
	if len(st.newestIDs) > 0 && !st.newest.After(st.readActivity) {
		q.StopAtID = st.newestIDs[len(st.newestIDs)-1]
	}
	return q
}

// uniqueRooms returns the listing with each room once, and the place of
// each id in it: a room whose lastActivity moved while the pages were read
// can be on two of them; the later lastActivity stands, at the first place.
func uniqueRooms(rooms []webex.Room) ([]webex.Room, map[string]int) {
	at := make(map[string]int, len(rooms))
	var out []webex.Room // nil until a room comes twice
	for n, r := range rooms {
		i, dup := at[r.ID]
		switch {
		case !dup:
			at[r.ID] = len(at)
			if out != nil {
				out = append(out, r)
			}
		case out == nil:
			out = slices.Clone(rooms[:n])
			fallthrough
		default:
			if r.LastActivity.After(out[i].LastActivity) {
				out[i] = r
			}
		}
	}
	if out == nil {
		return rooms, at
	}
	return out, at
}

// query is the read of what g still misses.
func (g *gap) query(roomID string, cutoff time.Time) webex.MessagesQuery {
	q := webex.MessagesQuery{RoomID: roomID, BeforeMessage: g.beforeID, StopAtID: g.stopAtID,
		Since: latest(g.until, cutoff), PageSize: coldPageSize}
	if q.BeforeMessage == "" {
		q.Before = g.before
	}
	return q
}

func (t *Tracker) markPending(j job) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if st := t.rooms[j.roomID]; st != nil {
		st.pending = true
	}
}

// readRoom reads what a job's room needs: first its gaps, then the
// messages since the newest known. A gap that fails does not hold back the
// newest messages; the deadline or a rate limit stops the room's reads.
// Whatever a read got before an error is kept.
func (t *Tracker) readRoom(ctx context.Context, j job, now time.Time) error {
	var gapErr error
	for _, g := range j.gaps {
		msgs, err := t.src.Messages(ctx, g.query)
		next, gaveUp := t.applyGap(j.roomID, g.gap, g.query, msgs, err, ctx.Err() != nil, now)
		if next != nil { // the cursor was refused: on by time
			msgs, err = t.src.Messages(ctx, *next)
			_, gaveUp = t.applyGap(j.roomID, g.gap, *next, msgs, err, ctx.Err() != nil, now)
		}
		if gaveUp {
			continue // with a log line
		}
		if err != nil {
			if ctx.Err() != nil || isRateLimit(err) {
				return err
			}
			gapErr = errors.Join(gapErr, err)
		}
	}
	if j.top != nil {
		msgs, err := t.src.Messages(ctx, *j.top)
		t.applyTop(j, msgs, err, now)
		if err != nil {
			return err
		}
	}
	if gapErr != nil {
		return gapErr
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if st := t.rooms[j.roomID]; st != nil {
		st.refreshed, st.pending = now, false
	}
	return nil
}

// applyTop records what a read of a room's newest messages got. A read that
// failed after some pages got the newest ones: the room counts as read up
// to its current lastActivity and the rest waits as a gap.
func (t *Tracker) applyTop(j job, msgs []webex.Message, err error, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.rooms[j.roomID]
	if st == nil {
		return
	}
	// Messages above the newest known were created while the exporter
	// watched the room; at the first read, they are the room's backlog.
	t.ingestLocked(st, msgs, origin{}, now)
	if err != nil && len(msgs) == 0 {
		return
	}
	if err != nil {
		q := j.top
		last := msgs[len(msgs)-1]
		g := &gap{beforeID: last.ID, before: last.Created.Add(time.Millisecond), stopAtID: q.StopAtID, until: q.Since, backlog: !st.watched}
		if cursorRefused(err) {
			g.beforeID = "" // deleted: the gap is read by time
		}
		st.gaps = append(st.gaps, g)
		if len(st.gaps) > maxGaps {
			level.Warn(t.logger).Log("msg", "Too many interrupted reads; giving up on the oldest", "room_id", j.roomID)
			st.giveUp(st.gaps[0], now)
		}
	}
	st.watched, st.readActivity, st.unreadSince = true, j.lastActivity, 0
	st.updateRead()
}

// applyGap records what a read (q) of gap g got: the gap closes when the
// read completed, and narrows when it got some messages. When Webex
// refuses the gap's cursor (the message it names was deleted: 404 to
// beforeMessage), next is the read that continues below the creation time
// of the last message read instead. After maxGapFailures failures that
// were neither the deadline (interrupted) nor a rate limit, the gap is
// given up: its span stays uncovered, and the windows that overlap it are
// absent until it leaves them.
func (t *Tracker) applyGap(roomID string, g *gap, q webex.MessagesQuery, msgs []webex.Message, err error, interrupted bool, now time.Time) (next *webex.MessagesQuery, gaveUp bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.rooms[roomID]
	if st == nil {
		return nil, false
	}
	t.ingestLocked(st, msgs, origin{gap: g}, now)
	if len(msgs) > 0 {
		last := msgs[len(msgs)-1]
		g.beforeID, g.before = last.ID, last.Created.Add(time.Millisecond)
	}
	switch {
	case err == nil:
		st.gaps = slices.DeleteFunc(st.gaps, func(o *gap) bool { return o == g })
		st.updateRead()
	case interrupted, isRateLimit(err):
	case q.BeforeMessage != "" && cursorRefused(err) && !g.before.IsZero():
		level.Debug(t.logger).Log("msg", "Webex refused the read's cursor (the message was deleted); reading on by time", "room_id", roomID)
		g.beforeID = ""
		next = &q
		next.BeforeMessage, next.Before = "", g.before
	default:
		if g.failures++; g.failures >= maxGapFailures {
			level.Warn(t.logger).Log("msg", "Giving up on messages an interrupted read did not reach, after repeated failures; the windows they lie in are not exported until they leave them", "room_id", roomID, "failures", g.failures, "err", err)
			st.giveUp(g, now)
			gaveUp = true
		}
	}
	return next, gaveUp
}

// cursorRefused reports whether Webex refused a read's beforeMessage
// cursor: it answers 404 when the message it names was deleted.
func cursorRefused(err error) bool {
	var ce *webex.CursorError
	return errors.As(err, &ce)
}

// giveUp drops gap g; its span stays uncovered (see windowKnown).
func (st *roomState) giveUp(g *gap, now time.Time) {
	st.uncovered = max(st.uncovered, g.top(now).UnixMilli())
	st.gaps = slices.DeleteFunc(st.gaps, func(o *gap) bool { return o == g })
	st.updateRead()
}

// top is the upper end of a gap's span: its messages were created before
// it. A gap known only by a cursor (a file of an earlier version) may
// reach up to now.
func (g *gap) top(now time.Time) time.Time {
	if g.before.IsZero() {
		return now
	}
	return g.before
}

// updateRead sets read: the room was watched and no backlog gap is open.
func (st *roomState) updateRead() {
	st.read = st.watched && !slices.ContainsFunc(st.gaps, func(g *gap) bool { return g.backlog })
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
