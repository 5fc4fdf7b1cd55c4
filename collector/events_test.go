package collector

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/webex-exporter/webex_exporter/webex"
	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// orgNow is a recent time for organisations the events feed reads: the fake
// checks event retention and `to` against the real clock.
func orgNow() time.Time { return time.Now().UTC().Truncate(time.Minute).Add(-time.Minute) }

// newOrgEnv is newMemEnv in ScopeOrg, with the tracker's clock at the org's Now.
func newOrgEnv(t testing.TB, org *webextest.Org, now time.Time, cfg Config, opts ...webextest.Option) *env {
	t.Helper()
	cfg.Scope = ScopeOrg
	e := newMemEnv(t, org, cfg, opts...)
	e.clock.now = now
	return e
}

// orgScrape scrapes with a generous deadline (a cold org refresh describes
// thousands of rooms).
func (e *env) orgScrape(t testing.TB) map[string]float64 {
	t.Helper()
	return e.scrape(t, time.Minute)
}

// roomWant is what the exporter must show for one room of the organisation.
type roomWant struct {
	messages, senders []int // per window
	total             int
}

// orgTruth computes, from the fake's ground truth, the windows of every
// room of the organisation with a message in the widest window, and how
// many of its messages were created at or after since (counted in total).
func orgTruth(srv *webextest.Server, now time.Time, windows []Window, since time.Time) map[string]roomWant {
	org := srv.Org()
	out := map[string]roomWant{}
	for _, r := range append(org.Rooms, org.OtherRooms...) {
		w := roomWant{messages: make([]int, len(windows)), senders: make([]int, len(windows))}
		active := false
		for i, win := range windows {
			people := map[string]bool{}
			for _, m := range org.Messages[r.ID] {
				if m.Created.After(now.Add(-win.Duration)) && !m.Created.After(now) {
					w.messages[i]++
					people[m.PersonID] = true
					active = true
				}
			}
			w.senders[i] = len(people)
		}
		for _, m := range org.Messages[r.ID] {
			if !m.Created.Before(since) && m.Created.After(now.Add(-widest(windows))) {
				w.total++
			}
		}
		if active {
			out[r.ID] = w
		}
	}
	return out
}

// checkOrg compares a scrape with ground truth for every active room.
func checkOrg(t testing.TB, got map[string]float64, want map[string]roomWant, windows []Window) {
	t.Helper()
	var problems []string
	for id, w := range want {
		for i, win := range windows {
			for _, c := range []struct {
				name string
				want int
			}{{"webex_room_recent_messages", w.messages[i]}, {"webex_room_recent_senders", w.senders[i]}} {
				k := key(c.name, "room_id", id, "window", win.Name)
				if g, ok := got[k]; !ok || g != float64(c.want) {
					problems = append(problems, fmt.Sprintf("%s = %v (present %v), want %d", k, g, ok, c.want))
				}
			}
		}
		k := key("webex_room_messages_total", "room_id", id)
		if g := got[k]; g != float64(w.total) {
			problems = append(problems, fmt.Sprintf("%s = %v, want %d", k, g, w.total))
		}
	}
	if len(problems) > 0 {
		t.Errorf("%d values differ from ground truth, first ones:\n%s", len(problems), strings.Join(problems[:min(len(problems), 10)], "\n"))
	}
}

// people returns the ids of a few people of the organisation (the fake
// serves a copy of org: its people are org's, and Server.Org's deep copy
// of 20,000 rooms costs 75 ms).
func people(org *webextest.Org, n int) []string {
	var ids []string
	for _, p := range org.People[:n] {
		ids = append(ids, p.ID)
	}
	return ids
}

