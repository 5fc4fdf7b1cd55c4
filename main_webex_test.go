package main

// Tests of how main wires the Webex client: the token from the
// environment, odd API items, the rate-limit gate's metric.

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// TestEnvTokenTrimmed: WEBEX_TOKEN is cleaned as a token file is: a
// trailing CR LF (a secret made from a file) or a leading blank is dropped
// and every call carries the bare token; a value that is not one token
// stops the start with an error that names the variable, not the token.
func TestEnvTokenTrimmed(t *testing.T) {
	for _, c := range []struct{ name, env string }{
		{"trailing CR LF", webextest.DefaultToken + "\r\n"},
		{"leading space", " " + webextest.DefaultToken},
		{"tabs and a newline", "\t" + webextest.DefaultToken + "\t\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			api := fakeAPI(t, activeOrg())
			t.Setenv(tokenEnv, c.env)
			e := startExporter(t, "--webex.api-url="+api.URL)
			code, body := e.get("/metrics")
			if code != http.StatusOK || value(t, body, "webex_up") != 1 {
				t.Fatalf("scrape: %d, webex_up %v\nlogs:\n%s", code, value(t, body, "webex_up"), e.logs)
			}
			for _, r := range api.RequestLog() {
				if r.Authorization != "Bearer "+webextest.DefaultToken {
					t.Fatalf("%s sent Authorization %q", r.Path, r.Authorization)
				}
			}
		})
	}
	for _, c := range []struct{ name, env string }{
		{"two tokens", "SECRET-ONE SECRET-TWO"},
		{"only blanks", " \r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(tokenEnv, c.env)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var stderr bytes.Buffer
			err := run(ctx, []string{"--web.listen-address=127.0.0.1:0"}, &stderr)
			if err == nil || !strings.Contains(err.Error(), tokenEnv) {
				t.Fatalf("run = %v; want an error naming %s", err, tokenEnv)
			}
			if strings.Contains(err.Error()+stderr.String(), "SECRET") {
				t.Errorf("the token leaked: %v\n%s", err, stderr.String())
			}
		})
	}
}

// TestSkippedItemsLoggedAndCounted: a room Webex lists without an id is
// skipped, logged as a warning and counted; the other rooms are exported.
func TestSkippedItemsLoggedAndCounted(t *testing.T) {
	org := activeOrg()
	api := fakeAPI(t, org)
	rooms := api.Rooms()
	api.InjectFault(webextest.Fault{Endpoint: "rooms", Patch: map[string]map[string]string{rooms[2].ID: {"id": ""}}})
	tokenFile := writeFile(t, t.TempDir(), "token", webextest.DefaultToken)
	e := startExporter(t, "--webex.api-url="+api.URL, "--webex.token-file="+tokenFile)
	_, body := e.get("/metrics")
	if v := value(t, body, "webex_up"); v != 1 {
		t.Errorf("webex_up %v, want 1", v)
	}
	if v := value(t, body, `webex_rooms{room_type="group"}`) + value(t, body, `webex_rooms{room_type="direct"}`); v != float64(len(rooms)-1) {
		t.Errorf("%v rooms exported, want %d", v, len(rooms)-1)
	}
	if v := value(t, body, `webex_api_items_skipped_total{endpoint="rooms"}`); v != 1 {
		t.Errorf(`webex_api_items_skipped_total{endpoint="rooms"} %v, want 1`, v)
	}
	var warned bool
	for _, l := range lines(e.logs.String()) {
		warned = warned || (strings.Contains(l, "level=warn") && strings.Contains(l, "Skipped an item") && strings.Contains(l, "endpoint=rooms"))
	}
	if !warned {
		t.Errorf("no warning about the skipped room:\n%s", e.logs)
	}
}

// TestRateLimitGateExported: webex_api_rate_limited_until_timestamp_seconds
// is 0 while calls are allowed, and after a 429 whose Retry-After is a week
// it says when the gate opens: within the hour.
func TestRateLimitGateExported(t *testing.T) {
	api := fakeAPI(t, activeOrg())
	tokenFile := writeFile(t, t.TempDir(), "token", webextest.DefaultToken)
	e := startExporter(t, "--webex.api-url="+api.URL, "--webex.token-file="+tokenFile)
	const gate = "webex_api_rate_limited_until_timestamp_seconds"
	_, body := e.get("/metrics")
	if v := value(t, body, gate); v != 0 {
		t.Errorf("%s %v before any 429, want 0", gate, v)
	}
	api.InjectFault(webextest.Fault{Endpoint: "rooms", Status: http.StatusTooManyRequests, RetryAfter: "604800", Times: 1})
	before := time.Now()
	_, body = e.get("/metrics")
	after := time.Now()
	if v := value(t, body, "webex_up"); v != 0 {
		t.Errorf("webex_up %v after a 429 of a week, want 0", v)
	}
	v := value(t, body, gate)
	lo, hi := float64(before.Add(time.Hour).Unix())-1, float64(after.Add(time.Hour).Unix())+1
	if v < lo || v > hi {
		t.Errorf("%s %v, want an hour from the 429 (%v..%v)", gate, v, lo, hi)
	}
}
