package state

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// The state driven by facts alone: no HTTP, no clock (every time is given).

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

var testWindows = []Window{{"1h", time.Hour}, {"24h", 24 * time.Hour}}

func newTestState(cfg Config) *State {
	if cfg.Windows == nil {
		cfg.Windows = testWindows
	}
	return New(cfg)
}

func room(id string, lastActivity time.Time) Room {
	return Room{ID: id, Title: "Room " + id, Type: "group", LastActivity: lastActivity, Created: t0.Add(-30 * 24 * time.Hour)}
}

func message(room string, n int, created time.Time) Message {
	return Message{ID: fmt.Sprintf("%s-m%d", room, n), RoomID: room, PersonID: fmt.Sprintf("p%d", n%3), Created: created}
}

// roomOf returns one room's snapshot at now (ok false: not shown).
func roomOf(s *State, id string, now time.Time) (RoomSnapshot, bool) {
	for _, r := range s.Snapshot(now).Rooms {
		if r.Room.ID == id {
			return r, true
		}
	}
	return RoomSnapshot{}, false
}

// readAll plans at now and completes every read with the messages msgs
// holds for the room (newest first, as Webex answers), as the poll feed
// would; it returns the reads planned.
func readAll(t testing.TB, s *State, now time.Time, msgs map[string][]Message) []Read {
	t.Helper()
	reads, _ := s.Plan(now, false)
	for _, r := range reads {
		for _, g := range r.Gaps {
			s.GapRead(r.RoomID, g.Gap, g.Query, below(msgs[r.RoomID], g.Query), Done, now)
		}
		if r.Top != nil {
			s.TopRead(r, below(msgs[r.RoomID], *r.Top), Done, now)
		}
		s.Refreshed(r.RoomID, now)
	}
	return reads
}

// below returns what a read q gets of msgs (newest first): those created
// before q.Before (if set) and not before q.Since, stopping at q.StopAtID.
func below(msgs []Message, q MessagesQuery) []Message {
	var out []Message
	for i := len(msgs) - 1; i >= 0; i-- { // msgs oldest first
		m := msgs[i]
		if !q.Before.IsZero() && !m.Created.Before(q.Before) {
			continue
		}
		if m.ID == q.StopAtID || m.Created.Before(q.Since) {
			break
		}
		out = append(out, m)
	}
	return out
}

// TestCountingRule: a room's first read is backlog (not counted); what a
// later read of a watched room finds above it counts; pushed messages count
// once the room is watched; events count from since on.
func TestCountingRule(t *testing.T) {
	s := newTestState(Config{})
	msgs := map[string][]Message{"a": {message("a", 1, t0.Add(-2*time.Hour)), message("a", 2, t0.Add(-time.Minute))}}
	s.Listed([]Room{room("a", t0.Add(-time.Minute))}, t0)
	if reads := readAll(t, s, t0, msgs); len(reads) != 1 || reads[0].Top == nil || reads[0].Top.PageSize != ColdPageSize {
		t.Fatalf("first plan %+v; want one cold read of the room's newest messages", reads)
	}
	r, _ := roomOf(s, "a", t0)
	if !r.Read || r.Total != 0 || r.Counts[1].Messages != 2 {
		t.Fatalf("after the first read: read %v total %d, 24h %d; want read, total 0 (backlog), 2 in 24h", r.Read, r.Total, r.Counts[1].Messages)
	}

	now := t0.Add(5 * time.Minute)
	msgs["a"] = append(msgs["a"], message("a", 3, now.Add(-time.Minute)))
	s.Listed([]Room{room("a", now.Add(-time.Minute))}, now)
	reads := readAll(t, s, now, msgs)
	if len(reads) != 1 || reads[0].Top.PageSize != WarmPageSize || reads[0].Top.StopAtID != "a-m2" {
		t.Fatalf("second plan %+v; want a warm read stopping at a-m2", reads)
	}
	if r, _ = roomOf(s, "a", now); r.Total != 1 {
		t.Errorf("after a watched read: total %d, want 1", r.Total)
	}
	if got := s.Pushed(message("a", 4, now), now); got != PushedNew {
		t.Errorf("pushed: %v, want new", got)
	}
	if r, _ = roomOf(s, "a", now); r.Total != 2 {
		t.Errorf("after a push: total %d, want 2", r.Total)
	}
	if got := s.Pushed(message("x", 1, now), now); got != PushedUnknownRoom {
		t.Errorf("pushed into an unknown room: %v", got)
	}

	// Events count from since on; the older ones are backlog.
	ev := newTestState(Config{Events: true})
	since := t0.Add(-time.Hour)
	ev.EventMessages([]Evented{
		{Message: message("e", 1, since.Add(-time.Minute)), RoomType: "group"},
		{Message: message("e", 2, since), RoomType: "group"},
		{Message: message("e", 3, since.Add(time.Minute)), RoomType: "group"},
	}, since, t0)
	ev.Covered(true, true, t0)
	if r, ok := roomOf(ev, "e", t0); !ok || r.Total != 2 || r.Counts[1].Messages != 3 || !r.Read {
		t.Errorf("evented room: %+v (shown %v); want total 2 of 3, read", r, ok)
	}
}

