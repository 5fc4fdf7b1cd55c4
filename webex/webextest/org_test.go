package webextest

import (
	"encoding/base64"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 5, 4, 12, 0, 0, 123_456_789, time.UTC)

func TestGenerateOrgDeterministic(t *testing.T) {
	cfg := OrgConfig{Seed: 7, Rooms: 300, Now: testNow, KMSFailures: 3, QuietRooms: 5}
	a, b := GenerateOrg(cfg), GenerateOrg(cfg)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same config, different orgs")
	}
	cfg.Seed = 8
	if c := GenerateOrg(cfg); c.Rooms[0].ID == a.Rooms[0].ID {
		t.Fatal("different seeds, same room id")
	}
}

func TestGenerateOrgInvariants(t *testing.T) {
	cfg := OrgConfig{Seed: 1, Rooms: 1000, People: 20, Now: testNow, KMSFailures: 4, QuietRooms: 10}
	org := GenerateOrg(cfg)
	now := testNow.Truncate(time.Millisecond)
	history := 48 * time.Hour
	if len(org.Rooms) != 1000 {
		t.Fatalf("rooms = %d", len(org.Rooms))
	}
	titles := map[string]bool{}
	var direct, active, kms, quiet, mentions, replies int
	for _, r := range org.Rooms {
		checkID(t, r.ID, "ROOM")
		if titles[r.Title] {
			t.Errorf("duplicate title %q", r.Title)
		}
		titles[r.Title] = true
		for _, tm := range []time.Time{r.Created, r.LastActivity} {
			if tm.After(now) || !tm.Equal(tm.Truncate(time.Millisecond)) || tm.Location() != time.UTC {
				t.Errorf("room %s: bad time %v", r.Title, tm)
			}
		}
		if r.Created.After(r.LastActivity) {
			t.Errorf("room %s created after its last activity", r.Title)
		}
		if r.Type == "direct" {
			direct++
		}
		if r.KMSFailure {
			kms++
		}
		if strings.HasPrefix(r.Title, "Quiet") {
			quiet++
			if r.Type != "group" || len(org.Messages[r.ID]) > 0 {
				t.Errorf("quiet room %s: type %s, %d messages", r.Title, r.Type, len(org.Messages[r.ID]))
			}
		}
		members := org.Memberships[r.ID]
		if len(members) < 2 || members[0] != org.Me.ID {
			t.Errorf("room %s: members %v", r.Title, members)
		}
		msgs := org.Messages[r.ID]
		if r.LastActivity.After(now.Add(-history)) {
			active++
			if len(msgs) == 0 || !msgs[len(msgs)-1].Created.Equal(r.LastActivity) {
				t.Errorf("active room %s: last activity %v is not its newest message", r.Title, r.LastActivity)
			}
		} else if r.LastActivity.Before(now.Add(-30 * 24 * time.Hour)) {
			t.Errorf("inactive room %s: last activity %v older than 30d", r.Title, r.LastActivity)
		}
		for i, m := range msgs {
			checkID(t, m.ID, "MESSAGE")
			if m.RoomID != r.ID || m.RoomType != r.Type || m.PersonEmail == "" || m.Created.After(r.LastActivity) {
				t.Errorf("room %s: bad message %+v", r.Title, m)
			}
			if i > 0 && m.Created.Before(msgs[i-1].Created) {
				t.Errorf("room %s: messages not oldest first", r.Title)
			}
			if len(m.MentionedPeople) > 0 {
				mentions++
			}
			if m.ParentID != "" {
				replies++
			}
		}
	}
	if direct != 300 || active != 200 || kms != 4 || quiet != 10 {
		t.Errorf("direct %d active %d kms %d quiet %d; want 300 200 4 10", direct, active, kms, quiet)
	}
	if mentions == 0 || replies == 0 {
		t.Errorf("mentions %d replies %d; want some", mentions, replies)
	}
	// 300 direct rooms, each with its own partner: 20 posters + 280 more.
	if len(org.People) != 300 {
		t.Errorf("people = %d, want 300", len(org.People))
	}
	checkID(t, org.Me.ID, "PEOPLE")
}

func checkID(t *testing.T, id, kind string) {
	t.Helper()
	if url.QueryEscape(id) != id {
		t.Errorf("id %q is not query-safe", id)
	}
	b, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || !strings.HasPrefix(string(b), "ciscospark://us/"+kind+"/") {
		t.Errorf("id %q decodes to %q (%v), want a %s id", id, b, err, kind)
	}
}

func TestMakeIDMatchesWebexEncoding(t *testing.T) {
	// Webex ids are standard base64 without padding; for these inputs the
	// URL alphabet gives the same text.
	id := MakeID("PEOPLE", 42)
	b, _ := base64.RawURLEncoding.DecodeString(id)
	if std := base64.RawStdEncoding.EncodeToString(b); std != id {
		t.Fatalf("%s != %s", id, std)
	}
	if MakeID("PEOPLE", 42) != id || MakeID("PEOPLE", 43) == id {
		t.Fatal("MakeID is not a function of its input")
	}
}

// BenchmarkGenerateOrg: generating and serving 10,000 busy rooms.
func BenchmarkGenerateOrg(b *testing.B) {
	for b.Loop() {
		org := GenerateOrg(OrgConfig{Seed: 3, Rooms: 10_000, Now: testNow, ActiveFraction: 1, MaxMessagesPerRoom: 39})
		NewServer(org).Close()
	}
}
