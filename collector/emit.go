package collector

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/webex-exporter/webex_exporter/collector/exposition"
)

// What a snapshot emits, defined once: emitRooms and emitStatus walk a
// snapshot and hand its families and samples to a sink. The text
// exposition (exposition.go) and the Collector (collector.go, the
// client_golang oracle the text is proven byte-equal to) are both sinks.
//
// Families come in name order and samples in label order, as the text
// format wants them (client_golang sorts what the Collector sends).

// labels are a sample's label values, in its family's Labels order (by
// value, not a slice: a slice passed to an interface method would be
// allocated for each of a rendering's hundred thousand samples).
type labels [5]string

// sink takes what a snapshot emits.
type sink interface {
	family(f *exposition.Family) // the next family
	sample(v float64, l labels)  // one sample of it
}

// emitRooms emits the room families of s: every family but the status ones.
func emitRooms(s *Snapshot, d *descs, out sink) {
	// Windows in label order.
	order := make([]int, len(s.Windows))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int { return strings.Compare(s.Windows[i].Name, s.Windows[j].Name) })
	// A room's messages, counts and total are known: read in full, and
	// visible to the account.
	messages := func(r *RoomSnapshot) bool { return !r.NoMessages && r.Read }

	// The totals by room type, of every room whatever the mode.
	types := map[string]*typeTotals{"group": {}, "direct": {}}
	for i := range s.Rooms {
		r := &s.Rooms[i]
		t := types[r.Room.Type]
		if t == nil {
			t = &typeTotals{}
			types[r.Room.Type] = t
		}
		t.rooms++
		if !messages(r) {
			continue
		}
		if t.active == nil {
			t.active, t.messages = make([]int, len(s.Windows)), make([]int, len(s.Windows))
		}
		for w, c := range r.Counts {
			if !c.Known {
				continue // a window with messages no read covered is in no total
			}
			t.messages[w] += int(c.Messages)
			if c.Messages > 0 {
				t.active[w]++
			}
		}
	}
	typeNames := slices.Sorted(maps.Keys(types))
	totals := func(f *exposition.Family, v func(t *typeTotals) []int) {
		out.family(f)
		for _, typ := range typeNames {
			vs := v(types[typ])
			for _, w := range order {
				n := 0
				if vs != nil {
					n = vs[w]
				}
				out.sample(float64(n), labels{typ, s.Windows[w].Name})
			}
		}
	}
	totals(d.messagesRecent, func(t *typeTotals) []int { return t.messages })

	// The rooms of the per-room families: direct rooms only in the totals
	// when aggregated. Their ids are copied into one string, in order: each
	// family reads them again, and ids scattered over the heap cost more to
	// read eleven times than to copy once.
	type room struct {
		*RoomSnapshot
		id string
	}
	rooms := make([]room, 0, len(s.Rooms))
	n := 0
	for i := range s.Rooms {
		if r := &s.Rooms[i]; s.DirectRooms != DirectAggregate || r.Room.Type != "direct" {
			rooms = append(rooms, room{RoomSnapshot: r})
			n += len(r.Room.ID)
		}
	}
	var ids strings.Builder
	ids.Grow(n)
	for _, r := range rooms {
		ids.WriteString(r.Room.ID)
	}
	all := ids.String()
	for i := range rooms {
		n := len(rooms[i].Room.ID)
		rooms[i].id, all = all[:n], all[n:]
	}
	each := func(f *exposition.Family, sample func(r *room)) {
		out.family(f)
		for i := range rooms {
			sample(&rooms[i])
		}
	}
	each(d.created, func(r *room) {
		if !r.Room.Created.IsZero() {
			out.sample(unix(r.Room.Created), labels{r.id})
		}
	})
	out.family(d.info)
	for _, locked := range []bool{false, true} { // is_locked sorts first
		is := strconv.FormatBool(locked)
		for _, r := range rooms {
			if room := &r.Room; room.IsLocked == locked {
				out.sample(1, labels{is, r.id, room.Type, room.TeamID, room.Title})
			}
		}
	}
	each(d.ageSec, func(r *room) {
		if !r.Room.LastActivity.IsZero() {
			// In whole milliseconds, as both times are: the difference of
			// the two in float seconds is not (24836.010999917984).
			out.sample(float64(s.Time.UnixMilli()-r.Room.LastActivity.UnixMilli())/1e3, labels{r.id})
		}
	})
	each(d.lastActivity, func(r *room) {
		if !r.Room.LastActivity.IsZero() {
			out.sample(unix(r.Room.LastActivity), labels{r.id})
		}
	})
	each(d.lastMessage, func(r *room) {
		if messages(r.RoomSnapshot) && !r.LastMessage.IsZero() {
			out.sample(unix(r.LastMessage), labels{r.id})
		}
	})
	each(d.refreshed, func(r *room) {
		if !r.Refreshed.IsZero() {
			out.sample(unix(r.Refreshed), labels{r.id})
		}
	})
	each(d.members, func(r *room) {
		if r.Members >= 0 {
			out.sample(float64(r.Members), labels{r.id})
		}
	})
	each(d.total, func(r *room) {
		if messages(r.RoomSnapshot) {
			out.sample(float64(r.Total), labels{r.id})
		}
	})
	for _, f := range []*exposition.Family{d.recentMsgs, d.senders} {
		each(f, func(r *room) {
			if !messages(r.RoomSnapshot) {
				return
			}
			for _, w := range order {
				if c := r.Counts[w]; c.Known {
					v := c.Messages
					if f == d.senders {
						v = c.Senders
					}
					out.sample(float64(v), labels{r.id, s.Windows[w].Name})
				}
			}
		})
	}
	out.family(d.rooms)
	for _, typ := range typeNames {
		out.sample(float64(types[typ].rooms), labels{typ})
	}
	totals(d.roomsActive, func(t *typeTotals) []int { return t.active })
	out.family(d.pending)
	out.sample(float64(s.Pending), labels{})
}

// typeTotals is what the rooms of one type add up to; active and messages
// are by window (nil while no room of the type has its messages known).
type typeTotals struct {
	rooms            int
	active, messages []int
}

// emitStatus emits the families that say how the snapshot was made.
func emitStatus(s *Snapshot, d *descs, out sink) {
	phases := slices.SortedFunc(slices.Values(s.Phases), func(a, b Phase) int { return cmp.Compare(a.Name, b.Name) })
	out.family(d.duration)
	for _, p := range phases {
		out.sample(p.Duration.Seconds(), labels{p.Name})
	}
	out.family(d.success)
	for _, p := range phases {
		out.sample(boolFloat(p.Success), labels{p.Name})
	}
	if !s.TokenExpiry.IsZero() {
		out.family(d.tokenExpiry)
		out.sample(unix(s.TokenExpiry), labels{})
	}
	out.family(d.up)
	out.sample(boolFloat(s.Up), labels{})
}
