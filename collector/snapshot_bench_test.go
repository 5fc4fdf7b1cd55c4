package collector

import (
	"fmt"
	"testing"
	"time"

	"github.com/webex-exporter/webex_exporter/webex/webextest"
)

// BenchmarkSnapshot measures the tracker's part of a warm scrape that no
// API call pays for: taking the snapshot of the state (the rooms in id
// order, each window's messages and distinct senders) at 10,000 and 50,000
// rooms, half of them active with 40 messages each on average. Run it with
//
//	go test -run '^$' -bench Snapshot -benchmem ./collector/
func BenchmarkSnapshot(b *testing.B) {
	for _, rooms := range []int{10000, 50000} {
		b.Run(fmt.Sprintf("rooms=%d", rooms), func(b *testing.B) {
			org := webextest.GenerateOrg(webextest.OrgConfig{Seed: 1, Rooms: rooms, Now: t0, History: 24 * time.Hour,
				ActiveFraction: 0.5, MaxMessagesPerRoom: 79})
			e := &benchEnv{env: newEnv(b, org, Config{})}
			e.scrapeOnce(b)
			t := e.tracker
			cpu := cpuTime()
			for b.Loop() {
				s := t.snapshot(t0.Add(time.Minute), true, nil)
				if len(s.Rooms) != rooms {
					b.Fatalf("%d rooms in the snapshot, want %d", len(s.Rooms), rooms)
				}
			}
			b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N)/float64(rooms), "cpu-ns/room")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(rooms), "ns/room")
		})
	}
}
