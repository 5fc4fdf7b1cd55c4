//go:build e2e

// The end-to-end test runs webex_exporter --demo under a real Prometheus loaded with
// the shipped examples (examples/prometheus, examples/grafana) and checks,
// through Prometheus' HTTP API, that every rule and every dashboard query
// works against the exporter's real metrics.
//
//	go test -tags e2e -count=1 ./e2e/
//
// It needs the prometheus binary in PATH (Debian/Ubuntu: apt-get install -y
// prometheus) and fails, rather than skips, without it. Everything runs on
// 127.0.0.1; every process it starts is stopped when it ends.
//
// The Prometheus configuration is examples/prometheus/prometheus.yml with the
// scrape and evaluation intervals shortened to 2s and the target moved to the
// exporter's port; the rules file is examples/prometheus/rules.yml itself,
// unchanged. Its "for:" durations are minutes long, so within the test's
// time an alert can only be pending: the test accepts pending or firing for
// WebexRoomQuiet, and no rule is rewritten.
//
// Besides each query returning data, every selector in every rule and
// dashboard query must select series: the demo serves an OAuth token, a
// state file and pushed deliveries, so no family the examples use is absent.

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// The test configuration's scrape and evaluation interval (and scrape timeout).
	interval = "2s"
	// How long the checks may wait for Prometheus to have the data they need,
	// counted from Prometheus' start.
	checkTimeout = 60 * time.Second
	// The job name in examples/prometheus/prometheus.yml.
	job = "webex"
)

// Queries that may return no data against the demo, with the reason. Every
// other rule and dashboard query must return data (polled until the deadline),
// and every selector of every rule and query must, without exception: the
// demo serves an OAuth token, a state file and pushed deliveries, so every
// family the examples use exists.
var (
	// Alert expressions are empty while all is well. Of the alerts,
	// WebexRoomQuiet must have data (the demo's "Quiet ..." rooms) and
	// WebexTokenExpiringSoon too (the demo's token lives 10 minutes).
	mayBeEmptyRules = map[string]string{
		"WebexExporterDown":       "the exporter is up",
		"WebexAPIUnreachable":     "the demo API answers, so webex_up is 1",
		"WebexAPIThrottled":       "the demo API does not answer 429",
		"WebexAPIRateLimitedLong": "the demo API does not answer 429, so the rate-limit gate stays open (0)",
		"WebexCollectorFailing":   "the collectors succeed",
		"WebexRoomsPending":       "the exporter keeps up with the demo",
		"WebexStateNotWritten":    "the demo's state file is written",
		"WebexPushNotWorking":     "the demo's webhook is active and its deliveries arrive",
	}
	// Dashboard panels, by title.
	mayBeEmptyPanels = map[string]string{}
	// Dashboard variables, by name.
	mayBeEmptyVariables = map[string]string{
		"team_id": "the demo's rooms may belong to no team",
	}
	// Grafana's variables, as the dashboard's checks substitute them (job
	// and instance: their All value).
	grafanaVariables = map[string]string{
		"$job":             ".+",
		"$instance":        ".+",
		"$room_type":       ".*",
		"$team_id":         ".*",
		"$window":          "24h",
		"$__rate_interval": "1m",
		"$__interval":      "15s",
		"$__range":         "1h",
	}
)

func TestExamplesAgainstDemo(t *testing.T) {
	root := repoRoot(t)
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("the end-to-end test needs the prometheus binary in PATH: install it with `apt-get install -y prometheus` (Debian/Ubuntu): %v", err)
	}
	tmp := t.TempDir()
	exporterBin := buildExporter(t, root, tmp)

	exporterAddr := freeAddr(t)
	exporter := start(t, "webex_exporter", exporterBin, "--demo", "--web.listen-address="+exporterAddr)
	waitExporter(t, exporter, "http://"+exporterAddr+"/metrics")

	configFile := writePrometheusConfig(t, root, tmp, exporterAddr)
	promAddr := freeAddr(t)
	prom := start(t, "prometheus", promBin,
		"--config.file="+configFile,
		"--storage.tsdb.path="+filepath.Join(tmp, "data"),
		"--web.listen-address="+promAddr,
	)
	api := &promAPI{base: "http://" + promAddr, procs: []*process{prom, exporter},
		deadline: time.Now().Add(checkTimeout)}

	api.eventually(t, "Prometheus ready", func() error {
		resp, err := api.client().Get(api.base + "/-/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /-/ready: %s", resp.Status)
		}
		return nil
	})
	api.eventually(t, "the exporter scraped successfully 4 times with webex_up 1", func() error {
		return api.nonEmpty(fmt.Sprintf(`up{job=%q} == 1 and on(instance) count_over_time(webex_up[1m]) >= 4 and on(instance) webex_up == 1`, job))
	})

	t.Run("rules", func(t *testing.T) { checkRules(t, api, filepath.Join(root, "examples", "prometheus", "rules.yml")) })
	t.Run("dashboard", func(t *testing.T) {
		checkDashboard(t, api, filepath.Join(root, "examples", "grafana", "dashboard.json"))
	})
	t.Run("metric names", func(t *testing.T) { checkMetricNames(t, api, root) })
	t.Run("selectors", func(t *testing.T) { checkSelectors(t, api, root) })
	t.Run("alerts", func(t *testing.T) { checkAlerts(t, api) })
}

