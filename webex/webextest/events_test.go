package webextest

import (
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

type testEvent struct {
	ID, Resource, Type, ActorID, OrgID, Created string
	Data                                        struct {
		ID, RoomID, RoomType, OrgID, PersonID, PersonEmail, Created string
	}
}

// recentOrg is an organisation whose messages are inside the events'
// retention: Now is the real time.
func recentOrg(rooms, others int) OrgConfig {
	return OrgConfig{Seed: 3, Rooms: rooms, OtherRooms: others, Now: time.Now().Add(-time.Minute)}
}

func TestGenerateOrgOtherRooms(t *testing.T) {
	cfg := recentOrg(20, 500)
	org := GenerateOrg(cfg)
	cfg.OtherRooms = 0
	if alone := GenerateOrg(cfg); !reflect.DeepEqual(alone.Rooms, org.Rooms) {
		t.Fatal("adding other rooms changed the account's rooms")
	}
	if len(org.Rooms) != 20 || len(org.OtherRooms) != 500 {
		t.Fatalf("%d rooms, %d others", len(org.Rooms), len(org.OtherRooms))
	}
	ids := map[string]bool{}
	for _, r := range append(slices.Clone(org.Rooms), org.OtherRooms...) {
		if ids[r.ID] {
			t.Fatalf("duplicate room id %s", r.ID)
		}
		ids[r.ID] = true
	}
	active := 0
	for _, r := range org.OtherRooms {
		members := org.Memberships[r.ID]
		if slices.Contains(members, org.Me.ID) {
			t.Errorf("other room %s has the account as a member", r.ID)
		}
		if r.Type == "direct" && (len(members) != 2 || r.Title != "") {
			t.Errorf("other direct room: members %v, title %q", members, r.Title)
		}
		for _, m := range org.Messages[r.ID] {
			if m.PersonID == org.Me.ID || m.mentions(org.Me.ID) || !slices.Contains(members, m.PersonID) {
				t.Errorf("other room message %+v: by or mentioning the account, or by a non-member", m)
			}
		}
		if len(org.Messages[r.ID]) > 0 && r.LastActivity.After(cfg.Now.Add(-48*time.Hour)) {
			active++
		}
	}
	if active < 50 {
		t.Errorf("only %d other rooms active", active)
	}
	s := NewServer(org)
	defer s.Close()
	rooms, _ := listAll[testRoom](t, s, s.URL+"/rooms?max=1000")
	if len(rooms) != 20 {
		t.Errorf("the listing has %d rooms, want the account's 20", len(rooms))
	}
	if got := s.Org(); len(got.OtherRooms) != 500 || len(got.Rooms) != 20 {
		t.Errorf("Org() has %d rooms, %d others", len(got.Rooms), len(got.OtherRooms))
	}
}

func TestEventsNeedComplianceOfficer(t *testing.T) {
	s := newTestServer(t, recentOrg(5, 5))
	a := get(t, s, s.URL+"/events")
	e := decode[testError](t, a)
	if a.status != 403 || e.Message == "" || e.TrackingID == "" || e.TrackingID != a.header.Get("Trackingid") {
		t.Fatalf("non-officer: %d %s", a.status, a.body)
	}
	s.SetComplianceOfficer(true)
	if a := get(t, s, s.URL+"/events"); a.status != 200 {
		t.Fatalf("officer: %d %s", a.status, a.body)
	}
	officer := NewServer(nil, WithComplianceOfficer())
	defer officer.Close()
	if a := get(t, officer, officer.URL+"/events"); a.status != 200 {
		t.Fatalf("WithComplianceOfficer: %d %s", a.status, a.body)
	}
}

// wantMessageEvents is the ground truth: every message of the organisation
// created at or after from, newest first.
func wantMessageEvents(org *Org, from time.Time) []Message {
	var want []Message
	for _, ms := range org.Messages {
		for _, m := range ms {
			if !m.Created.Before(from) {
				want = append(want, m)
			}
		}
	}
	slices.SortFunc(want, func(a, b Message) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return strings.Compare(messageEventID(b.ID), messageEventID(a.ID))
	})
	return want
}

