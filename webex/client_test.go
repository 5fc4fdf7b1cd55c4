package webex_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webex-exporter/webex_exporter/webex"
	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func newClient(t *testing.T, srv *webextest.Server, tokens webex.TokenSource) *webex.Client {
	t.Helper()
	if tokens == nil {
		tokens = webex.StaticToken(webextest.DefaultToken)
	}
	c, err := webex.New(webex.Options{BaseURL: srv.URL, Token: tokens, UserAgent: "webex_exporter/test"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// recorder is a server that must never be called: it records what reaches it.
type recorder struct {
	*httptest.Server
	mu    sync.Mutex
	auths []string
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.auths = append(r.auths, req.Header.Get("Authorization"))
		r.mu.Unlock()
		w.Write([]byte(`{"items":[]}`))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.auths)
}

func TestRoomsPagingMatchesGroundTruth(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 11, Rooms: 25, Now: t0, KMSFailures: 1})
	srv := webextest.NewServer(org)
	defer srv.Close()
	// The first answer is an empty page that still links to the real first page.
	srv.InjectFault(webextest.Fault{Endpoint: "rooms", Times: 1, EmptyPage: true})
	c := newClient(t, srv, nil)

	rooms, err := c.Rooms(ctx(t), webex.RoomsQuery{PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.Requests()["rooms"]; got != 4 {
		t.Errorf("%d listing calls; want 4 (an empty page, then 3 pages of 10)", got)
	}
	want := map[string]webextest.Room{}
	for _, r := range srv.Rooms() {
		want[r.ID] = r
	}
	if len(rooms) != len(want) {
		t.Fatalf("got %d rooms, want %d", len(rooms), len(want))
	}
	kms := 0
	for _, r := range rooms {
		w, ok := want[r.ID]
		if !ok {
			t.Fatalf("room %s listed twice or unknown", r.ID)
		}
		delete(want, r.ID)
		wantTitle := w.Title
		if w.KMSFailure {
			kms++
			wantTitle = ""
			if !r.TitleUnavailable {
				t.Errorf("kms_failure room %s not flagged", r.ID)
			}
		}
		if r.Title != wantTitle || r.Type != w.Type || r.TeamID != w.TeamID || r.IsLocked != w.IsLocked ||
			!r.Created.Equal(w.Created) || !r.LastActivity.Equal(w.LastActivity) {
			t.Errorf("room %s decoded as %+v; ground truth %+v", r.ID, r, w)
		}
	}
	if kms != 1 {
		t.Errorf("%d kms_failure rooms, want 1", kms)
	}
	for _, r := range srv.RequestLog() {
		if r.Authorization != "Bearer "+webextest.DefaultToken {
			t.Errorf("request %s sent Authorization %q", r.Path, r.Authorization)
		}
	}
}

func TestNextLinkToAnotherHostIsRefused(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 1, Rooms: 5, Now: t0})
	srv := webextest.NewServer(org)
	defer srv.Close()
	other := newRecorder(t)
	srv.InjectFault(webextest.Fault{Endpoint: "rooms", LinkHost: other.URL + "/v1"})
	_, err := newClient(t, srv, nil).Rooms(ctx(t), webex.RoomsQuery{})
	var pe *webex.PagingError
	if !errors.As(err, &pe) || !strings.Contains(pe.Reason, "foreign host") {
		t.Fatalf("err = %v; want a PagingError for a foreign host", err)
	}
	if calls := other.calls(); len(calls) != 0 {
		t.Errorf("the other host received %d requests (Authorization %q)", len(calls), calls)
	}
}

