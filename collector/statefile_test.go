package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/webex-exporter/webex_exporter/collector/state"
	"github.com/webex-exporter/webex_exporter/collector/statefile"
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
	if n, _, _, _ := e2.tracker.state.Size(); n != 1 {
		t.Errorf("%d rooms restored; want only the one the filter keeps", n)
	}
}

// TestStateWriteFailure: a failed write is counted and logged, the old
// file stays, and the next write succeeds.
func TestStateWriteFailure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "state.json")
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 44, Rooms: 10, Now: t0})
	e := newEnv(t, org, Config{StateFile: path, StateInterval: time.Hour})
	e.scrape(t, 10*time.Second)
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no state written after the first refresh: %v", err)
	}
	// The directory goes away (an unmounted volume): even root cannot write.
	moved := dir + ".moved"
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Minute)
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
	if err := os.Rename(moved, dir); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != string(old) {
		t.Errorf("the old state file changed after a failed write")
	}
	now := e.clock.Add(time.Minute)
	if err := e.tracker.SaveState(); err != nil {
		t.Fatalf("the write after the failure: %v", err)
	}
	vals = collectValues(t, NewStateMetrics(e.tracker))
	if vals[key("webex_state_last_write_timestamp_seconds")] != unixSec(now) || vals[key("webex_state_write_failures_total")] != 1 {
		t.Errorf("after the next write: %v", vals)
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
	path := filepath.Join(t.TempDir(), "state.json")
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 45, Rooms: 4, Now: t0, ActiveFraction: 1, MaxMessagesPerRoom: 3})
	e := newEnv(t, org, Config{StateFile: path})
	e.scrape(t, 10*time.Second)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestStateFileRoundTrip: a file loaded and written again is the same
// file, byte for byte (rooms in id order, senders numbered as they come),
// with every field set somewhere: gaps, events cursor, webhook, members.
func TestStateFileRoundTrip(t *testing.T) {
	path := statePath(t)
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 46, Rooms: 30, Now: t0, ActiveFraction: 1, KMSFailures: 1})
	e := newEnv(t, org, Config{StateFile: path, Memberships: true, Scope: ScopeMember})
	e.scrape(t, 10*time.Second)
	once := true
	editRooms(e.tracker, e.clock.Now(), func(r *state.RoomRecord) {
		if once {
			r.Gaps, once = []state.GapRecord{{BeforeID: "m", Until: t0, Backlog: true, Failures: 2}, {Before: t0}}, false
		}
	})
	e.tracker.webhook.set(webhookState{id: "hook", secret: "generated-secret-0123456789abcdef", targetURL: "https://example.com/hook"})
	if err := e.tracker.SaveState(); err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"gaps":[{"before_id":"m"`, `"members":`, `"webhook":{"id":"hook"`, `"senders":["`} {
		if !strings.Contains(string(first), want) {
			t.Errorf("the file has no %s", want)
		}
	}
	e2 := e.restart(t, Config{StateFile: path, Memberships: true})
	e2.tracker.mu.Lock()
	e2.tracker.adoptLocked(org.Me.ID)
	e2.tracker.mu.Unlock()
	if err := e2.tracker.SaveState(); err != nil {
		t.Fatal(err)
	}
	second, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Errorf("the file changed through a load and a write:\n%.600s\n%.600s", first, second)
	}
	if err := json.Unmarshal(first, new(map[string]any)); err != nil {
		t.Errorf("not JSON: %v", err)
	}
}

// FuzzDecodeState: whatever the file holds, decoding and restoring it never
// panics, and what decodes restores rooms whose histories are in order.
func FuzzDecodeState(f *testing.F) {
	valid := savedSample(f)
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add([]byte(`{"version":1,"account":"a","widest_ms":1,"senders":["p"],"rooms":[{"id":"r","at":[5,-1],"ids":[1,2],"senders":[0,0]}]}`))
	f.Add([]byte(`{"version":1,"account":"a","widest_ms":1,"rooms":[{"id":"r","at":[5],"ids":[1],"senders":[0]}],"senders":["p"],"later":{"x":[1]}}`))
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
		tr.restoreLocked(s)
		tr.mu.Unlock()
		_, ids := tr.state.Rooms()
		for _, id := range ids {
			r, _ := roomRecord(tr, id)
			for i := 1; i < len(r.At); i++ { // steps from the message before
				if r.At[i] < 0 {
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
	tr := benchState(path, 10000, 20)
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
			t2.adoptLocked(tr.state.OwnerID())
			t2.mu.Unlock()
			n, _, _, _ := t2.state.Size()
			if n != 10000 {
				b.Fatalf("%d rooms loaded", n)
			}
		}
	})
}

// BenchmarkStateWriteRSS measures what the first write of a large state
// (10,000 rooms, 2 million messages in the windows) adds to the process's
// peak RSS: rss-MiB is the resident set before the write, peak-MiB the
// peak during it (VmHWM, reset before the write). Linux only:
//
//	go test -run '^$' -bench StateWriteRSS -benchtime 1x ./collector/
func BenchmarkStateWriteRSS(b *testing.B) {
	path := filepath.Join(b.TempDir(), "state.json")
	tr := benchState(path, 10000, 200)
	runtime.GC()
	debug.FreeOSMemory()
	rss := procStatus(b, "VmRSS")
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Fatalf("resetting the peak RSS: %v", err)
	}
	for b.Loop() {
		if err := tr.SaveState(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(rss, "rss-MiB")
	b.ReportMetric(procStatus(b, "VmHWM"), "peak-MiB")
}

// procStatus reads one of /proc/self/status's sizes, in MiB.
func procStatus(b *testing.B, field string) float64 {
	st, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(v), "%f kB", &kb)
			return kb / 1024
		}
	}
	b.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// benchState builds a tracker holding rooms rooms with perRoom messages
