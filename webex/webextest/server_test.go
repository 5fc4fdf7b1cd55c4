package webextest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// answer is a decoded HTTP answer.
type answer struct {
	status int
	header http.Header
	body   []byte
	err    error // transport or body read error
}

func (a answer) next() string {
	m := regexp.MustCompile(`(?:^|, )<([^>]*)>; rel="next"$`).FindStringSubmatch(a.header.Get("Link"))
	if m == nil {
		return ""
	}
	return m[1]
}

func do(t *testing.T, c *http.Client, method, u, token string, body io.Reader) answer {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := c.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, header: res.Header, body: b, err: err}
}

func get(t *testing.T, s *Server, u string) answer {
	t.Helper()
	return do(t, s.Client(), http.MethodGet, u, DefaultToken, nil)
}

type items[T any] struct {
	Items []T `json:"items"`
}

type testRoom struct {
	ID, Title, Type, TeamID, LastActivity, Created, CreatorID, OwnerID string
	IsLocked                                                           bool
	Errors                                                             map[string]struct{ Code, Reason string }
}

type testMessage struct {
	ID, RoomID, RoomType, ParentID, PersonID, PersonEmail, Text, Created string
	MentionedPeople                                                      []string
}

type testError struct {
	Message    string
	Errors     []struct{ Description string }
	TrackingID string
}

func decode[T any](t *testing.T, a answer) T {
	t.Helper()
	var v T
	if a.err != nil {
		t.Fatalf("request failed: %v", a.err)
	}
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("status %d, body %q: %v", a.status, a.body, err)
	}
	return v
}

// listAll follows next links from u and returns every item.
func listAll[T any](t *testing.T, s *Server, u string) (all []T, pages int) {
	t.Helper()
	for u != "" {
		a := get(t, s, u)
		if a.status != 200 {
			t.Fatalf("GET %s: %d %s", u, a.status, a.body)
		}
		all = append(all, decode[items[T]](t, a).Items...)
		pages++
		u = a.next()
	}
	return all, pages
}

func newTestServer(t *testing.T, cfg OrgConfig, opts ...Option) *Server {
	t.Helper()
	if cfg.Now.IsZero() {
		cfg.Now = testNow
	}
	s := NewServer(GenerateOrg(cfg), opts...)
	t.Cleanup(s.Close)
	return s
}

func roomIDs(rs []Room) []string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	return ids
}

func TestRoomsPaging(t *testing.T) {
	s := newTestServer(t, OrgConfig{Seed: 1, Rooms: 2500, KMSFailures: 2})
	truth := s.Rooms()
	got, pages := listAll[testRoom](t, s, s.URL+"/rooms?max=1000")
	if pages != 3 {
		t.Errorf("pages = %d, want 3", pages)
	}
	ids := make([]string, len(got))
	for i, r := range got {
		ids[i] = r.ID
	}
	if !slices.Equal(ids, roomIDs(truth)) {
		t.Fatal("listing differs from ground truth (order: created desc)")
	}
	for i, r := range got {
		w := truth[i]
		if r.Type != w.Type || r.Created != formatTime(w.Created) || r.LastActivity != formatTime(w.LastActivity) ||
			r.TeamID != w.TeamID || r.IsLocked != w.IsLocked || r.CreatorID != w.CreatorID {
			t.Errorf("room %d: %+v, want %+v", i, r, w)
		}
		if w.KMSFailure {
			if r.Title == w.Title || r.Errors["title"].Code != "kms_failure" || !strings.Contains(r.Errors["title"].Reason, "Key management server") {
				t.Errorf("kms room: %+v", r)
			}
		} else if r.Title != w.Title || r.Errors != nil {
			t.Errorf("room %d: title %q errors %v, want %q", i, r.Title, r.Errors, w.Title)
		}
	}

	// Filters survive paging.
	groups, _ := listAll[testRoom](t, s, s.URL+"/rooms?type=group&max=100")
	want := 0
	for _, r := range truth {
		if r.Type == "group" {
			want++
		}
	}
	if len(groups) != want {
		t.Errorf("group rooms = %d, want %d", len(groups), want)
	}
	for _, r := range groups {
		if r.Type != "group" {
			t.Fatalf("type filter lost: %+v", r)
		}
	}
	team := s.Org().Teams[0].ID
	inTeam, _ := listAll[testRoom](t, s, s.URL+"/rooms?max=7&teamId="+url.QueryEscape(team))
	want = 0
	for _, r := range truth {
		if r.TeamID == team {
			want++
		}
	}
	if len(inTeam) != want || want == 0 {
		t.Errorf("team rooms = %d, want %d", len(inTeam), want)
	}

	// Other orders return every room once.
	for _, sortBy := range []string{"id", "lastactivity", "created"} {
		got, _ := listAll[testRoom](t, s, s.URL+"/rooms?max=333&sortBy="+sortBy)
		seen := map[string]bool{}
		for i, r := range got {
			if seen[r.ID] {
				t.Fatalf("sortBy=%s: %s twice", sortBy, r.ID)
			}
			seen[r.ID] = true
			if i > 0 && sortBy == "id" && r.ID < got[i-1].ID {
				t.Fatalf("sortBy=id: not ascending")
			}
			if i > 0 && sortBy == "lastactivity" && r.LastActivity > got[i-1].LastActivity {
				t.Fatalf("sortBy=lastactivity: not descending")
			}
		}
		if len(seen) != len(truth) {
			t.Errorf("sortBy=%s: %d rooms, want %d", sortBy, len(seen), len(truth))
		}
	}
}

