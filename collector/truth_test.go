package collector

// Values are true or absent: each test makes the fake behave as Webex does
// in the field and checks what the exporter shows against ground truth.

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-kit/log"

	"github.com/webex-exporter/webex_exporter/webex"
	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// messageCalls counts the /messages calls for one room in the request log.
func messageCalls(srv *webextest.Server, roomID string) int {
	n := 0
	for _, r := range srv.RequestLog() {
		if r.Endpoint == "messages" && strings.Contains(r.RawQuery, "roomId="+url.QueryEscape(roomID)) {
			n++
		}
	}
	return n
}

// warmEnv is an exporter that has read a small organisation once, at t0.
func warmEnv(t *testing.T, seed uint64, cfg Config) (*env, map[string][]webextest.Message, *webextest.Org) {
	t.Helper()
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: int64(seed), Rooms: 10, Now: t0, ActiveFraction: 1})
	e := newMemEnv(t, org, cfg)
	seen := coldSeen(e.srv, t0.Add(-24*time.Hour))
	compare(t, e.scrape(t, 10*time.Second), expected(t0, e.windows, truth(e.srv, seen, nil)))
	return e, seen, org
}

// TestUnreadRoomIsAbsent: a room whose first read was cut short (here a
// 429) has no message metrics at all, not zeros; once read it has them,
// and its counter starts at 0 (its history is backlog).
func TestUnreadRoomIsAbsent(t *testing.T) {
	synctest.Test(t, testUnreadRoomIsAbsent) // the client's back-off after a 503 on the bubble's clock
}

func testUnreadRoomIsAbsent(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 21, Rooms: 5, Now: t0, ActiveFraction: 1})
	e := newMemEnv(t, org, Config{Concurrency: 1})
	victim := e.srv.Rooms()[0].ID
	e.srv.InjectFault(webextest.Fault{Endpoint: "messages", RoomID: victim, Status: 503, Times: 10})
	got := e.scrape(t, 10*time.Second)
	for _, k := range []string{
		key("webex_room_messages_total", "room_id", victim),
		key("webex_room_last_message_timestamp_seconds", "room_id", victim),
		key("webex_room_recent_messages", "room_id", victim, "window", "1h"),
		key("webex_room_recent_senders", "room_id", victim, "window", "24h"),
	} {
		if v, ok := got[k]; ok {
			t.Errorf("%s = %v for a room never read; want absent", k, v)
		}
	}
	if _, ok := got[key("webex_room_last_activity_timestamp_seconds", "room_id", victim)]; !ok {
		t.Errorf("the unread room's listing metrics are missing")
	}
	if got[key("webex_rooms_pending")] != 1 {
		t.Errorf("pending = %v; want 1", got[key("webex_rooms_pending")])
	}
	e.srv.ClearFaults()
	e.clock.Add(time.Minute)
	got = e.scrape(t, 10*time.Second)
	if v, ok := got[key("webex_room_messages_total", "room_id", victim)]; !ok || v != 0 {
		t.Errorf("counter after the first read = %v (present %v); want 0: the history found is not counted", v, ok)
	}
	if want := len(coldSeen(e.srv, e.clock.Now().Add(-24*time.Hour))[victim]); got[key("webex_room_recent_messages", "room_id", victim, "window", "24h")] != float64(want) {
		t.Errorf("24h window after the first read = %v; want %d", got[key("webex_room_recent_messages", "room_id", victim, "window", "24h")], want)
	}
}