func TestRedirectToAnotherHostIsRefused(t *testing.T) {
	other := newRecorder(t)
	redirector := httptest.NewServer(http.RedirectHandler(other.URL+"/v1/rooms", http.StatusFound))
	defer redirector.Close()
	c, err := webex.New(webex.Options{BaseURL: redirector.URL + "/v1", Token: webex.StaticToken("secret-marker")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Rooms(ctx(t), webex.RoomsQuery{})
	if err == nil || strings.Contains(err.Error(), "secret-marker") {
		t.Fatalf("err = %v; want a refusal that does not contain the token", err)
	}
	if calls := other.calls(); len(calls) != 0 {
		t.Errorf("the redirect target received %d requests (Authorization %q)", len(calls), calls)
	}
}

func TestLinkLoopIsRefused(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 1, Rooms: 5, Now: t0})
	srv := webextest.NewServer(org)
	defer srv.Close()
	srv.InjectFault(webextest.Fault{Endpoint: "rooms", LinkLoop: true})
	_, err := newClient(t, srv, nil).Rooms(ctx(t), webex.RoomsQuery{})
	var pe *webex.PagingError
	if !errors.As(err, &pe) || !strings.Contains(pe.Reason, "loop") {
		t.Fatalf("err = %v; want a PagingError for a loop", err)
	}
	if n := srv.Requests()["rooms"]; n != 1 {
		t.Errorf("%d listing calls; the loop should be seen after the first", n)
	}
}

func TestMessagesNewestFirstWithStops(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 2, Rooms: 3, Now: t0})
	srv := webextest.NewServer(org)
	defer srv.Close()
	room := srv.Rooms()[0]
	var posted []webextest.Message
	for i := range 120 {
		posted = append(posted, srv.PostMessage(room.ID, org.People[i%5].ID, t0.Add(time.Duration(i)*time.Minute)))
	}
	c := newClient(t, srv, nil)

	// Everything since the first posted message: 3 pages of 50, newest first.
	srv.ResetRequests()
	msgs, err := c.Messages(ctx(t), webex.MessagesQuery{RoomID: room.ID, Since: t0, PageSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 120 || srv.Requests()["messages"] != 3 {
		t.Fatalf("got %d messages in %d calls; want 120 in 3", len(msgs), srv.Requests()["messages"])
	}
	for i, m := range msgs {
		w := posted[len(posted)-1-i]
		if m.ID != w.ID || !m.Created.Equal(w.Created) || m.PersonID != w.PersonID || m.RoomID != room.ID {
			t.Fatalf("message %d = %+v; want %+v", i, m, w)
		}
	}

	// Up to a known message: only the newer ones, one call.
	srv.ResetRequests()
	msgs, err = c.Messages(ctx(t), webex.MessagesQuery{RoomID: room.ID, StopAtID: posted[116].ID, PageSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 || msgs[0].ID != posted[119].ID || srv.Requests()["messages"] != 1 {
		t.Errorf("stop at id: %d messages in %d calls; want the 3 newer in 1", len(msgs), srv.Requests()["messages"])
	}

	// Before a time: only what was created before it, across pages, down
	// to Since.
	srv.ResetRequests()
	msgs, err = c.Messages(ctx(t), webex.MessagesQuery{RoomID: room.ID, Before: posted[100].Created, Since: posted[20].Created, PageSize: 50})
	if err != nil || len(msgs) != 80 || msgs[0].ID != posted[99].ID || msgs[79].ID != posted[20].ID || srv.Requests()["messages"] != 2 {
		t.Errorf("before: %d messages in %d calls, err %v; want the 80 from posted[99] down to posted[20] in 2", len(msgs), srv.Requests()["messages"], err)
	}
	for _, r := range srv.RequestLog()[:1] {
		if !strings.Contains(r.RawQuery, "before=2026-11-24T13%3A40%3A00.000Z") {
			t.Errorf("first call's query %q lacks before in Webex's time format", r.RawQuery)
		}
	}

	// Since a time: only what was created at or after it.
	msgs, err = c.Messages(ctx(t), webex.MessagesQuery{RoomID: room.ID, Since: posted[100].Created, PageSize: 50})
	if err != nil || len(msgs) != 20 {
		t.Errorf("since: %d messages, err %v; want 20", len(msgs), err)
	}
}

func TestAPIErrorsAreTyped(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 3, Rooms: 3, Now: t0})
	srv := webextest.NewServer(org)
	defer srv.Close()
	c := newClient(t, srv, nil)

	_, err := c.Messages(ctx(t), webex.MessagesQuery{RoomID: webextest.MakeID("ROOM", 999)})
	var ae *webex.APIError
	if !errors.As(err, &ae) || !webex.IsNotFound(err) || ae.TrackingID == "" || ae.Endpoint != "messages" {
		t.Errorf("unknown room: err = %#v; want a 404 APIError with a trackingId", err)
	}

	// A 503 is retried once: twice is an error.
	srv.InjectFault(webextest.Fault{Endpoint: "rooms", Times: 2, Status: 503})
	_, err = c.Rooms(ctx(t), webex.RoomsQuery{})
	if webex.StatusCode(err) != 503 {
		t.Errorf("503: err = %v", err)
	}

	srv.InjectFault(webextest.Fault{Endpoint: "rooms", Times: 1, Malformed: true})
	_, err = c.Rooms(ctx(t), webex.RoomsQuery{})
	var de *webex.DecodeError
	if !errors.As(err, &de) {
		t.Errorf("malformed JSON: err = %v; want a DecodeError", err)
	}

	srv.InjectFault(webextest.Fault{Endpoint: "rooms", Times: 1, HugeBody: 50 << 20})
	_, err = c.Rooms(ctx(t), webex.RoomsQuery{})
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("50 MB body: err = %v; want a size-limit DecodeError", err)
	}
}

