package collector

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// The fault matrix: every way the Webex API (or the network in front of
// it) is known to misbehave, applied to the rooms listing and to a room's
// messages. Each case starts from an exporter whose state is exact, makes
// the fake misbehave for one scrape, and checks that the scrape answers
// within its deadline, that every sample says what happened (webex_up,
// webex_rooms_pending, the refresh timestamps, the collectors' success),
// and that once the fault is gone the next scrape is exact again, with the
// state kept all along (one client and one tracker per case).

// Each case runs in a testing/synctest bubble, the fake and the client
// speaking HTTP over in-memory connections (newMemEnv): the faults
// are HTTP's, and every wait (a Retry-After, the client's gate and its
// back-off, the fake's delays and stalls, the scrape's deadline) is on
// the bubble's clock, so the durations below are exact whatever the
// machine's load, and waiting out a 6 s Retry-After takes no time.

// view is what the exporter must show: rooms as last listed, the messages
// read of each, and how fresh each room is.
type view struct {
	now        time.Time // when the scrape counts its windows
	listedAt   time.Time // when the rooms were last listed (their refresh time)
	rooms      []webextest.Room
	seen       map[string][]webextest.Message
	titles     map[string]string
	stale      map[string]time.Time // pending rooms: their last refresh (zero: never)
	up         bool                 // the rooms were listed in this scrape
	messagesOK bool
}

func (v view) want(windows []Window) map[string]float64 {
	w := expected(v.now, windows, truthOf(v.rooms, v.seen, v.titles))
	for _, r := range v.rooms {
		k := key("webex_room_last_refresh_timestamp_seconds", "room_id", r.ID)
		at, stale := v.stale[r.ID]
		switch {
		case !stale:
			w[k] = unixSec(v.listedAt)
		case at.IsZero():
			// Never read: no refresh time, and its message values are
			// unknown, so absent (not 0).
			delete(w, k)
			unread(w, r.ID, windows)
		default:
			w[k] = unixSec(at)
		}
	}
	w[key("webex_up")] = b2f(v.up)
	w[key("webex_rooms_pending")] = float64(len(v.stale))
	w[key("webex_scrape_collector_success", "collector", "rooms")] = b2f(v.up)
	w[key("webex_scrape_collector_success", "collector", "messages")] = b2f(v.up && v.messagesOK)
	return w
}

// unread removes from w the message values of a room not read yet.
func unread(w map[string]float64, roomID string, windows []Window) {
	delete(w, key("webex_room_messages_total", "room_id", roomID))
	delete(w, key("webex_room_last_message_timestamp_seconds", "room_id", roomID))
	for _, win := range windows {
		delete(w, key("webex_room_recent_messages", "room_id", roomID, "window", win.Name))
		delete(w, key("webex_room_recent_senders", "room_id", roomID, "window", win.Name))
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func cloneSeen(seen map[string][]webextest.Message) map[string][]webextest.Message {
	out := make(map[string][]webextest.Message, len(seen))
	for id, ms := range seen {
		out[id] = slices.Clone(ms)
	}
	return out
}

// fixture is an exporter whose warm scrape at t0 was exact, and a fake in
// which, five minutes later, three rooms got messages and a new room (the
// victim of message faults) appeared with five: the next refresh has four
// rooms to read, the victim's read a first one that follows Link headers.
type fixture struct {
	*env
	t      *testing.T
	before view                           // what the warm scrape showed
	seen   map[string][]webextest.Message // every message the exporter must end up with
	titles map[string]string
	moved  []string // rooms the next refresh must read, the victim last
	victim string
}

func newFixture(t *testing.T, seed int64) *fixture {
	t.Helper()
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: seed, Rooms: 40, Now: t0, ActiveFraction: 0.5, KMSFailures: 1})
	e := newMemEnv(t, org, Config{})
	f := &fixture{env: e, t: t, seen: coldSeen(e.srv, t0.Add(-24*time.Hour)), titles: map[string]string{}}
	f.before = view{now: t0, listedAt: t0, rooms: e.srv.Rooms(), seen: cloneSeen(f.seen), titles: f.titles, up: true, messagesOK: true}
	compare(t, e.scrape(t, 10*time.Second), f.before.want(e.windows))

	now := e.clock.Add(5 * time.Minute)
	for i, r := range f.before.rooms[:3] {
		for j := range i + 1 {
			m := e.srv.PostMessage(r.ID, org.People[(i+j)%len(org.People)].ID, now.Add(-time.Duration(4-j)*time.Minute))
			f.seen[r.ID] = append(f.seen[r.ID], m)
		}
		f.moved = append(f.moved, r.ID)
	}
	f.victim = webextest.MakeID("ROOM", uint64(1_000_000+seed))
	e.srv.AddRoom(webextest.Room{ID: f.victim, Title: "Victim", Type: "group", Created: now.Add(-30 * time.Minute)})
	for j := range 5 {
		m := e.srv.PostMessage(f.victim, org.People[j].ID, now.Add(-time.Duration(20-3*j)*time.Minute))
		f.seen[f.victim] = append(f.seen[f.victim], asBacklog(m))
	}
	f.moved = append(f.moved, f.victim)
	return f
}