// quietOthers returns up to n rooms of the organisation the account is not
// in and that have no message within d before now.
func quietOthers(srv *webextest.Server, now time.Time, d time.Duration, n int) []string {
	org := srv.Org()
	var ids []string
	for _, r := range org.OtherRooms {
		if len(ids) < n && r.LastActivity.Before(now.Add(-d)) {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// TestOrgGroundTruth: in an organisation of 20,000 rooms where the account
// belongs to 20, every room active in the widest window shows its exact
// 1h and 24h counts and senders; the backfill counts nothing in total;
// messages created later are counted once.
func TestOrgGroundTruth(t *testing.T) {
	t.Parallel() // CPU-bound (20,000 rooms): beside the other organisation-sized test
	now := orgNow()
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 12, Rooms: 20, OtherRooms: 20000, Now: now})
	e := newOrgEnv(t, org, now, Config{Concurrency: 8}, webextest.WithComplianceOfficer())
	got := e.orgScrape(t)
	if got[key("webex_up")] != 1 {
		t.Fatalf("webex_up = %v, want 1", got[key("webex_up")])
	}
	want := orgTruth(e.srv, now, e.windows, now)
	if len(want) < 1000 {
		t.Fatalf("only %d active rooms: the test needs a busy organisation", len(want))
	}
	checkOrg(t, got, want, e.windows)
	// Every member room is exported; other rooms only if active.
	exported := 0
	for k := range got {
		if strings.HasPrefix(k, "webex_room_info{") {
			exported++
		}
	}
	members, others := 0, 0
	for id := range want {
		if r, ok := e.srv.Room(id); ok && slicesContainsRoom(org.Rooms, r.ID) {
			members++
		} else {
			others++
		}
	}
	if wantN := len(org.Rooms) + others; exported != wantN {
		t.Errorf("%d rooms exported, want %d (20 member rooms and %d active others)", exported, wantN, others)
	}
	// Titles: a group room's from its description, a 1:1 room's "Empty Title" is none.
	for _, r := range org.OtherRooms {
		if _, active := want[r.ID]; !active {
			continue
		}
		title := r.Title
		if r.Type == "direct" {
			title = ""
		}
		k := key("webex_room_info", "is_locked", fmt.Sprint(r.IsLocked), "room_id", r.ID, "room_type", r.Type, "team_id", r.TeamID, "title", title)
		if got[k] != 1 {
			t.Errorf("missing %s", k)
			break
		}
	}

	// New messages, in active and quiet rooms, are counted once.
	ppl := people(org, 5)
	now = e.clock.Add(5 * time.Minute)
	rooms := append(quietOthers(e.srv, now, 48*time.Hour, 3), org.OtherRooms[0].ID, org.Rooms[0].ID)
	for i := range 50 {
		e.srv.PostMessage(rooms[i%len(rooms)], ppl[i%len(ppl)], now.Add(-time.Duration(i)*time.Second))
	}
	got = e.orgScrape(t)
	checkOrg(t, got, orgTruth(e.srv, now, e.windows, e.tracker.org.since), e.windows)
	got = e.orgScrape(t) // the overlap re-reads them: still once
	checkOrg(t, got, orgTruth(e.srv, now, e.windows, e.tracker.org.since), e.windows)
}

func slicesContainsRoom(rooms []webextest.Room, id string) bool {
	for _, r := range rooms {
		if r.ID == id {
			return true
		}
	}
	return false
}

// warmCalls measures a warm refresh in an organisation of size other
// rooms: after the backfill, newMsgs messages (three of them in rooms new
// to the state) and one refresh. It returns the calls by kind.
func warmCalls(t testing.TB, size, newMsgs int) (listings, descriptions, events, others int) {
	now := orgNow()
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 7, Rooms: 20, OtherRooms: size, Now: now})
	e := newOrgEnv(t, org, now, Config{Concurrency: 8}, webextest.WithComplianceOfficer())
	if got := e.orgScrape(t); got[key("webex_up")] != 1 {
		t.Fatal("cold refresh failed")
	}
	now = e.clock.Add(10 * time.Minute)
	fresh := quietOthers(e.srv, now, 48*time.Hour, 3)
	if len(fresh) != 3 {
		t.Fatal("no quiet rooms")
	}
	var known []string // rooms the backfill found
	for _, r := range org.OtherRooms {
		if r.LastActivity.After(now.Add(-20 * time.Hour)) {
			known = append(known, r.ID)
		}
	}
	ppl := people(org, 5)
	for i := range newMsgs {
		room := known[i%len(known)]
		if i < len(fresh) {
			room = fresh[i]
		}
		e.srv.PostMessage(room, ppl[i%len(ppl)], now.Add(-time.Duration(i%300)*time.Second))
	}
	e.srv.ResetRequests()
	got := e.orgScrape(t)
	if got[key("webex_up")] != 1 {
		t.Fatal("warm refresh failed")
	}
	for _, r := range e.srv.RequestLog() {
		switch {
		case r.Path == "/v1/rooms":
			listings++
		case strings.HasPrefix(r.Path, "/v1/rooms/"):
			descriptions++
		case r.Path == "/v1/events":
			events++
		default:
			others++
		}
	}
	return listings, descriptions, events, others
}

