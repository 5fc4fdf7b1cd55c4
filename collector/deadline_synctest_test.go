package collector

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/webex-exporter/webex_exporter/webex"
)

// The deadline rules on synctest's clock, with an in-memory Source: every
// duration below is exact, whatever the machine's load (time in the bubble
// moves only when every goroutine in it is blocked).

// latentSource is a memSource whose message reads each take latency, or
// until ctx ends, and whose listing can be held until released.
type latentSource struct {
	*memSource
	latency time.Duration

	mu   sync.Mutex
	hold chan struct{} // non-nil: the listing waits for it to close
}

func (s *latentSource) Rooms(ctx context.Context, q webex.RoomsQuery) ([]webex.Room, error) {
	s.mu.Lock()
	hold := s.hold
	s.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return s.memSource.Rooms(ctx, q)
}

// holdRooms makes the next listings wait; the func it returns releases them.
func (s *latentSource) holdRooms() (release func()) {
	hold := make(chan struct{})
	s.mu.Lock()
	s.hold = hold
	s.mu.Unlock()
	return sync.OnceFunc(func() {
		s.mu.Lock()
		s.hold = nil
		s.mu.Unlock()
		close(hold)
	})
}

func (s *latentSource) Messages(ctx context.Context, q webex.MessagesQuery) ([]webex.Message, error) {
	select {
	case <-time.After(s.latency):
		return s.memSource.Messages(ctx, q)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// activeSource is n rooms, each with a few messages in the last day as of t0.
func activeSource(n int) *memSource {
	src := newMemSource()
	for i := range n {
		id := fmt.Sprintf("room%03d", i)
		src.rooms = append(src.rooms, webex.Room{ID: id, Type: "group", Title: id, Created: t0.Add(-72 * time.Hour)})
		for j := range 1 + i%4 {
			src.post(id, fmt.Sprintf("%s-m%d", id, j), fmt.Sprintf("p%d", (i+j)%7), t0.Add(-time.Duration(10+i*7+j*50)*time.Minute))
		}
	}
	return src
}

// snapshotOn runs tr.Snapshot with the given deadline and says how long
// it took (on the bubble's clock).
func snapshotOn(tr *Tracker, timeout time.Duration) (*Snapshot, time.Duration) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	s := tr.Snapshot(ctx)
	return s, time.Since(start)
}

// sameRooms reports how got's rooms differ from want's (nil: they do not).
func sameRooms(got, want *Snapshot) error {
	if len(got.Rooms) != len(want.Rooms) {
		return fmt.Errorf("%d rooms, want %d", len(got.Rooms), len(want.Rooms))
	}
	for i := range want.Rooms {
		g, w := got.Rooms[i], want.Rooms[i]
		if g.Room.ID != w.Room.ID || g.Read != w.Read || g.Total != w.Total || !g.LastMessage.Equal(w.LastMessage) || !slices.Equal(g.Counts, w.Counts) {
			return fmt.Errorf("room %s: read=%v total=%d last=%v counts=%v; want room %s read=%v total=%d last=%v counts=%v",
				g.Room.ID, g.Read, g.Total, g.LastMessage, g.Counts, w.Room.ID, w.Read, w.Total, w.LastMessage, w.Counts)
		}
	}
	return nil
}

// TestDeadlineKeptAndConvergesOnFakeTime: with message reads of 70 ms and
// two at a time, 80 rooms to read do not fit a 600 ms scrape: each scrape
// is answered within its deadline (exactly: on the bubble's clock), the
// rooms it could not read stay pending, fewer each scrape, and the scrapes
// converge to exactly what one unhurried refresh shows.
func TestDeadlineKeptAndConvergesOnFakeTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ws, _ := ParseWindows("1h,24h")
		clk := &clock{now: t0}
		src := &latentSource{memSource: activeSource(80), latency: 70 * time.Millisecond}
		tr := NewTracker(src, Config{Windows: ws, Now: clk.Now, Concurrency: 2})
		ref := NewTracker(activeSource(80), Config{Windows: ws, Now: clk.Now})
		want, _ := snapshotOn(ref, time.Minute)
		if !want.Up || want.Pending != 0 || len(want.Rooms) != 80 {
			t.Fatalf("reference refresh: up=%v pending=%d rooms=%d; want up, 0, 80", want.Up, want.Pending, len(want.Rooms))
		}

		const deadline = 600 * time.Millisecond
		pendingBefore := len(want.Rooms)
		for i := 0; ; i++ {
			if i == 10 {
				t.Fatal("not converged after 10 scrapes")
			}
			s, took := snapshotOn(tr, deadline)
			if took > deadline {
				t.Errorf("scrape %d took %v, past its %v deadline", i, took, deadline)
			}
			if !s.Up {
				t.Errorf("scrape %d: not up; the listing was answered at once", i)
			}
			if i == 0 && s.Pending == 0 {
				t.Fatal("the first scrape read every room: the test needs a deadline that cuts it short")
			}
			if s.Pending >= pendingBefore {
				t.Fatalf("scrape %d: %d rooms pending, not fewer than the %d before", i, s.Pending, pendingBefore)
			}
			if s.Pending == 0 {
				if err := sameRooms(s, want); err != nil {
					t.Errorf("converged after %d scrapes, but %v", i+1, err)
				}
				t.Logf("converged in %d scrapes", i+1)
				return
			}
			// While others are pending, a room read shows exactly its values.
			for _, r := range s.Rooms {
				if w := snapRoom(want, r.Room.ID); r.Read && (r.Total != w.Total || !slices.Equal(r.Counts, w.Counts)) {
					t.Errorf("scrape %d: room %s shows counts %v total %d, want %v %d", i, r.Room.ID, r.Counts, r.Total, w.Counts, w.Total)
				}
			}
			pendingBefore = s.Pending
		}
	})
}