// checkRules: Prometheus loaded every rule of rules.yml, evaluates each
// without error, and each query that should have data has it.
func checkRules(t *testing.T, api *promAPI, rulesFile string) {
	src, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, m := range regexp.MustCompile(`(?m)^\s*-\s*(?:record|alert):\s*(\S+)\s*$`).FindAllStringSubmatch(string(src), -1) {
		want = append(want, m[1])
	}
	if len(want) == 0 {
		t.Fatalf("%s: no rule found", rulesFile)
	}

	var rules []apiRule
	api.eventually(t, "every rule evaluated", func() error {
		var err error
		if rules, err = api.rules(); err != nil {
			return err
		}
		for _, r := range rules {
			if r.Health == "unknown" || r.LastEvaluation.IsZero() {
				return fmt.Errorf("rule %s not evaluated yet", r.Name)
			}
		}
		return nil
	})
	var got []string
	for _, r := range rules {
		got = append(got, r.Name)
	}
	if !slices.Equal(sorted(got), sorted(want)) {
		t.Fatalf("Prometheus loaded rules %v, rules.yml has %v", got, want)
	}

	for _, r := range rules {
		if r.Health != "ok" || r.LastError != "" {
			t.Errorf("%s rule %s: health %q, last error %q\n\tquery: %s", r.Type, r.Name, r.Health, r.LastError, r.Query)
		}
		var err error
		if reason, ok := mayBeEmptyRules[r.Name]; ok {
			n, qerr := api.query(r.Query)
			if err = qerr; err == nil {
				t.Logf("%s %s: %d series (may be empty: %s)", r.Type, r.Name, n, reason)
			}
		} else {
			err = api.poll(func() error { return api.nonEmpty(r.Query) })
		}
		if err != nil {
			t.Errorf("%s rule %s: %v\n\tquery: %s", r.Type, r.Name, err, r.Query)
		}
		if r.Type == "recording" {
			sel := recordedSelector(r)
			if err := api.poll(func() error { return api.nonEmpty(sel) }); err != nil {
				t.Errorf("recorded series %s: %v", sel, err)
			}
		}
	}
}

// checkDashboard: every panel query of dashboard.json, its Grafana variables
// substituted, evaluates without error and returns data unless listed in
// mayBeEmptyPanels; every label_values variable finds values.
func checkDashboard(t *testing.T, api *promAPI, file string) {
	d := readDashboard(t, file)
	var targets int
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			for _, tg := range p.Targets {
				if strings.TrimSpace(tg.Expr) == "" {
					continue
				}
				targets++
				expr := substitute(tg.Expr)
				if strings.Contains(expr, "$") {
					t.Errorf("panel %q query %s: unknown variable left in %s", p.Title, tg.RefID, expr)
					continue
				}
				var err error
				if reason, ok := mayBeEmptyPanels[p.Title]; ok {
					n, qerr := api.query(expr)
					if err = qerr; err == nil {
						t.Logf("panel %q query %s: %d series (may be empty: %s)", p.Title, tg.RefID, n, reason)
					}
				} else {
					err = api.poll(func() error { return api.nonEmpty(expr) })
				}
				if err != nil {
					t.Errorf("panel %q query %s: %v\n\tquery: %s", p.Title, tg.RefID, err, expr)
				}
			}
		}
	}
	walk(d.Panels)
	if targets == 0 {
		t.Fatalf("%s: no panel query found", file)
	}

	labelValues := regexp.MustCompile(`^\s*label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$`)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q := substitute(v.queryString())
		m := labelValues.FindStringSubmatch(q)
		if m == nil {
			t.Errorf("variable %s: query %q is not label_values(selector, label)", v.Name, q)
			continue
		}
		check := func() error {
			vals, err := api.labelValues(m[2], m[1])
			if err == nil && len(vals) == 0 {
				err = fmt.Errorf("no values")
			}
			if err == nil {
				t.Logf("variable %s: %v", v.Name, vals)
			}
			return err
		}
		if reason, ok := mayBeEmptyVariables[v.Name]; ok {
			if err := check(); err != nil {
				t.Logf("variable %s: %s: %v (may be empty: %s)", v.Name, q, err, reason)
			}
		} else if err := api.poll(check); err != nil {
			t.Errorf("variable %s: %s: %v", v.Name, q, err)
		}
	}
}