// TestOrgWarmRefreshCost: a warm refresh costs ceil(new events/1000) event
// pages, one description per room new to the state and one listing, the
// same for 1,000 and 20,000 rooms.
func TestOrgWarmRefreshCost(t *testing.T) {
	t.Parallel() // CPU-bound (20,000 rooms): beside the other organisation-sized test

	const newMsgs = 1500 // ceil(1500/1000) = 2 pages, with room to spare for the overlap's events
	type cost struct{ listings, descriptions, events, others int }
	want := cost{listings: 1, descriptions: 3, events: 2}
	var costs []cost
	for _, size := range []int{1000, 20000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			var c cost
			c.listings, c.descriptions, c.events, c.others = warmCalls(t, size, newMsgs)
			if c != want {
				t.Errorf("warm refresh of %d rooms: %+v, want %+v", size, c, want)
			}
			costs = append(costs, c)
		})
	}
	if len(costs) == 2 && costs[0] != costs[1] {
		t.Errorf("cost depends on the organisation's size: 1,000 rooms %+v, 20,000 rooms %+v", costs[0], costs[1])
	}
}

// BenchmarkOrgWarmRefresh reports the calls of a warm refresh with 1,500
// new messages (3 in new rooms), for 1,000 and 20,000 rooms.
func BenchmarkOrgWarmRefresh(b *testing.B) {
	for _, size := range []int{1000, 20000} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			for b.Loop() {
				l, d, ev, o := warmCalls(b, size, 1500)
				b.ReportMetric(float64(l+d+ev+o), "calls/refresh")
				b.ReportMetric(float64(ev), "event-pages/refresh")
			}
		})
	}
}

// TestOrgRefused: without the compliance role, /events answers 403: one log
// line names the role and scope, webex_up is 0 and no room shows counts.
func TestOrgRefused(t *testing.T) {
	now := orgNow()
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 3, Rooms: 20, OtherRooms: 50, Now: now})
	var buf bytes.Buffer
	e := newOrgEnv(t, org, now, Config{Logger: log.NewLogfmtLogger(log.NewSyncWriter(&buf))})
	for range 2 {
		got := e.orgScrape(t)
		if got[key("webex_up")] != 0 || got[key("webex_scrape_collector_success", "collector", "events")] != 0 {
			t.Errorf("webex_up %v, events success %v: want 0 and 0", got[key("webex_up")], got[key("webex_scrape_collector_success", "collector", "events")])
		}
		for k := range got {
			if strings.HasPrefix(k, "webex_room_recent_messages{") {
				t.Fatalf("%s exported without the events", k)
			}
		}
		e.clock.Add(time.Minute)
	}
	if n := strings.Count(buf.String(), "compliance officer"); n != 1 || !strings.Contains(buf.String(), webex.ComplianceScope) {
		t.Errorf("want one line naming the role and %s, got %d:\n%s", webex.ComplianceScope, n, buf.String())
	}
	if !e.tracker.org.since.IsZero() {
		t.Error("watching began though Webex refused every read")
	}
	// Granted the role, the next refresh reads the events: all backlog.
	e.srv.SetComplianceOfficer(true)
	got := e.orgScrape(t)
	if got[key("webex_up")] != 1 {
		t.Fatalf("webex_up %v after the role was granted", got[key("webex_up")])
	}
	checkOrg(t, got, orgTruth(e.srv, e.clock.Now(), e.windows, e.clock.Now()), e.windows)
}

