package collector

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log/level"

	"github.com/webex-exporter/webex_exporter/webex"
)

// The poll feed: list the rooms, plan the reads of rooms whose lastActivity
// moved, and run them with bounded concurrency.

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
	top          *webex.MessagesQuery // the newest messages, when lastActivity moved
	gap          *webex.MessagesQuery // the rest of an interrupted read, first
	pending      bool                 // left over from an earlier refresh: goes first
}

func (t *Tracker) refresh(ctx context.Context) *Snapshot {
	now := t.now()
	start := time.Now()
	rooms, err := t.listRooms(ctx)
	roomsPhase := Phase{Name: "rooms", Success: err == nil, Duration: time.Since(start)}
	if err != nil {
		level.Error(t.logger).Log("msg", "Listing rooms failed; serving the last known values", "err", err)
		t.mu.Lock()
		defer t.mu.Unlock()
		t.up = false
		phases := []Phase{roomsPhase, {Name: "messages"}}
		if t.members {
			phases = append(phases, Phase{Name: "memberships"})
		}
		return t.snapshotLocked(now, false, phases)
	}

	msgJobs, memberJobs := t.plan(rooms, now)
	phases := []Phase{roomsPhase, t.runPhase(ctx, "messages", msgJobs, func(ctx context.Context, j job) error {
		return t.readRoom(ctx, j, now)
	})}
	if t.members {
		phases = append(phases, t.runPhase(ctx, "memberships", memberJobs, func(ctx context.Context, j job) error {
			ms, err := t.src.Memberships(ctx, j.roomID)
			if err == nil {
				t.setMembers(j, len(ms), now)
			}
			return err
		}))
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	t.up = true
	t.pruneSendersLocked()
	return t.snapshotLocked(now, true, phases)
}

// LearnAccount asks /people/me which kind of account the token belongs to
// (bots see less) and logs it. The tracker does this by itself before its
// first listing and after a 401; calling it at start makes it known early.
func (t *Tracker) LearnAccount(ctx context.Context) error {
	me, err := t.src.Me(ctx)
	if err != nil {
		return err
	}
	level.Info(t.logger).Log("msg", "Webex account", "type", me.Type, "name", me.DisplayName)
	t.mu.Lock()
	t.account = &me
	t.mu.Unlock()
	return nil
}

// listRooms learns the account if unknown and lists the watched rooms. A
// refused token fails here, once, for the whole refresh.
func (t *Tracker) listRooms(ctx context.Context) ([]webex.Room, error) {
	t.mu.Lock()
	known := t.account != nil
	t.mu.Unlock()
	if !known {
		err := t.LearnAccount(ctx)
		var rl *webex.RateLimitError
		switch {
		case webex.IsUnauthorized(err) || errors.As(err, &rl) || ctx.Err() != nil:
			return nil, err
		case err != nil:
			level.Warn(t.logger).Log("msg", "Could not learn the account type; assuming a person", "err", err)
		}
	}
	rooms, err := t.src.Rooms(ctx, t.filter.query())
	if err != nil {
		if webex.IsUnauthorized(err) {
			t.mu.Lock()
			t.account = nil // the token may now be another account's
			t.mu.Unlock()
		}
		return nil, err
	}
	return slices.DeleteFunc(rooms, func(r webex.Room) bool { return !t.filter.Keep(r) }), nil
}

// plan merges a fresh listing into the state: rooms gone from the listing
// leave it, new rooms join it, and rooms whose lastActivity moved (and lies
// within the widest window) become message jobs, earlier leftovers and the
// most recently active first. Rooms whose members are due become member jobs.
func (t *Tracker) plan(rooms []webex.Room, now time.Time) (msgJobs, memberJobs []job) {
	t.mu.Lock()
	defer t.mu.Unlock()
	cutoff := now.Add(-t.widest)
	bot := t.account != nil && t.account.IsBot()
	listed := make(map[string]bool, len(rooms))
	for _, r := range rooms {
		listed[r.ID] = true
		st := t.rooms[r.ID]
		if st == nil {
			st = &roomState{}
			t.rooms[r.ID] = st
		}
		if r.TitleUnavailable {
			r.Title = st.room.Title
		}
		st.room = r
		st.history = st.history.prune(cutoff.UnixMilli())
		// Bots cannot list a group room's messages without being mentioned:
		// the exporter does not ask, and shows no message metrics there.
		st.noMessages = bot && r.Type == "group"
		moved := !st.read || !r.LastActivity.Equal(st.readActivity)
		switch {
		case st.noMessages || !r.LastActivity.After(cutoff):
			// Nothing new can lie inside any window: no call needed.
			st.read, st.readActivity, st.refreshed, st.pending, st.gap = true, r.LastActivity, now, false, nil
		case !moved && st.gap == nil:
			st.refreshed, st.pending = now, false
		default:
			j := job{roomID: r.ID, lastActivity: r.LastActivity, pending: st.pending}
			if g := st.gap; g != nil {
				j.gap = &webex.MessagesQuery{RoomID: r.ID, BeforeMessage: g.beforeID, StopAtID: g.stopAtID,
					Since: latest(g.since, cutoff), PageSize: coldPageSize}
			}
			if moved {
				j.top = &webex.MessagesQuery{RoomID: r.ID, Since: cutoff, PageSize: coldPageSize}
				if len(st.newestIDs) > 0 {
					j.top.StopAtID, j.top.PageSize = st.newestIDs[len(st.newestIDs)-1], warmPageSize
				}
			}
			msgJobs = append(msgJobs, j)
		}
		if t.members && (st.membersAt.IsZero() || !r.LastActivity.Equal(st.membersActivity) || now.Sub(st.membersAt) >= t.membersEvery) {
			memberJobs = append(memberJobs, job{roomID: r.ID, lastActivity: r.LastActivity})
		}
	}
	for id := range t.rooms {
		if !listed[id] {
			delete(t.rooms, id)
		}
	}
	slices.SortFunc(msgJobs, func(a, b job) int {
		if a.pending != b.pending {
			if a.pending {
				return -1
			}
			return 1
		}
		return b.lastActivity.Compare(a.lastActivity)
	})
	return msgJobs, memberJobs
}

// runPhase runs do for each job with bounded concurrency until the jobs are
// done, ctx ends, or Webex rate-limits the account; a room whose job failed
// or was not run is marked pending. Failures are logged once, together.
func (t *Tracker) runPhase(ctx context.Context, name string, jobs []job, do func(context.Context, job) error) Phase {
	start := time.Now()
	var (
		next    atomic.Int64
		failed  atomic.Int64
		stop    atomic.Bool
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
	)
	for range min(t.workers, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) {
					return
				}
				err := ctx.Err()
				if err == nil && stop.Load() {
					err = errRateLimitedEarlier
				}
				if err == nil {
					err = do(ctx, jobs[i])
				}
				if err != nil {
					var rl *webex.RateLimitError
					if errors.As(err, &rl) {
						stop.Store(true)
					}
					failed.Add(1)
					errOnce.Do(func() { first = err })
					t.markPending(jobs[i].roomID)
				}
			}
		}()
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		level.Warn(t.logger).Log("msg", "Some rooms could not be refreshed; they keep their last values and are read first next time",
			"phase", name, "rooms", n, "of", len(jobs), "err", first)
	}
	return Phase{Name: name, Success: failed.Load() == 0, Duration: time.Since(start)}
}