// current is the exact view at now: everything listed and read.
func (f *fixture) current(now time.Time) view {
	return view{now: now, listedAt: now, rooms: f.srv.Rooms(), seen: f.seen, titles: f.titles, up: true, messagesOK: true}
}

// outcome is how a faulted scrape ends.
type outcome int

const (
	absorbed        outcome = iota // the client copes within the scrape: exact at once
	listingFails                   // webex_up 0; every room keeps the warm scrape's values
	victimPending                  // listed; the victim could not be read, the others are exact
	victimPartial                  // listed; the victim's first page was read, the rest of its read waits
	messagesPending                // listed; none of the four rooms to read could be read
)

// faulted is what the faulted scrape at now must show, given the listing it saw.
func (f *fixture) faulted(o outcome, now time.Time, listing []webextest.Room) view {
	v := f.current(now)
	v.rooms = listing
	var failed []string
	switch o {
	case listingFails:
		v = f.before
		v.now, v.up = now, false
		return v
	case victimPending, victimPartial:
		failed = []string{f.victim}
	case messagesPending:
		failed = f.moved
	}
	if len(failed) > 0 {
		v.seen, v.stale, v.messagesOK = cloneSeen(f.seen), map[string]time.Time{}, false
		for _, id := range failed {
			if o != victimPartial { // the victim's five messages fit its first page
				v.seen[id] = f.before.seen[id]
			}
			v.stale[id] = time.Time{}
			if slices.ContainsFunc(f.before.rooms, func(r webextest.Room) bool { return r.ID == id }) {
				v.stale[id] = t0
			}
		}
	}
	return v
}

// partial is the outcome of a fault that breaks a read after its first
// page: the listing fails, or the victim's first page is kept.
func partial(o outcome) outcome {
	if o == victimPending {
		return victimPartial
	}
	return o
}

// gate says how the client's rate-limit gate stands after the fault.
type gate int

const (
	open      gate = iota
	shortWait      // reopens within seconds: the recovery scrape waits for it
	longWait       // closed far past any deadline (60 s and more): the exporter backs off
)

type faultCase struct {
	name     string
	target   string // "rooms" or "messages"
	fault    webextest.Fault
	inject   func(f *fixture) // instead of fault, or to prepare it
	during   func(f *fixture) // runs while the scrape's message calls are held
	deadline time.Duration    // default 4 s
	outcome  outcome
	gate     gate
	minPause time.Duration // longWait: the least pause the gate must announce
	reauth   bool          // the recovery scrape asks /people/me again (401 on the listing)
	// slow: the fault holds the scrape to its deadline; any other fault
	// must fail (or be coped with) well before it: no waiting for a
	// Retry-After past the deadline, no following a loop until it.
	slow  bool
	check func(t *testing.T, f *fixture, took time.Duration)
}