// TestOrgLateEvent: an event Webex lists late (within the overlap) is read
// by the next refresh, and counted once.
func TestOrgLateEvent(t *testing.T) {
	now := orgNow()
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 4, Rooms: 10, OtherRooms: 100, Now: now})
	e := newOrgEnv(t, org, now, Config{}, webextest.WithComplianceOfficer())
	e.orgScrape(t)
	now = e.clock.Add(time.Minute)
	room, ppl := org.OtherRooms[1].ID, people(org, 2)
	late, release := e.srv.PostLate(webextest.Message{RoomID: room, PersonID: ppl[0], Created: now.Add(-30 * time.Second)})
	e.srv.PostMessage(room, ppl[1], now.Add(-20*time.Second))
	got := e.orgScrape(t)
	if w := orgTruth(e.srv, now, e.windows, e.tracker.org.since)[room]; got[key("webex_room_messages_total", "room_id", room)] != float64(w.total-1) {
		t.Fatalf("before the late event shows: total %v, want %d", got[key("webex_room_messages_total", "room_id", room)], w.total-1)
	}
	release()
	e.clock.Add(30 * time.Second)
	for range 2 {
		got = e.orgScrape(t)
		checkOrg(t, got, orgTruth(e.srv, e.clock.Now(), e.windows, e.tracker.org.since), e.windows)
		e.clock.Add(time.Second)
	}
	if got[key("webex_room_last_message_timestamp_seconds", "room_id", room)] != unixSec(late.Created.Add(10*time.Second)) {
		t.Errorf("last message %v", got[key("webex_room_last_message_timestamp_seconds", "room_id", room)])
	}
}

// TestOrgInterruptedBackfill: a backfill cut by a failed page keeps what it
// read, shows no counts until the rest is read, then shows ground truth,
// counting none of the backlog.
func TestOrgInterruptedBackfill(t *testing.T) {
	now := orgNow()
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 5, Rooms: 10, OtherRooms: 2000, Now: now})
	e := newOrgEnv(t, org, now, Config{}, webextest.WithComplianceOfficer())
	e.srv.InjectFault(webextest.Fault{Endpoint: "events", Param: "cursor", Status: 500, Times: 1})
	got := e.orgScrape(t)
	if got[key("webex_scrape_collector_success", "collector", "events")] != 0 {
		t.Fatal("the events read should have failed")
	}
	for k := range got {
		if strings.HasPrefix(k, "webex_room_recent_messages{") {
			t.Fatalf("%s exported before the backfill completed", k)
		}
	}
	e.srv.ResetRequests()
	now = e.clock.Add(time.Minute)
	got = e.orgScrape(t)
	checkOrg(t, got, orgTruth(e.srv, now, e.windows, e.tracker.org.since), e.windows)
	// The first refresh's pages are not read again: one page of new
	// events and the rest of the backlog.
	if n := e.srv.Requests()["events"]; n >= 5 {
		t.Errorf("%d event pages to finish the backfill: the first refresh's pages were read again", n)
	}
}

// TestOrgRestart: a tracker restored from the state file reads the events
// since the newest it had: messages created while it was down are counted,
// none twice.
func TestOrgRestart(t *testing.T) {
	now := orgNow()
	path := statePath(t)
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 6, Rooms: 10, OtherRooms: 500, Now: now})
	e := newOrgEnv(t, org, now, Config{StateFile: path}, webextest.WithComplianceOfficer())
	e.orgScrape(t)
	since := e.tracker.org.since
	ppl := people(org, 3)
	post := func(n int) {
		now := e.clock.Add(time.Minute)
		for i := range n {
			e.srv.PostMessage(org.OtherRooms[i%7].ID, ppl[i%3], now.Add(-time.Duration(i)*time.Second))
		}
	}
	post(20)
	e.orgScrape(t)
	if err := e.tracker.SaveState(); err != nil {
		t.Fatal(err)
	}
	post(10) // while the exporter is down
	e2 := e.restart(t, Config{StateFile: path, Scope: ScopeOrg})
	e2.srv.ResetRequests()
	got := e2.orgScrape(t)
	// Descriptions come from the state file; one page of events since the newest.
	if c := e2.srv.Requests(); c["rooms"] != 1 || c["events"] != 1 || c["messages"] != 0 {
		t.Errorf("first refresh after the restart: %v, want 1 listing (no description) and 1 events call", c)
	}
	if e2.tracker.org.since != since {
		t.Errorf("since %v after restart, want %v", e2.tracker.org.since, since)
	}
	checkOrg(t, got, orgTruth(e2.srv, e2.clock.Now(), e2.windows, since), e2.windows)
	post(5)
	got = e2.orgScrape(t)
	checkOrg(t, got, orgTruth(e2.srv, e2.clock.Now(), e2.windows, since), e2.windows)
	if got[key("webex_room_messages_total", "room_id", org.OtherRooms[0].ID)] == 0 {
		t.Error("nothing counted")
	}
}