// TestFactsIdempotent: every fact reported twice leaves the counts as once.
func TestFactsIdempotent(t *testing.T) {
	run := func(twice bool) RoomSnapshot {
		s := newTestState(Config{Events: false})
		n := 1
		if twice {
			n = 2
		}
		msgs := map[string][]Message{"a": {message("a", 1, t0.Add(-2*time.Hour))}}
		for range n {
			s.Listed([]Room{room("a", t0.Add(-2*time.Hour))}, t0)
		}
		readAll(t, s, t0, msgs)
		now := t0.Add(time.Minute)
		later := []Message{message("a", 3, now.Add(-time.Second)), message("a", 2, now.Add(-2*time.Second))}
		msgs["a"] = append(msgs["a"], later[1], later[0])
		for range n {
			s.Listed([]Room{room("a", now.Add(-time.Second))}, now)
		}
		reads, _ := s.Plan(now, false)
		for range n {
			s.TopRead(reads[0], later, Done, now)
			s.Messages("a", later, now)
			s.Pushed(later[0], now)
			s.Refreshed("a", now)
			s.Members("a", 7, now.Add(-time.Second), now)
		}
		r, _ := roomOf(s, "a", now)
		return r
	}
	once, twice := run(false), run(true)
	if once.Total != 2 || twice.Total != once.Total || twice.Counts[0] != once.Counts[0] || twice.Counts[1] != once.Counts[1] {
		t.Errorf("once: total %d %v; twice: total %d %v; want equal, total 2", once.Total, once.Counts, twice.Total, twice.Counts)
	}

	ev := newTestState(Config{Events: true})
	e := []Evented{{Message: message("e", 1, t0.Add(-time.Minute)), RoomType: "group"}}
	ev.EventMessages(e, t0.Add(-time.Hour), t0)
	ev.EventMessages(e, t0.Add(-time.Hour), t0) // an overlapping read
	ev.Covered(true, true, t0)
	if r, _ := roomOf(ev, "e", t0); r.Total != 1 || r.Counts[0].Messages != 1 {
		t.Errorf("an event read twice: total %d, 1h %d; want 1 and 1", r.Total, r.Counts[0].Messages)
	}
}

