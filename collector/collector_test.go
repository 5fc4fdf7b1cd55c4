package collector

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/webex-exporter/webex_exporter/collector/state"
	"github.com/webex-exporter/webex_exporter/webex"
	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// TestScrapesMatchGroundTruth follows 1,000 rooms through a cold scrape,
// warm scrapes with new messages, a window sliding with no API call, and
// rooms joining and leaving, comparing every sample with the fake's ground
// truth and counting the API calls each scrape makes.
func TestScrapesMatchGroundTruth(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 7, Rooms: 1000, Now: t0, KMSFailures: 3})
	e := newEnv(t, org, Config{})
	since := t0.Add(-24 * time.Hour)

	// Cold: one listing page, one message read per room active in the widest window.
	seen := coldSeen(e.srv, since)
	active := 0
	for _, r := range e.srv.Rooms() {
		if r.LastActivity.After(since) {
			active++
		}
	}
	if active < 100 || active > 900 {
		t.Fatalf("generated org has %d active rooms; the test wants a mix", active)
	}
	got := e.scrape(t, 30*time.Second)
	compare(t, got, expected(t0, e.windows, truth(e.srv, seen, nil)))
	assertCalls(t, e.srv, 1, active, 1)

	// Warm: 5 minutes later, 10 rooms got messages (one of them 3) and 2
	// rooms' lastActivity moved without a visible message.
	now := e.clock.Add(5 * time.Minute)
	rooms := e.srv.Rooms()
	e.srv.ResetRequests()
	for i, r := range rooms[:10] {
		sender := org.People[i%len(org.People)].ID
		n := 1
		if i == 0 {
			n = 3
		}
		for j := range n {
			m := e.srv.PostMessage(r.ID, sender, now.Add(-time.Duration(4-j)*time.Minute))
			seen[r.ID] = append(seen[r.ID], m)
		}
	}
	e.srv.MoveActivity(rooms[10].ID, now.Add(-time.Minute))
	e.srv.MoveActivity(rooms[11].ID, now.Add(-time.Minute))
	got = e.scrape(t, 30*time.Second)
	compare(t, got, expected(now, e.windows, truth(e.srv, seen, nil)))
	assertCalls(t, e.srv, 1, 12, 0)

	// Two hours on and nothing new: the 1h window slides with no message call.
	now = e.clock.Add(2 * time.Hour)
	e.srv.ResetRequests()
	got = e.scrape(t, 30*time.Second)
	compare(t, got, expected(now, e.windows, truth(e.srv, seen, nil)))
	assertCalls(t, e.srv, 1, 0, 0)
	if got[key("webex_room_recent_messages", "room_id", rooms[0].ID, "window", "1h")] != 0 ||
		got[key("webex_room_recent_messages", "room_id", rooms[0].ID, "window", "24h")] < 3 {
		t.Errorf("room 0 windows after 2h: 1h=%v 24h=%v; want 0 and at least 3",
			got[key("webex_room_recent_messages", "room_id", rooms[0].ID, "window", "1h")],
			got[key("webex_room_recent_messages", "room_id", rooms[0].ID, "window", "24h")])
	}

	// Rooms leave and join: the gone ones vanish from the metrics, the new one is read.
	e.srv.ResetRequests()
	for _, r := range rooms[:3] {
		e.srv.RemoveRoom(r.ID)
		delete(seen, r.ID)
	}
	fresh := webextest.Room{ID: webextest.MakeID("ROOM", 424242), Title: "New room", Type: "group", Created: now.Add(-time.Hour), LastActivity: now.Add(-time.Hour)}
	e.srv.AddRoom(fresh)
	seen[fresh.ID] = []webextest.Message{asBacklog(e.srv.PostMessage(fresh.ID, org.People[0].ID, now.Add(-time.Minute)))}
	got = e.scrape(t, 30*time.Second)
	compare(t, got, expected(now, e.windows, truth(e.srv, seen, nil)))
	assertCalls(t, e.srv, 1, 1, 0)
	if _, ok := got[key("webex_room_messages_total", "room_id", rooms[0].ID)]; ok {
		t.Error("a room the account left is still exported")
	}
}

