package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/webex-exporter/webex_exporter/webex"
	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// restart builds a second tracker on the same fake and client, as a
// restarted exporter, with cfg (the state file path set) and loads the file.
func (e *env) restart(t testing.TB, cfg Config) *env {
	t.Helper()
	if cfg.Windows == nil {
		cfg.Windows = e.windows
	}
	cfg.Now = e.clock.Now
	e2 := &env{srv: e.srv, client: e.client, tracker: NewTracker(e.client, cfg), clock: e.clock, windows: cfg.Windows}
	e2.tracker.LoadState()
	return e2
}

func statePath(t testing.TB) string { return filepath.Join(t.TempDir(), "state.json") }

// TestStateRoundTrip: a tracker restored from the state file shows what the
// one that wrote it showed, and its first refresh makes no message call
// when nothing moved.
func TestStateRoundTrip(t *testing.T) {
	path := statePath(t)
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 41, Rooms: 200, Now: t0, KMSFailures: 2})
	e := newEnv(t, org, Config{StateFile: path})
	seen := coldSeen(e.srv, t0.Add(-24*time.Hour))
	e.scrape(t, 10*time.Second)
	now := e.clock.Add(5 * time.Minute)
	for i, r := range e.srv.Rooms()[:5] {
		seen[r.ID] = append(seen[r.ID], e.srv.PostMessage(r.ID, org.People[i].ID, now.Add(-time.Minute)))
	}
	before := e.scrape(t, 10*time.Second)
	if err := e.tracker.SaveState(); err != nil {
		t.Fatal(err)
	}

	e.srv.ResetRequests()
	e2 := e.restart(t, Config{StateFile: path})
	after := e2.scrape(t, 10*time.Second)
	assertCalls(t, e.srv, 1, 0, 1)
	for k := range before {
		if strings.HasPrefix(k, "webex_scrape_collector_duration_seconds") {
			delete(before, k)
		}
	}
	compare(t, after, before)
	compare(t, after, expected(now, e.windows, truth(e.srv, seen, nil)))
}

// TestStateWiderWindows: windows widened across a restart re-read what the
// saved messages do not reach; those rooms show no message values until
// then, and what the re-read finds is backlog, not counted.
func TestStateWiderWindows(t *testing.T) {
	path := statePath(t)
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 42, Rooms: 50, Now: t0, History: 72 * time.Hour, ActiveFraction: 0.6})
	e := newEnv(t, org, Config{StateFile: path})
	e.scrape(t, 10*time.Second)
	now := e.clock.Add(5 * time.Minute)
	room := e.srv.Rooms()[0]
	e.srv.PostMessage(room.ID, org.People[0].ID, now.Add(-time.Minute))
	e.scrape(t, 10*time.Second)
	if err := e.tracker.SaveState(); err != nil {
		t.Fatal(err)
	}

	wider, _ := ParseWindows("1h,48h")
	e.srv.ResetRequests()
	e2 := e.restart(t, Config{StateFile: path, Windows: wider})
	got := e2.scrape(t, 30*time.Second)
	seen := coldSeen(e.srv, now.Add(-48*time.Hour))
	for i, m := range seen[room.ID] {
		if m.Created.After(t0) {
			seen[room.ID][i].Text = "" // arrived while watched: counted
		}
	}
	compare(t, got, expected(now, wider, truth(e.srv, seen, nil)))
	active := 0
	for _, r := range e.srv.Rooms() {
		if r.LastActivity.After(now.Add(-48 * time.Hour)) {
			active++
		}
	}
	assertCalls(t, e.srv, 1, active, 1)
}

// TestStateFiltersChanged: rooms the filters no longer keep leave at load.
func TestStateFiltersChanged(t *testing.T) {
	path := statePath(t)
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 43, Rooms: 30, Now: t0})
	e := newEnv(t, org, Config{StateFile: path})
	e.scrape(t, 10*time.Second)
	if err := e.tracker.SaveState(); err != nil {
		t.Fatal(err)
	}
	keep := e.srv.Rooms()[3].ID
	f, _ := NewFilter(nil, nil, []string{keep}, "", "")
	e2 := e.restart(t, Config{StateFile: path, Filter: f})
	if err := e2.tracker.LearnAccount(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, _, _, _ := e2.tracker.stateSize(); n != 1 {
		t.Errorf("%d rooms restored; want only the one the filter keeps", n)
	}
}

// TestStateWriteFailure: a failed write is counted and logged, the old
// file stays, and the next write succeeds.
func TestStateWriteFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 44, Rooms: 10, Now: t0})
	e := newEnv(t, org, Config{StateFile: path, StateInterval: time.Hour})
	e.scrape(t, 10*time.Second)
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no state written after the first refresh: %v", err)
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o700) //nolint:errcheck // cleanup
	if os.Geteuid() == 0 {
		// root writes anyway: make the temporary file's name a directory instead.
		os.Chmod(dir, 0o700) //nolint:errcheck
		if err := os.WriteFile(path, old, 0o400); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
			t.Fatal(err)
		}
		e.tracker.statePath = filepath.Join(dir, "sub", "missing", "state.json")
	}
	if err := e.tracker.SaveState(); err == nil {
		t.Fatal("SaveState succeeded where it cannot write")
	}
	vals := collectValues(t, NewStateMetrics(e.tracker))
	if vals[key("webex_state_write_failures_total")] != 1 {
		t.Errorf("write failures = %v; want 1", vals[key("webex_state_write_failures_total")])
	}
	if vals[key("webex_state_last_write_timestamp_seconds")] != unixSec(t0) {
		t.Errorf("last write = %v; want the first write at %v", vals[key("webex_state_last_write_timestamp_seconds")], unixSec(t0))
	}
	if b, _ := os.ReadFile(path); string(b) != string(old) {
		t.Errorf("the old state file changed after a failed write")
	}
}

