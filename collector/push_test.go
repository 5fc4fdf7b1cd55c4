package collector

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// pushEnv is a warm exporter with the push feed on: a receiver (an
// httptest server, as main's listener) hands deliveries to Push.Deliver.
type pushEnv struct {
	*env
	push *Push
	seen map[string][]webextest.Message
	org  *webextest.Org
}

func newPushEnv(t *testing.T, cfg Config) *pushEnv {
	t.Helper()
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 51, Rooms: 30, Now: t0, ActiveFraction: 1})
	e := newEnv(t, org, cfg)
	return attachPush(t, e, org)
}

func attachPush(t testing.TB, e *env, org *webextest.Org) *pushEnv {
	t.Helper()
	p := &pushEnv{env: e, org: org}
	var receiver *httptest.Server
	receiver = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if rejected(p.push.Deliver(body, r.Header.Get("X-Spark-Signature"))) {
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	t.Cleanup(receiver.Close)
	p.push = NewPush(e.tracker, e.client, PushConfig{TargetURL: receiver.URL + "/webhook"})
	return p
}

func (p *pushEnv) waitDeliveries(t testing.TB, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.srv.WaitDeliveries(ctx, n); err != nil {
		t.Fatalf("waiting for %d deliveries: %v (got %d)", n, err, len(p.srv.Deliveries()))
	}
}

func (p *pushEnv) deliveries(t *testing.T) map[string]float64 {
	return collectValues(t, p.push)
}

// TestPushCountsOnceAndSavesReads: the first refresh creates the webhook;
// pushed messages are counted once (a replayed delivery too), and the
// scrape after them makes no /messages call: the listing alone.
func TestPushCountsOnceAndSavesReads(t *testing.T) {
	p := newPushEnv(t, Config{})
	p.seen = coldSeen(p.srv, t0.Add(-24*time.Hour))
	p.scrape(t, 10*time.Second)
	if hooks := p.srv.Webhooks(); len(hooks) != 1 || hooks[0].Status != "active" || len(hooks[0].Secret) < 32 {
		t.Fatalf("webhooks after the first refresh: %+v; want one active, with a secret", hooks)
	}
	now := p.clock.Add(4 * time.Minute) // within the 5 minutes between status checks
	rooms := p.srv.Rooms()
	for i, r := range rooms[:3] {
		p.seen[r.ID] = append(p.seen[r.ID], p.srv.PostMessage(r.ID, p.org.People[i].ID, now.Add(-time.Minute)))
	}
	p.waitDeliveries(t, 3)
	if !p.srv.ReplayDelivery() {
		t.Fatal("no delivery to replay")
	}
	p.waitDeliveries(t, 4)
	p.srv.ResetRequests()
	got := p.scrape(t, 10*time.Second)
	compare(t, got, expected(now, p.windows, truth(p.srv, p.seen, nil)))
	assertCalls(t, p.srv, 1, 0, 0)
	d := p.deliveries(t)
	if d[key("webex_push_deliveries_total", "result", PushAccepted)] != 3 || d[key("webex_push_deliveries_total", "result", PushDuplicate)] != 1 || d[key("webex_push_enabled")] != 1 {
		t.Errorf("push metrics %v; want 3 accepted, 1 duplicate, enabled", d)
	}
	// The last delivery's time is the tracker's clock, as every other time it exports.
	if got := d[key("webex_push_last_delivery_timestamp_seconds")]; got != unix(now) {
		t.Errorf("webex_push_last_delivery_timestamp_seconds %v; want %v (the tracker's clock)", got, unix(now))
	}
}

// TestPushRefusesForgedDeliveries: unsigned, wrongly signed, malformed and
// oversized deliveries change nothing and are counted.
func TestPushRefusesForgedDeliveries(t *testing.T) {
	p := newPushEnv(t, Config{})
	p.scrape(t, 10*time.Second)
	room := p.srv.Rooms()[0]
	before := p.scrape(t, 10*time.Second)[key("webex_room_messages_total", "room_id", room.ID)]
	body := []byte(`{"id":"hook","resource":"messages","event":"created","data":{"id":"forged","roomId":"` + room.ID + `","personId":"p","created":"` + t0.Format(time.RFC3339) + `"}}`)
	secret := p.tracker.webhook.get().secret
	for _, c := range []struct {
		name, sig string
		body      []byte
		want      string
	}{
		{"unsigned", "", body, PushRejectedSignature},
		{"signed with another secret", webextest.Sign(body, strings.Repeat("x", 64)), body, PushRejectedSignature},
		{"not hex", strings.Repeat("z", 40), body, PushRejectedSignature},
		{"malformed", webextest.Sign([]byte("{"), secret), []byte("{"), PushRejectedMalformed},
		{"oversized", "", make([]byte, 65<<10), PushRejectedTooLarge},
		{"another event", webextest.Sign([]byte(`{"id":"h","resource":"rooms","event":"updated"}`), secret), []byte(`{"id":"h","resource":"rooms","event":"updated"}`), PushIgnored},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := p.push.Deliver(c.body, c.sig); got != c.want {
				t.Errorf("result %q, want %q", got, c.want)
			}
		})
	}
	got := p.scrape(t, 10*time.Second)
	if got[key("webex_room_messages_total", "room_id", room.ID)] != before {
		t.Errorf("a refused delivery changed the counter")
	}
	d := p.deliveries(t)
	if d[key("webex_push_deliveries_total", "result", PushRejectedSignature)] != 3 || d[key("webex_push_deliveries_total", "result", PushRejectedMalformed)] != 1 ||
		d[key("webex_push_deliveries_total", "result", PushRejectedTooLarge)] != 1 {
		t.Errorf("push metrics %v", d)
	}
}