// assertCalls checks the API calls made since the last reset.
func assertCalls(t testing.TB, srv *webextest.Server, rooms, messages, me int) {
	t.Helper()
	c := srv.Requests()
	if c["rooms"] != rooms || c["messages"] != messages || c["people/me"] != me || srv.RequestsTotal() != rooms+messages+me {
		t.Errorf("API calls: rooms=%d messages=%d people/me=%d total=%d; want rooms=%d messages=%d people/me=%d and nothing else",
			c["rooms"], c["messages"], c["people/me"], srv.RequestsTotal(), rooms, messages, me)
	}
}

func TestKMSFailureKeepsLastKnownTitle(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 3, Rooms: 20, Now: t0})
	good := org.Rooms[0]
	org.Rooms[1].KMSFailure = true // never decrypted: no title at all
	e := newEnv(t, org, Config{})
	got := e.scrape(t, 10*time.Second)
	if !hasInfoTitle(got, good.ID, good.Title) {
		t.Fatalf("room %s not exported with its title %q", good.ID, good.Title)
	}
	if !hasInfoTitle(got, org.Rooms[1].ID, "") {
		t.Errorf("a room whose title never decrypted must have an empty title")
	}
	// Now the first room's title fails to decrypt: the last known one stays.
	broken := good
	broken.KMSFailure = true
	e.srv.AddRoom(broken)
	got = e.scrape(t, 10*time.Second)
	if !hasInfoTitle(got, good.ID, good.Title) {
		t.Errorf("after a kms_failure the last known title %q must stay", good.Title)
	}
}

func hasInfoTitle(samples map[string]float64, roomID, title string) bool {
	for k := range samples {
		if strings.HasPrefix(k, "webex_room_info{") && strings.Contains(k, `room_id="`+roomID+`"`) {
			return strings.Contains(k, `title="`+title+`"`)
		}
	}
	return false
}

// TestRefusedToken: a 401 gives webex_up 0, a scrape that still answers,
// and one log line naming the refusal and the trackingId, without the token.
func TestRefusedToken(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 1, Rooms: 50, Now: t0})
	var buf bytes.Buffer
	e := newEnv(t, org, Config{Logger: log.NewLogfmtLogger(log.NewSyncWriter(&buf))}, webextest.WithToken("another-token"))
	got := e.scrape(t, 10*time.Second)
	if got[key("webex_up")] != 0 || got[key("webex_scrape_collector_success", "collector", "rooms")] != 0 {
		t.Errorf("webex_up=%v rooms success=%v; want 0 and 0", got[key("webex_up")], got[key("webex_scrape_collector_success", "collector", "rooms")])
	}
	logs := buf.String()
	if n := strings.Count(logs, "\n"); n != 1 {
		t.Errorf("want exactly one log line, got %d:\n%s", n, logs)
	}
	log := e.srv.RequestLog()
	if len(log) == 0 {
		t.Fatal("no request reached the fake")
	}
	if !strings.Contains(logs, "401") || !strings.Contains(logs, "trackingId ") {
		t.Errorf("log line does not name the refusal and its trackingId: %s", logs)
	}
	if strings.Contains(logs, webextest.DefaultToken) {
		t.Errorf("the token leaked into the log: %s", logs)
	}
}

// TestRateLimitHonouredWithinDeadline: a 429 with Retry-After 1 on the
// listing is waited out and retried within the scrape's deadline.
func TestRateLimitHonouredWithinDeadline(t *testing.T) {
	synctest.Test(t, testRateLimitHonouredWithinDeadline) // the 1 s wait on the bubble's clock
}

func testRateLimitHonouredWithinDeadline(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 1, Rooms: 30, Now: t0})
	e := newMemEnv(t, org, Config{})
	e.srv.InjectFault(webextest.Fault{Endpoint: "rooms", Times: 1, Status: 429, RetryAfter: "1"})
	got := e.scrape(t, 10*time.Second)
	if got[key("webex_up")] != 1 {
		t.Fatalf("webex_up = %v after a 1 s Retry-After within a 10 s deadline", got[key("webex_up")])
	}
	var roomsCalls []webextest.Request
	for _, r := range e.srv.RequestLog() {
		if strings.HasSuffix(r.Path, "/rooms") {
			roomsCalls = append(roomsCalls, r)
		}
	}
	if len(roomsCalls) != 2 || roomsCalls[0].Status != 429 || roomsCalls[1].Status != 200 {
		t.Fatalf("listing calls %+v; want a 429 then a 200", roomsCalls)
	}
	if gap := roomsCalls[1].Time.Sub(roomsCalls[0].Time); gap < time.Second {
		t.Errorf("retried after %v, before Retry-After's 1 s", gap)
	}
}

