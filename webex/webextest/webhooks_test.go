package webextest

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type testWebhook struct {
	ID, Name, TargetURL, Resource, Event, Filter, Secret, Status, Created, OrgID, CreatedBy, AppID, OwnedBy string
}

type testDelivery struct {
	testWebhook
	ActorID string
	Data    struct {
		ID, RoomID, RoomType, PersonID, PersonEmail, Created string
	}
}

// target is a webhook receiver that records what it got.
type target struct {
	*httptest.Server
	status atomic.Int32
	mu     sync.Mutex
	got    []received
}

type received struct {
	body      []byte
	signature string
}

func newTarget(t *testing.T) *target {
	tg := &target{}
	tg.status.Store(200)
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		tg.mu.Lock()
		tg.got = append(tg.got, received{b, r.Header.Get("X-Spark-Signature")})
		tg.mu.Unlock()
		w.WriteHeader(int(tg.status.Load()))
	}))
	t.Cleanup(tg.Close)
	return tg
}

func (tg *target) received() []received {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return append([]received(nil), tg.got...)
}

func send(t *testing.T, s *Server, method, path, body string) answer {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	return do(t, s.Client(), method, s.URL+path, DefaultToken, r)
}

func createHook(t *testing.T, s *Server, targetURL, secret, filter string) testWebhook {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"name": "exporter", "targetUrl": targetURL, "resource": "messages", "event": "created", "secret": secret, "filter": filter})
	a := send(t, s, "POST", "/webhooks", string(b))
	if a.status != 200 {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	return decode[testWebhook](t, a)
}

func waitDeliveries(t *testing.T, s *Server, n int) []Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.WaitDeliveries(ctx, n); err != nil {
		t.Fatalf("waiting for %d deliveries (%d so far): %v", n, len(s.Deliveries()), err)
	}
	return s.Deliveries()
}

