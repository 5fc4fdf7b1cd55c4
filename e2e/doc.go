// Package e2e holds the end-to-end test of webex_exporter and its examples:
// the exporter in --demo mode, scraped by a real Prometheus loaded with
// examples/prometheus, every rule and every query of
// examples/grafana/dashboard.json checked through Prometheus' HTTP API.
//
// The test is behind the e2e build tag, so that go test ./... skips it:
//
//	go test -tags e2e -count=1 ./e2e/
//
// It needs the prometheus binary in PATH (Debian/Ubuntu: apt-get install -y
// prometheus).
package e2e
