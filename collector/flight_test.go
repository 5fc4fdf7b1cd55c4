package collector

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// waitFor waits for n signals on ch, failing after a generous time.
func waitFor(t *testing.T, ch <-chan struct{}, n int) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for i := range n {
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("only %d of %d signals came", i, n)
		}
	}
}

// TestClientLeavingDoesNotSpoilLongOne: over HTTP, a scrape whose client
// hangs up starts the refresh; a long scrape joins it and gets webex_up 1
// and fresh values: the refresh does not end with the scrape that started
// it. (The same with a short deadline, and this on exact time, are
// TestFlightOnFakeTime and TestClientLeavingDoesNotSpoilLongOneOnFakeTime:
// with real time, a 1 s deadline need not leave the long scrape time to
// join on a loaded machine.)
func TestClientLeavingDoesNotSpoilLongOne(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 21, Rooms: 60, Now: t0})
	e := newEnv(t, org, Config{})
	waiting := make(chan struct{}, 1)
	e.tracker.onWait = func() { waiting <- struct{}{} }
	release := e.srv.Hold("rooms")
	defer release()

	shortCtx, leave := context.WithCancel(context.Background())
	defer leave()
	short := make(chan *Snapshot, 1)
	go func() { short <- e.tracker.Snapshot(shortCtx) }()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.srv.WaitRequests(ctx, "rooms", 1); err != nil {
		t.Fatal(err)
	}
	long := make(chan map[string]float64, 1)
	go func() { long <- e.scrape(t, 30*time.Second) }()
	waitFor(t, waiting, 1)
	leave()
	if s := <-short; s.Up {
		t.Errorf("the scrape whose client left, answered before the refresh ended, says webex_up 1")
	}
	release()
	got := <-long
	compare(t, got, expected(t0, e.windows, truth(e.srv, coldSeen(e.srv, t0.Add(-24*time.Hour)), nil)))
}

// TestLongScrapeDoesNotDelayNormalOne: over HTTP, a scrape with a very
// long deadline starts a refresh whose listing hangs; a normal scrape
// answers with the last snapshot, saying webex_up 0 (it got no fresh
// listing), and the long one still gets the refresh's result. That the
// normal one is answered at exactly its deadline is
// TestLongScrapeDoesNotDelayNormalOneOnFakeTime; here, on real time, only a
// ceiling of seconds (waiting for the held listing would take minutes).
func TestLongScrapeDoesNotDelayNormalOne(t *testing.T) {
	t.Parallel() // mostly waits out a deadline on real time
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 22, Rooms: 60, Now: t0})
	e := newEnv(t, org, Config{})
	if got := e.scrape(t, 30*time.Second); got[key("webex_up")] != 1 {
		t.Fatal("first scrape failed")
	}
	e.clock.Add(time.Minute)
	release := e.srv.Hold("rooms")
	defer release()
	long := make(chan map[string]float64, 1)
	go func() { long <- e.scrape(t, time.Hour) }()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.srv.WaitRequests(ctx, "rooms", 2); err != nil {
		t.Fatal(err)
	}

	const deadline, ceiling = 300 * time.Millisecond, 10 * time.Second
	start := time.Now()
	got := e.scrape(t, deadline)
	if took := time.Since(start); took > ceiling {
		t.Errorf("the normal scrape took %v, past its %v deadline", took, deadline)
	}
	for _, k := range []string{key("webex_up"), key("webex_scrape_collector_success", "collector", "rooms"),
		key("webex_scrape_collector_success", "collector", "messages")} {
		if got[k] != 0 {
			t.Errorf("normal scrape answered without the refresh: %s = %v, want 0", k, got[k])
		}
	}
	if got[key("webex_rooms", "room_type", "group")]+got[key("webex_rooms", "room_type", "direct")] != 60 {
		t.Errorf("normal scrape lost the last known rooms: %v", got[key("webex_rooms", "room_type", "group")])
	}
	release()
	if got := <-long; got[key("webex_up")] != 1 {
		t.Errorf("long scrape: webex_up = %v, want 1", got[key("webex_up")])
	}
}

// TestMinInterval: scrapes within the minimum interval of the last
// refresh's start cost no API call and show that refresh; the first scrape
// after it refreshes.
func TestMinInterval(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 23, Rooms: 300, Now: t0})
	e := newEnv(t, org, Config{MinInterval: 10 * time.Second})
	first := e.scrape(t, 30*time.Second)
	rooms := e.srv.Rooms()
	for _, r := range rooms[:7] {
		e.srv.PostMessage(r.ID, org.People[0].ID, t0.Add(time.Second))
	}
	e.srv.ResetRequests()
	for i := range 5 {
		if i == 4 {
			e.clock.Add(10*time.Second - time.Millisecond)
		}
		compare(t, e.scrape(t, 30*time.Second), first)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { e.scrape(t, 30*time.Second) })
	}
	wg.Wait()
	assertCalls(t, e.srv, 0, 0, 0)

	e.clock.Add(time.Millisecond)
	got := e.scrape(t, 30*time.Second)
	assertCalls(t, e.srv, 1, 7, 0)
	if got[key("webex_room_messages_total", "room_id", rooms[0].ID)] != first[key("webex_room_messages_total", "room_id", rooms[0].ID)]+1 {
		t.Errorf("the scrape after the interval does not show the new message")
	}
}

// TestConcurrentScrapesShareOneRendering: scrapes that share a refresh,
// and those served from it within the minimum interval, get the same
// snapshot, rendered once, whatever encoding each asks.
func TestConcurrentScrapesShareOneRendering(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 24, Rooms: 200, Now: t0})
	e := newEnv(t, org, Config{MinInterval: time.Minute})
	waiting := make(chan struct{}, 10)
	e.tracker.onWait = func() { waiting <- struct{}{} }
	release := e.srv.Hold("rooms")
	defer release()

	const n = 10
	snaps := make([]*Snapshot, 2*n)
	var wg sync.WaitGroup
	scrape := func(i int) {
		defer wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		snaps[i] = e.tracker.Snapshot(ctx)
		if err := snaps[i].WriteText(io.Discard, []byte("own 1\n"), i%2 == 0); err != nil {
			t.Error(err)
		}
	}
	wg.Add(1)
	go scrape(0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.srv.WaitRequests(ctx, "rooms", 1); err != nil {
		t.Fatal(err)
	}
	wg.Add(n - 1)
	for i := 1; i < n; i++ {
		go scrape(i)
	}
	waitFor(t, waiting, n-1)
	release()
	wg.Wait()
	wg.Add(n) // within the minimum interval: served from the same snapshot
	for i := n; i < 2*n; i++ {
		go scrape(i)
	}
	wg.Wait()

	for i, s := range snaps {
		if s != snaps[0] {
			t.Fatalf("scrape %d got another snapshot", i)
		}
	}
	if !snaps[0].Up {
		t.Fatal("the refresh failed")
	}
	if got := e.tracker.fl.renders.Load(); got != 1 {
		t.Errorf("%d scrapes made %d renderings, want 1", 2*n, got)
	}
}
