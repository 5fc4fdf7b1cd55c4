package main

import (
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// roomLines are the lines of a body about rooms (the part shared by scrapes).
func roomLines(body string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.Contains(l, "webex_room") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestMetricsPath: within the minimum interval, scrapes of every kind cost
// one refresh (exact call counts); the answer is the text format with its
// Content-Type whatever Prometheus asks first, gzip when accepted; HEAD has
// no body; other methods get 405 and start nothing; the profiles the
// landing page links are served.
func TestMetricsPath(t *testing.T) {
	org := activeOrg()
	api := fakeAPI(t, org)
	tokenFile := writeFile(t, t.TempDir(), "token", webextest.DefaultToken)
	e := startExporter(t, "--webex.api-url="+api.URL, "--webex.token-file="+tokenFile, "--webex.min-interval=1h")
	waitCalls(t, api, "people/me", 1) // learned in the background at start
	api.ResetRequests()
	const textType = "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	t.Cleanup(client.CloseIdleConnections)
	do := func(method string, header ...string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, e.url+"/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var r io.Reader = res.Body
		if res.Header.Get("Content-Encoding") == "gzip" && method != http.MethodHead {
			zr, err := gzip.NewReader(res.Body)
			if err != nil {
				t.Fatalf("gzip: %v", err)
			}
			zr.Multistream(false)
			r = zr
		}
		body, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("%s: reading body: %v", method, err)
		}
		return res, string(body)
	}

	res, plain := do(http.MethodGet)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != textType || value(t, plain, "webex_up") != 1 ||
		!strings.Contains(plain, "\ngo_goroutines ") {
		t.Fatalf("GET: %d %q\n%s", res.StatusCode, res.Header.Get("Content-Type"), clip(plain))
	}
	for _, tc := range []struct {
		name, method string
		header       []string
		code         int
		gzip         bool
	}{
		{"Prometheus 3 asks for protobuf first", http.MethodGet, []string{"Accept", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
			"Accept-Encoding", "gzip"}, 200, true},
		{"gzip", http.MethodGet, []string{"Accept-Encoding", "deflate, gzip;q=0.5"}, 200, true},
		{"gzip refused", http.MethodGet, []string{"Accept-Encoding", "gzip;q=0, identity"}, 200, false},
		{"HEAD", http.MethodHead, nil, 200, false},
		{"POST", http.MethodPost, nil, http.StatusMethodNotAllowed, false},
		{"DELETE", http.MethodDelete, nil, http.StatusMethodNotAllowed, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := do(tc.method, tc.header...)
			if res.StatusCode != tc.code {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.code)
			}
			if tc.code == http.StatusMethodNotAllowed {
				if res.Header.Get("Allow") != "GET, HEAD" {
					t.Errorf("Allow: %q", res.Header.Get("Allow"))
				}
				return
			}
			if got := res.Header.Get("Content-Type"); got != textType {
				t.Errorf("Content-Type %q, want %q", got, textType)
			}
			if got := res.Header.Get("Content-Encoding") == "gzip"; got != tc.gzip {
				t.Errorf("gzip: %v, want %v", got, tc.gzip)
			}
			if tc.method == http.MethodHead {
				if body != "" {
					t.Errorf("HEAD has a body of %d bytes", len(body))
				}
				return
			}
			if roomLines(body) != roomLines(plain) || value(t, body, "webex_up") != 1 {
				t.Errorf("the answer differs from the first scrape's:\n%s", clip(body))
			}
		})
	}
	if c := api.Requests(); c["rooms"] != 1 || c["messages"] != len(org.Rooms) || api.RequestsTotal() != 1+len(org.Rooms) {
		t.Errorf("API calls %v (total %d); want one refresh: rooms=1 messages=%d", c, api.RequestsTotal(), len(org.Rooms))
	}

	for _, path := range []string{"/debug/pprof/heap", "/debug/pprof/"} {
		if code, _ := e.get(path); code != 200 {
			t.Errorf("GET %s: %d, want 200 (the landing page links it)", path, code)
		}
	}
}
