// Package collector turns Webex rooms and messages into Prometheus metrics.
// The Tracker keeps state between scrapes; a scrape's answer is the text
// exposition of a snapshot (exposition.go). A Collector, built per scrape
// and bound to that scrape's context, emits the same metrics as const
// metrics, for tests.
package collector

import (
	"context"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/webex-exporter/webex_exporter/collector/exposition"
)

const namespace = "webex"

// descs are the metric families a snapshot emits, built once per tracker:
// their names and labels are a contract (dashboards and alerts depend on
// them). Each family has its text form (exposition.Family) and its
// client_golang Desc, for the Collector.
type descs struct {
	up, rooms, pending                  *exposition.Family
	info, created, lastActivity, ageSec *exposition.Family
	lastMessage, recentMsgs, senders    *exposition.Family
	total, refreshed, members           *exposition.Family
	success, duration, tokenExpiry      *exposition.Family
	roomsActive, messagesRecent         *exposition.Family
	prom                                map[*exposition.Family]*prometheus.Desc
}

// How many rooms a segment of a per-room family has on average: 32 in the
// families that change where a room moves or a window slides (a room that
// changes costs its segment's compression again); 128 in those that
// rarely change (creation, title, members: fewer, larger segments compress
// better, and are compressed for size, Family.Stable); 512 in those whose values change for every room at every
// refresh (the ages, the refresh times: compressed again whatever
// changed, and larger segments compress better).
const (
	roomsPerSegment         = 32
	stableRoomsPerSegment   = 128
	volatileRoomsPerSegment = 512
)

func newDescs() *descs {
	room := []string{"room_id"}
	window := []string{"room_id", "window"}
	d := &descs{prom: map[*exposition.Family]*prometheus.Desc{}}
	family := func(name, help string, typ exposition.Type, labels ...string) *exposition.Family {
		f := exposition.NewFamily(prometheus.BuildFQName(namespace, "", name), help, typ, labels...)
		d.prom[f] = prometheus.NewDesc(f.Name, f.Help, f.Labels, nil)
		if slices.Contains(labels, "room_id") {
			f.SegmentBy("room_id", roomsPerSegment) // a room that changes re-renders its own block of rooms only
		}
		return f
	}
	gauge := func(name, help string, labels ...string) *exposition.Family {
		return family(name, help, exposition.Gauge, labels...)
	}
	const kept = " (from state kept between scrapes)"
	d.up = gauge("up", "1 if the Webex rooms could be listed in this scrape, else 0 (room metrics then keep their last known values).")
	d.rooms = gauge("rooms", "Rooms exported, by room type.", "room_type")
	d.roomsActive = gauge("rooms_active", "Rooms with at least one message created within the trailing window, by room type"+kept+
		"; of the rooms whose messages in the window are known, whatever --collector.direct-rooms says.", "room_type", "window")
	d.messagesRecent = gauge("messages_recent", "Messages created within the trailing window in all rooms of the type"+kept+
		"; of the rooms whose messages in the window are known, whatever --collector.direct-rooms says.", "room_type", "window")
	d.pending = gauge("rooms_pending", "Rooms whose messages need reading but could not be read within the scrape's deadline or were refused; they keep their last known values and are read first next scrape.")
	d.info = gauge("room_info", "Information about a room the account belongs to; always 1.", "is_locked", "room_id", "room_type", "team_id", "title").
		SegmentBy("room_id", stableRoomsPerSegment).Stable()
	d.created = gauge("room_created_timestamp_seconds", "When the room was created, Unix time.", room...).
		SegmentBy("room_id", stableRoomsPerSegment).Stable()
	d.lastActivity = gauge("room_last_activity_timestamp_seconds", "The room's lastActivity as Webex reports it, Unix time.", room...)
	d.ageSec = gauge("room_last_activity_age_seconds", "Seconds from the room's lastActivity to this scrape.", room...).
		SegmentBy("room_id", volatileRoomsPerSegment)
	d.lastMessage = gauge("room_last_message_timestamp_seconds", "Creation time of the newest message visible to the account, Unix time"+kept+"; absent while none is known.", room...)
	d.recentMsgs = gauge("room_recent_messages", "Messages created within the trailing window"+kept+".", window...)
	d.senders = gauge("room_recent_senders", "Distinct people who sent messages within the trailing window"+kept+".", window...)
	d.total = family("room_messages_total", "Messages seen in the room since the exporter began watching it"+kept+".", exposition.Counter, room...)
	d.refreshed = gauge("room_last_refresh_timestamp_seconds", "When the room's values were last brought up to date with Webex, Unix time.", room...).
		SegmentBy("room_id", volatileRoomsPerSegment) // a listing refreshes every room it lists
	d.members = gauge("room_members", "People in the room"+kept+", re-read when its lastActivity moves or --collector.memberships.refresh has passed.", room...).
		SegmentBy("room_id", stableRoomsPerSegment).Stable()
	d.tokenExpiry = gauge("token_expiry_timestamp_seconds", "When the Webex access token expires, Unix time; absent when unknown.")
	d.success = gauge("scrape_collector_success", "1 if the collector's part of the scrape succeeded, else 0.", "collector")
	d.duration = gauge("scrape_collector_duration_seconds", "How long the collector's part of the scrape took.", "collector")
	return d
}

// Collector emits one scrape's metrics as client_golang const metrics: what
// emitRooms and emitStatus emit, the oracle the text exposition is proven
// byte-equal to. Build one per scrape with New. A scrape that could not
// wait for the refresh under way is answered from the last rendering: the
// tracker keeps no rooms of the last snapshot through a refresh, so the
// Collector then emits the status families only.
type Collector struct {
	ctx     context.Context
	tracker *Tracker
	d       *descs
}

// New returns a collector whose Collect refreshes t within ctx (the scrape's deadline).
func New(ctx context.Context, t *Tracker) *Collector {
	return &Collector{ctx: ctx, tracker: t, d: t.fl.descs}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, desc := range c.d.prom {
		ch <- desc
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.tracker.Snapshot(c.ctx)
	out := &constSink{ch: ch, d: c.d}
	emitRooms(s, c.d, out)
	emitStatus(s, c.d, out)
}

// constSink sends what a snapshot emits as const metrics.
type constSink struct {
	ch   chan<- prometheus.Metric
	d    *descs
	f    *exposition.Family
	desc *prometheus.Desc
	typ  prometheus.ValueType
}

func (c *constSink) family(f *exposition.Family) {
	c.f, c.desc, c.typ = f, c.d.prom[f], prometheus.GaugeValue
	if f.Type == exposition.Counter {
		c.typ = prometheus.CounterValue
	}
}

func (c *constSink) sample(v float64, l labels) {
	c.ch <- prometheus.MustNewConstMetric(c.desc, c.typ, v, l[:len(c.f.Labels)]...)
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// unix returns t as fractional Unix seconds (millisecond precision, as Webex gives).
func unix(t time.Time) float64 { return float64(t.UnixMilli()) / 1e3 }