// TestPushLostDeliveryReconciled: a delivery Webex never made is caught by
// the next scrape: the room's move is unexplained, so it is read.
func TestPushLostDeliveryReconciled(t *testing.T) {
	p := newPushEnv(t, Config{})
	p.seen = coldSeen(p.srv, t0.Add(-24*time.Hour))
	p.scrape(t, 10*time.Second)
	now := p.clock.Add(4 * time.Minute)
	rooms := p.srv.Rooms()
	p.srv.LoseDeliveries(1)
	p.seen[rooms[0].ID] = append(p.seen[rooms[0].ID], p.srv.PostMessage(rooms[0].ID, p.org.People[0].ID, now.Add(-2*time.Minute)))
	p.seen[rooms[1].ID] = append(p.seen[rooms[1].ID], p.srv.PostMessage(rooms[1].ID, p.org.People[1].ID, now.Add(-time.Minute)))
	p.waitDeliveries(t, 2)
	p.srv.ResetRequests()
	got := p.scrape(t, 10*time.Second)
	compare(t, got, expected(now, p.windows, truth(p.srv, p.seen, nil)))
	if n := messageCalls(p.srv, rooms[0].ID); n != 1 {
		t.Errorf("%d reads of the room whose delivery was lost; want 1", n)
	}
	if n := p.srv.Requests()["messages"]; n != 1 {
		t.Errorf("%d /messages calls; want only the lost one's room", n)
	}
}

// TestPushDisabledWebhookEnabledAgain: a webhook Webex disabled (after
// failed deliveries) is found at once, when polling sees a move no delivery
// explains, and set active again.
func TestPushDisabledWebhookEnabledAgain(t *testing.T) {
	p := newPushEnv(t, Config{})
	p.scrape(t, 10*time.Second)
	id := p.srv.Webhooks()[0].ID
	p.srv.DisableWebhook(id)
	now := p.clock.Add(2 * time.Minute)
	room := p.srv.Rooms()[0]
	p.srv.PostMessage(room.ID, p.org.People[0].ID, now.Add(-time.Minute)) // not delivered: the hook is off
	got := p.scrape(t, 10*time.Second)
	if hooks := p.srv.Webhooks(); len(hooks) != 1 || hooks[0].ID != id || hooks[0].Status != "active" {
		t.Errorf("webhooks after the scrape: %+v; want the same one, active again", hooks)
	}
	if got[key("webex_room_messages_total", "room_id", room.ID)] != 1 {
		t.Errorf("the undelivered message was not read by the poll")
	}
	p.clock.Add(time.Minute)
	m := p.srv.PostMessage(room.ID, p.org.People[1].ID, p.clock.Now().Add(-time.Second))
	p.waitDeliveries(t, 1)
	if ds := p.srv.Deliveries(); ds[len(ds)-1].MessageID != m.ID || ds[len(ds)-1].Status != 200 {
		t.Errorf("last delivery %+v; want the new message, answered 200", ds[len(ds)-1])
	}
}