func TestRoomsPagingUnderMutation(t *testing.T) {
	s := newTestServer(t, OrgConfig{Seed: 2, Rooms: 300})
	truth := s.Rooms()
	removed := map[string]bool{}
	var got []string
	u := s.URL + "/rooms?max=50"
	for i := 0; u != ""; i++ {
		a := get(t, s, u)
		for _, r := range decode[items[testRoom]](t, a).Items {
			got = append(got, r.ID)
		}
		u = a.next()
		// Between pages: a new room appears at the top and an old one
		// further down disappears.
		s.AddRoom(Room{Title: "new " + strconv.Itoa(i), Created: time.Now()})
		victim := truth[len(truth)-1-i*7].ID
		s.RemoveRoom(victim)
		removed[victim] = true
	}
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Fatalf("room %s listed twice", id)
		}
		seen[id] = true
	}
	for _, r := range truth {
		if !removed[r.ID] && !seen[r.ID] {
			t.Errorf("surviving room %s skipped", r.Title)
		}
	}
}

func TestMaxValidation(t *testing.T) {
	s := newTestServer(t, OrgConfig{Seed: 1, Rooms: 10})
	room := url.QueryEscape(s.Rooms()[0].ID)
	for _, q := range []string{
		"/rooms?max=abc", "/rooms?type=public", "/rooms?sortBy=title",
		"/rooms?cursor=garbage", "/memberships?max=x",
		"/messages", "/messages?roomId=" + room + "&max=1.5", "/messages?roomId=" + room + "&before=yesterday",
	} {
		a := get(t, s, s.URL+q)
		if a.status != 400 {
			t.Errorf("%s: status %d, want 400", q, a.status)
			continue
		}
		e := decode[testError](t, a)
		if e.Message == "" || len(e.Errors) != 1 || e.Errors[0].Description == "" || e.TrackingID != a.header.Get("Trackingid") {
			t.Errorf("%s: error body %s", q, a.body)
		}
	}
	for _, q := range []string{"/rooms?max=1", "/rooms?max=1000", "/messages?roomId=" + room + "&max=1000", "/messages?roomId=" + room + "&max=100&mentionedPeople=me"} {
		if a := get(t, s, s.URL+q); a.status != 200 {
			t.Errorf("%s: status %d", q, a.status)
		}
	}
}

// TestMaxOutOfRangeIsClamped: a max outside a list's range is clamped into
// it, as Webex does, not refused.
func TestMaxOutOfRangeIsClamped(t *testing.T) {
	s := newTestServer(t, OrgConfig{Seed: 1, Rooms: 1200, ActiveFraction: 1, MaxMessagesPerRoom: 3})
	me := s.Org().Me
	me.Type = "bot"
	var room Room
	for _, r := range s.Rooms() {
		if len(s.Messages(r.ID)) >= 2 {
			room = r
			break
		}
	}
	for _, tc := range []struct {
		q    string
		want int
	}{
		{"/rooms?max=0", 1},
		{"/rooms?max=-5", 1},
		{"/rooms?max=5000", 1000},
		{"/rooms?max=99999999999999999999", 1000},
		{"/memberships?max=0", 1},
		{"/memberships?max=1001", 1000},
		{"/teams?max=0", 1},
		{"/messages?max=0&roomId=" + url.QueryEscape(room.ID), 1},
	} {
		a := get(t, s, s.URL+tc.q)
		if a.status != 200 {
			t.Errorf("%s: status %d %s, want 200", tc.q, a.status, a.body)
			continue
		}
		if n := len(decode[struct{ Items []json.RawMessage }](t, a).Items); n != tc.want {
			t.Errorf("%s: %d items, want %d", tc.q, n, tc.want)
		}
	}
}

