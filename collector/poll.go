package collector

import (
	"context"
	"errors"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/webex-exporter/webex_exporter/collector/state"
	"github.com/webex-exporter/webex_exporter/webex"
)

// The poll feed (ScopeMember): from the listing, the state plans the reads
// of rooms whose lastActivity moved (or that have messages no read has
// reached yet); the feed makes them and reports what each got. Its cursor
// is in the rooms' state (what each read covered): the feed holds nothing.

// pollFeed is the poll feed.
type pollFeed struct {
	src     Source
	state   *state.State
	logger  log.Logger
	workers int
}

func (*pollFeed) phases() []string { return []string{"messages"} }

func (f *pollFeed) run(ctx context.Context, r *pass) []Phase {
	f.state.Listed(r.rooms, r.now)
	r.rooms = nil // merged: the reads need not keep the listing alive
	reads, unexplained := f.state.Plan(r.now, r.bot)
	r.unexplained = unexplained
	return []Phase{runPhase(ctx, f.workers, f.logger, "messages", reads, func(ctx context.Context, j state.Read) error {
		return f.read(ctx, j, r.now)
	}, func(j state.Read) { f.state.Pending(j.RoomID) })}
}

// Source is what the tracker reads from Webex (a *webex.Client).
type Source interface {
	Me(ctx context.Context) (webex.Person, error)
	Rooms(ctx context.Context, q webex.RoomsQuery) ([]webex.Room, error)
	Messages(ctx context.Context, q webex.MessagesQuery) ([]webex.Message, error)
	Memberships(ctx context.Context, roomID string) ([]webex.Membership, error)
}

// read reads what a room needs: first its gaps, then the messages since
// the newest known. A gap that fails does not hold back the newest
// messages; the deadline or a rate limit stops the room's reads.
// Whatever a read got before an error is kept.
func (f *pollFeed) read(ctx context.Context, j state.Read, now time.Time) error {
	var gapErr error
	for _, g := range j.Gaps {
		msgs, err := f.src.Messages(ctx, g.Query)
		res := f.state.GapRead(j.RoomID, g.Gap, g.Query, msgs, readOutcome(ctx, err), now)
		if res.Next != nil { // the cursor was refused: on by time
			level.Debug(f.logger).Log("msg", "Webex refused the read's cursor (the message was deleted); reading on by time", "room_id", j.RoomID)
			msgs, err = f.src.Messages(ctx, *res.Next)
			res = f.state.GapRead(j.RoomID, g.Gap, *res.Next, msgs, readOutcome(ctx, err), now)
		}
		if res.GaveUp {
			level.Warn(f.logger).Log("msg", "Giving up on messages an interrupted read did not reach, after repeated failures; the windows they lie in are not exported until they leave them", "room_id", j.RoomID, "failures", res.Failures, "err", err)
			continue
		}
		if err != nil {
			if ctx.Err() != nil || isRateLimit(err) {
				return err
			}
			gapErr = errors.Join(gapErr, err)
		}
	}
	if j.Top != nil {
		msgs, err := f.src.Messages(ctx, *j.Top)
		if f.state.TopRead(j, msgs, readOutcome(ctx, err), now) {
			level.Warn(f.logger).Log("msg", "Too many interrupted reads; giving up on the oldest", "room_id", j.RoomID)
		}
		if err != nil {
			return err
		}
	}
	if gapErr != nil {
		return gapErr
	}
	f.state.Refreshed(j.RoomID, now)
	return nil
}

// readOutcome is how a read that returned err ended, for the state.
func readOutcome(ctx context.Context, err error) state.Outcome {
	var ce *webex.CursorError
	switch {
	case err == nil:
		return state.Done
	case ctx.Err() != nil || isRateLimit(err):
		return state.Interrupted
	case errors.As(err, &ce):
		return state.CursorRefused
	}
	return state.Failed
}
