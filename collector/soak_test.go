package collector

import (
	"context"
	"math/rand/v2"
	"net/url"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"github.com/webex-exporter/webex_exporter/webex"
	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// TestFiftyConcurrentScrapesWhileTheFakeChanges: fifty scrapes arrive
// while one refresh is under way and another goroutine keeps changing the
// organisation (messages posted, rooms added and left, one change per API
// call the fake receives). The fifty make the calls of one collection and
// show the same values; once the changes stop, the next scrape is exact.
func TestFiftyConcurrentScrapesWhileTheFakeChanges(t *testing.T) {
	t.Parallel() // CPU-bound, measures nothing process-wide: beside the other such tests
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 31, Rooms: 300, Now: t0, ActiveFraction: 0.4})
	e := newMemEnv(t, org, Config{})
	seen := coldSeen(e.srv, t0.Add(-24*time.Hour))
	compare(t, e.scrape(t, 30*time.Second), expected(t0, e.windows, truth(e.srv, seen, nil)))
	before := map[string]time.Time{}
	var ids []string
	for _, r := range e.srv.Rooms() {
		before[r.ID] = r.LastActivity
		ids = append(ids, r.ID)
	}

	now := e.clock.Add(5 * time.Minute)
	for len(e.srv.Arrived()) > 0 {
		<-e.srv.Arrived() // the warm scrape's announcements
	}
	e.srv.ResetRequests()

	// The mutator: a burst of changes, then one per request the fake receives.
	var mu sync.Mutex // guards seen while the mutator runs
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		rnd := rand.New(rand.NewPCG(31, 1))
		seq := 0
		change := func() {
			seq++
			at := t0.Add(time.Duration(seq) * time.Millisecond) // later than any message before
			switch op := rnd.IntN(10); {
			case op < 7:
				id := ids[rnd.IntN(len(ids))]
				if m := e.srv.PostMessage(id, org.People[rnd.IntN(len(org.People))].ID, at); m.ID != "" {
					mu.Lock()
					seen[id] = append(seen[id], m)
					mu.Unlock()
				}
			case op < 9:
				id := webextest.MakeID("ROOM", uint64(5_000_000+seq))
				e.srv.AddRoom(webextest.Room{ID: id, Title: "Added " + id[len(id)-6:], Type: "group", Created: at})
				ids = append(ids, id)
			default:
				i := rnd.IntN(len(ids))
				e.srv.RemoveRoom(ids[i])
				mu.Lock()
				delete(seen, ids[i])
				mu.Unlock()
				ids = append(ids[:i], ids[i+1:]...)
			}
		}
		for range 50 {
			change()
		}
		for {
			select {
			case <-e.srv.Arrived():
				change()
			case <-stop:
				return
			}
		}
	}()

	const scrapes = 50
	waiting := make(chan struct{}, scrapes)
	e.tracker.onWait = func() { waiting <- struct{}{} }
	release := e.srv.Hold("rooms")
	results := make([]map[string]float64, scrapes)
	var wg sync.WaitGroup
	scrape := func(i int) {
		defer wg.Done()
		results[i] = e.scrape(t, 30*time.Second)
	}
	wg.Add(scrapes)
	go scrape(0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.srv.WaitRequests(ctx, "rooms", 1); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < scrapes; i++ {
		go scrape(i)
	}
	for i := range scrapes - 1 {
		select {
		case <-waiting:
		case <-ctx.Done():
			release()
			wg.Wait()
			close(stop)
			<-stopped
			t.Fatalf("only %d of %d scrapes waited for the refresh under way", i, scrapes-1)
		}
	}
	release()
	wg.Wait()
	close(stop)
	<-stopped
	e.tracker.onWait = nil

	for i := 1; i < scrapes; i++ {
		compare(t, results[i], results[0])
	}
	// One collection: one listing, and one read (first page) of each listed
	// room whose lastActivity moved within the widest window, no other.
	got := results[0]
	if got[key("webex_up")] != 1 {
		t.Fatalf("webex_up = %v", got[key("webex_up")])
	}
	moved := map[string]bool{}
	cutoff := unixSec(now.Add(-24 * time.Hour))
	for k, v := range got {
		if id, ok := roomOf(k, "webex_room_last_activity_timestamp_seconds"); ok {
			if prev, known := before[id]; (!known || unixSec(prev) != v) && v > cutoff {
				moved[id] = true
			}
		}
	}
	reads := map[string]int{}
	c := e.srv.Requests()
	for _, r := range e.srv.RequestLog() {
		if r.Endpoint != "messages" {
			continue
		}
		q, _ := url.ParseQuery(r.RawQuery)
		if q.Get("beforeMessage") == "" {
			reads[q.Get("roomId")]++
		}
	}
	if c["rooms"] != 1 || c["people/me"] != 0 || len(moved) < 20 {
		t.Errorf("calls %v with %d rooms moved; want one listing and no /people/me, and a test that moves rooms", c, len(moved))
	}
	for id := range moved {
		if reads[id] != 1 {
			t.Errorf("room %s moved: read %d times, want once", id, reads[id])
		}
	}
	for id, n := range reads {
		if !moved[id] {
			t.Errorf("room %s did not move but was read %d times", id, n)
		}
	}
	t.Logf("%d scrapes shared one refresh: %d listing, %d message calls for %d rooms moved", scrapes, c["rooms"], c["messages"], len(moved))

	// The changes have stopped: the next scrape brings everything up to date.
	now = e.clock.Add(time.Minute)
	compare(t, e.scrape(t, 30*time.Second), expected(now, e.windows, truth(e.srv, seen, nil)))
}

