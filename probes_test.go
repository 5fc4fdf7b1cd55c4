package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// probeCalls fetches path and fails the test if that spent an API call.
func probeCalls(t *testing.T, e *exporter, api *webextest.Server, path string) int {
	t.Helper()
	before := api.RequestsTotal()
	code, _ := e.get(path)
	if after := api.RequestsTotal(); after != before {
		t.Errorf("GET %s made %d API calls; want none", path, after-before)
	}
	return code
}

// TestProbes: /-/healthy is 200 from the start; /-/ready is 503 until the
// first scrape lists the rooms, 200 after; neither spends an API call.
func TestProbes(t *testing.T) {
	api := fakeAPI(t, activeOrg())
	tokenFile := writeFile(t, t.TempDir(), "token", webextest.DefaultToken)
	e := startExporter(t, "--webex.api-url="+api.URL, "--webex.token-file="+tokenFile)
	waitCalls(t, api, "people/me", 1) // the account, learned at start
	if code := probeCalls(t, e, api, "/-/healthy"); code != http.StatusOK {
		t.Errorf("/-/healthy before the first scrape: %d, want 200", code)
	}
	if code := probeCalls(t, e, api, "/-/ready"); code != http.StatusServiceUnavailable {
		t.Errorf("/-/ready before the first scrape: %d, want 503", code)
	}
	if n := api.Requests()["rooms"]; n != 0 {
		t.Fatalf("%d room listings before the first scrape", n)
	}
	if code, body := e.get("/metrics"); code != 200 || value(t, body, "webex_up") != 1 {
		t.Fatalf("scrape: %d, webex_up %v", code, value(t, body, "webex_up"))
	}
	if code := probeCalls(t, e, api, "/-/ready"); code != http.StatusOK {
		t.Errorf("/-/ready after the first scrape: %d, want 200", code)
	}
	if code := probeCalls(t, e, api, "/-/healthy"); code != http.StatusOK {
		t.Errorf("/-/healthy after the first scrape: %d, want 200", code)
	}
}

// TestProbeMethods: the probes answer GET and HEAD (no body), and refuse
// other methods with 405.
func TestProbeMethods(t *testing.T) {
	ready := false
	mux := http.NewServeMux()
	handleProbes(mux, func() bool { return ready })
	for _, tc := range []struct {
		method, path string
		ready        bool
		code         int
		body         bool
	}{
		{http.MethodGet, "/-/healthy", false, 200, true},
		{http.MethodHead, "/-/healthy", false, 200, false},
		{http.MethodGet, "/-/ready", false, 503, true},
		{http.MethodHead, "/-/ready", false, 503, false},
		{http.MethodGet, "/-/ready", true, 200, true},
		{http.MethodPost, "/-/ready", true, 405, true},
		{http.MethodPost, "/-/healthy", true, 405, true},
	} {
		ready = tc.ready
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.code || (rec.Body.Len() > 0) != tc.body {
			t.Errorf("%s %s (ready %v): %d with %d bytes; want %d, body %v", tc.method, tc.path, tc.ready, rec.Code, rec.Body.Len(), tc.code, tc.body)
		}
		if tc.code == 405 && rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s %s: Allow %q", tc.method, tc.path, rec.Header().Get("Allow"))
		}
	}
}
