package webextest

import (
	"context"
	"math/rand/v2"
	"time"
)

// Simulate posts a message at time.Now() to a random room every `every`
// until ctx is done or the server closes. Rooms whose title starts with
// "Quiet" never get messages; a few busy rooms (1 in 50, at least one, at
// most 5) get about 70% of the traffic; about 10% of group-room messages
// mention the account. rnd is used by this goroutine only; every <= 0
// means one second.
func (s *Server) Simulate(ctx context.Context, every time.Duration, rnd *rand.Rand) {
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var sim simulation
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.closed:
			return
		case <-t.C:
			s.simulateOne(&sim, rnd, time.Now())
		}
	}
}

// simulation caches the candidate rooms between ticks.
type simulation struct {
	rooms   []string // non-quiet room ids, shuffled; the first busy are busy
	busy    int
	version uint64 // state version rooms was built from
	built   bool
}

func (s *Server) simulateOne(sim *simulation, rnd *rand.Rand, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !sim.built || sim.version != s.st.version {
		sim.rooms = sim.rooms[:0]
		for _, rs := range s.st.sortedRooms(sortCreated) {
			if !rs.isQuiet() {
				sim.rooms = append(sim.rooms, rs.room.ID)
			}
		}
		rnd.Shuffle(len(sim.rooms), func(i, j int) { sim.rooms[i], sim.rooms[j] = sim.rooms[j], sim.rooms[i] })
		sim.busy = min(max(len(sim.rooms)/50, 1), 5)
		sim.version, sim.built = s.st.version, true
	}
	if len(sim.rooms) == 0 {
		return
	}
	var id string
	if rnd.IntN(10) < 7 {
		id = sim.rooms[rnd.IntN(min(sim.busy, len(sim.rooms)))]
	} else {
		id = sim.rooms[rnd.IntN(len(sim.rooms))]
	}
	rs, ok := s.st.rooms[id]
	if !ok {
		return
	}
	author := s.st.me.ID
	if len(rs.members) > 0 {
		author = rs.members[rnd.IntN(len(rs.members))]
	}
	m := Message{
		ID:       MakeID("MESSAGE", s.seq.Add(1)^0x53494d),
		PersonID: author,
		Text:     phrases[rnd.IntN(len(phrases))],
		Created:  now,
	}
	if rs.room.Type == "group" && author != s.st.me.ID && rnd.IntN(10) == 0 {
		m.MentionedPeople = []string{s.st.me.ID}
	}
	s.st.post(rs, m)
}