// TestLongScrapeDoesNotDelayNormalOneOnFakeTime: a scrape with an hour's
// deadline starts a refresh whose listing hangs; a normal scrape of 300 ms
// is answered at exactly its deadline with the last snapshot, webex_up 0
// and every collector failed, its rooms kept; the long one still gets the
// refresh's result, up, when the listing comes.
func TestLongScrapeDoesNotDelayNormalOneOnFakeTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ws, _ := ParseWindows("1h,24h")
		clk := &clock{now: t0}
		src := &latentSource{memSource: activeSource(60), latency: 10 * time.Millisecond}
		tr := NewTracker(src, Config{Windows: ws, Now: clk.Now})
		if s, _ := snapshotOn(tr, 30*time.Second); !s.Up || len(s.Rooms) != 60 {
			t.Fatalf("first scrape: up=%v, %d rooms; want up, 60", s.Up, len(s.Rooms))
		}
		clk.Add(time.Minute)
		release := src.holdRooms()
		defer release()

		long := make(chan *Snapshot, 1)
		go func() { s, _ := snapshotOn(tr, time.Hour); long <- s }()
		synctest.Wait() // the long scrape's refresh waits on the listing

		const deadline = 300 * time.Millisecond
		s, took := snapshotOn(tr, deadline)
		if took != deadline {
			t.Errorf("the normal scrape took %v, want its %v deadline", took, deadline)
		}
		if s.Up || len(s.Phases) == 0 {
			t.Errorf("normal scrape answered without the refresh: up=%v, %d phases; want not up", s.Up, len(s.Phases))
		}
		for _, p := range s.Phases {
			if p.Success || p.Duration != deadline {
				t.Errorf("normal scrape: collector %s success=%v after %v; want failed after %v", p.Name, p.Success, p.Duration, deadline)
			}
		}
		if len(s.Rooms) != 60 {
			t.Errorf("normal scrape lost the last known rooms: %d, want 60", len(s.Rooms))
		}
		select {
		case <-long:
			t.Fatal("the long scrape was answered while its listing was held")
		default:
		}

		time.Sleep(time.Minute) // the bubble's clock: the listing hangs a minute (within maxRefresh)
		release()
		l := <-long
		if !l.Up || len(l.Rooms) != 60 {
			t.Errorf("long scrape: up=%v, %d rooms; want up, 60", l.Up, len(l.Rooms))
		}
	})
}

// TestClientLeavingDoesNotSpoilLongOneOnFakeTime: a scrape whose client
// hangs up (its context cancelled, no deadline) starts the refresh and a
// long scrape joins it; the one that left is answered at once, not up, and
// the refresh goes on: the long one gets it, up, when the listing comes.
func TestClientLeavingDoesNotSpoilLongOneOnFakeTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ws, _ := ParseWindows("1h,24h")
		clk := &clock{now: t0}
		src := &latentSource{memSource: activeSource(20), latency: 10 * time.Millisecond}
		tr := NewTracker(src, Config{Windows: ws, Now: clk.Now})
		release := src.holdRooms()
		defer release()

		leaving, leave := context.WithCancel(context.Background())
		defer leave()
		left := make(chan *Snapshot, 1)
		go func() { left <- tr.Snapshot(leaving) }()
		synctest.Wait() // the refresh waits on the listing
		long := make(chan *Snapshot, 1)
		go func() { s, _ := snapshotOn(tr, time.Minute); long <- s }()
		synctest.Wait()

		start := time.Now()
		leave()
		if s := <-left; s.Up || time.Since(start) != 0 {
			t.Errorf("the scrape whose client left: up=%v after %v; want not up, at once", s.Up, time.Since(start))
		}
		time.Sleep(30 * time.Second) // the bubble's clock: the listing hangs 30 s
		release()
		if l := <-long; !l.Up || len(l.Rooms) != 20 || l.Pending != 0 {
			t.Errorf("long scrape: up=%v, %d rooms, %d pending; want up, 20, 0", l.Up, len(l.Rooms), l.Pending)
		}
	})
}
