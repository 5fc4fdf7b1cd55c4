package collector

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/webex-exporter/webex_exporter/collector/exposition"
	"github.com/webex-exporter/webex_exporter/webex"
	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// TestExpositionMatchesClientGolang: the hand-written exposition of a
// snapshot is byte for byte what client_golang writes for the Collector's
// metrics of the same snapshot, every family included, and its gzip form
// decompresses to the same bytes.
func TestExpositionMatchesClientGolang(t *testing.T) {
	windows, err := ParseWindows("30m,1h,1w,24h")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	room := func(id, title, typ, team string, locked bool) webex.Room {
		return webex.Room{ID: id, Title: title, Type: typ, TeamID: team, IsLocked: locked,
			Created: at("2024-02-29T23:59:59.999Z"), LastActivity: at("2026-11-24T11:58:01.123Z")}
	}
	counts := []WindowCount{{Messages: 1, Senders: 1, Known: true}, {Messages: 3, Senders: 2, Known: true}, {Messages: 12345, Senders: 17, Known: true}, {Messages: 40, Senders: 9, Known: true}}
	partly := []WindowCount{{Messages: 1, Senders: 1, Known: true}, {Messages: 3, Senders: 2, Known: true}, {Messages: 12345, Senders: 17, Known: false}, {Messages: 40, Senders: 9, Known: false}} // a gap 2 windows overlap
	handmade := &Snapshot{
		Time: at("2026-11-24T12:00:00.007Z"), Up: true, Pending: 3, Windows: windows,
		TokenExpiry: at("2026-12-08T12:00:00.5Z"),
		Phases: []Phase{{"rooms", true, 123456789 * time.Nanosecond}, {"messages", false, 3 * time.Second},
			{"memberships", true, 0}},
		Rooms: []RoomSnapshot{
			{Room: room("A", `say "hi" \ to C:\temp`, "group", "T1", true), LastMessage: at("2026-11-24T11:58:01.1Z"),
				Counts: counts, Total: 1 << 40, Refreshed: at("2026-11-24T12:00:00Z"), Read: true, Members: 7},
			{Room: room("B", "two\nlines\\n and a tab\t", "direct", "", false), Counts: partly, Read: true, Members: -1},
			{Room: room("C", "Ünïcødé 🚀 会议室 ", "group", "T\"2", false), Counts: counts, Read: true, NoMessages: true, Members: 0},
			{Room: webex.Room{ID: "D", Type: "group"}, Counts: make([]WindowCount, 4), Read: true, Members: -1},
			{Room: room("E", "", "group", "", true), Counts: counts, Total: 0, Read: true, Refreshed: at("1970-01-01T00:00:01Z"), Members: -1},
		},
	}
	minimal := &Snapshot{Time: at("2026-11-24T12:00:00Z"), Windows: windows[:1],
		Phases: []Phase{{"rooms", false, time.Millisecond}, {"messages", false, 0}}}

	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 31, Rooms: 300, Now: t0, MeType: "bot"})
	e := newEnv(t, org, Config{Memberships: true})
	generated := e.tracker.Snapshot(context.Background())
	if !generated.Up {
		t.Fatal("refresh failed")
	}

	for _, tc := range []struct {
		name string
		snap *Snapshot
	}{{"handmade", handmade}, {"minimal", minimal}, {"generated", generated},
		{"handmade/aggregate", aggregate(handmade)}, {"generated/aggregate", aggregate(generated)}} {
		small := []byte("# HELP own_metric Something.\n# TYPE own_metric gauge\nown_metric 1\n")
		// Larger than a DEFLATE stored block (65,535 bytes), as gzip sends it.
		large := append(bytes.Repeat([]byte("# a comment long enough to need several stored blocks\n"), 3000), small...)
		for _, own := range [][]byte{small, large} {
			t.Run(fmt.Sprintf("%s/own=%d", tc.name, len(own)), func(t *testing.T) { checkExposition(t, e, tc.snap, own) })
		}
	}
}

// aggregate is s with direct rooms in the totals only.
func aggregate(s *Snapshot) *Snapshot {
	a := *s
	a.DirectRooms = DirectAggregate
	return &a
}

// checkExposition: snap's exposition after own is client_golang's, plain
// and gzip.
func checkExposition(t *testing.T, e *env, snap *Snapshot, own []byte) {
	t.Helper()
	snap.render = &rendering{count: &e.tracker.fl.renders, d: e.tracker.fl.descs}
	checkRendering(t, snap, own)
}

