package webex_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/webex-exporter/webex_exporter/webex"
	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// TestOddMembershipsDoNotFailTheRead: one oddly typed membership no longer
// fails a room's whole member read: without an id it is skipped, a field
// of the wrong type is left out, both reported; the others are all read
// (issue 18, item 4).
func TestOddMembershipsDoNotFailTheRead(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 5, Rooms: 30, Now: t0})
	srv := webextest.NewServer(org)
	defer srv.Close()
	var room string
	for id, ms := range org.Memberships {
		if len(ms) >= 4 && (room == "" || id < room) {
			room = id
		}
	}
	if room == "" {
		t.Fatal("no room with 4 members")
	}
	truth, err := newClient(t, srv, nil).Memberships(ctx(t), room)
	if err != nil || len(truth) != len(org.Memberships[room]) {
		t.Fatalf("%d memberships, %v; want %d", len(truth), err, len(org.Memberships[room]))
	}
	odd := truth[2]
	for _, tc := range []struct {
		name    string
		patch   map[string]string
		skipped bool
		field   string
	}{
		{"numeric id", map[string]string{"id": "42"}, true, "id"},
		{"no id", map[string]string{"id": ""}, true, "id"},
		{"personId a number", map[string]string{"personId": "42"}, false, "personId"},
		{"roomId an object", map[string]string{"roomId": `{"id":1}`}, false, "roomId"},
		{"isModerator a string", map[string]string{"isModerator": `"yes"`}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.ClearFaults()
			srv.InjectFault(webextest.Fault{Endpoint: "memberships", Patch: map[string]map[string]string{odd.ID: tc.patch}})
			var bad []webex.BadItem
			c, err := webex.New(webex.Options{BaseURL: srv.URL, Token: webex.StaticToken(webextest.DefaultToken),
				OnBadItem: func(b webex.BadItem) { bad = append(bad, b) }})
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Memberships(ctx(t), room)
			if err != nil {
				t.Fatalf("Memberships: %v", err)
			}
			var want []webex.Membership
			for _, m := range truth {
				switch {
				case m.ID == odd.ID && tc.skipped:
					continue
				case m.ID == odd.ID && tc.field == "personId":
					m.PersonID = ""
				case m.ID == odd.ID && tc.field == "roomId":
					m.RoomID = ""
				}
				want = append(want, m)
			}
			if len(got) != len(want) {
				t.Fatalf("%d memberships, want %d", len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("membership %d = %+v, want %+v", i, got[i], want[i])
				}
			}
			if tc.field == "" {
				if len(bad) != 0 {
					t.Errorf("reported %+v; want nothing", bad)
				}
				return
			}
			if len(bad) != 1 || bad[0].Field != tc.field || bad[0].Skipped != tc.skipped || bad[0].Endpoint != "memberships" {
				t.Errorf("reported %+v; want one report of %s (skipped %v)", bad, tc.field, tc.skipped)
			}
		})
	}
}

// TestMalformedLinkNamesTheHeader: a malformed Link header still fails the
// listing (a listing cut short would show rooms as gone), and the error
// says which value was refused, with the answer's trackingId, never the
// token (issue 18, item 6).
func TestMalformedLinkNamesTheHeader(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 5, Rooms: 8, Now: t0})
	srv := webextest.NewServer(org)
	defer srv.Close()
	const link = `https://webexapis.com/v1/rooms?cursor=abc; rel="next"`
	srv.InjectFault(webextest.Fault{Endpoint: "rooms", Link: link, Times: 1})
	rooms, err := newClient(t, srv, nil).Rooms(ctx(t), webex.RoomsQuery{PageSize: 3})
	var pe *webex.PagingError
	if !errors.As(err, &pe) || rooms != nil {
		t.Fatalf("%d rooms, err = %v; want a *PagingError", len(rooms), err)
	}
	if pe.Header != link || !strings.HasPrefix(pe.TrackingID, "ROUTER_") {
		t.Errorf("refused header %q, trackingId %q; want %q and the answer's", pe.Header, pe.TrackingID, link)
	}
	if msg := err.Error(); !strings.Contains(msg, `"`+strings.ReplaceAll(link, `"`, `\"`)+`"`) || !strings.Contains(msg, pe.TrackingID) ||
		strings.Contains(msg, webextest.DefaultToken) {
		t.Errorf("error %q: want the header quoted and the trackingId, never the token", msg)
	}

	long := "<" + strings.Repeat("x", 5000)
	srv.InjectFault(webextest.Fault{Endpoint: "rooms", Link: long, Times: 1})
	_, err = newClient(t, srv, nil).Rooms(ctx(t), webex.RoomsQuery{PageSize: 3})
	if !errors.As(err, &pe) || len(pe.Header) > 300 || len(err.Error()) > 500 {
		t.Errorf("a 5000-byte header gives a %d-byte error: %v", len(err.Error()), err)
	}
}

