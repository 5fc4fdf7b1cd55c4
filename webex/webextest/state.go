package webextest

import (
	"slices"
	"sort"
	"strings"
	"time"
)

// roomState is one room of the server's state.
type roomState struct {
	room    Room
	msgs    []Message // oldest first (by Created, then insertion)
	members []string  // person ids, the account (Me) excluded: it is implicit
	other   bool      // a room of the organisation the account is not in
}

// roomKey is a room's position in a listing order.
type roomKey struct {
	t  int64 // created or lastActivity (UnixNano); unused for sortBy=id
	id string
}

// Room listing orders (the sortBy values).
const (
	sortCreated      = "created"
	sortID           = "id"
	sortLastActivity = "lastactivity"
)

func (rs *roomState) key(sortBy string) roomKey {
	switch sortBy {
	case sortID:
		return roomKey{id: rs.room.ID}
	case sortLastActivity:
		return roomKey{rs.room.LastActivity.UnixNano(), rs.room.ID}
	}
	return roomKey{rs.room.Created.UnixNano(), rs.room.ID}
}

// keyLess reports whether a comes before b in the sortBy order: ids
// ascending, times descending then ids ascending.
func keyLess(sortBy string, a, b roomKey) bool {
	if sortBy != sortID && a.t != b.t {
		return a.t > b.t
	}
	return a.id < b.id
}

// state is the server's ground truth. It is guarded by Server.mu.
type state struct {
	orgID  string
	me     Person
	people map[string]Person
	order  []string // people ids in insertion order
	teams  []Team
	rooms  map[string]*roomState
	// sorted caches the rooms in each listing order; an order is rebuilt
	// when a mutation invalidated it.
	sorted map[string][]*roomState
	// version counts changes to the set of rooms and their titles.
	version uint64
	// others are the organisation's rooms the account is not in.
	others map[string]*roomState
	// officer: the account is a compliance officer (events, org rooms).
	officer bool
	events  eventLog
	hooks   webhooks
}

func newState(org *Org) *state {
	st := &state{
		orgID:  org.ID,
		me:     org.Me,
		people: make(map[string]Person, len(org.People)),
		teams:  slices.Clone(org.Teams),
		rooms:  make(map[string]*roomState, len(org.Rooms)),
		sorted: map[string][]*roomState{},
	}
	if st.orgID == "" {
		st.orgID = MakeID("ORGANIZATION", 0)
	}
	if st.me.ID == "" {
		st.me = Person{ID: MakeID("PEOPLE", 0), Email: "exporter@example.com", DisplayName: "Exporter Account", Type: "person"}
	}
	for _, p := range org.People {
		st.addPerson(p)
	}
	for _, r := range org.Rooms {
		rs := &roomState{room: normRoom(r), msgs: cloneMessages(org.Messages[r.ID])}
		for _, id := range org.Memberships[r.ID] {
			if id != st.me.ID {
				rs.members = append(rs.members, id)
			}
		}
		st.rooms[r.ID] = rs
	}
	st.others = make(map[string]*roomState, len(org.OtherRooms))
	for _, r := range org.OtherRooms {
		st.others[r.ID] = &roomState{room: normRoom(r), msgs: cloneMessages(org.Messages[r.ID]), members: slices.Clone(org.Memberships[r.ID]), other: true}
	}
	st.events.init(st)
	st.hooks.wake, st.hooks.changed = make(chan struct{}, 1), make(chan struct{})
	return st
}

// room returns a room of the organisation by id: the account's or another.
func (st *state) room(id string) (*roomState, bool) {
	if rs, ok := st.rooms[id]; ok {
		return rs, true
	}
	rs, ok := st.others[id]
	return rs, ok
}

func (st *state) addPerson(p Person) {
	if _, ok := st.people[p.ID]; !ok {
		st.order = append(st.order, p.ID)
	}
	st.people[p.ID] = p
}

// person returns a person by id, the account included.
func (st *state) person(id string) (Person, bool) {
	if id == st.me.ID {
		return st.me, true
	}
	p, ok := st.people[id]
	return p, ok
}

// normRoom fills a room's defaults and truncates its times to the wire's.
func normRoom(r Room) Room {
	if r.Type == "" {
		r.Type = "group"
	}
	if r.Created.IsZero() {
		r.Created = time.Now()
	}
	r.Created = wireTime(r.Created)
	if r.LastActivity.IsZero() {
		r.LastActivity = r.Created
	}
	r.LastActivity = wireTime(r.LastActivity)
	return r
}