func TestRateLimitPastDeadlineFailsFast(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 3, Rooms: 3, Now: t0})
	srv := webextest.NewServer(org)
	defer srv.Close()
	for _, ra := range []string{"3600", "rand(30),add(30)", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)} {
		c := newClient(t, srv, nil) // each with its own, open gate
		srv.InjectFault(webextest.Fault{Endpoint: "people/me", Times: 1, Status: 429, RetryAfter: ra})
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		start := time.Now()
		_, err := c.Me(cctx)
		cancel()
		var rl *webex.RateLimitError
		if !errors.As(err, &rl) || rl.RetryAfter < 30*time.Second {
			t.Errorf("Retry-After %q: err = %v; want a RateLimitError of at least 30 s", ra, err)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("Retry-After %q: took %v; it should give up at once", ra, took)
		}
		if until := c.PausedUntil(); until.Before(time.Now().Add(25 * time.Second)) {
			t.Errorf("Retry-After %q: gate open at %v", ra, until)
		}
	}
}

func TestMeReportsAccountType(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 3, Rooms: 1, Now: t0})
	srv := webextest.NewServer(org)
	defer srv.Close()
	srv.SetMe(webextest.Person{ID: webextest.MakeID("PEOPLE", 1), Email: "bot@webex.bot", DisplayName: "Bot", Type: "bot"})
	me, err := newClient(t, srv, nil).Me(ctx(t))
	if err != nil || !me.IsBot() || me.DisplayName != "Bot" || len(me.Emails) != 1 {
		t.Errorf("Me = %+v, %v; want the bot", me, err)
	}
}

