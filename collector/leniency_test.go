package collector

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// TestOddItemsKeepTheScrape: odd items in the rooms listing and in a
// room's messages (as Webex sends in the field) neither blank the scrape
// nor touch the other rooms: a room without an id is not exported, a room
// with an odd field is exported without it, a message without an id is not
// counted, and webex_up stays 1.
func TestOddItemsKeepTheScrape(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 7, Rooms: 12, Now: t0})
	e := newEnv(t, org, Config{})
	rooms := e.srv.Rooms()
	// A room with messages in the last 24 hours, for the message fault.
	var busy webextest.Room
	var busyMsgs []webextest.Message
	for _, r := range rooms {
		var in []webextest.Message
		for _, m := range e.srv.Messages(r.ID) {
			if !m.Created.Before(t0.Add(-24 * time.Hour)) {
				in = append(in, m)
			}
		}
		if len(in) >= 3 {
			busy, busyMsgs = r, in
			break
		}
	}
	if busy.ID == "" {
		t.Fatal("no room with 3 messages in the last 24 hours")
	}
	var odd []webextest.Room
	for _, r := range rooms {
		if r.ID != busy.ID && len(odd) < 5 {
			odd = append(odd, r)
		}
	}
	noID, lockedStr, numTitle, errArr, badTime := odd[0], odd[1], odd[2], odd[3], odd[4]
	e.srv.InjectFault(webextest.Fault{Endpoint: "rooms", Patch: map[string]map[string]string{
		noID.ID:      {"id": ""},
		lockedStr.ID: {"isLocked": `"true"`},
		numTitle.ID:  {"title": "42"},
		errArr.ID:    {"errors": "[]"},
		badTime.ID:   {"lastActivity": `"yesterday"`},
	}})
	dropped := busyMsgs[1]
	e.srv.InjectFault(webextest.Fault{Endpoint: "messages", RoomID: busy.ID, Patch: map[string]map[string]string{
		dropped.ID: {"id": "null"},
	}})

	got := e.scrape(t, 10*time.Second)
	if got[key("webex_up")] != 1 {
		t.Fatalf("webex_up %v, want 1", got[key("webex_up")])
	}
	info := map[string]string{} // room id -> its webex_room_info series
	for k := range got {
		if strings.HasPrefix(k, "webex_room_info{") {
			for _, r := range rooms {
				if strings.Contains(k, `room_id="`+r.ID+`"`) {
					info[r.ID] = k
				}
			}
		}
	}
	if len(info) != len(rooms)-1 {
		t.Errorf("%d rooms exported, want %d (all but the one without an id)", len(info), len(rooms)-1)
	}
	if _, ok := info[noID.ID]; ok {
		t.Errorf("the room without an id is exported")
	}
	for _, c := range []struct {
		room webextest.Room
		want string
	}{
		{lockedStr, `is_locked="true"`},
		{numTitle, `title=""`},
		{errArr, `title="` + errArr.Title + `"`},
		{badTime, `title="` + badTime.Title + `"`},
	} {
		if !strings.Contains(info[c.room.ID], c.want) {
			t.Errorf("room %s: %q, want %s", c.room.ID, info[c.room.ID], c.want)
		}
	}
	if _, ok := got[key("webex_room_last_activity_timestamp_seconds", "room_id", badTime.ID)]; ok {
		t.Errorf("a room whose lastActivity is no time has a lastActivity")
	}
	if v, ok := got[key("webex_room_created_timestamp_seconds", "room_id", badTime.ID)]; !ok || v != unixSec(badTime.Created) {
		t.Errorf("the room with an odd lastActivity lost its creation time: %v", v)
	}
	if v := got[key("webex_room_recent_messages", "room_id", busy.ID, "window", "24h")]; v != float64(len(busyMsgs)-1) {
		t.Errorf("room %s: %v messages in 24h, want %d (all but the one without an id)", busy.ID, v, len(busyMsgs)-1)
	}
}

// TestTransientListingFailureKeepsTheScrape: one 502 or one reset
// connection on /rooms is retried within the scrape: webex_up stays 1.
func TestTransientListingFailureKeepsTheScrape(t *testing.T) {
	for _, c := range []struct {
		name  string
		fault webextest.Fault
	}{
		{"502", webextest.Fault{Endpoint: "rooms", Status: 502, Times: 1}},
		// Times 2: Go's transport retries once itself on a reused connection.
		{"connection reset", webextest.Fault{Endpoint: "rooms", ResetConnection: true, Times: 2}},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { // the client's back-off on the bubble's clock
				org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 8, Rooms: 6, Now: t0})
				e := newMemEnv(t, org, Config{})
				if got := e.scrape(t, 10*time.Second); got[key("webex_up")] != 1 {
					t.Fatalf("first scrape: webex_up %v", got[key("webex_up")])
				}
				e.srv.InjectFault(c.fault)
				e.clock.Add(time.Minute)
				got := e.scrape(t, 10*time.Second)
				if got[key("webex_up")] != 1 {
					t.Errorf("webex_up %v after one %s, want 1", got[key("webex_up")], c.name)
				}
				if n := got[key("webex_rooms", "room_type", "group")] + got[key("webex_rooms", "room_type", "direct")]; n != 6 {
					t.Errorf("%v rooms exported, want 6", n)
				}
			})
		})
	}
}