// TestFailingGapDoesNotBlockNewest (defect 3): a gap whose reads keep
// failing (not 404) does not hold back the room's newest messages, and is
// given up, with a log line, after a bounded number of tries.
func TestFailingGapDoesNotBlockNewest(t *testing.T) {
	var logs bytes.Buffer
	e, seen, org := warmEnv(t, 31, Config{Logger: log.NewLogfmtLogger(&logs)})
	busy := e.srv.Rooms()[0]
	now := e.clock.Add(10 * time.Minute)
	for i := range 300 {
		seen[busy.ID] = append(seen[busy.ID], e.srv.PostMessage(busy.ID, org.People[i%5].ID, now.Add(-10*time.Minute+time.Duration(i)*time.Second)))
	}
	e.srv.InjectFault(webextest.Fault{Endpoint: "messages", RoomID: busy.ID, LinkLoop: true, Times: 1})
	e.scrape(t, 10*time.Second) // the newest page read; a gap below it
	// From now on, every read of the gap fails with a 500.
	e.srv.InjectFault(webextest.Fault{Endpoint: "messages", RoomID: busy.ID, Param: "beforeMessage", Status: 500})
	for i := range maxGapFailures {
		now = e.clock.Add(time.Minute)
		m := e.srv.PostMessage(busy.ID, org.People[0].ID, now.Add(-time.Second))
		got := e.scrape(t, 10*time.Second)
		if lm := got[key("webex_room_last_message_timestamp_seconds", "room_id", busy.ID)]; lm != unixSec(m.Created) {
			t.Fatalf("scrape %d with a failing gap: last message %v, want the new one at %v", i, lm, unixSec(m.Created))
		}
		wantPending := 1.0
		if i == maxGapFailures-1 {
			wantPending = 0
		}
		if got[key("webex_rooms_pending")] != wantPending {
			t.Errorf("scrape %d: pending %v, want %v", i, got[key("webex_rooms_pending")], wantPending)
		}
	}
	if !strings.Contains(logs.String(), "Giving up on messages an interrupted read did not reach, after repeated failures") {
		t.Errorf("no log line on giving up the gap:\n%s", logs.String())
	}
	e.srv.ResetRequests()
	e.clock.Add(time.Minute)
	e.scrape(t, 10*time.Second)
	if n := messageCalls(e.srv, busy.ID); n != 0 {
		t.Errorf("%d reads of the given-up gap; want 0", n)
	}
}

// TestGapStopMessageDeleted (defect 4): when the message a gap stops at is
// deleted, the gap read stops at its time anyway: nothing counts twice.
func TestGapStopMessageDeleted(t *testing.T) {
	e, seen, org := warmEnv(t, 32, Config{})
	busy := e.srv.Rooms()[0]
	msgs := e.srv.Messages(busy.ID)
	stop := msgs[len(msgs)-1] // the newest known: where the next read stops
	now := e.clock.Add(10 * time.Minute)
	for i := range 300 {
		seen[busy.ID] = append(seen[busy.ID], e.srv.PostMessage(busy.ID, org.People[i%5].ID, now.Add(-10*time.Minute+time.Duration(i)*time.Second)))
	}
	e.srv.InjectFault(webextest.Fault{Endpoint: "messages", RoomID: busy.ID, LinkLoop: true, Times: 1})
	e.scrape(t, 10*time.Second) // a gap down to stop
	if !e.srv.DeleteMessage(busy.ID, stop.ID) {
		t.Fatal("no message to delete")
	}
	now = e.clock.Add(time.Minute)
	got := e.scrape(t, 10*time.Second)
	compare(t, got, expected(now, e.windows, truth(e.srv, seen, nil)))
}

// TestFutureMessageDoesNotFreezeRoom (defect 5): a message dated ahead of
// the clock is counted, but later real messages are still read.
func TestFutureMessageDoesNotFreezeRoom(t *testing.T) {
	e, seen, org := warmEnv(t, 33, Config{})
	room := e.srv.Rooms()[0]
	now := e.clock.Add(5 * time.Minute)
	seen[room.ID] = append(seen[room.ID], e.srv.PostMessage(room.ID, org.People[0].ID, now.Add(2*time.Hour)))
	e.scrape(t, 10*time.Second)
	for i := range 3 {
		now = e.clock.Add(5 * time.Minute)
		seen[room.ID] = append(seen[room.ID], e.srv.PostMessage(room.ID, org.People[1].ID, now.Add(-time.Minute)))
		got := e.scrape(t, 10*time.Second)
		if v := got[key("webex_room_messages_total", "room_id", room.ID)]; v != float64(2+i) {
			t.Fatalf("after %d real messages following a future-dated one, the counter is %v, want %d", i+1, v, 2+i)
		}
	}
}

// readThenDeleteNewest reads a room of 400 messages in full, then deletes
// its newest message at the fake.
func readThenDeleteNewest(t *testing.T) (*env, *webextest.Org, webextest.Room) {
	t.Helper()
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 34, Rooms: 3, Now: t0})
	e := newEnv(t, org, Config{})
	room := e.srv.Rooms()[0]
	for i := range 400 {
		e.srv.PostMessage(room.ID, org.People[i%3].ID, t0.Add(-20*time.Hour+time.Duration(i)*time.Minute))
	}
	e.scrape(t, 10*time.Second)
	msgs := e.srv.Messages(room.ID)
	e.srv.DeleteMessage(room.ID, msgs[len(msgs)-1].ID) // the newest known
	return e, org, room
}