// checkRendering is checkExposition of the snapshot's own rendering (one
// that may take segments from the last).
func checkRendering(t *testing.T, snap *Snapshot, own []byte) {
	t.Helper()
	// The room families, the exporter's own metrics, then the status.
	cg := clientGolang(t, snap)
	split := bytes.Index(cg, []byte("# HELP webex_scrape_collector_duration_seconds"))
	want := slices.Concat(cg[:split], own, cg[split:])
	var got bytes.Buffer
	if err := snap.WriteText(&got, own, false); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("exposition differs from client_golang's:\n%s", firstDiff(got.Bytes(), want))
	}

	var z bytes.Buffer
	if err := snap.WriteText(&z, own, true); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&z)
	if err != nil {
		t.Fatal(err)
	}
	zr.Multistream(false) // one member, as every client can read
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gzip: %v", err)
	}
	if !bytes.Equal(plain, want) {
		t.Errorf("gzip exposition decompresses to other bytes:\n%s", firstDiff(plain, want))
	}
	if rest, _ := io.ReadAll(&z); len(rest) > 0 {
		t.Errorf("%d bytes after the gzip member", len(rest))
	}
}

// clientGolang is what client_golang writes for the Collector's metrics of s.
func clientGolang(t *testing.T, s *Snapshot) []byte {
	t.Helper()
	tr := NewTracker(nil, Config{Windows: s.Windows, MinInterval: time.Hour, Now: func() time.Time { return s.Time }})
	tr.fl.last, tr.fl.lastStart = s, s.Time // served as is: no refresh
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(New(context.Background(), tr))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func firstDiff(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	from := max(0, bytes.LastIndexByte(want[:i], '\n')+1)
	clip := func(b []byte) string { return string(b[min(from, len(b)):min(i+200, len(b))]) }
	return "got:  " + clip(got) + "\nwant: " + clip(want)
}

// TestRenderingReusesSegments: a rendering takes from the last one every
// segment whose samples did not change, as it was compressed, and
// compresses only the others: those of the block of a room that moved, and
// of a room that came, and the ages and refresh times (new at every
// refresh). The result is still client_golang's.
func TestRenderingReusesSegments(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 31, Rooms: 1100, Now: t0})
	e := newEnv(t, org, Config{Memberships: true})
	first := e.tracker.Snapshot(context.Background())
	if !first.Up {
		t.Fatal("refresh failed")
	}
	cache := &exposition.Cache{}
	first.render = &rendering{count: &e.tracker.fl.renders, cache: cache, d: e.tracker.fl.descs}
	before := segmentTexts(t, first.rooms())

	next := *first
	next.Rooms = slices.Clone(first.Rooms)
	moved := &next.Rooms[len(next.Rooms)/2]
	moved.Room.LastActivity = moved.Room.LastActivity.Add(time.Second)
	moved.Total++
	next.Rooms = slices.Insert(next.Rooms, 7, RoomSnapshot{Room: webex.Room{ID: next.Rooms[6].Room.ID + "0", Type: "group"},
		Counts: make([]WindowCount, len(next.Windows)), Members: -1})
	next.render = &rendering{count: &e.tracker.fl.renders, cache: cache, d: e.tracker.fl.descs}
	r := next.rooms()
	fresh, volatile := 0, 0
	for i, p := range r.Segments() {
		text := segmentText(t, p)
		old, ok := before[text]
		switch {
		case strings.Contains(text, "webex_room_last_activity_age_seconds{") ||
			strings.Contains(text, "webex_room_last_refresh_timestamp_seconds{"):
			volatile++ // new at every refresh: compressed again
		case !ok:
			fresh++
		case &old[0] != &r.Segments()[i][0]:
			t.Errorf("segment %d: the same text as in the last rendering, compressed again", i)
		}
	}
	// The moved room's block and the new room's (two, if it starts a
	// block) in each of the 9 other room families, and the totals; of some
	// 34 blocks a family (9 where blocks are of 128 rooms). The ages and
	// the refresh times in blocks of 512.
	if most := 3*9 + 3; fresh == 0 || fresh > most || len(r.Segments()) < 3*fresh {
		t.Errorf("%d of %d segments compressed again, want 1 to %d", fresh, len(r.Segments()), most)
	}
	if volatile == 0 || volatile > 2*len(next.Rooms)/volatileRoomsPerSegment+10 {
		t.Errorf("%d segments of ages and refresh times for %d rooms", volatile, len(next.Rooms))
	}
	checkRendering(t, &next, nil) // this rendering, segments taken from the last included
}

// segmentTexts returns a rendering's segments by their text.
func segmentTexts(t *testing.T, r *exposition.Rendering) map[string][]byte {
	t.Helper()
	texts := map[string][]byte{}
	for _, p := range r.Segments() {
		texts[segmentText(t, p)] = p
	}
	return texts
}