// TestTokenFileRotation: a rewritten token file is used by the next call,
// and a 401 re-reads it once within the same call.
func TestTokenFileRotation(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 3, Rooms: 2, Now: t0})
	srv := webextest.NewServer(org, webextest.WithToken("first-token"))
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("first-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ft, err := webex.NewFileToken(path)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, srv, ft)
	if _, err := c.Me(ctx(t)); err != nil {
		t.Fatal(err)
	}
	// Rotate: Webex now wants the second token, and the file holds it. The
	// file's size changes, so the next call reads it whatever the mtime granularity.
	srv.SetToken("second-token-longer")
	if err := os.WriteFile(path, []byte("second-token-longer\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv.ResetRequests()
	if _, err := c.Me(ctx(t)); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if n := srv.RequestsTotal(); n != 1 {
		t.Errorf("%d calls after rotation; the changed file should be read before the call", n)
	}

	// A refused token that the file still holds: one retry at most, then the 401.
	srv.SetToken("third-token")
	srv.ResetRequests()
	_, err = c.Me(ctx(t))
	if !webex.IsUnauthorized(err) || srv.RequestsTotal() != 1 {
		t.Errorf("err = %v after %d calls; want a 401 after one call (the file did not change)", err, srv.RequestsTotal())
	}
	if strings.Contains(err.Error(), "second-token") {
		t.Errorf("the token leaked into the error: %v", err)
	}
}

// TestOddItemsDoNotFailThePage: one odd item in a page of rooms or
// messages is skipped (no id; a message with no usable creation time) or
// loses only the odd field, is reported, and leaves the other items as
// they are.
func TestOddItemsDoNotFailThePage(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 5, Rooms: 8, Now: t0})
	srv := webextest.NewServer(org)
	defer srv.Close()
	rooms := srv.Rooms()
	target := rooms[3]
	cases := []struct {
		name  string
		patch map[string]string
		// want edits the ground-truth room into what must be decoded; nil:
		// the room is skipped.
		want  func(r *webex.Room)
		field string // the field reported ("" with a skipped room: "id")
	}{
		{"isLocked as a string", map[string]string{"isLocked": `"true"`}, func(r *webex.Room) { r.IsLocked = true }, ""},
		{"isLocked as a number", map[string]string{"isLocked": `1`}, func(r *webex.Room) { r.IsLocked = false }, "isLocked"},
		{"null title", map[string]string{"title": `null`}, func(r *webex.Room) { r.Title = "" }, ""},
		{"numeric title", map[string]string{"title": `42`}, func(r *webex.Room) { r.Title = "" }, "title"},
		{"unparsable lastActivity", map[string]string{"lastActivity": `"yesterday"`}, func(r *webex.Room) { r.LastActivity = time.Time{} }, "lastActivity"},
		{"errors as an array", map[string]string{"errors": `[]`}, func(r *webex.Room) {}, "errors"},
		{"no id", map[string]string{"id": ""}, nil, "id"},
		{"null id", map[string]string{"id": `null`}, nil, "id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv.ClearFaults()
			srv.InjectFault(webextest.Fault{Endpoint: "rooms", Patch: map[string]map[string]string{target.ID: c.patch}})
			var bad []webex.BadItem
			cl, err := webex.New(webex.Options{BaseURL: srv.URL, Token: webex.StaticToken(webextest.DefaultToken),
				OnBadItem: func(b webex.BadItem) { bad = append(bad, b) }})
			if err != nil {
				t.Fatal(err)
			}
			got, err := cl.Rooms(ctx(t), webex.RoomsQuery{PageSize: 3})
			if err != nil {
				t.Fatalf("Rooms: %v", err)
			}
			var want []webex.Room
			for _, r := range rooms {
				w := webex.Room{ID: r.ID, Title: r.Title, Type: r.Type, TeamID: r.TeamID, IsLocked: r.IsLocked,
					LastActivity: r.LastActivity, Created: r.Created}
				if r.ID == target.ID {
					if c.want == nil {
						continue
					}
					c.want(&w)
				}
				want = append(want, w)
			}
			if len(got) != len(want) {
				t.Fatalf("%d rooms decoded, want %d", len(got), len(want))
			}
			for i := range got {
				g, w := got[i], want[i]
				if g.ID != w.ID || g.Title != w.Title || g.Type != w.Type || g.TeamID != w.TeamID || g.IsLocked != w.IsLocked ||
					!g.LastActivity.Equal(w.LastActivity) || !g.Created.Equal(w.Created) || g.TitleUnavailable {
					t.Errorf("room %d = %+v, want %+v", i, g, w)
				}
			}
			switch {
			case c.field == "" && len(bad) != 0:
				t.Errorf("reported %+v; want nothing", bad)
			case c.field != "" && (len(bad) != 1 || bad[0].Field != c.field || bad[0].Skipped != (c.want == nil) || bad[0].Endpoint != "rooms"):
				t.Errorf("reported %+v; want one report of field %s (skipped %v)", bad, c.field, c.want == nil)
			case c.want != nil && len(bad) == 1 && bad[0].ID != target.ID:
				t.Errorf("reported id %q, want %q", bad[0].ID, target.ID)
			}
		})
	}
}

