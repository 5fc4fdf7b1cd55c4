package webextest

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The fake answers as Webex documents or is known to (issue 18, item 3).

// links splits a Link header into its targets by rel.
func links(t *testing.T, a answer) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, l := range strings.Split(a.header.Get("Link"), ", ") {
		m := regexp.MustCompile(`^<([^>]*)>; rel="(first|prev|next)"$`).FindStringSubmatch(l)
		if m == nil {
			if l != "" {
				t.Fatalf("Link %q: %q is no link", a.header.Get("Link"), l)
			}
			continue
		}
		out[m[2]] = m[1]
	}
	return out
}

// TestLinkFirstAndPrev: beyond the first page a listing's Link carries
// rel="first" (and rel="prev" where the cursor allows) beside rel="next",
// and each target is the page it names.
func TestLinkFirstAndPrev(t *testing.T) {
	s := newTestServer(t, OrgConfig{Seed: 1, Rooms: 30, ActiveFraction: 1})
	room := url.QueryEscape(s.Rooms()[0].ID)
	for _, path := range []string{"/rooms?max=7", "/memberships?max=7", "/teams?max=1", "/memberships?max=1&roomId=" + room} {
		t.Run(path, func(t *testing.T) {
			first := get(t, s, s.URL+path)
			l := links(t, first)
			if l["first"] != "" || l["prev"] != "" || l["next"] == "" {
				t.Fatalf("first page's links %v: want next only", l)
			}
			second := get(t, s, l["next"])
			l2 := links(t, second)
			if l2["first"] == "" || l2["next"] == "" {
				t.Fatalf("second page's links %v: want first and next (Link %q)", l2, second.header.Get("Link"))
			}
			if again := get(t, s, l2["first"]); string(again.body) != string(first.body) {
				t.Errorf("rel=first is not the first page")
			}
			if l2["prev"] != "" && string(get(t, s, l2["prev"]).body) != string(first.body) {
				t.Errorf("the second page's rel=prev is not the first page")
			}
			if strings.HasPrefix(path, "/memberships") {
				l3 := links(t, get(t, s, l2["next"]))
				if l3["prev"] == "" || string(get(t, s, l3["prev"]).body) != string(second.body) {
					t.Errorf("the third page's rel=prev %q is not the second page", l3["prev"])
				}
			}
		})
	}
	events := newTestServer(t, recentOrg(5, 5), WithComplianceOfficer())
	l := links(t, get(t, events, links(t, get(t, events, events.URL+"/events?max=2"))["next"]))
	if l["first"] == "" || l["next"] == "" {
		t.Errorf("events' second page links %v", l)
	}
}

// TestTimesInBothForms: a time of a whole second is written as the
// description's message and webhook examples write it, any other with
// milliseconds and Z.
func TestTimesInBothForms(t *testing.T) {
	s := newTestServer(t, OrgConfig{Seed: 1, Rooms: 1})
	room := s.Rooms()[0]
	whole := testNow.Add(-time.Hour).Truncate(time.Second)
	s.PostMessage(room.ID, "", whole)
	s.PostMessage(room.ID, "", whole.Add(920*time.Millisecond))
	got, _ := listAll[testMessage](t, s, s.URL+"/messages?max=2&roomId="+url.QueryEscape(room.ID))
	want := []string{whole.UTC().Format("2006-01-02T15:04:05") + ".920Z", whole.UTC().Format("2006-01-02T15:04:05") + "+00:00"}
	if len(got) < 2 || got[0].Created != want[0] || got[1].Created != want[1] {
		t.Fatalf("created %+v; want %q", got, want)
	}
	for i, w := range want {
		if parsed, err := time.Parse(time.RFC3339Nano, w); err != nil || !parsed.Equal(whole.Add(time.Duration(1-i)*920*time.Millisecond)) {
			t.Errorf("%q reads as %v, %v", w, parsed, err)
		}
	}
}

// TestBotActivityRefused: a bot listing a group room's messages without
// mentionedPeople=me gets Webex's 403 "Failed to get activity.".
func TestBotActivityRefused(t *testing.T) {
	s := newTestServer(t, OrgConfig{Seed: 4, Rooms: 10, MeType: "bot"})
	for _, r := range s.Rooms() {
		if r.Type != "group" {
			continue
		}
		a := get(t, s, s.URL+"/messages?roomId="+url.QueryEscape(r.ID))
		if e := decode[testError](t, a); a.status != 403 || e.Message != "Failed to get activity." || e.Errors[0].Description != e.Message {
			t.Fatalf("%d %s", a.status, a.body)
		}
		return
	}
	t.Fatal("no group room")
}

// TestFaultAboveMax: a fault with MaxAbove answers only requests asking a
// larger max, as Webex's 504 "please try to reduce it" does.
func TestFaultAboveMax(t *testing.T) {
	s := newTestServer(t, OrgConfig{Seed: 1, Rooms: 10})
	s.InjectFault(Fault{Endpoint: "rooms", MaxAbove: 200, Status: 504})
	for q, want := range map[string]int{"max=1000": 504, "max=201": 504, "max=200": 200, "max=50": 200, "": 200} {
		a := get(t, s, s.URL+"/rooms?"+q)
		if a.status != want {
			t.Errorf("%s: %d, want %d", q, a.status, want)
		}
		if want == 504 && !strings.Contains(decode[testError](t, a).Message, "please try to reduce it") {
			t.Errorf("%s: %s", q, a.body)
		}
	}
}

// TestFaultLink: a fault with Link answers the normal page with that Link
// header as written.
func TestFaultLink(t *testing.T) {
	s := newTestServer(t, OrgConfig{Seed: 1, Rooms: 10})
	s.InjectFault(Fault{Endpoint: "rooms", Link: "https://example.com/next; rel=next", Times: 1})
	a := get(t, s, s.URL+"/rooms?max=2")
	if a.status != 200 || a.header.Get("Link") != "https://example.com/next; rel=next" || len(decode[struct{ Items []testRoom }](t, a).Items) != 2 {
		t.Fatalf("%d, Link %q, %s", a.status, a.header.Get("Link"), a.body)
	}
}