// segmentText decompresses one segment on its own: each is a DEFLATE
// stream of its own, but for its end.
func segmentText(t *testing.T, p []byte) string {
	t.Helper()
	text, err := exposition.Inflate(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(text)
}

// TestDirectRoomsAggregate: with DirectAggregate a scrape shows what the
// per-room mode shows but the direct rooms' per-room series; the totals by
// room type count the direct rooms all the same.
func TestDirectRoomsAggregate(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 33, Rooms: 200, Now: t0, ActiveFraction: 0.6})
	perRoom := newEnv(t, org, Config{}).scrape(t, 30*time.Second)
	e := newEnv(t, org, Config{DirectRooms: DirectAggregate})
	got := e.scrape(t, 30*time.Second)

	want := maps.Clone(perRoom)
	direct := 0
	for _, r := range e.srv.Rooms() {
		if r.Type != "direct" {
			continue
		}
		direct++
		for k := range want {
			if strings.Contains(k, `room_id="`+r.ID+`"`) {
				delete(want, k)
			}
		}
	}
	if direct == 0 || want[key("webex_messages_recent", "room_type", "direct", "window", "24h")] == 0 ||
		want[key("webex_rooms_active", "room_type", "direct", "window", "1h")] == 0 {
		t.Fatalf("the organisation has %d direct rooms and no direct messages in the totals: no test", direct)
	}
	for k := range got {
		if strings.HasPrefix(k, "webex_scrape_collector_duration_seconds") {
			delete(got, k)
			delete(want, k)
		}
	}
	if !maps.Equal(got, want) {
		for k, v := range want {
			if g, ok := got[k]; !ok || g != v {
				t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected %s", k)
			}
		}
	}
}

// TestTotalsLeaveOutUnknownWindows: a room whose window still overlaps
// messages no read covered has no value for that window, and adds nothing
// to webex_messages_recent or webex_rooms_active either (a total with its
// partial count in it would be short without saying so).
func TestTotalsLeaveOutUnknownWindows(t *testing.T) {
	// Rooms in a snapshot are sorted by id.
	windows := []Window{{Name: "1h", Duration: time.Hour}, {Name: "24h", Duration: 24 * time.Hour}}
	room := func(id string, c1h, c24h WindowCount) RoomSnapshot {
		return RoomSnapshot{Room: webex.Room{ID: id, Type: "group", Title: id, LastActivity: t0}, Read: true,
			Members: -1, Refreshed: t0, LastMessage: t0, Counts: []WindowCount{c1h, c24h}}
	}
	snap := &Snapshot{Time: t0, Up: true, Windows: windows, Phases: []Phase{{Name: "rooms", Success: true}}, Rooms: []RoomSnapshot{
		room("gap", WindowCount{Messages: 5, Senders: 2, Known: true}, WindowCount{Messages: 5, Senders: 2}),
		room("known", WindowCount{Messages: 2, Senders: 1, Known: true}, WindowCount{Messages: 3, Senders: 1, Known: true}),
	}, render: &rendering{count: new(atomic.Int64), d: newDescs()}}
	checkRendering(t, snap, nil)
	var b bytes.Buffer
	if err := snap.WriteText(&b, nil, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`webex_messages_recent{room_type="group",window="1h"} 7`,
		`webex_messages_recent{room_type="group",window="24h"} 3`,
		`webex_rooms_active{room_type="group",window="1h"} 2`,
		`webex_rooms_active{room_type="group",window="24h"} 1`,
	} {
		if !strings.Contains(b.String(), want+"\n") {
			t.Errorf("want %s in:\n%s", want, grepLines(b.String(), "_recent{", "_active{"))
		}
	}
}

// grepLines is the lines of text that contain one of subs.
func grepLines(text string, subs ...string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		for _, s := range subs {
			if strings.Contains(l, s) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// TestScrapeBuildsNoDescs: the names and HELP texts are built once per
// tracker, not at every scrape: a scrape of a rendered snapshot allocates
// only its own framing (16 allocations; 142 when each scrape built the 18
// Descs and their HELP map again).
func TestScrapeBuildsNoDescs(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 3, Rooms: 50, Now: t0})
	e := newEnv(t, org, Config{})
	e.scrape(t, 10*time.Second)
	s := e.tracker.fl.last
	if err := s.WriteText(io.Discard, nil, true); err != nil { // renders
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(20, func() { s.WriteText(io.Discard, nil, true) }); n > 40 {
		t.Errorf("a gzip scrape of a rendered snapshot allocates %v times; want at most 40", n)
	}
}

// TestAgeInWholeMilliseconds: a room's age is the difference of two times
// in whole milliseconds, shown as such (24836.011), not as the difference of
// the two in float seconds (24836.010999917984).
func TestAgeInWholeMilliseconds(t *testing.T) {
	la := t0.Add(-24836011 * time.Millisecond)
	snap := &Snapshot{Time: t0, Up: true, Windows: []Window{{Name: "1h", Duration: time.Hour}}, Phases: []Phase{{Name: "rooms", Success: true}},
		Rooms:  []RoomSnapshot{{Room: webex.Room{ID: "a", Type: "group", Title: "a", LastActivity: la}, Members: -1, Refreshed: t0}},
		render: &rendering{count: new(atomic.Int64), d: newDescs()}}
	checkRendering(t, snap, nil)
	var b bytes.Buffer
	if err := snap.WriteText(&b, nil, false); err != nil {
		t.Fatal(err)
	}
	if want := `webex_room_last_activity_age_seconds{room_id="a"} 24836.011` + "\n"; !strings.Contains(b.String(), want) {
		t.Errorf("want %s in:\n%s", want, grepLines(b.String(), "_age_seconds{"))
	}
}