// checkMetricNames: every webex_* and webex:* name the rules and the
// dashboard use exists in Prometheus, so renaming a metric fails here even
// where a query hides it (count(...) or vector(0)).
func checkMetricNames(t *testing.T, api *promAPI, root string) {
	rules, err := os.ReadFile(filepath.Join(root, "examples", "prometheus", "rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var exprs []string
	// The rules' expressions as Prometheus parsed them (annotations left out).
	rs, err := api.rules()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		exprs = append(exprs, r.Query)
	}
	if len(rs) == 0 || len(rules) == 0 {
		t.Fatal("no rules")
	}
	d := readDashboard(t, filepath.Join(root, "examples", "grafana", "dashboard.json"))
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			for _, tg := range p.Targets {
				exprs = append(exprs, tg.Expr)
			}
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		exprs = append(exprs, v.queryString())
	}

	used := map[string]bool{}
	name := regexp.MustCompile(`\bwebex[_:][a-zA-Z0-9_:]*`)
	for _, e := range exprs {
		for _, n := range name.FindAllString(stripStrings(e), -1) {
			used[n] = true
		}
	}
	names, err := api.labelValues("__name__", "")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	for _, n := range sorted(keys(used)) {
		if have[n] {
			continue
		}
		t.Errorf("metric %s is used by the examples but Prometheus has no such series (renamed?)", n)
	}
}

// checkSelectors: every selector of every rule and dashboard query (its
// Grafana variables substituted) selects series in Prometheus: what pint's
// promql/series checks, here against the demo, where every optional family
// exists too.
func checkSelectors(t *testing.T, api *promAPI, root string) {
	rs, err := api.rules()
	if err != nil {
		t.Fatal(err)
	}
	var exprs []string
	for _, r := range rs {
		exprs = append(exprs, r.Query)
	}
	for _, p := range allPanels(readDashboard(t, filepath.Join(root, "examples", "grafana", "dashboard.json")).Panels) {
		for _, tg := range p.Targets {
			exprs = append(exprs, substitute(tg.Expr))
		}
	}
	done := map[string]bool{}
	for _, e := range exprs {
		for _, s := range selectors(e) {
			sel := s.String()
			if done[sel] {
				continue
			}
			done[sel] = true
			if err := api.poll(func() error { return api.nonEmpty(sel) }); err != nil {
				t.Errorf("selector %s: %v\n\tin: %s", sel, err, e)
			}
		}
	}
	t.Logf("%d selectors, each with series", len(done))
}

// checkAlerts: WebexRoomQuiet is pending or firing for a demo "Quiet ..."
// room, with its annotations expanded; the exporter's health alerts are not.
func checkAlerts(t *testing.T, api *promAPI) {
	var quiet apiAlert
	api.eventually(t, `WebexRoomQuiet pending or firing for a "Quiet ..." room`, func() error {
		alerts, err := api.alerts()
		if err != nil {
			return err
		}
		var seen []string
		for _, a := range alerts {
			seen = append(seen, a.Labels["alertname"]+"/"+a.State)
			if a.Labels["alertname"] == "WebexRoomQuiet" && strings.HasPrefix(a.Labels["title"], "Quiet") &&
				(a.State == "pending" || a.State == "firing") {
				quiet = a
				return nil
			}
		}
		return fmt.Errorf("alerts: %v", seen)
	})
	t.Logf("WebexRoomQuiet %s: %s", quiet.State, quiet.Annotations["summary"])
	// The summary is static; the description names the room.
	if v := quiet.Annotations["summary"]; strings.Contains(v, "{{") || !strings.HasSuffix(v, ".") {
		t.Errorf("WebexRoomQuiet summary is not static or does not end with a period: %q", v)
	}
	if v := quiet.Annotations["description"]; !strings.Contains(v, quiet.Labels["title"]) || strings.Contains(v, "error expanding") || strings.Contains(v, "<no value>") {
		t.Errorf("WebexRoomQuiet description does not name the room or failed to expand: %q", v)
	}
	if strings.Contains(quiet.Annotations["description"], "cadence no longer set") {
		t.Errorf("WebexRoomQuiet description did not find the room's cadence: %q", quiet.Annotations["description"])
	}

	alerts, err := api.alerts()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range alerts {
		switch a.Labels["alertname"] {
		case "WebexExporterDown", "WebexAPIUnreachable":
			t.Errorf("%s is %s against a healthy demo: %v", a.Labels["alertname"], a.State, a.Annotations["description"])
		}
	}
}

