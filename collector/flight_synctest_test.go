package collector

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/webex-exporter/webex_exporter/webex"
)

// slowSource is a memSource whose listing takes delay, or until ctx ends.
type slowSource struct {
	*memSource
	delay time.Duration
}

func (s slowSource) Rooms(ctx context.Context, q webex.RoomsQuery) ([]webex.Room, error) {
	select {
	case <-time.After(s.delay):
		return s.memSource.Rooms(ctx, q)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// TestFlightOnFakeTime runs the flight rules on synctest's clock, with no
// HTTP and no wall time: a short scrape starts a 3 s refresh, a long one
// joins it and extends its deadline; the short one is answered at its own
// deadline with the last snapshot marked stale, the refresh is not cut
// there, and the long one gets it, up, when it ends; a scrape within the
// minimum interval after it gets the same snapshot with no call.
func TestFlightOnFakeTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := slowSource{memSource: newMemSource(), delay: 3 * time.Second}
		src.rooms = []webex.Room{{ID: "r", Type: "group", Title: "R", LastActivity: time.Now().Add(-48 * time.Hour)}}
		ws, _ := ParseWindows("1h,24h")
		tr := NewTracker(src, Config{Windows: ws, Now: time.Now, MinInterval: 10 * time.Second})
		start := time.Now()
		scrape := func(timeout time.Duration) <-chan *Snapshot {
			ch := make(chan *Snapshot, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				defer cancel()
				ch <- tr.Snapshot(ctx)
			}()
			return ch
		}
		short := scrape(time.Second)
		synctest.Wait() // the refresh is under way, the listing waiting
		long := scrape(10 * time.Second)
		synctest.Wait()

		s := <-short
		if took := time.Since(start); took != time.Second || s.Up {
			t.Errorf("short scrape answered after %v, up=%v; want at its 1 s deadline, not up", took, s.Up)
		}
		l := <-long
		if took := time.Since(start); took != 3*time.Second || !l.Up || len(l.Rooms) != 1 {
			t.Errorf("long scrape answered after %v, up=%v, %d rooms; want after the 3 s refresh, up, 1 room", took, l.Up, len(l.Rooms))
		}
		again := <-scrape(time.Second)
		if again != l || time.Since(start) != 3*time.Second {
			t.Errorf("a scrape within the minimum interval got another snapshot, or waited")
		}
	})
}
