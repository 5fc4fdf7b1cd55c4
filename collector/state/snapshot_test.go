package state

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortedRooms: the rooms come in id order snapshot after snapshot
// while rooms join and leave between them (the order is kept and merged
// into, not made again), also when one room's state is replaced.
func TestSortedRooms(t *testing.T) {
	tr := &State{rooms: map[string]*roomState{}}
	rng := rand.New(rand.NewPCG(1, 2))
	add := func(n int) {
		for range n {
			id := fmt.Sprintf("room-%05d", rng.IntN(100000))
			tr.rooms[id] = &roomState{room: Room{ID: id}}
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
		got := tr.sortedRooms()
		var ids, want []string
		for _, st := range got {
			ids = append(ids, st.room.ID)
			if tr.rooms[st.room.ID] != st {
				t.Fatalf("round %d: %s is not the room's state in s.rooms", round, st.room.ID)
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
