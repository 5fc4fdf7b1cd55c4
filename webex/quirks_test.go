package webex_test

import (
	"testing"

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