func TestFaultMatrix(t *testing.T) {
	t.Parallel() // CPU-bound (each case on its bubble's clock): beside the other such tests
	var cases []faultCase
	statuses := []int{400, 401, 403, 404, 410, 500, 502, 503, 504}
	for _, target := range []string{"rooms", "messages"} {
		for _, code := range statuses {
			o := listingFails
			if target == "messages" {
				o = victimPending
			}
			cases = append(cases, faultCase{name: fmt.Sprintf("%d %s", code, http.StatusText(code)), target: target, fault: webextest.Fault{Status: code},
				outcome: o, reauth: code == 401 && target == "rooms"})
		}
	}
	cases = append(cases, faultCase{name: "room left between listing and reading", target: "messages", outcome: victimPending,
		during: func(f *fixture) {
			f.srv.RemoveRoom(f.victim)
			delete(f.seen, f.victim)
		}})

	// Rate limits: on the listing it fails; on messages the whole account
	// is limited, so every message call is refused.
	httpDate := func(d time.Duration) string { return time.Now().Add(d).UTC().Format(http.TimeFormat) }
	for _, target := range []string{"rooms", "messages"} {
		o := listingFails
		if target == "messages" {
			o = messagesPending
		}
		cases = append(cases,
			faultCase{name: "429 Retry-After 1 s, once", target: target, fault: webextest.Fault{Status: 429, RetryAfter: "1", Times: 1},
				deadline: 6 * time.Second, outcome: absorbed, gate: shortWait,
				check: func(t *testing.T, f *fixture, took time.Duration) {
					if took < time.Second {
						t.Errorf("the scrape took %v: it did not wait for Retry-After", took)
					}
				}},
			faultCase{name: "429 Retry-After 5 s", target: target, fault: webextest.Fault{Status: 429, RetryAfter: "5"},
				outcome: o, gate: shortWait},
			faultCase{name: "429 Retry-After HTTP date", target: target,
				inject: func(f *fixture) {
					f.srv.InjectFault(faultOn(target, f, webextest.Fault{Status: 429, RetryAfter: httpDate(6 * time.Second)}))
				},
				outcome: o, gate: shortWait},
			faultCase{name: "423 Retry-After 5 s", target: target, fault: webextest.Fault{Status: 423, RetryAfter: "5"},
				outcome: o, gate: shortWait},
			faultCase{name: "429 Retry-After malformed", target: target, fault: webextest.Fault{Status: 429, RetryAfter: "rand(30),add(30)"},
				outcome: o, gate: longWait, minPause: 55 * time.Second},
			faultCase{name: "429 Retry-After 3600 s", target: target, fault: webextest.Fault{Status: 429, RetryAfter: "3600"},
				outcome: o, gate: longWait, minPause: 59 * time.Minute},
		)
	}

	for _, target := range []string{"rooms", "messages"} {
		o := listingFails
		if target == "messages" {
			o = victimPending
		}
		cases = append(cases,
			faultCase{name: "connection reset", target: target, fault: webextest.Fault{ResetConnection: true}, outcome: o},
			faultCase{name: "body stalls past the deadline", target: target, fault: webextest.Fault{Stall: true},
				deadline: 400 * time.Millisecond, outcome: o, slow: true},
			faultCase{name: "answer slower than the deadline", target: target, fault: webextest.Fault{Delay: time.Minute},
				deadline: 400 * time.Millisecond, outcome: o, slow: true},
			faultCase{name: "malformed JSON", target: target, fault: webextest.Fault{Malformed: true}, outcome: o},
			faultCase{name: "truncated body", target: target, fault: webextest.Fault{Truncate: true}, outcome: o},
			faultCase{name: "50 MB body", target: target, fault: webextest.Fault{HugeBody: 50 << 20}, deadline: 10 * time.Second, outcome: o},
			faultCase{name: "Link loop", target: target, fault: webextest.Fault{LinkLoop: true}, outcome: partial(o)},
			faultCase{name: "Link to another host", target: target, outcome: partial(o),
				inject: func(f *fixture) {
					var calls atomic.Int64
					other := f.net.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						calls.Add(1)
						w.Write([]byte(`{"items":[]}`))
					}))
					f.t.Cleanup(other.Close)
					f.t.Cleanup(func() {
						if n := calls.Load(); n > 0 {
							f.t.Errorf("the other host received %d requests (and the token)", n)
						}
					})
					f.srv.InjectFault(faultOn(target, f, webextest.Fault{LinkHost: other.URL + "/v1"}))
				}},
			faultCase{name: "empty page with a next link", target: target, fault: webextest.Fault{EmptyPage: true, Times: 1}, outcome: absorbed},
			faultCase{name: "empty pages without end", target: target, fault: webextest.Fault{EmptyPage: true}, outcome: o},
		)
	}
	cases = append(cases, faultCase{name: "kms_failure item", target: "rooms", outcome: absorbed,
		inject: func(f *fixture) {
			// A room whose title decrypted before keeps it; one that never
			// did (the generated kms_failure room) has none.
			r := f.before.rooms[10]
			f.titles[r.ID] = r.Title
			r.KMSFailure = true
			f.srv.AddRoom(r)
		}})

	seeds := map[string]int64{}
	for i, c := range cases {
		name := c.target + "/" + c.name
		if _, dup := seeds[name]; dup {
			t.Fatalf("duplicate case %s", name)
		}
		seeds[name] = int64(100 + i)
	}
	for _, c := range cases {
		t.Run(c.target+"/"+c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { runFaultCase(t, c, seeds[c.target+"/"+c.name]) })
		})
	}
}

