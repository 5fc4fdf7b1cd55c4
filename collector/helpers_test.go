package collector

import (
	"context"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/webex-exporter/webex_exporter/webex"
	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// t0 is the generated organisations' "now".
var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// clock is a test clock the tracker reads; tests move it, nothing sleeps.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// env is a fake Webex, a real client pointed at it, and a tracker on a test clock.
type env struct {
	srv     *webextest.Server
	client  *webex.Client
	tracker *Tracker
	clock   *clock
	windows []Window
	net     *webextest.MemNet // nil: the fake serves on loopback TCP
}

func newEnv(t testing.TB, org *webextest.Org, cfg Config, opts ...webextest.Option) *env {
	t.Helper()
	return newEnvOn(t, nil, org, cfg, opts...)
}

// newMemEnv is newEnv with the fake and the client speaking HTTP over
// in-memory connections (webextest.MemNet) instead of loopback TCP: the same
// requests, answers and faults through net/http and webex.Client, with
// no system call (less CPU), and the env a testing/synctest bubble needs:
// there every wait of the client (Retry-After, its gate, the back-off
// before a retry), of the fake (latency, delays, stalls) and of the
// tracker (deadlines) is on the bubble's clock, so a scrape takes no
// longer than its work. Benchmarks keep newEnv's loopback TCP, as the
// exporter meets it.
func newMemEnv(t testing.TB, org *webextest.Org, cfg Config, opts ...webextest.Option) *env {
	t.Helper()
	mn := webextest.NewMemNet()
	t.Cleanup(mn.CloseIdle)
	return newEnvOn(t, mn, org, cfg, opts...)
}

// newEnvOn builds an env whose fake serves on mn (nil: a loopback TCP port).
func newEnvOn(t testing.TB, mn *webextest.MemNet, org *webextest.Org, cfg Config, opts ...webextest.Option) *env {
	t.Helper()
	var hc *http.Client
	if mn != nil {
		opts = append(opts, webextest.WithListener(mn.Listen()))
		hc = mn.Client()
	}
	srv := webextest.NewServer(org, opts...)
	t.Cleanup(srv.Close)
	client, err := webex.New(webex.Options{BaseURL: srv.URL, Token: webex.StaticToken(webextest.DefaultToken), HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: t0}
	if cfg.Windows == nil {
		cfg.Windows, _ = ParseWindows("1h,24h")
	}
	cfg.Now = clk.Now
	return &env{srv: srv, client: client, tracker: NewTracker(client, cfg), clock: clk, windows: cfg.Windows, net: mn}
}

// scrape collects once with the given deadline and returns the samples by "name{labels}".
func (e *env) scrape(t testing.TB, timeout time.Duration) map[string]float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(New(ctx, e.tracker))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	return samples(mfs)
}

func samples(mfs []*dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	var b []byte
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			b = append(append(b[:0], mf.GetName()...), '{')
			for i, l := range m.GetLabel() {
				if i > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendQuote(append(append(b, l.GetName()...), '='), l.GetValue()) // as key's %q
			}
			key := string(append(b, '}'))
			switch {
			case m.Gauge != nil:
				out[key] = m.GetGauge().GetValue()
			case m.Counter != nil:
				out[key] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// roomKey returns "name{room_id=...}" style keys as samples builds them.
func key(name string, labels ...string) string {
	var parts []string
	for i := 0; i+1 < len(labels); i += 2 {
		parts = append(parts, fmt.Sprintf("%s=%q", labels[i], labels[i+1]))
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}

func unixSec(t time.Time) float64 { return float64(t.UnixMilli()) / 1e3 }

// expectation is what the exporter must show for a room, computed from ground truth.
type roomTruth struct {
	room webextest.Room
	// msgs are the room's messages the exporter has seen: those created at
	// or after since (the widest window's start at the first read).
	seen []webextest.Message
	// title the exporter should show ("" for a kms_failure never decrypted).
	title string
}

// backlogMark marks, in the tests' expectations, a message that a room's
// first read found: it fills the windows, but webex_room_messages_total
// counts only messages that arrive after the exporter began watching.
const backlogMark = "\x00backlog"

// asBacklog marks m as found by its room's first read.
func asBacklog(m webextest.Message) webextest.Message {
	m.Text = backlogMark
	return m
}

// counted is how many of msgs webex_room_messages_total counts.
func counted(msgs []webextest.Message) int {
	n := 0
	for _, m := range msgs {
		if m.Text != backlogMark {
			n++
		}
	}
	return n
}

// expected builds the full sample map for rooms at time now. Counters
// (messages_total) and last-message timestamps come from seen.
func expected(now time.Time, windows []Window, rooms []roomTruth) map[string]float64 {
	out := map[string]float64{
		key("webex_up"):            1,
		key("webex_rooms_pending"): 0,
		key("webex_scrape_collector_success", "collector", "rooms"):    1,
		key("webex_scrape_collector_success", "collector", "messages"): 1,
	}
	byType := map[string]int{"group": 0, "direct": 0}
	for _, typ := range []string{"group", "direct"} { // counted by compare (recountTotals)
		for _, w := range windows {
			out[key("webex_rooms_active", "room_type", typ, "window", w.Name)] = 0
			out[key("webex_messages_recent", "room_type", typ, "window", w.Name)] = 0
		}
	}
	for _, rt := range rooms {
		r := rt.room
		id := r.ID
		byType[r.Type]++
		out[key("webex_room_info", "is_locked", fmt.Sprint(r.IsLocked), "room_id", id, "room_type", r.Type, "team_id", r.TeamID, "title", rt.title)] = 1
		out[key("webex_room_created_timestamp_seconds", "room_id", id)] = unixSec(r.Created)
		out[key("webex_room_last_activity_timestamp_seconds", "room_id", id)] = unixSec(r.LastActivity)
		out[key("webex_room_last_activity_age_seconds", "room_id", id)] = float64(now.UnixMilli()-r.LastActivity.UnixMilli()) / 1e3
		out[key("webex_room_last_refresh_timestamp_seconds", "room_id", id)] = unixSec(now)
		out[key("webex_room_messages_total", "room_id", id)] = float64(counted(rt.seen))
		if len(rt.seen) > 0 {
			newest := rt.seen[0].Created
			for _, m := range rt.seen {
				if m.Created.After(newest) {
					newest = m.Created
				}
			}
			out[key("webex_room_last_message_timestamp_seconds", "room_id", id)] = unixSec(newest)
		}
		for _, w := range windows {
			cutoff := now.Add(-w.Duration)
			n, senders := 0, map[string]bool{}
			for _, m := range rt.seen {
				if m.Created.After(cutoff) {
					n++
					senders[m.PersonID] = true
				}
			}
			out[key("webex_room_recent_messages", "room_id", id, "window", w.Name)] = float64(n)
			out[key("webex_room_recent_senders", "room_id", id, "window", w.Name)] = float64(len(senders))
		}
	}
	for typ, n := range byType {
		out[key("webex_rooms", "room_type", typ)] = float64(n)
	}
	return out
}

// recountTotals returns want with webex_rooms_active and
// webex_messages_recent counted again from the per-room samples it has
// (tests leave out those of rooms whose messages cannot be known).
func recountTotals(want map[string]float64) map[string]float64 {
	out := maps.Clone(want)
	types := map[string]string{}
	for k := range want {
		if id, typ, ok := labelPair(k, "webex_room_info{", "room_id", "room_type"); ok {
			types[id] = typ
		}
		if strings.HasPrefix(k, "webex_rooms_active{") || strings.HasPrefix(k, "webex_messages_recent{") {
			out[k] = 0
		}
	}
	for k, v := range want {
		if id, win, ok := labelPair(k, "webex_room_recent_messages{", "room_id", "window"); ok {
			out[key("webex_messages_recent", "room_type", types[id], "window", win)] += v
			if v > 0 {
				out[key("webex_rooms_active", "room_type", types[id], "window", win)]++
			}
		}
	}
	return out
}

// labelPair returns the values of labels a and b, a directly followed by
// b, in a sample key that begins with prefix (as key writes them: no
// quote or comma inside a value is needed by the tests' ids and types).
func labelPair(k, prefix, a, b string) (va, vb string, ok bool) {
	rest, ok := strings.CutPrefix(k, prefix)
	if !ok {
		return "", "", false
	}
	_, rest, ok = strings.Cut(rest, a+`="`)
	if !ok {
		return "", "", false
	}
	va, rest, ok = strings.Cut(rest, `",`+b+`="`)
	if !ok {
		return "", "", false
	}
	vb, _, ok = strings.Cut(rest, `"`)
	return va, vb, ok
}

// compare fails on any sample that differs, is missing or is extra;
// durations are only checked to exist.
func compare(t testing.TB, got, want map[string]float64) {
	t.Helper()
	want = recountTotals(want)
	var problems []string
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			problems = append(problems, "missing "+k)
		case math.Abs(g-w) > 1e-6:
			problems = append(problems, fmt.Sprintf("%s = %v, want %v", k, g, w))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok && !strings.HasPrefix(k, "webex_scrape_collector_duration_seconds") {
			problems = append(problems, "unexpected "+k)
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		t.Errorf("%d samples differ from ground truth, first ones:\n%s", len(problems), strings.Join(problems[:min(len(problems), 15)], "\n"))
	}
}

// truth derives the expected per-room view from the fake's ground truth:
// seen[id] holds the messages the exporter has read so far.
func truth(srv *webextest.Server, seen map[string][]webextest.Message, titles map[string]string) []roomTruth {
	return truthOf(srv.Rooms(), seen, titles)
}

// truthOf is truth for a given listing rather than the fake's current one.
func truthOf(rooms []webextest.Room, seen map[string][]webextest.Message, titles map[string]string) []roomTruth {
	var out []roomTruth
	for _, r := range rooms {
		title := r.Title
		if r.KMSFailure {
			title = titles[r.ID]
		}
		out = append(out, roomTruth{room: r, seen: seen[r.ID], title: title})
	}
	slices.SortFunc(out, func(a, b roomTruth) int { return strings.Compare(a.room.ID, b.room.ID) })
	return out
}

// coldSeen is what a first read sees: messages created at or after since,
// the rooms' backlog.
func coldSeen(srv *webextest.Server, since time.Time) map[string][]webextest.Message {
	seen := map[string][]webextest.Message{}
	for _, r := range srv.Rooms() {
		if !r.LastActivity.After(since) {
			continue
		}
		for _, m := range srv.Messages(r.ID) {
			if !m.Created.Before(since) {
				seen[r.ID] = append(seen[r.ID], asBacklog(m))
			}
		}
	}
	return seen
}
