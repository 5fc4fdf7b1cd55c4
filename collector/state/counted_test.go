package state

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// checkCounts compares every shown room's counts in a snapshot at now
// with a count made afresh from its history (no kept counts).
func checkCounts(t *testing.T, s *State, now time.Time, step string) Snapshot {
	t.Helper()
	snap := s.Snapshot(now)
	for _, r := range snap.Rooms {
		h := s.rooms[r.Room.ID].history
		for i, w := range s.windows {
			msgs, senders := h.count(now.Add(-w.Duration).UnixMilli(), &senderSeen{})
			if c := r.Counts[i]; int(c.Messages) != msgs || int(c.Senders) != senders {
				t.Fatalf("%s: room %s window %s: %d messages, %d senders; a fresh count says %d, %d",
					step, r.Room.ID, w.Name, c.Messages, c.Senders, msgs, senders)
			}
		}
	}
	return snap
}

// countsOf returns room id's counts in snap, window by window.
func countsOf(snap Snapshot, id string) (counts [][2]int32) {
	for _, r := range snap.Rooms {
		if r.Room.ID == id {
			for _, c := range r.Counts {
				counts = append(counts, [2]int32{c.Messages, c.Senders})
			}
		}
	}
	return counts
}

// TestCountsKept: the counts a room keeps from one snapshot to the next
// (roomState.count) are those a fresh count gives after every change to
// what they are made from: a message inserted (also at the same time as
// the last snapshot), time passing so a message leaves a window, a prune
// (seen by a snapshot at an earlier time), the senders renumbered, a
// listing's prune, a restored state, and a random run of all of them.
func TestCountsKept(t *testing.T) {
	s := newTestState(Config{})
	s.Listed([]Room{room("a", t0.Add(-48*time.Hour)), room("b", t0.Add(-48*time.Hour))}, t0)
	readAll(t, s, t0, nil)
	// Senders of b the prune below leaves in no history: PruneSenders
	// renumbers the rest.
	var gone []Message
	for i := range 1100 {
		m := message("b", 1000+i, t0.Add(-23*time.Hour-55*time.Minute))
		m.PersonID = fmt.Sprintf("gone%d", i)
		gone = append(gone, m)
	}
	s.Messages("b", gone, t0)
	s.Messages("a", []Message{
		message("a", 0, t0.Add(-23*time.Hour)),
		message("a", 1, t0.Add(-2*time.Hour)),
		message("a", 2, t0.Add(-30*time.Minute)),
	}, t0)
	want := func(snap Snapshot, step string, counts ...[2]int32) {
		t.Helper()
		if got := countsOf(snap, "a"); fmt.Sprint(got) != fmt.Sprint(counts) {
			t.Fatalf("%s: room a's counts (messages, senders per window) %v, want %v", step, got, counts)
		}
	}
	want(checkCounts(t, s, t0, "first"), "first", [2]int32{1, 1}, [2]int32{3, 3})

	s.Messages("a", []Message{message("a", 3, t0.Add(-time.Minute))}, t0)
	want(checkCounts(t, s, t0, "inserted"), "inserted", [2]int32{2, 2}, [2]int32{4, 3})

	now := t0.Add(31 * time.Minute) // message 2 leaves the hour
	want(checkCounts(t, s, now, "an hour on"), "an hour on", [2]int32{1, 1}, [2]int32{4, 3})

	s.PruneHistories(t0.Add(90 * time.Minute)) // message 0 leaves the day
	want(checkCounts(t, s, t0, "pruned, seen before"), "pruned, seen before", [2]int32{2, 2}, [2]int32{3, 3})

	s.PruneSenders()
	if s.people.len() > 3 {
		t.Fatalf("%d senders after PruneSenders, want at most 3", s.people.len())
	}
	checkCounts(t, s, now, "senders renumbered")

	later := t0.Add(22*time.Hour + 5*time.Minute) // message 1 leaves the day at the listing
	s.Listed([]Room{room("a", t0.Add(-time.Minute)), room("b", t0.Add(-48*time.Hour))}, later)
	want(checkCounts(t, s, now, "listed, seen before"), "listed, seen before", [2]int32{1, 1}, [2]int32{2, 2})

	s.Messages("b", []Message{message("b", 0, t0.Add(-time.Minute))}, t0)
	checkCounts(t, s, now, "b before the restore")
	senders := map[string]int{}
	saved := Saved{Written: now, Widest: s.widest}
	_, ids := s.Rooms()
	for _, id := range ids {
		rec, _, _ := s.ExportRoom(id, func(p string) int {
			if _, ok := senders[p]; !ok {
				senders[p] = len(saved.Senders)
				saved.Senders = append(saved.Senders, p)
			}
			return senders[p]
		})
		saved.Rooms = append(saved.Rooms, rec)
	}
	s.Import(saved, now)
	snap := checkCounts(t, s, now, "restored")
	want(snap, "restored", [2]int32{1, 1}, [2]int32{2, 2})
	if got := countsOf(snap, "b"); fmt.Sprint(got) != "[[1 1] [1 1]]" {
		t.Fatalf("restored: room b's counts %v, want [[1 1] [1 1]]", got)
	}

	// A random run: messages inserted, histories pruned, snapshots
	// taken mostly later and at times earlier, the same time twice.
	rng := rand.New(rand.NewPCG(3, 4))
	at := now
	for i := range 2000 {
		switch rng.IntN(6) {
		case 0, 1:
			id := []string{"a", "b"}[rng.IntN(2)]
			m := message(id, 100+i, at.Add(-time.Duration(rng.IntN(26*60))*time.Minute))
			m.PersonID = fmt.Sprintf("p%d", rng.IntN(5))
			s.Messages(id, []Message{m}, at)
		case 2:
			s.PruneHistories(at.Add(time.Duration(rng.IntN(120)-60) * time.Minute))
		case 3:
			at = at.Add(time.Duration(rng.IntN(20)) * time.Minute)
		case 4:
			checkCounts(t, s, at.Add(-time.Duration(rng.IntN(90))*time.Minute), fmt.Sprintf("step %d, earlier", i))
		}
		checkCounts(t, s, at, fmt.Sprintf("step %d", i))
	}
}
