// Command webexfake serves a generated Webex organisation (webextest) at a
// fixed loopback address, for measuring the exporter as a process of its
// own and for trying it by hand:
//
//	go run ./webex/webextest/webexfake -rooms 10000 &
//	WEBEX_TOKEN=webextest-token go run . --webex.api-url=http://127.0.0.1:18080/v1
//
// webextest-token is the fake's fixed test token, not a secret.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18080", "loopback address to serve on")
	rooms := flag.Int("rooms", 1000, "rooms in the organisation")
	active := flag.Float64("active", 0.5, "fraction of rooms with messages in the last 24h")
	maxMsgs := flag.Int("max-messages", 79, "an active room has 1 to max-messages messages in the last 24h")
	every := flag.Duration("post-every", time.Second, "post a message this often (0: never)")
	latency := flag.Duration("latency", 0, "added to every API call")
	officer := flag.Bool("officer", false, "the token is a compliance officer's: /events answers (for --webex.scope=org)")
	quiet := flag.Int("quiet-rooms", 0, `group rooms titled "Quiet ..." that never get a message`)
	flag.Parse()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "webexfake:", err)
		os.Exit(1)
	}
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 1, Rooms: *rooms, Now: time.Now(), History: 24 * time.Hour,
		ActiveFraction: *active, MaxMessagesPerRoom: *maxMsgs, QuietRooms: *quiet})
	opts := []webextest.Option{webextest.WithListener(ln), webextest.WithLatency(*latency)}
	if *officer {
		opts = append(opts, webextest.WithComplianceOfficer())
	}
	srv := webextest.NewServer(org, opts...)
	defer srv.Close()
	messages := 0
	for _, ms := range org.Messages {
		messages += len(ms)
	}
	fmt.Printf("serving %d rooms and %d messages at %s\n", *rooms, messages, srv.URL)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *every > 0 {
		go srv.Simulate(ctx, *every, rand.New(rand.NewPCG(1, 2)))
	}
	<-ctx.Done()
}