func TestMessages(t *testing.T) {
	s := newTestServer(t, OrgConfig{Seed: 1, Rooms: 20, ActiveFraction: 1, MaxMessagesPerRoom: 60})
	var room Room
	for _, r := range s.Rooms() {
		if len(s.Messages(r.ID)) >= 20 {
			room = r
			break
		}
	}
	truth := s.Messages(room.ID)
	slices.Reverse(truth) // newest first
	base := s.URL + "/messages?roomId=" + url.QueryEscape(room.ID)

	got, pages := listAll[testMessage](t, s, base+"&max=7")
	if len(got) != len(truth) || pages != (len(truth)+6)/7 {
		t.Fatalf("%d messages in %d pages, want %d", len(got), pages, len(truth))
	}
	for i, m := range got {
		w := truth[i]
		if m.ID != w.ID || m.RoomID != room.ID || m.RoomType != room.Type || m.PersonID != w.PersonID ||
			m.PersonEmail != w.PersonEmail || m.Created != formatTime(w.Created) || m.ParentID != w.ParentID ||
			!slices.Equal(m.MentionedPeople, w.MentionedPeople) || m.Text != w.Text {
			t.Fatalf("message %d: %+v, want %+v", i, m, w)
		}
	}
	// The next link keeps roomId and max, uses beforeMessage.
	a := get(t, s, base+"&max=7")
	next, _ := url.Parse(a.next())
	if q := next.Query(); q.Get("roomId") != room.ID || q.Get("max") != "7" || q.Get("beforeMessage") != truth[6].ID {
		t.Errorf("next link %s", next)
	}
	// beforeMessage and before.
	page := decode[items[testMessage]](t, get(t, s, base+"&beforeMessage="+url.QueryEscape(truth[4].ID)))
	if len(page.Items) != len(truth)-5 || page.Items[0].ID != truth[5].ID {
		t.Errorf("beforeMessage: %d items", len(page.Items))
	}
	cut := truth[9].Created
	page = decode[items[testMessage]](t, get(t, s, base+"&before="+url.QueryEscape(formatTime(cut))))
	for _, m := range page.Items {
		if m.Created >= formatTime(cut) {
			t.Fatalf("before: got %s", m.Created)
		}
	}
	if len(page.Items) == 0 {
		t.Error("before: nothing")
	}
	// Unknown beforeMessage, unknown room, left room.
	if a := get(t, s, base+"&beforeMessage="+MakeID("MESSAGE", 1)); a.status != 404 {
		t.Errorf("unknown beforeMessage: %d", a.status)
	}
	if a := get(t, s, s.URL+"/messages?roomId="+MakeID("ROOM", 1)); a.status != 404 {
		t.Errorf("unknown room: %d", a.status)
	}
	s.RemoveRoom(room.ID)
	if a := get(t, s, base); a.status != 404 {
		t.Errorf("left room: %d", a.status)
	}
	if a := get(t, s, s.URL+"/rooms/"+room.ID); a.status != 404 {
		t.Errorf("left room details: %d", a.status)
	}
}

func TestPostMessageAndActivity(t *testing.T) {
	s := newTestServer(t, OrgConfig{Seed: 1, Rooms: 5, ActiveFraction: -1})
	org := s.Org()
	room := org.Rooms[0]
	author := org.Memberships[room.ID][1]
	at := testNow.Add(time.Hour + 1234567) // sub-millisecond part dropped
	m := s.PostMessage(room.ID, author, at)
	if m.ID == "" || m.RoomID != room.ID || m.PersonEmail == "" || !m.Created.Equal(at.Truncate(time.Millisecond)) {
		t.Fatalf("posted %+v", m)
	}
	older := s.PostMessage(room.ID, author, at.Add(-time.Minute))
	msgs := s.Messages(room.ID)
	if msgs[len(msgs)-1].ID != m.ID || msgs[len(msgs)-2].ID != older.ID {
		t.Error("messages are not kept oldest first")
	}
	if r, _ := s.Room(room.ID); !r.LastActivity.Equal(m.Created) {
		t.Errorf("last activity %v, want %v", r.LastActivity, m.Created)
	}
	s.MoveActivity(room.ID, at.Add(time.Hour))
	r := decode[testRoom](t, get(t, s, s.URL+"/rooms/"+room.ID))
	if r.LastActivity != formatTime(at.Add(time.Hour)) {
		t.Errorf("wire last activity %s", r.LastActivity)
	}
	if got := s.PostMessage(MakeID("ROOM", 99), author, at); got.ID != "" {
		t.Error("post to unknown room succeeded")
	}
}