// roomOf returns the room id of a sample key of the metric name.
func roomOf(sample, name string) (string, bool) {
	const pre = `{room_id="`
	if len(sample) < len(name)+len(pre)+2 || sample[:len(name)] != name || sample[len(name):len(name)+len(pre)] != pre {
		return "", false
	}
	return sample[len(name)+len(pre) : len(sample)-2], true
}

// TestSoakWeek fast-forwards a week of scrapes on the injected clock over
// 1,000 rooms: working days with steady traffic and bursts, quiet nights
// and a weekend, rooms created and left every hour, and a new crowd of
// senders every day. After each simulated day every sample is exact and
// the state is bounded: the rooms listed, the messages inside the widest
// window, and interned sender ids pruned to at most twice the live ones.
// The tracker reads the fake's ground truth directly (truthSource): a
// week of 1,000-room listings through HTTP and JSON took 34-72 s on the
// 2-core machine, all of it in the client and the fake, which
// TestSoakDayOverHTTP runs for the first day of the same scenario.
func TestSoakWeek(t *testing.T) {
	soak(t, 7*24*time.Hour, func(e *env) Source { return truthSource{e.srv, e.srv.Org().Me} })
}

// TestSoakDayOverHTTP is the soak's first day through webex.Client and
// the fake's HTTP API: listings, reads, paging and decoding, each day's
// checks as in TestSoakWeek.
func TestSoakDayOverHTTP(t *testing.T) {
	soak(t, 24*time.Hour, func(e *env) Source { return e.client })
}

