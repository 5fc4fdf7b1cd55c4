package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestWebhookEndToEnd: with --webhook.url the exporter creates its webhook,
// Webex's signed deliveries to its own listener are counted (and spare the
// scrape its /messages calls), and forged, oversized or non-POST requests
// are refused and counted.
func TestWebhookEndToEnd(t *testing.T) {
	api := fakeAPI(t, activeOrg())
	tokenFile := writeFile(t, t.TempDir(), "token", webextest.DefaultToken)
	hookAddr := freeAddr(t)
	hookURL := "http://" + hookAddr + "/webex/webhook"
	e := startExporter(t, "--webex.api-url="+api.URL, "--webex.token-file="+tokenFile,
		"--webhook.url="+hookURL, "--webhook.listen-address="+hookAddr)
	if !strings.Contains(e.logs.String(), "plain http") {
		t.Errorf("no warning about a plain http webhook URL:\n%s", e.logs)
	}
	_, body := e.get("/metrics")
	if value(t, body, "webex_push_enabled") != 1 {
		t.Fatalf("webex_push_enabled %v after the first scrape", value(t, body, "webex_push_enabled"))
	}
	hooks := api.Webhooks()
	if len(hooks) != 1 || hooks[0].TargetURL != hookURL {
		t.Fatalf("webhooks: %+v", hooks)
	}
	room := api.Rooms()[0]
	series := fmt.Sprintf("webex_room_messages_total{room_id=%q}", room.ID)
	before := value(t, body, series)
	api.PostMessage(room.ID, api.Org().People[0].ID, time.Now())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := api.WaitDeliveries(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if d := api.Deliveries()[0]; d.Status != 200 {
		t.Fatalf("delivery answered %d (%v)", d.Status, d.Err)
	}
	api.ResetRequests()
	_, body = e.get("/metrics")
	if got := value(t, body, series); got != before+1 {
		t.Errorf("counter %v after a pushed message; want %v", got, before+1)
	}
	if n := api.Requests()["messages"]; n != 0 {
		t.Errorf("%d /messages calls after a pushed message; want 0", n)
	}

	client := &http.Client{Timeout: 10 * time.Second}
	for _, c := range []struct {
		name, method string
		body         []byte
		sig          string
		want         int
	}{
		{"unsigned", http.MethodPost, deliveryLike(hooks[0].ID, room.ID), "", http.StatusUnauthorized},
		{"forged", http.MethodPost, deliveryLike(hooks[0].ID, room.ID), strings.Repeat("ab", 20), http.StatusUnauthorized},
		{"oversized", http.MethodPost, bytes.Repeat([]byte("x"), 70<<10), "", http.StatusRequestEntityTooLarge},
		{"GET", http.MethodGet, nil, "", http.StatusMethodNotAllowed},
	} {
		req, _ := http.NewRequest(c.method, hookURL, bytes.NewReader(c.body))
		if c.sig != "" {
			req.Header.Set("X-Spark-Signature", c.sig)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != c.want {
			t.Errorf("%s: %d, want %d", c.name, res.StatusCode, c.want)
		}
	}
	_, body = e.get("/metrics")
	if value(t, body, `webex_push_deliveries_total{result="rejected_signature"}`) != 2 ||
		value(t, body, `webex_push_deliveries_total{result="rejected_too_large"}`) != 1 ||
		value(t, body, `webex_push_deliveries_total{result="accepted"}`) != 1 {
		t.Errorf("push counters wrong:\n%s", grepLines(body, "webex_push_"))
	}
	if strings.Contains(e.logs.String(), hooks[0].Secret) {
		t.Errorf("the webhook secret is in the log")
	}
}

// deliveryLike is a delivery body of a webhook for a made-up message.
func deliveryLike(hookID, roomID string) []byte {
	return []byte(`{"id":"` + hookID + `","resource":"messages","event":"created","data":{"id":"forged","roomId":"` + roomID + `","personId":"p","created":"2026-11-24T12:00:00.000Z"}}`)
}

func grepLines(body, prefix string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestWebhookRemovedOnShutdown: --webhook.remove-on-shutdown deletes the
// exporter's webhook when it stops; without it the webhook stays.
func TestWebhookRemovedOnShutdown(t *testing.T) {
	for _, remove := range []bool{true, false} {
		t.Run(fmt.Sprint("remove=", remove), func(t *testing.T) {
			api := fakeAPI(t, activeOrg())
			tokenFile := writeFile(t, t.TempDir(), "token", webextest.DefaultToken)
			hookAddr := freeAddr(t)
			args := []string{"--webex.api-url=" + api.URL, "--webex.token-file=" + tokenFile,
				"--webhook.url=http://" + hookAddr + "/hook", "--webhook.listen-address=" + hookAddr}
			if remove {
				args = append(args, "--webhook.remove-on-shutdown")
			}
			e := startExporter(t, args...)
			e.get("/metrics")
			if n := len(api.Webhooks()); n != 1 {
				t.Fatalf("%d webhooks after the first scrape; want 1", n)
			}
			if err := e.stop(); err != nil {
				t.Fatal(err)
			}
			want := 1
			if remove {
				want = 0
			}
			if n := len(api.Webhooks()); n != want {
				t.Errorf("%d webhooks after shutdown; want %d", n, want)
			}
		})
	}
}