// TestOddMessagesAreSkipped: a message without an id or a usable creation
// time is skipped and reported (it cannot be placed in a window); another
// odd field is left out; the other messages are all read.
func TestOddMessagesAreSkipped(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 2, Rooms: 1, Now: t0})
	srv := webextest.NewServer(org)
	defer srv.Close()
	room := srv.Rooms()[0]
	var posted []webextest.Message
	for i := range 10 {
		posted = append(posted, srv.PostMessage(room.ID, org.People[i%3].ID, t0.Add(time.Duration(i)*time.Minute)))
	}
	odd := posted[5]
	cases := []struct {
		name    string
		patch   map[string]string
		skipped bool
		field   string
	}{
		{"no id", map[string]string{"id": ""}, true, "id"},
		{"numeric id", map[string]string{"id": "5"}, true, "id"},
		{"no created", map[string]string{"created": ""}, true, "created"},
		{"unparsable created", map[string]string{"created": `"18/10/2015 14:26"`}, true, "created"},
		{"personId an object", map[string]string{"personId": `{"id":1}`}, false, "personId"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv.ClearFaults()
			srv.InjectFault(webextest.Fault{Endpoint: "messages", Patch: map[string]map[string]string{odd.ID: c.patch}})
			var bad []webex.BadItem
			cl, err := webex.New(webex.Options{BaseURL: srv.URL, Token: webex.StaticToken(webextest.DefaultToken),
				OnBadItem: func(b webex.BadItem) { bad = append(bad, b) }})
			if err != nil {
				t.Fatal(err)
			}
			msgs, err := cl.Messages(ctx(t), webex.MessagesQuery{RoomID: room.ID, Since: t0, PageSize: 4})
			if err != nil {
				t.Fatalf("Messages: %v", err)
			}
			var want []webextest.Message
			for i := len(posted) - 1; i >= 0; i-- {
				if posted[i].ID != odd.ID || !c.skipped {
					want = append(want, posted[i])
				}
			}
			if len(msgs) != len(want) {
				t.Fatalf("%d messages, want %d", len(msgs), len(want))
			}
			for i, m := range msgs {
				w := want[i]
				wantPerson := w.PersonID
				if w.ID == odd.ID {
					wantPerson = ""
				}
				if m.ID != w.ID || !m.Created.Equal(w.Created) || m.PersonID != wantPerson || m.RoomID != room.ID {
					t.Errorf("message %d = %+v, want %+v (personId %q)", i, m, w, wantPerson)
				}
			}
			if len(bad) != 1 || bad[0].Field != c.field || bad[0].Skipped != c.skipped || bad[0].Endpoint != "messages" {
				t.Errorf("reported %+v; want one report of %s (skipped %v)", bad, c.field, c.skipped)
			}
		})
	}
}