// soak runs the soak's scenario for d, the tracker reading through the
// Source src gives.
func soak(t *testing.T, week time.Duration, src func(*env) Source) {
	const rooms = 1000
	// A scrape every 5 simulated minutes (2,016 scrapes a week); every hour
	// under the race detector, which makes each scrape ten times slower.
	step := 5 * time.Minute
	if raceEnabled() {
		step = time.Hour
	}
	per5min := int(step / (5 * time.Minute)) // traffic is given per 5 minutes
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 77, Rooms: rooms, Now: t0, History: 24 * time.Hour,
		ActiveFraction: 0.3, MaxMessagesPerRoom: 10, People: 100})
	e := newMemEnv(t, org, Config{})
	e.tracker = NewTracker(src(e), Config{Windows: e.windows, Now: e.clock.Now})
	seen := coldSeen(e.srv, t0.Add(-24*time.Hour))
	compare(t, e.scrape(t, time.Minute), expected(t0, e.windows, truth(e.srv, seen, nil)))
	heapStart := liveHeap()
	began := time.Now()

	rnd := rand.New(rand.NewPCG(77, 7))
	ids := make([]string, 0, rooms)
	for _, r := range e.srv.Rooms() {
		ids = append(ids, r.ID)
	}
	core := org.People[:50]
	var crowd []webextest.Person // today's senders, renewed every day
	everSent := map[string]bool{}
	newCrowd := func(day int) {
		crowd = crowd[:0]
		for i := range 400 {
			p := webextest.Person{ID: webextest.MakeID("PEOPLE", uint64(day*1000+i+1)), DisplayName: "Visitor", Type: "person"}
			e.srv.AddPerson(p)
			crowd = append(crowd, p)
		}
	}
	post := func(id string, at time.Time, backlog bool) {
		var p webextest.Person
		if rnd.IntN(10) < 7 {
			p = crowd[rnd.IntN(len(crowd))]
		} else {
			p = core[rnd.IntN(len(core))]
		}
		m := e.srv.PostMessage(id, p.ID, at)
		if backlog { // in a room the exporter has not read yet
			m = asBacklog(m)
		}
		seen[id] = append(seen[id], m)
		everSent[p.ID] = true
	}

	scrapes, posted, created, left, checks := 0, 0, 0, 0, 0
	day := -1
	for now := t0; now.Before(t0.Add(week)); {
		prev := now
		now = e.clock.Add(step)
		if d := int(now.Sub(t0) / (24 * time.Hour)); d != day {
			day = d
			newCrowd(day)
		}
		// Traffic in (prev, now]: steady on working days, bursts, little at
		// night and at the weekend.
		hour, weekend := now.Hour(), now.Weekday() == time.Saturday || now.Weekday() == time.Sunday
		n := 0
		for range per5min {
			switch {
			case weekend:
				n += rnd.IntN(3) / 2
			case hour >= 8 && hour < 18:
				n += 10 + rnd.IntN(20)
			case rnd.IntN(10) == 0:
				n++
			}
		}
		burst := ""
		if !weekend && hour >= 8 && hour < 18 && rnd.IntN(30/per5min) == 0 {
			burst = ids[rnd.IntN(len(ids))]
			n += 60
		}
		for i := range n {
			at := prev.Add(time.Duration(i+1) * step / time.Duration(n+1)).Truncate(time.Millisecond)
			id := ids[rnd.IntN(len(ids))]
			if burst != "" && i%2 == 0 {
				id = burst
			}
			post(id, at, false)
		}
		posted += n
		// Churn on the hour: a room is left and another created (with a few
		// messages on working days).
		if now.Minute() < int(step/time.Minute) {
			i := rnd.IntN(len(ids))
			e.srv.RemoveRoom(ids[i])
			delete(seen, ids[i])
			ids = append(ids[:i], ids[i+1:]...)
			left++
			id := webextest.MakeID("ROOM", uint64(9_000_000+scrapes))
			e.srv.AddRoom(webextest.Room{ID: id, Title: "Room " + id[len(id)-8:], Type: "group", Created: prev.Add(time.Minute)})
			ids = append(ids, id)
			created++
			if !weekend {
				for j := range rnd.IntN(4) {
					post(id, prev.Add(time.Duration(2+j)*time.Minute), true)
				}
			}
		}

		scrapes++
		if now.Day() == prev.Day() && now.Before(t0.Add(week)) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			s := e.tracker.Snapshot(ctx)
			cancel()
			if !s.Up || s.Pending != 0 || len(s.Rooms) != len(ids) {
				t.Fatalf("%v: up=%v pending=%d rooms=%d; want up, nothing pending, %d rooms", now, s.Up, s.Pending, len(s.Rooms), len(ids))
			}
			continue
		}
		// A new day (or the end): every sample exact, the state bounded.
		checks++
		compare(t, e.scrape(t, time.Minute), expected(now, e.windows, truth(e.srv, seen, nil)))
		cutoff := now.Add(-24 * time.Hour).UnixMilli()
		inWindow, live := 0, map[string]bool{}
		for _, ms := range seen {
			for _, m := range ms {
				if m.Created.UnixMilli() > cutoff {
					inWindow++
					live[m.PersonID] = true
				}
			}
		}
		// Rooms just left are kept (unexported) for a few listings, in
		// case they only moved between pages.
		nRooms, nAbsent, nMsgs, nPeople := e.tracker.state.Size()
		if nRooms-nAbsent != len(ids) || nAbsent > maxAbsent || nMsgs != inWindow || (nPeople >= 1024 && nPeople > 2*len(live)) {
			t.Fatalf("%v: state holds %d rooms (%d missing from the listing), %d messages, %d sender ids; want %d rooms (+%d at most), %d messages (those within 24h), at most max(1023, 2×%d) ids",
				now, nRooms, nAbsent, nMsgs, nPeople, len(ids), maxAbsent, inWindow, len(live))
		}
		t.Logf("%s: %d scrapes, state %d rooms, %d messages, %d sender ids (%d live, %d ever)",
			now.Format("Mon 15:04"), scrapes, nRooms, nMsgs, nPeople, len(live), len(everSent))
		if t.Failed() {
			t.FailNow()
		}
	}
	heapEnd := liveHeap()
	_, _, _, nPeople := e.tracker.state.Size()
	if week >= 3*24*time.Hour && nPeople >= len(everSent) { // pruning starts at 1,024 ids: after a few days' crowds
		t.Errorf("%d sender ids interned, as many as ever sent (%d): they are never forgotten", nPeople, len(everSent))
	}
	t.Logf("simulated %v every %v: %d scrapes, %d messages posted, %d rooms created, %d left, %d exact checks, in %v; heap %.1f MiB -> %.1f MiB",
		week, step, scrapes, posted, created, left, checks, time.Since(began).Round(time.Millisecond), mib(heapStart), mib(heapEnd))
	// The fake keeps every message it was ever sent and the test keeps
	// them all as ground truth; the tracker only the last day's. Allow the
	// former, and catch a tracker that keeps what it should drop.
	if limit := heapStart + 24<<20; heapEnd > limit {
		t.Errorf("heap grew from %.1f MiB to %.1f MiB (limit %.1f MiB)", mib(heapStart), mib(heapEnd), mib(limit))
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" {
				return s.Value == "true"
			}
		}
	}
	return false
}