// sortedRooms returns the rooms in a listing order (a shared slice: do not
// modify).
func (st *state) sortedRooms(sortBy string) []*roomState {
	if s, ok := st.sorted[sortBy]; ok {
		return s
	}
	s := make([]*roomState, 0, len(st.rooms))
	for _, rs := range st.rooms {
		s = append(s, rs)
	}
	slices.SortFunc(s, func(a, b *roomState) int {
		ka, kb := a.key(sortBy), b.key(sortBy)
		switch {
		case keyLess(sortBy, ka, kb):
			return -1
		case keyLess(sortBy, kb, ka):
			return 1
		}
		return 0
	})
	st.sorted[sortBy] = s
	return s
}

// after returns the index of the first room strictly after k in order.
func after(order []*roomState, sortBy string, k roomKey) int {
	return sort.Search(len(order), func(i int) bool { return keyLess(sortBy, k, order[i].key(sortBy)) })
}

// invalidate drops the cached orders a change affects: all of them when the
// set of rooms changed, only lastactivity when activity moved.
func (st *state) invalidate(setChanged bool) {
	if setChanged {
		st.version++
		clear(st.sorted)
		return
	}
	delete(st.sorted, sortLastActivity)
}

func (st *state) addRoom(r Room) {
	r = normRoom(r)
	if rs, ok := st.rooms[r.ID]; ok {
		rs.room = r
		st.invalidate(true)
		return
	}
	rs := &roomState{room: r}
	if _, ok := st.people[r.CreatorID]; ok {
		rs.members = []string{r.CreatorID}
	}
	st.rooms[r.ID] = rs
	st.invalidate(true)
}

func (st *state) removeRoom(id string) {
	if _, ok := st.rooms[id]; ok {
		delete(st.rooms, id)
		st.invalidate(true)
	}
}

// moveActivity sets a room's LastActivity to at if that is later.
func (st *state) moveActivity(rs *roomState, at time.Time) {
	if at.After(rs.room.LastActivity) {
		rs.room.LastActivity = at
		st.invalidate(false)
	}
}

// post inserts m (complete but for room fields) into its room, keeping the
// messages sorted by creation time, and makes the author a member.
func (st *state) post(rs *roomState, m Message) Message {
	m.RoomID, m.RoomType = rs.room.ID, rs.room.Type
	m.Created = wireTime(m.Created)
	if p, ok := st.person(m.PersonID); ok && m.PersonEmail == "" {
		m.PersonEmail = p.Email
	}
	if m.PersonID != "" && m.PersonID != st.me.ID && !slices.Contains(rs.members, m.PersonID) {
		rs.members = append(rs.members, m.PersonID)
		st.events.add(st.membershipEvent(rs, m.PersonID, m.Created))
	}
	i := len(rs.msgs)
	if i > 0 && rs.msgs[i-1].Created.After(m.Created) {
		i = sort.Search(len(rs.msgs), func(j int) bool { return rs.msgs[j].Created.After(m.Created) })
	}
	rs.msgs = slices.Insert(rs.msgs, i, m.clone())
	st.moveActivity(rs, m.Created)
	st.events.add(st.messageEvent(m))
	st.hooks.notify(st, rs, m)
	return m
}

// members returns a room's member ids, the account first (if a member).
func (st *state) members(rs *roomState) []string {
	if rs.other {
		return slices.Clone(rs.members)
	}
	return append([]string{st.me.ID}, rs.members...)
}

// snapshot returns a deep copy of the state as an Org; rooms come in the
// default listing order.
func (st *state) snapshot() *Org {
	o := &Org{
		ID:          st.orgID,
		Me:          st.me,
		Teams:       slices.Clone(st.teams),
		Messages:    make(map[string][]Message, len(st.rooms)),
		Memberships: make(map[string][]string, len(st.rooms)),
	}
	for _, id := range st.order {
		o.People = append(o.People, st.people[id])
	}
	for _, rs := range st.sortedRooms(sortCreated) {
		o.Rooms = append(o.Rooms, rs.room)
		if len(rs.msgs) > 0 {
			o.Messages[rs.room.ID] = cloneMessages(rs.msgs)
		}
		o.Memberships[rs.room.ID] = st.members(rs)
	}
	others := make([]*roomState, 0, len(st.others))
	for _, rs := range st.others {
		others = append(others, rs)
	}
	slices.SortFunc(others, func(a, b *roomState) int {
		ka, kb := a.key(sortCreated), b.key(sortCreated)
		if keyLess(sortCreated, ka, kb) {
			return -1
		}
		return 1
	})
	for _, rs := range others {
		o.OtherRooms = append(o.OtherRooms, rs.room)
		if len(rs.msgs) > 0 {
			o.Messages[rs.room.ID] = cloneMessages(rs.msgs)
		}
		o.Memberships[rs.room.ID] = st.members(rs)
	}
	return o
}

// isQuiet reports whether Simulate must leave a room alone.
func (rs *roomState) isQuiet() bool { return strings.HasPrefix(rs.room.Title, "Quiet") }
