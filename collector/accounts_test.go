package collector

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/webex-exporter/webex_exporter/webex"
	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// TestBotAccount: a bot cannot list a group room's messages without being
// mentioned, so the exporter asks for none (zero 403 answers), keeps group
// rooms' listing metrics without message metrics, and counts direct rooms in full.
func TestBotAccount(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 21, Rooms: 400, Now: t0, MeType: "bot", ActiveFraction: 0.5})
	e := newEnv(t, org, Config{})
	got := e.scrape(t, 30*time.Second)

	since := t0.Add(-24 * time.Hour)
	seen := coldSeen(e.srv, since)
	want := expected(t0, e.windows, truth(e.srv, seen, nil))
	directActive := 0
	for _, r := range e.srv.Rooms() {
		if r.Type == "direct" {
			if r.LastActivity.After(since) {
				directActive++
			}
			continue
		}
		for k := range want {
			if strings.Contains(k, `room_id="`+r.ID+`"`) && (strings.HasPrefix(k, "webex_room_recent_") ||
				strings.HasPrefix(k, "webex_room_messages_total") || strings.HasPrefix(k, "webex_room_last_message_")) {
				delete(want, k)
			}
		}
	}
	compare(t, got, want)
	assertCalls(t, e.srv, 1, directActive, 1)
	for _, r := range e.srv.RequestLog() {
		if r.Status == 403 {
			t.Errorf("a call was refused with 403: %s?%s", r.Path, r.RawQuery)
		}
	}
}

func TestFilters(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 22, Rooms: 300, Now: t0, ActiveFraction: 0.5})
	rooms := org.Rooms
	var teamID, oneTitle string
	for _, r := range rooms {
		if r.TeamID != "" && teamID == "" {
			teamID = r.TeamID
		}
		if r.Type == "group" && oneTitle == "" {
			oneTitle = r.Title
		}
	}
	cases := []struct {
		name   string
		filter func() (Filter, error)
		keep   func(webextest.Room) bool
	}{
		{"type", func() (Filter, error) { return NewFilter([]string{"direct"}, nil, nil, "", "") },
			func(r webextest.Room) bool { return r.Type == "direct" }},
		{"team", func() (Filter, error) { return NewFilter(nil, []string{teamID}, nil, "", "") },
			func(r webextest.Room) bool { return r.TeamID == teamID }},
		{"room ids", func() (Filter, error) { return NewFilter(nil, nil, []string{rooms[3].ID, rooms[7].ID}, "", "") },
			func(r webextest.Room) bool { return r.ID == rooms[3].ID || r.ID == rooms[7].ID }},
		{"include", func() (Filter, error) { return NewFilter(nil, nil, nil, regexp.QuoteMeta(oneTitle), "") },
			func(r webextest.Room) bool { return r.Title == oneTitle }},
		{"exclude", func() (Filter, error) { return NewFilter([]string{"group"}, nil, nil, "", "(?i).*a.*") },
			func(r webextest.Room) bool {
				return r.Type == "group" && !strings.Contains(strings.ToLower(r.Title), "a")
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := c.filter()
			if err != nil {
				t.Fatal(err)
			}
			e := newEnv(t, org, Config{Filter: f})
			got := e.scrape(t, 30*time.Second)
			since := t0.Add(-24 * time.Hour)
			seen := coldSeen(e.srv, since)
			var kept []roomTruth
			active := 0
			for _, rt := range truth(e.srv, seen, nil) {
				if c.keep(rt.room) {
					kept = append(kept, rt)
					if rt.room.LastActivity.After(since) {
						active++
					}
				}
			}
			if len(kept) == 0 || len(kept) == len(rooms) {
				t.Fatalf("the case keeps %d of %d rooms: it tests nothing", len(kept), len(rooms))
			}
			compare(t, got, expected(t0, e.windows, kept))
			assertCalls(t, e.srv, 1, active, 1)
		})
	}
	if _, err := NewFilter(nil, nil, nil, "(", ""); err == nil {
		t.Error("an invalid include expression was accepted")
	}
	if _, err := NewFilter([]string{"channel"}, nil, nil, "", ""); err == nil {
		t.Error("an unknown room type was accepted")
	}
}