// each in the windows (the last 24 hours), from 5,000 senders.
func benchState(path string, rooms, perRoom int) *Tracker {
	windows, _ := ParseWindows("1h,24h")
	tr := NewTracker(nil, Config{Windows: windows, Now: func() time.Time { return t0 }, StateFile: path})
	rnd := rand.New(rand.NewPCG(1, 2))
	tr.state.Owner(webextest.MakeID("PEOPLE", 1))
	step := 24 * time.Hour / time.Duration(perRoom+1)
	saved := state.Saved{Written: t0, Widest: 24 * time.Hour}
	for i := range 5000 {
		saved.Senders = append(saved.Senders, webextest.MakeID("PEOPLE", uint64(i)))
	}
	for i := range rooms {
		id := webextest.MakeID("ROOM", uint64(i))
		r := state.RoomRecord{ID: id, Title: fmt.Sprintf("Room %d", i), Type: "group",
			LastActivity: t0.Add(-time.Minute), Created: t0.Add(-time.Hour * 24 * 30),
			Watched: true, ReadActivity: t0.Add(-time.Minute), Total: uint64(rnd.IntN(1000)),
			Refreshed: t0, Newest: t0.Add(-time.Minute), NewestIDs: []string{webextest.MakeID("MESSAGE", uint64(i))},
			At: make([]int64, perRoom), IDs: make([]uint32, perRoom), Senders: make([]int, perRoom)}
		prev := int64(0)
		for j := range perRoom {
			at := t0.Add(-24*time.Hour + time.Duration(j+1)*step).UnixMilli()
			r.At[j], r.IDs[j], r.Senders[j] = at-prev, rnd.Uint32(), rnd.IntN(5000)
			prev = at
		}
		saved.Rooms = append(saved.Rooms, r)
	}
	tr.state.Import(saved, t0)
	return tr
}

// countingWriter counts what goes through it (BenchmarkWarmScrape's
// exposition size).
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// TestStateKeepsNoFileSecret: a webhook secret given with
// --webhook.secret-file is not copied into the state file; restarted with
// the same secret file, the exporter keeps its webhook and knows the secret.
func TestStateKeepsNoFileSecret(t *testing.T) {
	const secret = "secret-from-its-own-file-0123456789abcdef"
	path := statePath(t)
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 53, Rooms: 10, Now: t0, ActiveFraction: 1})
	e := newEnv(t, org, Config{StateFile: path})
	p := attachPush(t, e, org)
	p.push.fileSecret = secret
	p.scrape(t, 10*time.Second)
	hooks := p.srv.Webhooks()
	if len(hooks) != 1 || hooks[0].Secret != secret {
		t.Fatalf("webhooks %d; want one with the file's secret", len(hooks))
	}
	if err := e.tracker.SaveState(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(secret)) {
		t.Error("the state file holds the secret of --webhook.secret-file")
	}
	if !bytes.Contains(b, []byte(hooks[0].ID)) {
		t.Error("the state file does not hold the webhook's id")
	}

	e2 := e.restart(t, Config{StateFile: path})
	p2 := attachPush(t, e2, org)
	p2.push.fileSecret = secret
	p2.push.url = hooks[0].TargetURL
	p.srv.ResetRequests()
	e2.clock.Add(time.Minute)
	p2.scrape(t, 10*time.Second)
	if c := p.srv.Requests(); c["webhooks"] != 1 {
		t.Errorf("webhook calls after the restart: %v; want 1 (the status check, no update)", c)
	}
	if after := p.srv.Webhooks(); len(after) != 1 || after[0].ID != hooks[0].ID || after[0].Secret != secret {
		t.Errorf("the webhook changed across the restart")
	}
	known := e2.tracker.webhook.get().secret == secret
	if !known {
		t.Error("the restarted exporter does not know the secret")
	}
}