// TestWindowKnownWithGaps: an interrupted read leaves a gap; the windows
// it overlaps are unknown until a read covers it; a gap given up leaves
// them unknown until its span leaves them.
func TestWindowKnownWithGaps(t *testing.T) {
	s := newTestState(Config{})
	var all []Message // oldest first
	for i := range 10 {
		all = append(all, message("a", i, t0.Add(-time.Duration(10-i)*10*time.Minute)))
	}
	s.Listed([]Room{room("a", all[9].Created)}, t0)
	reads, _ := s.Plan(t0, false)
	got := below(all, *reads[0].Top)[:3] // the first page, then the deadline
	s.TopRead(reads[0], got, Interrupted, t0)
	r, _ := roomOf(s, "a", t0)
	if r.Read || r.Counts[0].Known || r.Counts[1].Known {
		t.Fatalf("after an interrupted first read: read %v, known %v; want unread, unknown", r.Read, r.Counts)
	}

	// The gap read completes: both windows known.
	reads, _ = s.Plan(t0, false)
	if len(reads) != 1 || len(reads[0].Gaps) != 1 || reads[0].Top != nil {
		t.Fatalf("plan %+v; want the gap's read alone", reads)
	}
	g := reads[0].Gaps[0]
	if g.Query.BeforeMessage != got[2].ID {
		t.Errorf("gap read below %q, want %q", g.Query.BeforeMessage, got[2].ID)
	}
	gapMsgs := below(all, MessagesQuery{Before: got[2].Created, Since: g.Query.Since})
	s.GapRead("a", g.Gap, g.Query, gapMsgs, Done, t0)
	s.GapRead("a", g.Gap, g.Query, gapMsgs, Done, t0) // reported twice: once
	r, _ = roomOf(s, "a", t0)
	if !r.Read || !r.Counts[0].Known || !r.Counts[1].Known || r.Counts[1].Messages != 10 || r.Total != 0 {
		t.Fatalf("after the gap's read: %+v; want read, known, 10 messages, total 0 (backlog)", r)
	}

	// A watched room's read interrupted again, and its gap given up after
	// repeated failures: the windows that overlap its span are unknown.
	now := t0.Add(time.Minute)
	var newer []Message
	for i := range 5 {
		newer = append(newer, message("a", 20+i, now.Add(-time.Duration(5-i)*time.Second)))
	}
	s.Listed([]Room{room("a", newer[4].Created)}, now)
	reads, _ = s.Plan(now, false)
	s.TopRead(reads[0], []Message{newer[4], newer[3]}, Failed, now)
	r, _ = roomOf(s, "a", now)
	if !r.Read || r.Counts[0].Known || r.Counts[1].Known {
		t.Fatalf("a watched room's gap: read %v, counts %v; want read, both windows unknown", r.Read, r.Counts)
	}
	for i := range MaxGapFailures {
		reads, _ = s.Plan(now, false)
		g := reads[0].Gaps[0]
		res := s.GapRead("a", g.Gap, g.Query, nil, Failed, now)
		if res.GaveUp != (i == MaxGapFailures-1) {
			t.Fatalf("failure %d: gave up %v", i+1, res.GaveUp)
		}
	}
	r, _ = roomOf(s, "a", now)
	if !r.Read || r.Counts[0].Known || r.Counts[1].Known {
		t.Fatalf("a given-up gap: counts %v; want both windows unknown", r.Counts)
	}
	// The span leaves the 1h window, not yet the 24h one.
	later := now.Add(time.Hour + time.Minute)
	if r, _ = roomOf(s, "a", later); !r.Counts[0].Known || r.Counts[1].Known {
		t.Errorf("an hour later: counts %v; want 1h known, 24h unknown", r.Counts)
	}
	if r, _ = roomOf(s, "a", now.Add(25*time.Hour)); !r.Counts[1].Known {
		t.Errorf("a day later: counts %v; want 24h known", r.Counts)
	}
}

// TestGapCursorRefused: a gap whose cursor Webex refuses is read on by time.
func TestGapCursorRefused(t *testing.T) {
	s := newTestState(Config{})
	s.Listed([]Room{room("a", t0.Add(-time.Minute))}, t0)
	reads, _ := s.Plan(t0, false)
	s.TopRead(reads[0], []Message{message("a", 9, t0.Add(-time.Minute))}, Failed, t0)
	reads, _ = s.Plan(t0, false)
	g := reads[0].Gaps[0]
	res := s.GapRead("a", g.Gap, g.Query, nil, CursorRefused, t0)
	if res.Next == nil || res.Next.BeforeMessage != "" || !res.Next.Before.Equal(t0.Add(-time.Minute+time.Millisecond)) {
		t.Fatalf("next %+v; want a read by time below the last message", res.Next)
	}
	s.GapRead("a", g.Gap, *res.Next, nil, Done, t0)
	if r, _ := roomOf(s, "a", t0); !r.Read || !r.Counts[1].Known {
		t.Errorf("after the read by time: %+v; want read, known", r)
	}
}

