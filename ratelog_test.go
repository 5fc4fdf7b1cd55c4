package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// clock is a settable clock for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var countRE = regexp.MustCompile(`count=(\d+)`)

// counts returns the count= of each line of buf that contains msg (0 for
// a line without).
func counts(buf string, msg string) []int {
	var out []int
	for _, l := range lines(buf) {
		if !strings.Contains(l, msg) {
			continue
		}
		n := 0
		if m := countRE.FindStringSubmatch(l); m != nil {
			n, _ = strconv.Atoi(m[1])
		}
		out = append(out, n)
	}
	return out
}

// TestRateLimitedLogger: 20,000 lines of one message within 5.5 s write one
// line; the first line after the interval says how many came since.
func TestRateLimitedLogger(t *testing.T) {
	var buf bytes.Buffer
	clk := &clock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	l := newRateLimitedLogger(log.NewLogfmtLogger(&buf), time.Minute, clk.now)
	const n = 20000
	for i := range n {
		level.Warn(l).Log("msg", "refused", "i", i)
		clk.advance(5500 * time.Millisecond / n)
	}
	level.Info(l).Log("msg", "other") // another message is not held back
	if got := counts(buf.String(), "refused"); len(got) != 1 || got[0] != 1 {
		t.Fatalf("%d lines within 5.5s, counts %v; want one line, count=1:\n%s", len(got), got, clip(buf.String()))
	}
	if !strings.Contains(buf.String(), "i=0 ") {
		t.Errorf("the first line is not the first refusal's:\n%s", buf.String())
	}
	if got := counts(buf.String(), "other"); len(got) != 1 || got[0] != 1 {
		t.Errorf("another message: counts %v, want [1]", got)
	}
	// Less than the interval after the first line: still held.
	clk.advance(time.Minute - 5600*time.Millisecond)
	level.Warn(l).Log("msg", "refused")
	if got := counts(buf.String(), "refused"); len(got) != 1 {
		t.Fatalf("a line before the interval passed: counts %v", got)
	}
	clk.advance(100 * time.Millisecond)
	level.Warn(l).Log("msg", "refused", "i", "last")
	got := counts(buf.String(), "refused")
	if len(got) != 2 || got[1] != n+1 { // 19,999 held, the one held since, this one
		t.Fatalf("after the interval: counts %v, want [1 %d]", got, n+1)
	}
	if last := lines(buf.String())[2]; !strings.Contains(last, "level=warn") || !strings.Contains(last, "i=last") {
		t.Errorf("the line after the interval lost its fields: %s", last)
	}
}

// TestRateLimitedLoggerConcurrent: under concurrent callers no line is
// lost from the counts.
func TestRateLimitedLoggerConcurrent(t *testing.T) {
	var buf bytes.Buffer
	clk := &clock{t: time.Unix(0, 0)}
	l := newRateLimitedLogger(log.NewSyncLogger(log.NewLogfmtLogger(&buf)), time.Second, clk.now)
	const workers, each = 8, 1000
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				l.Log("msg", "refused")
				clk.advance(time.Millisecond)
			}
		})
	}
	wg.Wait()
	clk.advance(time.Second)
	l.Log("msg", "refused") // writes the rest
	sum := 0
	got := counts(buf.String(), "refused")
	for _, c := range got {
		sum += c
	}
	if sum != workers*each+1 {
		t.Errorf("counts %v add up to %d, want %d", got, sum, workers*each+1)
	}
	if len(got) > 10 {
		t.Errorf("%d lines over 9 s with an interval of 1 s", len(got))
	}
}

// TestRefusedDeliveriesLogLimited: 2,000 unsigned and 500 malformed (but
// signed) deliveries are all counted in webex_push_deliveries_total and
// write one log line of each kind.
func TestRefusedDeliveriesLogLimited(t *testing.T) {
	api := fakeAPI(t, activeOrg())
	dir := t.TempDir()
	tokenFile := writeFile(t, dir, "token", webextest.DefaultToken)
	secret := strings.Repeat("s3cr3t", 6)
	secretFile := writeFile(t, dir, "secret", secret)
	hookAddr := freeAddr(t)
	hookURL := "http://" + hookAddr + "/hook"
	e := startExporter(t, "--webex.api-url="+api.URL, "--webex.token-file="+tokenFile,
		"--webhook.url="+hookURL, "--webhook.listen-address="+hookAddr, "--webhook.secret-file="+secretFile)
	e.get("/metrics") // sets the webhook up
	start := e.logs.Len()

	// One connection, kept alive, as one attacker would.
	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	post := func(body []byte, sig string, want int) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, hookURL, bytes.NewReader(body))
		if sig != "" {
			req.Header.Set("X-Spark-Signature", sig)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body) //nolint:errcheck // to keep the connection
		res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("POST answered %d, want %d", res.StatusCode, want)
		}
	}
	const unsigned, malformed = 2000, 500
	for range unsigned {
		post([]byte(`{"resource":"messages","event":"created"}`), "", http.StatusUnauthorized)
	}
	bad := []byte(`{"resource":"messages","event":"created","data":{}}`)
	for range malformed {
		post(bad, webextest.Sign(bad, secret), http.StatusBadRequest)
	}
	_, body := e.get("/metrics")
	if v := value(t, body, `webex_push_deliveries_total{result="rejected_signature"}`); v != unsigned {
		t.Errorf("rejected_signature %v, want %d", v, unsigned)
	}
	if v := value(t, body, `webex_push_deliveries_total{result="rejected_malformed"}`); v != malformed {
		t.Errorf("rejected_malformed %v, want %d", v, malformed)
	}
	logs := e.logs.since(start)
	for _, msg := range []string{"Refused a webhook delivery with no valid signature", "Refusing a webhook delivery"} {
		// The test takes seconds, the interval is a minute: one line,
		// two should the machine stall for a minute.
		if got := counts(logs, msg); len(got) < 1 || len(got) > 2 || got[0] != 1 {
			t.Errorf("%q: %d lines, counts %v; want one line with count=1", msg, len(got), clip(fmt.Sprint(got)))
		}
	}
	if !strings.Contains(logs, "caller=webhook.go:") || !strings.Contains(logs, "caller=push.go:") {
		t.Errorf("the lines do not name their callers:\n%s", clip(logs))
	}
	if n := len(lines(logs)); n > 10 {
		t.Errorf("%d log lines (%d bytes) for %d refusals:\n%s", n, len(logs), unsigned+malformed, clip(logs))
	}
	if strings.Contains(e.logs.String(), secret) {
		t.Error("the webhook secret is in the log")
	}
}
