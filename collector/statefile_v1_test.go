package collector

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// The files in testdata/ were written by the exporter before the state file
// got a package of its own (commit 6e85a29), as testdata/README.md tells.
// They must keep loading.

// copyTestdata copies a testdata file into a temporary directory.
func copyTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestStateV1Resumes: a member-scope file of format 1 (written by
// commit 6e85a29, with a webhook and an open gap) resumes as the exporter
// that wrote it left off: the first refresh reads only the gap, and the
// values are exact.
func TestStateV1Resumes(t *testing.T) {
	// The organisation and messages the file was written against: five
	// rooms got a message, and one got 120 of which the read that wrote the
	// file got the newest 100 (the fake numbered them 10 to 134).
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 61, Rooms: 40, Now: t0, KMSFailures: 2})
	e := newEnv(t, org, Config{})
	seen := coldSeen(e.srv, t0.Add(-24*time.Hour))
	now := e.clock.Add(5 * time.Minute)
	n := uint64(10)
	post := func(room, person string, at time.Time) {
		m := e.srv.Post(webextest.Message{ID: webextest.MakeID("MESSAGE", n^0x4d455353), RoomID: room, PersonID: person, Created: at})
		seen[room] = append(seen[room], m)
		n++
	}
	for i, r := range e.srv.Rooms()[:5] {
		post(r.ID, org.People[i].ID, now.Add(-time.Minute))
	}
	gapRoom := e.srv.Rooms()[7].ID
	for i := range 120 {
		post(gapRoom, org.People[i%4].ID, now.Add(-time.Duration(120-i)*time.Second))
	}

	e2 := e.restart(t, Config{StateFile: copyTestdata(t, "state-v1-member.json")})
	got := e2.scrape(t, 10*time.Second)
	assertCalls(t, e.srv, 1, 1, 1) // the listing, the gap, the account
	compare(t, got, expected(now, e.windows, truth(e.srv, seen, nil)))
}

// TestStateV1Rewrites: whatever a file of format 1 holds (member and org
// scope: webhook, events cursor, gaps, undescribed and evented rooms,
// senders) comes back unchanged when it is loaded and written again.
func TestStateV1Rewrites(t *testing.T) {
	for _, c := range []struct {
		file  string
		scope Scope
	}{{"state-v1-member.json", ScopeMember}, {"state-v1-org.json", ScopeOrg}} {
		t.Run(c.file, func(t *testing.T) {
			path := copyTestdata(t, c.file)
			old, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var head struct {
				Written time.Time `json:"written"`
				Account string    `json:"account"`
			}
			if err := json.Unmarshal(old, &head); err != nil {
				t.Fatal(err)
			}
			windows, _ := ParseWindows("1h,24h")
			tr := NewTracker(nil, Config{Windows: windows, Scope: c.scope, StateFile: path, Now: func() time.Time { return head.Written }})
			tr.LoadState()
			tr.mu.Lock()
			tr.adoptLocked(head.Account)
			tr.mu.Unlock()
			if err := tr.SaveState(); err != nil {
				t.Fatal(err)
			}
			rewritten, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want, got := canonicalState(t, old), canonicalState(t, rewritten)
			if !reflect.DeepEqual(got, want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(want)
				t.Errorf("rewritten state differs:\n got %.2000s\nwant %.2000s", g, w)
			}
			if n := len(want["rooms"].([]any)); n < 5 {
				t.Errorf("%d rooms in %s", n, c.file)
			}
		})
	}
}

// canonicalState decodes a state file of format 1 generically, with each
// message's sender as its id and its time absolute, rooms sorted by id:
// what two files that hold the same state share.
func canonicalState(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	senders, _ := s["senders"].([]any)
	delete(s, "senders")
	rooms, _ := s["rooms"].([]any)
	for _, r := range rooms {
		room := r.(map[string]any)
		if idx, ok := room["senders"].([]any); ok {
			for i, n := range idx {
				idx[i] = senders[int(n.(float64))]
			}
		}
		if at, ok := room["at"].([]any); ok {
			sum := 0.0
			for i, d := range at {
				sum += d.(float64)
				at[i] = sum
			}
		}
	}
	slices.SortFunc(rooms, func(a, b any) int {
		return strings.Compare(a.(map[string]any)["id"].(string), b.(map[string]any)["id"].(string))
	})
	return s
}