// TestDeletedCursorMessage: when the message a beforeMessage cursor names
// was deleted, Webex answers 404 to that page. Messages says so with a
// *CursorError (errors.As; still a 404 for IsNotFound) naming the cursor
// and the time to continue from with MessagesQuery.Before, beside the
// messages read until then; continued so, the read gets every message
// left, the last one read again (issue 18, item 2).
func TestDeletedCursorMessage(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 2, Rooms: 1, Now: t0})
	srv := webextest.NewServer(org)
	defer srv.Close()
	room := srv.Rooms()[0]
	var posted []webextest.Message // oldest first
	for i := range 10 {
		posted = append(posted, srv.PostMessage(room.ID, org.People[i%3].ID, t0.Add(time.Duration(i)*time.Minute)))
	}
	c := newClient(t, srv, nil)
	q := webex.MessagesQuery{RoomID: room.ID, Since: t0, PageSize: 4}

	// The second page's cursor (the first page's last message, posted[6])
	// is refused, as when that message is deleted between the pages.
	srv.InjectFault(webextest.Fault{Endpoint: "messages", Param: "beforeMessage", Status: 404, Times: 1})
	got, err := c.Messages(ctx(t), q)
	var ce *webex.CursorError
	if !errors.As(err, &ce) || !webex.IsNotFound(err) || len(got) != 4 || got[3].ID != posted[6].ID ||
		ce.BeforeMessage != posted[6].ID || !ce.Before.Equal(posted[6].Created.Add(time.Millisecond)) || ce.TrackingID == "" {
		t.Fatalf("%d messages, err = %#v; want 4, then a *CursorError naming %s, to go on before %v", len(got), err, posted[6].ID, posted[6].Created.Add(time.Millisecond))
	}
	q.Before = ce.Before
	rest, err := c.Messages(ctx(t), q)
	if err != nil || len(rest) != 7 || rest[0].ID != posted[6].ID || rest[6].ID != posted[0].ID {
		t.Fatalf("continued: %d messages, %v; want posted[6] again, then the 6 older", len(rest), err)
	}

	// A cursor of the caller's own naming a deleted message: no message
	// read, so no time to go on from; the caller knows its cursor's.
	if !srv.DeleteMessage(room.ID, posted[6].ID) {
		t.Fatal("not deleted")
	}
	q.Before, q.BeforeMessage = time.Time{}, posted[6].ID
	got, err = c.Messages(ctx(t), q)
	if !errors.As(err, &ce) || len(got) != 0 || ce.BeforeMessage != posted[6].ID || !ce.Before.IsZero() || !webex.IsNotFound(err) {
		t.Fatalf("%d messages, err = %v; want a *CursorError naming %s, no time of its own, still a 404", len(got), err, posted[6].ID)
	}
	if msg := err.Error(); !strings.Contains(msg, "beforeMessage") || !strings.Contains(msg, "404") {
		t.Errorf("error %q", msg)
	}

	// A room gone is no cursor's fault.
	srv.RemoveRoom(room.ID)
	q.BeforeMessage = ""
	if _, err := c.Messages(ctx(t), q); !webex.IsNotFound(err) || errors.As(err, &ce) {
		t.Errorf("room gone: err = %v; want a plain 404", err)
	}
}
