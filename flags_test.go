package main

import (
	"io"
	"slices"
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
