package collector

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/webex-exporter/webex_exporter/collector/exposition"
	"github.com/webex-exporter/webex_exporter/webex"
	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// BenchmarkScrape measures what a scrape costs against webextest with 10 ms
// added to every API call, for 1,000 and 10,000 rooms, cold (first scrape)
// and warm (1% of the rooms changed), and the naive strategy of reading
// every room's messages on every scrape. Run it with
//
//	go test -run '^$' -bench Scrape -benchtime 3x ./collector/
//
// calls/op is API calls per scrape, ns/op the scrape's time; heap-MiB is the
// live heap after the scrape (the fake's organisation included) and
// state-MiB the part the tracker holds.
func BenchmarkScrape(b *testing.B) {
	for _, rooms := range []int{1000, 10000} {
		// A busy organisation: half the rooms active, 40 messages each on
		// average within the widest window (10,000 rooms: 200,000 messages).
		org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 1, Rooms: rooms, Now: t0, History: 24 * time.Hour,
			ActiveFraction: 0.5, MaxMessagesPerRoom: 79})
		b.Run(fmt.Sprintf("rooms=%d/cold", rooms), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				e := newBenchEnv(b, org)
				b.StartTimer()
				e.scrapeOnce(b)
				b.StopTimer()
				e.report(b, true)
				b.StartTimer()
			}
		})
		b.Run(fmt.Sprintf("rooms=%d/warm", rooms), func(b *testing.B) {
			e := newBenchEnv(b, org)
			e.scrapeOnce(b)
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				now := e.clock.Add(time.Minute)
				for j, r := range e.srv.Rooms() {
					if j%100 == i%100 {
						e.srv.PostMessage(r.ID, org.People[j%len(org.People)].ID, now.Add(-time.Second))
					}
				}
				e.srv.ResetRequests()
				b.StartTimer()
				e.scrapeOnce(b)
				b.StopTimer()
				e.report(b, false)
				b.StartTimer()
			}
		})
		b.Run(fmt.Sprintf("rooms=%d/naive", rooms), func(b *testing.B) {
			e := newBenchEnv(b, org)
			for b.Loop() {
				e.srv.ResetRequests()
				naiveScrape(b, e.client)
				b.ReportMetric(float64(e.srv.RequestsTotal()), "calls/op")
			}
		})
	}
}

type benchEnv struct {
	*env
	heapBefore uint64
}

func newBenchEnv(b *testing.B, org *webextest.Org) *benchEnv {
	e := newEnv(b, org, Config{}, webextest.WithLatency(10*time.Millisecond))
	return &benchEnv{env: e, heapBefore: liveHeap()}
}

func (e *benchEnv) scrapeOnce(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if s := e.tracker.Snapshot(ctx); !s.Up || s.Pending > 0 {
		b.Fatalf("scrape failed: up=%v pending=%d", s.Up, s.Pending)
	}
}

func (e *benchEnv) report(b *testing.B, state bool) {
	b.ReportMetric(float64(e.srv.RequestsTotal()), "calls/op")
	heap := liveHeap()
	b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
	if state {
		b.ReportMetric((float64(heap)-float64(e.heapBefore))/(1<<20), "state-MiB")
	}
	b.ReportMetric(rssMiB(), "rss-MiB")
}

// cpuTime is the CPU time the process has used (user and system), the
// measure of cost on a machine whose other load makes wall time drift.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter reports the process CPU time of a benchmark's timed part as
// cpu-ns/op: start and stop it with the timer.
type cpuMeter struct {
	used  time.Duration
	since time.Duration
}