// TestDeletedNewestMessageCostsNoPaging (defect 6): after the newest known
// message is deleted, a read stops at the first older message instead of
// paging through the whole window.
func TestDeletedNewestMessageCostsNoPaging(t *testing.T) {
	e, org, room := readThenDeleteNewest(t)
	now := e.clock.Add(5 * time.Minute)
	e.srv.PostMessage(room.ID, org.People[0].ID, now.Add(-time.Minute))
	e.srv.ResetRequests()
	got := e.scrape(t, 10*time.Second)
	if n := messageCalls(e.srv, room.ID); n != 1 {
		t.Errorf("%d /messages calls to read one new message after the newest known was deleted; want 1", n)
	}
	if v := got[key("webex_room_messages_total", "room_id", room.ID)]; v != 1 {
		t.Errorf("counter %v; want 1", v)
	}
}

// TestKMSFailureTitleAndFilters (defect 7): when a title stops decrypting,
// the filters see the last good title: an included room stays (with its
// counter), an excluded one stays out and is not read.
func TestKMSFailureTitleAndFilters(t *testing.T) {
	f, err := NewFilter(nil, nil, nil, "", "Secret.*")
	if err != nil {
		t.Fatal(err)
	}
	f2, err := NewFilter(nil, nil, nil, "Ops.*", "")
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		filter Filter
		title  string
		kept   bool
	}{
		"included": {f2, "Ops escalations", true},
		"excluded": {f, "Secret plans", false},
	} {
		t.Run(name, func(t *testing.T) {
			org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 35, Rooms: 4, Now: t0, ActiveFraction: 1})
			org.Rooms[0].Title = c.title
			e := newEnv(t, org, Config{Filter: c.filter})
			room := e.srv.Rooms()[0]
			for _, r := range e.srv.Rooms() {
				if r.ID == room.ID || !c.kept {
					continue
				}
				r.Title = "Ops other " + r.ID[len(r.ID)-4:] // keep the included case's other rooms
				e.srv.AddRoom(r)
			}
			e.scrape(t, 10*time.Second)
			now := e.clock.Add(5 * time.Minute)
			e.srv.PostMessage(room.ID, org.People[0].ID, now.Add(-time.Minute))
			e.scrape(t, 10*time.Second)

			room.KMSFailure = true
			e.srv.AddRoom(room)
			e.srv.PostMessage(room.ID, org.People[0].ID, e.clock.Add(5*time.Minute).Add(-time.Second))
			e.srv.ResetRequests()
			got := e.scrape(t, 10*time.Second)
			total, present := got[key("webex_room_messages_total", "room_id", room.ID)]
			if present != c.kept {
				t.Fatalf("room %q present = %v after its title failed to decrypt; want %v", c.title, present, c.kept)
			}
			if c.kept && total != 2 {
				t.Errorf("counter %v; want 2 (kept across the kms_failure)", total)
			}
			if n := messageCalls(e.srv, room.ID); (n > 0) != c.kept {
				t.Errorf("%d reads of the room; want reads only if kept", n)
			}
			if c.kept && got[key("webex_room_info", "is_locked", "false", "room_id", room.ID, "room_type", room.Type, "team_id", room.TeamID, "title", c.title)] != 1 {
				t.Errorf("the last good title is not shown")
			}
		})
	}
}

// TestRoomMissingFromOneListing (defect 9): a room left out of one listing
// (pages shifted while they were read) is not exported for that scrape but
// keeps its state: when it comes back it is not read again from scratch and
// its counter continues.
func TestRoomMissingFromOneListing(t *testing.T) {
	e, seen, org := warmEnv(t, 36, Config{})
	room := e.srv.Rooms()[0]
	now := e.clock.Add(5 * time.Minute)
	seen[room.ID] = append(seen[room.ID], e.srv.PostMessage(room.ID, org.People[0].ID, now.Add(-time.Minute)))
	e.scrape(t, 10*time.Second)

	e.srv.InjectFault(webextest.Fault{Endpoint: "rooms", OmitItem: room.ID, Times: 1})
	e.clock.Add(time.Minute)
	got := e.scrape(t, 10*time.Second)
	if _, ok := got[key("webex_room_last_activity_timestamp_seconds", "room_id", room.ID)]; ok {
		t.Errorf("a room missing from the listing is still exported")
	}
	now = e.clock.Add(time.Minute)
	e.srv.ResetRequests()
	got = e.scrape(t, 10*time.Second)
	compare(t, got, expected(now, e.windows, truth(e.srv, seen, nil)))
	if n := messageCalls(e.srv, room.ID); n != 0 {
		t.Errorf("%d reads of the room that came back unchanged; want 0", n)
	}

	// Missing from more than maxAbsent listings: it leaves.
	for range maxAbsent + 1 {
		e.srv.InjectFault(webextest.Fault{Endpoint: "rooms", OmitItem: room.ID, Times: 1})
		e.clock.Add(time.Minute)
		e.scrape(t, 10*time.Second)
	}
	if n, _, _, _ := e.tracker.state.Size(); n != len(e.srv.Rooms())-1 {
		t.Errorf("state holds %d rooms; want the room dropped after %d absent listings", n, maxAbsent+1)
	}
}