func TestUnauthorized(t *testing.T) {
	s := newTestServer(t, OrgConfig{Seed: 1, Rooms: 1})
	for _, tok := range []string{"", "wrong"} {
		a := do(t, s.Client(), "GET", s.URL+"/rooms", tok, nil)
		if a.status != 401 {
			t.Fatalf("token %q: status %d", tok, a.status)
		}
		e := decode[testError](t, a)
		tid := a.header.Get("Trackingid")
		if !strings.HasPrefix(tid, "ROUTER_") || e.TrackingID != tid || !strings.Contains(e.Message, "valid access token") || len(e.Errors) != 1 {
			t.Errorf("401 answer: %s (Trackingid %q)", a.body, tid)
		}
	}
	s.SetToken("rotated")
	if a := get(t, s, s.URL+"/people/me"); a.status != 401 {
		t.Errorf("old token: %d", a.status)
	}
	if a := do(t, s.Client(), "GET", s.URL+"/people/me", "rotated", nil); a.status != 200 || a.header.Get("Trackingid") == "" {
		t.Errorf("new token: %d", a.status)
	}
	if got := s.RequestLog(); got[0].Authorization != "" || got[1].Authorization != "Bearer wrong" || got[0].Status != 401 {
		t.Errorf("log %+v", got[:2])
	}
}

func TestRoutes(t *testing.T) {
	s := newTestServer(t, OrgConfig{Seed: 1, Rooms: 30})
	org := s.Org()
	me := decode[struct {
		ID, DisplayName, OrgID, Type, Created string
		Emails                                []string
	}](t, get(t, s, s.URL+"/people/me"))
	if me.ID != org.Me.ID || me.Type != "person" || me.OrgID != org.ID || len(me.Emails) != 1 || me.Created == "" {
		t.Errorf("me %+v", me)
	}
	room := org.Rooms[3]
	ms, _ := listAll[struct {
		ID, RoomID, PersonID, PersonEmail, PersonDisplayName, PersonOrgID, RoomType, Created string
		IsModerator, IsMonitor                                                               bool
	}](t, s, s.URL+"/memberships?max=1&roomId="+url.QueryEscape(room.ID))
	if len(ms) != len(org.Memberships[room.ID]) {
		t.Fatalf("%d memberships, want %d", len(ms), len(org.Memberships[room.ID]))
	}
	for i, m := range ms {
		if m.PersonID != org.Memberships[room.ID][i] || m.RoomID != room.ID || m.PersonEmail == "" || m.ID == "" || m.RoomType != room.Type {
			t.Errorf("membership %+v", m)
		}
	}
	mine, _ := listAll[struct{ RoomID, PersonID string }](t, s, s.URL+"/memberships?max=7")
	if len(mine) != 30 || mine[0].PersonID != org.Me.ID {
		t.Errorf("own memberships: %d", len(mine))
	}
	teams, _ := listAll[struct{ ID, Name string }](t, s, s.URL+"/teams?max=2")
	if len(teams) != 5 {
		t.Errorf("teams: %d", len(teams))
	}
	for path, want := range map[string]int{"/nothing": 404, "/rooms/x/y": 404, "/../rooms": 404, "/people/" + org.People[0].ID: 200, "/people/nobody": 404} {
		if a := get(t, s, s.URL+path); a.status != want {
			t.Errorf("%s: %d, want %d", path, a.status, want)
		}
	}
	if a := do(t, s.Client(), "DELETE", s.URL+"/rooms", DefaultToken, nil); a.status != 405 {
		t.Errorf("DELETE: %d", a.status)
	}
	c := s.Requests()
	// memberships: one page per member (max=1), then 5 pages of 7.
	if c["rooms"] != 2 || c["people/me"] != 1 || c["memberships"] != len(ms)+5 || c["teams"] != 3 || c["people"] != 2 || c["other"] != 2 {
		t.Errorf("counts %v", c)
	}
	if s.RequestsTotal() != 15+len(ms) {
		t.Errorf("total %d", s.RequestsTotal())
	}
	s.ResetRequests()
	if s.RequestsTotal() != 0 || len(s.RequestLog()) != 0 {
		t.Error("reset")
	}
}

