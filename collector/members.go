package collector

import (
	"context"
	"slices"
	"time"
)

// membersFeed reads the member counts of listed rooms (--collector.memberships):
// when a room's lastActivity moved or MembershipsRefresh has passed since
// its members were read. A failed read leaves the count as it was; it does
// not make the room pending, which is about messages.
type membersFeed struct{ t *Tracker }

func (membersFeed) phases() []string { return []string{"memberships"} }

func (f membersFeed) run(ctx context.Context, r *pass) []Phase {
	t := f.t
	var jobs []job
	t.mu.Lock()
	for id, st := range t.rooms {
		if st.listing == t.listings && t.membersDue(st, r.now) { // in this refresh's listing
			jobs = append(jobs, job{roomID: id, lastActivity: st.room.LastActivity})
		}
	}
	t.mu.Unlock()
	slices.SortFunc(jobs, func(a, b job) int { return b.lastActivity.Compare(a.lastActivity) })
	return []Phase{t.runPhase(ctx, "memberships", jobs, func(ctx context.Context, j job) error {
		ms, err := t.src.Memberships(ctx, j.roomID)
		if err == nil {
			t.setMembers(j, len(ms), r.now)
		}
		return err
	}, nil)}
}

// membersDue reports whether a listed room's members should be read (its
// lastActivity as this refresh merged it).
func (t *Tracker) membersDue(st *roomState, now time.Time) bool {
	return t.members && (st.membersAt.IsZero() || !st.room.LastActivity.Equal(st.membersActivity) || now.Sub(st.membersAt) >= t.membersEvery)
}

// setMembers records a successful membership read.
func (t *Tracker) setMembers(j job, n int, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if st := t.rooms[j.roomID]; st != nil {
		st.members, st.membersAt, st.membersActivity = n, now, j.lastActivity
	}
}
