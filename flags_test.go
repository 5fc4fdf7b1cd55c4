package main

import (
	"io"
	"slices"
	"strings"
	"testing"
)

// TestDemoListensOnLoopback: --demo (whose /debug/pprof/ has no
// authentication) listens on 127.0.0.1 unless --web.listen-address says
// otherwise; without --demo the default is every interface.
func TestDemoListensOnLoopback(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--demo"}, []string{"127.0.0.1:10270"}},
		{[]string{"--demo", "--web.listen-address=:10270"}, []string{":10270"}},
		{[]string{"--demo", "--web.listen-address=:1", "--web.listen-address=[::1]:2"}, []string{":1", "[::1]:2"}},
		{[]string{"--webex.token-file=t"}, []string{":10270"}},
	} {
		cfg, err := parseFlags(c.args, io.Discard)
		if err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		if got := *cfg.web.WebListenAddresses; !slices.Equal(got, c.want) {
			t.Errorf("%q: listens on %q, want %q", c.args, got, c.want)
		}
	}
}

// TestTelemetryPathTakenRefused: a metrics path the probes or the profiles
// already have is refused with a message, not a panic of the server's mux.
func TestTelemetryPathTakenRefused(t *testing.T) {
	for _, path := range []string{"/-/healthy", "/-/ready", "/debug/pprof/", "/debug/pprof/heap"} {
		_, err := parseFlags([]string{"--demo", "--web.telemetry-path=" + path}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--web.telemetry-path") {
			t.Errorf("--web.telemetry-path=%s: err %v, want one naming the flag", path, err)
		}
	}
	if _, err := parseFlags([]string{"--demo", "--web.telemetry-path=/probe/metrics"}, io.Discard); err != nil {
		t.Errorf("--web.telemetry-path=/probe/metrics: %v", err)
	}
}