// ---------------------------------------------------------------- set-up

func buildExporter(t *testing.T, root, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go not found in PATH: %v", err)
	}
	bin := filepath.Join(dir, "webex_exporter")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, ".")
	cmd.Dir = root
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build the exporter: %v\n%s", err, out)
	}
	t.Logf("built the exporter in %s", time.Since(start).Round(time.Millisecond))
	return bin
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitExporter waits until the exporter answers its metrics path.
func waitExporter(t *testing.T, p *process, metricsURL string) {
	t.Helper()
	client := newClient()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var err error
		resp, err := client.Get(metricsURL)
		if err == nil {
			var body bytes.Buffer
			_, err = body.ReadFrom(resp.Body)
			resp.Body.Close()
			switch {
			case err != nil:
			case resp.StatusCode != http.StatusOK:
				err = fmt.Errorf("GET %s: %s", metricsURL, resp.Status)
			case !bytes.Contains(body.Bytes(), []byte("\nwebex_up ")):
				err = fmt.Errorf("GET %s: no webex_up in the answer", metricsURL)
			default:
				return
			}
		}
		if exited, why := p.exited(); exited {
			t.Fatalf("webex_exporter exited: %s", why)
		}
		if time.Now().After(deadline) {
			t.Fatalf("webex_exporter did not serve metrics within 20s: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// writePrometheusConfig derives the test's configuration from
// examples/prometheus/prometheus.yml: intervals shortened, the target moved
// to the exporter's address and the rules file named by its absolute path.
func writePrometheusConfig(t *testing.T, root, dir, exporterAddr string) string {
	t.Helper()
	exampleDir := filepath.Join(root, "examples", "prometheus")
	src, err := os.ReadFile(filepath.Join(exampleDir, "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(src)
	replace := func(pattern, repl string) {
		re := regexp.MustCompile(pattern)
		if !re.MatchString(cfg) {
			t.Fatalf("examples/prometheus/prometheus.yml no longer matches %s: update the e2e test", pattern)
		}
		cfg = re.ReplaceAllString(cfg, repl)
	}
	replace(`(?m)^(\s*scrape_interval:).*$`, "${1} "+interval)
	replace(`(?m)^(\s*scrape_timeout:).*$`, "${1} "+interval)
	replace(`(?m)^(\s*evaluation_interval:).*$`, "${1} "+interval)
	replace(`localhost:10270`, exporterAddr)
	replace(`(?m)^(\s*-\s*)rules\.yml\s*$`, "${1}"+strconv.Quote(filepath.Join(exampleDir, "rules.yml")))
	replace(`(?m)^(\s*-\s*job_name:\s*)webex\s*$`, "${1}"+job)
	file := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// ---------------------------------------------------------------- processes

// process is a command started in its own process group, stopped (with its
// children) when the test ends.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

func start(t *testing.T, name, bin string, args ...string) *process {
	t.Helper()
	p := &process{name: name, out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s %s output (last 8 KiB):\n%s", name, strings.Join(args, " "), p.out.tail(8<<10))
		}
	})
	return p
}

// stop sends SIGTERM to the process group, then SIGKILL after 10 seconds.
func (p *process) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
}

func (p *process) exited() (bool, string) {
	select {
	case <-p.done:
		return true, fmt.Sprintf("%v\n%s", p.err, p.out.tail(4<<10))
	default:
		return false, ""
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.Bytes()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return string(s)
}

// ---------------------------------------------------------------- Prometheus' API

type promAPI struct {
	base     string
	procs    []*process
	deadline time.Time
}

func newClient() *http.Client {
	// No proxy: every request goes to 127.0.0.1.
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
}

func (a *promAPI) client() *http.Client { return newClient() }

// poll calls f until it succeeds or the deadline passes, failing fast when a
// process exited.
func (a *promAPI) poll(f func() error) error {
	for {
		err := f()
		if err == nil {
			return nil
		}
		for _, p := range a.procs {
			if exited, why := p.exited(); exited {
				return fmt.Errorf("%v (and %s exited: %s)", err, p.name, why)
			}
		}
		if time.Now().After(a.deadline) {
			return fmt.Errorf("still failing at the deadline: %w", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (a *promAPI) eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	start := time.Now()
	if err := a.poll(f); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
	t.Logf("%s (after %s)", what, time.Since(start).Round(time.Millisecond))
}

// get calls a Prometheus API endpoint and returns its data.
func (a *promAPI) get(path string, params url.Values, data any) error {
	u := a.base + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	resp, err := a.client().Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var r struct {
		Status    string          `json:"status"`
		Data      json.RawMessage `json:"data"`
		ErrorType string          `json:"errorType"`
		Error     string          `json:"error"`
		Warnings  []string        `json:"warnings"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return fmt.Errorf("GET %s: %s: %v", path, resp.Status, err)
	}
	if r.Status != "success" {
		return fmt.Errorf("GET %s: %s: %s: %s", path, resp.Status, r.ErrorType, r.Error)
	}
	if len(r.Warnings) > 0 {
		return fmt.Errorf("GET %s: warnings: %v", path, r.Warnings)
	}
	return json.Unmarshal(r.Data, data)
}

// query evaluates expr now and returns the number of series (1 for a scalar).
func (a *promAPI) query(expr string) (int, error) {
	var d struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := a.get("/api/v1/query", url.Values{"query": {expr}}, &d); err != nil {
		return 0, err
	}
	switch d.ResultType {
	case "vector", "matrix":
		var series []json.RawMessage
		if err := json.Unmarshal(d.Result, &series); err != nil {
			return 0, err
		}
		return len(series), nil
	case "scalar", "string":
		return 1, nil
	}
	return 0, fmt.Errorf("unexpected result type %q", d.ResultType)
}

func (a *promAPI) nonEmpty(expr string) error {
	n, err := a.query(expr)
	if err == nil && n == 0 {
		err = errors.New("no data")
	}
	return err
}

// labelValues returns the values of label, of the series of metric if given.
func (a *promAPI) labelValues(label, metric string) ([]string, error) {
	params := url.Values{}
	if metric != "" {
		params.Set("match[]", metric)
	}
	var vals []string
	err := a.get("/api/v1/label/"+url.PathEscape(label)+"/values", params, &vals)
	return vals, err
}

type apiRule struct {
	Name           string            `json:"name"`
	Query          string            `json:"query"`
	Type           string            `json:"type"`
	Health         string            `json:"health"`
	LastError      string            `json:"lastError"`
	Labels         map[string]string `json:"labels"`
	LastEvaluation time.Time         `json:"lastEvaluation"`
}

func (a *promAPI) rules() ([]apiRule, error) {
	var d struct {
		Groups []struct {
			Name  string    `json:"name"`
			Rules []apiRule `json:"rules"`
		} `json:"groups"`
	}
	if err := a.get("/api/v1/rules", nil, &d); err != nil {
		return nil, err
	}
	var rules []apiRule
	for _, g := range d.Groups {
		rules = append(rules, g.Rules...)
	}
	return rules, nil
}

type apiAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
}

func (a *promAPI) alerts() ([]apiAlert, error) {
	var d struct {
		Alerts []apiAlert `json:"alerts"`
	}
	err := a.get("/api/v1/alerts", nil, &d)
	return d.Alerts, err
}

// recordedSelector selects the series a recording rule writes.
func recordedSelector(r apiRule) string {
	var m []string
	for _, k := range sorted(keys(r.Labels)) {
		m = append(m, fmt.Sprintf("%s=%q", k, r.Labels[k]))
	}
	return r.Name + "{" + strings.Join(m, ",") + "}"
}

// substitute replaces Grafana's variables (${x} and $x), longest names first.
func substitute(expr string) string {
	names := keys(grafanaVariables)
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	for _, n := range names {
		v := grafanaVariables[n]
		expr = strings.ReplaceAll(expr, "${"+n[1:]+"}", v)
		expr = strings.ReplaceAll(expr, n, v)
	}
	return expr
}