func TestBot(t *testing.T) {
	s := newTestServer(t, OrgConfig{Seed: 4, Rooms: 60, ActiveFraction: 1, MeType: "bot"})
	org := s.Org()
	var group, direct Room
	best := 0
	for _, r := range org.Rooms {
		n := 0
		for _, m := range org.Messages[r.ID] {
			if m.mentions(org.Me.ID) {
				n++
			}
		}
		if r.Type == "group" && n > best {
			group, best = r, n
		}
		if r.Type == "direct" {
			direct = r
		}
	}
	if best == 0 {
		t.Fatal("no group room mentions the bot")
	}
	a := get(t, s, s.URL+"/messages?roomId="+url.QueryEscape(group.ID))
	if a.status != 403 || decode[testError](t, a).Message == "" {
		t.Fatalf("bot without mentionedPeople: %d %s", a.status, a.body)
	}
	for _, who := range []string{"me", org.Me.ID} {
		got, _ := listAll[testMessage](t, s, s.URL+"/messages?max=1&mentionedPeople="+url.QueryEscape(who)+"&roomId="+url.QueryEscape(group.ID))
		if len(got) != best {
			t.Errorf("mentionedPeople=%s: %d messages, want %d", who, len(got), best)
		}
	}
	if a := get(t, s, s.URL+"/messages?mentionedPeople=someone&roomId="+url.QueryEscape(group.ID)); a.status != 400 {
		t.Errorf("mentionedPeople=someone: %d", a.status)
	}
	got, _ := listAll[testMessage](t, s, s.URL+"/messages?roomId="+url.QueryEscape(direct.ID))
	if len(got) != len(org.Messages[direct.ID]) {
		t.Errorf("direct room: %d messages, want %d", len(got), len(org.Messages[direct.ID]))
	}
}

func TestRateLimitFault(t *testing.T) {
	s := newTestServer(t, OrgConfig{Seed: 1, Rooms: 3})
	s.InjectFault(Fault{Endpoint: "rooms", Status: 429, Times: 1})
	s.InjectFault(Fault{Endpoint: "rooms", Status: 429, RetryAfter: "rand(30),add(30)", Times: 1})
	s.InjectFault(Fault{Endpoint: "messages", Status: 503, RetryAfter: "Wed, 21 Oct 2015 07:28:00 GMT", Times: 1})
	a := get(t, s, s.URL+"/rooms")
	if a.status != 429 || a.header.Get("Retry-After") != "1" || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") || a.header.Get("Trackingid") == "" {
		t.Errorf("429: %d %v", a.status, a.header)
	}
	if a := get(t, s, s.URL+"/rooms"); a.status != 429 || a.header.Get("Retry-After") != "rand(30),add(30)" {
		t.Errorf("second 429: %d %v", a.status, a.header)
	}
	if a := get(t, s, s.URL+"/rooms"); a.status != 200 {
		t.Errorf("after the faults: %d", a.status)
	}
	a = get(t, s, s.URL+"/messages?roomId=x")
	if a.status != 503 || a.header.Get("Retry-After") != "Wed, 21 Oct 2015 07:28:00 GMT" || decode[testError](t, a).TrackingID == "" {
		t.Errorf("503: %d %v %s", a.status, a.header, a.body)
	}
	// Room-scoped, unlimited until cleared.
	room := s.Rooms()[0].ID
	s.InjectFault(Fault{RoomID: room, Status: 500})
	for range 3 {
		if a := get(t, s, s.URL+"/messages?roomId="+url.QueryEscape(room)); a.status != 500 {
			t.Errorf("room fault: %d", a.status)
		}
	}
	if a := get(t, s, s.URL+"/messages?roomId="+url.QueryEscape(s.Rooms()[1].ID)); a.status != 200 {
		t.Errorf("other room: %d", a.status)
	}
	s.ClearFaults()
	if a := get(t, s, s.URL+"/messages?roomId="+url.QueryEscape(room)); a.status != 200 {
		t.Errorf("cleared: %d", a.status)
	}
}

