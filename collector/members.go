package collector

import (
	"context"

	"github.com/go-kit/log"

	"github.com/webex-exporter/webex_exporter/collector/state"
)

// membersFeed reads the member counts of listed rooms (--collector.memberships):
// when a room's lastActivity moved or MembershipsRefresh has passed since
// its members were read (state.MembersDue). A failed read leaves the count
// as it was; it does not make the room pending, which is about messages.
type membersFeed struct {
	src     Source
	state   *state.State
	logger  log.Logger
	workers int
}

func (*membersFeed) phases() []string { return []string{"memberships"} }

func (f *membersFeed) run(ctx context.Context, r *pass) []Phase {
	return []Phase{runPhase(ctx, f.workers, f.logger, "memberships", f.state.MembersDue(r.now), func(ctx context.Context, j state.Due) error {
		ms, err := f.src.Memberships(ctx, j.RoomID)
		if err == nil {
			f.state.Members(j.RoomID, len(ms), j.LastActivity, r.now)
		}
		return err
	}, nil)}
}