// TestRateLimitBackOffAcrossScrapes: a 429 asking for an hour makes the
// scrape give up at once (no waiting out its deadline) and the next scrape
// send nothing at all, serving the last known values.
func TestRateLimitBackOffAcrossScrapes(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 2, Rooms: 200, Now: t0})
	e := newEnv(t, org, Config{Concurrency: 1})
	first := e.scrape(t, 10*time.Second)
	if first[key("webex_up")] != 1 {
		t.Fatal("first scrape failed")
	}
	now := e.clock.Add(time.Minute)
	for _, r := range e.srv.Rooms()[:5] {
		e.srv.PostMessage(r.ID, org.People[0].ID, now.Add(-time.Second))
	}
	e.srv.ResetRequests()
	e.srv.InjectFault(webextest.Fault{Endpoint: "messages", Status: 429, RetryAfter: "3600"})
	start := time.Now()
	got := e.scrape(t, 5*time.Second)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("scrape took %v: it waited for a Retry-After far past its deadline", took)
	}
	if got[key("webex_up")] != 1 || got[key("webex_rooms_pending")] != 5 || got[key("webex_scrape_collector_success", "collector", "messages")] != 0 {
		t.Errorf("up=%v pending=%v messages success=%v; want 1, 5, 0", got[key("webex_up")], got[key("webex_rooms_pending")],
			got[key("webex_scrape_collector_success", "collector", "messages")])
	}
	assertCalls(t, e.srv, 1, 1, 0) // the first message call was refused; the other four were never sent

	e.srv.ResetRequests()
	got = e.scrape(t, 5*time.Second)
	if e.srv.RequestsTotal() != 0 {
		t.Errorf("%d calls sent while Webex asked to wait an hour", e.srv.RequestsTotal())
	}
	if got[key("webex_up")] != 0 || got[key("webex_rooms", "room_type", "group")]+got[key("webex_rooms", "room_type", "direct")] != 200 {
		t.Errorf("while paused: up=%v rooms=%v; want 0 and the 200 last known rooms", got[key("webex_up")],
			got[key("webex_rooms", "room_type", "group")]+got[key("webex_rooms", "room_type", "direct")])
	}
}

// TestDeadlineKeptAndConverges: over HTTP, with slow message calls, a
// scrape stops at its deadline, leaves the rest pending with their last
// values, and later scrapes finish the work, pending rooms first, until the
// values are exact. That each is answered within its deadline is proven on
// exact time by TestDeadlineKeptAndConvergesOnFakeTime; here, over HTTP
// in a synctest bubble, too.
func TestDeadlineKeptAndConverges(t *testing.T) { synctest.Test(t, testDeadlineKeptAndConverges) }

func testDeadlineKeptAndConverges(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 5, Rooms: 300, Now: t0, ActiveFraction: 0.3})
	e := newMemEnv(t, org, Config{Concurrency: 2})
	seen := coldSeen(e.srv, t0.Add(-24*time.Hour))
	e.srv.SetLatency(50 * time.Millisecond)
	const deadline = 600 * time.Millisecond
	var pendingBefore float64
	for i := 0; ; i++ {
		if i == 30 {
			t.Fatal("not converged after 30 scrapes")
		}
		start := time.Now()
		got := e.scrape(t, deadline)
		if took := time.Since(start); took > deadline {
			t.Errorf("scrape %d took %v, past its %v deadline", i, took, deadline)
		}
		pending := got[key("webex_rooms_pending")]
		if i == 0 && pending == 0 {
			t.Fatal("the first scrape read every room: the test needs a deadline that cuts it short")
		}
		// On the bubble's clock, whatever the machine's load, every
		// scrape makes progress.
		if i > 0 && pending >= pendingBefore {
			t.Fatalf("scrape %d: %v rooms pending, not fewer than the %v before", i, pending, pendingBefore)
		}
		if pending == 0 {
			compare(t, got, expected(t0, e.windows, truth(e.srv, seen, nil)))
			return
		}
		pendingBefore = pending
	}
}