var errRateLimitedEarlier = errors.New("not attempted: Webex rate-limited an earlier call of this refresh")

func (t *Tracker) markPending(roomID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if st := t.rooms[roomID]; st != nil {
		st.pending = true
	}
}

// readRoom reads what a job's room needs: first the rest of an interrupted
// read, then the messages since the newest known. Whatever a read got
// before an error is kept, and the rest becomes the room's gap.
func (t *Tracker) readRoom(ctx context.Context, j job, now time.Time) error {
	if j.gap != nil {
		msgs, err := t.src.Messages(ctx, *j.gap)
		if webex.IsNotFound(err) {
			// The message the gap starts below was deleted (Webex answers
			// 404 to beforeMessage then): the gap cannot be read, so the
			// counts miss it. If the room itself is gone, the top read
			// fails too and the next listing drops the room.
			level.Warn(t.logger).Log("msg", "Giving up on messages an interrupted read did not reach", "room_id", j.roomID, "err", err)
			msgs, err = nil, nil
		}
		t.apply(j.roomID, j.lastActivity, *j.gap, msgs, err, true, now)
		if err != nil {
			return err
		}
	}
	if j.top != nil {
		msgs, err := t.src.Messages(ctx, *j.top)
		t.apply(j.roomID, j.lastActivity, *j.top, msgs, err, false, now)
		if err != nil {
			return err
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if st := t.rooms[j.roomID]; st != nil {
		st.read, st.readActivity, st.refreshed, st.pending = true, j.lastActivity, now, false
	}
	return nil
}

// apply records what one read of q got. A read that failed after some
// pages leaves a gap below its oldest message; a gap read narrows it, or
// closes it when complete.
func (t *Tracker) apply(roomID string, lastActivity time.Time, q webex.MessagesQuery, msgs []webex.Message, err error, isGap bool, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.rooms[roomID]
	if st == nil {
		return
	}
	t.ingestLocked(st, msgs, isGap, now)
	switch {
	case err == nil && isGap:
		st.gap = nil
	case err == nil || len(msgs) == 0:
	case isGap:
		st.gap.beforeID = msgs[len(msgs)-1].ID
	default:
		// The newest messages are in, so the room counts as read up to
		// its current lastActivity; the rest waits as the gap.
		st.gap = &gap{beforeID: msgs[len(msgs)-1].ID, stopAtID: q.StopAtID, since: q.Since}
		st.read, st.readActivity = true, lastActivity
	}
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// setMembers records a successful membership read.
func (t *Tracker) setMembers(j job, n int, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if st := t.rooms[j.roomID]; st != nil {
		st.members, st.membersAt, st.membersActivity = n, now, j.lastActivity
	}
}