// TestMembershipFailureNotPending: a token without spark:memberships_read
// (403 on every membership read) does not keep rooms pending.
func TestMembershipFailureNotPending(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 37, Rooms: 10, Now: t0})
	e := newEnv(t, org, Config{Memberships: true})
	e.srv.InjectFault(webextest.Fault{Endpoint: "memberships", Status: 403})
	for range 2 {
		got := e.scrape(t, 10*time.Second)
		if got[key("webex_rooms_pending")] != 0 || got[key("webex_scrape_collector_success", "collector", "memberships")] != 0 {
			t.Fatalf("pending %v, memberships success %v; want 0 and 0", got[key("webex_rooms_pending")], got[key("webex_scrape_collector_success", "collector", "memberships")])
		}
		e.clock.Add(time.Minute)
	}
}

// TestTokenSwapRelearnsAccount (defect 8): a token file swapped for another
// account's token (a bot's) makes the exporter ask /people/me again at the
// next refresh, so it follows the bot's rules (no 403 on group rooms), and
// the person's state is not mixed with the bot's.
func TestTokenSwapRelearnsAccount(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 38, Rooms: 40, Now: t0, ActiveFraction: 1})
	srv := webextest.NewServer(org, webextest.WithToken("person-token"))
	t.Cleanup(srv.Close)
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("person-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tokens, err := webex.NewFileToken(path)
	if err != nil {
		t.Fatal(err)
	}
	client, err := webex.New(webex.Options{BaseURL: srv.URL, Token: tokens})
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: t0}
	windows, _ := ParseWindows("1h,24h")
	var logs bytes.Buffer
	tr := NewTracker(client, Config{Windows: windows, Now: clk.Now, Logger: log.NewLogfmtLogger(&logs)})
	e := &env{srv: srv, client: client, tracker: tr, clock: clk, windows: windows}
	e.scrape(t, 10*time.Second)
	if !strings.Contains(logs.String(), "type=person") {
		t.Fatalf("the person account was not learned:\n%s", logs.String())
	}

	bot := org.Me
	bot.ID, bot.Type, bot.DisplayName = webextest.MakeID("PEOPLE", 4242), "bot", "Bot"
	srv.SetMe(bot)
	srv.SetToken("bot-token-00")
	if err := os.WriteFile(path, []byte("bot-token-00\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Minute)
	srv.ResetRequests()
	got := e.scrape(t, 10*time.Second)
	if got[key("webex_up")] != 1 {
		t.Fatalf("webex_up %v after the token swap", got[key("webex_up")])
	}
	if n := srv.Requests()["people/me"]; n != 1 {
		t.Errorf("%d /people/me calls after the token changed; want 1", n)
	}
	if !strings.Contains(logs.String(), "type=bot") {
		t.Errorf("the bot account was not learned:\n%s", logs.String())
	}
	for _, r := range srv.RequestLog() {
		if r.Status == 403 {
			t.Errorf("a call was refused with 403 (the person's rules with a bot's token): %s?%s", r.Path, r.RawQuery)
		}
	}
}

// TestDeletedNewestMessageNoNewOneCostsNoPaging (issue 16, defect 5): the
// newest known message is deleted and no new message comes, but the room's
// lastActivity keeps moving (members, edits): every read stops by time at
// the deleted message's creation, one call each, not a page of the whole
// window each time until a new message is read.
func TestDeletedNewestMessageNoNewOneCostsNoPaging(t *testing.T) {
	e, _, room := readThenDeleteNewest(t)
	for i := range 3 {
		now := e.clock.Add(5 * time.Minute)
		e.srv.MoveActivity(room.ID, now.Add(-time.Minute))
		e.srv.ResetRequests()
		got := e.scrape(t, 10*time.Second)
		if n := messageCalls(e.srv, room.ID); n != 1 {
			t.Errorf("move %d after the newest known message was deleted: %d /messages calls; want 1", i, n)
		}
		if v := got[key("webex_room_messages_total", "room_id", room.ID)]; v != 0 {
			t.Errorf("move %d: counter %v; want 0 (no message was created)", i, v)
		}
	}
}