func TestBodyFaults(t *testing.T) {
	s := newTestServer(t, OrgConfig{Seed: 1, Rooms: 30})
	other := NewServer(nil)
	defer other.Close()

	s.InjectFault(Fault{Endpoint: "rooms", Malformed: true, Times: 1})
	if a := get(t, s, s.URL+"/rooms"); a.status != 200 || json.Valid(a.body) {
		t.Errorf("malformed: %d %s", a.status, a.body)
	}
	s.InjectFault(Fault{Endpoint: "rooms", Truncate: true, Times: 1})
	if a := get(t, s, s.URL+"/rooms"); !errors.Is(a.err, io.ErrUnexpectedEOF) {
		t.Errorf("truncate: status %d err %v", a.status, a.err)
	}
	s.InjectFault(Fault{Endpoint: "rooms", HugeBody: 50 << 20, Times: 1})
	if a := get(t, s, s.URL+"/rooms"); a.status != 200 || len(a.body) != 50<<20 {
		t.Errorf("huge: %d, %d bytes", a.status, len(a.body))
	}
	s.InjectFault(Fault{Endpoint: "rooms", Body: `{"items":[{"id":42}]}`, Times: 1})
	if a := get(t, s, s.URL+"/rooms"); a.status != 200 || string(a.body) != `{"items":[{"id":42}]}` {
		t.Errorf("body: %d %s", a.status, a.body)
	}
	u := s.URL + "/rooms?max=10"
	s.InjectFault(Fault{Endpoint: "rooms", LinkLoop: true, Times: 1})
	if a := get(t, s, u); a.next() != u {
		t.Errorf("loop: next %q", a.next())
	}
	s.InjectFault(Fault{Endpoint: "rooms", LinkHost: other.URL, Times: 1})
	a := get(t, s, u)
	if !strings.HasPrefix(a.next(), other.URL+"/rooms?") || !strings.Contains(a.next(), "cursor=") {
		t.Errorf("foreign host: next %q", a.next())
	}
	s.InjectFault(Fault{Endpoint: "rooms", EmptyPage: true, Times: 2})
	a = get(t, s, u)
	if len(decode[items[testRoom]](t, a).Items) != 0 || a.next() == "" || a.next() == u {
		t.Fatalf("empty page: %s next %q", a.body, a.next())
	}
	b := get(t, s, a.next())
	if len(decode[items[testRoom]](t, b).Items) != 0 || b.next() == a.next() {
		t.Fatalf("second empty page: %s next %q", b.body, b.next())
	}
	c := get(t, s, b.next())
	if got := decode[items[testRoom]](t, c).Items; len(got) != 10 || got[0].ID != s.Rooms()[0].ID || strings.Contains(c.next(), "emptyPage") {
		t.Errorf("real page after empty ones: %d rooms, next %q", len(got), c.next())
	}
}

func TestConnectionFaults(t *testing.T) {
	s := newTestServer(t, OrgConfig{Seed: 1, Rooms: 3})
	s.InjectFault(Fault{Endpoint: "rooms", ResetConnection: true, Times: 1})
	if a := get(t, s, s.URL+"/rooms"); a.err == nil {
		t.Errorf("reset: status %d", a.status)
	}
	// Stall and Delay end when the client gives up.
	for _, f := range []Fault{{Endpoint: "rooms", Stall: true, Times: 1}, {Endpoint: "rooms", Delay: time.Hour, Times: 1}} {
		s.ResetRequests()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		s.InjectFault(f)
		go func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/rooms", nil)
			req.Header.Set("Authorization", "Bearer "+DefaultToken)
			res, err := s.Client().Do(req)
			if err == nil {
				_, err = io.ReadAll(res.Body)
				res.Body.Close()
			}
			done <- err
		}()
		if err := s.WaitRequests(context.Background(), "rooms", 1); err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := <-done; err == nil {
			t.Errorf("%+v: request succeeded", f)
		}
	}
	if a := get(t, s, s.URL+"/rooms"); a.status != 200 {
		t.Errorf("after: %d", a.status)
	}
}

func TestCloseUnblocks(t *testing.T) {
	s := NewServer(GenerateOrg(OrgConfig{Seed: 1, Rooms: 3, Now: testNow}))
	release := s.Hold("rooms")
	defer release()
	s.InjectFault(Fault{Endpoint: "messages", Stall: true})
	var wg sync.WaitGroup
	for _, p := range []string{"/rooms", "/messages?roomId=x"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := get(t, s, s.URL+p)
			if a.err == nil {
				t.Errorf("%s: %d, want an error", p, a.status)
			}
		}()
	}
	if err := s.WaitRequests(context.Background(), "", 2); err != nil {
		t.Fatal(err)
	}
	s.Close() // must return although both requests are blocked
	wg.Wait()
	if err := s.WaitRequests(context.Background(), "", 3); err == nil {
		t.Error("WaitRequests after Close succeeded")
	}
}

