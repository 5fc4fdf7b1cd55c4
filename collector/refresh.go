package collector

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log/level"
	"golang.org/x/sync/errgroup"

	"github.com/webex-exporter/webex_exporter/webex"
)

// A refresh, for either scope: the account is made sure of and the rooms
// listed (one listing for both scopes), then the scope's feeds run in
// order, each phase's jobs with bounded concurrency, and the refresh ends
// with a snapshot and, when due, the state file. Which feeds run, and in
// what order, is decided here and nowhere else.

// refresh runs one refresh on ctx (the flight's context, flight.go).
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
		phases := t.unrunPhases()
		phases[0] = roomsPhase
		return t.snapshotLocked(now, false, phases)
	}
	if t.org != nil {
		return t.refreshOrg(ctx, rooms, roomsPhase, now)
	}
	return t.refreshMember(ctx, rooms, roomsPhase, now)
}

// refreshMember is the rest of a refresh of ScopeMember, once the rooms are
// listed: the poll feed plans reads of the rooms that moved (poll.go), the
// push feed's webhook is checked (push.go), the reads run, then members.
func (t *Tracker) refreshMember(ctx context.Context, rooms []webex.Room, roomsPhase Phase, now time.Time) *Snapshot {
	msgJobs, memberJobs, unexplained := t.plan(rooms, now)
	if t.push != nil {
		t.push.maintain(ctx, now, unexplained)
	}
	phases := []Phase{roomsPhase, t.runPhase(ctx, "messages", msgJobs, func(ctx context.Context, j job) error {
		return t.readRoom(ctx, j, now)
	}, t.markPending)}
	if t.members {
		phases = append(phases, t.membersPhase(ctx, memberJobs, now))
	}
	return t.finish(now, true, phases)
}

// membersPhase reads the members of the rooms in jobs. A failed read
// leaves the member count as it was; it does not make the room pending,
// which is about messages.
func (t *Tracker) membersPhase(ctx context.Context, jobs []job, now time.Time) Phase {
	return t.runPhase(ctx, "memberships", jobs, func(ctx context.Context, j job) error {
		ms, err := t.src.Memberships(ctx, j.roomID)
		if err == nil {
			t.setMembers(j, len(ms), now)
		}
		return err
	}, nil)
}

// finish ends a refresh whose rooms were listed: up as the feeds say, the
// senders no history holds forgotten, the snapshot taken, the state file
// written when due.
func (t *Tracker) finish(now time.Time, up bool, phases []Phase) *Snapshot {
	t.mu.Lock()
	t.up = up
	t.pruneSendersLocked()
	snap := t.snapshotLocked(now, up, phases)
	t.mu.Unlock()
	t.saveIfDue(now)
	return snap
}

// listRooms makes sure the account is known and lists the rooms. A refused
// token fails here, once, for the whole refresh.
func (t *Tracker) listRooms(ctx context.Context) ([]webex.Room, error) {
	if err := t.ensureAccount(ctx); err != nil {
		return nil, err
	}
	rooms, err := t.src.Rooms(ctx, t.filter.query())
	if err != nil {
		if webex.IsUnauthorized(err) {
			t.forgetAccount() // the token may now be another account's
		}
		return nil, err
	}
	// The listing may have been the first call with a new token.
	if err := t.ensureAccount(ctx); err != nil {
		return nil, err
	}
	return rooms, nil
}

// refreshOrg is the rest of a refresh of ScopeOrg, once the account's
// rooms are listed.
func (t *Tracker) refreshOrg(ctx context.Context, rooms []webex.Room, roomsPhase Phase, now time.Time) *Snapshot {
	memberJobs := t.mergeListing(rooms, now)
	eventsPhase, answered := t.readEvents(ctx, now)
	phases := []Phase{roomsPhase, eventsPhase,
		t.runPhase(ctx, "descriptions", t.describeJobs(now), func(ctx context.Context, j job) error {
			return t.describe(ctx, j.roomID, now)
		}, nil)}
	if t.members {
		phases = append(phases, t.membersPhase(ctx, memberJobs, now))
	}
	// Up only when Webex answered the events read: a token without the
	// compliance role must not look like a working exporter.
	return t.finish(now, answered, phases)
}

// runPhase runs do for each job with bounded concurrency until the jobs are
// done, ctx ends, or Webex rate-limits the account; failed is called for a
// job that failed or was not run (nil: nothing to record). Failures are
// logged once, together.
func (t *Tracker) runPhase(ctx context.Context, name string, jobs []job, do func(context.Context, job) error, failed func(job)) Phase {
	start := time.Now()
	var (
		stop    atomic.Bool // Webex rate-limited a call: the rest is not attempted
		mu      sync.Mutex  // guards the two below
		nFailed int
		first   error
	)
	var g errgroup.Group // no WithContext: one room's failure stops no other
	g.SetLimit(t.workers)
	for _, j := range jobs {
		g.Go(func() error {
			err := ctx.Err()
			if err == nil && stop.Load() {
				err = errRateLimitedEarlier
			}
			if err == nil {
				err = do(ctx, j)
			}
			if err == nil {
				return nil
			}
			if isRateLimit(err) {
				stop.Store(true)
			}
			mu.Lock()
			if nFailed++; first == nil {
				first = err
			}
			mu.Unlock()
			if failed != nil {
				failed(j)
			}
			return nil
		})
	}
	g.Wait() //nolint:errcheck // every Go func returns nil; failures are counted above
	if nFailed > 0 {
		level.Warn(t.logger).Log("msg", "Some rooms could not be refreshed; they keep their last values and are read first next time",
			"phase", name, "rooms", nFailed, "of", len(jobs), "err", first)
	}
	return Phase{Name: name, Success: nFailed == 0, Duration: time.Since(start)}
}

var errRateLimitedEarlier = errors.New("not attempted: Webex rate-limited an earlier call of this refresh")

func isRateLimit(err error) bool {
	var rl *webex.RateLimitError
	return errors.As(err, &rl)
}
