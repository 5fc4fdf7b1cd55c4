package collector

// The values issue 16 found untrue, where the feeds meet: each test fails
// without its fix.

import (
	"context"
	"strings"
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

// TestRestoredFutureClamped (defect 4): a state file written while the
// clock ran ahead holds a newest message and read times in the future; the
// restarted exporter, its clock right again, clamps them and reads the
// room, so the messages that come next are counted.
func TestRestoredFutureClamped(t *testing.T) {
	path := statePath(t)
	e, seen, org := warmEnv(t, 62, Config{StateFile: path})
	room := e.srv.Rooms()[0]
	ahead := e.clock.Add(3 * time.Hour) // the clock runs ahead
	seen[room.ID] = append(seen[room.ID], e.srv.PostMessage(room.ID, org.People[0].ID, ahead.Add(-time.Minute)))
	e.scrape(t, 10*time.Second)
	if err := e.tracker.SaveState(); err != nil {
		t.Fatal(err)
	}

	e.clock.Add(-3*time.Hour + 10*time.Minute) // set right: t0+10m
	e2 := e.restart(t, Config{StateFile: path})
	now := e2.clock.Add(10 * time.Minute)
	seen[room.ID] = append(seen[room.ID], e.srv.PostMessage(room.ID, org.People[1].ID, now.Add(-5*time.Minute)))
	got := e2.scrape(t, 10*time.Second)
	want := expected(now, e2.windows, truth(e.srv, seen, nil))
	total := key("webex_room_messages_total", "room_id", room.ID)
	if got[total] != want[total] {
		t.Errorf("after a restore from a clock ahead, %s = %v; want %v (the new message counted)", total, got[total], want[total])
	}
	for _, w := range e2.windows {
		k := key("webex_room_recent_messages", "room_id", room.ID, "window", w.Name)
		if got[k] != want[k] {
			t.Errorf("%s = %v; want %v", k, got[k], want[k])
		}
	}
}

// TestPushLostDeliveryBehindALaterOne (defect 1): a delivery is lost and a
// later message of the same room is delivered; the later one explains the
// room's lastActivity, so the scrapes within the reconcile interval make
// no read, but the room is read within it, the lost message counted and
// the pushed one not twice.
func TestPushLostDeliveryBehindALaterOne(t *testing.T) {
	p := newPushEnv(t, Config{})
	p.seen = coldSeen(p.srv, t0.Add(-24*time.Hour))
	p.scrape(t, 10*time.Second)
	now := p.clock.Add(time.Minute)
	room := p.srv.Rooms()[0]
	p.srv.LoseDeliveries(1)
	p.seen[room.ID] = append(p.seen[room.ID], p.srv.PostMessage(room.ID, p.org.People[0].ID, now.Add(-20*time.Second)))
	p.seen[room.ID] = append(p.seen[room.ID], p.srv.PostMessage(room.ID, p.org.People[1].ID, now.Add(-10*time.Second)))
	p.waitDeliveries(t, 1)
	total := key("webex_room_messages_total", "room_id", room.ID)
	p.srv.ResetRequests()
	for range 4 { // scrapes within the interval: the pushed message shows at once, no read
		got := p.scrape(t, 10*time.Second)
		if got[total] != float64(counted(p.seen[room.ID])-1) {
			t.Fatalf("%s = %v before the reconciling read; want %d (the pushed message)", total, got[total], counted(p.seen[room.ID])-1)
		}
		now = p.clock.Add(2 * time.Minute)
	}
	if n := p.srv.Requests()["messages"]; n != 0 {
		t.Errorf("%d /messages calls within the reconcile interval; want 0", n)
	}
	now = p.clock.Add(2 * time.Minute) // 11 minutes after the first move
	got := p.scrape(t, 10*time.Second)
	compare(t, got, expected(now, p.windows, truth(p.srv, p.seen, nil)))
	if n := messageCalls(p.srv, room.ID); n != 1 {
		t.Errorf("%d reads of the room once the reconcile interval passed; want 1", n)
	}
	p.srv.ResetRequests()
	p.clock.Add(time.Minute)
	p.scrape(t, 10*time.Second)
	if n := p.srv.Requests()["messages"]; n != 0 {
		t.Errorf("%d /messages calls after the reconciling read; want 0", n)
	}
}

// TestOrgUndescribedRoomFailsClosed (defect 3): in the org scope, a room
// known only from events whose description Webex refuses (403) has no
// known title or team: with a title or team filter set it is not exported,
// whatever its real title; the rooms described go on being filtered.
func TestOrgUndescribedRoomFailsClosed(t *testing.T) {
	for name, c := range map[string]struct {
		include, exclude string
		team             bool
	}{
		"exclude": {exclude: "(random|HR).*"},
		"include": {include: "Ops.*"},
		"team":    {team: true},
	} {
		t.Run(name, func(t *testing.T) {
			now := orgNow()
			org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 63, Rooms: 5, OtherRooms: 40, Now: now})
			hidden := &org.OtherRooms[0]
			hidden.Title, hidden.Type, hidden.TeamID = "HR private", "group", ""
			var teams []string
			if c.team {
				teams = []string{org.Teams[0].ID}
			}
			f, err := NewFilter(nil, teams, nil, c.include, c.exclude)
			if err != nil {
				t.Fatal(err)
			}
			e := newOrgEnv(t, org, now, Config{Filter: f}, webextest.WithComplianceOfficer())
			e.srv.PostMessage(hidden.ID, org.People[0].ID, now.Add(-time.Minute))
			e.srv.InjectFault(webextest.Fault{Endpoint: "rooms", RoomID: hidden.ID, Status: 403})
			for range 2 {
				got := e.orgScrape(t)
				for k := range got {
					if strings.Contains(k, hidden.ID) {
						t.Errorf("a room Webex would not describe is exported with a title or team filter set: %s", k)
					}
				}
				e.clock.Add(time.Minute)
			}
		})
	}
}