// TestConcurrentScrapesShareOneRefresh: ten scrapes at once make the API
// calls of one.
func TestConcurrentScrapesShareOneRefresh(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 9, Rooms: 500, Now: t0})
	e := newEnv(t, org, Config{})
	waiting := make(chan struct{}, 10)
	e.tracker.onWait = func() { waiting <- struct{}{} }
	release := e.srv.Hold("rooms")

	var wg sync.WaitGroup
	results := make([]map[string]float64, 10)
	scrape := func(i int) {
		defer wg.Done()
		results[i] = e.scrape(t, 30*time.Second)
	}
	wg.Add(10)
	go scrape(0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.srv.WaitRequests(ctx, "rooms", 1); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 10; i++ {
		go scrape(i)
	}
	for range 9 {
		<-waiting
	}
	release()
	wg.Wait()

	active := 0
	for _, r := range e.srv.Rooms() {
		if r.LastActivity.After(t0.Add(-24 * time.Hour)) {
			active++
		}
	}
	assertCalls(t, e.srv, 1, active, 1)
	for i := 1; i < 10; i++ {
		compare(t, results[i], results[0])
	}
}

func TestLint(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 4, Rooms: 40, Now: t0})
	e := newEnv(t, org, Config{})
	problems, err := testutil.CollectAndLint(New(context.Background(), e.tracker))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// TestSteadyStateCalls: with 2,500 rooms a warm scrape costs exactly
// ceil(2500/1000) listing pages plus one call per room whose lastActivity moved.
func TestSteadyStateCalls(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 8, Rooms: 2500, Now: t0})
	e := newEnv(t, org, Config{})
	e.scrape(t, 30*time.Second)
	for round := range 3 {
		now := e.clock.Add(time.Minute)
		e.srv.ResetRequests()
		moved := 0
		for i, r := range e.srv.Rooms() {
			if i%100 == round {
				e.srv.PostMessage(r.ID, org.People[0].ID, now.Add(-time.Second))
				moved++
			}
		}
		got := e.scrape(t, 30*time.Second)
		assertCalls(t, e.srv, 3, moved, 0)
		if got[key("webex_rooms_pending")] != 0 || got[key("webex_up")] != 1 {
			t.Fatalf("round %d: pending=%v up=%v", round, got[key("webex_rooms_pending")], got[key("webex_up")])
		}
	}
}

// TestInterruptedReadResumes: a room with more new messages than one
// scrape's deadline can page through keeps what each scrape read, and the
// next scrape continues below it instead of starting again from the top.
func TestInterruptedReadResumes(t *testing.T) {
	synctest.Test(t, testInterruptedReadResumes) // the fake's latency on the bubble's clock
}

func testInterruptedReadResumes(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 12, Rooms: 20, Now: t0})
	e := newMemEnv(t, org, Config{})
	seen := coldSeen(e.srv, t0.Add(-24*time.Hour))
	e.scrape(t, 10*time.Second)

	now := e.clock.Add(10 * time.Minute)
	busy := e.srv.Rooms()[0]
	for i := range 2000 {
		m := e.srv.PostMessage(busy.ID, org.People[i%7].ID, now.Add(-40*time.Minute+time.Duration(i)*time.Second))
		seen[busy.ID] = append(seen[busy.ID], m)
	}
	e.srv.ResetRequests()
	e.srv.SetLatency(40 * time.Millisecond)
	total := key("webex_room_messages_total", "room_id", busy.ID)
	last := -1.0
	for scrape := 0; ; scrape++ {
		if scrape == 40 {
			t.Fatal("the busy room was not read completely in 40 scrapes")
		}
		got := e.scrape(t, 300*time.Millisecond)
		if got[total] < last {
			t.Fatalf("scrape %d: counter %s went down from %v to %v", scrape, total, last, got[total])
		}
		last = got[total]
		if got[key("webex_rooms_pending")] == 0 {
			if scrape == 0 {
				t.Fatal("the first scrape read all 2,000 messages: the test needs a deadline that cuts it short")
			}
			compare(t, got, expected(now, e.windows, truth(e.srv, seen, nil)))
			break
		}
	}
	// Only the first scrape started at the newest message; every later one
	// resumed below what was read (the fake's next links also page with
	// beforeMessage).
	fromTop := 0
	for _, r := range e.srv.RequestLog() {
		if strings.Contains(r.RawQuery, url.QueryEscape(busy.ID)) && !strings.Contains(r.RawQuery, "beforeMessage") {
			fromTop++
		}
	}
	if fromTop != 1 {
		t.Errorf("%d reads of the busy room started from its newest message; want 1", fromTop)
	}
}

