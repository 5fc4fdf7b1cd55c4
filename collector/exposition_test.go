package collector

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

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
	counts := []WindowCount{{1, 1, true}, {3, 2, true}, {12345, 17, true}, {40, 9, true}}
	partly := []WindowCount{{1, 1, true}, {3, 2, true}, {12345, 17, false}, {40, 9, false}} // a gap 2 windows overlap
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
	}{{"handmade", handmade}, {"minimal", minimal}, {"generated", generated}} {
		small := []byte("# HELP own_metric Something.\n# TYPE own_metric gauge\nown_metric 1\n")
		// Larger than a DEFLATE stored block (65,535 bytes), as gzip sends it.
		large := append(bytes.Repeat([]byte("# a comment long enough to need several stored blocks\n"), 3000), small...)
		for _, own := range [][]byte{small, large} {
			t.Run(fmt.Sprintf("%s/own=%d", tc.name, len(own)), func(t *testing.T) { checkExposition(t, e, tc.snap, own) })
		}
	}
}

// checkExposition: snap's exposition after own is client_golang's, plain
// and gzip.
func checkExposition(t *testing.T, e *env, snap *Snapshot, own []byte) {
	t.Helper()
	// The room families, the exporter's own metrics, then the status.
	cg := clientGolang(t, snap)
	split := bytes.Index(cg, []byte("# HELP webex_scrape_collector_duration_seconds"))
	want := slices.Concat(cg[:split], own, cg[split:])
	snap.render = &rendering{count: &e.tracker.fl.renders}
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

// TestChunks: what is written in pieces of any size reads back whole, kept
// in full chunks but the last.
func TestChunks(t *testing.T) {
	for _, sizes := range [][]int{{0}, {1}, {chunkSize}, {chunkSize + 1}, {3 * chunkSize}, {100, chunkSize - 100, 1, chunkSize, 7}} {
		t.Run(fmt.Sprint(sizes), func(t *testing.T) {
			var c chunks
			var want []byte
			for i, n := range sizes {
				p := bytes.Repeat([]byte{byte('a' + i)}, n)
				if k, err := c.Write(p); k != n || err != nil {
					t.Fatalf("Write(%d bytes) = %d, %v", n, k, err)
				}
				want = append(want, p...)
			}
			got, _ := io.ReadAll(c.reader())
			if !bytes.Equal(got, want) {
				t.Fatalf("read back %d bytes, want %d", len(got), len(want))
			}
			for i, b := range c {
				if cap(b) != chunkSize || (i < len(c)-1 && len(b) != chunkSize) {
					t.Errorf("chunk %d of %d: len %d cap %d", i, len(c), len(b), cap(b))
				}
			}
		})
	}
}
