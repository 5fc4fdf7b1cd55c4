package collector

import (
	"bytes"
	"context"
	"strings"
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

// TestLastSnapshotLetsGoOfItsRooms: while a refresh is under way, the
// tracker keeps the last snapshot only as far as a scrape that cannot wait
// needs it (its rendering, not its rooms), and that scrape still gets the
// rooms' lines; whoever holds the snapshot itself keeps it whole.
func TestLastSnapshotLetsGoOfItsRooms(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &slowSource{memSource: newMemSource()}
		src.rooms = []webex.Room{{ID: "r", Type: "group", Title: "R", LastActivity: time.Now().Add(-48 * time.Hour)}}
		ws, _ := ParseWindows("1h,24h")
		tr := NewTracker(src, Config{Windows: ws, Now: time.Now, MinInterval: 10 * time.Second})
		first := tr.Snapshot(context.Background())
		var text bytes.Buffer
		if err := first.WriteText(&text, nil, false); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text.String(), `webex_room_info{is_locked="false",room_id="r"`) {
			t.Fatalf("no room in the first answer:\n%s", text.String())
		}

		time.Sleep(11 * time.Second) // past the minimum interval, on synctest's clock
		src.delay = 3 * time.Second
		done := make(chan *Snapshot, 1)
		go func() { done <- tr.Snapshot(context.Background()) }()
		synctest.Wait() // the second refresh is under way, its listing waiting
		tr.mu.Lock()
		last := tr.fl.last
		tr.mu.Unlock()
		if last == nil || last.Rooms != nil {
			t.Errorf("during a refresh the tracker keeps the last snapshot with its rooms: %+v", last)
		}
		if len(first.Rooms) != 1 {
			t.Errorf("the snapshot a scrape got lost its rooms: %d", len(first.Rooms))
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		stale := tr.Snapshot(ctx)
		cancel()
		var st bytes.Buffer
		if err := stale.WriteText(&st, nil, false); err != nil {
			t.Fatal(err)
		}
		if stale.Up || !strings.Contains(st.String(), `webex_room_info{is_locked="false",room_id="r"`) {
			t.Errorf("a scrape that could not wait got up=%v and no room:\n%s", stale.Up, st.String())
		}
		if s := <-done; !s.Up || len(s.Rooms) != 1 {
			t.Errorf("the refresh ended with up=%v, %d rooms", s.Up, len(s.Rooms))
		}
	})
}