// faultOn aims a fault at the case's target: the listing, or (for rate
// limits, which apply to the account) every message call, or else the
// victim's messages.
func faultOn(target string, f *fixture, ft webextest.Fault) webextest.Fault {
	ft.Endpoint = target
	if target == "messages" && ft.Status != 429 && ft.Status != 423 {
		ft.RoomID = f.victim
	}
	return ft
}

func runFaultCase(t *testing.T, c faultCase, seed int64) {
	f := newFixture(t, seed)
	if c.deadline == 0 {
		c.deadline = 4 * time.Second
	}
	if c.inject != nil {
		c.inject(f)
	} else if c.during == nil {
		f.srv.InjectFault(faultOn(c.target, f, c.fault))
	}
	now := f.clock.Now()
	listing := f.srv.Rooms()

	var got map[string]float64
	start := time.Now()
	if c.during == nil {
		got = f.scrape(t, c.deadline)
	} else {
		f.srv.ResetRequests()
		release := f.srv.Hold("messages")
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			got = f.scrape(t, c.deadline)
		}()
		ctx, cancel := context.WithTimeout(context.Background(), c.deadline)
		err := f.srv.WaitRequests(ctx, "messages", 1)
		cancel()
		if err != nil {
			release()
			wg.Wait()
			t.Fatalf("no message call while the listing was done: %v", err)
		}
		c.during(f)
		release()
		wg.Wait()
	}
	took := time.Since(start)
	switch {
	case took > c.deadline:
		t.Errorf("the scrape took %v; its deadline was %v", took, c.deadline)
	case c.slow && took < c.deadline:
		t.Errorf("the scrape took %v: the fault did not hold it to its %v deadline", took, c.deadline)
	case !c.slow && took > c.deadline/2:
		t.Errorf("the scrape took %v of its %v deadline: it should have given up (or coped) at once", took, c.deadline)
	}
	last := f.faulted(c.outcome, now, listing)
	compare(t, got, last.want(f.windows))
	if c.check != nil {
		c.check(t, f, took)
	}
	f.srv.ClearFaults()

	if c.gate == longWait {
		// Webex asked to wait far past any deadline: the next scrape sends
		// nothing and serves the last values, which stay exact as of then.
		if until := f.client.PausedUntil(); time.Until(until) < c.minPause {
			t.Errorf("rate-limit gate open at %v, want at least %v from now", until, c.minPause)
		}
		f.srv.ResetRequests()
		last.now, last.up = f.clock.Add(time.Minute), false
		const backOffDeadline = 4 * time.Second
		start := time.Now()
		got := f.scrape(t, backOffDeadline)
		if took := time.Since(start); took > backOffDeadline/2 {
			t.Errorf("the backing-off scrape took %v of its %v deadline", took, backOffDeadline)
		}
		if n := f.srv.RequestsTotal(); n != 0 {
			t.Errorf("%d calls sent while Webex asked to wait", n)
		}
		compare(t, got, last.want(f.windows))
		return
	}

	// The fault is gone: the next scrape reads what the faulted one could
	// not (pending rooms first) and is exact again. After a short
	// Retry-After it waits for the gate within its deadline.
	var jobs []string
	switch c.outcome {
	case listingFails:
		jobs = f.moved
	case victimPending, victimPartial:
		jobs = []string{f.victim}
	case messagesPending:
		jobs = f.moved
	}
	jobs = slices.DeleteFunc(slices.Clone(jobs), func(id string) bool { _, ok := f.srv.Room(id); return !ok })
	f.srv.ResetRequests()
	now = f.clock.Add(time.Minute)
	const recoveryDeadline = 10 * time.Second // the gate reopens within 6 s of the fault
	start = time.Now()
	got = f.scrape(t, recoveryDeadline)
	if took := time.Since(start); took > recoveryDeadline {
		t.Errorf("the recovery scrape took %v", took)
	}
	compare(t, got, f.current(now).want(f.windows))
	me := 0
	if c.reauth {
		me = 1
	}
	assertCalls(t, f.srv, 1, len(jobs), me)
}