// TestMemberships: member counts are read for every room at first, then
// only for rooms whose lastActivity moved, and for all again after the
// refresh interval.
func TestMemberships(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 23, Rooms: 120, Now: t0})
	e := newEnv(t, org, Config{Memberships: true, MembershipsRefresh: time.Hour})
	check := func(step string, got map[string]float64, wantCalls int) {
		t.Helper()
		for _, r := range e.srv.Rooms() {
			k := key("webex_room_members", "room_id", r.ID)
			if want := float64(len(e.srv.Org().Memberships[r.ID])); got[k] != want {
				t.Fatalf("%s: %s = %v, want %v", step, k, got[k], want)
			}
		}
		if n := e.srv.Requests()["memberships"]; n != wantCalls {
			t.Errorf("%s: %d membership calls, want %d", step, n, wantCalls)
		}
		if got[key("webex_scrape_collector_success", "collector", "memberships")] != 1 {
			t.Errorf("%s: memberships collector failed", step)
		}
	}
	check("first scrape", e.scrape(t, 30*time.Second), 120)

	now := e.clock.Add(10 * time.Minute)
	e.srv.ResetRequests()
	changed := e.srv.Rooms()[5]
	e.srv.PostMessage(changed.ID, org.People[0].ID, now.Add(-time.Second))
	check("one room moved", e.scrape(t, 30*time.Second), 1)

	e.clock.Add(time.Hour)
	e.srv.ResetRequests()
	check("refresh interval passed", e.scrape(t, 30*time.Second), 120)
}

// TestTokenFileRewrittenMidRun: after Webex and the token file both rotate,
// the next scrape uses the new token.
func TestTokenFileRewrittenMidRun(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 24, Rooms: 30, Now: t0})
	srv := webextest.NewServer(org, webextest.WithToken("token-one"))
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "token")
	os.WriteFile(path, []byte("token-one"), 0o600)
	ft, err := webex.NewFileToken(path)
	if err != nil {
		t.Fatal(err)
	}
	client, _ := webex.New(webex.Options{BaseURL: srv.URL, Token: ft})
	windows, _ := ParseWindows("1h")
	e := &env{srv: srv, client: client, tracker: NewTracker(client, Config{Windows: windows, Now: func() time.Time { return t0 }}), windows: windows}
	if got := e.scrape(t, 10*time.Second); got[key("webex_up")] != 1 {
		t.Fatal("first scrape failed")
	}
	srv.SetToken("token-two-rotated")
	if got := e.scrape(t, 10*time.Second); got[key("webex_up")] != 0 {
		t.Fatal("scrape succeeded with a token Webex no longer accepts")
	}
	os.WriteFile(path, []byte("token-two-rotated"), 0o600)
	if got := e.scrape(t, 10*time.Second); got[key("webex_up")] != 1 {
		t.Error("the scrape after the file was rewritten did not use the new token")
	}
}

func TestHiddenTitlesAndTokenExpiry(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 25, Rooms: 10, Now: t0})
	expiry := t0.Add(14 * 24 * time.Hour)
	e := newEnv(t, org, Config{HideTitles: true, TokenExpiry: func() time.Time { return expiry }})
	got := e.scrape(t, 10*time.Second)
	for k := range got {
		if strings.HasPrefix(k, "webex_room_info{") && !strings.Contains(k, `title=""`) {
			t.Errorf("a title is exported: %s", k)
		}
	}
	if got[key("webex_token_expiry_timestamp_seconds")] != unixSec(expiry) {
		t.Errorf("token expiry = %v, want %v", got[key("webex_token_expiry_timestamp_seconds")], unixSec(expiry))
	}
}