// TestTokenGeneration: the generation changes when the token sent changes
// (a token file swapped for another account's), and only then.
func TestTokenGeneration(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 3, Rooms: 1, Now: t0})
	srv := webextest.NewServer(org, webextest.WithToken("person-token"))
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "token")
	write := func(tok string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("person-token")
	ft, err := webex.NewFileToken(path)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, srv, ft)
	if g := c.TokenGeneration(); g != 0 {
		t.Errorf("generation %d before any call, want 0", g)
	}
	steps := []struct {
		name  string
		token string // written to the file ("" to leave it)
		want  uint64
	}{
		{"first call", "", 1},
		{"same token again", "", 1},
		{"file rewritten with the same token", "person-token", 1},
		{"file swapped for a bot's token", "bot-token-longer", 2},
		{"bot token again", "", 2},
		{"back to the person's token", "person-token", 3},
	}
	for _, s := range steps {
		if s.token != "" {
			srv.SetToken(s.token)
			write(s.token)
		}
		if _, err := c.Me(ctx(t)); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if g := c.TokenGeneration(); g != s.want {
			t.Errorf("%s: generation %d, want %d", s.name, g, s.want)
		}
	}
}

// TestNextLinkOnTheSameOriginSpelledOtherwise: a base URL with an explicit
// default port (or another case) and next links without it (or the other
// way round) are one origin: every page is read.
func TestNextLinkOnTheSameOriginSpelledOtherwise(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 11, Rooms: 25, Now: t0})
	srv := webextest.NewServer(org)
	defer srv.Close()
	// Whatever host the client asks for, it reaches the fake.
	fakeAddr := strings.TrimPrefix(strings.TrimSuffix(srv.URL, "/v1"), "http://")
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, fakeAddr)
	}
	hc := &http.Client{Transport: &http.Transport{DialContext: dial}}
	for _, c := range []struct{ name, base, links string }{
		{"explicit port in the base", "http://webexapis.test:80/v1", "http://webexapis.test/v1"},
		{"explicit port in the links", "http://webexapis.test/v1", "http://webexapis.test:80/v1"},
		{"case differs", "http://webexapis.test/v1", "HTTP://WebexAPIs.Test/v1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv.ClearFaults()
			// The first two pages' next links in the other spelling; the
			// third page has none.
			srv.InjectFault(webextest.Fault{Endpoint: "rooms", LinkHost: c.links, Times: 2})
			cl, err := webex.New(webex.Options{BaseURL: c.base, Token: webex.StaticToken(webextest.DefaultToken), HTTPClient: hc})
			if err != nil {
				t.Fatal(err)
			}
			srv.ResetRequests()
			rooms, err := cl.Rooms(ctx(t), webex.RoomsQuery{PageSize: 10})
			if err != nil {
				t.Fatalf("Rooms: %v", err)
			}
			if len(rooms) != 25 || srv.Requests()["rooms"] != 3 {
				t.Errorf("%d rooms in %d calls; want 25 in 3", len(rooms), srv.Requests()["rooms"])
			}
		})
	}
}

// TestRetryAfterCapped: a Retry-After beyond an hour (a week, a far date)
// closes the gate for an hour, the longest Webex documents.
func TestRetryAfterCapped(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 3, Rooms: 1, Now: t0})
	srv := webextest.NewServer(org)
	defer srv.Close()
	for _, ra := range []string{"604800", "99999999999", time.Now().Add(30 * 24 * time.Hour).UTC().Format(http.TimeFormat)} {
		t.Run(ra, func(t *testing.T) {
			c := newClient(t, srv, nil)
			srv.InjectFault(webextest.Fault{Endpoint: "people/me", Times: 1, Status: 429, RetryAfter: ra})
			cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			before := time.Now()
			_, err := c.Me(cctx)
			var rl *webex.RateLimitError
			if !errors.As(err, &rl) || rl.RetryAfter != time.Hour {
				t.Fatalf("err = %v; want a RateLimitError of 1h", err)
			}
			if until := c.PausedUntil(); until.Before(before.Add(time.Hour)) || until.After(time.Now().Add(time.Hour)) {
				t.Errorf("gate opens at %v; want an hour after the 429", until)
			}
		})
	}
}

