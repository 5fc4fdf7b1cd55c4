package collector

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/webex-exporter/webex_exporter/webex"
	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// readyTracker is a tracker on srv, built from the package's
// exported API only.
func readyTracker(t *testing.T, srv *webextest.Server, stateFile string) *Tracker {
	t.Helper()
	client, err := webex.New(webex.Options{BaseURL: srv.URL, Token: webex.StaticToken(webextest.DefaultToken)})
	if err != nil {
		t.Fatal(err)
	}
	windows, _ := ParseWindows("1h,24h")
	return NewTracker(client, Config{Windows: windows, StateFile: stateFile})
}

func readyOrg() *webextest.Org {
	return webextest.GenerateOrg(webextest.OrgConfig{Seed: 3, Rooms: 5, ActiveFraction: 1, History: 2 * time.Hour, Now: time.Now()})
}

// ready calls Ready and fails the test if it spent an API call.
func ready(t *testing.T, srv *webextest.Server, tr *Tracker) bool {
	t.Helper()
	before := srv.RequestsTotal()
	r := tr.Ready()
	if after := srv.RequestsTotal(); after != before {
		t.Fatalf("Ready made %d API calls", after-before)
	}
	return r
}

func snapshot(t *testing.T, tr *Tracker) *Snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return tr.Snapshot(ctx)
}

// TestReadyAfterFirstListing: not ready until a listing succeeds, then
// ready, and still ready when a later listing fails (the rooms are served
// with their last known values and webex_up 0).
func TestReadyAfterFirstListing(t *testing.T) {
	srv := webextest.NewServer(readyOrg())
	t.Cleanup(srv.Close)
	tr := readyTracker(t, srv, "")
	if ready(t, srv, tr) {
		t.Fatal("ready before any listing")
	}
	srv.InjectFault(webextest.Fault{Endpoint: "rooms", Status: 500, Times: 1})
	if s := snapshot(t, tr); s.Up {
		t.Fatal("the first listing succeeded despite the fault")
	}
	if ready(t, srv, tr) {
		t.Fatal("ready after a failed first listing")
	}
	if s := snapshot(t, tr); !s.Up {
		t.Fatal("the second listing failed")
	}
	if !ready(t, srv, tr) {
		t.Fatal("not ready after a successful listing")
	}
	srv.InjectFault(webextest.Fault{Endpoint: "rooms", Status: 500})
	if s := snapshot(t, tr); s.Up {
		t.Fatal("a listing succeeded despite the fault")
	}
	if !ready(t, srv, tr) {
		t.Error("not ready after a later listing failed; want ready (the rooms are still served)")
	}
}

// TestReadyFromRestoredState: a restored state file makes the tracker
// ready once its account is confirmed, before any listing; a state file of
// another account does not.
func TestReadyFromRestoredState(t *testing.T) {
	org := readyOrg()
	srv := webextest.NewServer(org)
	t.Cleanup(srv.Close)
	path := filepath.Join(t.TempDir(), "state.json")
	first := readyTracker(t, srv, path)
	if s := snapshot(t, first); !s.Up {
		t.Fatal("listing failed")
	}
	if err := first.SaveState(); err != nil {
		t.Fatal(err)
	}

	second := readyTracker(t, srv, path)
	second.LoadState()
	if ready(t, srv, second) {
		t.Fatal("ready with the state file read but its account not confirmed")
	}
	rooms := srv.Requests()["rooms"]
	if err := second.LearnAccount(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !ready(t, srv, second) {
		t.Fatal("not ready after the restored state's account was confirmed")
	}
	if n := srv.Requests()["rooms"]; n != rooms {
		t.Errorf("%d listings to become ready from the state file; want none", n-rooms)
	}

	other := org.Me
	other.ID += "-other"
	srv.SetMe(other)
	third := readyTracker(t, srv, path)
	third.LoadState()
	if err := third.LearnAccount(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ready(t, srv, third) {
		t.Error("ready from another account's state file; want not ready until a listing")
	}
}