func (m *cpuMeter) start() { m.since = cpuTime() }
func (m *cpuMeter) stop()  { m.used += cpuTime() - m.since }
func (m *cpuMeter) report(b *testing.B) {
	b.ReportMetric(float64(m.used.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// rssMiB reads the process' resident set from /proc (0 where there is none).
// cpuSeconds is the process's CPU time so far (user and system), the
// exporter's and the in-process fake's together: a figure that, unlike
// ns/op, other processes on the machine do not inflate.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func rssMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// naiveScrape is the strategy of Webex's getting-started scripts: list the
// rooms, then read every room's latest messages, on every scrape (here with
// the same concurrency as the tracker, to compare like with like).
func naiveScrape(b *testing.B, c *webex.Client) {
	ctx := context.Background()
	rooms, err := c.Rooms(ctx, webex.RoomsQuery{})
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	work := make(chan string)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				if _, err := c.Messages(ctx, webex.MessagesQuery{RoomID: id, Since: t0.Add(-24 * time.Hour), PageSize: 100}); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for _, r := range rooms {
		work <- r.ID
	}
	close(work)
	wg.Wait()
}

// BenchmarkWarmScrape measures a whole warm scrape as the exporter serves
// it (refresh after 1% of the rooms got a message, snapshot, exposition
// written) at 1,000, 10,000 and 50,000 rooms, with no added latency so that
// ns/op is the exporter's CPU time. Run it with
//
//	go test -run '^$' -bench WarmScrape -benchtime 5x -benchmem ./collector/
func BenchmarkWarmScrape(b *testing.B) {
	for _, rooms := range []int{1000, 10000, 50000} {
		b.Run(fmt.Sprintf("rooms=%d", rooms), func(b *testing.B) {
			org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 1, Rooms: rooms, Now: t0, History: 24 * time.Hour,
				ActiveFraction: 0.5, MaxMessagesPerRoom: 79})
			e := &benchEnv{env: newEnv(b, org, Config{})}
			e.scrapeOnce(b)
			out := countingWriter{w: io.Discard}
			cpu, timed := 0.0, cpuSeconds()
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				cpu += cpuSeconds() - timed
				now := e.clock.Add(time.Minute)
				for j, r := range e.srv.Rooms() {
					if j%100 == i%100 {
						e.srv.PostMessage(r.ID, org.People[j%len(org.People)].ID, now.Add(-time.Second))
					}
				}
				timed = cpuSeconds()
				b.StartTimer()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				s := e.tracker.Snapshot(ctx)
				cancel()
				if err := s.WriteText(&out, nil, false); err != nil || !s.Up {
					b.Fatalf("scrape: up=%v err=%v", s.Up, err)
				}
			}
			cpu += cpuSeconds() - timed
			b.ReportMetric(cpu*1e3/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(out.n)/float64(b.N)/(1<<20), "MiB/op")
			b.ReportMetric(rssMiB(), "rss-MiB")
		})
	}
}

// BenchmarkExposition measures the costs of a snapshot's exposition at
// 10,000 rooms: rendering it (once per snapshot, kept compressed) with no
// segment to take from a last rendering (cold) and after a refresh in which
// 1% of the rooms moved and every room was refreshed (warm: the moved
// rooms' segments, the ages and the refresh times compressed again), writing it to a scrape that takes gzip, and to one that does not
// (which decompresses the rendering). Run it with
//
//	go test -run '^$' -bench Exposition -benchmem ./collector/
func BenchmarkExposition(b *testing.B) {
	org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 1, Rooms: 10000, Now: t0, History: 24 * time.Hour,
		ActiveFraction: 0.5, MaxMessagesPerRoom: 79})
	e := &benchEnv{env: newEnv(b, org, Config{})}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s := e.tracker.Snapshot(ctx)
	// The next refresh's snapshot: a minute on, 1% of the rooms moved.
	moved := *s
	moved.Time = s.Time.Add(time.Minute)
	moved.Rooms = slices.Clone(s.Rooms)
	for i := range moved.Rooms { // every listing refreshes every room it lists
		moved.Rooms[i].Refreshed = moved.Time
	}
	for i := 0; i < len(moved.Rooms); i += 100 {
		r := &moved.Rooms[i]
		r.Room.LastActivity, r.LastMessage, r.Refreshed = moved.Time, moved.Time, moved.Time
		r.Total++
		r.Counts = slices.Clone(r.Counts)
		for w := range r.Counts {
			r.Counts[w].Messages++
		}
	}
	gzSize := func(r *exposition.Rendering) float64 {
		n := 0
		for _, p := range r.Segments() {
			n += len(p)
		}
		return float64(n) / (1 << 20)
	}
	b.Run("render/cold", func(b *testing.B) {
		var cpu cpuMeter
		cpu.start()
		for b.Loop() {
			s.render = &rendering{count: &e.tracker.fl.renders, d: e.tracker.fl.descs}
			s.rooms()
		}
		cpu.stop()
		cpu.report(b)
		b.ReportMetric(gzSize(s.rooms()), "gz-MiB")
	})
	b.Run("render/warm", func(b *testing.B) {
		var cpu cpuMeter
		for b.Loop() {
			b.StopTimer()
			cache := &exposition.Cache{}
			s.render = &rendering{count: &e.tracker.fl.renders, cache: cache, d: e.tracker.fl.descs}
			s.rooms()
			moved.render = &rendering{count: &e.tracker.fl.renders, cache: cache, d: e.tracker.fl.descs}
			b.StartTimer()
			cpu.start()
			moved.rooms()
			cpu.stop()
		}
		cpu.report(b)
		b.ReportMetric(gzSize(moved.rooms()), "gz-MiB")
	})
	for _, gz := range []bool{true, false} {
		b.Run(fmt.Sprintf("write/gzip=%v", gz), func(b *testing.B) {
			s.rooms()
			var cpu cpuMeter
			cpu.start()
			for b.Loop() {
				if err := s.WriteText(io.Discard, nil, gz); err != nil {
					b.Fatal(err)
				}
			}
			cpu.stop()
			cpu.report(b)
		})
	}
}