// TestGapBelowDeletedMessage: when the message an interrupted read stopped
// at is deleted, Webex answers 404 to beforeMessage; the exporter gives up
// on that gap instead of keeping the room pending for ever.
func TestGapBelowDeletedMessage(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 13, Rooms: 10, Now: t0})
	e := newEnv(t, org, Config{})
	e.scrape(t, 10*time.Second)
	now := e.clock.Add(10 * time.Minute)
	busy := e.srv.Rooms()[0]
	for i := range 300 {
		e.srv.PostMessage(busy.ID, org.People[0].ID, now.Add(-10*time.Minute+time.Duration(i)*time.Second))
	}
	// The first page's next link loops: the read stops there, and a gap
	// remains below the first page.
	e.srv.InjectFault(webextest.Fault{Endpoint: "messages", RoomID: busy.ID, LinkLoop: true, Times: 1})
	got := e.scrape(t, 10*time.Second)
	if got[key("webex_rooms_pending")] != 1 {
		t.Fatalf("pending = %v after an interrupted read; want 1", got[key("webex_rooms_pending")])
	}
	// The gap starts below a message the fake does not know: like a deleted one, 404.
	editRooms(e.tracker, e.clock.Now(), func(r *state.RoomRecord) {
		if r.ID == busy.ID {
			r.Gaps[0].BeforeID = webextest.MakeID("MESSAGE", 987654)
		}
	})
	e.clock.Add(time.Minute)
	got = e.scrape(t, 10*time.Second)
	if got[key("webex_rooms_pending")] != 0 || got[key("webex_scrape_collector_success", "collector", "messages")] != 1 {
		t.Errorf("pending = %v, messages success = %v after the gap's message vanished; want 0 and 1",
			got[key("webex_rooms_pending")], got[key("webex_scrape_collector_success", "collector", "messages")])
	}
}

// TestIngestThenPoll: messages reported to the state (as a webhook or the
// Events API would) count once, and the poll that follows reads only what
// is newer than them.
func TestIngestThenPoll(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 14, Rooms: 10, Now: t0})
	e := newEnv(t, org, Config{})
	seen := coldSeen(e.srv, t0.Add(-24*time.Hour))
	e.scrape(t, 10*time.Second)

	now := e.clock.Add(5 * time.Minute)
	room := e.srv.Rooms()[0]
	var pushed []webex.Message
	for i := range 3 {
		m := e.srv.PostMessage(room.ID, org.People[i].ID, now.Add(-time.Duration(3-i)*time.Minute))
		seen[room.ID] = append(seen[room.ID], m)
		pushed = append(pushed, webex.Message{ID: m.ID, RoomID: m.RoomID, PersonID: m.PersonID, Created: m.Created})
	}
	totalOf := func() uint64 {
		r, _ := roomRecord(e.tracker, room.ID)
		return r.Total
	}
	before := totalOf()
	e.tracker.state.Messages(room.ID, pushed, e.clock.Now())
	e.tracker.state.Messages(room.ID, pushed[1:], e.clock.Now()) // a retried delivery
	if got := totalOf(); got != before+3 {
		t.Fatalf("after pushing 3 messages (one delivery retried) the room's total is %d, want %d", got, before+3)
	}
	later := e.srv.PostMessage(room.ID, org.People[4].ID, now.Add(-time.Second))
	seen[room.ID] = append(seen[room.ID], later)

	e.srv.ResetRequests()
	got := e.scrape(t, 10*time.Second)
	compare(t, got, expected(now, e.windows, truth(e.srv, seen, nil)))
	assertCalls(t, e.srv, 1, 1, 0)
	for _, r := range e.srv.RequestLog() {
		if r.Endpoint == "messages" && r.Status == 200 && !strings.Contains(r.RawQuery, "max=50") {
			t.Errorf("the poll after pushed messages was not a warm read from the newest pushed one: %s", r.RawQuery)
		}
	}
}
