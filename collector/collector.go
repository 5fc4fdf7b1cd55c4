// Package collector turns Webex rooms and messages into Prometheus metrics.
// The Tracker keeps state between scrapes; a Collector is built per scrape,
// bound to that scrape's context, and emits const metrics from a snapshot.
package collector

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "webex"

// descs are the metrics a Collector emits. Their names and labels are a
// contract: dashboards and alerts depend on them.
type descs struct {
	up, rooms, pending                  *prometheus.Desc
	info, created, lastActivity, ageSec *prometheus.Desc
	lastMessage, recentMsgs, senders    *prometheus.Desc
	total, refreshed, members           *prometheus.Desc
	success, duration, tokenExpiry      *prometheus.Desc
	roomsActive, messagesRecent         *prometheus.Desc
	help                                map[string]string // by metric name, for the exposition
}

func newDescs() descs {
	room := []string{"room_id"}
	window := []string{"room_id", "window"}
	helps := map[string]string{}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		fq := prometheus.BuildFQName(namespace, "", name)
		helps[fq] = help
		return prometheus.NewDesc(fq, help, labels, nil)
	}
	const kept = " (from state kept between scrapes)"
	return descs{
		help:  helps,
		up:    d("up", "1 if the Webex rooms could be listed in this scrape, else 0 (room metrics then keep their last known values)."),
		rooms: d("rooms", "Rooms exported, by room type.", "room_type"),
		roomsActive: d("rooms_active", "Rooms with at least one message created within the trailing window, by room type"+kept+
			"; of the rooms whose messages in the window are known, whatever --collector.direct-rooms says.", "room_type", "window"),
		messagesRecent: d("messages_recent", "Messages created within the trailing window in all rooms of the type"+kept+
			"; of the rooms whose messages in the window are known, whatever --collector.direct-rooms says.", "room_type", "window"),
		pending:      d("rooms_pending", "Rooms whose messages need reading but could not be read within the scrape's deadline or were refused; they keep their last known values and are read first next scrape."),
		info:         d("room_info", "Information about a room the account belongs to; always 1.", "room_id", "title", "room_type", "team_id", "is_locked"),
		created:      d("room_created_timestamp_seconds", "When the room was created, Unix time.", room...),
		lastActivity: d("room_last_activity_timestamp_seconds", "The room's lastActivity as Webex reports it, Unix time.", room...),
		ageSec:       d("room_last_activity_age_seconds", "Seconds from the room's lastActivity to this scrape.", room...),
		lastMessage:  d("room_last_message_timestamp_seconds", "Creation time of the newest message visible to the account, Unix time"+kept+"; absent while none is known.", room...),
		recentMsgs:   d("room_recent_messages", "Messages created within the trailing window"+kept+".", window...),
		senders:      d("room_recent_senders", "Distinct people who sent messages within the trailing window"+kept+".", window...),
		total:        d("room_messages_total", "Messages seen in the room since the exporter began watching it"+kept+".", room...),
		refreshed:    d("room_last_refresh_timestamp_seconds", "When the room's values were last brought up to date with Webex, Unix time.", room...),
		members:      d("room_members", "People in the room"+kept+", re-read when its lastActivity moves or --collector.memberships.refresh has passed.", room...),
		tokenExpiry:  d("token_expiry_timestamp_seconds", "When the Webex access token expires, Unix time; absent when unknown."),
		success:      d("scrape_collector_success", "1 if the collector's part of the scrape succeeded, else 0.", "collector"),
		duration:     d("scrape_collector_duration_seconds", "How long the collector's part of the scrape took.", "collector"),
	}
}

// Collector emits one scrape's metrics. Build one per scrape with New.
type Collector struct {
	ctx     context.Context
	tracker *Tracker
	d       descs
}

// New returns a collector whose Collect refreshes t within ctx (the scrape's deadline).
func New(ctx context.Context, t *Tracker) *Collector {
	return &Collector{ctx: ctx, tracker: t, d: t.fl.descs}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	d := c.d
	for _, desc := range []*prometheus.Desc{d.up, d.rooms, d.pending, d.info, d.created, d.lastActivity, d.ageSec,
		d.lastMessage, d.recentMsgs, d.senders, d.total, d.refreshed, d.members, d.success, d.duration, d.tokenExpiry,
		d.roomsActive, d.messagesRecent} {
		ch <- desc
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.tracker.Snapshot(c.ctx)
	d := c.d
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
	}
	gauge(d.up, boolFloat(s.Up))
	gauge(d.pending, float64(s.Pending))
	if !s.TokenExpiry.IsZero() {
		gauge(d.tokenExpiry, unix(s.TokenExpiry))
	}
	for _, p := range s.Phases {
		gauge(d.success, boolFloat(p.Success), p.Name)
		gauge(d.duration, p.Duration.Seconds(), p.Name)
	}
	byType := map[string]int{"group": 0, "direct": 0}
	type windowTotals struct{ active, messages int }
	totals := map[string][]windowTotals{}
	now := float64(s.Time.UnixMilli()) / 1e3
	for _, r := range s.Rooms {
		room := r.Room
		byType[room.Type]++
		if totals[room.Type] == nil {
			totals[room.Type] = make([]windowTotals, len(s.Windows))
		}
		if !r.NoMessages && r.Read {
			for i, c := range r.Counts {
				if !c.Known {
					continue
				}
				totals[room.Type][i].messages += int(c.Messages)
				if c.Messages > 0 {
					totals[room.Type][i].active++
				}
			}
		}
		if s.DirectRooms == DirectAggregate && room.Type == "direct" {
			continue // in the totals only
		}
		gauge(d.info, 1, room.ID, room.Title, room.Type, room.TeamID, strconv.FormatBool(room.IsLocked))
		if !room.Created.IsZero() {
			gauge(d.created, unix(room.Created), room.ID)
		}
		if !room.LastActivity.IsZero() {
			gauge(d.lastActivity, unix(room.LastActivity), room.ID)
			gauge(d.ageSec, now-unix(room.LastActivity), room.ID)
		}
		if !r.Refreshed.IsZero() {
			gauge(d.refreshed, unix(r.Refreshed), room.ID)
		}
		if r.Members >= 0 {
			gauge(d.members, float64(r.Members), room.ID)
		}
		if r.NoMessages || !r.Read {
			continue
		}
		if !r.LastMessage.IsZero() {
			gauge(d.lastMessage, unix(r.LastMessage), room.ID)
		}
		for i, w := range s.Windows {
			if !r.Counts[i].Known {
				continue
			}
			gauge(d.recentMsgs, float64(r.Counts[i].Messages), room.ID, w.Name)
			gauge(d.senders, float64(r.Counts[i].Senders), room.ID, w.Name)
		}
		ch <- prometheus.MustNewConstMetric(d.total, prometheus.CounterValue, float64(r.Total), room.ID)
	}
	for typ, n := range byType {
		gauge(d.rooms, float64(n), typ)
		ts := totals[typ]
		for i, w := range s.Windows {
			var t windowTotals
			if ts != nil {
				t = ts[i]
			}
			gauge(d.roomsActive, float64(t.active), typ, w.Name)
			gauge(d.messagesRecent, float64(t.messages), typ, w.Name)
		}
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// unix returns t as fractional Unix seconds (millisecond precision, as Webex gives).
func unix(t time.Time) float64 { return float64(t.UnixMilli()) / 1e3 }
