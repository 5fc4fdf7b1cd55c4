package collector

import (
	"context"
	"os"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/webex-exporter/webex_exporter/webex"
)

// TestReadmeMetricsTable: README's metrics table lists exactly the metrics
// the exporter exports (the collector's, the API request counter, and the
// build info), so dashboards and alerts can rely on it.
func TestReadmeMetricsTable(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(webex_[a-z_]+)` \\| (?:gauge|counter) \\|").FindAllStringSubmatch(string(b), -1) {
		documented = append(documented, m[1])
	}

	actual := []string{"webex_exporter_build_info"}
	descs := make(chan *prometheus.Desc, 100)
	windows, _ := ParseWindows("1h")
	New(context.Background(), NewTracker(nil, Config{Windows: windows})).Describe(descs)
	NewStateMetrics(nil).Describe(descs)
	NewPush(NewTracker(nil, Config{Windows: windows}), nil, PushConfig{}).Describe(descs)
	close(descs)
	name := regexp.MustCompile(`fqName: "([a-z_]+)"`)
	for d := range descs {
		actual = append(actual, name.FindStringSubmatch(d.String())[1])
	}
	reg := prometheus.NewRegistry()
	api := NewAPIRequests(reg)
	api.Observe(webex.RequestInfo{Endpoint: "rooms", Code: "200", PageSize: 200, ReducedFrom: 1000})
	api.BadItem(webex.BadItem{Endpoint: "rooms", Skipped: true})
	RegisterRateLimitGate(reg, func() time.Time { return time.Time{} })
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		actual = append(actual, mf.GetName())
	}
	slices.Sort(documented)
	slices.Sort(actual)
	if !slices.Equal(documented, actual) {
		t.Errorf("README metrics table: %v\nexported: %v", documented, actual)
	}
}