// truthSource is a Source that reads the fake's ground truth directly, with
// no HTTP and no JSON, and answers as webex.Client does against the fake:
// the rooms (a kms_failure room without its title), and a room's messages
// newest first, from below BeforeMessage (404 when it is gone) or Before,
// stopping at StopAtID or before Since.
type truthSource struct {
	srv *webextest.Server
	me  webextest.Person
}

func (s truthSource) Me(context.Context) (webex.Person, error) {
	return webex.Person{ID: s.me.ID, DisplayName: s.me.DisplayName, Type: s.me.Type}, nil
}

func (s truthSource) Rooms(context.Context, webex.RoomsQuery) ([]webex.Room, error) {
	var out []webex.Room
	for _, r := range s.srv.Rooms() {
		w := webex.Room{ID: r.ID, Title: r.Title, Type: r.Type, TeamID: r.TeamID, IsLocked: r.IsLocked,
			LastActivity: r.LastActivity, Created: r.Created, TitleUnavailable: r.KMSFailure}
		if r.KMSFailure {
			w.Title = ""
		}
		out = append(out, w)
	}
	return out, nil
}

func (s truthSource) Memberships(context.Context, string) ([]webex.Membership, error) {
	return nil, nil
}

func (s truthSource) Messages(_ context.Context, q webex.MessagesQuery) ([]webex.Message, error) {
	if _, ok := s.srv.Room(q.RoomID); !ok {
		return nil, &webex.APIError{Endpoint: "messages", StatusCode: 404}
	}
	var ms []webex.Message // oldest first
	for _, m := range s.srv.Messages(q.RoomID) {
		ms = append(ms, webex.Message{ID: m.ID, RoomID: m.RoomID, ParentID: m.ParentID, PersonID: m.PersonID, Created: m.Created})
	}
	return readBack(ms, q)
}