func TestHoldAndWaitRequests(t *testing.T) {
	s := newTestServer(t, OrgConfig{Seed: 1, Rooms: 3})
	release := s.Hold("messages")
	room := url.QueryEscape(s.Rooms()[0].ID)
	results := make(chan int, 3)
	for range 3 {
		go func() { results <- get(t, s, s.URL+"/messages?roomId="+room).status }()
	}
	if err := s.WaitRequests(context.Background(), "messages", 3); err != nil {
		t.Fatal(err)
	}
	// Held requests are counted but not answered; other endpoints flow.
	if a := get(t, s, s.URL+"/rooms"); a.status != 200 {
		t.Errorf("rooms while messages held: %d", a.status)
	}
	select {
	case st := <-results:
		t.Fatalf("held request answered: %d", st)
	default:
	}
	for _, r := range s.RequestLog() {
		if r.Endpoint == "messages" && r.Status != 0 {
			t.Errorf("held request has status %d", r.Status)
		}
	}
	for range 3 {
		if len(s.Arrived()) == 0 {
			t.Fatal("arrival not announced")
		}
		<-s.Arrived()
	}
	release()
	release() // idempotent
	for range 3 {
		if st := <-results; st != 200 {
			t.Errorf("released request: %d", st)
		}
	}
	// A held request ends when its client gives up.
	release = s.Hold("")
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/rooms", nil)
		_, err := s.Client().Do(req)
		errc <- err
	}()
	if err := s.WaitRequests(context.Background(), "rooms", 2); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled held request: %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if err := s.WaitRequests(ctx, "rooms", 100); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitRequests with a done context: %v", err)
	}
}

func TestOAuthRefresh(t *testing.T) {
	s := newTestServer(t, OrgConfig{Seed: 1, Rooms: 1})
	s.SetOAuth("cid", "secret", "refresh-1", time.Hour, true)
	refresh := func(id, secret, tok string) answer {
		form := url.Values{"grant_type": {"refresh_token"}, "client_id": {id}, "client_secret": {secret}, "refresh_token": {tok}}
		return do(t, s.Client(), "POST", s.URL+"/access_token", "", strings.NewReader(form.Encode()))
	}
	type token struct {
		AccessToken           string `json:"access_token"`
		ExpiresIn             int64  `json:"expires_in"`
		RefreshToken          string `json:"refresh_token"`
		RefreshTokenExpiresIn int64  `json:"refresh_token_expires_in"`
		TokenType             string `json:"token_type"`
	}
	if a := refresh("cid", "wrong", "refresh-1"); a.status != 401 || decode[struct{ Error string }](t, a).Error != "invalid_client" {
		t.Errorf("bad secret: %d %s", a.status, a.body)
	}
	if a := refresh("cid", "secret", "nope"); a.status != 400 || decode[struct{ Error string }](t, a).Error != "invalid_grant" {
		t.Errorf("bad refresh token: %d %s", a.status, a.body)
	}
	a := refresh("cid", "secret", "refresh-1")
	tok := decode[token](t, a)
	if a.status != 200 || tok.AccessToken == "" || tok.ExpiresIn != 3600 || tok.TokenType != "Bearer" ||
		tok.RefreshToken == "refresh-1" || tok.RefreshToken != s.RefreshToken() || tok.RefreshTokenExpiresIn <= 0 {
		t.Fatalf("refresh: %d %s", a.status, a.body)
	}
	if a := get(t, s, s.URL+"/rooms"); a.status != 401 {
		t.Errorf("old access token: %d", a.status)
	}
	if a := do(t, s.Client(), "GET", s.URL+"/rooms", tok.AccessToken, nil); a.status != 200 {
		t.Errorf("new access token: %d", a.status)
	}
	if a := refresh("cid", "secret", "refresh-1"); a.status != 400 {
		t.Errorf("rotated-out refresh token: %d", a.status)
	}
	tok2 := decode[token](t, refresh("cid", "secret", tok.RefreshToken))
	if tok2.AccessToken == tok.AccessToken || tok2.RefreshToken == tok.RefreshToken {
		t.Error("second refresh did not rotate")
	}
	if a := do(t, s.Client(), "GET", s.URL+"/rooms", tok.AccessToken, nil); a.status != 401 {
		t.Errorf("previous access token: %d", a.status)
	}

	// Without rotation the refresh token stays; expired access tokens fail.
	s.SetOAuth("cid", "secret", "keep", time.Nanosecond, false)
	tok3 := decode[token](t, refresh("cid", "secret", "keep"))
	if tok3.RefreshToken != "keep" || s.RefreshToken() != "keep" {
		t.Errorf("no rotation: %+v", tok3)
	}
	if a := do(t, s.Client(), "GET", s.URL+"/rooms", tok3.AccessToken, nil); a.status != 401 {
		t.Errorf("expired access token: %d", a.status)
	}
	if a := do(t, s.Client(), "GET", s.URL+"/access_token", "", nil); a.status != 405 {
		t.Errorf("GET access_token: %d", a.status)
	}
	if c := s.Requests()["access_token"]; c != 7 {
		t.Errorf("access_token count %d", c)
	}
}