func TestEventsGroundTruth(t *testing.T) {
	s := newTestServer(t, recentOrg(10, 200), WithComplianceOfficer())
	org := s.Org()
	from := time.Now().Add(-24 * time.Hour).UTC()
	want := wantMessageEvents(org, from)
	if len(want) < 100 {
		t.Fatalf("only %d messages in 24h", len(want))
	}
	for _, max := range []int{1000, 37} {
		t.Run("max="+strconv.Itoa(max), func(t *testing.T) {
			u := s.URL + "/events?resource=messages&type=created&max=" + strconv.Itoa(max) + "&from=" + url.QueryEscape(from.Format(time.RFC3339Nano))
			got, pages := listAll[testEvent](t, s, u)
			if wantPages := (len(want) + max - 1) / max; pages != wantPages {
				t.Errorf("%d pages, want %d", pages, wantPages)
			}
			if len(got) != len(want) {
				t.Fatalf("%d events, want %d", len(got), len(want))
			}
			for i, e := range got {
				m := want[i]
				if e.ID != messageEventID(m.ID) || e.Resource != "messages" || e.Type != "created" || e.ActorID != m.PersonID ||
					e.OrgID != org.ID || e.Created != formatTime(m.Created) || e.Data.ID != m.ID || e.Data.RoomID != m.RoomID ||
					e.Data.RoomType != m.RoomType || e.Data.PersonID != m.PersonID || e.Data.PersonEmail != m.PersonEmail ||
					e.Data.Created != formatTime(m.Created) || e.Data.OrgID != org.ID {
					t.Fatalf("event %d = %+v, want message %+v", i, e, m)
				}
			}
		})
	}
}

func TestEventsOtherResourcesAndFilters(t *testing.T) {
	s := newTestServer(t, recentOrg(3, 3), WithComplianceOfficer())
	org := s.Org()
	newcomer := Person{ID: MakeID("PEOPLE", 999), Email: "new@example.com", DisplayName: "New Comer"}
	s.AddPerson(newcomer)
	room := org.OtherRooms[0]
	at := time.Now().Add(-time.Second)
	m := s.PostMessage(room.ID, newcomer.ID, at)
	from := url.QueryEscape(at.Add(-time.Millisecond).Format(time.RFC3339Nano))
	got, _ := listAll[testEvent](t, s, s.URL+"/events?from="+from)
	if len(got) != 2 {
		t.Fatalf("events %+v, want the newcomer joining and posting", got)
	}
	kinds := []string{got[0].Resource + ":" + got[0].Type, got[1].Resource + ":" + got[1].Type}
	slices.Sort(kinds)
	if !reflect.DeepEqual(kinds, []string{"memberships:created", "messages:created"}) {
		t.Errorf("kinds %v", kinds)
	}
	for _, tc := range []struct {
		name, query string
		want        int
	}{
		{"resource", "resource=memberships", 1},
		{"type", "resource=messages&type=deleted", 0},
		{"actor", "actorId=" + url.QueryEscape(newcomer.ID), 2},
		{"other actor", "actorId=" + url.QueryEscape(org.Me.ID), 0},
		{"to excludes", "to=" + url.QueryEscape(m.Created.Format(time.RFC3339Nano)), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := listAll[testEvent](t, s, s.URL+"/events?from="+from+"&"+tc.query)
			if len(got) != tc.want {
				t.Errorf("%d events, want %d: %+v", len(got), tc.want, got)
			}
		})
	}
}

func TestEventsValidation(t *testing.T) {
	s := newTestServer(t, recentOrg(1, 1), WithComplianceOfficer())
	future := url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339))
	for _, tc := range []struct{ name, query string }{
		{"max text", "max=ten"},
		{"to in the future", "to=" + future}, {"bad from", "from=yesterday"},
		{"bad resource", "resource=chats"}, {"bad type", "type=posted"}, {"bad cursor", "cursor=%21"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := get(t, s, s.URL+"/events?"+tc.query)
			if e := decode[testError](t, a); a.status != 400 || e.Message == "" {
				t.Errorf("%d %s", a.status, a.body)
			}
		})
	}
	if a := get(t, s, s.URL+"/events?max=1000&to="+url.QueryEscape(time.Now().Add(-time.Second).Format(time.RFC3339))); a.status != 200 {
		t.Errorf("to in the past: %d %s", a.status, a.body)
	}
}

