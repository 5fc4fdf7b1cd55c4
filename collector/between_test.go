package collector

// The values issue 16 found untrue, where the feeds meet: each test fails
// without its fix.

import (
	"context"
	"testing"
	"time"

	"github.com/webex-exporter/webex_exporter/webex"
	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// twiceListed is a Source whose listing names its first room twice, as a
// listing whose pages shifted while they were read can.
type twiceListed struct {
	*webex.Client
	id string // the room listed twice
}

func (s twiceListed) Rooms(ctx context.Context, q webex.RoomsQuery) ([]webex.Room, error) {
	rooms, err := s.Client.Rooms(ctx, q)
	for _, r := range rooms {
		if r.ID == s.id {
			rooms = append(rooms, r)
			break
		}
	}
	return rooms, err
}

// TestRoomListedTwiceReadOnce (defect 6): a room listed twice in one
// listing is read once, and shown once.
func TestRoomListedTwiceReadOnce(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 61, Rooms: 5, Now: t0, ActiveFraction: 1})
	e := newEnv(t, org, Config{})
	cfg := Config{Windows: e.windows, Now: e.clock.Now}
	twice := e.srv.Rooms()[0].ID
	e.tracker = NewTracker(twiceListed{e.client, twice}, cfg)
	seen := coldSeen(e.srv, t0.Add(-24*time.Hour))
	got := e.scrape(t, 10*time.Second)
	compare(t, got, expected(t0, e.windows, truth(e.srv, seen, nil)))
	if n := messageCalls(e.srv, twice); n != 1 {
		t.Errorf("%d /messages calls for the room listed twice; want 1", n)
	}
}