func TestWebhooksAPI(t *testing.T) {
	s := newTestServer(t, OrgConfig{Seed: 1, Rooms: 2})
	org := s.Org()
	for _, tc := range []struct{ name, body string }{
		{"not JSON", "{"},
		{"no name", `{"targetUrl":"https://x.example/h","resource":"messages","event":"created"}`},
		{"no event", `{"name":"n","targetUrl":"https://x.example/h","resource":"messages"}`},
		{"relative target", `{"name":"n","targetUrl":"/h","resource":"messages","event":"created"}`},
		{"bad resource", `{"name":"n","targetUrl":"https://x.example/h","resource":"chats","event":"created"}`},
		{"bad filter", `{"name":"n","targetUrl":"https://x.example/h","resource":"messages","event":"created","filter":"colour=red"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if a := send(t, s, "POST", "/webhooks", tc.body); a.status != 400 || decode[testError](t, a).Message == "" {
				t.Errorf("%d %s", a.status, a.body)
			}
		})
	}
	before := time.Now().Add(-time.Second)
	h1 := createHook(t, s, "https://x.example/one", "s3cret", "")
	h2 := createHook(t, s, "https://x.example/two", "", "roomType=direct")
	created, err := time.Parse(time.RFC3339, h1.Created)
	if h1.ID == "" || h1.ID == h2.ID || h1.Status != "active" || h1.OrgID != org.ID || h1.CreatedBy != org.Me.ID || h1.OwnedBy != "creator" ||
		h1.AppID == "" || err != nil || created.Before(before) || h1.Secret != "s3cret" || h2.Filter != "roomType=direct" {
		t.Errorf("created %+v, %+v", h1, h2)
	}
	list, pages := listAll[testWebhook](t, s, s.URL+"/webhooks?max=1")
	if len(list) != 2 || pages != 2 || list[0] != h1 || list[1] != h2 {
		t.Errorf("listing %+v in %d pages", list, pages)
	}
	if got := decode[testWebhook](t, send(t, s, "GET", "/webhooks/"+h1.ID, "")); got != h1 {
		t.Errorf("get %+v", got)
	}
	s.DisableWebhook(h1.ID)
	if got := decode[testWebhook](t, send(t, s, "GET", "/webhooks/"+h1.ID, "")); got.Status != "inactive" {
		t.Errorf("disabled: %+v", got)
	}
	if a := send(t, s, "PUT", "/webhooks/"+h1.ID, `{"name":"renamed","targetUrl":"https://x.example/one","status":"paused"}`); a.status != 400 {
		t.Errorf("PUT bad status: %d", a.status)
	}
	a := send(t, s, "PUT", "/webhooks/"+h1.ID, `{"name":"renamed","targetUrl":"https://x.example/one","status":"active"}`)
	if got := decode[testWebhook](t, a); a.status != 200 || got.Status != "active" || got.Name != "renamed" || got.Secret != "s3cret" {
		t.Errorf("PUT: %d %+v", a.status, got)
	}
	if a := send(t, s, "DELETE", "/webhooks/"+h2.ID, ""); a.status != 204 || len(a.body) != 0 {
		t.Errorf("DELETE: %d %s", a.status, a.body)
	}
	for _, tc := range []struct{ method, path string }{{"GET", "/webhooks/" + h2.ID}, {"PUT", "/webhooks/" + h2.ID}, {"DELETE", "/webhooks/" + h2.ID}} {
		if a := send(t, s, tc.method, tc.path, `{"name":"n","targetUrl":"https://x.example/h"}`); a.status != 404 {
			t.Errorf("%s of a deleted webhook: %d", tc.method, a.status)
		}
	}
	if a := send(t, s, "PATCH", "/webhooks/"+h1.ID, ""); a.status != 405 || a.header.Get("Allow") == "" {
		t.Errorf("PATCH: %d", a.status)
	}
	if hooks := s.Webhooks(); len(hooks) != 1 || hooks[0].Name != "renamed" || s.Requests()["webhooks"] == 0 {
		t.Errorf("Webhooks() = %+v, counts %v", hooks, s.Requests())
	}
}

func TestWebhookDelivery(t *testing.T) {
	s := newTestServer(t, OrgConfig{Seed: 1, Rooms: 5, OtherRooms: 5})
	org := s.Org()
	tg := newTarget(t)
	h := createHook(t, s, tg.URL+"/hook", "the-secret", "")
	other := s.PostMessage(org.OtherRooms[0].ID, org.Memberships[org.OtherRooms[0].ID][0], time.Now())
	m := s.PostMessage(org.Rooms[0].ID, org.People[0].ID, time.Now())
	ds := waitDeliveries(t, s, 1)
	got := tg.received()
	if len(ds) != 1 || len(got) != 1 || ds[0].MessageID != m.ID || ds[0].Status != 200 || ds[0].Err != nil {
		t.Fatalf("deliveries %+v, received %d; the message in a room the account is not in (%s) must not be delivered", ds, len(got), other.ID)
	}
	mac := hmac.New(sha1.New, []byte("the-secret"))
	mac.Write(got[0].body)
	if want := hex.EncodeToString(mac.Sum(nil)); got[0].signature != want || ds[0].Signature != want || string(ds[0].Body) != string(got[0].body) {
		t.Errorf("signature %q, want %q", got[0].signature, want)
	}
	var d testDelivery
	if err := json.Unmarshal(got[0].body, &d); err != nil {
		t.Fatal(err)
	}
	if d.ID != h.ID || d.Name != h.Name || d.TargetURL != h.TargetURL || d.Resource != "messages" || d.Event != "created" ||
		d.OrgID != org.ID || d.CreatedBy != org.Me.ID || d.AppID != h.AppID || d.OwnedBy != "creator" || d.Status != "active" ||
		d.Created != h.Created || d.ActorID != m.PersonID || d.Data.ID != m.ID || d.Data.RoomID != m.RoomID ||
		d.Data.RoomType != m.RoomType || d.Data.PersonID != m.PersonID || d.Data.PersonEmail != m.PersonEmail || d.Data.Created != formatTime(m.Created) {
		t.Errorf("delivery %+v\nfor message %+v", d, m)
	}
	if strings.Contains(string(got[0].body), "the-secret") {
		t.Error("the delivery carries the secret")
	}
}

func TestWebhookCoverage(t *testing.T) {
	s := newTestServer(t, OrgConfig{Seed: 2, Rooms: 20})
	org := s.Org()
	var group, direct Room
	for _, r := range org.Rooms {
		if r.Type == "group" {
			group = r
		} else {
			direct = r
		}
	}
	poster := org.Memberships[group.ID][1]
	tg := newTarget(t)
	createHook(t, s, tg.URL, "k", "")
	filtered := createHook(t, s, tg.URL, "k", "roomId="+direct.ID)
	me := org.Me
	me.Type = "bot"
	s.SetMe(me)
	plain := s.PostMessage(group.ID, poster, time.Now())
	mention := s.Post(Message{RoomID: group.ID, PersonID: poster, MentionedPeople: []string{me.ID}})
	dm := s.PostMessage(direct.ID, org.Memberships[direct.ID][1], time.Now())
	ds := waitDeliveries(t, s, 3)
	type key struct{ hook, msg string }
	var got []key
	for _, d := range ds {
		got = append(got, key{d.WebhookID, d.MessageID})
	}
	// A bot's webhooks fire in group rooms only when it is mentioned; the
	// filtered one only in its room. Deliveries go out in posting order.
	all := s.Webhooks()[0].ID
	want := []key{{all, mention.ID}, {all, dm.ID}, {filtered.ID, dm.ID}}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("deliveries %v, want %v (not %s, a group message without mention)", got, want, plain.ID)
	}
}

func TestWebhookLostReplayedAndDisabled(t *testing.T) {
	s := newTestServer(t, OrgConfig{Seed: 1, Rooms: 3})
	room := s.Org().Rooms[0]
	tg := newTarget(t)
	h := createHook(t, s, tg.URL, "k", "")

	s.LoseDeliveries(1)
	lost := s.PostMessage(room.ID, "", time.Now())
	sent := s.PostMessage(room.ID, "", time.Now())
	ds := waitDeliveries(t, s, 2)
	if !ds[0].Lost || ds[0].MessageID != lost.ID || ds[1].Lost || ds[1].MessageID != sent.ID || len(tg.received()) != 1 {
		t.Fatalf("lost: %+v, received %d", ds, len(tg.received()))
	}

	if !s.ReplayDelivery() {
		t.Fatal("nothing to replay")
	}
	ds = waitDeliveries(t, s, 3)
	got := tg.received()
	if !ds[2].Replay || ds[2].MessageID != sent.ID || len(got) != 2 || string(got[0].body) != string(got[1].body) || got[0].signature != got[1].signature {
		t.Fatalf("replay: %+v", ds[2])
	}

	// 100 failed deliveries within 5 minutes disable the webhook, as Webex does.
	tg.status.Store(500)
	for range 100 {
		s.PostMessage(room.ID, "", time.Now())
	}
	waitDeliveries(t, s, 103)
	if st := s.Webhooks()[0].Status; st != "inactive" {
		t.Fatalf("after 100 failures: %s", st)
	}
	tg.status.Store(200)
	other := createHook(t, s, tg.URL, "k", "")
	m := s.PostMessage(room.ID, "", time.Now())
	ds = waitDeliveries(t, s, 104)
	if d := ds[103]; d.WebhookID != other.ID || d.MessageID != m.ID {
		t.Errorf("after disabling, delivery %+v: want only the other webhook's", d)
	}
	// Set active again, it delivers again.
	if a := send(t, s, "PUT", "/webhooks/"+h.ID, `{"name":"exporter","targetUrl":"`+tg.URL+`","status":"active"}`); a.status != 200 {
		t.Fatalf("PUT: %d", a.status)
	}
	m = s.PostMessage(room.ID, "", time.Now())
	ds = waitDeliveries(t, s, 106)
	if ds[104].WebhookID != h.ID || ds[104].MessageID != m.ID || ds[104].Status != 200 {
		t.Errorf("re-enabled: %+v", ds[104])
	}
}

func TestWebhookDeliveryToDeadTarget(t *testing.T) {
	s := newTestServer(t, OrgConfig{Seed: 1, Rooms: 1})
	tg := newTarget(t)
	createHook(t, s, tg.URL, "", "")
	tg.Close()
	s.PostMessage(s.Org().Rooms[0].ID, "", time.Now())
	ds := waitDeliveries(t, s, 1)
	if ds[0].Err == nil || ds[0].Status != 0 || ds[0].Signature != "" {
		t.Errorf("delivery to a closed target: %+v", ds[0])
	}
}