// TestRestoredFutureClamped: a restored room whose newest message and
// last read lie ahead of now is read again, from what the windows hold.
func TestRestoredFutureClamped(t *testing.T) {
	s := newTestState(Config{})
	ahead := t0.Add(3 * time.Hour) // the clock was ahead when written
	at := []int64{t0.Add(-time.Hour).UnixMilli(), ahead.Add(-time.Minute).UnixMilli() - t0.Add(-time.Hour).UnixMilli()}
	s.Import(Saved{Written: ahead, Widest: 24 * time.Hour, Senders: []string{"p"}, Rooms: []RoomRecord{{
		ID: "a", Type: "group", Title: "A", LastActivity: ahead.Add(-time.Minute),
		Watched: true, ReadActivity: ahead.Add(-time.Minute), Newest: ahead.Add(-time.Minute), NewestIDs: []string{"future"},
		Refreshed: ahead, MembersAt: ahead, At: at, IDs: []uint32{1, 2}, Senders: []int{0, 0}}}}, t0)
	rec, _, _ := s.ExportRoom("a", func(string) int { return 0 })
	if !rec.Newest.Equal(t0.Add(-time.Hour)) || len(rec.NewestIDs) != 0 || rec.ReadActivity.After(t0) || !rec.Refreshed.IsZero() || !rec.MembersAt.IsZero() {
		t.Fatalf("restored %+v; want newest clamped to the newest message up to now, times ahead forgotten", rec)
	}
	now := t0.Add(time.Minute)
	s.Listed([]Room{room("a", now.Add(-time.Second))}, now)
	reads, _ := s.Plan(now, false)
	if len(reads) != 1 || reads[0].Top == nil || reads[0].Top.Since.After(t0.Add(-time.Hour)) {
		t.Fatalf("plan %+v; want the room read from its newest message up to now", reads)
	}
	s.TopRead(reads[0], []Message{message("a", 1, now.Add(-time.Second))}, Done, now)
	if r, _ := roomOf(s, "a", now); r.Total != 1 {
		t.Errorf("a new message after the restore: total %d, want 1", r.Total)
	}
}

// TestRoomListedTwice: a room on two pages of one listing is one room,
// read once, with the later lastActivity.
func TestRoomListedTwice(t *testing.T) {
	s := newTestState(Config{})
	s.Listed([]Room{room("a", t0.Add(-time.Hour)), room("b", t0.Add(-time.Minute)), room("a", t0.Add(-time.Second))}, t0)
	reads, _ := s.Plan(t0, false)
	if len(reads) != 2 {
		t.Fatalf("%d reads, want 2 (one per room)", len(reads))
	}
	for _, r := range reads {
		if r.RoomID == "a" && !r.LastActivity.Equal(t0.Add(-time.Second)) {
			t.Errorf("room a planned at %v, want the later lastActivity", r.LastActivity)
		}
	}
	if n, _, _, _ := s.Size(); n != 2 {
		t.Errorf("%d rooms, want 2", n)
	}
}

// TestKnownRoomListedTwice: a room the state already has, listed twice
// (it moved while the pages were read), is merged once with the later
// lastActivity, whichever page had it; the listing's rooms are all there,
// so none counts as missing.
func TestKnownRoomListedTwice(t *testing.T) {
	for _, laterFirst := range []bool{false, true} {
		s := newTestState(Config{})
		s.Listed([]Room{room("a", t0.Add(-2*time.Hour)), room("b", t0.Add(-2*time.Hour))}, t0)
		readAll(t, s, t0, nil)
		earlier, later := room("a", t0.Add(-time.Hour)), room("a", t0.Add(-time.Second))
		if laterFirst {
			earlier, later = later, earlier
		}
		now := t0.Add(time.Minute)
		s.Listed([]Room{earlier, room("b", t0.Add(-2*time.Hour)), later}, now)
		reads, _ := s.Plan(now, false)
		if len(reads) != 1 || reads[0].RoomID != "a" || !reads[0].LastActivity.Equal(t0.Add(-time.Second)) {
			t.Fatalf("later first %v: reads %+v; want one of a at its later lastActivity", laterFirst, reads)
		}
		if n, absent, _, _ := s.Size(); n != 2 || absent != 0 {
			t.Errorf("later first %v: %d rooms, %d absent; want 2, 0", laterFirst, n, absent)
		}
	}
}

