package main

import (
	"os"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
)

// TestVersionFromFile: without -ldflags (as go test builds), the version is
// the VERSION file's, in --version and in webex_exporter_build_info.
func TestVersionFromFile(t *testing.T) {
	b, err := os.ReadFile("VERSION")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSpace(string(b))
	if !regexp.MustCompile(`^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`).MatchString(want) {
		t.Fatalf("VERSION holds %q: want a semantic version such as 0.1.0", want)
	}
	if version.Version != want {
		t.Errorf("version.Version = %q, want %q", version.Version, want)
	}
	if got := version.Print(exporterName); !strings.HasPrefix(got, exporterName+", version "+want+" ") {
		t.Errorf("--version prints %q, want the version %s", got, want)
	}
	if got := version.Info(); !strings.Contains(got, "(version="+want+",") { // the landing page's
		t.Errorf("version.Info() = %q, want the version %s", got, want)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(versioncollector.NewCollector(exporterName))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{}
	for _, l := range mfs[0].GetMetric()[0].GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	if labels["version"] != want || labels["revision"] == "" {
		t.Errorf("webex_exporter_build_info labels %v, want version=%q and a revision", labels, want)
	}
}

// TestBuildVersion: the VERSION file is trimmed; the date is the commit
// time of Go's vcs settings, empty without them.
func TestBuildVersion(t *testing.T) {
	bi := &debug.BuildInfo{Settings: []debug.BuildSetting{
		{Key: "-trimpath", Value: "true"},
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "6e85a2997644a219886217bf9ff7e6a1915f2988"},
		{Key: "vcs.time", Value: "2026-11-25T02:31:26Z"},
		{Key: "vcs.modified", Value: "false"},
	}}
	for _, tc := range []struct {
		name, file string
		bi         *debug.BuildInfo
		v, date    string
	}{
		{"vcs", "0.1.0\n", bi, "0.1.0", "2026-11-25T02:31:26Z"},
		{"no vcs", " 1.2.3-rc.1 \r\n", &debug.BuildInfo{}, "1.2.3-rc.1", ""},
		{"no build info", "0.1.0", nil, "0.1.0", ""},
	} {
		v, date := buildVersion(tc.file, tc.bi)
		if v != tc.v || date != tc.date {
			t.Errorf("%s: buildVersion = %q, %q; want %q, %q", tc.name, v, date, tc.v, tc.date)
		}
	}
}
