package main

import (
	_ "embed"
	"runtime/debug"
	"strings"

	"github.com/prometheus/common/version"
)

// versionFile is the VERSION file: the release this tree is (see CHANGELOG.md).
//
//go:embed VERSION
var versionFile string

// A plain `go build` stamps the version into --version, the landing page,
// the User-Agent and webex_exporter_build_info: the VERSION file, and as the
// build date the commit time Go records from git (-buildvcs, on by default
// in a clone). prometheus/common takes the revision from the same record
// itself ("-modified" for a tree with uncommitted changes, "unknown"
// without). What -ldflags -X set (promu, the Dockerfile) is kept. This runs
// in init, before main and every test, as prometheus/common's variables are
// read from many goroutines and must not change once they run.
func init() {
	bi, _ := debug.ReadBuildInfo()
	v, date := buildVersion(versionFile, bi)
	if version.Version == "" {
		version.Version = v
	}
	if version.BuildDate == "" {
		version.BuildDate = date
	}
}

// buildVersion returns the version in the VERSION file's content and the
// commit time in Go's build information ("" when bi is nil or has none).
func buildVersion(file string, bi *debug.BuildInfo) (v, date string) {
	v = strings.TrimSpace(file)
	if bi != nil {
		for _, kv := range bi.Settings {
			if kv.Key == "vcs.time" {
				date = kv.Value
			}
		}
	}
	return v, date
}
