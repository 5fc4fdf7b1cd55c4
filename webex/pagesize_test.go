package webex_test

import (
	"context"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/webex-exporter/webex_exporter/webex"
	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// observed records what a client reports to Observe.
type observed struct {
	mu    sync.Mutex
	infos []webex.RequestInfo
}

func (o *observed) observe(r webex.RequestInfo) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.infos = append(o.infos, r)
}

func (o *observed) take() []webex.RequestInfo {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := o.infos
	o.infos = nil
	return out
}

// maxes lists the max each logged request of endpoint asked, and its status.
func maxes(srv *webextest.Server, endpoint string) (asked []int, status []int) {
	for _, r := range srv.RequestLog() {
		if r.Endpoint != endpoint {
			continue
		}
		q, _ := url.ParseQuery(r.RawQuery)
		n, _ := strconv.Atoi(q.Get("max"))
		asked, status = append(asked, n), append(status, r.Status)
	}
	return asked, status
}

// TestGatewayTimeoutShrinksThePage: Webex's 504 "If your query uses max
// parameter, please try to reduce it" at max=1000 makes the listing ask
// the page again at once at 200 (then 50), keep that size for the
// endpoint for an hour, and say so once to Observe (issue 18, item 1).
func TestGatewayTimeoutShrinksThePage(t *testing.T) {
	srv, org := orgServer(t, 250, 1000, webextest.WithComplianceOfficer())
	room := org.Rooms[0].ID
	for _, tc := range []struct {
		endpoint string
		read     func(context.Context, *webex.Client) (int, error)
		want     int
	}{
		{"rooms", func(ctx context.Context, c *webex.Client) (int, error) {
			rooms, err := c.Rooms(ctx, webex.RoomsQuery{})
			return len(rooms), err
		}, len(org.Rooms)},
		{"events", func(ctx context.Context, c *webex.Client) (int, error) {
			n := 0
			err := c.Events(ctx, webex.EventsQuery{Resource: "messages", Type: "created", From: time.Now().Add(-24 * time.Hour)},
				func(page []webex.Event) error { n += len(page); return nil })
			return n, err
		}, len(wantEvents(org, time.Now().Add(-24*time.Hour)))},
		{"memberships", func(ctx context.Context, c *webex.Client) (int, error) {
			ms, err := c.Memberships(ctx, room)
			return len(ms), err
		}, len(org.Memberships[room])},
	} {
		t.Run(tc.endpoint, func(t *testing.T) {
			srv.ClearFaults()
			srv.InjectFault(webextest.Fault{Endpoint: tc.endpoint, MaxAbove: 200, Status: 504})
			var obs observed
			c, err := webex.New(webex.Options{BaseURL: srv.URL, Token: webex.StaticToken(webextest.DefaultToken), Observe: obs.observe})
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			webex.SetClock(c, func() time.Time { return now })
			read := func(wantAsked []int) {
				t.Helper()
				srv.ResetRequests()
				n, err := tc.read(ctx(t), c)
				if err != nil || n != tc.want {
					t.Fatalf("%d items, %v; want %d", n, err, tc.want)
				}
				asked, _ := maxes(srv, tc.endpoint)
				for i, w := range wantAsked {
					if i >= len(asked) || asked[i] != w {
						t.Fatalf("max asked %v; want it to begin %v", asked, wantAsked)
					}
				}
				for _, m := range asked[len(wantAsked):] {
					if m != 200 {
						t.Fatalf("max asked %v; want 200 after %v", asked, wantAsked)
					}
				}
			}

			read([]int{1000, 200})
			infos := obs.take()
			if infos[0].Code != "504" || infos[0].PageSize != 1000 || infos[1].Code != "200" || infos[1].ReducedFrom != 1000 || infos[1].PageSize != 200 {
				t.Fatalf("observed %+v, %+v; want a 504 at 1000 then the page at 200, reduced from 1000", infos[0], infos[1])
			}
			for _, in := range infos[2:] {
				if in.ReducedFrom != 0 || in.PageSize != 200 {
					t.Fatalf("observed %+v after the reduction: want PageSize 200, nothing reduced", in)
				}
			}

			now = now.Add(59 * time.Minute)
			read([]int{200}) // kept for the endpoint
			now = now.Add(2 * time.Minute)
			read([]int{1000, 200}) // tried again after an hour
		})
	}
}

// TestGatewayTimeoutDownTo50: a 504 at 200 too gives 50; a 504 at 50 is
// retried once as any transient failure, then returned.
func TestGatewayTimeoutDownTo50(t *testing.T) {
	srv, org := orgServer(t, 120, 0)
	srv.InjectFault(webextest.Fault{Endpoint: "rooms", MaxAbove: 50, Status: 504})
	c := newClient(t, srv, nil)
	rooms, err := c.Rooms(ctx(t), webex.RoomsQuery{})
	if asked, status := maxes(srv, "rooms"); err != nil || len(rooms) != len(org.Rooms) ||
		len(asked) != 5 || asked[0] != 1000 || asked[1] != 200 || asked[2] != 50 || status[1] != 504 || status[2] != 200 {
		t.Fatalf("%d rooms, %v; max asked %v, answered %v; want %d rooms, pages of 50 after 1000 and 200", len(rooms), err, asked, status, len(org.Rooms))
	}

	srv.ClearFaults()
	srv.ResetRequests()
	srv.InjectFault(webextest.Fault{Endpoint: "rooms", Status: 504})
	_, err = newClient(t, srv, nil).Rooms(ctx(t), webex.RoomsQuery{})
	if asked, _ := maxes(srv, "rooms"); webex.StatusCode(err) != 504 || len(asked) != 4 || asked[2] != 50 || asked[3] != 50 {
		t.Fatalf("err = %v after max %v; want the 504 after 1000, 200, 50 and 50 again", err, asked)
	}
}
