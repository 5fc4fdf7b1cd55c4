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
	p.waitDeliveries(t, 2) // the lost one counts among them
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

// TestGapCursorDeletedReadsOnByTime (defect 2): the message an interrupted
// cold read stopped at is deleted, so Webex answers 404 to the gap's
// beforeMessage cursor: the read goes on below that message's creation
// time, and the windows come out true, not short; while a span no read
// has covered lies in a window, that window is absent for the room.
func TestGapCursorDeletedReadsOnByTime(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 64, Rooms: 4, Now: t0})
	e := newEnv(t, org, Config{})
	busy := e.srv.Rooms()[0]
	for i := range 249 {
		e.srv.PostMessage(busy.ID, org.People[i%4].ID, t0.Add(-50*time.Minute+time.Duration(i)*10*time.Second))
	}
	// The first page's next link loops: the cold read stops after 100
	// messages, and a gap remains below them.
	e.srv.InjectFault(webextest.Fault{Endpoint: "messages", RoomID: busy.ID, LinkLoop: true, Times: 1})
	got := e.scrape(t, 10*time.Second)
	w1h := key("webex_room_recent_messages", "room_id", busy.ID, "window", "1h")
	if v, ok := got[w1h]; ok {
		t.Errorf("%s = %v while a gap lies in the window; want it absent", w1h, v)
	}
	seen := coldSeen(e.srv, t0.Add(-24*time.Hour)) // the deleted message was read before it was deleted
	msgs := e.srv.Messages(busy.ID)
	cursor := msgs[len(msgs)-100] // the oldest message the first page got
	if !e.srv.DeleteMessage(busy.ID, cursor.ID) {
		t.Fatal("no message to delete")
	}
	now := e.clock.Add(time.Minute)
	got = e.scrape(t, 10*time.Second)
	compare(t, got, expected(now, e.windows, truth(e.srv, seen, nil)))
	if got[w1h] != 249 {
		t.Errorf("%s = %v; want 249", w1h, got[w1h])
	}
}

// TestGapGivenUpLeavesWindowsAbsent (defect 2): a gap whose reads keep
// failing is given up; the windows it lies in are absent for the room
// (not short) until it leaves them, while the room's other values stay.
func TestGapGivenUpLeavesWindowsAbsent(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 65, Rooms: 4, Now: t0})
	e := newEnv(t, org, Config{})
	e.scrape(t, 10*time.Second)
	busy := e.srv.Rooms()[0]
	now := e.clock.Add(10 * time.Minute)
	for i := range 300 {
		e.srv.PostMessage(busy.ID, org.People[i%4].ID, now.Add(-5*time.Hour+time.Duration(i)*time.Minute))
	}
	e.srv.InjectFault(webextest.Fault{Endpoint: "messages", RoomID: busy.ID, LinkLoop: true, Times: 1})
	e.scrape(t, 10*time.Second) // the newest page, a gap below it
	e.srv.InjectFault(webextest.Fault{Endpoint: "messages", RoomID: busy.ID, Param: "beforeMessage", Status: 500})
	w1h := key("webex_room_recent_messages", "room_id", busy.ID, "window", "1h")
	w24h := key("webex_room_recent_messages", "room_id", busy.ID, "window", "24h")
	var got map[string]float64
	for range maxGapFailures + 1 {
		now = e.clock.Add(time.Minute)
		got = e.scrape(t, 10*time.Second)
	}
	if got[key("webex_rooms_pending")] != 0 {
		t.Errorf("pending %v after the gap was given up; want 0", got[key("webex_rooms_pending")])
	}
	if v, ok := got[w24h]; ok {
		t.Errorf("%s = %v with a given-up gap in the window; want it absent", w24h, v)
	}
	want := expected(now, e.windows, truth(e.srv, coldSeen(e.srv, t0.Add(-24*time.Hour)), nil))
	if got[w1h] != want[w1h] {
		t.Errorf("%s = %v; want %v (the gap is older than the window)", w1h, got[w1h], want[w1h])
	}
	if _, ok := got[key("webex_room_messages_total", "room_id", busy.ID)]; !ok {
		t.Error("the counter went absent with the gap")
	}
	e.clock.Add(24 * time.Hour) // the gap leaves the 24h window
	got = e.scrape(t, 10*time.Second)

	if _, ok := got[w24h]; !ok {
		t.Errorf("%s absent once the given-up gap left the window", w24h)
	}
}

// TestOrgRestoredFutureClamped (defect 4, events feed): restored with the
// clock stepped back, the events feed's cursor holds times ahead of now:
// since (messages created from then on count) is clamped to now, so new
// messages count at once, and top is forgotten, so the next read starts at
// the window's start rather than at a future time.
func TestOrgRestoredFutureClamped(t *testing.T) {
	now := orgNow()
	path := statePath(t)
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 66, Rooms: 5, OtherRooms: 50, Now: now})
	e := newOrgEnv(t, org, now, Config{StateFile: path}, webextest.WithComplianceOfficer())
	e.orgScrape(t)
	if err := e.tracker.SaveState(); err != nil {
		t.Fatal(err)
	}
	back := e.clock.Add(-3 * time.Hour) // the clock was 3 hours ahead when the file was written
	e2 := e.restart(t, Config{StateFile: path, Scope: ScopeOrg})
	if err := e2.tracker.LearnAccount(context.Background()); err != nil {
		t.Fatal(err)
	}
	f := e2.tracker.org.cursor()
	if f.Since.After(back) || f.Since.IsZero() {
		t.Errorf("restored since %v with the clock at %v; want it clamped to now", f.Since, back)
	}
	if !f.Top.IsZero() {
		t.Errorf("restored top %v with the clock at %v; want it forgotten (the next read starts at the window's start)", f.Top, back)
	}
}