// TestFiltersFailClosed: a room known only from events, which Webex will
// not describe, is not shown while a title or team filter is set; shown
// without one; left out once described with a title the filter excludes.
func TestFiltersFailClosed(t *testing.T) {
	for _, c := range []struct {
		name   string
		filter Filter
		shown  bool
	}{
		{"none", Filter{}, true},
		{"exclude", Filter{Exclude: regexp.MustCompile("^(?:(random|HR).*)$")}, false},
		{"include", Filter{Include: regexp.MustCompile("^(?:Team.*)$")}, false},
		{"team", Filter{TeamIDs: []string{"team"}}, false},
		{"type", Filter{Types: []string{"group"}}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newTestState(Config{Events: true, Filter: c.filter})
			s.EventMessages([]Evented{{Message: message("hr", 1, t0.Add(-time.Minute)), RoomType: "group"}}, t0.Add(-time.Hour), t0)
			s.Covered(true, true, t0)
			due := s.Undescribed(t0)
			if len(due) != 1 || due[0].RoomID != "hr" {
				t.Fatalf("undescribed %v; want hr", due)
			}
			s.DescribeRefused("hr", t0)
			if _, shown := roomOf(s, "hr", t0); shown != c.shown {
				t.Errorf("undescribed room shown %v, want %v", shown, c.shown)
			}
			if due := s.Undescribed(t0.Add(time.Hour)); len(due) != 0 {
				t.Errorf("asked again within the retry: %v", due)
			}
			if due := s.Undescribed(t0.Add(DescribeRetry)); len(due) != 1 {
				t.Errorf("not asked again after the retry: %v", due)
			}
		})
	}
	s := newTestState(Config{Events: true, Filter: Filter{Exclude: regexp.MustCompile("^(?:(random|HR).*)$")}})
	s.EventMessages([]Evented{{Message: message("hr", 1, t0.Add(-time.Minute)), RoomType: "group"}}, t0.Add(-time.Hour), t0)
	s.Described(Room{ID: "hr", Title: "HR private", Type: "group"})
	if n, _, _, _ := s.Size(); n != 0 {
		t.Errorf("a described room the filter excludes stays (%d rooms)", n)
	}
	s.EventMessages([]Evented{{Message: message("hr", 2, t0.Add(-time.Second)), RoomType: "group"}}, t0.Add(-time.Hour), t0)
	if n, _, _, _ := s.Size(); n != 0 {
		t.Errorf("an event brought the excluded room back (%d rooms)", n)
	}
}

// TestOwnerChangeForgets: rooms of another account are forgotten, never mixed.
func TestOwnerChangeForgets(t *testing.T) {
	s := newTestState(Config{})
	s.Owner("me")
	s.Listed([]Room{room("a", t0.Add(-time.Minute))}, t0)
	if changed, _ := s.Owner("me"); changed || !s.Owned() {
		t.Fatalf("the same owner again: changed %v, owned %v", changed, s.Owned())
	}
	if changed, n := s.Owner("other"); !changed || n != 1 || s.Owned() {
		t.Errorf("another owner: changed %v, forgot %d, owned %v; want true, 1, false", changed, n, s.Owned())
	}
}

