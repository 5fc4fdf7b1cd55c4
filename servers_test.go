package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// TestTakenPortStopsRun: when either listener cannot bind its port, run
// returns an error that says which, and stops the other server.
func TestTakenPortStopsRun(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	api := fakeAPI(t, activeOrg())
	tokenFile := writeFile(t, t.TempDir(), "token", webextest.DefaultToken)
	base := []string{"--webex.api-url=" + api.URL, "--webex.token-file=" + tokenFile}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"metrics", []string{"--web.listen-address=" + taken.Addr().String()}, "address already in use"},
		{"webhook", []string{"--web.listen-address=127.0.0.1:0", "--webhook.url=http://" + taken.Addr().String() + "/hook",
			"--webhook.listen-address=" + taken.Addr().String()}, "webhook listener"},
	} {
		t.Run(c.name, func(t *testing.T) {
			logs := newLogSink()
			done := make(chan error, 1)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			go func() { done <- run(ctx, append(base, c.args...), logs) }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("run returned %v, want an error with %q\nlogs:\n%s", err, c.want, logs)
				}
			case <-time.After(15 * time.Second):
				cancel()
				<-done
				t.Fatal("run kept running with a listener that could not bind")
			}
		})
	}
}