// TestOrgDescriptions: a room new to the state is described once; a room
// Webex refuses to describe keeps id and room_type and is not asked again
// at the next refresh.
func TestOrgDescriptions(t *testing.T) {
	now := orgNow()
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 8, Rooms: 5, OtherRooms: 200, Now: now})
	e := newOrgEnv(t, org, now, Config{}, webextest.WithComplianceOfficer())
	e.orgScrape(t)
	now = e.clock.Add(time.Minute)
	fresh := quietOthers(e.srv, now, 48*time.Hour, 2)
	ppl := people(org, 1)
	for _, id := range fresh {
		e.srv.PostMessage(id, ppl[0], now.Add(-time.Second))
	}
	e.srv.InjectFault(webextest.Fault{Endpoint: "rooms", RoomID: fresh[1], Status: 404})
	e.srv.ResetRequests()
	got := e.orgScrape(t)
	for i, id := range fresh {
		r, _ := e.srv.Room(id)
		title := r.Title
		if r.Type == "direct" {
			title = ""
		}
		labels := []string{"is_locked", fmt.Sprint(r.IsLocked), "room_id", id, "room_type", r.Type, "team_id", r.TeamID, "title", title}
		if i == 1 {
			labels = []string{"is_locked", "false", "room_id", id, "room_type", r.Type, "team_id", "", "title", ""}
		}
		if got[key("webex_room_info", labels...)] != 1 {
			t.Errorf("room %d: missing %s", i, key("webex_room_info", labels...))
		}
	}
	e.clock.Add(time.Minute)
	e.orgScrape(t)
	if n := len(e.srv.RequestLog()); n != 2+2+2 {
		for _, r := range e.srv.RequestLog() {
			t.Log(r.Path)
		}
		t.Errorf("%d calls over two refreshes, want 2 listings, 2 event reads, 2 descriptions", n)
	}
}

// Events is a Source in the events feed's tests (compile-time check).
var _ EventSource = (*webex.Client)(nil)

// TestOrgRestartWiderWindow: restarted with a wider window, the exporter
// reads the events of its older part (as backlog) before showing counts.
func TestOrgRestartWiderWindow(t *testing.T) {
	now := orgNow()
	path := statePath(t)
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 9, Rooms: 10, OtherRooms: 300, Now: now})
	e := newOrgEnv(t, org, now, Config{StateFile: path}, webextest.WithComplianceOfficer())
	e.orgScrape(t)
	if err := e.tracker.SaveState(); err != nil {
		t.Fatal(err)
	}
	wider, _ := ParseWindows("1h,40h")
	e.clock.Add(time.Minute)
	e2 := e.restart(t, Config{StateFile: path, Scope: ScopeOrg, Windows: wider})
	got := e2.orgScrape(t)
	want := orgTruth(e2.srv, e2.clock.Now(), wider, e2.tracker.org.since)
	if len(want) == 0 {
		t.Fatal("no active rooms")
	}
	checkOrg(t, got, want, wider)
}

// TestOrgFilter: the filters apply to rooms known through events: by type
// at once, by title once described (and such a room is not described again).
func TestOrgFilter(t *testing.T) {
	now := orgNow()
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 10, Rooms: 10, OtherRooms: 300, Now: now})
	f, err := NewFilter([]string{"group"}, nil, nil, "", "Team sync.*")
	if err != nil {
		t.Fatal(err)
	}
	e := newOrgEnv(t, org, now, Config{Filter: f}, webextest.WithComplianceOfficer())
	check := func(got map[string]float64) {
		t.Helper()
		n := 0
		for k := range got {
			if strings.HasPrefix(k, "webex_room_info{") {
				n++
				if strings.Contains(k, `room_type="direct"`) || strings.Contains(k, `title="Team sync`) {
					t.Errorf("filtered room exported: %s", k)
				}
			}
		}
		if n == 0 {
			t.Error("no room exported")
		}
	}
	check(e.orgScrape(t))
	e.srv.ResetRequests()
	e.clock.Add(time.Minute)
	check(e.orgScrape(t))
	if n := e.srv.Requests()["rooms"]; n != 1 {
		t.Errorf("%d rooms calls in a warm refresh, want the listing only", n)
	}
}
