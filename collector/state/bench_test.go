package state

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

// BenchmarkWarmRefresh measures the state's part of a warm refresh at
// 10,000 rooms (half of them with 40 messages in the windows), no API
// call: the listing merged, the plan (1% of the rooms moved), their reads
// reported, the senders checked and the snapshot taken. Run it with
//
//	go test -run '^$' -bench WarmRefresh -benchmem ./collector/state/
func BenchmarkWarmRefresh(b *testing.B) {
	const n = 10000
	s := newTestState(Config{})
	rooms := make([]Room, n)
	for i := range rooms {
		rooms[i] = room(fmt.Sprintf("room-%05d", i), t0.Add(-48*time.Hour))
	}
	s.Listed(rooms, t0)
	readAll(b, s, t0, nil)
	for i := range n / 2 {
		id := rooms[i*2].ID
		var msgs []Message
		for j := range 40 {
			msgs = append(msgs, message(id, j, t0.Add(-time.Duration(40-j)*30*time.Minute)))
		}
		rooms[i*2].LastActivity = msgs[39].Created
		s.Messages(id, msgs, t0)
	}
	s.Listed(rooms, t0)
	readAll(b, s, t0, nil)
	now := t0
	cpu := cpuTime()
	for i := 0; b.Loop(); i++ {
		now = now.Add(time.Minute)
		moved := map[string][]Message{}
		for j := range rooms {
			if j%100 == i%100 {
				m := message(rooms[j].ID, 1000+i, now.Add(-time.Second))
				rooms[j].LastActivity = m.Created
				moved[m.RoomID] = []Message{m}
			}
		}
		s.Listed(rooms, now)
		reads, _ := s.Plan(now, false)
		if len(reads) != len(moved) {
			b.Fatalf("%d reads, want %d", len(reads), len(moved))
		}
		for _, r := range reads {
			s.TopRead(r, moved[r.RoomID], Done, now)
			s.Refreshed(r.RoomID, now)
		}
		s.PruneSenders()
		if snap := s.Snapshot(now); len(snap.Rooms) != n {
			b.Fatalf("%d rooms in the snapshot", len(snap.Rooms))
		}
	}
	b.ReportMetric((cpuTime()-cpu)*1e9/float64(b.N)/n, "cpu-ns/room")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/room")
}

// cpuTime is the process's CPU time so far, in seconds: with the machine
// shared, steadier than the wall clock.
func cpuTime() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// BenchmarkListed measures merging a warm listing of every room into a
// state that has them all (half of them with 40 messages in the windows,
// none leaving them): what each refresh pays before any read. Each
// listing brings its own copies of the ids and titles, as a decoded page
// does. Run it with
//
//	go test -run '^$' -bench Listed -benchmem ./collector/state/
func BenchmarkListed(b *testing.B) {
	for _, n := range []int{10000, 50000} {
		b.Run(fmt.Sprintf("rooms=%d", n), func(b *testing.B) {
			s := newTestState(Config{})
			listing := func() []Room {
				rooms := make([]Room, n)
				for i := range rooms {
					// The length of a Webex room id (76 bytes).
					id := fmt.Sprintf("Y2lzY29zcGFyazovL3VzL1JPT00vOGU1YzQ2YjAtYjU0Zi0xMWVmLWE5ZDUtM2Q3%012d", i)
					rooms[i] = room(id, t0.Add(-48*time.Hour))
					if i%2 == 0 {
						rooms[i].LastActivity = t0.Add(-30 * time.Minute)
					}
				}
				return rooms
			}
			first := listing()
			s.Listed(first, t0)
			readAll(b, s, t0, nil)
			for i := 0; i < n; i += 2 {
				id := first[i].ID
				msgs := make([]Message, 40)
				for j := range msgs {
					msgs[j] = message(id, j, t0.Add(-time.Duration(40-j)*30*time.Minute))
				}
				s.Messages(id, msgs, t0)
			}
			listings := [2][]Room{listing(), listing()}
			cpu := cpuTime()
			for i := 0; b.Loop(); i++ {
				s.Listed(listings[i%2], t0)
			}
			used := cpuTime() - cpu
			if rooms, absent, messages, _ := s.Size(); rooms != n || absent != 0 || messages != n/2*40 {
				b.Fatalf("%d rooms (%d absent), %d messages; want %d, 0, %d", rooms, absent, messages, n, n/2*40)
			}
			b.ReportMetric(used*1e9/float64(b.N)/float64(n), "cpu-ns/room")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/room")
		})
	}
}