// TestStateNoAccount: before the account is known, a write writes nothing
// and says so (statefile.ErrNoAccount), and it counts as no failure.
func TestStateNoAccount(t *testing.T) {
	path := statePath(t)
	windows, _ := ParseWindows("1h")
	tr := NewTracker(nil, Config{Windows: windows, StateFile: path, Now: func() time.Time { return t0 }})
	tr.LoadState()
	if err := tr.SaveState(); !errors.Is(err, statefile.ErrNoAccount) {
		t.Errorf("SaveState with no account = %v; want statefile.ErrNoAccount", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a file was written: %v", err)
	}
	if v := collectValues(t, NewStateMetrics(tr)); v[key("webex_state_write_failures_total")] != 0 {
		t.Errorf("failures %v; want 0", v)
	}
}

// TestStateWriteHoldsNoSecondCopy: halfway through writing the state of
// 10,000 rooms with 200,000 messages, the live heap holds little more than
// before the write: one room's copy, the room ids and the senders' numbers,
// not a copy of every room's messages (9 MiB here).
func TestStateWriteHoldsNoSecondCopy(t *testing.T) {
	tr := benchState(statePath(t), 10000, 20)
	live := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := live()
	h, body := tr.saveState()
	probe := &probeWriter{at: 4 << 20, probe: live}
	if err := statefile.Encode(probe, h, body); err != nil {
		t.Fatal(err)
	}
	if probe.n < 2*probe.at || probe.got == 0 {
		t.Fatalf("wrote %d bytes; the probe at %d did not run in the middle", probe.n, probe.at)
	}
	t.Logf("grew %.2f MiB", float64(int64(probe.got)-int64(before))/(1<<20))
	if grew := int64(probe.got) - int64(before); grew > 2<<20 {
		t.Errorf("the live heap grew by %.1f MiB during the write; want under 2 MiB (no second copy of the state)", float64(grew)/(1<<20))
	}
	runtime.KeepAlive(tr)
}

// probeWriter discards what it is given and calls probe once when at bytes
// have gone through.
type probeWriter struct {
	at, n int
	probe func() uint64
	got   uint64
}

func (p *probeWriter) Write(b []byte) (int, error) {
	p.n += len(b)
	if p.got == 0 && p.n >= p.at {
		p.got = p.probe()
	}
	return len(b), nil
}

// TestStateWriteWhileIngesting: a write takes the lock room by room, so
// messages keep arriving during it (run with -race: the write reads no
// room state outside the lock); what it wrote loads, and the next write
// has every message.
func TestStateWriteWhileIngesting(t *testing.T) {
	path := statePath(t)
	tr := benchState(path, 1000, 5)
	_, ids := tr.state.Rooms()
	done := make(chan error)
	go func() { done <- tr.SaveState() }()
	pushed := 0
	for writing := true; writing; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			writing = false
		default:
			// Newer than the newest: each resets the room's newest ids.
			id := ids[pushed%len(ids)]
			tr.state.Pushed(webex.Message{ID: fmt.Sprintf("pushed-%d", pushed), RoomID: id,
				PersonID: "p", Created: t0.Add(-time.Minute + time.Duration(pushed+1)*time.Microsecond)}, t0)
			pushed++
		}
	}
	if pushed == 0 {
		t.Fatal("no message arrived during the write")
	}
	if err := tr.SaveState(); err != nil {
		t.Fatal(err)
	}
	windows, _ := ParseWindows("1h,24h")
	t2 := NewTracker(nil, Config{Windows: windows, Now: func() time.Time { return t0.Add(time.Hour) }, StateFile: path})
	t2.LoadState()
	t2.mu.Lock()
	t2.adoptLocked(tr.state.OwnerID())
	t2.mu.Unlock()
	_, _, messages, _ := t2.state.Size()
	if want := 1000*5 + pushed; messages != want {
		t.Errorf("%d messages after the reload; want %d (%d pushed during the write)", messages, want, pushed)
	}
}
