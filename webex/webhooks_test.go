package webex_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/webex-exporter/webex_exporter/webex"
	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// receiver is what main.go will serve: it checks each delivery's signature,
// parses it and hands it on.
type receiver struct {
	*httptest.Server
	got chan result
}

type result struct {
	delivery webex.Delivery
	err      error
	verified bool
}

func newReceiver(t *testing.T, secret string) *receiver {
	rc := &receiver{got: make(chan result, 16)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, webex.MaxDeliveryBytes+1))
		if err != nil {
			w.WriteHeader(400)
			return
		}
		res := result{verified: webex.VerifySignature(body, secret, r.Header.Get("X-Spark-Signature"))}
		res.delivery, res.err = webex.ParseDelivery(body)
		rc.got <- res
	}))
	t.Cleanup(rc.Close)
	return rc
}

func TestWebhookRoundTrip(t *testing.T) {
	srv, org := orgServer(t, 5, 5)
	c := newClient(t, srv, nil)
	secret := webex.NewWebhookSecret()
	rc := newReceiver(t, secret)
	spec := webex.WebhookSpec{Name: "webex_exporter", TargetURL: rc.URL + "/webhook", Resource: "messages", Event: "created", Secret: secret}
	hook, err := c.CreateWebhook(ctx(t), spec)
	if err != nil {
		t.Fatal(err)
	}
	if hook.ID == "" || !hook.Active() || hook.Name != spec.Name || hook.TargetURL != spec.TargetURL || hook.CreatedBy != org.Me.ID ||
		hook.Created.IsZero() || hook.Resource != "messages" || hook.Event != "created" {
		t.Errorf("created %+v", hook)
	}
	room := org.Rooms[0]
	m := srv.PostMessage(room.ID, org.Memberships[room.ID][1], time.Now())
	if err := srv.WaitDeliveries(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
	got := <-rc.got
	want := webex.MessageData{ID: m.ID, RoomID: m.RoomID, RoomType: m.RoomType, PersonID: m.PersonID, PersonEmail: m.PersonEmail, Created: m.Created}
	if !got.verified || got.err != nil || got.delivery.WebhookID != hook.ID || got.delivery.Message != want ||
		got.delivery.ActorID != m.PersonID || got.delivery.OrgID != org.ID || got.delivery.Name != spec.Name {
		t.Errorf("delivered %+v (verified %v, %v); want message %+v of webhook %s", got.delivery, got.verified, got.err, want, hook.ID)
	}

	// The same body under another secret does not verify.
	wrong := newReceiver(t, webex.NewWebhookSecret())
	if _, err := c.UpdateWebhook(ctx(t), hook.ID, webex.WebhookSpec{Name: spec.Name, TargetURL: wrong.URL}); err != nil {
		t.Fatal(err)
	}
	srv.PostMessage(room.ID, "", time.Now())
	if err := srv.WaitDeliveries(ctx(t), 2); err != nil {
		t.Fatal(err)
	}
	if got := <-wrong.got; got.verified || got.err != nil {
		t.Errorf("a delivery signed with another secret: verified %v, %v", got.verified, got.err)
	}

	// The secret went only into request bodies: never a URL.
	for _, r := range srv.RequestLog() {
		if strings.Contains(r.Path+r.RawQuery, secret) {
			t.Errorf("secret in a URL: %s %s", r.Method, r.Path)
		}
	}
}

func TestWebhookLifecycle(t *testing.T) {
	srv, _ := orgServer(t, 2, 0)
	var seen []webex.RequestInfo
	c, err := webex.New(webex.Options{BaseURL: srv.URL, Token: webex.StaticToken(webextest.DefaultToken),
		Observe: func(ri webex.RequestInfo) { seen = append(seen, ri) }})
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.CreateWebhook(ctx(t), webex.WebhookSpec{Name: "a", TargetURL: "https://hooks.example/a", Resource: "messages", Event: "created", Secret: "k"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.CreateWebhook(ctx(t), webex.WebhookSpec{Name: "b", TargetURL: "https://hooks.example/b", Resource: "messages", Event: "created", Filter: "roomType=direct"})
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.Webhooks(ctx(t))
	if err != nil || len(list) != 2 || list[0] != a || list[1] != b || b.Filter != "roomType=direct" {
		t.Fatalf("Webhooks() = %+v, %v", list, err)
	}
	srv.DisableWebhook(a.ID)
	if got, err := c.Webhook(ctx(t), a.ID); err != nil || got.Active() || got.Status != "inactive" {
		t.Fatalf("disabled: %+v, %v", got, err)
	}
	got, err := c.UpdateWebhook(ctx(t), a.ID, webex.WebhookSpec{Name: "a", TargetURL: "https://hooks.example/a", Status: "active"})
	if err != nil || !got.Active() || srv.Webhooks()[0].Status != "active" || srv.Webhooks()[0].Secret != "k" {
		t.Fatalf("re-enabled: %+v, %v; server %+v", got, err, srv.Webhooks()[0])
	}
	if err := c.DeleteWebhook(ctx(t), b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Webhook(ctx(t), b.ID); !webex.IsNotFound(err) {
		t.Errorf("deleted webhook: %v", err)
	}
	if err := c.DeleteWebhook(ctx(t), b.ID); !webex.IsNotFound(err) {
		t.Errorf("deleting twice: %v", err)
	}
	methods := map[string]int{}
	for _, r := range srv.RequestLog() {
		methods[r.Method]++
	}
	if methods["POST"] != 2 || methods["PUT"] != 1 || methods["DELETE"] != 2 || srv.Requests()["webhooks"] != 8 {
		t.Errorf("requests by method %v, %v", methods, srv.Requests())
	}
	codes := map[string]int{}
	for _, ri := range seen {
		codes[ri.Endpoint+" "+ri.Code]++
	}
	if codes["webhooks 200"] != 5 || codes["webhooks 204"] != 1 || codes["webhooks 404"] != 2 || len(seen) != 8 {
		t.Errorf("observed %v", codes)
	}
}

func TestWebhookPostIsSentOnce(t *testing.T) {
	spec := webex.WebhookSpec{Name: "a", TargetURL: "https://hooks.example/a", Resource: "messages", Event: "created", Secret: "very-secret-value"}
	for _, tc := range []struct {
		name   string
		fault  webextest.Fault
		status int
	}{
		{"429", webextest.Fault{Endpoint: "webhooks", Times: 1, Status: 429, RetryAfter: "0"}, 429},
		{"401", webextest.Fault{Endpoint: "webhooks", Times: 1, Status: 401}, 401},
		{"502", webextest.Fault{Endpoint: "webhooks", Times: 1, Status: 502}, 502},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := orgServer(t, 1, 0)
			c := newClient(t, srv, tokenThatChanges{})
			srv.InjectFault(tc.fault)
			_, err := c.CreateWebhook(ctx(t), spec)
			if webex.StatusCode(err) != tc.status || srv.Requests()["webhooks"] != 1 || len(srv.Webhooks()) != 0 {
				t.Errorf("err = %v, %d requests; want one refused POST", err, srv.Requests()["webhooks"])
			}
			if err != nil && strings.Contains(err.Error(), spec.Secret) {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
	// A GET after a 429 is sent again (it is idempotent).
	srv, _ := orgServer(t, 1, 0)
	c := newClient(t, srv, nil)
	srv.InjectFault(webextest.Fault{Endpoint: "webhooks", Times: 1, Status: 429, RetryAfter: "0"})
	if _, err := c.Webhooks(ctx(t)); err != nil || srv.Requests()["webhooks"] != 2 {
		t.Errorf("GET after 429: %v, %d requests", err, srv.Requests()["webhooks"])
	}
}

// tokenThatChanges is a token source that would make a retry after 401
// worth it: the POST must still not be sent again.
type tokenThatChanges struct{}

func (tokenThatChanges) Token(context.Context) (string, error) { return webextest.DefaultToken, nil }
func (tokenThatChanges) Invalidate() bool                      { return true }

func TestWebhookSpecHidesSecret(t *testing.T) {
	spec := webex.WebhookSpec{Name: "n", TargetURL: "https://hooks.example/", Resource: "messages", Event: "created", Secret: "s3cr3t-value"}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(f, spec); strings.Contains(out, spec.Secret) || !strings.Contains(out, "secret set") {
			t.Errorf("%s: %s", f, out)
		}
	}
	if _, err := (&webex.Client{}).CreateWebhook(ctx(t), webex.WebhookSpec{Secret: spec.Secret}); err == nil || strings.Contains(err.Error(), spec.Secret) {
		t.Errorf("incomplete spec: %v", err)
	}
}

func TestVerifySignature(t *testing.T) {
	body := []byte(`{"id":"hook","resource":"messages","event":"created"}`)
	sign := func(b []byte, secret string) string {
		m := hmac.New(sha1.New, []byte(secret))
		m.Write(b)
		return hex.EncodeToString(m.Sum(nil))
	}
	good := sign(body, "key")
	for _, tc := range []struct {
		name           string
		body           []byte
		secret, header string
		want           bool
	}{
		{"valid", body, "key", good, true},
		{"upper-case hex", body, "key", strings.ToUpper(good), true},
		{"other secret", body, "other", good, false},
		{"body changed", append([]byte(" "), body...), "key", good, false},
		{"empty header", body, "key", "", false},
		{"empty secret", body, "", sign(body, ""), false},
		{"odd length", body, "key", good[:39], false},
		{"one digit more", body, "key", good + "0", false},
		{"not hex", body, "key", strings.Repeat("zz", 20), false},
		{"sha256 length", body, "key", good + good[:24], false},
		{"blank around", body, "key", " " + good, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := webex.VerifySignature(tc.body, tc.secret, tc.header); got != tc.want {
				t.Errorf("VerifySignature = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseDelivery(t *testing.T) {
	const data = `"data":{"id":"M","roomId":"R","roomType":"direct","personId":"P","personEmail":"p@example.com","created":"2026-11-24T10:00:00.000Z"}`
	for _, tc := range []struct {
		name     string
		body     string
		unwanted bool
		bad      bool
	}{
		{"messages created", `{"id":"H","name":"n","resource":"messages","event":"created","orgId":"O","actorId":"P","extra":{"x":1},` + data + `}`, false, false},
		{"memberships created", `{"id":"H","resource":"memberships","event":"created",` + data + `}`, true, false},
		{"messages deleted", `{"id":"H","resource":"messages","event":"deleted",` + data + `}`, true, false},
		{"no webhook id", `{"resource":"messages","event":"created",` + data + `}`, false, true},
		{"no message id", `{"id":"H","resource":"messages","event":"created","data":{"roomId":"R","created":"2026-11-24T10:00:00.000Z"}}`, false, true},
		{"bad time", `{"id":"H","resource":"messages","event":"created","data":{"id":"M","roomId":"R","created":"soon"}}`, false, true},
		{"not JSON", `id=H`, false, true},
		{"an array", `[]`, false, true},
		{"too big", `{"id":"H","resource":"messages","event":"created",` + data + `,"pad":"` + strings.Repeat("x", webex.MaxDeliveryBytes) + `"}`, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := webex.ParseDelivery([]byte(tc.body))
			var de *webex.DeliveryError
			switch {
			case tc.unwanted || tc.bad:
				if !errors.As(err, &de) || de.Unwanted != tc.unwanted {
					t.Fatalf("err = %#v; want a DeliveryError (unwanted %v)", err, tc.unwanted)
				}
			case err != nil:
				t.Fatal(err)
			default:
				want := webex.MessageData{ID: "M", RoomID: "R", RoomType: "direct", PersonID: "P", PersonEmail: "p@example.com", Created: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
				if d.WebhookID != "H" || d.Message != want || d.OrgID != "O" || d.ActorID != "P" || d.Name != "n" {
					t.Errorf("delivery %+v", d)
				}
			}
		})
	}
}

func TestNewWebhookSecret(t *testing.T) {
	a, b := webex.NewWebhookSecret(), webex.NewWebhookSecret()
	if _, err := hex.DecodeString(a); err != nil || len(a) != 64 || a == b {
		t.Errorf("secrets %q, %q: want 32 random bytes in hex", a, b)
	}
}