// TestReconcilePushedMoves: a move a pushed message explains is not read
// at once, but within the reconcile interval of the first such move; a
// move no known message explains is read at once.
func TestReconcilePushedMoves(t *testing.T) {
	s := newTestState(Config{})
	s.SetReconcile(10 * time.Minute)
	s.Listed([]Room{room("a", t0.Add(-time.Hour))}, t0)
	readAll(t, s, t0, map[string][]Message{"a": {message("a", 1, t0.Add(-time.Hour))}})

	now := t0.Add(time.Minute)
	m := message("a", 2, now.Add(-time.Second))
	if got := s.Pushed(m, now); got != PushedNew {
		t.Fatalf("pushed: %v", got)
	}
	s.Listed([]Room{room("a", m.Created)}, now)
	if reads, unexplained := s.Plan(now, false); len(reads) != 0 || unexplained {
		t.Fatalf("a pushed move: %d reads (unexplained %v); want none yet", len(reads), unexplained)
	}
	later := now.Add(10 * time.Minute)
	s.Listed([]Room{room("a", m.Created)}, later)
	reads, _ := s.Plan(later, false)
	if len(reads) != 1 || reads[0].Top == nil || !reads[0].Top.Since.Equal(t0.Add(-time.Hour)) {
		t.Fatalf("after the reconcile interval: %+v; want a read from what reads covered (below the pushed message)", reads)
	}
	lost := message("a", 3, now.Add(-30*time.Second)) // never delivered
	s.TopRead(reads[0], []Message{m, lost}, Done, later)
	if r, _ := roomOf(s, "a", later); r.Total != 2 {
		t.Errorf("total %d after the reconciling read; want 2 (the pushed one once, the lost one)", r.Total)
	}

	// A move no known message explains: read at once.
	s.Listed([]Room{room("a", later.Add(-time.Second))}, later.Add(time.Second))
	if reads, unexplained := s.Plan(later.Add(time.Second), false); len(reads) != 1 || !unexplained {
		t.Errorf("an unexplained move: %d reads (unexplained %v); want 1, true", len(reads), unexplained)
	}
}

// TestMembersDue: members are read for listed rooms never read, moved, or
// read MembersEvery ago.
func TestMembersDue(t *testing.T) {
	s := newTestState(Config{Members: true, MembersEvery: time.Hour})
	s.Listed([]Room{room("a", t0.Add(-time.Hour)), room("b", t0.Add(-time.Minute))}, t0)
	if due := s.MembersDue(t0); len(due) != 2 || due[0].RoomID != "b" {
		t.Fatalf("due %v; want both, b (the more recently active) first", due)
	}
	s.Members("a", 3, t0.Add(-time.Hour), t0)
	s.Members("b", 5, t0.Add(-time.Minute), t0)
	if due := s.MembersDue(t0.Add(time.Minute)); len(due) != 0 {
		t.Errorf("due %v right after reading both", due)
	}
	s.Listed([]Room{room("a", t0.Add(-time.Hour)), room("b", t0)}, t0.Add(time.Minute))
	if due := s.MembersDue(t0.Add(time.Minute)); len(due) != 1 || due[0].RoomID != "b" {
		t.Errorf("due %v; want b (moved)", due)
	}
	if due := s.MembersDue(t0.Add(time.Hour)); len(due) != 2 {
		t.Errorf("due %v an hour later; want both", due)
	}
	if r, _ := roomOf(s, "a", t0); r.Members != 3 {
		t.Errorf("members %d, want 3", r.Members)
	}
}

// TestListingKeepsKnownStrings: a room listed again with the same id and
// title keeps the strings the state (and the last snapshot) already hold,
// so that the listing's copies do not stay alive beside them; a changed
// title is taken.
func TestListingKeepsKnownStrings(t *testing.T) {
	s := newTestState(Config{})
	s.Listed([]Room{room("a", t0.Add(-48*time.Hour))}, t0)
	before, _ := roomOf(s, "a", t0)
	again := room(strings.Clone("a"), t0.Add(-48*time.Hour))
	again.Title = strings.Clone(before.Room.Title)
	s.Listed([]Room{again}, t0.Add(time.Minute))
	after, _ := roomOf(s, "a", t0.Add(time.Minute))
	if unsafe.StringData(after.Room.ID) != unsafe.StringData(before.Room.ID) ||
		unsafe.StringData(after.Room.Title) != unsafe.StringData(before.Room.Title) {
		t.Errorf("the state took the listing's copies of an unchanged id and title")
	}
	renamed := room("a", t0.Add(-48*time.Hour))
	renamed.Title = "Renamed"
	s.Listed([]Room{renamed}, t0.Add(2*time.Minute))
	if r, _ := roomOf(s, "a", t0.Add(2*time.Minute)); r.Room.Title != "Renamed" {
		t.Errorf("title %q after a rename, want Renamed", r.Room.Title)
	}
}
