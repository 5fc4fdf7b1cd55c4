package collector

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
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
		t.up = false
		phases := t.unrunPhases()
		t.mu.Unlock()
		phases[0] = roomsPhase
		return t.snapshot(now, false, phases)
	}
	run := &pass{now: now, up: true}
	run.rooms = rooms
	phases := []Phase{roomsPhase}
	t.mu.Lock()
	feeds := t.feeds
	run.bot = t.account != nil && t.account.IsBot()
	t.mu.Unlock()
	for _, f := range feeds {
		phases = append(phases, f.run(ctx, run)...)
	}
	return t.finish(now, run.up, phases)
}

// A feed is one way of learning what happened: it makes the API calls it
// needs, keeps its own cursor, and reports facts into the state. After the
// listing, a refresh runs the feeds chosen in NewTracker (and NewPush), in
// order: adding a feed is its file and one line there.
type feed interface {
	// phases names the phases run reports, for a scrape that could not wait.
	phases() []string
	// run is the feed's part of a refresh; it returns the phases it ran.
	run(ctx context.Context, r *pass) []Phase
}

// pass is one refresh as the feeds see it.
type pass struct {
	now time.Time
	bot bool // the account is a bot
	// rooms: the listing, until the scope's first feed has merged it into
	// the state (then nil: at 10,000 rooms it is megabytes the reads need
	// not keep alive).
	rooms []webex.Room
	// up: the refresh shows webex_up 1 (a feed whose source refused clears it).
	up bool
	// unexplained: a watched room moved with no known message to explain
	// it (reported by the poll feed; the push feed then checks its webhook).
	unexplained bool
}

// finish ends a refresh whose rooms were listed: up as the feeds say, the
// senders no history holds forgotten, the snapshot taken, the state file
// written when due.
func (t *Tracker) finish(now time.Time, up bool, phases []Phase) *Snapshot {
	t.mu.Lock()
	t.up = up
	t.mu.Unlock()
	t.state.PruneSenders()
	snap := t.snapshot(now, up, phases)
	t.saveIfDue(now)
	return snap
}

// listRooms makes sure the account is known and lists the rooms. A refused
// token fails here, once, for the whole refresh.
func (t *Tracker) listRooms(ctx context.Context) ([]webex.Room, error) {
	if err := t.ensureAccount(ctx); err != nil {
		return nil, err
	}
	rooms, err := t.src.Rooms(ctx, roomsQuery(t.filter))
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

// runPhase runs do for each job with at most workers at once until the
// jobs are done, ctx ends, or Webex rate-limits the account; failed is
// called for a job that failed or was not run (nil: nothing to record).
// Failures are logged once, together.
func runPhase[J any](ctx context.Context, workers int, logger log.Logger, name string, jobs []J, do func(context.Context, J) error, failed func(J)) Phase {
	start := time.Now()
	var (
		stop    atomic.Bool // Webex rate-limited a call: the rest is not attempted
		mu      sync.Mutex  // guards the two below
		nFailed int
		first   error
	)
	var g errgroup.Group // no WithContext: one room's failure stops no other
	g.SetLimit(workers)
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
		level.Warn(logger).Log("msg", "Some rooms could not be refreshed; they keep their last values and are read first next time",
			"phase", name, "rooms", nFailed, "of", len(jobs), "err", first)
	}
	return Phase{Name: name, Success: nFailed == 0, Duration: time.Since(start)}
}

// roomsQuery is the listing request: with one room type or one team, Webex
// filters on its side and the listing takes fewer pages.
func roomsQuery(f Filter) webex.RoomsQuery {
	var q webex.RoomsQuery
	if len(f.Types) == 1 {
		q.Type = f.Types[0]
	}
	if len(f.TeamIDs) == 1 {
		q.TeamID = f.TeamIDs[0]
	}
	return q
}

var errRateLimitedEarlier = errors.New("not attempted: Webex rate-limited an earlier call of this refresh")

func isRateLimit(err error) bool {
	var rl *webex.RateLimitError
	return errors.As(err, &rl)
}
