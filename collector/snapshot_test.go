package collector

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/webex-exporter/webex_exporter/webex"
)

// TestSortedRooms: the rooms come in id order snapshot after snapshot
// while rooms join and leave between them (the order is kept and merged
// into, not made again), also when one room's state is replaced.
func TestSortedRooms(t *testing.T) {
	tr := &Tracker{rooms: map[string]*roomState{}}
	rng := rand.New(rand.NewPCG(1, 2))
	add := func(n int) {
		for range n {
			id := fmt.Sprintf("room-%05d", rng.IntN(100000))
			tr.rooms[id] = &roomState{room: webex.Room{ID: id}}
		}
	}
	add(500)
	for round := range 20 {
		for id := range tr.rooms {
			if rng.IntN(10) == 0 {
				delete(tr.rooms, id)
			}
		}
		add(rng.IntN(60))
		got := tr.sortedRoomsLocked()
		var ids, want []string
		for _, st := range got {
			ids = append(ids, st.room.ID)
			if tr.rooms[st.room.ID] != st {
				t.Fatalf("round %d: %s is not the room's state in t.rooms", round, st.room.ID)
			}
		}
		for id := range tr.rooms {
			want = append(want, id)
		}
		slices.Sort(want)
		if !slices.Equal(ids, want) {
			t.Fatalf("round %d: %d rooms %v..., want %d %v...", round, len(ids), ids[:min(5, len(ids))], len(want), want[:min(5, len(want))])
		}
	}
}
