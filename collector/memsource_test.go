package collector

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/webex-exporter/webex_exporter/webex"
)

// memSource is a Source held in memory, with no HTTP: the rooms and their
// messages as Webex would list them, the reads it was asked for counted.
// It answers a MessagesQuery as webex.Client does (newest first, from
// below BeforeMessage or Before, stopping at StopAtID or before Since), and
// 404 to a BeforeMessage it does not know, as Webex does to a deleted one.
type memSource struct {
	mu    sync.Mutex
	rooms []webex.Room
	msgs  map[string][]webex.Message // oldest first
	reads map[string]int             // Messages calls by room
}

func newMemSource() *memSource {
	return &memSource{msgs: map[string][]webex.Message{}, reads: map[string]int{}}
}

func (s *memSource) Me(context.Context) (webex.Person, error) {
	return webex.Person{ID: "me", Type: "person"}, nil
}

func (s *memSource) Rooms(context.Context, webex.RoomsQuery) ([]webex.Room, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.rooms), nil
}

func (s *memSource) Memberships(context.Context, string) ([]webex.Membership, error) { return nil, nil }

func (s *memSource) Messages(_ context.Context, q webex.MessagesQuery) ([]webex.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads[q.RoomID]++
	return readBack(s.msgs[q.RoomID], q)
}

// readBack answers q from a room's messages, oldest first, as the client's
// Messages does: newest first, from before q's cursor (a cursor naming no
// message is Webex's 404, a *webex.CursorError) or time, down to q's stop
// message or time.
func readBack(ms []webex.Message, q webex.MessagesQuery) ([]webex.Message, error) {
	end := len(ms)
	if q.BeforeMessage != "" {
		end = slices.IndexFunc(ms, func(m webex.Message) bool { return m.ID == q.BeforeMessage })
		if end < 0 {
			return nil, &webex.CursorError{APIError: webex.APIError{Endpoint: "messages", StatusCode: 404}, BeforeMessage: q.BeforeMessage}
		}
	}
	var out []webex.Message
	for i := end - 1; i >= 0; i-- {
		m := ms[i]
		if !q.Before.IsZero() && !m.Created.Before(q.Before) {
			continue
		}
		if m.ID == q.StopAtID || (!q.Since.IsZero() && m.Created.Before(q.Since)) {
			break
		}
		out = append(out, m)
	}
	return out, nil
}

// post adds a message and moves the room's lastActivity, as Webex does.
func (s *memSource) post(roomID, id, person string, at time.Time) webex.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := webex.Message{ID: id, RoomID: roomID, PersonID: person, Created: at}
	s.msgs[roomID] = append(s.msgs[roomID], m)
	for i := range s.rooms {
		if s.rooms[i].ID == roomID && at.After(s.rooms[i].LastActivity) {
			s.rooms[i].LastActivity = at
		}
	}
	return m
}

func (s *memSource) readsOf(roomID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads[roomID]
}

func snapRoom(snap *Snapshot, id string) *RoomSnapshot {
	for i := range snap.Rooms {
		if snap.Rooms[i].Room.ID == id {
			return &snap.Rooms[i]
		}
	}
	return nil
}

// TestStateWithoutHTTP drives the state through listing, plan, facts and
// snapshot on an in-memory Source: the first read is backlog (in the
// windows, not counted), a quiet room is read without a call, a message
// reported twice (pushed, then read) counts once, and the windows slide on
// the clock with no call.
func TestStateWithoutHTTP(t *testing.T) {
	src := newMemSource()
	src.rooms = []webex.Room{
		{ID: "busy", Type: "group", Title: "Busy", Created: t0.Add(-48 * time.Hour)},
		{ID: "quiet", Type: "direct", Created: t0.Add(-48 * time.Hour), LastActivity: t0.Add(-30 * time.Hour)},
	}
	for i := range 30 {
		src.post("busy", "m"+string(rune('A'+i)), "p"+string(rune('0'+i%3)), t0.Add(-50*time.Minute+time.Duration(i)*time.Minute))
	}
	clk := &clock{now: t0}
	ws, _ := ParseWindows("1h,24h")
	tr := NewTracker(src, Config{Windows: ws, Now: clk.Now})
	snap := func() *Snapshot {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return tr.Snapshot(ctx)
	}

	s := snap()
	busy, quiet := snapRoom(s, "busy"), snapRoom(s, "quiet")
	if !s.Up || busy == nil || quiet == nil {
		t.Fatalf("up=%v rooms=%d; want both rooms", s.Up, len(s.Rooms))
	}
	if !busy.Read || busy.Counts[0] != (WindowCount{Messages: 30, Senders: 3, Known: true}) || busy.Counts[1] != (WindowCount{Messages: 30, Senders: 3, Known: true}) || busy.Total != 0 {
		t.Errorf("busy after its first read: read=%v counts=%v total=%d; want 30 messages of 3 senders in both windows, known, total 0 (backlog)", busy.Read, busy.Counts, busy.Total)
	}
	if !quiet.Read || quiet.Counts[1] != (WindowCount{Messages: 0, Senders: 0, Known: true}) || src.readsOf("quiet") != 0 {
		t.Errorf("quiet room: read=%v counts=%v after %d reads; want read, 0, without a call", quiet.Read, quiet.Counts, src.readsOf("quiet"))
	}

	now := clk.Add(time.Minute)
	m := src.post("busy", "new", "p9", now.Add(-10*time.Second))
	tr.state.Messages("busy", []webex.Message{m}, clk.Now()) // pushed
	tr.state.Messages("busy", []webex.Message{m}, clk.Now()) // redelivered
	s = snap()
	busy = snapRoom(s, "busy")
	if busy.Total != 1 || busy.Counts[0] != (WindowCount{Messages: 31, Senders: 4, Known: true}) || src.readsOf("busy") != 2 {
		t.Errorf("after one message reported three times: total=%d counts=%v reads=%d; want total 1, 31 messages of 4 senders, one more read", busy.Total, busy.Counts, src.readsOf("busy"))
	}

	clk.Add(30 * time.Minute) // nothing moves: the windows slide, no call
	s = snap()
	busy = snapRoom(s, "busy")
	// The hour now starts 29 minutes before t0: 8 of the first 30 and the new one.
	if busy.Counts[0] != (WindowCount{Messages: 9, Senders: 4, Known: true}) || busy.Counts[1].Messages != 31 || src.readsOf("busy") != 2 {
		t.Errorf("30 minutes later: counts %v after %d reads; want 9 messages in the hour, 31 in the day, no new read", busy.Counts, src.readsOf("busy"))
	}
}