func TestTLS(t *testing.T) {
	s := newTestServer(t, OrgConfig{Seed: 1, Rooms: 2}, WithTLS(), WithToken("tls-token"), WithLatency(time.Millisecond))
	if !strings.HasPrefix(s.URL, "https://") {
		t.Fatal(s.URL)
	}
	if a := do(t, s.Client(), "GET", s.URL+"/rooms", "tls-token", nil); a.status != 200 {
		t.Fatalf("%d %v", a.status, a.err)
	}
	s.InjectFault(Fault{ResetConnection: true, Times: 2}) // the Transport retries once
	if a := do(t, s.Client(), "GET", s.URL+"/rooms", "tls-token", nil); a.err == nil {
		t.Error("TLS reset succeeded")
	}
}

func TestSimulate(t *testing.T) {
	s := newTestServer(t, OrgConfig{Seed: 5, Rooms: 500, QuietRooms: 10, MeType: "bot"})
	before := s.Org()
	rnd := rand.New(rand.NewPCG(1, 2))
	var sim simulation
	for range 2000 {
		s.simulateOne(&sim, rnd, time.Now())
	}
	after := s.Org()
	perRoom := map[string]int{}
	total := 0
	for _, r := range after.Rooms {
		n := len(after.Messages[r.ID]) - len(before.Messages[r.ID])
		perRoom[r.ID] = n
		total += n
		if strings.HasPrefix(r.Title, "Quiet") && n > 0 {
			t.Errorf("quiet room %s got %d messages", r.Title, n)
		}
	}
	counts := slices.Sorted(func(yield func(int) bool) {
		for _, n := range perRoom {
			if !yield(n) {
				return
			}
		}
	})
	slices.Reverse(counts)
	busy := counts[0] + counts[1] + counts[2] + counts[3] + counts[4]
	if total != 2000 || busy < 1200 {
		t.Errorf("total %d, busiest five %d", total, busy)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Simulate(ctx, time.Millisecond, rnd); close(done) }()
	cancel()
	<-done
}

func BenchmarkListRooms10k(b *testing.B) {
	s := NewServer(GenerateOrg(OrgConfig{Seed: 1, Rooms: 10_000, Now: testNow}))
	defer s.Close()
	c := s.Client()
	for b.Loop() {
		n := 0
		for u := s.URL + "/rooms?max=1000"; u != ""; {
			req, _ := http.NewRequest("GET", u, nil)
			req.Header.Set("Authorization", "Bearer "+DefaultToken)
			res, err := c.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var p items[testRoom]
			if err := json.NewDecoder(res.Body).Decode(&p); err != nil {
				b.Fatal(err)
			}
			res.Body.Close()
			n += len(p.Items)
			u = answer{header: res.Header}.next()
		}
		if n != 10_000 {
			b.Fatal(n)
		}
	}
}

func BenchmarkMessages(b *testing.B) {
	org := GenerateOrg(OrgConfig{Seed: 1, Rooms: 10_000, Now: testNow, ActiveFraction: 1, MaxMessagesPerRoom: 39})
	s := NewServer(org)
	defer s.Close()
	c := s.Client()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			room := org.Rooms[i%len(org.Rooms)]
			i++
			req, _ := http.NewRequest("GET", s.URL+"/messages?roomId="+url.QueryEscape(room.ID), nil)
			req.Header.Set("Authorization", "Bearer "+DefaultToken)
			res, err := c.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				b.Fatal(res.StatusCode)
			}
		}
	})
}