// collectValues gathers a collector's samples (keys as key() builds them).
func collectValues(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return samples(mfs)
}

// savedSample is a small valid state file, for the fuzzer's seeds.
func savedSample(t testing.TB) []byte {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 45, Rooms: 4, Now: t0, ActiveFraction: 1, MaxMessagesPerRoom: 3})
	e := newEnv(t, org, Config{})
	e.scrape(t, 10*time.Second)
	e.tracker.mu.Lock()
	defer e.tracker.mu.Unlock()
	b, err := json.Marshal(e.tracker.saveLocked(t0))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEncodeStateIsMarshal: the streaming writer writes what json.Marshal
// writes, and the streaming reader reads it back whole.
func TestEncodeStateIsMarshal(t *testing.T) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 46, Rooms: 30, Now: t0, ActiveFraction: 1, KMSFailures: 1})
	e := newEnv(t, org, Config{})
	e.scrape(t, 10*time.Second)
	e.tracker.mu.Lock()
	s := e.tracker.saveLocked(t0)
	e.tracker.mu.Unlock()
	s.Rooms[0].Gaps = []savedGap{{BeforeID: "m", Until: t0, Backlog: true, Failures: 2}, {Before: t0}}
	for _, st := range []*savedState{s, {Version: 1, Account: "a", WidestMS: 1}} {
		var buf bytes.Buffer
		if err := encodeState(&buf, st); err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), want) && len(st.Rooms) > 0 {
			t.Errorf("encodeState differs from json.Marshal:\n%.300s\n%.300s", buf.Bytes(), want)
		}
		back, err := decodeState(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if normalise(back) != normalise(st) {
			t.Errorf("decodeState(encodeState(s)) differs from s")
		}
	}
}

// normalise makes nil and empty slices compare equal after a round trip.
func normalise(s *savedState) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// FuzzDecodeState: whatever the file holds, decoding and restoring it never
// panics, and what decodes restores rooms whose histories are in order.
func FuzzDecodeState(f *testing.F) {
	valid := savedSample(f)
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add([]byte(`{"version":1,"account":"a","widest_ms":1,"senders":["p"],"rooms":[{"id":"r","at":[5,-1],"ids":[1,2],"senders":[0,0]}]}`))
	f.Add([]byte(`{"version":1,"account":"a","widest_ms":1,"rooms":[{"id":"r"},{"id":"r"}]}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`null`))
	windows, _ := ParseWindows("1h,24h")
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeState(bytes.NewReader(b))
		if err != nil {
			return
		}
		tr := NewTracker(nil, Config{Windows: windows, Now: func() time.Time { return t0 }})
		tr.mu.Lock()
		defer tr.mu.Unlock()
		tr.restoreLocked(s)
		for id, st := range tr.rooms {
			for i := 1; i < len(st.history); i++ {
				if st.history[i].at < st.history[i-1].at {
					t.Fatalf("room %s: history out of order after restore", id)
				}
			}
		}
	})
}

// BenchmarkStateFile measures writing and loading the state of 10,000 rooms
// with 200,000 messages in the windows (20 each, 5,000 senders), and
// reports the file's size:
//
//	go test -run '^$' -bench StateFile -benchtime 5x ./collector/
func BenchmarkStateFile(b *testing.B) {
	windows, _ := ParseWindows("1h,24h")
	path := filepath.Join(b.TempDir(), "state.json")
	tr := NewTracker(nil, Config{Windows: windows, Now: func() time.Time { return t0 }, StateFile: path})
	rnd := rand.New(rand.NewPCG(1, 2))
	tr.owner = webextest.MakeID("PEOPLE", 1)
	for i := range 10000 {
		id := webextest.MakeID("ROOM", uint64(i))
		st := &roomState{room: webex.Room{ID: id, Title: fmt.Sprintf("Room %d", i), Type: "group",
			LastActivity: t0.Add(-time.Minute), Created: t0.Add(-time.Hour * 24 * 30)},
			watched: true, read: true, readActivity: t0.Add(-time.Minute), total: uint64(rnd.IntN(1000)),
			refreshed: t0, newest: t0.Add(-time.Minute), newestIDs: []string{webextest.MakeID("MESSAGE", uint64(i))}}
		for j := range 20 {
			at := t0.Add(-24*time.Hour + time.Duration(j+1)*time.Hour).UnixMilli()
			st.history = append(st.history, msg{at: at, id: rnd.Uint32(), sender: tr.intern(webextest.MakeID("PEOPLE", uint64(rnd.IntN(5000))))})
		}
		tr.rooms[id] = st
	}
	b.Run("write", func(b *testing.B) {
		for b.Loop() {
			if err := tr.SaveState(); err != nil {
				b.Fatal(err)
			}
		}
		fi, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(fi.Size())/(1<<20), "file-MiB")
	})
	b.Run("load", func(b *testing.B) {
		for b.Loop() {
			t2 := NewTracker(nil, Config{Windows: windows, Now: func() time.Time { return t0 }, StateFile: path})
			t2.LoadState()
			t2.mu.Lock()
			t2.adoptLocked(tr.owner)
			n := len(t2.rooms)
			t2.mu.Unlock()
			if n != 10000 {
				b.Fatalf("%d rooms loaded", n)
			}
		}
	})
}