func TestEventsRetentionAndDefaultMax(t *testing.T) {
	s := newTestServer(t, OrgConfig{Seed: 1, Rooms: 1, ActiveFraction: -1, DirectFraction: -1}, WithComplianceOfficer())
	room := s.Org().Rooms[0]
	old := s.PostMessage(room.ID, "", time.Now().Add(-EventRetention-time.Minute))
	kept := s.PostMessage(room.ID, "", time.Now().Add(-EventRetention+time.Hour))
	got, _ := listAll[testEvent](t, s, s.URL+"/events?resource=messages")
	if len(got) != 1 || got[0].Data.ID != kept.ID {
		t.Errorf("events %+v: want only %s, not the one past retention %s", got, kept.ID, old.ID)
	}
	if a := get(t, s, s.URL+"/events/"+messageEventID(old.ID)); a.status != 404 {
		t.Errorf("GET of an event past retention: %d", a.status)
	}
	if a := get(t, s, s.URL+"/events/"+messageEventID(kept.ID)); decode[testEvent](t, a).Data.ID != kept.ID {
		t.Errorf("GET event: %d %s", a.status, a.body)
	}
	for range 150 {
		s.PostMessage(room.ID, "", time.Now().Add(-time.Hour))
	}
	a := get(t, s, s.URL+"/events?resource=messages")
	if n := len(decode[items[testEvent]](t, a).Items); n != 100 || a.next() == "" || !strings.HasPrefix(a.next(), "http") {
		t.Errorf("default page: %d events, next %q", n, a.next())
	}
}

func TestEventsLateAndPagingUnderInsertion(t *testing.T) {
	s := newTestServer(t, OrgConfig{Seed: 1, Rooms: 1, ActiveFraction: -1, DirectFraction: -1}, WithComplianceOfficer())
	room := s.Org().Rooms[0]
	base := time.Now().Add(-time.Hour)
	for i := range 10 {
		s.PostMessage(room.ID, "", base.Add(time.Duration(i)*time.Second))
	}
	late, release := s.PostLate(Message{RoomID: room.ID, Created: base.Add(5500 * time.Millisecond)})
	if ms := s.Messages(room.ID); !slices.ContainsFunc(ms, func(m Message) bool { return m.ID == late.ID }) {
		t.Fatal("a late message is not in its room at once")
	}
	q := s.URL + "/events?resource=messages&max=4"
	a := get(t, s, q)
	first := decode[items[testEvent]](t, a).Items
	// A new message and the late one appear between pages: the pages still
	// to come neither repeat nor skip what was there.
	s.PostMessage(room.ID, "", time.Now())
	release()
	rest, _ := listAll[testEvent](t, s, a.next())
	var ids []string
	for _, e := range append(first, rest...) {
		ids = append(ids, e.Data.ID)
	}
	msgs := s.Messages(room.ID)
	var want []string
	for i := 10; i >= 0; i-- { // the ten first messages and the late one, newest first
		want = append(want, msgs[i].ID)
	}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("events %v\nwant %v", ids, want)
	}
	all, _ := listAll[testEvent](t, s, q)
	if len(all) != 12 || all[0].Data.ID != msgs[11].ID {
		t.Errorf("a fresh read has %d events", len(all))
	}
}

func TestRoomByID(t *testing.T) {
	s := newTestServer(t, recentOrg(5, 40))
	org := s.Org()
	var otherGroup, otherDirect Room
	for _, r := range org.OtherRooms {
		if r.Type == "group" {
			otherGroup = r
		} else {
			otherDirect = r
		}
	}
	mine := org.Rooms[0]
	for _, tc := range []struct {
		name    string
		officer bool
		id      string
		status  int
		title   string
	}{
		{"own room", false, mine.ID, 200, mine.Title},
		{"own room, officer", true, mine.ID, 200, mine.Title},
		{"other group room", false, otherGroup.ID, 403, ""},
		{"other group room, officer", true, otherGroup.ID, 200, otherGroup.Title},
		{"other direct room, officer", true, otherDirect.ID, 200, "Empty Title"},
		{"unknown", true, MakeID("ROOM", 12345), 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.SetComplianceOfficer(tc.officer)
			a := get(t, s, s.URL+"/rooms/"+tc.id)
			if a.status != tc.status {
				t.Fatalf("%d %s", a.status, a.body)
			}
			if tc.status != 200 {
				if e := decode[testError](t, a); e.TrackingID == "" {
					t.Errorf("error without trackingId: %s", a.body)
				}
				return
			}
			r := decode[testRoom](t, a)
			want, _ := s.Room(tc.id)
			if r.ID != tc.id || r.Title != tc.title || r.Type != want.Type || r.Created != formatTime(want.Created) {
				t.Errorf("room %+v, want title %q and %+v", r, tc.title, want)
			}
		})
	}
}
