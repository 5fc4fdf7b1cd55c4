package e2e

// Static checks of the shipped examples, in every `go test ./...` (no
// Prometheus needed):
//
//   - the dashboard follows grafana/dashboard-linter's rules (that linter is
//     not served by the Go module proxy, so its rules are checked here:
//     template-datasource, template-job, template-instance,
//     template-on-time-change-reload, uneditable-dashboard,
//     panel-datasource, panel-title-description, panel-units,
//     panel-no-targets, target-job, target-instance, target-rate-interval,
//     target-counter-agg), and no panel aggregates across exporters;
//   - every alert's runbook_url names a section of webex-mixin/runbook.md.
//
// PromQL is read by a small scanner (selectors), not Prometheus' parser,
// which would make the exporter's module depend on all of Prometheus;
// TestSelectors pins what it finds.

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// repoRoot is the module root: the parent of this package's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !bytes.Contains(mod, []byte("module github.com/webex-exporter/webex_exporter")) {
		t.Fatalf("%s is not the webex_exporter module root (run the test from the repository): %v", root, err)
	}
	return root
}

type dashboard struct {
	Editable   bool    `json:"editable"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type panel struct {
	Type        string          `json:"type"`
	Title       string          `json:"title"`
	Description string          `json:"description"`
	Datasource  *datasource     `json:"datasource"`
	Panels      []panel         `json:"panels"` // a row's panels
	FieldConfig json.RawMessage `json:"fieldConfig"`
	Targets     []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type variable struct {
	Name       string          `json:"name"`
	Label      string          `json:"label"`
	Type       string          `json:"type"`
	Datasource *datasource     `json:"datasource"`
	Query      json.RawMessage `json:"query"` // a string, or {"query": "..."}
	Multi      bool            `json:"multi"`
	AllValue   string          `json:"allValue"`
	Refresh    int             `json:"refresh"`
}

func (v variable) queryString() string {
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s
	}
	var o struct {
		Query string `json:"query"`
	}
	_ = json.Unmarshal(v.Query, &o)
	return o.Query
}

func readDashboard(t *testing.T, file string) dashboard {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(src, &d); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return d
}

// allPanels flattens rows.
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

// ---------------------------------------------------------------- PromQL, scanned

// selector is a vector selector of an expression: the metric name, its
// matchers as written, and the range if it is a matrix selector.
type selector struct {
	name, matchers, rng string
	fn                  string // the function it is the argument of, if directly
}

func (s selector) String() string { return s.name + "{" + s.matchers + "}" }

// Words that are never metric names; the names before "(" are functions.
var promqlWords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "by": true, "without": true,
	"on": true, "ignoring": true, "group_left": true, "group_right": true,
	"sum": true, "min": true, "max": true, "avg": true, "count": true, "group": true, "stddev": true,
	"stdvar": true, "topk": true, "bottomk": true, "quantile": true, "count_values": true,
}

// Words followed by a list of label names in parentheses.
var labelListWords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}

// selectors scans expr (with Grafana's variables left in) for vector
// selectors. Comments, strings outside braces, numbers and durations are
// skipped.
func selectors(expr string) []selector {
	var out []selector
	var calls []string // the open parentheses: function name or ""
	i := 0
	skipSpace := func() {
		for i < len(expr) && strings.ContainsRune(" \t\r\n", rune(expr[i])) {
			i++
		}
	}
	readQuoted := func() {
		q := expr[i]
		for i++; i < len(expr) && expr[i] != q; i++ {
			if expr[i] == '\\' {
				i++
			}
		}
		i++
	}
	readBraces := func() string {
		start := i + 1
		for i++; i < len(expr) && expr[i] != '}'; {
			if expr[i] == '"' || expr[i] == '\'' || expr[i] == '`' {
				readQuoted()
			} else {
				i++
			}
		}
		i++
		return strings.TrimSpace(expr[start : i-1])
	}
	isWordStart := func(c byte) bool { return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	isWord := func(c byte) bool { return isWordStart(c) || c >= '0' && c <= '9' }
	for i < len(expr) {
		c := expr[i]
		switch {
		case c == '#':
			for i < len(expr) && expr[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || c == '`':
			readQuoted()
		case c >= '0' && c <= '9' || c == '.':
			for i < len(expr) && (isWord(expr[i]) || expr[i] == '.') {
				i++
			}
		case c == '[':
			for i < len(expr) && expr[i] != ']' {
				i++
			}
			i++
		case c == '(':
			calls = append(calls, "")
			i++
		case c == ')':
			if len(calls) > 0 {
				calls = calls[:len(calls)-1]
			}
			i++
		case c == '{':
			out = append(out, selector{matchers: readBraces()})
		case isWordStart(c):
			start := i
			for i < len(expr) && isWord(expr[i]) {
				i++
			}
			word := expr[start:i]
			skipSpace()
			next := byte(0)
			if i < len(expr) {
				next = expr[i]
			}
			switch {
			case labelListWords[word] && next == '(':
				for i < len(expr) && expr[i] != ')' {
					i++
				}
				i++
			case next == '(':
				calls = append(calls, word)
				i++
			case promqlWords[word]:
			default:
				s := selector{name: word}
				if next == '{' {
					s.matchers = readBraces()
					skipSpace()
				}
				if i < len(expr) && expr[i] == '[' {
					end := strings.IndexByte(expr[i:], ']')
					s.rng = expr[i+1 : i+end]
					i += end + 1
				}
				if len(calls) > 0 {
					s.fn = calls[len(calls)-1]
				}
				out = append(out, s)
			}
		default:
			i++
		}
	}
	return out
}

// aggregations finds each aggregation's grouping in expr: "by (a, b)",
// "without (a)", or "" when it has none.
var aggregationRE = regexp.MustCompile(`\b(sum|count|min|max|avg|group|stddev|stdvar|topk|bottomk|quantile)\s*(by\s*\([^)]*\)|without\s*\([^)]*\))?\s*\(`)

func labelList(grouping string) []string {
	_, list, _ := strings.Cut(grouping, "(")
	list = strings.TrimSuffix(strings.TrimSpace(list), ")")
	var out []string
	for l := range strings.SplitSeq(list, ",") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func TestSelectors(t *testing.T) {
	for _, c := range []struct {
		expr string
		want []string
	}{
		{`sum by (job, instance) (rate(webex_api_requests_total{job=~"$job", code="429"}[$__rate_interval])) * 60 > 0`,
			[]string{`webex_api_requests_total{job=~"$job", code="429"}[$__rate_interval] in rate`}},
		{"# a comment with webex_fake\n3600 * group by (job, instance, room_id) (webex_room_info{title=~\"Quiet.*\"})\nor up",
			[]string{`webex_room_info{title=~"Quiet.*"}`, `up{}`}},
		{`topk by (job, instance) (10, a{x="}"} * on(job, instance, room_id) group_left(title) b) and on(job) (max_over_time(webex_up[15m]) == 1)`,
			[]string{`a{x="}"}`, `b{}`, `webex_up{}[15m] in max_over_time`}},
		{`min(x) - time() < 3 * 86400 unless bool 1e3`, []string{`x{}`}},
	} {
		var got []string
		for _, s := range selectors(c.expr) {
			g := s.String()
			if s.rng != "" {
				g += "[" + s.rng + "] in " + s.fn
			}
			got = append(got, g)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("selectors(%q)\n got %q\nwant %q", c.expr, got, c.want)
		}
	}
}

// ---------------------------------------------------------------- the dashboard

// Units Grafana knows, of those a dashboard of counts, durations and
// percentages uses (dashboard-linter's list is longer).
var grafanaUnits = []string{"none", "short", "percent", "percentunit", "s", "ms", "dtdurations", "dateTimeAsIso", "reqps", "cpm", "bool"}

func TestDashboardLint(t *testing.T) {
	d := readDashboard(t, filepath.Join(repoRoot(t), "examples", "grafana", "dashboard.json"))
	if d.Editable {
		t.Error("uneditable-dashboard: editable is true")
	}
	vars := map[string]variable{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v
		if v.Type == "query" {
			if v.Refresh != 2 {
				t.Errorf("template-on-time-change-reload: variable %s refresh %d, want 2", v.Name, v.Refresh)
			}
			if v.Datasource == nil || v.Datasource.UID != "${datasource}" {
				t.Errorf("variable %s does not use ${datasource}", v.Name)
			}
			if !regexp.MustCompile(`^label_values\(.+, *[a-z_]+\)$`).MatchString(v.queryString()) {
				t.Errorf("template-label-promql: variable %s query %q", v.Name, v.queryString())
			}
		}
	}
	if ds, ok := vars["datasource"]; !ok || ds.Type != "datasource" || ds.Label != "Data source" || ds.queryString() != "prometheus" {
		t.Errorf("template-datasource: want a prometheus variable datasource labelled Data source, have %+v", ds)
	}
	for name, label := range map[string]string{"job": "Job", "instance": "Instance"} {
		v, ok := vars[name]
		switch {
		case !ok:
			t.Errorf("template-%s: no %s variable", name, name)
		case v.Type != "query" || v.Label != label || !v.Multi || v.AllValue != ".+":
			t.Errorf("template-%s: want a multi query variable labelled %s with allValue .+, have %+v", name, label, v)
		}
	}

	var targets int
	for _, p := range allPanels(d.Panels) {
		if p.Type == "row" {
			continue
		}
		if p.Title == "" || p.Description == "" {
			t.Errorf("panel-title-description: panel %q has no title or description", p.Title)
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel-datasource: panel %q does not use ${datasource}", p.Title)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel-no-targets: panel %q", p.Title)
		}
		checkUnit(t, p)
		for _, tg := range p.Targets {
			targets++
			checkTarget(t, p.Title, tg.Expr)
		}
	}
	if targets == 0 {
		t.Fatal("no panel query found")
	}
}

// checkUnit: panel-units, for the panels the linter checks (those with
// value mappings are exempt).
func checkUnit(t *testing.T, p panel) {
	t.Helper()
	if p.Type != "stat" && p.Type != "timeseries" && p.Type != "gauge" {
		return
	}
	var fc struct {
		Defaults struct {
			Unit     string            `json:"unit"`
			Mappings []json.RawMessage `json:"mappings"`
		} `json:"defaults"`
	}
	if err := json.Unmarshal(p.FieldConfig, &fc); err != nil {
		t.Errorf("panel %q: fieldConfig: %v", p.Title, err)
	}
	if len(fc.Defaults.Mappings) == 0 && !slices.Contains(grafanaUnits, fc.Defaults.Unit) {
		t.Errorf("panel-units: panel %q has unit %q", p.Title, fc.Defaults.Unit)
	}
}

// checkTarget: target-job, target-instance, target-rate-interval,
// target-counter-agg, and no aggregation across exporters.
func checkTarget(t *testing.T, title, expr string) {
	t.Helper()
	sels := selectors(expr)
	if len(sels) == 0 {
		t.Errorf("panel %q: no selector in %s", title, expr)
	}
	for _, s := range sels {
		for _, m := range []string{`job=~"$job"`, `instance=~"$instance"`} {
			if !strings.Contains(s.matchers, m) {
				t.Errorf("target-job/instance: panel %q: selector %s has no %s", title, s, m)
			}
		}
		if (s.fn == "rate" || s.fn == "irate") && s.rng != "$__rate_interval" {
			t.Errorf("target-rate-interval: panel %q: %s[%s] in %s", title, s, s.rng, s.fn)
		}
		if strings.HasSuffix(s.name, "_total") && (s.rng == "" || !slices.Contains([]string{"rate", "irate", "increase"}, s.fn)) {
			t.Errorf("target-counter-agg: panel %q: counter %s not in rate, irate or increase", title, s)
		}
	}
	for _, m := range aggregationRE.FindAllStringSubmatch(expr, -1) {
		labels := labelList(m[2])
		switch {
		case strings.HasPrefix(m[2], "without"):
			if slices.Contains(labels, "job") || slices.Contains(labels, "instance") {
				t.Errorf("panel %q: %s drops job or instance: %s", title, m[0], expr)
			}
		case !slices.Contains(labels, "job") || !slices.Contains(labels, "instance"):
			t.Errorf("panel %q: %s aggregates across exporters (keep job and instance): %s", title, m[0], expr)
		}
	}
}

// ---------------------------------------------------------------- the alerts

// TestRunbooks: every alert of rules.yml has a runbook_url naming a section
// of webex-mixin/runbook.md, and that section is the alert's.
func TestRunbooks(t *testing.T) {
	root := repoRoot(t)
	rules, err := os.ReadFile(filepath.Join(root, "examples", "prometheus", "rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	book, err := os.ReadFile(filepath.Join(root, "webex-mixin", "runbook.md"))
	if err != nil {
		t.Fatal(err)
	}
	headings := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^## (\S+)$`).FindAllStringSubmatch(string(book), -1) {
		headings[strings.ToLower(m[1])] = true
	}
	const prefix = "https://github.com/webex-exporter/webex_exporter/blob/main/webex-mixin/runbook.md#"
	alerts := regexp.MustCompile(`(?m)^\s*- alert: (\S+)$`).FindAllStringSubmatchIndex(string(rules), -1)
	if len(alerts) == 0 {
		t.Fatal("no alert in rules.yml")
	}
	for i, a := range alerts {
		name := string(rules[a[2]:a[3]])
		end := len(rules)
		if i+1 < len(alerts) {
			end = alerts[i+1][0]
		}
		m := regexp.MustCompile(`(?m)^\s*runbook_url: (\S+)$`).FindSubmatch(rules[a[1]:end])
		switch {
		case m == nil:
			t.Errorf("%s has no runbook_url", name)
		case string(m[1]) != prefix+strings.ToLower(name):
			t.Errorf("%s: runbook_url %s, want %s", name, m[1], prefix+strings.ToLower(name))
		case !headings[strings.ToLower(name)]:
			t.Errorf("%s: webex-mixin/runbook.md has no section ## %s", name, name)
		}
	}
}

// ---------------------------------------------------------------- helpers

// stripStrings blanks PromQL string literals, so that label values do not
// count as metric names.
func stripStrings(expr string) string {
	return regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`+"`[^`]*`").ReplaceAllString(expr, `""`)
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