// TestTransientFailureRetriedOnce: a 502, 503, 504 or a reset connection is
// followed by one more call, and each attempt is reported once; a second
// failure, a 500, or a deadline too close for the pause end the call.
func TestTransientFailureRetriedOnce(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 4, Rooms: 5, Now: t0})
	srv := webextest.NewServer(org)
	defer srv.Close()
	cases := []struct {
		name      string
		fault     webextest.Fault
		timeout   time.Duration
		wantCodes []string // reported to Observe for the rooms call
		wantErr   int      // status of the error; 0: none
	}{
		{"502 once", webextest.Fault{Status: 502, Times: 1}, 10 * time.Second, []string{"502", "200"}, 0},
		{"503 once", webextest.Fault{Status: 503, Times: 1}, 10 * time.Second, []string{"503", "200"}, 0},
		{"504 once", webextest.Fault{Status: 504, Times: 1}, 10 * time.Second, []string{"504", "200"}, 0},
		// The transport itself retries once on a reused connection: the
		// second reset is the one the client sees.
		{"connection reset", webextest.Fault{ResetConnection: true, Times: 2}, 10 * time.Second, []string{"error", "200"}, 0},
		{"502 twice", webextest.Fault{Status: 502, Times: 2}, 10 * time.Second, []string{"502", "502"}, 502},
		{"500 not retried", webextest.Fault{Status: 500, Times: 1}, 10 * time.Second, []string{"500"}, 500},
		{"no time for a retry", webextest.Fault{Status: 502, Times: 1}, 500 * time.Millisecond, []string{"502"}, 502},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var mu sync.Mutex
			var codes []string
			cl, err := webex.New(webex.Options{BaseURL: srv.URL, Token: webex.StaticToken(webextest.DefaultToken),
				HTTPClient: &http.Client{Transport: &http.Transport{}},
				Observe: func(r webex.RequestInfo) {
					if r.Endpoint == "rooms" {
						mu.Lock()
						codes = append(codes, r.Code)
						mu.Unlock()
					}
				}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cl.Me(ctx(t)); err != nil { // a connection to reuse
				t.Fatal(err)
			}
			srv.ClearFaults()
			c.fault.Endpoint = "rooms"
			srv.InjectFault(c.fault)
			cctx, cancel := context.WithTimeout(context.Background(), c.timeout)
			defer cancel()
			rooms, err := cl.Rooms(cctx, webex.RoomsQuery{})
			switch {
			case c.wantErr == 0 && (err != nil || len(rooms) != 5):
				t.Errorf("%d rooms, err %v; want 5", len(rooms), err)
			case c.wantErr > 0 && webex.StatusCode(err) != c.wantErr:
				t.Errorf("err = %v; want a %d", err, c.wantErr)
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(codes, c.wantCodes) {
				t.Errorf("reported %q; want %q", codes, c.wantCodes)
			}
		})
	}
}

// TestConnectionsKeptForTheNextCalls: a client making Connections calls at
// once keeps as many connections open between its bursts of calls, so the
// next burst dials none (net/http's default keeps 2 per host: against
// Webex, each dial more is a TLS handshake).
func TestConnectionsKeptForTheNextCalls(t *testing.T) {
	const calls = 6
	var mu sync.Mutex
	dials := 0
	arrived := make(chan struct{}, calls)
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release // every call of a burst is in flight before any answers
		w.Write([]byte(`{"id":"me","type":"person"}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			dials++
			mu.Unlock()
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c, err := webex.New(webex.Options{BaseURL: srv.URL, Token: webex.StaticToken(webextest.DefaultToken), Connections: calls})
	if err != nil {
		t.Fatal(err)
	}
	for burst := range 3 {
		errs := make(chan error, calls)
		for range calls {
			go func() {
				_, err := c.Me(ctx(t))
				errs <- err
			}()
		}
		for range calls {
			<-arrived
		}
		for range calls {
			release <- struct{}{}
		}
		for range calls {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		mu.Lock()
		got := dials
		mu.Unlock()
		if got != calls {
			t.Fatalf("after burst %d of %d calls at once: %d connections dialled, want %d (the first burst's, kept)", burst+1, calls, got, calls)
		}
	}
}