// TestPushRestartKeepsSecretAndHook: with the state file, a restarted
// exporter finds its webhook and keeps its secret: no new webhook, and
// deliveries signed with the old secret are accepted.
func TestPushRestartKeepsSecretAndHook(t *testing.T) {
	path := statePath(t)
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 52, Rooms: 10, Now: t0, ActiveFraction: 1})
	e := newEnv(t, org, Config{StateFile: path})
	p := attachPush(t, e, org)
	p.scrape(t, 10*time.Second)
	if err := p.tracker.SaveState(); err != nil {
		t.Fatal(err)
	}
	hook := p.srv.Webhooks()[0]

	e2 := e.restart(t, Config{StateFile: path})
	p.srv.ResetRequests()
	p2 := attachPush(t, e2, org)
	// The restarted exporter is reached at the same URL as before (its own
	// receiver got a new port here, so give it the old URL).
	p2.push.url = hook.TargetURL
	e2.clock.Add(time.Minute)
	p2.scrape(t, 10*time.Second)
	if c := p.srv.Requests(); c["webhooks"] != 1 {
		t.Errorf("webhook calls after the restart: %v; want 1 (the status check of the known hook)", c)
	}
	if hooks := p.srv.Webhooks(); len(hooks) != 1 || hooks[0].ID != hook.ID || hooks[0].Secret != hook.Secret {
		t.Errorf("webhooks after the restart: %+v; want the same one with the same secret", hooks)
	}
	secret := e2.tracker.webhook.get().secret
	if secret != hook.Secret {
		t.Errorf("the restarted exporter does not know the webhook's secret")
	}
}

// BenchmarkPush measures what push saves: API calls per warm scrape with
// push on and off, when 1% of the rooms got a message since the last
// scrape, and how long a message takes from being posted to being counted
// with push (with polling alone: until the next scrape).
//
//	go test -run '^$' -bench Push -benchtime 20x ./collector/
func BenchmarkPush(b *testing.B) {
	for _, rooms := range []int{1000, 10000} {
		org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 1, Rooms: rooms, Now: t0, History: 24 * time.Hour,
			ActiveFraction: 0.5, MaxMessagesPerRoom: 20})
		for _, push := range []bool{false, true} {
			b.Run(fmt.Sprintf("rooms=%d/push=%v", rooms, push), func(b *testing.B) {
				e := newEnv(b, org, Config{})
				var p *pushEnv
				if push {
					p = attachPush(b, e, org)
				}
				e.scrape(b, 5*time.Minute)
				list := e.srv.Rooms()
				calls, delivered := 0, 0
				var delay time.Duration
				for i := 0; b.Loop(); i++ {
					b.StopTimer()
					now := e.clock.Add(time.Minute)
					var last time.Time
					for j, r := range list {
						if j%100 == i%100 {
							e.srv.PostMessage(r.ID, org.People[j%len(org.People)].ID, now.Add(-time.Second))
							last = time.Now()
							delivered++
						}
					}
					if push {
						p.waitDeliveries(b, delivered)
						delay += time.Since(last)
					}
					e.srv.ResetRequests()
					b.StartTimer()
					e.scrape(b, 5*time.Minute)
					b.StopTimer()
					calls += e.srv.RequestsTotal()
					b.StartTimer()
				}
				b.ReportMetric(float64(calls)/float64(b.N), "calls/op")
				if push {
					b.ReportMetric(float64(delay.Microseconds())/1e3/float64(b.N), "push-delay-ms")
				}
			})
		}
	}
}

// rejected reports whether a delivery result is a refusal, which main's
// webhook handler answers 4xx.
func rejected(result string) bool {
	switch result {
	case PushRejectedSignature, PushRejectedMalformed, PushRejectedTooLarge:
		return true
	}
	return false
}
